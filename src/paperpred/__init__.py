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
    Submission,
    load_sample,
    normalize_decision,
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
    "Submission",
    "TrainingConfig",
    "TrainingMode",
    "__version__",
    "load_sample",
    "normalize_decision",
]
