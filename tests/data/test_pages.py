"""PDF -> page images: real PDFs written with reportlab, rendered with pypdfium2."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from PIL import Image
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from paperpred.data import ICLRDataLoader, sample_path
from paperpred.data import pages as pages_module
from paperpred.data.pages import PARTIAL_PREFIX, RenderReport, render_pdf, render_pdf_dir
from paperpred.data.submission import find_page_images
from paperpred.errors import DataError, PaperpredError

N_PAGES = 12


def page_width(page: int) -> int:
    """Page ``page`` (1-based) is this many points wide, so its image width names it."""
    return 200 + 10 * page


def make_pdf(path: Path, n_pages: int = N_PAGES, sizes: list | None = None) -> Path:
    """A real PDF whose page i is ``page_width(i)`` x 300 points (or ``sizes[i]``)."""
    pdf = canvas.Canvas(str(path))
    for page in range(1, n_pages + 1):
        size = sizes[page - 1] if sizes else (page_width(page), 300)
        pdf.setPageSize(size)
        pdf.setFont("Helvetica", 24)
        pdf.drawString(20, size[1] / 2, f"Page {page}")
        pdf.showPage()
    pdf.save()
    return path


@pytest.fixture
def pdf_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    make_pdf(folder / "paperA.pdf")
    make_pdf(folder / "paperB.pdf", n_pages=2)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF\n")
    (folder / "notes.txt").write_text("not a pdf, ignored")
    return folder


def widths(paths: list[Path]) -> list[int]:
    result = []
    for path in paths:
        with Image.open(path) as image:
            result.append(image.width)
    return result


# ----- render_pdf ---------------------------------------------------------------------------
def test_render_pdf_writes_every_page_in_page_order(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "paper.pdf")
    written = render_pdf(pdf, tmp_path / "out", dpi=72)
    assert [p.name for p in written] == [f"page_{i:03d}.png" for i in range(1, N_PAGES + 1)]
    assert all(p.is_file() for p in written)
    # find_page_images orders by page number: page_010 comes after page_009, not after page_001.
    assert find_page_images(tmp_path / "out") == written
    # At 72 dpi one point is one pixel, so each image's width names its PDF page.
    assert widths(written) == [page_width(i) for i in range(1, N_PAGES + 1)]


@pytest.mark.parametrize("dpi, size", [(100, (850, 1100)), (50, (425, 550)), (144, (1224, 1584))])
def test_dpi_sets_the_pixel_size(tmp_path: Path, dpi: int, size: tuple[int, int]) -> None:
    pdf = make_pdf(tmp_path / "letter.pdf", n_pages=1, sizes=[letter])
    [image_path] = render_pdf(pdf, tmp_path / "out", dpi=dpi)
    with Image.open(image_path) as image:
        assert abs(image.width - size[0]) <= 1 and abs(image.height - size[1]) <= 1


def test_max_pages_and_jpeg(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "paper.pdf")
    written = render_pdf(pdf, tmp_path / "out", dpi=72, max_pages=3, image_format="jpg")
    assert [p.name for p in written] == ["page_001.jpg", "page_002.jpg", "page_003.jpg"]
    assert find_page_images(tmp_path / "out") == written
    with Image.open(written[0]) as image:
        assert image.format == "JPEG" and image.mode == "RGB"
    assert widths(written) == [page_width(1), page_width(2), page_width(3)]


@pytest.mark.parametrize("payload", [b"", b"%PDF-1.4\ngarbage\n", b"\x00\x01 plainly binary"])
def test_render_pdf_raises_a_data_error_naming_the_file(tmp_path: Path, payload: bytes) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(payload)
    with pytest.raises(DataError) as info:
        render_pdf(bad, tmp_path / "out")
    assert info.value.reason == "unreadable pdf"
    assert str(bad) in str(info.value)


def test_missing_pdf_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such PDF"):
        render_pdf(tmp_path / "absent.pdf", tmp_path / "out")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"dpi": 0}, "dpi"),
        ({"dpi": -72}, "dpi"),
        ({"max_pages": 0}, "max_pages"),
        ({"image_format": "tiff"}, "image_format"),
    ],
)
def test_invalid_options_fail_before_any_work(tmp_path: Path, options: dict, message: str) -> None:
    pdf = make_pdf(tmp_path / "paper.pdf", n_pages=1)
    with pytest.raises(PaperpredError, match=message):
        render_pdf(pdf, tmp_path / "out", **options)
    with pytest.raises(PaperpredError, match=message):
        render_pdf_dir(tmp_path, tmp_path / "out2", **options)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out2").exists()


# ----- render_pdf_dir -------------------------------------------------------------------------
def test_render_dir_writes_the_loader_layout_and_reports_the_broken_pdf(
    pdf_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "images"
    report = render_pdf_dir(pdf_dir, out, dpi=72)
    assert isinstance(report, RenderReport)
    assert report.rendered == ["paperA", "paperB"]
    assert report.skipped_existing == []
    assert list(report.failed) == ["broken"] and report.failed["broken"]
    assert not report.ok
    assert report.pages == N_PAGES + 2
    assert "failed 1" in report.summary() and "broken" in report.summary()
    assert sorted(p.name for p in out.iterdir()) == ["paperA", "paperB"]  # no broken/, no temp
    pages_a = find_page_images(out / "paperA")
    assert [p.name for p in pages_a][-4:] == ["page_009.png", "page_010.png", "page_011.png",
                                               "page_012.png"]
    assert widths(pages_a) == [page_width(i) for i in range(1, N_PAGES + 1)]
    assert len(find_page_images(out / "paperB")) == 2
    assert json.loads(json.dumps(report.to_dict()))["failed"] == report.failed


def test_rerun_skips_rendered_papers_and_overwrite_redoes_them(
    pdf_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "images"
    render_pdf_dir(pdf_dir, out, dpi=72)
    sentinel = out / "paperA" / "sentinel.txt"
    sentinel.write_text("left by the first run")

    again = render_pdf_dir(pdf_dir, out, dpi=72)
    assert again.rendered == [] and again.pages == 0
    assert again.skipped_existing == ["paperA", "paperB"]
    assert list(again.failed) == ["broken"]  # a failed paper is retried, and fails again
    assert sentinel.exists()

    redone = render_pdf_dir(pdf_dir, out, dpi=36, overwrite=True)
    assert redone.rendered == ["paperA", "paperB"] and redone.skipped_existing == []
    assert not sentinel.exists()  # the folder was replaced as a whole
    assert widths(find_page_images(out / "paperA")) == [
        page_width(i) // 2 for i in range(1, N_PAGES + 1)
    ]
    assert not [p for p in out.iterdir() if p.name.startswith(PARTIAL_PREFIX)]


def test_an_empty_existing_folder_is_not_taken_as_rendered(pdf_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "images"
    (out / "paperA").mkdir(parents=True)
    report = render_pdf_dir(pdf_dir, out, dpi=72)
    assert "paperA" in report.rendered
    assert len(find_page_images(out / "paperA")) == N_PAGES


def crash_on_page(monkeypatch: pytest.MonkeyPatch, crash_index: int) -> None:
    """Make rendering die part-way through a paper, as a crash or a full disk would."""
    real = pages_module._render_page

    def flaky(document, index, *args, **kwargs):
        if index == crash_index:
            raise OSError("simulated crash while writing")
        return real(document, index, *args, **kwargs)

    monkeypatch.setattr(pages_module, "_render_page", flaky)


def test_a_crash_mid_paper_leaves_no_folder_that_looks_complete(
    pdf_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "images"
    crash_on_page(monkeypatch, crash_index=5)
    report = render_pdf_dir(pdf_dir, out, dpi=72)
    assert "paperA" in report.failed and "simulated crash" in report.failed["paperA"]
    assert report.rendered == ["paperB"]  # two pages: never reaches index 5
    assert not (out / "paperA").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(PARTIAL_PREFIX)]

    monkeypatch.undo()
    resumed = render_pdf_dir(pdf_dir, out, dpi=72)
    assert resumed.rendered == ["paperA"] and resumed.skipped_existing == ["paperB"]
    assert len(find_page_images(out / "paperA")) == N_PAGES


def test_a_failed_overwrite_keeps_the_old_pages(
    pdf_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "images"
    render_pdf_dir(pdf_dir, out, dpi=72)
    crash_on_page(monkeypatch, crash_index=5)
    report = render_pdf_dir(pdf_dir, out, dpi=36, overwrite=True)
    assert "paperA" in report.failed
    assert widths(find_page_images(out / "paperA")) == [
        page_width(i) for i in range(1, N_PAGES + 1)
    ]


def test_leftovers_of_a_killed_run_are_removed(pdf_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "images"
    leftover = out / f"{PARTIAL_PREFIX}paperA-abc123"
    leftover.mkdir(parents=True)
    (leftover / "page_001.png").write_bytes(b"half written")
    render_pdf_dir(pdf_dir, out, dpi=72)
    assert not leftover.exists()
    assert sorted(p.name for p in out.iterdir()) == ["paperA", "paperB"]


def test_missing_or_pdf_less_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        render_pdf_dir(tmp_path / "absent", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .pdf files"):
        render_pdf_dir(tmp_path / "empty", tmp_path / "out")


# ----- the loader finds what was rendered --------------------------------------------------
def test_iclr_data_loader_finds_rendered_pages_in_order(tmp_path: Path) -> None:
    # Two real rows of the bundled ICLR 2017 sample, with PDFs named by their submission ids.
    with gzip.open(sample_path(), "rt", encoding="utf-8") as source:
        rows = [source.readline(), source.readline()]
    data = tmp_path / "two.jsonl"
    data.write_text("".join(rows), encoding="utf-8")
    subs = list(ICLRDataLoader(percentiles=False).load_from_jsonl(data))
    ids = [s.submission_id for s in subs]
    assert len(set(ids)) == 2

    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    make_pdf(pdfs / f"{ids[0]}.pdf")
    make_pdf(pdfs / f"{ids[1]}.pdf", n_pages=3)
    images = tmp_path / "images"
    assert render_pdf_dir(pdfs, images, dpi=72).rendered == sorted(ids)

    loader = ICLRDataLoader(image_base_dir=images, strict=True, percentiles=False)
    loaded = {s.submission_id: s for s in loader.load_from_jsonl(data, load_images=True)}
    first = loaded[ids[0]].page_images
    assert [Path(p).name for p in first] == [f"page_{i:03d}.png" for i in range(1, N_PAGES + 1)]
    assert widths(first) == [page_width(i) for i in range(1, N_PAGES + 1)]
    assert len(loaded[ids[1]].page_images) == 3
