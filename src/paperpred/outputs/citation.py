"""CitationPercentileHandler: citation percentile in [0, 1] (number rules in scores.py)."""

from __future__ import annotations

import math

from paperpred.config import OutputType
from paperpred.outputs.registry import register_output_handler
from paperpred.outputs.scores import ScoreHandler


@register_output_handler("citation_percentile", default_for=OutputType.CITATION_PERCENTILE)
class CitationPercentileHandler(ScoreHandler):
    """Citation percentile among the same year's submissions, in [0, 1].

    Args:
        include_reasoning: ask for brief reasoning before the final ``Answer:`` line.
        discretize: round answers, labels and label-scoring predictions to bins of 0.1
            (``"Answer: 0.7"``); metrics still compare with the unrounded truth.
    """

    output_type = OutputType.CITATION_PERCENTILE
    label_key = "citation_percentile"
    secondary_markers = ("percentile", "citation percentile", "score")

    def __init__(self, include_reasoning: bool = False, discretize: bool = False) -> None:
        super().__init__(include_reasoning=include_reasoning)
        self.discretize = discretize

    def _round(self, value: float) -> float:
        # Half-up to one decimal (Python's round() would send 0.25 to 0.2).
        return math.floor(value * 10 + 0.5) / 10 if self.discretize else value

    def _label_decimals(self) -> int:
        return 1 if self.discretize else 2

    def _example(self) -> str:
        return "0.7" if self.discretize else "0.73"

    def get_instruction(self) -> str:
        """Ask for the citation percentile, in the ``Answer:`` format."""
        what = ("a number from 0.0 to 1.0 rounded to one decimal" if self.discretize
                else "a number from 0.00 to 1.00 with two decimals")
        return ("Predict this paper's citation impact as its percentile among the ICLR "
                "submissions of the same year: 0.0 means the least cited, 1.0 the most cited. "
                + self._format_rule(what))
