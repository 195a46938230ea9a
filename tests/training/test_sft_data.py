"""SFT data and config: the LlamaFactory dataset, dataset_info.json, the YAML (through
LlamaFactory's own argument parser), templates and DeepSpeed files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from training_helpers import with_pages

from paperpred import (
    BinaryAcceptRejectHandler,
    DataFormat,
    LaunchOptions,
    ModelType,
    SFTLoRAMode,
    SFTOptions,
    TrainingConfig,
    get_input_formatter,
)
from paperpred.errors import PaperpredError
from paperpred.modes.deepspeed import deepspeed_config
from paperpred.modes.sft.templates import llamafactory_template


def _mode(model="tiny-qwen2", fmt=DataFormat.SHAREGPT, formatter="abstract_only", **cfg):
    config = TrainingConfig(model_name_or_path=model, **cfg)
    return SFTLoRAMode(config, get_input_formatter(formatter), BinaryAcceptRejectHandler(),
                       data_format=fmt)


def test_sharegpt_dataset_keeps_system_turn_and_label(balanced_rows, tmp_path):
    mode = _mode()
    samples = mode.format_samples(balanced_rows, include_label=True)
    info = mode.prepare_data(samples, tmp_path / "data")
    rows = json.loads(Path(info["file"]).read_text())
    registry = json.loads((tmp_path / "data" / "dataset_info.json").read_text())
    assert info["n_samples"] == 8 and info["labels"] == {"Answer: Accept": 4, "Answer: Reject": 4}
    assert registry[info["dataset"]]["formatting"] == "sharegpt"
    assert registry[info["dataset"]]["file_name"] == Path(info["file"]).name
    assert "images" not in registry[info["dataset"]]["columns"]
    first = rows[0]
    assert first["system"] and first["messages"][0]["role"] == "user"
    assert first["messages"][-1] == {"role": "assistant", "content": samples[0].label}
    assert balanced_rows[0].title in first["messages"][0]["content"]
    assert balanced_rows[0].decision not in first["messages"][0]["content"]  # leak-free


def test_alpaca_dataset_columns(balanced_rows, tmp_path):
    mode = _mode(fmt=DataFormat.ALPACA)
    info = mode.prepare_data(mode.format_samples(balanced_rows, include_label=True), tmp_path)
    rows = json.loads(Path(info["file"]).read_text())
    registry = json.loads((tmp_path / "dataset_info.json").read_text())[info["dataset"]]
    assert registry["columns"] == {"prompt": "instruction", "query": "input",
                                   "response": "output", "system": "system"}
    assert set(rows[0]) == {"instruction", "input", "output", "system"}
    assert rows[0]["output"] in ("Answer: Accept", "Answer: Reject")


def test_images_become_files_one_marker_each(balanced_rows, page_images, tmp_path):
    subs = with_pages(balanced_rows[:2], page_images[:2])
    mode = _mode(model="tiny-qwen2.5-vl", formatter="abstract_with_page_images",
                 model_type=ModelType.VISION_LANGUAGE)
    samples = mode.format_samples(subs, include_label=True)
    info = mode.prepare_data(samples, tmp_path)
    rows = json.loads(Path(info["file"]).read_text())
    assert info["has_images"] and info["n_images"] == 4
    for row in rows:
        assert len(row["images"]) == 2 and all(Path(p).is_file() for p in row["images"])
        text = "".join(m["content"] for m in row["messages"])
        assert text.count("<image>") == len(row["images"])
    registry = json.loads((tmp_path / "dataset_info.json").read_text())[info["dataset"]]
    assert registry["columns"]["images"] == "images"
    with pytest.raises(PaperpredError, match="alpaca format cannot carry"):
        _mode(fmt=DataFormat.ALPACA).prepare_data(samples, tmp_path / "alpaca")


def test_bad_training_input_is_named(balanced_rows, tmp_path):
    mode = _mode()
    with pytest.raises(PaperpredError, match="no training samples"):
        mode.prepare_data([], tmp_path)
    unlabelled = mode.format_samples(balanced_rows[:1], include_label=False)
    with pytest.raises(PaperpredError, match=f"{balanced_rows[0].submission_id} has no label"):
        mode.prepare_data(unlabelled, tmp_path)


@pytest.mark.parametrize("names, template", [
    (("tiny-qwen2",), "qwen"), (("Qwen/Qwen2.5-7B-Instruct",), "qwen"),
    (("Qwen/Qwen2.5-VL-7B-Instruct",), "qwen2_vl"), (("tiny-qwen2.5-vl",), "qwen2_vl"),
    (("smollm2-135m-instruct",), "smollm2"), (("meta-llama/Meta-Llama-3-8B-Instruct",), "llama3"),
])
def test_template_by_family(names, template):
    assert llamafactory_template(*names) == template


def test_template_from_config_json_and_unknown(tmp_path, tiny_vl_dir):
    assert llamafactory_template("my-run", str(tiny_vl_dir)) == "qwen2_vl"
    (tmp_path / "config.json").write_text('{"model_type": "mamba"}')
    with pytest.raises(PaperpredError, match="sft.*template"):
        llamafactory_template(str(tmp_path))


def _config(mode, rows, tmp_path):
    info = mode.prepare_data(mode.format_samples(rows, include_label=True), tmp_path / "data")
    path = mode.generate_config(info, tmp_path / "run")
    return path, yaml.safe_load(path.read_text())


def test_config_maps_every_training_field(balanced_rows, tmp_path):
    mode = _mode(learning_rate=3e-4, num_epochs=2, batch_size=2, gradient_accumulation_steps=3,
                 lora_rank=4, lora_alpha=12, lora_dropout=0.1, max_length=777, val_size=0.25,
                 seed=7, extra={"max_steps": 5, "warmup_ratio": 0.0})
    path, args = _config(mode, balanced_rows, tmp_path)
    assert path == (tmp_path / "run" / "sft_config.yaml").resolve()
    expected = {"stage": "sft", "finetuning_type": "lora", "template": "qwen",
                "learning_rate": 3e-4, "num_train_epochs": 2.0, "per_device_train_batch_size": 2,
                "gradient_accumulation_steps": 3, "lora_rank": 4, "lora_alpha": 12,
                "lora_dropout": 0.1, "cutoff_len": 777, "val_size": 0.25, "seed": 7,
                "max_steps": 5, "warmup_ratio": 0.0, "bf16": False, "fp16": False,
                "output_dir": str((tmp_path / "run" / "checkpoints").resolve())}
    assert {k: args.get(k) for k in expected} == expected
    assert args["logging_steps"] >= 1 and args["save_steps"] >= 1
    assert "image_max_pixels" not in args


def test_deepspeed_file_written_beside(balanced_rows, tmp_path):
    mode = _mode(launch=LaunchOptions(deepspeed="zero3"))
    _, args = _config(mode, balanced_rows, tmp_path)
    written = json.loads(Path(args["deepspeed"]).read_text())
    assert Path(args["deepspeed"]).parent == (tmp_path / "run").resolve()
    assert written["zero_optimization"]["stage"] == 3
    assert deepspeed_config("zero2")["zero_optimization"]["stage"] == 2
    with pytest.raises(PaperpredError, match="zero2, zero3"):
        deepspeed_config("zero4")


PARSE = """
import sys, yaml
from llamafactory.hparams import get_train_args
for path in sys.argv[1:]:
    model, data, training, finetuning, generating = get_train_args(yaml.safe_load(open(path)))
    print(path, finetuning.stage, finetuning.finetuning_type, finetuning.lora_rank,
          data.template, data.cutoff_len, model.image_max_pixels, training.output_dir)
"""


def test_llamafactory_parser_accepts_the_yaml(balanced_rows, page_images, tmp_path):
    """LlamaFactory's own argument parser (HfArgumentParser: unknown keys are errors)."""
    pytest.importorskip("llamafactory")
    text_path, _ = _config(_mode(), balanced_rows, tmp_path / "text")
    vl_path, vl_args = _config(
        _mode(model="tiny-qwen2.5-vl", formatter="abstract_with_page_images",
              model_type=ModelType.VISION_LANGUAGE, sft=SFTOptions(image_max_pixels=12544)),
        with_pages(balanced_rows[:2], page_images[:1]), tmp_path / "vl")
    assert vl_args["template"] == "qwen2_vl" and vl_args["freeze_vision_tower"] is True
    done = subprocess.run([sys.executable, "-c", PARSE, str(text_path), str(vl_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line.split() for line in done.stdout.splitlines() if line.startswith("/")]
    assert [line[1:6] for line in lines] == [["sft", "lora", "8", "qwen", "4096"],
                                             ["sft", "lora", "8", "qwen2_vl", "4096"]]
    assert lines[1][6] == "12544"
    assert lines[0][7].endswith("checkpoints")
