"""Model resolution: local paths, Hub names (cached or not), defaults, vision detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperpred.config import ModelType
from paperpred.errors import ModelNotAvailableError
from paperpred.inference.embedded import EMBEDDED_MODEL_NAME
from paperpred.inference.models import (
    default_model,
    is_vision_model,
    resolve_adapter,
    resolve_model,
)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hugging Face Hub cache (the real on-disk layout) that huggingface_hub reads."""
    import huggingface_hub.constants

    cache = tmp_path / "hf-hub"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def add_to_hub_cache(cache: Path, repo_id: str, config: dict) -> Path:
    """Write ``repo_id`` into the cache as huggingface_hub lays out a download."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(config))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    return snapshot


def one_line_error(name: str) -> str:
    with pytest.raises(ModelNotAvailableError) as info:
        resolve_model(name)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", ["Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-VL-7B-Instruct"])
def test_uncached_hub_model_offline_fails_in_one_line(name, hub_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # what hub_reachable() reports without a network
    from paperpred.hub import hub_reachable

    hub_reachable.cache_clear()
    try:
        message = one_line_error(name)
    finally:
        hub_reachable.cache_clear()
    assert name in message and "not in the Hugging Face cache" in message
    assert f"--model {EMBEDDED_MODEL_NAME}" in message and "local checkpoint folder" in message


def test_cached_hub_model_resolves_to_its_snapshot(hub_cache):
    snapshot = add_to_hub_cache(hub_cache, "acme/tiny-lm", {"model_type": "qwen2"})
    assert resolve_model("acme/tiny-lm") == str(snapshot)


def test_local_folders(tmp_path, embedded_dir):
    assert resolve_model(str(embedded_dir)) == str(embedded_dir.resolve())
    assert "no such file or folder" in one_line_error(str(tmp_path / "missing-model"))
    assert "no such file or folder" in one_line_error("./relative/missing")
    assert "has no config.json" in one_line_error(str(tmp_path))
    assert "no model was given" in one_line_error("  ")


def test_adapter_folder_needs_adapter_config(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="has no adapter_config.json"):
        resolve_adapter(str(tmp_path))
    (tmp_path / "adapter_config.json").write_text("{}")
    assert resolve_adapter(str(tmp_path)) == str(tmp_path.resolve())


@pytest.mark.parametrize("has_gpu, has_network, expected", [
    (True, True, "Qwen/Qwen2.5-7B-Instruct"),
    (False, True, EMBEDDED_MODEL_NAME),
    (True, False, EMBEDDED_MODEL_NAME),
    (False, False, EMBEDDED_MODEL_NAME),
])
def test_default_text_model(has_gpu, has_network, expected, hub_cache):
    assert default_model(ModelType.TEXT_ONLY, has_gpu, has_network) == expected
    assert default_model("text_only", has_gpu, has_network) == expected


def test_default_uses_cached_production_model_without_network(hub_cache):
    add_to_hub_cache(hub_cache, "Qwen/Qwen2.5-7B-Instruct", {"model_type": "qwen2"})
    assert default_model(ModelType.TEXT_ONLY, True, False) == "Qwen/Qwen2.5-7B-Instruct"
    assert default_model(ModelType.TEXT_ONLY, False, False) == EMBEDDED_MODEL_NAME


def test_default_vision_model_has_no_embedded_fallback():
    for gpu, net in [(True, True), (False, False)]:
        assert default_model(ModelType.VISION_LANGUAGE, gpu, net) == "Qwen/Qwen2.5-VL-7B-Instruct"


def test_is_vision_model_from_configs(tmp_path, hub_cache, embedded_dir, tiny_vl_dir):
    assert is_vision_model(tiny_vl_dir)
    assert not is_vision_model(embedded_dir)
    assert not is_vision_model(EMBEDDED_MODEL_NAME)
    folder = tmp_path / "llava"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "x", "vision_config": {}}))
    assert is_vision_model(folder)
    add_to_hub_cache(hub_cache, "acme/plain-name", {"model_type": "qwen2_5_vl"})
    assert is_vision_model("acme/plain-name")  # read from the cached config, not the name


def test_is_vision_model_guesses_uncached_names(hub_cache):
    assert is_vision_model("Qwen/Qwen2.5-VL-7B-Instruct")
    assert not is_vision_model("Qwen/Qwen2.5-7B-Instruct")


def test_tiny_aliases_resolve_to_built_checkpoints():
    from pathlib import Path

    from paperpred.inference.models import resolve_model

    path = Path(resolve_model("tiny-qwen2.5-vl"))
    assert (path / "config.json").is_file() and is_vision_model(path)
