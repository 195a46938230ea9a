"""Training progress: one JSON line per logged step in the run folder and one line on the
terminal (step, loss, reward, KL, speed, ETA)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

# Terminal columns, in this order, when a record has them (name in the record, label shown).
SHOWN = (("loss", "loss"), ("reward", "reward"), ("reward_std", "±"), ("kl", "kl"),
         ("eval_loss", "eval_loss"), ("learning_rate", "lr"))


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-2 and value != 0 else f"{value:.4f}"
    return str(value)


class ProgressLog:
    """Append step records to ``path`` and print a progress line for each.

    Args:
        path: the run folder's ``train_progress.jsonl`` (appended to).
        total_steps: optimizer steps of the run, for the ETA (may be set later).
        stream: where progress lines go (stderr by default); None prints nothing.
    """

    def __init__(self, path: str | Path, total_steps: int | None = None,
                 stream: TextIO | None = sys.stderr) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.total_steps = total_steps
        self.stream = stream
        self.started = time.monotonic()
        self.records: list[dict[str, Any]] = []

    def record(self, step: int, metrics: dict[str, Any], elapsed_s: float | None = None,
               eta_s: float | None = None) -> dict[str, Any]:
        """Log one step. ``elapsed_s``/``eta_s`` default to this log's own clock."""
        elapsed = time.monotonic() - self.started if elapsed_s is None else elapsed_s
        if eta_s is None and self.total_steps and step > 0:
            eta_s = elapsed / step * max(0, self.total_steps - step)
        row = {"step": int(step), "total_steps": self.total_steps,
               **{k: v for k, v in metrics.items() if k not in ("step", "total_steps")},
               "elapsed_s": round(float(elapsed), 3),
               "eta_s": None if eta_s is None else round(float(eta_s), 3)}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, default=float) + "\n")
        self.records.append(row)
        if self.stream is not None:
            print(self.line(row), file=self.stream, flush=True)
        return row

    @staticmethod
    def line(row: dict[str, Any]) -> str:
        total = row.get("total_steps")
        parts = [f"[paperpred] step {row['step']}" + (f"/{total}" if total else "")]
        for key, label in SHOWN:
            if row.get(key) is not None:
                sep = "" if label == "±" else " "
                parts.append(f"{label}{sep}{_number(row[key])}")
        step = row["step"] or 1
        parts.append(f"{row['elapsed_s'] / step:.1f} s/step")
        parts.append(f"ETA {format_duration(row.get('eta_s'))}")
        if row.get("collapse_warning"):
            parts.append(f"WARNING {row['collapse_warning']}")
        return " | ".join(parts)


def read_progress(path: str | Path) -> list[dict[str, Any]]:
    """The step records of a run folder's ``train_progress.jsonl`` (empty when absent)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
