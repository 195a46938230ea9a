"""Render PDFs to page images in the layout the loader reads.

The layout is ``<out_dir>/<submission_id>/page_001.png, page_002.png, ...``: one folder per
paper, named after the PDF's stem (which must be the submission id), pages numbered from 1.
:func:`paperpred.data.submission.find_page_images` orders them by page number.

Each paper is rendered into a hidden ``.partial-*`` folder beside its final folder and renamed
into place only when every page is written, so a crash never leaves a folder that looks
complete; a rerun skips the finished papers and redoes the rest.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperpred.data.submission import IMAGE_SUFFIXES, find_page_images
from paperpred.errors import DataError, PaperpredError

log = logging.getLogger(__name__)

PARTIAL_PREFIX = ".partial-"
_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}
_POINTS_PER_INCH = 72.0


def bad_pdf(reason: str, message: str, pdf: Any) -> DataError:
    """The error for a PDF that cannot be rendered (its file named, with the fix)."""
    return DataError(reason, message, source=str(pdf),
                     fix="re-download the PDF or remove it from the folder")


@dataclass
class RenderReport:
    """What :func:`render_pdf_dir` did.

    Attributes:
        out_dir: the folder holding one ``<submission_id>/`` folder per paper.
        rendered: submission ids rendered by this call.
        skipped_existing: submission ids whose folder already held page images.
        failed: submission id -> why its PDF could not be rendered.
        pages: page images written by this call.
    """

    out_dir: Path
    rendered: list[str] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    pages: int = 0

    @property
    def ok(self) -> bool:
        """True when no PDF failed."""
        return not self.failed

    def summary(self) -> str:
        """One line, for example ``rendered 12 PDFs (340 pages) into out/; skipped 3 ...``."""
        text = (
            f"rendered {len(self.rendered)} PDFs ({self.pages} pages) into {self.out_dir}; "
            f"skipped {len(self.skipped_existing)} already rendered; failed {len(self.failed)}"
        )
        if self.failed:
            shown = "; ".join(f"{name}: {why}" for name, why in list(self.failed.items())[:5])
            more = f"; and {len(self.failed) - 5} more" if len(self.failed) > 5 else ""
            text += f" ({shown}{more})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "out_dir": str(self.out_dir),
            "rendered": list(self.rendered),
            "skipped_existing": list(self.skipped_existing),
            "failed": dict(self.failed),
            "pages": self.pages,
        }


def render_pdf(
    pdf_path: str | Path,
    out_dir: str | Path,
    dpi: float = 100,
    max_pages: int | None = None,
    image_format: str = "png",
) -> list[Path]:
    """Render the pages of one PDF to ``out_dir/page_001.<ext>``, ``page_002.<ext>``, ...

    Pages are rendered one at a time, so memory stays flat for long papers. Writing is not
    atomic here; :func:`render_pdf_dir` makes it so per paper.

    Args:
        pdf_path: the PDF file.
        out_dir: the folder to write into (created if missing).
        dpi: resolution; a US-letter page (8.5 x 11 in) at 100 dpi is 850 x 1100 pixels.
        max_pages: render at most this many leading pages (None: all).
        image_format: ``"png"``, ``"jpg"``/``"jpeg"`` or ``"webp"``.

    Returns:
        The written image paths in page order.

    Raises:
        PaperpredError: an invalid ``dpi``, ``max_pages`` or ``image_format``.
        DataError: the PDF is missing, unreadable (corrupt, encrypted) or has no pages.
    """
    fmt, ext = _check_options(dpi, max_pages, image_format)
    pdf_path = Path(pdf_path)
    if not pdf_path.is_file():
        raise DataError(
            "missing pdf", f"no such PDF file {pdf_path}", source=str(pdf_path),
            fix="pass an existing .pdf file",
        )
    import pypdfium2 as pdfium  # a light binary wheel, but only needed here

    try:
        document = pdfium.PdfDocument(pdf_path)
    except pdfium.PdfiumError as exc:
        raise bad_pdf("unreadable pdf", f"cannot open PDF: {exc}", pdf_path) from exc
    try:
        n_pages = len(document)
        if n_pages == 0:
            raise bad_pdf("empty pdf", "the PDF has no pages", pdf_path)
        if max_pages is not None:
            n_pages = min(n_pages, max_pages)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        width = max(3, len(str(n_pages)))
        written: list[Path] = []
        for index in range(n_pages):
            target = out_dir / f"page_{index + 1:0{width}d}.{ext}"
            _render_page(document, index, dpi, fmt, target, pdf_path)
            written.append(target)
        return written
    finally:
        document.close()


def render_pdf_dir(
    pdf_dir: str | Path,
    out_dir: str | Path,
    dpi: float = 100,
    max_pages: int | None = None,
    overwrite: bool = False,
    image_format: str = "png",
    progress: bool = False,
) -> RenderReport:
    """Render every ``*.pdf`` of ``pdf_dir`` to ``out_dir/<pdf stem>/page_NNN.<ext>``.

    The PDF's stem must be the submission id, so that ``ICLRDataLoader(image_base_dir=out_dir)``
    finds the pages. Papers are processed in file-name order. A PDF that cannot be rendered is
    recorded in :attr:`RenderReport.failed` and the others go on. Leftover ``.partial-*``
    folders of an interrupted earlier run are removed first, so do not run two renders into the
    same ``out_dir`` at once.

    Args:
        pdf_dir: folder of PDFs named ``<submission_id>.pdf``.
        out_dir: the image base folder (created if missing).
        dpi: resolution of the page images.
        max_pages: render at most this many leading pages per paper (None: all).
        overwrite: re-render papers whose folder already holds page images (by default
            they are skipped, whatever dpi or format they were rendered with).
        image_format: ``"png"``, ``"jpg"``/``"jpeg"`` or ``"webp"``.
        progress: show a progress bar.

    Returns:
        A :class:`RenderReport` with what was rendered, skipped and failed.

    Raises:
        PaperpredError: invalid options.
        DataError: ``pdf_dir`` is not a folder or holds no PDF.
    """
    _check_options(dpi, max_pages, image_format)
    pdf_dir, out_dir = Path(pdf_dir), Path(out_dir)
    if not pdf_dir.is_dir():
        raise DataError(
            "missing folder", f"no such folder {pdf_dir}", source=str(pdf_dir),
            fix="pass the folder that holds the <submission_id>.pdf files",
        )
    pdfs = sorted(p for p in pdf_dir.iterdir() if p.is_file() and p.suffix.lower() == ".pdf")
    if not pdfs:
        raise DataError(
            "no pdfs", f"no .pdf files in {pdf_dir}", source=str(pdf_dir),
            fix="pass the folder that holds the <submission_id>.pdf files",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_partials(out_dir)
    report = RenderReport(out_dir=out_dir)
    for pdf in _maybe_progress(pdfs, progress):
        name = pdf.stem
        final = out_dir / name
        if not overwrite and find_page_images(final):
            report.skipped_existing.append(name)
            continue
        try:
            report.pages += _render_atomically(pdf, final, dpi, max_pages, image_format)
        except Exception as exc:  # one bad paper must not stop thousands of others
            reason = exc.detail if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
            report.failed[name] = reason
            log.warning("could not render %s: %s", pdf, reason)
            continue
        report.rendered.append(name)
    if report.failed:
        log.warning("%s", report.summary())
    return report


# ----- helpers ----------------------------------------------------------------------------
def _check_options(dpi: float, max_pages: int | None, image_format: str) -> tuple[str, str]:
    """Validate the rendering options; return (PIL format name, file extension)."""
    problems = []
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or dpi <= 0:
        problems.append(f"dpi must be a positive number, got {dpi!r}")
    if max_pages is not None and (
        isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1
    ):
        problems.append(f"max_pages must be None or a positive integer, got {max_pages!r}")
    ext = str(image_format).lower().lstrip(".")
    if ext not in _FORMATS or f".{ext}" not in IMAGE_SUFFIXES:
        problems.append(f"image_format must be one of {sorted(_FORMATS)}, got {image_format!r}")
    if problems:
        raise PaperpredError("; ".join(problems))
    return _FORMATS[ext], ext


def _render_page(document: Any, index: int, dpi: float, fmt: str, target: Path, pdf: Path) -> None:
    import pypdfium2 as pdfium

    page = document[index]
    try:
        image = page.render(scale=dpi / _POINTS_PER_INCH).to_pil()
    except pdfium.PdfiumError as exc:
        raise bad_pdf("unreadable pdf", f"cannot render page {index + 1}: {exc}", pdf) from exc
    finally:
        page.close()
    if fmt == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")  # JPEG has no alpha channel
    image.save(target, format=fmt)


def _render_atomically(
    pdf: Path, final: Path, dpi: float, max_pages: int | None, image_format: str
) -> int:
    """Render into a hidden sibling folder, then swap it in; return the page count."""
    partial = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{final.name}-", dir=final.parent))
    try:
        pages = render_pdf(pdf, partial, dpi=dpi, max_pages=max_pages, image_format=image_format)
        if final.exists():
            # Move the old folder aside first: a complete folder is in place at every moment
            # except between the two renames.
            prefix = f"{PARTIAL_PREFIX}{final.name}-old-"
            old = Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent))
            os.replace(final, old / final.name)
            os.replace(partial, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(partial, final)
        return len(pages)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)


def _remove_partials(out_dir: Path) -> None:
    for leftover in out_dir.glob(f"{PARTIAL_PREFIX}*"):
        if leftover.is_dir():
            log.info("removing %s left by an interrupted render", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


def _maybe_progress(items: list[Path], progress: bool) -> Any:
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="render pages", unit="pdf")
