"""Vision formatters (TEXT_WITH_IMAGES, IMAGES_ONLY): page images, with or without text.

Each page image is written into the user text as a ``Page n:`` line followed by one
``<image>`` marker, in page order; ``get_images`` returns the same pages in the same order,
with the header band masked (see :mod:`paperpred.data.leakage`) unless ``scrub_leakage=False``.

A submission without page images raises :class:`MissingPageImagesError` (the default,
``on_missing_images="error"``): it names the submission, the folder searched and the fixes,
so that a run never mixes image prompts with silent text-only ones. With
``on_missing_images="text_only"`` the prompt falls back to title and abstract (plus the
formatter's other text parts) with a note that no page images are available, and
``get_images`` returns ``[]``.
"""

from __future__ import annotations

from typing import Any

from paperpred.config import InputModality
from paperpred.data.leakage import mask_header_band
from paperpred.data.submission import Submission
from paperpred.errors import MissingPageImagesError
from paperpred.inputs.paper import PaperFormatter
from paperpred.inputs.registry import register_input_formatter
from paperpred.inputs.render import MISSING_PAGES_NOTE, render_pages

ON_MISSING_IMAGES = ("error", "text_only")
IMAGE_POSITIONS = ("after_abstract", "after_reviews", "before_text")


class VisionFormatter(PaperFormatter):
    """Base of the formatters that show page images.

    Args:
        max_images: at most this many pages, from the first (default 20).
        on_missing_images: ``"error"`` (default) or ``"text_only"`` (see the module docstring).
        **kwargs: see :class:`~paperpred.inputs.paper.PaperFormatter`.
    """

    modality = InputModality.TEXT_WITH_IMAGES
    requires_vl_model = True
    text_parts: tuple[str, ...] = ("title", "keywords", "abstract")

    def __init__(self, *, max_images: int = 20, on_missing_images: str = "error",
                 **kwargs: Any) -> None:
        if not isinstance(max_images, int) or max_images < 1:
            raise ValueError(f"max_images must be a positive integer, got {max_images!r}")
        if on_missing_images not in ON_MISSING_IMAGES:
            raise ValueError(f"on_missing_images must be one of {ON_MISSING_IMAGES}, "
                             f"got {on_missing_images!r}")
        self.max_images = max_images
        self.on_missing_images = on_missing_images
        super().__init__(**kwargs)

    def select_pages(self, n_pages: int) -> list[int]:
        """0-based indices of the pages shown, in order."""
        return list(range(min(n_pages, self.max_images)))

    def base_layout(self) -> list[str]:
        """The parts shown when page images exist."""
        return [*self.text_parts, "pages"]

    def layout(self, submission: Submission) -> list[str]:
        parts = self.base_layout()
        if not self._check_pages(submission):
            missing = [p for p in ("title", "abstract") if p not in parts]
            parts = missing + parts if parts[0] == "pages" else parts[:1] + missing + parts[1:]
        return parts

    def render_part(self, part: str, submission: Submission, full_text: str | None) -> str | None:
        if part != "pages":
            return super().render_part(part, submission, full_text)
        pages = submission.page_images
        if not pages:
            return MISSING_PAGES_NOTE
        return render_pages([i + 1 for i in self.select_pages(len(pages))], len(pages))

    def get_images(self, submission: Submission) -> list[Any]:
        """The shown pages (paths or images as given; masked PIL images when scrubbing)."""
        sub = self.prepare(submission)
        if not self._check_pages(sub):
            return []
        pages = sub.page_images
        images = [pages[i] for i in self.select_pages(len(pages))]
        return mask_header_band(images) if self.scrub_leakage else images

    def _check_pages(self, submission: Submission) -> bool:
        """True if there are page images; else raise or allow the text-only fallback."""
        if submission.page_images:
            return True
        if self.on_missing_images == "text_only":
            return False
        title = submission.title.strip()
        raise MissingPageImagesError(
            "missing page images",
            f"submission {submission.submission_id} ({title[:60]!r}) has no page images; "
            f"the '{self.name}' formatter shows page images",
            source=str(submission.image_dir) if submission.image_dir else None,
            field="page_images",
            fix="render its PDF into <image_base_dir>/<submission_id>/ (one image per page) and "
            "load with image_base_dir set, or pass on_missing_images='text_only' for a text "
            "prompt with a note, or use a text formatter such as 'abstract_with_reviews'",
        )


