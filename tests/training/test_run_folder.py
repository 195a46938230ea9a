"""The adapter folder of a training run: a finished adapter is not trained over, a killed run
resumes only with the settings it was trained with, overwrite starts afresh."""

from __future__ import annotations

import pytest

from paperpred.errors import PaperpredError
from paperpred.modes.run_folder import TRAINED_WITH, prepare_output_dir

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
