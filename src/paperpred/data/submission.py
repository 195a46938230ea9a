"""The Submission: one ICLR paper with its reviews, decision and labels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperpred.data.reviews import Review
from paperpred.data.venue_decisions import Decision, normalize_decision

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_DIGITS = re.compile(r"(\d+)")


@dataclass
class Submission:
    """One submission.

    Attributes:
        submission_id: OpenReview forum id (or a stable id derived from year and title).
        year: conference year.
        title, abstract: as submitted.
        decision: the venue's raw status string (``"Top-25%"``, ``"ICLR 2025 Poster"``, ...);
            :attr:`normalized_decision` gives the normalised :class:`Decision`.
        reviews: normalised reviews.
        meta_review: the area chair's comment. It states the decision: never a model input.
        markdown: full text as markdown (``clean_md``), if any.
        markdown_path: a markdown file holding the full text, read when a formatter shows it
            (:meth:`full_text`); set by the loader only for a file inside its data roots.
        keywords: author keywords.
        labels: prediction targets: ``mean_rating``, ``rating_percentile``,
            ``citation_percentile`` (and the source it came from), when known.
        metadata: every other field of the source row (raw citation counts, ...), kept whole.
        image_dir: folder of this paper's page images (``image_base_dir/<submission_id>``).
    """

    submission_id: str
    year: int
    title: str
    abstract: str = ""
    decision: str | None = None
    reviews: list[Review] = field(default_factory=list)
    meta_review: str | None = None
    markdown: str | None = None
    markdown_path: Path | None = None
    keywords: list[str] = field(default_factory=list)
    labels: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    image_dir: Path | None = None
    _page_images: list[Any] | None = field(default=None, repr=False, compare=False)

    # ----- labels -------------------------------------------------------------------------
    @property
    def normalized_decision(self) -> Decision:
        return normalize_decision(self.decision)

    @property
    def has_label(self) -> bool:
        """False for withdrawn, desk-rejected and unknown decisions."""
        return self.normalized_decision.has_label

    def get_binary_label(self) -> str | None:
        """``"Accept"`` or ``"Reject"`` (workshop invitations are rejects), else None."""
        return self.normalized_decision.binary_label

    def get_multiclass_label(self) -> str | None:
        """``"Reject"``, ``"Accept (Poster)"``, ``"Accept (Spotlight)"``, ``"Accept (Oral)"``."""
        return self.normalized_decision.multiclass_label

    @property
    def ratings(self) -> list[float]:
        return [r.rating for r in self.reviews if r.rating is not None]

    @property
    def has_full_text(self) -> bool:
        """True when the paper's text is here or in a file (nothing is read)."""
        return bool(self.markdown) or self.markdown_path is not None

    def full_text(self) -> str | None:
        """The paper's markdown: :attr:`markdown`, else the file at :attr:`markdown_path`
        (read on each call and not kept, so 40k loaded papers do not hold their texts)."""
        if self.markdown is not None or self.markdown_path is None:
            return self.markdown
        return Path(self.markdown_path).read_text(encoding="utf-8", errors="replace")

    # ----- page images --------------------------------------------------------------------
    @property
    def page_images(self) -> list[Any]:
        """Page images in page order: file paths found lazily in :attr:`image_dir`, or images
        given directly (for example from a Hugging Face dataset)."""
        if self._page_images is None:
            self._page_images = find_page_images(self.image_dir) if self.image_dir else []
        return self._page_images

    @page_images.setter
    def page_images(self, images: list[Any]) -> None:
        self._page_images = list(images)

    # ----- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the canonical JSONL form); page images are not included."""
        return {
            "submission_id": self.submission_id,
            "year": self.year,
            "title": self.title,
            "abstract": self.abstract,
            "decision": self.decision,
            "reviews": [r.to_dict() for r in self.reviews],
            "meta_review": self.meta_review,
            "markdown": self.markdown,
            "keywords": list(self.keywords),
            "labels": dict(self.labels),
            "metadata": dict(self.metadata),
        }


def page_number(path: Path) -> tuple[int, str]:
    """Sort key: the last number in the file name (``page_10.png`` after ``page_9.png``)."""
    numbers = _DIGITS.findall(path.stem)
    return (int(numbers[-1]) if numbers else -1, path.name)


def find_page_images(folder: Path) -> list[Path]:
    """The image files of ``folder`` ordered by page number; [] if the folder does not exist."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return sorted(files, key=page_number)
