"""create_backend: kind selection, portable options, the lazily imported engines."""

from __future__ import annotations

import importlib.util

import pytest

from paperpred.inference.factory import (
    BACKEND_KINDS,
    create_backend,
    resolve_backend_kind,
    vllm_available,
)
from paperpred.inference.transformers_backend import TransformersBackend


def test_auto_picks_vllm_only_with_a_gpu_and_vllm():
    import torch

    expected = importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()
    assert vllm_available() is expected
    assert resolve_backend_kind("auto") == ("vllm" if expected else "transformers")
    assert resolve_backend_kind(" Transformers ") == "transformers"


def test_unknown_kind_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        resolve_backend_kind("tensorrt")
    assert all(kind in str(info.value) for kind in BACKEND_KINDS)


def test_transformers_backend_ignores_options_it_has_no_use_for(embedded_dir):
    backend = create_backend("auto" if not vllm_available() else "transformers",
                             str(embedded_dir), batch_size=2, device="cpu",
                             tensor_parallel_size=4)
    assert isinstance(backend, TransformersBackend)
    assert backend.batch_size == 2 and backend.device == "cpu"
    with pytest.raises(TypeError):  # a genuine typo is not swallowed
        create_backend("transformers", str(embedded_dir), batch_sizes=2)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_vllm_without_vllm_says_how_to_install(embedded_dir):
    with pytest.raises(ImportError, match="pip install vllm"):
        create_backend("vllm", str(embedded_dir), batch_size=4, device="cpu")


def test_openai_backend_is_built_lazily():
    backend = create_backend("openai", "served-model", base_urls=["http://127.0.0.1:9"],
                             concurrency=2, batch_size=8, max_images=3)
    from paperpred.inference import OpenAIBackend

    assert isinstance(backend, OpenAIBackend)
    assert backend.model == "served-model" and backend.concurrency == 2
    backend.close()
    with pytest.raises(ValueError, match="base_urls"):
        create_backend("openai", "served-model")
    with pytest.raises(ValueError, match="cannot load an adapter"):
        create_backend("openai", "served-model", base_urls=["http://x"], adapter_path="/a")
