"""ScoreHandler: what the regression targets (citation percentile, mean rating) share.

How a number is read from an answer value (after :mod:`paperpred.outputs.parsing` found it):

- The first number in the value: ``Answer: 0.73``, ``Answer: about 6.5 (on a 1-10 scale)``.
  Numbers glued to letters (``ICLR2017``, ``v2``) are not read.
- A range ``6-7`` / ``0.6 to 0.7`` is read as its midpoint (flag ``"range": True``); a fraction
  ``6/10`` or ``7 out of 10`` as that share of the scale's top (``3/5`` is 6.0 on 1-10).
- Percentile targets (range 0-1): ``73%`` or ``73 percent`` is 0.73, and a whole number in
  (1, 100] or one with an ordinal or percentile suffix (``73``, ``73rd percentile``) is read
  as a percentage (flag ``"rescaled": True``); other numbers above 1 (``1.2``, ``6.5``) are
  out of range and clipped.
- Out of range: clipped to the range, flagged ``"clipped": True`` with the number read in
  ``"unclipped"``.
- Emphasis and bare text must be only a number (``**6.5**``, ``"0.7."``), so headings such as
  ``**Reviewer 2**`` are never read as a rating.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from paperpred.outputs import metrics as M
from paperpred.outputs.base import ANSWER_PREFIX, OutputHandler
from paperpred.outputs.parsing import clean_value, parse_text

_NUM = r"(?<![\w.])[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?![\d])"
_PCT = r"(?:\s*(%|percent(?:ile)?\b|(?:st|nd|rd|th)\b(?:\s+percentile\b)?))?"
_RANGE = re.compile(rf"({_NUM})\s*(?:-|–|—|to)\s*({_NUM}){_PCT}", re.IGNORECASE)
_FRACTION = re.compile(rf"({_NUM})\s*(?:/|out\s+of)\s*({_NUM})", re.IGNORECASE)
_SINGLE = re.compile(rf"({_NUM}){_PCT}(?![\w.]\d)", re.IGNORECASE)
_LEADING = re.compile(rf"^({_NUM}(?:\s*/\s*\d+)?{_PCT})(?=\s*(?:$|[,;:!)]|\.(?!\d)|\s[-–—]))",
                      re.IGNORECASE)


class ScoreHandler(OutputHandler):
    """Shared logic of the regression handlers: a number in ``[low, high]``."""

    low: ClassVar[float] = 0.0
    high: ClassVar[float] = 1.0
    percent_scale: ClassVar[bool] = True  # read "73%" and plain 1 < x <= 100 as a percentage
    decimals: ClassVar[int] = 2
    label_key: ClassVar[str] = ""
    primary_markers: ClassVar[tuple[str, ...]] = ("answer", "final answer", "prediction",
                                                  "estimate")
    secondary_markers: ClassVar[tuple[str, ...]] = ("rating", "score", "percentile")
    # GRPO closeness: 1 - |error| / (high - low), so 1.0 is exact and 0.0 the widest miss.

    def __init__(self, include_reasoning: bool = False) -> None:
        self.include_reasoning = include_reasoning

    # ----- subclasses configure these -----------------------------------------------------
    def _range(self) -> tuple[float, float]:
        return self.low, self.high

    def _round(self, value: float) -> float:
        return value

    def _example(self) -> str:
        return f"{0.73:.{self.decimals}f}"

    # ----- labels -------------------------------------------------------------------------
    def label_value(self, submission: Any) -> float | None:
        """The raw ground truth ``submission.labels[label_key]`` as a float, None if absent."""
        raw: Any = getattr(submission, "labels", {}).get(self.label_key)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return None
        return None if math.isnan(value) else value

    def format_label(self, submission: Any) -> str | None:
        """``"Answer: <value>"`` with this target's decimals, None when the label is absent."""
        value = self.label_value(submission)
        if value is None:
            return None
        return f"{ANSWER_PREFIX}{self._round(value):.{self._label_decimals()}f}"

    def _label_decimals(self) -> int:
        return self.decimals

    def _format_rule(self, what: str) -> str:
        answer = f'"{ANSWER_PREFIX}{self._example()}"'
        if self.include_reasoning:
            return (f"First give your reasoning in a few sentences. Then end with one final "
                    f"line of exactly this form, with {what}: {answer}.")
        return f"Respond with exactly one line of this form, with {what}: {answer}. Do not explain."

    # ----- reading numbers ----------------------------------------------------------------
    def _number(self, value: str, strict: bool) -> tuple[float, dict[str, Any]] | None:
        text = clean_value(value).rstrip(".!")
        flags: dict[str, Any] = {}
        tried = [(pat.fullmatch(text) if strict else pat.search(text), kind)
                 for pat, kind in ((_RANGE, "range"), (_FRACTION, "fraction"),
                                   (_SINGLE, "single"))]
        matches = [(m, kind) for m, kind in tried if m is not None]
        if not matches:
            return None
        m, kind = min(matches, key=lambda mk: mk[0].start())  # earliest; ties keep the order
        low, high = self._range()
        if kind == "range":
            x = (float(m.group(1)) + float(m.group(2))) / 2.0
            flags["range"] = True
            suffix = m.group(3)
        elif kind == "fraction":
            den = float(m.group(2))
            if den <= 0:
                return None
            return self._finish(float(m.group(1)) / den * high, flags)
        else:
            x, suffix = float(m.group(1)), m.group(2)
        if self.percent_scale:
            unit = (suffix or "").strip().lower()
            if unit.startswith("%") or (unit.startswith("percent") and unit != "percentile"):
                x /= 100.0
            elif 1.0 < x <= 100.0 and (x == int(x) or unit):
                # "73" or "73rd percentile" is a percentage; "1.2" or "6.5" is not (clipped).
                x /= 100.0
                flags["rescaled"] = True
        return self._finish(round(x, 10), flags)

    def _finish(self, x: float, flags: dict[str, Any]) -> tuple[float, dict[str, Any]] | None:
        if not math.isfinite(x):
            return None
        low, high = self._range()
        if x < low or x > high:
            flags.update(clipped=True, unclipped=x)
            x = min(max(x, low), high)
        return self._round(x), flags

    def parse_prediction(self, text: Any) -> dict[str, Any]:
        """Read the number in a model output; never raises.

        Args:
            text: the completion (any type: non-strings are converted or fail cleanly).

        Returns:
            ``{"prediction": float or None, "reasoning", "parse_success", "raw",
            "parse_method"}`` plus ``"clipped"``/``"unclipped"``, ``"rescaled"`` or
            ``"range"`` when those rules applied.
        """
        return parse_text(text, self._number, primary=self.primary_markers,
                          secondary=self.secondary_markers, leading=_LEADING)

    def read_truth(self, ground_truth: Any) -> float | None:
        """A ground truth (Submission, number, ``"Answer: 0.73"``) as a float, None if absent.

        Raises:
            ValueError: a string with no number in it.
        """
        value = super().read_truth(ground_truth)
        if value is None:
            return None
        if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
            return None if math.isnan(float(value)) else float(value)
        try:  # the training target text: read it exactly, without rounding or rescaling
            number = float(str(value))
            return None if math.isnan(number) else number
        except ValueError:
            pass
        parsed = self._number(str(value), False)
        if parsed is None:
            raise ValueError(f"ground truth {ground_truth!r} has no number in it")
        return parsed[0]

    def _prediction_of(self, pred: Any) -> float | None:
        if isinstance(pred, Mapping):
            ok = pred.get("parse_success", pred.get("prediction") is not None)
            pred = pred.get("prediction") if ok else None
        if pred is None or isinstance(pred, bool):
            return None
        if isinstance(pred, (int, float, np.floating, np.integer)):
            return float(pred) if math.isfinite(float(pred)) else None
        parsed = self.parse_prediction(pred)
        return parsed["prediction"] if parsed["parse_success"] else None

    # ----- metrics ------------------------------------------------------------------------
    def compute_metrics(
        self,
        predictions: Sequence[Any],
        ground_truths: Sequence[Any],
        threshold: float | None = None,
        *,
        n_bootstrap: int = M.DEFAULT_BOOTSTRAP,
        seed: int = M.DEFAULT_SEED,
    ) -> dict[str, Any]:
        """MAE, RMSE, Pearson, Spearman on the parsed predictions, with bootstrap intervals.

        Args:
            predictions: prediction dicts, bare numbers, or texts (parsed).
            ground_truths: numbers, ``"Answer: x"`` strings or Submissions; None/NaN means
                unlabelled: excluded and counted in ``n_excluded_no_label``.
            threshold: not used by regression targets (must be None).
            n_bootstrap: resamples for the 95% intervals (0: none).
            seed: bootstrap seed.

        Returns:
            See :func:`paperpred.outputs.metrics.regression_metrics`; plus
            ``n_excluded_no_label``.
        """
        if threshold is not None:
            raise ValueError(f"{type(self).__name__} is a regression target: no threshold")
        if len(predictions) != len(ground_truths):
            raise ValueError(f"{len(predictions)} predictions for {len(ground_truths)} "
                             "ground truths")
        y_true, y_pred, excluded = [], [], 0
        for pred, truth in zip(predictions, ground_truths, strict=True):
            value = self.read_truth(truth)
            if value is None:
                excluded += 1
                continue
            y_true.append(value)
            y_pred.append(self._prediction_of(pred))
        out = M.regression_metrics(y_true, y_pred, n_bootstrap=n_bootstrap, seed=seed)
        out["n_excluded_no_label"] = excluded
        return out

    # ----- label scoring and reward -------------------------------------------------------
    def candidate_values(self) -> list[float]:
        """The numeric value of each candidate."""
        return [float(c) for c in self.candidates()]

    def candidates(self) -> list[str]:
        """Bins ``"0.0"``, ``"0.1"``, ..., ``"1.0"`` (percentile targets)."""
        return [f"{i / 10:.1f}" for i in range(11)]

    def score_candidates(self, logprobs: Mapping[str, float] | Sequence[float]
                         ) -> dict[str, Any]:
        """Label scoring: ``score`` and ``prediction`` are the expected value over the
        candidates (rounded like a parsed answer, e.g. to a bin when discretising);
        ``mode`` is the most probable candidate's value."""
        out = super().score_candidates(logprobs)
        probs = np.array(list(out["probabilities"].values()))
        values = np.array(self.candidate_values())
        expected = float(np.dot(probs, values))
        out["score"] = expected
        out["prediction"] = self._round(expected)
        out["mode"] = float(values[int(np.argmax(probs))])
        return out

    def reward_value(self, prediction: Any, truth: Any) -> float:
        """Closeness ``1 - |prediction - truth| / (high - low)``, clipped to [0, 1]."""
        low, high = self._range()
        return float(min(1.0, max(0.0, 1.0 - abs(float(prediction) - float(truth)) / (high - low))))
