"""MultiClassDecisionHandler: the four-way decision (the parsing rules are in decisions.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from paperpred.config import OutputType
from paperpred.data.venue_decisions import MULTICLASS_LABELS
from paperpred.outputs import metrics as M
from paperpred.outputs.decision_handler import ACCEPT_ANY, DecisionHandler
from paperpred.outputs.registry import register_output_handler

_TIER = r"(?:(oral|talk)|(spotlight)|(poster))"


@register_output_handler("multiclass", default_for=OutputType.MULTICLASS)
class MultiClassDecisionHandler(DecisionHandler):
    """Reject, Accept (Poster), Accept (Spotlight) or Accept (Oral).

    Args:
        include_reasoning: ask for brief reasoning before the final ``Answer:`` line.

    Label scoring: ``score`` is P(accept) = 1 - P(Reject) (so ``accept_auc`` can be
    reported), ``expected_index`` the expected class index in the order above (an ordinal
    score). Reward: 1.0 exact; 0.5 for an accept with the wrong tier; 0.0 wrong side;
    -0.5 unreadable.
    """

    output_type = OutputType.MULTICLASS
    labels = MULTICLASS_LABELS
    positive = None
    vocabulary = (
        (rf"accept(?:ed)?\s*[(\[:,/–—-]?\s*(?:as\s+)?(?:an?\s+)?{_TIER}(?:\s+presentation)?"
         r"\s*[)\]]?", "<tiered>"),
        (r"oral|talk|top[\s-]*5\s*%", "Accept (Oral)"),
        (r"spotlight|top[\s-]*25\s*%", "Accept (Spotlight)"),
        (r"poster", "Accept (Poster)"),
        (r"reject(?:ed|s|ion)?|workshop(?:\s+track)?", "Reject"),
        (r"accept(?:ed|s|ance)?", ACCEPT_ANY),
    )
    partial_credit: ClassVar[float] = 0.5

    def _label_of(self, phrase: str) -> str | None:
        label = super()._label_of(phrase)
        if label == "<tiered>":
            tier = re.search(_TIER, phrase, re.IGNORECASE)
            assert tier is not None  # the compound pattern contains a tier
            name = {1: "Oral", 2: "Spotlight", 3: "Poster"}[tier.lastindex or 1]
            return f"Accept ({name})"
        return label

    def _merge(self, found: set[str]) -> set[str]:
        # "Accepted. It would be a poster." names one class: the tier refines the accept.
        if ACCEPT_ANY in found and len(found) > 1 and "Reject" not in found:
            found.discard(ACCEPT_ANY)
        return found

    def get_instruction(self) -> str:
        """Ask for the four-way decision, in the ``Answer:`` format."""
        return ("Predict the ICLR decision for this paper: Reject (including an invitation to "
                "the workshop track), Accept (Poster), Accept (Spotlight) or Accept (Oral). "
                + self._format_rule())

    def label_value(self, submission: Any) -> str | None:
        """``submission.get_multiclass_label()``, None when unlabelled or the tier is unknown."""
        return submission.get_multiclass_label()

    def _from_decision(self, decision: Any) -> str | None:
        return decision.multiclass_label

    def score_candidates(self, logprobs: Mapping[str, float] | Sequence[float]
                         ) -> dict[str, Any]:
        """Label scoring: most probable class; ``score`` = P(accept), ``expected_index``."""
        out = super().score_candidates(logprobs)
        probs = np.array([out["probabilities"][c] for c in self.labels])
        out["score"] = float(1.0 - probs[0])
        out["expected_index"] = float(np.dot(probs, np.arange(len(self.labels))))
        return out

    def reward_value(self, prediction: Any, truth: Any) -> float:
        """1.0 exact, :attr:`partial_credit` for the right side with the wrong tier, else 0."""
        if prediction == truth:
            return 1.0
        if prediction != "Reject" and truth != "Reject":
            return float(self.partial_credit)
        return 0.0

    def _finish_metrics(self, out: dict[str, Any], y_true: list[str],
                        scores: list[float | None], threshold: float | None) -> dict[str, Any]:
        # P(accept) vs accepted: comparable with the binary handler's AUC.
        has = [i for i, s in enumerate(scores) if s is not None]
        out["accept_auc"] = (M.roc_auc([y_true[i] != "Reject" for i in has],
                                       [s for s in scores if s is not None]) if has else None)
        return out
