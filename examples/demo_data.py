"""Shared by the examples that need page images: real ICLR 2017 rows from the bundled sample
written in the spec's layout (a CSV plus ``<image_base_dir>/<submission_id>/page_NNN.png``),
with page images rendered from small PDFs generated here (no paper PDFs ship with paperpred)."""

import textwrap
from pathlib import Path

from PIL import Image, ImageDraw

from paperpred import render_pdf_dir
from paperpred.data.writers import write_submissions


def make_pdf(sub, path: Path, pages: int = 3) -> None:
    """A small PDF whose pages show the paper's title and abstract (PIL writes PDFs)."""
    images = []
    for page in range(pages):
        image = Image.new("RGB", (425, 550), "white")
        draw = ImageDraw.Draw(image)
        body = sub.title if page == 0 else sub.abstract[page * 300:(page + 1) * 300]
        draw.text((30, 40), "Under review as a conference paper at ICLR 2017", fill="black")
        draw.multiline_text((30, 80), textwrap.fill(body, 60), fill="black")
        images.append(image)
    images[0].save(path, save_all=True, append_images=images[1:])


def write_spec_layout(subs, work: Path, csv_name: str, dpi: int) -> None:
    """``work/<csv_name>`` and ``work/normalized/<id>/page_NNN.png`` for ``subs``."""
    (work / "pdfs").mkdir(parents=True, exist_ok=True)
    for sub in subs:
        make_pdf(sub, work / "pdfs" / f"{sub.submission_id}.pdf")
    print(render_pdf_dir(work / "pdfs", work / "normalized", dpi=dpi).summary())
    write_submissions(subs, work / csv_name)
