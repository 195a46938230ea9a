"""DecisionHandler: what accept/reject and the four-way decision share.

How an answer value is read (after :mod:`paperpred.outputs.parsing` found where it is):

- Label words in any case and the usual forms: ``accept``/``accepted``/``acceptance``,
  ``reject``/``rejected``/``rejection``; tier words (``oral``/``talk``/``top-5%``,
  ``spotlight``/``top-25%``, ``poster``) mean an accept; a ``workshop`` invitation is a reject
  (as in the data layer).
- A label word preceded by a negation (``not``, ``never``, ``n't``, ``unlikely``, ...
  within three words) does not count: ``Answer: Reject (not Accept)`` is Reject, while
  ``Answer: not accepted`` is a parse failure rather than a guessed Reject.
- The value must name exactly one class: ``Answer: Accept or Reject`` (an echoed template)
  is a parse failure.
- Emphasis and bare text must be only a label (``**Accept**``, ``"reject."``); a first line
  that starts with one (``"Reject. The paper lacks novelty."``) also counts. Prose that merely
  mentions labels is never guessed.
- Multi-class: a plain ``Accept`` without a tier is a parse failure (the model was asked for
  a tier); ``Accept (Poster)``, ``accepted as a poster``, ``Poster`` all read as
  ``Accept (Poster)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from paperpred.data.venue_decisions import Decision, normalize_decision
from paperpred.outputs import metrics as M
from paperpred.outputs.base import ANSWER_PREFIX, OutputHandler, strip_answer_prefix
from paperpred.outputs.parsing import clean_value, parse_text

_NEGATION = re.compile(
    r"(?:\b(?:not|never|cannot|nor|without|unlikely|hardly|neither)\b|n't)\W*(?:\w+\W+){0,2}$",
    re.IGNORECASE,
)
ACCEPT_ANY = "<accept>"  # an accept without a tier (multi-class only)


def _word(pattern: str) -> str:
    return rf"(?<![\w-])(?:{pattern})(?![\w-])"


class DecisionHandler(OutputHandler):
    """Shared logic of the classification handlers (a fixed, ordered label set)."""

    labels: ClassVar[tuple[str, ...]] = ()
    positive: ClassVar[str | None] = None
    # (regex, label) in priority order: compound phrases before single words.
    vocabulary: ClassVar[tuple[tuple[str, str], ...]] = ()
    primary_markers: ClassVar[tuple[str, ...]] = ("answer", "final answer", "decision",
                                                  "prediction", "verdict", "outcome")
    secondary_markers: ClassVar[tuple[str, ...]] = ("recommendation", "label", "classification")

    def __init__(self, include_reasoning: bool = False) -> None:
        self.include_reasoning = include_reasoning
        alternation = "|".join(f"(?:{_word(p)})" for p, _ in self.vocabulary)
        self._any = re.compile(alternation, re.IGNORECASE)
        self._entries = [(re.compile(_word(p), re.IGNORECASE), lab) for p, lab in self.vocabulary]
        self._leading = re.compile(rf"^({alternation})(?=\s*(?:$|[.,;:!)]|\s[-–—]))",
                                   re.IGNORECASE)

    # ----- instruction and labels ---------------------------------------------------------
    def _answer_format(self) -> str:
        return " or ".join(f'"{ANSWER_PREFIX}{label}"' for label in self.labels)

    def _format_rule(self) -> str:
        if self.include_reasoning:
            return ("First give your reasoning in a few sentences. Then end with one final line "
                    f"of exactly this form: {self._answer_format()}.")
        return f"Respond with exactly one line: {self._answer_format()}. Do not explain."

    def format_label(self, submission: Any) -> str | None:
        """``"Answer: <label>"`` for a labelled submission, else None (withdrawn, unknown)."""
        value = self.label_value(submission)
        return None if value is None else ANSWER_PREFIX + value

    # ----- reading answers ----------------------------------------------------------------
    def _merge(self, found: set[str]) -> set[str]:
        return found

    def _label_of(self, phrase: str) -> str | None:
        for pattern, label in self._entries:
            if pattern.fullmatch(phrase.strip()):
                return label
        return None

    def _interpret(self, value: str, strict: bool) -> tuple[str, dict[str, Any]] | None:
        cleaned = clean_value(value).rstrip(".!")
        if strict:
            label = self._label_of(cleaned)
            return (label, {}) if label in self.labels else None
        # Only the few words before a mention can negate it; a bounded window keeps long,
        # repetitive outputs linear.
        mentioned = {self._label_of(m.group(0)) for m in self._any.finditer(cleaned)
                     if not _NEGATION.search(cleaned[max(0, m.start() - 60) : m.start()])}
        found = self._merge({f for f in mentioned if f is not None})
        if len(found) == 1:
            label = found.pop()
            if label in self.labels:
                return label, {}
        return None

    def parse_prediction(self, text: Any) -> dict[str, Any]:
        """Read the decision in a model output; never raises.

        Args:
            text: the completion (any type: non-strings are converted or fail cleanly).

        Returns:
            ``{"prediction": label or None, "reasoning": str, "parse_success": bool,
            "raw": text, "parse_method": "json"|"marker"|"emphasis"|"bare"|None}``.
        """
        return parse_text(text, self._interpret, primary=self.primary_markers,
                          secondary=self.secondary_markers, leading=self._leading)

    def canonical(self, value: Any) -> str | None:
        """The label a prediction value or label string names, None if it names none.

        Exact labels match in any case (``"accept"``); other strings are read like an answer
        value (``"Answer: Poster"`` -> ``"Accept (Poster)"`` for multi-class).
        """
        if not isinstance(value, str):
            return None
        text = strip_answer_prefix(value)
        for label in self.labels:
            if text.lower() == label.lower():
                return label
        parsed = self._interpret(text, False)
        return parsed[0] if parsed else None

    def read_truth(self, ground_truth: Any) -> str | None:
        """The label of a ground truth (Submission, label, ``"Answer: X"`` or a raw decision).

        Raises:
            ValueError: a string that is no label and no known decision.
        """
        value = super().read_truth(ground_truth)
        if value is None:
            return None
        label = self.canonical(value)
        if label is not None:
            return label
        decision = normalize_decision(value)
        if decision is Decision.UNKNOWN:
            raise ValueError(f"ground truth {ground_truth!r} is not one of {list(self.labels)}")
        # Withdrawn and desk-rejected papers have no label; nor, for the four-way task, an
        # accept whose tier the venue did not state.
        return self._from_decision(decision) if decision.has_label else None

    def _from_decision(self, decision: Any) -> str | None:
        raise NotImplementedError

    # ----- metrics ------------------------------------------------------------------------
    def _collect(self, predictions: Sequence[Any], ground_truths: Sequence[Any],
                 threshold: float | None) -> tuple[list[str], list[str | None],
                                                   list[float | None], int]:
        if threshold is not None and self.positive is None:
            raise ValueError(f"{type(self).__name__} has no decision threshold; "
                             "thresholds apply to the binary handler")
        if len(predictions) != len(ground_truths):
            raise ValueError(f"{len(predictions)} predictions for {len(ground_truths)} "
                             "ground truths")
        y_true, y_pred, scores, excluded = [], [], [], 0
        for pred, truth in zip(predictions, ground_truths, strict=True):
            label = self.read_truth(truth)
            if label is None:
                excluded += 1
                continue
            value, score = self._prediction_of(pred)
            if threshold is not None and score is not None:
                value = self._apply_threshold(score, threshold)
            y_true.append(label)
            y_pred.append(value)
            scores.append(score)
        return y_true, y_pred, scores, excluded

    def _prediction_of(self, pred: Any) -> tuple[str | None, float | None]:
        score = None
        if isinstance(pred, Mapping):
            raw_score = pred.get("score")
            if isinstance(raw_score, (int, float)) and not isinstance(raw_score, bool):
                score = M.finite_or_none(raw_score)
            ok = pred.get("parse_success", pred.get("prediction") is not None)
            pred = pred.get("prediction") if ok else None
        return self.canonical(pred), score

    def _apply_threshold(self, score: float, threshold: float) -> str | None:
        raise NotImplementedError  # only handlers with a positive class have thresholds

    def compute_metrics(
        self,
        predictions: Sequence[Any],
        ground_truths: Sequence[Any],
        threshold: float | None = None,
        *,
        n_bootstrap: int = M.DEFAULT_BOOTSTRAP,
        seed: int = M.DEFAULT_SEED,
    ) -> dict[str, Any]:
        """Classification metrics (see :mod:`paperpred.outputs.metrics` for conventions).

        Args:
            predictions: ``parse_prediction``/``score_candidates`` dicts, or bare labels.
            ground_truths: labels, ``"Answer: X"`` strings or Submissions; None (or a
                withdrawn decision) means unlabelled: excluded and counted in
                ``n_excluded_no_label``.
            threshold: binary only: predict Accept when ``score >= threshold`` for every
                prediction that has a score (see :meth:`choose_threshold`).
            n_bootstrap: bootstrap resamples for the 95% intervals (0: none).
            seed: bootstrap seed.

        Returns:
            The metrics dict; ``n`` counts the labelled examples.
        """
        y_true, y_pred, scores, excluded = self._collect(predictions, ground_truths, threshold)
        has_scores = any(s is not None for s in scores)
        out = M.classification_metrics(
            y_true, y_pred, self.labels, positive=self.positive,
            scores=scores if has_scores and self.positive else None,
            n_bootstrap=n_bootstrap, seed=seed)
        out["n_excluded_no_label"] = excluded
        return self._finish_metrics(out, y_true, scores, threshold)

    def _finish_metrics(self, out: dict[str, Any], y_true: list[str],
                        scores: list[float | None], threshold: float | None) -> dict[str, Any]:
        return out

    # ----- label scoring ------------------------------------------------------------------
    def candidates(self) -> list[str]:
        """The class labels, in the fixed order of the confusion matrix."""
        return list(self.labels)
