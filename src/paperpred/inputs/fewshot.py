"""Few-shot examples: turn the spec's example dicts (or Submissions) into labelled Submissions."""

from __future__ import annotations

from typing import Any

from paperpred.data.reviews import normalize_review
from paperpred.data.submission import Submission

ANSWER_PREFIX = "Answer: "
_LABEL_KEYS = ("label", "answer", "decision")
_TEXT_KEYS = ("markdown", "full_text", "clean_md")


def format_answer(label: str) -> str:
    """``"Accept"`` -> ``"Answer: Accept"`` (a label already in that form is kept)."""
    label = str(label).strip()
    return label if label.lower().startswith("answer:") else ANSWER_PREFIX + label


def submission_label(submission: Submission, label: str) -> str | None:
    """The label of a Submission example: ``"binary"``, ``"multiclass"`` or a key of
    ``submission.labels`` (``"mean_rating"``, ``"citation_percentile"``, ...)."""
    if label == "binary":
        return submission.get_binary_label()
    if label == "multiclass":
        return submission.get_multiclass_label()
    value = submission.labels.get(label)
    if isinstance(value, float):
        return f"{round(value, 2):g}"
    return None if value is None else str(value)


def to_example(item: Any, index: int, label: str = "binary") -> tuple[Submission, str]:
    """One few-shot example as ``(submission, answer line)``.

    Args:
        item: a dict with ``title``, ``abstract`` and a label under ``label``, ``answer`` or
            ``decision`` (optionally ``reviews``, ``keywords``, ``markdown``, ``page_images``);
            a :class:`Submission` (its label chosen by ``label``); or a ``(Submission, label)``
            pair.
        index: position in the example list (1-based), for messages.
        label: which label a Submission example shows.

    Raises:
        ValueError: the example has no title or no label.
    """
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Submission):
        return item[0], format_answer(item[1])
    if isinstance(item, Submission):
        answer = submission_label(item, label)
        if answer is None:
            raise ValueError(
                f"few-shot example {index} ({item.submission_id}) has no '{label}' label; "
                "pass labelled submissions or (submission, label) pairs"
            )
        return item, format_answer(answer)
    if not isinstance(item, dict):
        raise ValueError(
            f"few-shot example {index} is a {type(item).__name__}; "
            "give dicts like {'title', 'abstract', 'decision'} or Submissions"
        )
    answer = next((item[k] for k in _LABEL_KEYS if item.get(k) not in (None, "")), None)
    if not item.get("title") or answer is None:
        raise ValueError(
            f"few-shot example {index} needs a 'title' and a label "
            f"('decision', 'label' or 'answer'); it has keys {sorted(item)}"
        )
    keywords = item.get("keywords") or []
    if isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.replace(";", ",").split(",") if k.strip()]
    submission = Submission(
        submission_id=str(item.get("submission_id") or item.get("id") or f"example-{index}"),
        year=int(item.get("year") or 0),
        title=str(item["title"]),
        abstract=str(item.get("abstract") or ""),
        reviews=[normalize_review(r) for r in item.get("reviews") or []],
        markdown=next((item[k] for k in _TEXT_KEYS if item.get(k)), None),
        keywords=list(keywords),
    )
    if item.get("page_images"):
        submission.page_images = list(item["page_images"])
    return submission, format_answer(answer)
