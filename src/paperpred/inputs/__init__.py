"""Input formatters: how a paper is shown to the model (messages plus ordered page images).

Every formatter scrubs label leakage by default (:mod:`paperpred.data.leakage`).
"""

from paperpred.errors import MissingPageImagesError
from paperpred.inputs.base import DEFAULT_SYSTEM_PROMPT, FormattedPrompt, InputFormatter
from paperpred.inputs.budget import TokenCounter
from paperpred.inputs.paper import PaperFormatter
from paperpred.inputs.registry import (
    INPUT_FORMATTERS,
    get_input_formatter,
    register_input_formatter,
)
from paperpred.inputs.render import IMAGE_TOKEN
from paperpred.inputs.text import (
    AbstractOnlyFormatter,
    AbstractWithReviewsFormatter,
    FullContextFormatter,
    FullTextFormatter,
    ReviewScoresFormatter,
    TextOnlyFormatter,
)
from paperpred.inputs.vision import (
    AbstractWithPageImagesFormatter,
    ImagesOnlyFormatter,
    ImagesWithTitleFormatter,
    KeyPagesFormatter,
    ReviewsWithPageImagesFormatter,
    TextWithImagesFormatter,
    VisionFormatter,
)

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "IMAGE_TOKEN",
    "INPUT_FORMATTERS",
    "AbstractOnlyFormatter",
    "AbstractWithPageImagesFormatter",
    "AbstractWithReviewsFormatter",
    "FormattedPrompt",
    "FullContextFormatter",
    "FullTextFormatter",
    "ImagesOnlyFormatter",
    "ImagesWithTitleFormatter",
    "InputFormatter",
    "KeyPagesFormatter",
    "MissingPageImagesError",
    "PaperFormatter",
    "ReviewScoresFormatter",
    "ReviewsWithPageImagesFormatter",
    "TextOnlyFormatter",
    "TextWithImagesFormatter",
    "TokenCounter",
    "VisionFormatter",
    "get_input_formatter",
    "register_input_formatter",
]