@register_input_formatter("text_with_images", default_for=InputModality.TEXT_WITH_IMAGES)
class TextWithImagesFormatter(VisionFormatter):
    """Title, keywords, abstract, reviews and page images.

    The default formatter of ``InputModality.TEXT_WITH_IMAGES``.

    Args:
        include_reviews: show the reviews (default True).
        max_images: at most this many pages, from the first (default 20).
        image_position: where the pages go: ``"after_abstract"`` (default),
            ``"after_reviews"`` or ``"before_text"`` (before the title).
    """

    def __init__(self, *, include_reviews: bool = True, max_images: int = 20,
                 image_position: str = "after_abstract", **kwargs: Any) -> None:
        if image_position not in IMAGE_POSITIONS:
            raise ValueError(f"image_position must be one of {IMAGE_POSITIONS}, "
                             f"got {image_position!r}")
        self.include_reviews = include_reviews
        self.image_position = image_position
        super().__init__(max_images=max_images, **kwargs)

    def base_layout(self) -> list[str]:
        text = ["title", "keywords", "abstract"]
        reviews = ["reviews"] if self.include_reviews else []
        if self.image_position == "before_text":
            return ["pages", *text, *reviews]
        if self.image_position == "after_reviews":
            return [*text, *reviews, "pages"]
        return [*text, "pages", *reviews]


@register_input_formatter("abstract_with_page_images")
class AbstractWithPageImagesFormatter(VisionFormatter):
    """Title, keywords, abstract and page images (no reviews); ``max_images`` default 15."""

    def __init__(self, *, max_images: int = 15, **kwargs: Any) -> None:
        super().__init__(max_images=max_images, **kwargs)


@register_input_formatter("reviews_with_page_images")
class ReviewsWithPageImagesFormatter(VisionFormatter):
    """Title, reviews and page images (the abstract is on the first page);
    ``max_images`` default 20."""

    text_parts = ("title", "reviews")


@register_input_formatter("key_pages")
class KeyPagesFormatter(VisionFormatter):
    """Title, keywords, abstract and the key pages: the first ``first_pages`` and the last
    ``last_pages`` (each page once, in page order).

    Args:
        first_pages: pages from the start (default 3).
        last_pages: pages from the end (default 2).
        include_reviews: also show the reviews (default False).
    """

    def __init__(self, *, first_pages: int = 3, last_pages: int = 2,
                 include_reviews: bool = False, **kwargs: Any) -> None:
        if first_pages < 0 or last_pages < 0 or first_pages + last_pages == 0:
            raise ValueError("first_pages and last_pages must be >= 0, and not both 0; "
                             f"got {first_pages} and {last_pages}")
        self.first_pages = first_pages
        self.last_pages = last_pages
        self.include_reviews = include_reviews
        kwargs.setdefault("max_images", first_pages + last_pages)
        super().__init__(**kwargs)

    @property
    def text_parts(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("title", "keywords", "abstract") + (("reviews",) if self.include_reviews else ())

    def select_pages(self, n_pages: int) -> list[int]:
        first = range(min(self.first_pages, n_pages))
        last = range(max(n_pages - self.last_pages, 0), n_pages)
        return sorted(set(first) | set(last))


@register_input_formatter("images_only", default_for=InputModality.IMAGES_ONLY)
class ImagesOnlyFormatter(VisionFormatter):
    """Page images only: the model reads everything from the pages; ``max_images`` default 20.

    The default formatter of ``InputModality.IMAGES_ONLY``.
    """

    modality = InputModality.IMAGES_ONLY
    text_parts = ()


@register_input_formatter("images_with_title")
class ImagesWithTitleFormatter(VisionFormatter):
    """The title and page images; ``max_images`` default 20."""

    modality = InputModality.IMAGES_ONLY
    text_parts = ("title",)
