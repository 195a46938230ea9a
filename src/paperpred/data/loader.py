"""ICLRDataLoader: ICLR submissions from the spec's CSV, JSON lines, parquet and HF datasets.

All loaders yield Submissions lazily. Percentile labels need the whole population, so each
source is read twice: a first pass gathers the ratings and citation counts per year (and
source), the second builds and yields the Submissions. ``percentiles=False`` skips the first.

Bad rows: in strict mode (the library's default) the first bad row raises one
:class:`DataError` naming file, row and field; in lenient mode (the CLI's default) bad rows are
skipped and counted by reason in :attr:`ICLRDataLoader.report`, and a warning says how many.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from paperpred.data.labels import PercentileTable, merge_labels
from paperpred.data.records import (
    CSV_REQUIRED,
    ROW_REQUIRED,
    build_submission,
    is_derived_id,
    raw_group,
    resolve_columns,
)
from paperpred.data.report import LoadReport
from paperpred.data.sources import csv_rows, jsonl_rows, parquet_rows
from paperpred.data.submission import Submission
from paperpred.errors import DataError, PaperpredError

log = logging.getLogger(__name__)
RowSource = Callable[[], Iterable[Any]]


class ICLRDataLoader:
    """Load ICLR submissions.

    Args:
        data_dir: base folder for relative file paths.
        image_base_dir: folder holding ``<submission_id>/`` page-image folders.
        strict: raise on the first bad row (True) or skip and count bad rows (False).
        percentiles: compute ``rating_percentile`` and ``citation_percentile`` labels.

    Example:
        >>> loader = ICLRDataLoader(strict=False)
        >>> subs = list(loader.load_from_jsonl("iclr2017.jsonl"))  # doctest: +SKIP
        >>> print(loader.report.summary())  # doctest: +SKIP
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        image_base_dir: str | Path | None = None,
        strict: bool = True,
        percentiles: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir else None
        self.image_base_dir = Path(image_base_dir) if image_base_dir else None
        self.strict = strict
        self.percentiles = percentiles
        self.report = LoadReport()

    # ----- public loaders -----------------------------------------------------------------
    def load_from_csv(self, path: str | Path, load_images: bool = False) -> Iterator[Submission]:
        """Rows of a CSV in the spec's schema (JSON cells parsed)."""
        path = self._resolve(path)
        return self._load(str(path), lambda: csv_rows(path), CSV_REQUIRED, load_images)

    def load_from_jsonl(self, path: str | Path, load_images: bool = False) -> Iterator[Submission]:
        """Rows of a JSON-lines file (``.jsonl`` or ``.jsonl.gz``) in any known dump format."""
        path = self._resolve(path)
        return self._load(str(path), lambda: jsonl_rows(path), ROW_REQUIRED, load_images)

    def load_from_parquet(self, path: str | Path, load_images: bool = False) -> Iterator[Submission]:
        """Rows of a parquet file written by ``paperpred data convert`` or in the CSV schema."""
        path = self._resolve(path)
        return self._load(str(path), lambda: parquet_rows(path), ROW_REQUIRED, load_images)

    def load_from_huggingface(
        self, dataset_name: str, split: str = "all", load_images: bool = False
    ) -> Iterator[Submission]:
        """A Hugging Face dataset by hub name or local path (parquet/arrow files or a folder
        saved with ``save_to_disk``); ``split`` is ``"all"``, a split name or a year."""
        from paperpred.data.hf import open_dataset

        rows, images_of = open_dataset(dataset_name, split, load_images)
        return self._load(dataset_name, rows, ROW_REQUIRED, load_images, images_of=images_of)

    def load(self, path: str | Path, load_images: bool = False,
             split: str = "all") -> Iterator[Submission]:
        """Pick the loader by file name: ``.csv``, ``.jsonl[.gz]``, ``.parquet``, else a
        dataset (hub name or local folder) with ``split``."""
        name = str(path).lower()
        if name.endswith((".csv", ".csv.gz")):
            return self.load_from_csv(path, load_images)
        if name.endswith((".jsonl", ".jsonl.gz", ".json")):
            return self.load_from_jsonl(path, load_images)
        if name.endswith(".parquet"):
            return self.load_from_parquet(path, load_images)
        return self.load_from_huggingface(str(path), split, load_images)

    # ----- machinery ----------------------------------------------------------------------
    def _resolve(self, path: str | Path) -> Path:
        path = Path(path)
        if not path.is_absolute() and self.data_dir is not None and not path.exists():
            path = self.data_dir / path
        if not path.exists():
            raise PaperpredError(f"{path}: no such file")
        return path

    def _load(
        self,
        source: str,
        rows: RowSource,
        required: tuple[str, ...],
        load_images: bool,
        images_of: Callable[[dict], list] | None = None,
    ) -> Iterator[Submission]:
        report = self.report = LoadReport(source=source)
        if load_images and self.image_base_dir is None and images_of is None:
            raise PaperpredError(
                f"{source}: load_images=True needs image_base_dir (folder of <submission_id>/ "
                "page images); render PDFs into it with `paperpred data render-pages`"
            )
        table = self._population(rows, required) if self.percentiles else None
        return self._iterate(report, rows, required, load_images, table, images_of)

    def _rows(self, rows: RowSource, required: tuple[str, ...]) -> Iterator[Any]:
        """(number, Submission | DataError) for every row, duplicates flagged."""
        seen: set[str] = set()
        for item in rows():
            if isinstance(item, DataError):
                yield item.row, item, None
                continue
            number, row = item
            try:
                sub = build_submission(row, resolve_columns(list(row)), required)
            except DataError as error:
                error.row = number
                yield number, error, row
                continue
            if sub.submission_id in seen:
                yield number, DataError(
                    "duplicate submission_id",
                    f"submission_id {sub.submission_id!r} appears again",
                    row=number, field="submission_id",
                    fix="keep one row per submission",
                ), row
                continue
            seen.add(sub.submission_id)
            yield number, sub, row

    def _population(self, rows: RowSource, required: tuple[str, ...]) -> PercentileTable:
        table = PercentileTable()
        for _, sub, _row in self._rows(rows, required):
            if isinstance(sub, Submission):
                table.add(sub.year, sub.labels.get("mean_rating"), sub.metadata)
        return table.freeze()

    def _iterate(self, report, rows, required, load_images, table, images_of):
        for number, sub, row in self._rows(rows, required):
            report.rows_read += 1
            if isinstance(sub, Submission):
                try:
                    self._attach_images(sub, row, load_images, images_of, number)
                except DataError as error:
                    sub = error
            if isinstance(sub, DataError):
                sub.source = report.source
                if self.strict:
                    raise sub
                report.skip(sub, raw_group(row))
                continue
            if table is not None:
                merge_labels(sub.labels, table.labels_for(
                    sub.year, sub.labels.get("mean_rating"), sub.metadata))
            report.loaded += 1
            report.derived_ids += is_derived_id(sub)
            yield sub
        if report.skipped:
            log.warning("%s", report.summary())

    def _attach_images(self, sub, row, load_images, images_of, number) -> None:
        if images_of is not None and load_images:
            images = images_of(row)
            if images:
                sub.page_images = images
                return
        if self.image_base_dir is None:
            return
        sub.image_dir = self.image_base_dir / sub.submission_id
        if load_images and not sub.image_dir.is_dir():
            raise DataError(
                "missing image folder",
                f"no page-image folder {sub.image_dir}",
                row=number, field="page_images",
                fix="render the PDFs with `paperpred data render-pages PDF_DIR IMAGE_DIR`, "
                "or load without images",
            )
