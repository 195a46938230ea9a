"""The layout of the spec authors' published dataset, ``skonan/iclr-reviews-2020-2026``.

One split per year; every column a string except ``year``. A row of that layout is turned into
the canonical fields the rest of the loader reads (see :func:`adapt_row`):

=======================  =====================================================================
column                   becomes
=======================  =====================================================================
no_github_abstract       the abstract (``original_abstract`` when empty: a code link in the
                         abstract de-anonymises, so the cleaned one comes first)
submission_json          the decision (``"Accept (Poster)"``) and the keywords
technical_indicators     the decision when ``submission_json`` has none (``specific_decision``,
                         else ``binary_decision``), the citation count, the review ratings
normalized_reviews       the reviews' text (items are objects or JSON strings; null when one
                         review failed to normalise), with each review's rating and confidence
                         from ``original_reviews`` (same order), else ``technical_indicators``
original_reviews         the reviews when ``normalized_reviews`` is null (that year's form:
                         ``rating``, or ``recommendation`` in 2022-23, as ``"6: ..."``)
original_metareview,     the meta-review (it states the decision: never a model input)
normalized_metareview
clean_md_path            the paper's markdown, located by the loader and read lazily
                         (``Submission.markdown_path``)
clean_pdf_img_paths      the redacted page images (JSON list of paths), located by the loader
=======================  =====================================================================

Paths are the authors' absolute paths; the loader re-roots them under ``data_dir`` and
``image_base_dir`` (:mod:`paperpred.data.paths`). A rating of 0 means "not given" in this
layout (its build script writes 0 for a review without one), and so does a citation count of 0
(written for papers it could not match): neither becomes a label.
"""

from __future__ import annotations

import json
from typing import Any

from paperpred.data.reviews import parse_score
from paperpred.errors import DataError

#: Columns whose presence marks a row of this layout.
MARKERS = ("technical_indicators", "submission_json", "normalized_reviews", "original_reviews")
#: Raw citation count of this layout, as a citation source (Google Scholar).
CITATION_SOURCE = "gs_citations_published"
#: Bulky provenance columns that are not kept in ``Submission.metadata`` (read them from the
#: dataset itself): MinerU's page layout JSON runs to hundreds of kilobytes per paper.
DROPPED = ("content_list_json",)
#: Columns :func:`adapt_row` consumes (not copied into metadata as they are). The path
#: columns stay: the loader locates the files they name, and metadata keeps the paths.
CONSUMED = ("normalized_reviews", "original_reviews", "original_metareview",
            "normalized_metareview", *DROPPED)


def is_published_row(row: dict[str, Any]) -> bool:
    return any(marker in row for marker in MARKERS)


def decode(value: Any, field: str, depth: int = 3) -> Any:
    """A JSON cell, decoded as often as it was encoded (items of ``normalized_reviews`` are
    JSON strings inside a JSON list; ``normalized_metareview`` is a JSON string of one)."""
    for _ in range(depth):
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        if text[0] not in "[{\"":
            return value
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(
                "malformed JSON", f"cannot parse JSON ({exc.msg} at char {exc.pos}): "
                f"{text[:60]!r}", field=field,
                fix="write the cell as JSON, as the published dataset does") from None
    return value


def _object(value: Any, field: str) -> dict[str, Any]:
    found = decode(value, field)
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise DataError("malformed JSON", f"{field} must be a JSON object, got "
                        f"{type(found).__name__}", field=field,
                        fix="write the cell as a JSON object")
    return found


def _list(value: Any, field: str) -> list[Any] | None:
    found = decode(value, field)
    if found is None:
        return None
    if not isinstance(found, list):
        raise DataError("malformed JSON", f"{field} must be a JSON list, got "
                        f"{type(found).__name__}", field=field,
                        fix="write the cell as a JSON list")
    return found


def _score(value: Any) -> Any:
    """A rating as the layout gives it; 0 (its "not given") becomes None."""
    number = parse_score(value)
    return None if number is None or number == 0 else value


def _reviews(row: dict[str, Any], indicators: dict[str, Any]) -> list[dict[str, Any]]:
    original = [decode(r, "original_reviews") for r in _list(row.get("original_reviews"),
                                                             "original_reviews") or []]
    normalized = [decode(r, "normalized_reviews") for r in _list(row.get("normalized_reviews"),
                                                                 "normalized_reviews") or []]
    given = indicators.get("ratings")
    ratings = given if isinstance(given, list) else []
    if not normalized:
        reviews = [dict(r) if isinstance(r, dict) else r for r in original]
    else:
        reviews = []
        for index, item in enumerate(normalized):
            review = dict(item) if isinstance(item, dict) else {"text": item}
            source = original[index] if index < len(original) and isinstance(
                original[index], dict) else {}
            for key in ("rating", "confidence"):
                if review.get(key) is None:
                    value = source.get(key)
                    if key == "rating" and value is None:
                        value = source.get("recommendation")
                    if value is not None:
                        review[key] = value
            reviews.append(review)
    for index, review in enumerate(reviews):
        if not isinstance(review, dict):
            continue
        key = "rating" if "rating" in review else "recommendation"
        value = _score(review.get(key))
        if value is None and index < len(ratings):
            value = _score(ratings[index])
        if value is None:
            review.pop("rating", None)
            review.pop("recommendation", None)
        else:
            review[key] = value
    return reviews


def _meta_review(row: dict[str, Any]) -> str | None:
    """The meta-review's text (every string of the original, else of the normalised one)."""
    for column in ("original_metareview", "normalized_metareview"):
        found = decode(row.get(column), column)
        if isinstance(found, dict):
            texts = [str(v).strip() for k, v in found.items()
                     if k != "title" and isinstance(v, str) and v.strip()]
            if texts:
                return "\n\n".join(texts)
        elif isinstance(found, str) and found.strip():
            return found.strip()
    return None


def from_metadata(row: dict[str, Any]) -> dict[str, Any]:
    """Fill ``year``, ``decision`` and ``submission_id`` from a ``metadata`` object when the
    row has no such column (the vision datasets with embedded page images keep them there)."""
    missing = [k for k in ("year", "decision", "submission_id") if row.get(k) in (None, "")]
    if not missing or "metadata" not in row:
        return row
    try:
        meta = decode(row["metadata"], "metadata")
    except DataError:
        return row  # the metadata column's own error is reported when it is parsed
    if not isinstance(meta, dict):
        return row
    found = {k: meta[k] for k in missing if meta.get(k) not in (None, "")}
    return {**row, **found} if found else row


def adapt_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the published layout with the canonical keys added (see the module table).

    Raises:
        DataError: a JSON cell that cannot be read (naming the column).
    """
    out = {k: v for k, v in row.items() if k not in CONSUMED}
    indicators = _object(row.get("technical_indicators"), "technical_indicators")
    submission = _object(row.get("submission_json"), "submission_json")
    if out.get("decision") in (None, ""):
        out["decision"] = (submission.get("decision") or indicators.get("specific_decision")
                           or indicators.get("binary_decision"))
    if "keywords" not in out and isinstance(submission.get("keywords"), list):
        out["keywords"] = submission["keywords"]
    out["reviews"] = _reviews(row, indicators)
    out["meta_review"] = _meta_review(row)
    count = indicators.get("citations")
    if isinstance(count, (int, float)) and not isinstance(count, bool) and count > 0:
        out[CITATION_SOURCE] = count
    return out
