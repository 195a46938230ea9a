"""The adapter folder of a training run: a finished adapter is not trained over, a killed run
resumes only with the settings it was trained with, overwrite starts afresh."""

from __future__ import annotations

import pytest

from paperpred.errors import PaperpredError
from paperpred.modes.run_folder import TRAINED_WITH, holds_adapter_of, prepare_output_dir

CONFIG = {"model": {"model_name_or_path": "smollm2-135m-instruct"},
          "grpo": {"learning_rate": 3e-4, "per_device_train_batch_size": 16, "max_steps": 120}}


def killed_run(folder, config):
    prepare_output_dir(folder, False, config)
    (folder / "checkpoint-30").mkdir()
    (folder / "checkpoint-30" / "trainer_state.json").write_text("{}")


def test_a_killed_run_resumes_with_its_own_settings(tmp_path):
    out = tmp_path / "checkpoints"
    killed_run(out, CONFIG)
    longer = {**CONFIG, "grpo": {**CONFIG["grpo"], "max_steps": 300}}  # may train longer
    prepare_output_dir(out, False, longer)
    assert (out / "checkpoint-30" / "trainer_state.json").is_file()  # left to resume


def test_a_killed_run_with_other_settings_is_not_resumed(tmp_path):
    out = tmp_path / "checkpoints"
    killed_run(out, {**CONFIG, "grpo": {**CONFIG["grpo"], "learning_rate": 5e-4,
                                        "per_device_train_batch_size": 8}})
    with pytest.raises(PaperpredError) as err:
        prepare_output_dir(out, False, CONFIG)
    message = str(err.value)
    assert "grpo.learning_rate: 0.0005 -> 0.0003" in message
    assert "grpo.per_device_train_batch_size: 8 -> 16" in message
    assert "--overwrite" in message and str(out) in message
    assert (out / "checkpoint-30").is_dir()  # nothing removed without overwrite


def test_overwrite_starts_afresh(tmp_path):
    out = tmp_path / "checkpoints"
    killed_run(out, {**CONFIG, "grpo": {**CONFIG["grpo"], "learning_rate": 5e-4}})
    prepare_output_dir(out, True, CONFIG)
    assert not (out / "checkpoint-30").exists()
    assert "0.0003" in (out / TRAINED_WITH).read_text()


def test_a_finished_adapter_is_not_trained_over(tmp_path):
    out = tmp_path / "checkpoints"
    out.mkdir()
    (out / "adapter_config.json").write_text("{}")
    with pytest.raises(PaperpredError, match="already holds a trained adapter"):
        prepare_output_dir(out, False, CONFIG)
    prepare_output_dir(out, True, CONFIG)
    assert not (out / "adapter_config.json").exists()


def test_a_checkpoint_killed_mid_save_is_removed_before_resuming(tmp_path):
    # A SIGKILL during the Trainer's save leaves checkpoint-N without trainer_state.json (the
    # file it writes last); the trainer would pick it as the last one and fail on every restart.
    out = tmp_path / "checkpoints"
    killed_run(out, CONFIG)
    (out / "checkpoint-40").mkdir()
    (out / "checkpoint-40" / "adapter_model.safetensors").write_bytes(b"\0" * 8)
    (out / "checkpoint-50").mkdir()
    (out / "checkpoint-50" / "trainer_state.json").write_text('{"global_st')  # torn
    prepare_output_dir(out, False, CONFIG)
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-30"]


def test_an_adapter_killed_during_its_evaluation_is_known_by_its_config(tmp_path):
    out = tmp_path / "checkpoints"
    prepare_output_dir(out, False, CONFIG)
    assert not holds_adapter_of(out, CONFIG)  # no adapter yet: train
    (out / "adapter_config.json").write_text("{}")
    assert holds_adapter_of(out, CONFIG)  # train_into_run resumes the held-out evaluation
    assert not holds_adapter_of(out, {**CONFIG, "grpo": {**CONFIG["grpo"], "max_steps": 300}})
