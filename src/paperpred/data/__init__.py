"""The ICLR data layer: submissions, reviews, decisions, loaders, splits, page images."""

from paperpred.data.decisions import BINARY_LABELS, MULTICLASS_LABELS, Decision, normalize_decision
from paperpred.data.labels import add_percentile_labels
from paperpred.data.loader import ICLRDataLoader
from paperpred.data.report import LoadReport
from paperpred.data.reviews import Review, normalize_review
from paperpred.data.sample import load_sample, sample_path
from paperpred.data.submission import Submission

__all__ = [
    "BINARY_LABELS",
    "MULTICLASS_LABELS",
    "Decision",
    "ICLRDataLoader",
    "LoadReport",
    "Review",
    "Submission",
    "add_percentile_labels",
    "load_sample",
    "normalize_decision",
    "normalize_review",
    "sample_path",
]
