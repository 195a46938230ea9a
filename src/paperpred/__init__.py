"""paperpred: predict what happens to ML papers at ICLR with LLMs.

The public API (the names of the spec); import everything from here:
``from paperpred import ICLRDataLoader, UnifiedPredictor, ...``.
"""

from paperpred.batch import BatchPredictor
from paperpred.config import (
    DataFormat,
    GRPOOptions,
    InferenceConfig,
    InputModality,
    LaunchOptions,
    LoRAOptions,
    ModelType,
    OutputType,
    PredictorConfig,
    SFTOptions,
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
from paperpred.errors import ConfigError, DataError, PaperpredError
from paperpred.inputs import (
    AbstractOnlyFormatter,
    AbstractWithPageImagesFormatter,
    AbstractWithReviewsFormatter,
    FullContextFormatter,
    FullTextFormatter,
    ImagesOnlyFormatter,
    ImagesWithTitleFormatter,
    InputFormatter,
    KeyPagesFormatter,
    ReviewsWithPageImagesFormatter,
    TextOnlyFormatter,
    TextWithImagesFormatter,
    get_input_formatter,
    register_input_formatter,
)
from paperpred.inputs.samples import Sample
from paperpred.modes.grpo import GRPOMode
from paperpred.modes.sft import SFTLoRAMode
from paperpred.modes.zero_shot import ZeroShotMode
from paperpred.outputs import (
    BinaryAcceptRejectHandler,
    CitationPercentileHandler,
    MeanRatingHandler,
    MultiClassDecisionHandler,
    OutputHandler,
    choose_threshold,
    get_output_handler,
    register_output_handler,
)
from paperpred.predict import UnifiedPredictor

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "GRPOOptions",
    "LaunchOptions",
    "LoRAOptions",
    "SFTOptions",
    "AbstractOnlyFormatter",
    "AbstractWithPageImagesFormatter",
    "AbstractWithReviewsFormatter",
    "BatchPredictor",
    "BinaryAcceptRejectHandler",
    "CitationPercentileHandler",
    "DataError",
    "DataFormat",
    "Decision",
    "FullContextFormatter",
    "FullTextFormatter",
    "GRPOMode",
    "ICLRDataLoader",
    "ImagesOnlyFormatter",
    "ImagesWithTitleFormatter",
    "InferenceConfig",
    "InputFormatter",
    "InputModality",
    "KeyPagesFormatter",
    "LoadReport",
    "MeanRatingHandler",
    "ModelType",
    "MultiClassDecisionHandler",
    "OutputHandler",
    "OutputType",
    "PaperpredError",
    "PredictorConfig",
    "Review",
    "ReviewsWithPageImagesFormatter",
    "Sample",
    "Split",
    "Submission",
    "TextOnlyFormatter",
    "TextWithImagesFormatter",
    "TrainingConfig",
    "TrainingMode",
    "UnifiedPredictor",
    "SFTLoRAMode",
    "ZeroShotMode",
    "__version__",
    "balance_classes",
    "choose_threshold",
    "get_input_formatter",
    "get_output_handler",
    "load_sample",
    "normalize_decision",
    "register_input_formatter",
    "register_output_handler",
    "render_pdf_dir",
    "split_by_year",
    "stratified_split",
]
