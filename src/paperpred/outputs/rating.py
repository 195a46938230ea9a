"""MeanRatingHandler: mean reviewer rating or its percentile (number rules in scores.py)."""

from __future__ import annotations

from paperpred.config import OutputType
from paperpred.outputs.registry import register_output_handler
from paperpred.outputs.scores import ScoreHandler


@register_output_handler("mean_rating", default_for=OutputType.MEAN_RATING)
class MeanRatingHandler(ScoreHandler):
    """Mean reviewer rating on the 1-10 scale, or its percentile among the year's papers.

    Args:
        as_percentile: predict the rating's percentile in [0, 1] (``labels["rating_percentile"]``)
            instead of the raw mean rating in [1, 10] (``labels["mean_rating"]``).
        include_reasoning: ask for brief reasoning before the final ``Answer:`` line.

    Label scoring candidates: ``"1"`` ... ``"10"`` for raw ratings (note that ``"Answer: 1"``
    is a prefix of ``"Answer: 10"``; backends should score each candidate as a complete
    answer), bins ``"0.0"`` ... ``"1.0"`` for percentiles.
    """

    output_type = OutputType.MEAN_RATING
    secondary_markers = ("rating", "mean rating", "score", "percentile")

    def __init__(self, as_percentile: bool = False, include_reasoning: bool = False) -> None:
        super().__init__(include_reasoning=include_reasoning)
        self.as_percentile = as_percentile

    def _range(self) -> tuple[float, float]:
        return (0.0, 1.0) if self.as_percentile else (1.0, 10.0)

    @property
    def label_key(self) -> str:  # type: ignore[override]
        return "rating_percentile" if self.as_percentile else "mean_rating"

    @property
    def percent_scale(self) -> bool:  # type: ignore[override]
        return self.as_percentile

    @property
    def decimals(self) -> int:  # type: ignore[override]
        return 2 if self.as_percentile else 1

    def _example(self) -> str:
        return "0.66" if self.as_percentile else "6.3"

    def candidates(self) -> list[str]:
        """``"1"`` ... ``"10"`` (raw ratings) or bins ``"0.0"`` ... ``"1.0"`` (percentile)."""
        return super().candidates() if self.as_percentile else [str(i) for i in range(1, 11)]

    def get_instruction(self) -> str:
        """Ask for the mean rating (or its percentile), in the ``Answer:`` format."""
        if self.as_percentile:
            return ("Predict where this paper's mean reviewer rating ranks among the ICLR "
                    "submissions of the same year, as a percentile: 0.0 is the lowest rated, "
                    "1.0 the highest. " + self._format_rule("a number from 0.00 to 1.00"))
        return ("Predict the mean rating this paper received from its ICLR reviewers, on the "
                "1 (strong reject) to 10 (top paper) scale. "
                + self._format_rule("a number from 1.0 to 10.0 with one decimal"))
