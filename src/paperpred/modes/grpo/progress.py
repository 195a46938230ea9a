"""GRPO progress: a ``TrainerCallback`` that turns TRL's per-step logs into the run folder's
``train_progress.jsonl`` (and one terminal line per step), plus the run summary.

A step record holds: ``loss``, ``reward`` and ``reward_std`` (the weighted total),
``rewards/<name>/mean`` and ``/std`` per reward function, ``kl`` (when ``beta`` > 0),
``completion_length`` (mean tokens), ``learning_rate``, ``grad_norm``, ``entropy``,
``num_tokens`` (prompt + completion tokens seen), ``frac_reward_zero_std`` and
``reward_errors`` (completions whose reward function raised since the previous step; per
function as ``reward_errors/<name>``), ``predicted`` (the share of each class answer among the
step's completions, ``unparsed`` included; classification targets) and ``collapse_warning``
when one answer takes more than 90% of them (reward hacking, collapse onto the prior).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from transformers import TrainerCallback

from paperpred.evaluation.analysis import collapse_warning
from paperpred.modes.progress import ProgressLog
from paperpred.modes.run_folder import PROGRESS
from paperpred.outputs.rewards import RewardStats

# TRL's log key -> the record's key.
RENAMED = {
    "loss": "loss", "reward": "reward", "reward_std": "reward_std", "kl": "kl",
    "completions/mean_length": "completion_length",
    "completions/clipped_ratio": "completion_clipped_ratio",
    "learning_rate": "learning_rate", "grad_norm": "grad_norm", "entropy": "entropy",
    "num_tokens": "num_tokens", "frac_reward_zero_std": "frac_reward_zero_std",
    "clip_ratio/region_mean": "clip_ratio", "epoch": "epoch",
}


class GRPOProgressCallback(TrainerCallback):
    """Records each logged step (main process only) and keeps TRL's final train metrics."""

    def __init__(self, run_dir: str | Path, stats: RewardStats,
                 stream: TextIO | None = sys.stderr, log_file: TextIO | None = None,
                 reset: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.stats = stats
        self.log_file = log_file
        path = self.run_dir / PROGRESS
        if reset:
            path.unlink(missing_ok=True)
        self.progress = ProgressLog(path, stream=stream)
        self.final: dict[str, Any] = {}
        self.started: float | None = None
        self.world_size = 1
        self.collapse_steps = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.progress.total_steps = int(state.max_steps) if state.max_steps else None
        self.started = time.monotonic()
        self.world_size = int(getattr(args, "world_size", 1) or 1)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        logs = dict(logs or {})
        if not state.is_world_process_zero:
            return
        if self.log_file is not None:
            self.log_file.write(f"[step {state.global_step}] {json.dumps(logs, default=str)}\n")
            self.log_file.flush()
        if "train_runtime" in logs:
            self.final = logs
            return
        if not any(k in logs for k in ("loss", "reward")):
            return
        row: dict[str, Any] = {}
        for key, value in logs.items():
            if key in RENAMED:
                row[RENAMED[key]] = value
            elif key.startswith("rewards/"):
                row[key] = value
        predicted = self.stats.take_predicted()
        if predicted:
            total = sum(predicted.values())
            row["predicted"] = {k: round(v / total, 4) for k, v in
                                sorted(predicted.items(), key=lambda kv: -kv[1])}
            warning = collapse_warning(row["predicted"], f"step {state.global_step}")
            if warning:
                row["collapse_warning"] = warning
                self.collapse_steps += 1
        errors = self.stats.take()
        row["reward_errors"] = sum(errors.values())
        for name, count in errors.items():
            row[f"reward_errors/{name}"] = count
        elapsed = time.monotonic() - self.started if self.started is not None else None
        self.progress.record(int(state.global_step), row, elapsed_s=elapsed)

    def summary(self, trainer: Any, wall_s: float, extra: dict[str, Any]) -> dict[str, Any]:
        """``train_summary.json``: runtime, steps, speeds, generated tokens and last values."""
        records = self.progress.records
        steps = int(trainer.state.global_step)
        runtime = float(self.final.get("train_runtime") or wall_s)
        generated = self.stats.generated_tokens
        last = records[-1] if records else {}
        rewards = [r["reward"] for r in records if r.get("reward") is not None]
        return {
            "engine": "trl-grpo",
            "steps": steps,
            "train_runtime_s": round(runtime, 3),
            "wall_s": round(wall_s, 3),
            "steps_per_s": round(steps / runtime, 5) if runtime > 0 else None,
            "generated_tokens": generated,
            "generated_tokens_per_s": round(generated / runtime, 3) if runtime > 0 else None,
            "completions": self.stats.completions,
            "generated_tokens_counted_on": "main process" if self.world_size > 1 else "all",
            "world_size": self.world_size,
            "num_tokens": last.get("num_tokens"),
            "train_loss": self.final.get("train_loss"),
            "first_reward": rewards[0] if rewards else None,
            "last_reward": rewards[-1] if rewards else None,
            "reward_errors": dict(self.stats.total),
            "collapse_steps": self.collapse_steps,
            "last_step": last,
            **extra,
        }
