"""Turn one raw row (CSV, JSON lines, parquet, Hugging Face) into a validated Submission.

Field aliases cover the spec's CSV schema, the JSON-lines dumps of ../shared/data and the common
ICLR dumps on the Hugging Face Hub. Every problem raises a :class:`DataError` naming the field,
with a short ``reason`` the load report counts by.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from paperpred.data import published
from paperpred.data.labels import mean_rating
from paperpred.data.reviews import normalize_review, parse_score, reviews_from_scores
from paperpred.data.submission import Submission
from paperpred.data.venue_decisions import Decision, normalize_decision
from paperpred.errors import DataError

ALIASES: dict[str, tuple[str, ...]] = {
    "submission_id": ("submission_id", "id", "forum", "paper_id"),
    "year": ("year",),
    "title": ("title",),
    # The published dataset's cleaned abstract first: a code link in an abstract de-anonymises.
    "abstract": ("no_github_abstract", "original_abstract", "abstract", "_original_abstract"),
    "decision": ("status_raw", "decision", "final_decision", "label"),
    "markdown": ("clean_md", "markdown"),
    # Paths of files the row names (opened by the loader inside its data roots only).
    "markdown_path": ("clean_md_path", "markdown_path"),
    "page_image_paths": ("clean_pdf_img_paths", "page_image_paths"),
    "reviews": ("standardized_reviews", "reviews", "reviews_json"),
    "meta_review": ("meta_review", "metareview"),
    "keywords": ("keywords",),
    "labels": ("labels",),
    "metadata": ("metadata",),
}
# Columns the spec's CSV schema requires (by any alias). JSON lines and datasets need only
# year and title: metadata-only dumps have no abstract, and 2025 rows have no id.
CSV_REQUIRED = ("submission_id", "year", "title", "abstract")
ROW_REQUIRED = ("year", "title")
# The spec's CSV column for a field, where it is not the field's own name.
SPEC_COLUMNS = {"abstract": "original_abstract"}
# Numeric label columns taken as given.
LABEL_COLUMNS = ("citation_percentile", "mean_rating", "rating_percentile")
# Fields that only restate the reviews (kept out of metadata to avoid two truths).
_DERIVED = ("ratings", "confidences")
#: ICLR's years: the first conference was 2013; later years are allowed for future data.
YEARS = range(2013, 2101)
#: Longer "titles" are a cell shifted into the wrong column, or a scrape gone wrong.
MAX_TITLE_CHARS = 1000
# What undecodable bytes become when a file is read with errors="surrogateescape".
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def adapt_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the published dataset's layout with canonical keys added (see
    :mod:`paperpred.data.published`); any other row unchanged."""
    row = published.from_metadata(row)
    return published.adapt_row(row) if published.is_published_row(row) else row


def resolve_columns(columns: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Canonical field -> the first alias present among ``columns``."""
    present = set(columns)
    return {
        name: next(a for a in aliases if a in present)
        for name, aliases in ALIASES.items()
        if any(a in present for a in aliases)
    }


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _json_cell(value: Any, field: str) -> Any:
    """Parse a JSON cell (CSV/parquet store nested fields as JSON text)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            "malformed JSON",
            f"cannot parse JSON ({exc.msg} at char {exc.pos}): {text[:60]!r}",
            field=field,
            fix="write the cell as a JSON list of review objects",
        ) from None


def parse_year(value: Any, field: str = "year") -> int:
    try:
        if isinstance(value, (bool, list, dict)):
            raise ValueError
        number = float(str(value).strip())
        if not number.is_integer():
            raise ValueError
        year = int(number)
    except (TypeError, ValueError, OverflowError):
        raise DataError(
            "non-numeric year",
            f"year must be a whole number, got {str(value)[:60]!r}",
            field=field,
            fix="write the conference year, e.g. 2024",
        ) from None
    if year not in YEARS:
        raise DataError("year out of range", f"year {year} is not an ICLR year "
                        f"({YEARS.start}-{YEARS.stop - 1})", field=field,
                        fix="write the conference year, e.g. 2024")
    return year


def check_decodable(row: dict[str, Any]) -> None:
    """Refuse a row with bytes that were not UTF-8 (read as lone surrogates), naming the field.

    Raises:
        DataError: reason ``invalid UTF-8``.
    """
    for key, value in row.items():
        if _has_undecodable(value):
            raise DataError("invalid UTF-8", "the value holds bytes that are not UTF-8",
                            field=str(key),
                            fix="re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)")


