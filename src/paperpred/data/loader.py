"""ICLRDataLoader: ICLR submissions from the spec's CSV, JSON lines, parquet and HF datasets.

All loaders yield Submissions lazily. Percentile labels need the whole population, so each
source is read twice: a first pass gathers the ratings and citation counts per year (and
source), the second builds and yields the Submissions. ``percentiles=False`` skips the first.

Bad rows: in strict mode (the library's default) the first bad row raises one
:class:`DataError` naming file, row and field; in lenient mode (the CLI's default) bad rows are
skipped and counted by reason in :attr:`ICLRDataLoader.report`, and a warning says how many.

Files that rows name (markdown, page images) are opened only inside the roots given to the
loader (``data_dir``, ``image_base_dir``; see :mod:`paperpred.data.paths`). A named file that
cannot be found there is counted by column and reason in ``report.missing_files`` (the row
still loads) or, in strict mode, raises a :class:`DataError` naming row, column and path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from paperpred.data import paths
from paperpred.data.hf import IMAGES_KEY, SPLIT_KEY, SPLIT_ROW_KEY, open_dataset
from paperpred.data.labels import PercentileTable, merge_labels
from paperpred.data.published import decode
from paperpred.data.records import (
    CSV_REQUIRED,
    ROW_REQUIRED,
    adapt_row,
    build_submission,
    check_decodable,
    is_derived_id,
    raw_group,
)
from paperpred.data.report import LoadReport
from paperpred.data.sources import csv_rows, jsonl_rows, parquet_rows
from paperpred.data.submission import Submission, page_number
from paperpred.errors import DataError, PaperpredError

log = logging.getLogger(__name__)
RowSource = Callable[[], Iterable[Any]]
MARKDOWN_COLUMNS = ("clean_md_path", "markdown_path")
PAGE_COLUMNS = ("clean_pdf_img_paths", "page_image_paths")


class ICLRDataLoader:
    """Load ICLR submissions.

    Args:
        data_dir: base folder for relative file paths, and the root under which markdown
            files named by the rows (``clean_md_path``) are looked for.
        image_base_dir: the root of the page images: ``<submission_id>/`` folders,
            ``<year>/<id>/redacted_pdf_img_content/`` (the spec's layout, also under
            ``normalized/``), or the images that rows name (``clean_pdf_img_paths``).
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

    def load_from_parquet(
        self, path: str | Path, load_images: bool = False
    ) -> Iterator[Submission]:
        """Rows of a parquet file: written by ``paperpred data convert``, in the CSV schema, or
        one split of the published dataset's layout."""
        path = self._resolve(path)
        return self._load(str(path), lambda: parquet_rows(path), ROW_REQUIRED, load_images)

    def load_from_huggingface(
        self, dataset_name: str, split: str = "all", load_images: bool = False,
        streaming: bool | None = None,
    ) -> Iterator[Submission]:
        """A Hugging Face dataset by hub name or local path (a folder of parquet/arrow files,
        or one saved with ``save_to_disk``), such as ``skonan/iclr-reviews-2020-2026``.

        Args:
            dataset_name: hub name or local path.
            split: a split's name (``"2024"``), ``"all"`` (every split, one after another), or
                a year that is not a split's name (that year's rows of every split).
            load_images: attach page images: an embedded ``images`` column as it is, or the
                files rows name, inside ``image_base_dir``.
            streaming: read without loading the dataset into the ``datasets`` cache (default:
                local data files streamed, hub datasets downloaded).
        """
        first, rows = open_dataset(dataset_name, str(split), load_images, streaming)
        return self._load(dataset_name, rows, ROW_REQUIRED, load_images, embedded=True,
                          population_rows=first)

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
        embedded: bool = False,
        population_rows: RowSource | None = None,
    ) -> Iterator[Submission]:
        report = self.report = LoadReport(source=source)
        if load_images and self.image_base_dir is None and not embedded:
            raise PaperpredError(
                f"{source}: load_images=True needs image_base_dir (folder of <submission_id>/ "
                "page images); render PDFs into it with `paperpred data render-pages`"
            )
        table = self._population(population_rows or rows, required) if self.percentiles \
            else None
        return self._iterate(report, rows, required, load_images, table)

    def _rows(self, rows: RowSource, required: tuple[str, ...]) -> Iterator[Any]:
        """(number, Submission | DataError, row) for every row, duplicates flagged."""
        seen: set[str] = set()
        for item in rows():
            if isinstance(item, DataError):
                yield item.row, item, None
                continue
            number, row = item
            if SPLIT_KEY in row:  # number within its split, for the messages
                number = row[SPLIT_ROW_KEY]
            try:
                check_decodable(row)
                row = adapt_row(row)
                sub = build_submission(row, required)
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

    def _iterate(self, report, rows, required, load_images, table):
        for number, sub, row in self._rows(rows, required):
            report.rows_read += 1
            if isinstance(sub, Submission):
                try:
                    self._attach_files(sub, row, load_images, number)
                except DataError as error:
                    sub = error
            if isinstance(sub, DataError):
                sub.source = report.source + (f" (split {row[SPLIT_KEY]})"
                                              if row and SPLIT_KEY in row else "")
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

    # ----- files the rows name ------------------------------------------------------------
    def _roots(self, *preferred: Path | None) -> list[Path]:
        return [r for r in dict.fromkeys(preferred) if r is not None]

    def _missing(self, sub: Submission, column: str, named: str, reason: str, root_name: str,
                 number: int) -> None:
        """Count a named file that is not usable; in strict mode raise (except when no root
        was given: then the file is simply not opened)."""
        why = f"no {root_name} given" if reason == paths.NO_ROOT else f"{reason} ({root_name})"
        self.report.missing(column, why, f"{sub.submission_id}: {named}")
        if self.strict and reason != paths.NO_ROOT:
            raise DataError(
                "missing file", f"{named}: {why}", row=number, field=column,
                fix=f"copy the file under {root_name} (as <year>/<id>/... or "
                    "normalized/<year>/<id>/...), or load leniently (strict=False)")

    def _locate(self, named: str, roots: list[Path], sub: Submission) -> paths.Lookup:
        """The file in the first root that has it; else the failure, a refusal (a path that
        leaves a root) named before "not found" in another root."""
        failures = []
        for root in roots:
            found = paths.locate(named, root, sub.year, sub.submission_id)
            if found.ok:
                return found
            failures.append(found)
        refused = [f for f in failures if f.reason == paths.OUTSIDE]
        return (refused or failures or [paths.Lookup(None, paths.NO_ROOT)])[-1]

    def _attach_files(self, sub: Submission, row: dict[str, Any], load_images: bool,
                      number: int) -> None:
        column = next((c for c in MARKDOWN_COLUMNS if row.get(c)), None)
        if column is not None and not sub.markdown:
            found = self._locate(str(row[column]), self._roots(self.data_dir,
                                                               self.image_base_dir), sub)
            if found.ok:
                sub.markdown_path = found.path
                self.report.found_files[column] += 1
            else:
                self._missing(sub, column, str(row[column]), found.reason or "", "data_dir",
                              number)
        if load_images and row.get(IMAGES_KEY):
            sub.page_images = row[IMAGES_KEY]
            return
        named = next((c for c in PAGE_COLUMNS if row.get(c)), None)
        if named is not None:
            if load_images:
                self._attach_named_pages(sub, row, named, number)
            return
        if self.image_base_dir is not None:
            self._attach_page_folder(sub, load_images, number)

    def _attach_named_pages(self, sub: Submission, row: dict[str, Any], column: str,
                            number: int) -> None:
        listed = decode(row[column], column)
        listed = [str(p) for p in listed] if isinstance(listed, list) else [str(listed)]
        roots = self._roots(self.image_base_dir, self.data_dir)
        found = []
        for named in listed:
            lookup = self._locate(named, roots, sub)
            if not lookup.ok:
                self._missing(sub, column, named, lookup.reason or "", "image_base_dir",
                              number)
                return  # a paper with a missing page gets none: pages must not shift
            found.append(lookup.path)
        sub.page_images = sorted(found, key=page_number)  # page_0 first, page_10 after 9
        self.report.found_files[column] += 1

    def _attach_page_folder(self, sub: Submission, load_images: bool, number: int) -> None:
        assert self.image_base_dir is not None
        folders = paths.page_image_folders(self.image_base_dir, sub.year, sub.submission_id)
        if not folders or paths.leaves_root(self.image_base_dir, sub.submission_id):
            raise DataError(
                "unsafe submission_id",
                f"submission_id {sub.submission_id!r} would name a folder outside "
                f"image_base_dir {self.image_base_dir}", row=number, field="submission_id",
                fix="give each submission its OpenReview id (no '/', '..' or absolute path), "
                    "and no symlink under image_base_dir that points out of it")
        sub.image_dir = next((f for f in folders if f.is_dir()), folders[0])
        if load_images and not sub.image_dir.is_dir():
            raise DataError(
                "missing image folder",
                f"no page-image folder {sub.image_dir}",
                row=number, field="page_images",
                fix="render the PDFs with `paperpred data render-pages PDF_DIR IMAGE_DIR`, "
                "or load without images",
            )
