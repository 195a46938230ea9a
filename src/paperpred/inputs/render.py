"""How each part of a paper is written into a prompt (one function per part).

Every formatter, and every few-shot example, goes through these functions, so a part reads the
same wherever it appears.
"""

from __future__ import annotations

from paperpred.data.reviews import RATING_SCALES, Review
from paperpred.data.submission import Submission

IMAGE_TOKEN = "<image>"
#: A literal ``<image>`` in a paper's own text is written as this, so that the prompt holds
#: exactly one marker per image.
ESCAPED_IMAGE_TOKEN = "&lt;image&gt;"

_FIELDS = (
    ("summary", "Summary"),
    ("strengths", "Strengths"),
    ("weaknesses", "Weaknesses"),
    ("questions", "Questions"),
    ("text", "Review"),
)


def escape_markers(text: str) -> str:
    """Neutralise literal image markers in paper text."""
    return text.replace(IMAGE_TOKEN, ESCAPED_IMAGE_TOKEN) if IMAGE_TOKEN in text else text


def _number(value: float) -> str:
    return f"{value:g}"


def render_title(submission: Submission) -> str:
    return f"Title: {submission.title.strip()}"


def render_keywords(submission: Submission) -> str | None:
    keywords = [k.strip() for k in submission.keywords if k and k.strip()]
    return f"Keywords: {', '.join(keywords)}" if keywords else None


def render_abstract(submission: Submission) -> str:
    abstract = (submission.abstract or "").strip()
    return f"Abstract:\n{abstract}" if abstract else "Abstract: (not available)"


def _clip(text: str, max_chars: int | None) -> str:
    """``text`` cut at a word boundary to at most ``max_chars`` characters, marked "[...]"."""
    if max_chars is None or len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0].rstrip()
    return f"{cut} [...]"


def render_review(review: Review, index: int, total: int, normalized: bool = True,
                  max_chars: int | None = None) -> str:
    """One review.

    ``max_chars`` cuts the review's prose (its fields together) to that many characters; its
    title, rating and confidence are always shown.

    ``normalized=True``: the universal fields that are filled in, each labelled (Summary,
    Strengths, Weaknesses, Questions, Review), then ``Rating: x/10`` and ``Confidence: y/5``.
    ``normalized=False``: the review's text as written (its fields joined, unlabelled) and its
    scores as the form gave them (``Rating: 8: accept, good paper``).
    """
    title = review.title.strip()
    lines = [f"Review {index} of {total}" + (f": {title}" if title else "")]
    filled = [(label, getattr(review, name).strip()) for name, label in _FIELDS]
    filled = [(label, value) for label, value in filled if value]
    if max_chars is not None:
        budget, kept = max_chars, []
        for label, value in filled:
            if budget <= 0:
                break
            kept.append((label, _clip(value, budget)))
            budget -= len(value)
        filled = kept
    if normalized:
        lines += [f"{label}: {value}" for label, value in filled]
        if review.rating is not None:
            lines.append(f"Rating: {_number(review.rating)}/10")
        if review.confidence is not None:
            lines.append(f"Confidence: {_number(review.confidence)}/5")
    else:
        if filled:
            lines.append("\n\n".join(value for _, value in filled))
        for slot in ("rating", "confidence"):
            raw = review.extra.get(f"{slot}_raw", getattr(review, slot))
            if raw is not None:
                value = _number(raw) if isinstance(raw, (int, float)) else str(raw)
                lines.append(f"{slot.capitalize()}: {value}")
    return "\n".join(lines)


def render_reviews(submission: Submission, normalized: bool = True,
                   max_chars: int | None = None) -> str:
    reviews = submission.reviews
    if not reviews:
        return "Reviews: none available."
    blocks = [render_review(r, i, len(reviews), normalized, max_chars)
              for i, r in enumerate(reviews, 1)]
    return f"Reviews ({len(reviews)}):\n\n" + "\n\n".join(blocks)


def rating_scale(year: int) -> str:
    """The ratings a year's review form offered, as the prompt states them."""
    scale = RATING_SCALES.get(year)
    return "{" + ", ".join(str(v) for v in scale) + "}" if scale else "1-10"


def render_review_scores(submission: Submission, include_mean: bool = True) -> str:
    """Each review's rating and confidence, without its text, on the year's stated scale (the
    forms differ: ICLR 2020 offered {1, 3, 6, 8}), and optionally their mean."""
    reviews = [r for r in submission.reviews if r.rating is not None or r.confidence is not None]
    if not reviews:
        return "Review scores: none available."
    header = (f"Review scores ({len(reviews)} reviews; ICLR {submission.year} ratings on "
              f"{rating_scale(submission.year)}, confidence 1-5):")
    lines = [header]
    for index, review in enumerate(reviews, 1):
        rating = "n/a" if review.rating is None else _number(review.rating)
        confidence = "n/a" if review.confidence is None else _number(review.confidence)
        lines.append(f"Review {index}: rating {rating}, confidence {confidence}")
    ratings = [r.rating for r in reviews if r.rating is not None]
    if include_mean and ratings:
        lines.append(f"Mean rating: {sum(ratings) / len(ratings):.2f}")
    return "\n".join(lines)


def render_full_text(text: str | None) -> str:
    body = (text or "").strip()
    return f"Full text:\n{body}" if body else "Full text: (not available for this submission)"


def render_pages(page_numbers: list[int], total: int) -> str:
    """The page-image block: one ``<image>`` marker per page, in order."""
    shown = f"{len(page_numbers)} of {total}" if len(page_numbers) != total else f"all {total}"
    lines = [f"Paper pages ({shown}):"]
    for number in page_numbers:
        lines += [f"Page {number}:", IMAGE_TOKEN]
    return "\n".join(lines)


MISSING_PAGES_NOTE = "Paper pages: (no page images are available for this submission; text only)"
