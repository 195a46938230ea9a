"""paperpred: predict what happens to ML papers at ICLR with LLMs.

The public API (the names of the spec); import everything from here:
``from paperpred import ICLRDataLoader, UnifiedPredictor, ...``.
"""

from paperpred.config import (
    DataFormat,
    InferenceConfig,
    InputModality,
    ModelType,
    OutputType,
    PredictorConfig,
    TrainingConfig,
    TrainingMode,
)
from paperpred.data import (
    Decision,
    ICLRDataLoader,
    LoadReport,
    Review,
    Split,
    Submission,
    balance_classes,
    load_sample,
    normalize_decision,
    render_pdf_dir,
    split_by_year,
    stratified_split,
)
from paperpred.errors import DataError, PaperpredError

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "DataFormat",
    "Decision",
    "ICLRDataLoader",
    "InferenceConfig",
    "InputModality",
    "LoadReport",
    "ModelType",
    "OutputType",
    "PaperpredError",
    "PredictorConfig",
    "Review",
    "Split",
    "Submission",
    "TrainingConfig",
    "TrainingMode",
    "__version__",
    "balance_classes",
    "load_sample",
    "normalize_decision",
    "render_pdf_dir",
    "split_by_year",
    "stratified_split",
]
