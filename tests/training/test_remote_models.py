"""Configs for models whose weights are not on this machine: written here, trained on a
cluster (the spec's workflow). Training and prediction need the weights; configs do not."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from paperpred import (
    BinaryAcceptRejectHandler,
    GRPOMode,
    LaunchOptions,
    ModelType,
    SFTLoRAMode,
    TrainingConfig,
    get_input_formatter,
)
from paperpred.cli.main import main
from paperpred.errors import ModelNotAvailableError
from paperpred.inference.models import local_model_path

TEXT, VL = "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-VL-7B-Instruct"
PARSE = """
import sys, yaml
from llamafactory.hparams import get_train_args
for path in sys.argv[1:]:
    model, data, training, finetuning, generating = get_train_args(yaml.safe_load(open(path)))
    print("PARSED", model.model_name_or_path, data.template, finetuning.stage, training.bf16)
"""


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """As on a machine without the Hub (the test command sets this too)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from paperpred.hub import hub_reachable

    hub_reachable.cache_clear()
    yield
    hub_reachable.cache_clear()


def _written(mode, rows, tmp_path):
    info = mode.prepare_data(mode.format_samples(rows, include_label=True), tmp_path / "data")
    return mode.generate_config(info, tmp_path / "run")


def test_local_model_path_never_downloads(embedded_model):
    assert local_model_path(TEXT) is None
    assert local_model_path("smollm2-135m-instruct") == str(embedded_model)
    with pytest.raises(ModelNotAvailableError):
        local_model_path("./no/such/folder")


def test_sft_yaml_for_hub_models_passes_llamafactory_parser(balanced_rows, tmp_path):
    pytest.importorskip("llamafactory")
    text = _written(SFTLoRAMode(TrainingConfig(model_name_or_path=TEXT),
                                get_input_formatter("abstract_with_reviews"),
                                BinaryAcceptRejectHandler()), balanced_rows, tmp_path / "t")
    vl = _written(SFTLoRAMode(TrainingConfig(model_name_or_path=VL,
                                             model_type=ModelType.VISION_LANGUAGE),
                              get_input_formatter("abstract_only"), BinaryAcceptRejectHandler()),
                  balanced_rows, tmp_path / "v")
    args = yaml.safe_load(vl.read_text())
    assert args["model_name_or_path"] == VL and args["template"] == "qwen2_vl"
    assert args["freeze_vision_tower"] is True and "image_max_pixels" in args
    header = text.read_text().split("###")[0]
    assert f"The weights of {TEXT} are not on the machine" in header
    assert "Hugging Face Hub" in header and "target_device=cuda" in header
    done = subprocess.run([sys.executable, "-c", PARSE, str(text), str(vl)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("PARSED")]
    assert parsed == [[TEXT, "qwen", "sft", "False"], [VL, "qwen2_vl", "sft", "False"]]


def test_sft_yaml_for_a_gpu_cluster(balanced_rows, tmp_path):
    mode = SFTLoRAMode(TrainingConfig(model_name_or_path=TEXT,
                                      launch=LaunchOptions(target_device="cuda")),
                       get_input_formatter("abstract_only"), BinaryAcceptRejectHandler())
    args = yaml.safe_load(_written(mode, balanced_rows, tmp_path).read_text())
    assert args["bf16"] is True and "disable_gradient_checkpointing" not in args
    assert "target_device" not in args


def test_grpo_config_for_hub_models(balanced_rows, tmp_path):
    trl = pytest.importorskip("trl")
    for name, kind in ((TEXT, ModelType.TEXT_ONLY), (VL, ModelType.VISION_LANGUAGE)):
        mode = GRPOMode(TrainingConfig(model_name_or_path=name, model_type=kind, batch_size=4),
                        get_input_formatter("abstract_only"), BinaryAcceptRejectHandler())
        path = _written(mode, balanced_rows, tmp_path / kind.value)
        cfg = yaml.safe_load(path.read_text())
        assert cfg["model"] == {"model_name_or_path": name, "model_type": kind.value,
                                "vision": kind is ModelType.VISION_LANGUAGE,
                                "weights_here": False}
        assert "are not on the machine that wrote this file" in path.read_text()
        trl.GRPOConfig(**cfg["grpo"])  # TRL's own dataclass accepts every field
    cuda = GRPOMode(TrainingConfig(model_name_or_path=TEXT, batch_size=4,
                                   launch=LaunchOptions(target_device="cuda")),
                    get_input_formatter("abstract_only"), BinaryAcceptRejectHandler())
    grpo = yaml.safe_load(_written(cuda, balanced_rows, tmp_path / "cuda").read_text())["grpo"]
    assert grpo["bf16"] is True and grpo["use_cpu"] is False and grpo["gradient_checkpointing"]


@pytest.mark.parametrize("mode", ["sft", "grpo"])
def test_cli_config_only_for_a_hub_model(mode, tmp_path, capsys):
    out = tmp_path / mode
    assert main(["train", "--mode", mode, "--model", TEXT, "--limit", "16", "--batch-size",
                 "4", "--config-only", "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    name = "sft_config.yaml" if mode == "sft" else "grpo_config.yaml"
    assert f"training config: {(out / name).resolve()}" in printed
    written = yaml.safe_load((out / name).read_text())
    model = written["model_name_or_path"] if mode == "sft" else written["model"][
        "model_name_or_path"]
    assert model == TEXT


def test_training_a_model_that_is_not_here_fails_in_one_line(balanced_rows, tmp_path):
    pytest.importorskip("llamafactory")
    mode = SFTLoRAMode(TrainingConfig(model_name_or_path=TEXT),
                       get_input_formatter("abstract_only"), BinaryAcceptRejectHandler())
    path = _written(mode, balanced_rows, tmp_path)
    with pytest.raises(ModelNotAvailableError, match="not in the Hugging Face cache") as info:
        mode.train(path)
    assert "\n" not in str(info.value)
