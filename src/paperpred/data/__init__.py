"""The ICLR data layer: submissions, reviews, decisions, loaders, splits, page images."""

from paperpred.data.bundled import load_sample, sample_path
from paperpred.data.loader import ICLRDataLoader
from paperpred.data.pages import RenderReport, render_pdf, render_pdf_dir
from paperpred.data.report import LoadReport
from paperpred.data.reviews import Review, normalize_review
from paperpred.data.splits import (
    Split,
    balance_classes,
    interleave_classes,
    split_by_year,
    stratified_split,
)
from paperpred.data.submission import Submission
from paperpred.data.venue_decisions import (
    BINARY_LABELS,
    MULTICLASS_LABELS,
    Decision,
    normalize_decision,
)

__all__ = [
    "BINARY_LABELS",
    "MULTICLASS_LABELS",
    "Decision",
    "ICLRDataLoader",
    "LoadReport",
    "RenderReport",
    "Review",
    "Split",
    "Submission",
    "balance_classes",
    "interleave_classes",
    "load_sample",
    "normalize_decision",
    "normalize_review",
    "render_pdf",
    "render_pdf_dir",
    "sample_path",
    "split_by_year",
    "stratified_split",
]
