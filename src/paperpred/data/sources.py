"""Raw row readers: each yields (row number, dict) and knows its own column names.

Row numbers are 1-based: the n-th line of a JSON-lines file, the n-th data row of a CSV
(the header is not counted) or parquet file.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from paperpred.errors import DataError, PaperpredError

Row = tuple[int, dict[str, Any]]


def open_text(path: Path) -> IO[str]:
    """Open a UTF-8 text file, transparently gunzipping ``*.gz``. Bytes that are not UTF-8
    are kept as lone surrogates (``surrogateescape``), so one bad row is refused by name
    (:func:`paperpred.data.records.check_decodable`) instead of ending the whole read."""
    if not path.exists():
        raise PaperpredError(f"{path}: no such file")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8",
                                errors="surrogateescape", newline="")
    return open(path, encoding="utf-8", errors="surrogateescape", newline="")


def jsonl_rows(path: Path) -> Iterator[Row | DataError]:
    """Rows of a JSON-lines file; a line that is not a JSON object yields a DataError."""
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield DataError("malformed JSON", f"line is not JSON ({exc.msg})", row=number,
                                fix="write one JSON object per line")
                continue
            if not isinstance(row, dict):
                yield DataError("malformed JSON", "line is not a JSON object", row=number,
                                fix="write one JSON object per line")
                continue
            yield number, row


def csv_rows(path: Path) -> Iterator[Row]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # full texts exceed the 128 KiB default
    with open_text(path) as handle:
        yield from enumerate(csv.DictReader(handle), start=1)


def parquet_rows(path: Path) -> Iterator[Row]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            yield number, row
