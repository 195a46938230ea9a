"""Real LoRA SFT runs through `llamafactory-cli train` on CPU: a tiny Qwen2 on real 2017 rows,
a tiny Qwen2.5-VL on rendered page images, then prediction with the adapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from training_helpers import with_pages

from paperpred import (
    BinaryAcceptRejectHandler,
    InferenceConfig,
    ModelType,
    SFTLoRAMode,
    TrainingConfig,
    get_input_formatter,
)
from paperpred.errors import PaperpredError
from paperpred.modes.progress import read_progress

pytest.importorskip("llamafactory", reason="LlamaFactory is not installed (paperpred[train])")


def _lora_weights(adapter: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(adapter / "adapter_model.safetensors"))


@pytest.fixture(scope="module")
def text_run(balanced_rows, tiny_qwen2_dir, tmp_path_factory):
    """Three LoRA SFT steps of the tiny Qwen2 on eight real rows (abstract + reviews)."""
    root = tmp_path_factory.mktemp("sft-text")
    config = TrainingConfig(model_name_or_path=str(tiny_qwen2_dir), batch_size=2,
                            gradient_accumulation_steps=1, learning_rate=5e-3, max_length=384,
                            val_size=0.25, extra={"max_steps": 3})
    mode = SFTLoRAMode(config, get_input_formatter("abstract_with_reviews",
                                                   max_review_chars=200),
                       BinaryAcceptRejectHandler())
    info = mode.prepare_data(mode.format_samples(balanced_rows, include_label=True),
                             root / "data")
    config_path = mode.generate_config(info, root / "run")
    summary = mode.train(config_path)
    return mode, config_path, summary, root / "run"


def test_text_sft_logs_loss_and_writes_adapter(text_run):
    mode, config_path, summary, run = text_run
    steps = [r for r in read_progress(run / "train_progress.jsonl") if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3]
    assert all(r["loss"] > 0 and r["total_steps"] == 3 for r in steps)
    assert any("eval_loss" in r for r in read_progress(run / "train_progress.jsonl"))
    assert summary["steps"] == 3 and summary["train_runtime"] > 0
    assert summary["num_input_tokens_seen"] > 0 and summary["effective_tokens_per_sec"] > 0
    assert json.loads((run / "train_summary.json").read_text())["steps"] == 3
    assert "llamafactory-cli" in (run / "train.log").read_text().splitlines()[0]
    adapter = run / "checkpoints"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["r"] == 8 and config["lora_alpha"] == 16
    weights = _lora_weights(adapter)
    lora_b = [t for name, t in weights.items() if "lora_B" in name]
    assert lora_b and all(float(t.abs().max()) > 0 for t in lora_b)  # moved from zero init


def test_text_adapter_predicts_differently_from_base(text_run, balanced_rows, tiny_qwen2_dir):
    mode, _, _, run = text_run
    samples = mode.format_samples(balanced_rows[:4])
    base = mode.predict(samples, InferenceConfig(str(tiny_qwen2_dir), device="cpu"))
    tuned = mode.predict(samples, InferenceConfig(str(tiny_qwen2_dir), device="cpu",
                                                  adapter_path=str(run / "checkpoints")))
    merged = mode.predict(samples, InferenceConfig(str(tiny_qwen2_dir), device="cpu",
                                                   adapter_path=str(run / "checkpoints"),
                                                   merge_adapter=True))
    mode.close()
    assert [p["submission_id"] for p in tuned] == [s.submission_id for s in samples]
    assert all(p["parse_success"] for p in tuned)
    assert max(abs(b["score"] - t["score"]) for b, t in zip(base, tuned)) > 1e-4
    assert max(abs(m["score"] - t["score"]) for m, t in zip(merged, tuned)) < 1e-3


def test_finished_run_is_not_trained_again(text_run):
    mode, config_path, _, _ = text_run
    with pytest.raises(PaperpredError, match="already holds a trained adapter.*overwrite"):
        mode.train(config_path)


def test_failed_training_names_the_log(text_run, tmp_path):
    mode, config_path, _, _ = text_run
    args = yaml.safe_load(config_path.read_text())
    args.update(output_dir=str(tmp_path / "ckpt"), lora_rnk=4)  # a key LlamaFactory rejects
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(args))
    with pytest.raises(PaperpredError, match=r"exited with .*train\.log(.|\n)*lora_rnk"):
        mode.train(bad)


def test_missing_llamafactory_is_one_line(monkeypatch, tmp_path):
    mode = SFTLoRAMode(TrainingConfig("tiny-qwen2"), get_input_formatter("abstract_only"),
                       BinaryAcceptRejectHandler(), llamafactory_cli=str(tmp_path / "nope"))
    (tmp_path / "c.yaml").write_text("output_dir: x\n")
    with pytest.raises(PaperpredError) as err:
        mode.train(tmp_path / "c.yaml")
    assert "pip install 'paperpred[train]'" in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setenv("PAPERPRED_LLAMAFACTORY_CLI", str(tmp_path / "missing-cli"))
    with pytest.raises(PaperpredError, match="missing-cli.*not found"):
        SFTLoRAMode(TrainingConfig("tiny-qwen2"), get_input_formatter("abstract_only"),
                    BinaryAcceptRejectHandler()).train(tmp_path / "c.yaml")


def test_vision_sft_and_predict(balanced_rows, page_images, tiny_vl_dir, tmp_path):
    subs = with_pages(balanced_rows[:4], page_images[:2])
    config = TrainingConfig(model_name_or_path=str(tiny_vl_dir),
                            model_type=ModelType.VISION_LANGUAGE, batch_size=2,
                            gradient_accumulation_steps=1, learning_rate=5e-3, max_length=1024,
                            val_size=0.0, extra={"max_steps": 2})
    mode = SFTLoRAMode(config, get_input_formatter("abstract_with_page_images", max_images=2),
                       BinaryAcceptRejectHandler())
    info = mode.prepare_data(mode.format_samples(subs, include_label=True), tmp_path / "data")
    assert info["n_images"] == 8
    config_path = mode.generate_config(info, tmp_path / "run")
    args = yaml.safe_load(config_path.read_text())
    assert args["template"] == "qwen2_vl" and args["image_max_pixels"] == 512 * 512
    summary = mode.train(config_path)
    assert summary["steps"] == 2
    log = (tmp_path / "run" / "train.log").read_text()
    found = [line for line in log.splitlines() if "Found linear modules" in line][0]
    assert "qkv" not in found.split(">>")[-1]  # LoRA on the language model, not the vision tower
    weights = _lora_weights(tmp_path / "run" / "checkpoints")
    assert not any("visual" in name for name in weights)
    predictions = mode.predict(mode.format_samples(subs[:2]), InferenceConfig(
        str(tiny_vl_dir), device="cpu", adapter_path=str(tmp_path / "run" / "checkpoints")))
    mode.close()
    assert [p["n_images"] for p in predictions] == [2, 2]
    assert all(p["prediction"] in ("Accept", "Reject") for p in predictions)
