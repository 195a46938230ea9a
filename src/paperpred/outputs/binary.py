"""BinaryAcceptRejectHandler: accept or reject (the parsing rules are in decisions.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from paperpred.config import OutputType
from paperpred.data.venue_decisions import BINARY_LABELS
from paperpred.outputs import metrics as M
from paperpred.outputs.decision_handler import DecisionHandler
from paperpred.outputs.registry import register_output_handler

# A -inf candidate gives an infinite log-odds; clipped so the score stays valid JSON and still
# ranks first (or last) for AUC.
MAX_LOG_ODDS = 1e4


@register_output_handler("binary", default_for=OutputType.BINARY)
class BinaryAcceptRejectHandler(DecisionHandler):
    """Accept or reject (workshop invitations count as reject).

    Args:
        include_reasoning: ask for brief reasoning before the final ``Answer:`` line.

    Label scoring: ``score`` is the log-odds of Accept, ``logp(Accept) - logp(Reject)``;
    the prediction is Accept when ``score >= 0`` (or the chosen threshold).
    Reward: 1.0 correct, -1.0 wrong, -0.5 unreadable. A wrong answer costs as much as a
    right one earns, so one fixed answer earns 0 on balanced papers (chance): GRPO gains
    only by telling papers apart. (With 0 for a wrong answer, a fixed answer earned half the
    reward, and GRPO on ICLR review scores learned the format and one answer, nothing else.)
    """

    output_type = OutputType.BINARY
    labels = BINARY_LABELS
    positive = "Accept"
    vocabulary = (
        (r"accept(?:ed|s|ance|able)?", "Accept"),
        (r"oral|talk|spotlight|poster", "Accept"),
        (r"reject(?:ed|s|ion)?", "Reject"),
        (r"workshop(?:\s+track)?", "Reject"),
    )

    def reward_value(self, prediction: Any, truth: Any) -> float:
        """1.0 for the right decision, -1.0 for the wrong one."""
        return 1.0 if prediction == truth else -1.0

    def get_instruction(self) -> str:
        """Ask for Accept or Reject at ICLR, in the ``Answer:`` format."""
        return ("Predict whether this paper was accepted or rejected at ICLR (an invitation to "
                "the workshop track counts as a reject). " + self._format_rule())

    def label_value(self, submission: Any) -> str | None:
        """``submission.get_binary_label()``: "Accept", "Reject" or None."""
        return submission.get_binary_label()

    def _from_decision(self, decision: Any) -> str | None:
        return decision.binary_label

    def _apply_threshold(self, score: float, threshold: float) -> str:
        return "Accept" if score >= threshold else "Reject"

    def score_candidates(self, logprobs: Mapping[str, float] | Sequence[float]
                         ) -> dict[str, Any]:
        """Label scoring: ``score = logp(Accept) - logp(Reject)``, Accept when ``>= 0``."""
        out = super().score_candidates(logprobs)
        lp = self.candidate_logprobs(logprobs)
        score = float(np.clip(lp[0] - lp[1], -MAX_LOG_ODDS, MAX_LOG_ODDS))
        out["score"] = score
        out["prediction"] = "Accept" if score >= 0 else "Reject"
        return out

    def choose_threshold(self, predictions: Sequence[Any], ground_truths: Sequence[Any]
                         ) -> float:
        """The score threshold maximising balanced accuracy on validation predictions.

        Args:
            predictions: scored prediction dicts, or bare scores.
            ground_truths: labels in any form :meth:`compute_metrics` accepts.

        Returns:
            The threshold to pass to ``compute_metrics(threshold=...)`` on the test set.
        """
        scores = [p.get("score") if isinstance(p, Mapping) else p for p in predictions]
        truths = [self.read_truth(g) for g in ground_truths]
        return M.choose_threshold(scores, truths, positive="Accept")

    def _finish_metrics(self, out: dict[str, Any], y_true: list[str],
                        scores: list[float | None], threshold: float | None) -> dict[str, Any]:
        # Flat per-class keys are what papers report: recall_accept, f1_reject, ...
        for label, stats in out["per_class"].items():
            for key in ("precision", "recall", "f1"):
                out[f"{key}_{label.lower()}"] = stats[key]
        out["threshold"] = threshold
        for key, empty in (("auc", None), ("auc_n", 0), ("auc_ci", None)):
            out.setdefault(key, empty)
        return out
