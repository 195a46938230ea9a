"""Run `llamafactory-cli train` in a subprocess: progress from its trainer log, the full output
in the run folder, a summary at the end.

The executable is configurable (``SFTLoRAMode(llamafactory_cli=...)`` or the
``PAPERPRED_LLAMAFACTORY_CLI`` variable) so that training may live in an environment of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import yaml

from paperpred.errors import PaperpredError
from paperpred.inference.models import resolve_model
from paperpred.modes.child import die_with_parent
from paperpred.modes.progress import ProgressLog
from paperpred.modes.run_folder import (
    LOG,
    PROGRESS,
    SUMMARY,
    adapter_dir,
    prepare_output_dir,
    run_dir_of,
    training_failed,
)

ENV_CLI = "PAPERPRED_LLAMAFACTORY_CLI"
TRAINER_LOG = "trainer_log.jsonl"
INSTALL_HINT = ("LlamaFactory is not installed: pip install 'paperpred[train]' (or set "
                f"{ENV_CLI} to the llamafactory-cli of another environment)")


def find_llamafactory_cli(explicit: str | None = None) -> str:
    """The `llamafactory-cli` to run: ``explicit``, ``$PAPERPRED_LLAMAFACTORY_CLI``, the one
    beside this Python, or the one on PATH.

    Raises:
        PaperpredError: none found (one line saying how to install LlamaFactory).
    """
    for candidate in (explicit, os.environ.get(ENV_CLI)):
        if candidate:
            found = shutil.which(candidate)
            if not found:
                raise PaperpredError(f"llamafactory-cli {candidate!r} not found or not "
                                     f"executable; {INSTALL_HINT}")
            return found
    beside = Path(sys.executable).parent / "llamafactory-cli"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("llamafactory-cli")
    if found:
        return found
    raise PaperpredError(INSTALL_HINT)


def _seconds(text: Any) -> float | None:
    """LlamaFactory's "H:MM:SS" (or "D days, H:MM:SS") as seconds."""
    if not isinstance(text, str) or not text:
        return None
    days = 0
    if "day" in text:
        head, _, text = text.partition(", ")
        days = int(head.split()[0])
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        return None
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return days * 86400 + total


def _record(progress: ProgressLog, row: dict[str, Any]) -> None:
    progress.total_steps = row.get("total_steps") or progress.total_steps
    if row.get("loss") is None and row.get("eval_loss") is None:
        return  # the trainer's closing log line (its totals go to the summary)
    metrics = {"loss": row.get("loss"), "eval_loss": row.get("eval_loss"),
               "learning_rate": row.get("lr"), "epoch": row.get("epoch"),
               "tokens_per_s": row.get("throughput"), "total_tokens": row.get("total_tokens")}
    progress.record(int(row.get("current_steps", 0)),
                    {k: v for k, v in metrics.items() if v is not None},
                    elapsed_s=_seconds(row.get("elapsed_time")),
                    eta_s=_seconds(row.get("remaining_time")))


def run_llamafactory(config_path: str | Path, cli: str | None = None,
                     stream: TextIO | None = sys.stderr, poll_s: float = 1.0,
                     overwrite: bool = False) -> dict[str, Any]:
    """Train with ``llamafactory-cli train config_path``.

    A run killed half-way resumes from its last checkpoint when it was trained with the same
    settings (else it is refused, naming what changed); a finished one (an adapter in
    ``output_dir``) is refused; ``overwrite`` removes either first and starts afresh.

    Progress lines go to ``stream`` and ``train_progress.jsonl``; the full output to
    ``train.log``; the final metrics (runtime, samples/s, tokens/s, losses) to
    ``train_summary.json`` in the config's folder.

    Returns:
        The summary dict.

    Raises:
        PaperpredError: no such config, no LlamaFactory, or the run already finished.
        TrainingError: LlamaFactory exited with an error (the message holds the log's tail).
    """
    config_path = Path(config_path).resolve()
    if not config_path.is_file():
        raise PaperpredError(f"{config_path}: no such training config (write one with "
                             "generate_config)")
    executable = find_llamafactory_cli(cli)
    args = yaml.safe_load(config_path.read_text()) or {}
    output_dir = Path(args.get("output_dir", adapter_dir(config_path.parent)))
    prepare_output_dir(output_dir, overwrite, args)
    if args.get("model_name_or_path"):  # a Hub model not here: one line now, not a traceback
        resolve_model(args["model_name_or_path"])
    run_dir = run_dir_of(config_path)
    trainer_log = output_dir / TRAINER_LOG
    resuming = any(output_dir.glob("checkpoint-*"))
    if not resuming:
        (run_dir / PROGRESS).unlink(missing_ok=True)
        trainer_log.unlink(missing_ok=True)
    progress = ProgressLog(run_dir / PROGRESS, stream=stream)
    offset = trainer_log.stat().st_size if trainer_log.exists() else 0
    # LlamaFactory runs `torchrun` by name for several processes (FORCE_TORCHRUN=1): the one
    # of llamafactory-cli's own environment, even when that environment is not activated.
    bin_dir = str(Path(executable).resolve().parent) if os.sep in executable else None
    path = os.pathsep.join(p for p in (bin_dir, os.environ.get("PATH")) if p)
    env = dict(os.environ, PYTHONUNBUFFERED="1", PATH=path)
    command = [executable, "train", str(config_path)]
    if stream is not None:
        state = "resuming from the last checkpoint" if resuming else "loading model and data"
        print(f"[paperpred] {' '.join(command)} ({state}; log: {run_dir / LOG})",
              file=stream, flush=True)
    started = time.monotonic()
    with open(run_dir / LOG, "a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=die_with_parent())
        try:
            while True:
                done = proc.poll() is not None
                offset = _follow(trainer_log, offset, progress)
                if done:
                    break
                time.sleep(poll_s)
        except BaseException:
            proc.terminate()
            proc.wait(timeout=30)
            raise
    if proc.returncode != 0:
        raise training_failed("llamafactory-cli train", proc.returncode, run_dir)
    summary = _summary(output_dir, progress, time.monotonic() - started)
    (run_dir / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _follow(path: Path, offset: int, progress: ProgressLog) -> int:
    """Record the complete new lines of ``path`` after ``offset``; the new offset."""
    if not path.exists():
        return offset
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1
    for line in data[:end].decode("utf-8", errors="replace").splitlines():
        if line.strip():
            _record(progress, json.loads(line))
    return offset + end


def _summary(output_dir: Path, progress: ProgressLog, wall_s: float) -> dict[str, Any]:
    results_file = output_dir / "all_results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    losses = [r["loss"] for r in progress.records if r.get("loss") is not None]
    runtime = results.get("train_runtime")
    return {
        "engine": "llamafactory",
        # as GRPO's summary: the trainer's own runtime in seconds (LlamaFactory's results
        # call it train_runtime; they follow unchanged)
        "train_runtime_s": round(float(runtime), 3) if runtime is not None else None,
        "adapter_dir": str(output_dir),
        "steps": progress.records[-1]["step"] if progress.records else None,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "wall_s": round(wall_s, 2),
        **results,
    }
