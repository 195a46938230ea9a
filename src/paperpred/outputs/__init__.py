"""Output handlers: what is predicted, how answers are read, scored and rewarded."""

from paperpred.outputs.base import OutputHandler
from paperpred.outputs.binary import BinaryAcceptRejectHandler
from paperpred.outputs.citation import CitationPercentileHandler
from paperpred.outputs.decisions import DecisionHandler
from paperpred.outputs.metrics import (
    choose_threshold,
    classification_metrics,
    regression_metrics,
    roc_auc,
)
from paperpred.outputs.multiclass import MultiClassDecisionHandler
from paperpred.outputs.rating import MeanRatingHandler
from paperpred.outputs.registry import (
    OUTPUT_HANDLERS,
    get_output_handler,
    list_output_handlers,
    register_output_handler,
)
from paperpred.outputs.rewards import trl_reward
from paperpred.outputs.scores import ScoreHandler

__all__ = [
    "OUTPUT_HANDLERS",
    "BinaryAcceptRejectHandler",
    "CitationPercentileHandler",
    "DecisionHandler",
    "MeanRatingHandler",
    "MultiClassDecisionHandler",
    "OutputHandler",
    "ScoreHandler",
    "choose_threshold",
    "classification_metrics",
    "get_output_handler",
    "list_output_handlers",
    "register_output_handler",
    "regression_metrics",
    "roc_auc",
    "trl_reward",
]
