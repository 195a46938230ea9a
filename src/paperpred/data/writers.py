"""Write submissions as the spec's CSV, JSON lines or parquet (``paperpred data convert``).

CSV and parquet use the spec's column names (``submission_id``, ``year``, ``title``,
``original_abstract``, ``decision``, ``clean_md``, ``standardized_reviews``,
``citation_percentile``) plus ``meta_review``, ``keywords``, ``labels`` and ``metadata``;
nested values are JSON text, so every field survives a round trip through the loader.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from paperpred.data.submission import Submission
from paperpred.errors import PaperpredError

CSV_COLUMNS = (
    "submission_id",
    "year",
    "title",
    "original_abstract",
    "decision",
    "clean_md",
    "standardized_reviews",
    "citation_percentile",
    "meta_review",
    "keywords",
    "labels",
    "metadata",
)
FORMATS = ("csv", "jsonl", "parquet")


def format_of(path: str | Path) -> str:
    name = str(path).lower().removesuffix(".gz")
    for fmt in FORMATS:
        if name.endswith("." + fmt):
            return fmt
    raise PaperpredError(f"{path}: cannot tell the format; use a .csv, .jsonl or .parquet name")


def to_row(sub: Submission) -> dict[str, Any]:
    """One flat row in the CSV schema (nested values as JSON text)."""
    dump = lambda value: json.dumps(value, ensure_ascii=False)  # noqa: E731
    return {
        "submission_id": sub.submission_id,
        "year": sub.year,
        "title": sub.title,
        "original_abstract": sub.abstract,
        "decision": sub.decision or "",
        "clean_md": sub.full_text() or "",
        "standardized_reviews": dump([r.to_dict() for r in sub.reviews]),
        "citation_percentile": sub.labels.get("citation_percentile", ""),
        "meta_review": sub.meta_review or "",
        "keywords": dump(sub.keywords),
        "labels": dump(sub.labels),
        "metadata": dump(sub.metadata),
    }


def _write_csv(rows: Iterable[dict[str, Any]], handle) -> int:
    writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        n += 1
    return n


def _number_or_none(value: Any) -> float | None:
    return None if value == "" else value


def _write_parquet(rows: Iterable[dict[str, Any]], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(
        [{**row, "citation_percentile": _number_or_none(row["citation_percentile"])}
         for row in rows],
        schema=pa.schema(
            [(c, pa.int64() if c == "year" else pa.float64() if c == "citation_percentile"
              else pa.string()) for c in CSV_COLUMNS]
        ),
    )
    pq.write_table(table, path)
    return table.num_rows


def write_submissions(submissions: Iterable[Submission], path: str | Path) -> int:
    """Write ``submissions`` to ``path`` (format from its name; ``.gz`` compresses CSV and
    JSON lines). Written to a temporary file and renamed, so a failure leaves no half file.

    Returns:
        The number of submissions written.
    """
    path = Path(path)
    fmt = format_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    opener = (lambda p: gzip.open(p, "wt", encoding="utf-8", newline="")) if path.suffix == ".gz" \
        else (lambda p: open(p, "w", encoding="utf-8", newline=""))
    try:
        if fmt == "parquet":
            n = _write_parquet((to_row(s) for s in submissions), tmp)
        else:
            with opener(tmp) as handle:
                if fmt == "csv":
                    n = _write_csv((to_row(s) for s in submissions), handle)
                else:
                    n = 0
                    for sub in submissions:
                        row = {**sub.to_dict(), "markdown": sub.full_text()}
                        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                        n += 1
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return n
