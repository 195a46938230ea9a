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

import shutil
from pathlib import Path

from paperpred.errors import PaperpredError

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


def refuse_finished(output_dir: str | Path, overwrite: bool) -> None:
    """Stop before training into a folder that already holds a trained adapter, or (with
    ``overwrite``) remove that folder. A folder with only ``checkpoint-N/`` is a killed run:
    it is left for the trainer to resume."""
    output_dir = Path(output_dir)
    if not (output_dir / "adapter_config.json").exists():
        return
    if not overwrite:
        raise PaperpredError(f"{output_dir} already holds a trained adapter: predict with it, "
                             "or pass overwrite=True (--overwrite) to train again")
    shutil.rmtree(output_dir)


class TrainingError(PaperpredError):
    """A training run failed; the message names the log to read and shows its end."""


def training_failed(what: str, returncode: int, run_dir: str | Path,
                    lines: int = 15) -> TrainingError:
    """The error for a training process that exited with ``returncode``: the last ``lines``
    of the run folder's ``train.log`` are in the message."""
    log = Path(run_dir) / LOG
    text = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
    return TrainingError(f"{what} exited with {returncode}; the last lines of {log}:\n"
                         + "\n".join(text))
