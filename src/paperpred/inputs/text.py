"""Text formatters (InputModality.TEXT_ONLY): the paper as text, for text-only models."""

from __future__ import annotations

from typing import Any

from paperpred.config import InputModality
from paperpred.data.submission import Submission
from paperpred.inputs.paper import PaperFormatter
from paperpred.inputs.registry import register_input_formatter
from paperpred.inputs.render import render_review_scores


class _TextFormatter(PaperFormatter):
    modality = InputModality.TEXT_ONLY
    requires_vl_model = False

    def get_images(self, submission: Submission) -> list[Any] | None:
        return None


@register_input_formatter("text_only", default_for=InputModality.TEXT_ONLY)
class TextOnlyFormatter(_TextFormatter):
    """Title, keywords, abstract, and optionally reviews and the full text.

    The default formatter of ``InputModality.TEXT_ONLY``.

    Args:
        include_reviews: show the reviews (default True).
        include_markdown: show the full text (default False); held to ``max_tokens`` if set.
        use_normalized_reviews: universal review fields (True) or the review text as written.
        few_shot_examples, few_shot_count: labelled examples shown first, rendered like the
            paper (see :class:`~paperpred.inputs.InputFormatter`).
        **kwargs: ``max_tokens``, ``tokenizer``, ``include_keywords``, ``scrub_leakage``,
            ``system_prompt``, ``few_shot_label``.

    Example:
        >>> TextOnlyFormatter(include_reviews=True, use_normalized_reviews=True).name
        'text_only'
    """

    def __init__(
        self,
        *,
        include_reviews: bool = True,
        include_markdown: bool = False,
        use_normalized_reviews: bool = True,
        few_shot_examples: list[Any] | None = None,
        few_shot_count: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.include_reviews = include_reviews
        self.include_markdown = include_markdown
        super().__init__(
            use_normalized_reviews=use_normalized_reviews,
            few_shot_examples=few_shot_examples,
            few_shot_count=few_shot_count,
            **kwargs,
        )

    @property
    def shows_full_text(self) -> bool:  # type: ignore[override]
        return bool(self.include_markdown)

    def layout(self, submission: Submission) -> list[str]:
        parts = ["title", "keywords", "abstract"]
        parts += ["reviews"] if self.include_reviews else []
        parts += ["full_text"] if self.include_markdown else []
        return parts


@register_input_formatter("abstract_only")
class AbstractOnlyFormatter(_TextFormatter):
    """Title, keywords and abstract: the minimal prompt."""

    def layout(self, submission: Submission) -> list[str]:
        return ["title", "keywords", "abstract"]


@register_input_formatter("abstract_with_reviews")
class AbstractWithReviewsFormatter(_TextFormatter):
    """Title, keywords, abstract and the reviews."""

    def layout(self, submission: Submission) -> list[str]:
        return ["title", "keywords", "abstract", "reviews"]


@register_input_formatter("full_text")
class FullTextFormatter(_TextFormatter):
    """Title, keywords, abstract and the full text, without reviews.

    Args:
        max_tokens: budget of the whole prompt (default 16000); the full text is cut by
            sections to fit (references, then appendices, then from the end).
    """

    shows_full_text = True

    def __init__(self, *, max_tokens: int | None = 16000, **kwargs: Any) -> None:
        super().__init__(max_tokens=max_tokens, **kwargs)

    def layout(self, submission: Submission) -> list[str]:
        return ["title", "keywords", "abstract", "full_text"]


@register_input_formatter("full_context")
class FullContextFormatter(_TextFormatter):
    """Title, keywords, abstract, reviews and the full text.

    Args:
        max_tokens: budget of the whole prompt (default 32000); title, abstract and reviews
            are kept whole and the full text is cut by sections to fit.
    """

    shows_full_text = True

    def __init__(self, *, max_tokens: int | None = 32000, **kwargs: Any) -> None:
        super().__init__(max_tokens=max_tokens, **kwargs)

    def layout(self, submission: Submission) -> list[str]:
        return ["title", "keywords", "abstract", "reviews", "full_text"]


@register_input_formatter("review_scores")
class ReviewScoresFormatter(_TextFormatter):
    """The title and each review's rating and confidence, no text: for studies of how scores
    map to decisions (short enough to train on a CPU).

    Args:
        include_mean: also state the mean rating (default True).
        include_title: show the title (default True).
        **kwargs: see :class:`~paperpred.inputs.paper.PaperFormatter`.

    Example:
        >>> ReviewScoresFormatter().layout(None)
        ['title', 'review_scores']
    """

    def __init__(self, *, include_mean: bool = True, include_title: bool = True,
                 **kwargs: Any) -> None:
        self.include_mean = include_mean
        self.include_title = include_title
        super().__init__(include_keywords=False, **kwargs)

    def layout(self, submission: Submission) -> list[str]:
        return (["title"] if self.include_title else []) + ["review_scores"]

    def render_part(self, part: str, submission: Submission, full_text: str | None) -> str | None:
        if part == "review_scores":
            return render_review_scores(submission, self.include_mean)
        return super().render_part(part, submission, full_text)
