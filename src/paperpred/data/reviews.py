"""Reviews in one universal form across ICLR's review-form generations.

Universal form: summary, strengths, weaknesses, questions, text, rating (1-10), confidence.
Sources seen: the 2017 export (``review_title``, ``text``, ``rating``/``confidence`` as strings),
the spec's ``standardized_reviews`` objects, OpenReview API v1/v2 notes (``content`` with
``{"value": ...}`` wrappers, ``main_review``, ``summary_of_the_paper``,
``strength_and_weaknesses``, ``rating: "8: accept, good paper"``) and bare rating lists.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

# Rating values each year's form offered (all on the nominal 1-10 scale, so no rescaling is
# needed; values off the year's scale are kept and flagged in ``extra["off_scale"]``).
RATING_SCALES: dict[int, tuple[int, ...]] = {
    2020: (1, 3, 6, 8),
    2022: (1, 3, 5, 6, 8, 10),
    2023: (1, 3, 5, 6, 8, 10),
    2024: (1, 3, 5, 6, 8, 10),
    2025: (1, 3, 5, 6, 8, 10),
}

UNIVERSAL_FIELDS = ("summary", "strengths", "weaknesses", "questions", "text")

_ALIASES: dict[str, str] = {
    "summary": "summary",
    "summary_of_the_paper": "summary",
    "paper_summary": "summary",
    "strengths": "strengths",
    "strength": "strengths",
    "weaknesses": "weaknesses",
    "weakness": "weaknesses",
    "questions": "questions",
    "questions_for_authors": "questions",
    "question": "questions",
    "text": "text",
    "review": "text",
    "main_review": "text",
    "comment": "text",
    "comments": "text",
    "rating": "rating",
    "recommendation": "rating",
    "overall_rating": "rating",
    "final_rating": "rating",
    "score": "rating",
    "confidence": "confidence",
    "review_title": "title",
    "title": "title",
}
# Fields kept as extra sections of ``text`` (they are review content, not a universal slot).
_TEXT_SECTIONS = {
    "strength_and_weaknesses": "Strengths and weaknesses",
    "strengths_and_weaknesses": "Strengths and weaknesses",
    "summary_of_the_review": "Summary of the review",
    "clarity_quality_novelty_and_reproducibility": "Clarity, quality, novelty and reproducibility",
    "clarity_quality_novelty_reproducibility": "Clarity, quality, novelty and reproducibility",
    "limitations": "Limitations",
    # The published dataset's LLM-normalised universal reviews.
    "technical_novelty_contribution": "Technical novelty",
    "empirical_novelty_contribution": "Empirical contribution",
}
_LEADING_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass
class Review:
    """One review in the universal form. ``rating`` is on 1-10, ``confidence`` as given (1-5)."""

    summary: str = ""
    strengths: str = ""
    weaknesses: str = ""
    questions: str = ""
    text: str = ""
    rating: float | None = None
    confidence: float | None = None
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Review:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    @property
    def has_text(self) -> bool:
        return any(getattr(self, name) for name in UNIVERSAL_FIELDS)


def parse_score(value: Any) -> float | None:
    """Read a rating or confidence: ``7``, ``"7"``, ``"8: accept, good paper"``; else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _LEADING_NUMBER.match(str(value))
    return float(match.group(1)) if match else None


def _unwrap(value: Any) -> Any:
    """OpenReview API v2 wraps every field as ``{"value": ...}``."""
    if (isinstance(value, dict) and set(value) <= {"value", "readers", "writers"}
            and "value" in value):
        return value["value"]
    return value


def _as_text(value: Any) -> str:
    """A text field's value as text: lists (the normalised reviews' ``questions``) become one
    line per item."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\n".join(f"- {item}" for item in value if str(item).strip())
    return str(value)


def normalize_review(raw: Any, year: int | None = None) -> Review:
    """Turn one review object of any known shape into a :class:`Review`.

    Raises:
        ValueError: if ``raw`` is not an object (dict) or a bare number.
    """
    if isinstance(raw, Review):
        return raw
    if isinstance(raw, (int, float, str)) and parse_score(raw) is not None:
        return _finish(Review(rating=parse_score(raw)), year)
    if not isinstance(raw, dict):
        raise ValueError(f"a review must be a JSON object, got {type(raw).__name__}")
    inner = raw.get("content")
    content = inner if isinstance(inner, dict) else raw
    review = Review()
    sections: list[str] = []
    for key, value in content.items():
        value = _unwrap(value)
        slot = _ALIASES.get(key.lower())
        if slot in ("rating", "confidence"):
            setattr(review, slot, parse_score(value))
            if isinstance(value, str) and not _PLAIN_NUMBER.fullmatch(value.strip()):
                review.extra[f"{slot}_raw"] = value  # keep "8: accept, good paper" whole
        elif slot is not None:
            text = _as_text(value)
            previous = getattr(review, slot)
            setattr(review, slot,
                    f"{previous}\n\n{text}" if previous and text else previous or text)
        elif key == "extra" and isinstance(value, dict):  # our own serialised form
            review.extra.update(value)
        elif key.lower() in _TEXT_SECTIONS and value:
            sections.append(f"{_TEXT_SECTIONS[key.lower()]}: {_as_text(value)}")
        elif key != "content" and value not in (None, "", [], {}):
            review.extra[key] = value
    if sections:
        review.text = "\n\n".join(([review.text] if review.text else []) + sections)
    return _finish(review, year)


def _finish(review: Review, year: int | None) -> Review:
    if review.rating is not None and not 1 <= review.rating <= 10:
        raise ValueError(f"rating {review.rating:g} is outside the 1-10 scale")
    scale = RATING_SCALES.get(year) if year is not None else None
    if scale and review.rating is not None and review.rating not in scale:
        review.extra["off_scale"] = True
    return review


def reviews_from_scores(
    ratings: list[Any] | None, confidences: list[Any] | None, year: int | None = None
) -> list[Review]:
    """Build text-less reviews from parallel rating and confidence lists (metadata-only dumps)."""
    ratings = list(ratings or [])
    confidences = list(confidences or [])
    reviews = []
    for i, rating in enumerate(ratings):
        confidence = parse_score(confidences[i]) if i < len(confidences) else None
        reviews.append(_finish(Review(rating=parse_score(rating), confidence=confidence), year))
    return reviews
