"""The run folder of a training run, and the error for a run that failed (with its log).

``generate_config(data_info, out_dir)`` makes ``out_dir`` a run folder::

    out_dir/
      sft_config.yaml | grpo_config.yaml   the config that `train` runs (hand-editable)
      ds_config.json                       DeepSpeed, when asked for
      checkpoints/                         the trained LoRA adapter (predict with adapter_path=
                                           out_dir/checkpoints) and checkpoint-N/ folders
      train_progress.jsonl                 one JSON line per logged step (step, loss, ...)
      train.log                            the trainer's full output
      train_summary.json                   runtime, steps, throughput, final metrics
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from paperpred.errors import PaperpredError, TrainingError

CHECKPOINTS = "checkpoints"
PROGRESS = "train_progress.jsonl"
LOG = "train.log"
SUMMARY = "train_summary.json"
DEEPSPEED = "ds_config.json"


def run_dir_of(config_path: str | Path) -> Path:
    """The run folder a generated config lives in."""
    return Path(config_path).resolve().parent


def adapter_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINTS


# In the adapter folder: the config its checkpoints are being trained with.
TRAINED_WITH = "paperpred_trained_with.yaml"
# Settings that may change when a killed run is resumed: how long it trains and saves.
RESUMABLE_CHANGES = ("max_steps", "num_train_epochs", "save_steps", "save_total_limit")


def prepare_output_dir(output_dir: str | Path, overwrite: bool,
                       config: dict[str, Any] | None = None) -> None:
    """Make ``output_dir`` (the adapter folder) ready to train ``config`` into.

    - ``overwrite``: remove whatever is there (a finished adapter or a killed run's
      ``checkpoint-N/`` folders) and start afresh.
    - A trained adapter is there: refuse (predict with it, or overwrite).
    - ``checkpoint-N/`` folders of a killed run: left for the trainer to resume, but only when
      they were trained with this same ``config`` (apart from :data:`RESUMABLE_CHANGES`);
      otherwise refuse, naming the settings that differ (a resumed run would silently go on
      with the other run's weights, optimizer state and step count). A checkpoint the kill
      cut off mid-save (no readable ``trainer_state.json``, the file the Trainer writes last)
      is removed: the trainer would pick it as the last one and fail on every restart.

    ``config`` (the run's parsed config) is recorded in ``output_dir`` for that check.
    """
    output_dir = Path(output_dir)
    if overwrite and output_dir.exists():
        shutil.rmtree(output_dir)
    if (output_dir / "adapter_config.json").exists():
        raise PaperpredError(f"{output_dir} already holds a trained adapter: predict with it, "
                             "or pass overwrite=True (--overwrite) to train again")
    remove_torn_checkpoints(output_dir)
    if config is None:
        return
    record = output_dir / TRAINED_WITH
    if any(output_dir.glob("checkpoint-*")) and record.exists():
        old, new = _flat(yaml.safe_load(record.read_text()) or {}), _flat(config)
        changed = [k for k in sorted(set(old) | set(new))
                   if k.rsplit(".", 1)[-1] not in RESUMABLE_CHANGES and old.get(k) != new.get(k)]
        if changed:
            shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:6])
            more = f" and {len(changed) - 6} more" if len(changed) > 6 else ""
            raise PaperpredError(
                f"{output_dir} holds the checkpoints of a killed run trained with other "
                f"settings ({shown}{more}); resuming would mix the two runs. Pass "
                "overwrite=True (--overwrite) to start afresh, or train into another folder")
    output_dir.mkdir(parents=True, exist_ok=True)
    record.write_text(yaml.safe_dump(config, sort_keys=True))


def holds_adapter_of(output_dir: str | Path, config: dict[str, Any]) -> bool:
    """True when ``output_dir`` holds a trained adapter that was trained with exactly
    ``config`` (the record :func:`prepare_output_dir` wrote)."""
    output_dir = Path(output_dir)
    record = output_dir / TRAINED_WITH
    return ((output_dir / "adapter_config.json").exists() and record.exists()
            and yaml.safe_load(record.read_text()) == config)


def remove_torn_checkpoints(output_dir: str | Path) -> list[Path]:
    """Remove the ``checkpoint-N/`` folders of ``output_dir`` that a kill cut off mid-save (no
    ``trainer_state.json``, or one that is not JSON); the removed folders."""
    torn = []
    for folder in Path(output_dir).glob("checkpoint-*"):
        state = folder / "trainer_state.json"
        try:
            json.loads(state.read_text())
        except (OSError, ValueError):
            torn.append(folder)
            shutil.rmtree(folder, ignore_errors=True)
    return torn


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"grpo": {"beta": 0.1}}`` -> ``{"grpo.beta": 0.1}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def training_failed(what: str, returncode: int, run_dir: str | Path,
                    lines: int = 15) -> TrainingError:
    """The error for a training process that exited with ``returncode``: the last ``lines``
    of the run folder's ``train.log`` are in the message."""
    log = Path(run_dir) / LOG
    text = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
    return TrainingError(f"{what} exited with {returncode}; the last lines of {log}:\n"
                         + "\n".join(text))


# ----- prediction run folders ---------------------------------------------------------------
CONFIG = "config.yaml"
#: What a prediction run writes (removed when a folder is started afresh).
PREDICTION_FILES = ("predictions.jsonl", "predictions.json", "metrics.json", "report.md")


def prepare_run_dir(run_dir: str | Path, resolved: str, overwrite: bool = False) -> Path:
    """Create a run folder and write its ``config.yaml`` (``resolved``: the config as YAML
    text). A folder of an earlier run of the same config is reused (the run resumes); one with
    another config is an error unless ``overwrite``."""
    run_dir = Path(run_dir)
    saved = run_dir / CONFIG
    if saved.exists() and saved.read_text() != resolved:
        if not overwrite:
            raise PaperpredError(
                f"{run_dir} holds a run with another config: pass --output-dir for a new "
                "folder, or --overwrite to start it again"
            )
        for name in PREDICTION_FILES:
            (run_dir / name).unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    saved.write_text(resolved)
    return run_dir