def _has_undecodable(value: Any) -> bool:
    if isinstance(value, str):
        return _UNDECODABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_undecodable(k) or _has_undecodable(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_undecodable(v) for v in value)
    return False


def _wrong_type(field: str | None, value: Any, expected: str) -> DataError:
    return DataError("wrong type", f"{field} must be {expected}, got "
                     f"{type(value).__name__} {str(value)[:40]!r}", field=field,
                     fix=f"write {field} as {expected}")


def _text(row: dict[str, Any], column: str | None) -> str | None:
    """A text field: a string (numbers are taken as text), None when blank."""
    value = row.get(column) if column else None
    if _is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _wrong_type(column, value, "text")
    return str(value)


def _mapping(value: Any, field: str) -> dict[str, Any]:
    """A JSON object cell (labels, metadata); {} when blank."""
    value = _json_cell(value, field)
    if _is_blank(value):
        return {}
    if not isinstance(value, dict):
        raise _wrong_type(field, value, "a JSON object")
    return value


def _number(value: Any, field: str) -> float:
    """A finite number (label columns and label values)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise DataError("bad label", f"{field} must be a number, got {str(value)[:40]!r}",
                        field=field, fix=f"write {field} as a number, or leave it empty") \
            from None
    if not math.isfinite(number):
        raise DataError("bad label", f"{field} must be finite, got {value!r}", field=field,
                        fix=f"write {field} as a finite number, or leave it empty")
    return number


def derive_id(year: int, title: str) -> str:
    """A stable id for rows without one (the 2025 metadata has none): year + title hash."""
    digest = hashlib.sha1(f"{year}\n{' '.join(title.lower().split())}".encode()).hexdigest()
    return f"iclr{year}-{digest[:12]}"


def raw_group(row: dict[str, Any] | None) -> tuple[int | None, str]:
    """(year, normalised decision) of a raw row, as far as they can be read (for reports on
    rows that were rejected)."""
    if not row:
        return None, Decision.UNKNOWN.value
    columns = resolve_columns(list(row))
    try:
        year = parse_year(row.get(columns["year"])) if "year" in columns else None
    except DataError:
        year = None
    decision = normalize_decision(row.get(columns["decision"])) if "decision" in columns else None
    return year, (decision or Decision.UNKNOWN).value


def is_derived_id(sub: Submission) -> bool:
    return sub.submission_id == derive_id(sub.year, sub.title)


def _keywords(value: Any) -> list[str]:
    value = _json_cell(value, "keywords") if isinstance(value, str) and value[:1] == "[" else value
    if _is_blank(value):
        return []
    if isinstance(value, (list, tuple)):
        return [str(k).strip() for k in value if str(k).strip()]
    sep = ";" if ";" in str(value) else ","
    return [k.strip() for k in str(value).split(sep) if k.strip()]


def _reviews(row: dict[str, Any], column: str | None, year: int) -> list:
    raw = _json_cell(row.get(column), column) if column else None
    if _is_blank(raw) or raw == []:
        try:
            return reviews_from_scores(_scores(row, "ratings"), _scores(row, "confidences"),
                                       year)
        except ValueError as exc:
            raise DataError("bad review", str(exc), field="ratings",
                            fix="give ratings on the 1-10 scale") from None
    if isinstance(raw, dict):  # {"reviews": [...]} or a single review
        raw = raw.get("reviews", [raw])
    if not isinstance(raw, list):
        raise _wrong_type(column, raw, "a JSON list of review objects")
    reviews = []
    for i, item in enumerate(raw):
        try:
            reviews.append(normalize_review(item, year))
        except ValueError as exc:
            raise DataError("bad review", f"review {i + 1}: {exc}", field=column,
                            fix="give each review as an object with a 1-10 rating") from None
    return _repair_truncated_tens(reviews, row.get("ratings"))


def _scores(row: dict[str, Any], column: str) -> list[Any] | None:
    """A list of ratings or confidences (metadata-only dumps); None when absent."""
    value = row.get(column)
    if _is_blank(value):
        return None
    if isinstance(value, str):
        value = _json_cell(value, column)
    if not isinstance(value, (list, tuple)):
        raise _wrong_type(column, value, "a list of numbers")
    return list(value)


def _repair_truncated_tens(reviews: list, ratings: Any) -> list:
    """The 2017 export cut "10: Top 5% of accepted papers" to "1" in some review objects
    (H1oyRlYgg: reviews [8, 1, 6], its ratings list [6, 8, 10]). When the row's own ratings
    list has the same length and reading each 1 as 10 makes the two agree, do so and mark it."""
    if not isinstance(ratings, list) or len(ratings) != len(reviews):
        return reviews
    parsed = [parse_score(r) for r in ratings]
    given = sorted(x for x in parsed if x is not None)
    found = [r.rating for r in reviews]
    if len(given) < len(parsed) or sorted(found, key=lambda x: x or 0) == given or 1.0 not in found:
        return reviews
    if sorted(10.0 if x == 1.0 else x for x in found) == given:
        for review in reviews:
            if review.rating == 1.0:
                review.rating = 10.0
                review.extra["rating_repaired_from"] = 1
    return reviews


def build_submission(row: dict[str, Any], required=ROW_REQUIRED) -> Submission:
    """Validate ``row`` (after :func:`adapt_row`) and build its Submission (labels without
    percentiles). Files the row names (``clean_md_path``, ``clean_pdf_img_paths``) are not
    opened here: the loader locates them inside its data roots.

    Raises:
        DataError: with ``field`` set, and ``reason`` one of: missing required field,
            non-numeric year, year out of range, empty title, title too long, wrong type,
            malformed JSON, bad review, bad label.
    """
    columns = resolve_columns(list(row))
    for name in required:
        # A blank id is derived, a blank abstract allowed (and reported by inspect), a blank
        # title is its own error below: only the year must have a value here.
        if name not in columns or (name == "year" and _is_blank(row.get(columns[name]))):
            column = SPEC_COLUMNS.get(name, name)
            raise DataError(
                "missing required field",
                f"'{column}' is missing",
                field=column,
                fix=f"add a '{column}' value (aliases: {', '.join(ALIASES[name])})",
            )
    year = parse_year(row.get(columns["year"]), columns["year"])
    title = (_text(row, columns["title"]) or "").strip()
    if not title:
        raise DataError("empty title", "title is empty", field=columns["title"],
                        fix="fill in the paper's title")
    if len(title) > MAX_TITLE_CHARS:
        raise DataError("title too long", f"title has {len(title):,} characters "
                        f"(more than {MAX_TITLE_CHARS:,})", field=columns["title"],
                        fix="check that the columns are not shifted; give the title alone")
    raw_id = _text(row, columns.get("submission_id"))
    get = lambda name: _text(row, columns.get(name))  # noqa: E731
    reviews = _reviews(row, columns.get("reviews"), year)
    labels = _mapping(row.get(columns["labels"]) if "labels" in columns else None, "labels")
    for name, value in list(labels.items()):
        if name in LABEL_COLUMNS and not _is_blank(value):
            labels[name] = _number(value, f"labels.{name}")
    for column in LABEL_COLUMNS:
        if not _is_blank(row.get(column)):
            labels[column] = _number(row[column], column)
    if "mean_rating" not in labels:
        mean = mean_rating(r.rating for r in reviews)
        if mean is not None:
            labels["mean_rating"] = mean
    metadata = _mapping(row.get(columns["metadata"]) if "metadata" in columns else None,
                        "metadata")
    consumed = (set(columns.values()) | set(LABEL_COLUMNS) | set(_DERIVED)
                | set(published.CONSUMED)) - {columns.get("markdown_path"),
                                              columns.get("page_image_paths")}
    for key, value in row.items():  # every other field is kept whole (nothing is lost)
        if key not in consumed and not key.startswith("__") and not _is_blank(value):
            metadata.setdefault(key, value)
    return Submission(
        submission_id=raw_id.strip() if raw_id and raw_id.strip() else derive_id(year, title),
        year=year,
        title=title,
        abstract=get("abstract") or "",
        decision=get("decision"),
        reviews=reviews,
        meta_review=get("meta_review"),
        markdown=get("markdown"),
        keywords=_keywords(row.get(columns["keywords"]) if "keywords" in columns else None),
        labels=labels,
        metadata=metadata,
    )
