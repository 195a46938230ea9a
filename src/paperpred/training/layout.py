"""The run folder of a training run.

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

from pathlib import Path

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
