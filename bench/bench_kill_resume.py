"""Benchmark: kill and resume. `paperpred predict`, a `paperpred sweep` and `paperpred train`
are SIGKILLed (the whole process group, as a scheduler's preemption or `kill -9 -PGID` does) at
seeded random points, started again each time, then left to finish; what they end with is
compared to an uninterrupted run of the same config, timed in the same run.

1. predict: the embedded model on the first ``--limit`` bundled papers, ``--batch-size``
   papers per journal batch. A reference run, then a second run folder killed ``--kills`` times:
   a quarter of the kills early (a random delay from the start, in the imports), a quarter
   after the run has really started (its "run folder" line printed: model loading, first
   batch), a quarter mid-batch (a random part of a batch's time after the journal grew in
   this life) and a quarter at the moment the journal grows (while it is appended and
   fsynced). Then the run is finished. Checked: no duplicate ids in the journal, the same ids
   as the reference in predictions.json, the scores (to 1e-6) and decisions of the reference.
2. sweep: a copy of configs/sweep_cpu.yaml with a small limit, killed ``--sweep-kills`` times
   mid-cell, then finished: each cell's predictions equal the uninterrupted sweep's cell, and
   cells finished before a restart are skipped.
3. train: a copy of configs/train_sft_cpu.yaml (a few steps, a checkpoint every 2), killed
   as soon as a checkpoint folder appears (mid-save), mid-step after a checkpoint, and during
   the held-out evaluation after the adapter is written, then finished: it must resume from
   its checkpoint, write one adapter, and end with the per-step losses and held-out
   predictions of an uninterrupted run.
4. parent_only: `paperpred train` SIGKILLed alone (its pid, not its group: `kill -9 PID`, the
   OOM killer): is its llamafactory-cli child left training (an orphan that a restart would
   race in the same folder)?

The machine is shared (2 cores): torch runs one thread (``OMP_NUM_THREADS=1``; two threads
against other processes' threads ran about 10x slower here). Writes
bench/results/kill_resume.json.

    python bench/bench_kill_resume.py [--seed 15] [--limit 64] [--batch-size 4] [--kills 20]
                                      [--parts predict,sweep,train,parent_only]
                                      [--workdir DIR] [--merge]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from machine import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "kill_resume.json"
PAPERPRED = [sys.executable, "-m", "paperpred"]
POLL_S = 0.005
PARTS = ("predict", "sweep", "train", "parent_only")


def _env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


class Life:
    """One start of a command: its own process group (killed whole), output to a file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self.handle = open(log, "a", encoding="utf-8")
        self.handle.write(f"\n$ {' '.join(args)}\n")
        self.handle.flush()
        self.start_bytes = log.stat().st_size
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(args, stdout=self.handle, stderr=subprocess.STDOUT,
                                     cwd=ROOT, env=_env(), start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def output(self) -> str:
        with open(self.log, encoding="utf-8", errors="replace") as fh:
            fh.seek(self.start_bytes)
            return fh.read()

    def kill(self) -> bool:
        """SIGKILL the process group; True when it was still running."""
        alive = self.alive()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.handle.close()
        return alive

    def finish(self, timeout: float = 900) -> int:
        code = self.proc.wait(timeout=timeout)
        try:  # nothing of the group left behind
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.handle.close()
        return code


def wait_until(life: Life, condition, timeout: float = 600) -> bool:
    """Poll ``condition()`` until true (True) or the process exits / timeout (False)."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if condition():
            return True
        if not life.alive():
            return bool(condition())
        time.sleep(POLL_S)
    return False


def sleep_alive(life: Life, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while life.alive() and time.perf_counter() < end:
        time.sleep(POLL_S)


def journal_lines(path: Path) -> int:
    """Complete lines of a journal (a torn tail is not counted)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def journal_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"records": 0, "torn_tail_bytes": 0}
    data = path.read_bytes()
    tail = len(data) - (data.rfind(b"\n") + 1)
    return {"records": data.count(b"\n"), "torn_tail_bytes": tail}


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def compare_predictions(reference: list[dict[str, Any]], got: list[dict[str, Any]]
                        ) -> dict[str, Any]:
    ref_ids = [r["submission_id"] for r in reference]
    ids = [r["submission_id"] for r in got]
    by_id = {r["submission_id"]: r for r in got}
    common = [r for r in reference if r["submission_id"] in by_id]
    diffs = [abs(float(r["score"]) - float(by_id[r["submission_id"]]["score"]))
             for r in common if r.get("score") is not None]
    return {
        "n_reference": len(ref_ids), "n": len(ids),
        "same_ids_in_order": ids == ref_ids,
        "papers_lost": len(set(ref_ids) - set(ids)),
        "papers_extra": len(set(ids) - set(ref_ids)),
        "papers_duplicated": len(ids) - len(set(ids)),
        "max_abs_score_diff": max(diffs) if diffs else None,
        "scores_equal_1e-6": bool(diffs) and max(diffs) <= 1e-6 and len(diffs) == len(ref_ids),
        "decisions_equal": all(r["prediction"] == by_id[r["submission_id"]]["prediction"]
                               for r in common) and len(common) == len(ref_ids),
    }


def journal_checks(path: Path, reference_ids: list[str]) -> dict[str, Any]:
    ids = [r["submission_id"] for r in read_records(path)]
    return {"journal_records": len(ids), "journal_duplicates": len(ids) - len(set(ids)),
            "journal_lost": len(set(reference_ids) - set(ids)),
            "journal_extra": len(set(ids) - set(reference_ids))}


# ----- 1. predict ---------------------------------------------------------------------------
def predict_args(out: Path, limit: int, batch_size: int) -> list[str]:
    return PAPERPRED + ["predict", "--limit", str(limit), "--batch-size", str(batch_size),
                        "--output-dir", str(out), "--no-progress"]


def timed_reference_predict(args: list[str], journal: Path, log: Path) -> dict[str, Any]:
    """An uninterrupted run, watched: when it printed its run folder and when each batch
    reached the journal."""
    life = Life(args, log)
    folder_at = None
    growth: list[tuple[float, int]] = []
    last = 0
    while life.alive():
        if folder_at is None and "run folder:" in life.output():
            folder_at = life.elapsed()
        n = journal_lines(journal)
        if n != last:
            growth.append((life.elapsed(), n))
            last = n
        time.sleep(0.02)
    wall = life.elapsed()
    code = life.finish()
    if code != 0:
        raise SystemExit(f"reference run failed ({code}); see {log}")
    gaps = [b[0] - a[0] for a, b in zip(growth, growth[1:])]
    batch_s = sorted(gaps)[len(gaps) // 2] if gaps else wall / 2
    return {"wall_s": round(wall, 2), "run_folder_line_s": round(folder_at or 0.0, 2),
            "first_batch_s": round(growth[0][0], 2) if growth else None,
            "median_batch_s": round(batch_s, 2), "journal_growth": len(growth)}


def part_predict(work: Path, rng: random.Random, limit: int, batch_size: int,
                 kills: int) -> dict[str, Any]:
    ref_dir, run_dir = work / "predict-ref", work / "predict-killed"
    log = work / "predict.log"
    print(f"[bench] predict: reference run ({limit} papers, batch {batch_size})", flush=True)
    ref = timed_reference_predict(predict_args(ref_dir, limit, batch_size),
                                  ref_dir / "predictions.jsonl", log)
    print(f"[bench] predict: reference {ref}", flush=True)
    folder_s, batch_s = ref["run_folder_line_s"], ref["median_batch_s"]
    load_s = max(0.5, (ref["first_batch_s"] or batch_s) - batch_s - folder_s)
    per = kills // 4
    kinds = (["early"] * per + ["started"] * per + ["mid_batch"] * per
             + ["journal_append"] * (kills - 3 * per))
    rng.shuffle(kinds)
    journal = run_dir / "predictions.jsonl"
    args = predict_args(run_dir, limit, batch_size)
    per_kill: list[dict[str, Any]] = []
    started = time.perf_counter()
    for index, kind in enumerate(kinds):
        before = journal_lines(journal)
        life = Life(args, log)
        if kind == "early":
            sleep_alive(life, rng.uniform(0.05, max(0.1, folder_s)))
        elif kind == "started":
            wait_until(life, lambda life=life: "run folder:" in life.output())
            sleep_alive(life, rng.uniform(0.0, load_s))
        elif kind == "mid_batch":
            wait_until(life, lambda: journal_lines(journal) > before)
            sleep_alive(life, rng.uniform(0.15, 0.85) * batch_s)
        else:
            wait_until(life, lambda: _size_changed(journal, before))
        at = round(life.elapsed(), 3)
        records_at_kill = journal_lines(journal)
        was_running = life.kill()
        state = journal_state(journal)
        per_kill.append({"kill": index + 1, "kind": kind, "after_s": at,
                         "process_was_running": was_running,
                         "journal_records_before_start": before,
                         "journal_records_at_kill": records_at_kill,
                         "journal_records_after_kill": state["records"],
                         "torn_tail_bytes": state["torn_tail_bytes"]})
        print(f"[bench] predict kill {index + 1}/{len(kinds)} {kind:14s} at {at:6.2f}s: "
              f"journal {before} -> {state['records']}"
              + (f" (+{state['torn_tail_bytes']} torn bytes)" if state["torn_tail_bytes"]
                 else "") + ("" if was_running else " (had exited)"), flush=True)
    before_final = journal_lines(journal)
    final = Life(args, log)
    code = final.finish()
    total = time.perf_counter() - started
    output = final.output()
    reference = json.loads((ref_dir / "predictions.json").read_text())["predictions"]
    got = json.loads((run_dir / "predictions.json").read_text())
    ref_ids = [r["submission_id"] for r in reference]
    ref_metrics = json.loads((ref_dir / "metrics.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    keys = ("accuracy", "balanced_accuracy", "auc", "macro_f1", "n")
    return {
        "config": {"limit": limit, "batch_size": batch_size, "model": "smollm2-135m-instruct",
                   "input": "abstract_only", "output": "binary"},
        "kills_planned": len(kinds),
        "kills_landed_on_a_running_process": sum(k["process_was_running"] for k in per_kill),
        "kills_survived": sum(k["process_was_running"] for k in per_kill) if code == 0 else 0,
        "kills_by_kind": {k: kinds.count(k) for k in sorted(set(kinds))},
        "kills_with_journal_lines": sum(k["journal_records_at_kill"] > 0 for k in per_kill),
        "kills_that_left_a_torn_line": sum(k["torn_tail_bytes"] > 0 for k in per_kill),
        "journal_records_before_final_run": before_final,
        "final_run": {"exit_code": code, "resumed_from": got["run"]["resumed_from"],
                      "predicted_now": got["run"]["predicted_now"]},
        "per_kill": per_kill,
        **journal_checks(journal, ref_ids),
        "predictions_vs_reference": compare_predictions(reference, got["predictions"]),
        "metrics_equal": {k: ref_metrics.get(k) == metrics.get(k) for k in keys},
        "final_output_tail": output.strip().splitlines()[-1:] if output else [],
        "reference": ref,
        "wall_s": {"uninterrupted": ref["wall_s"], "killed_and_resumed_total": round(total, 2),
                   "ratio": round(total / ref["wall_s"], 2)},
    }


def _size_changed(path: Path, lines_before: int) -> bool:
    """The journal grew past ``lines_before`` complete lines, or has bytes after them."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    return data.count(b"\n") > lines_before or not data.endswith(b"\n") and bool(data)


# ----- 2. sweep -----------------------------------------------------------------------------
def sweep_config(work: Path, name: str, limit: int, batch_size: int) -> Path:
    raw = yaml.safe_load((ROOT / "configs" / "sweep_cpu.yaml").read_text())
    raw["output_dir"] = str(work / name)
    raw["base"] = {**raw["base"], "limit": limit, "batch_size": batch_size}
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def sweep_journals(folder: Path) -> int:
    return sum(journal_lines(p) for p in folder.glob("cell-*/predictions.jsonl"))


def finished_cells(folder: Path) -> list[str]:
    return sorted(p.parent.name for p in folder.glob("cell-*/metrics.json"))


def part_sweep(work: Path, rng: random.Random, limit: int, batch_size: int,
               kills: int) -> dict[str, Any]:
    log = work / "sweep.log"
    ref_cfg = sweep_config(work, "sweep-ref", limit, batch_size)
    run_cfg = sweep_config(work, "sweep-killed", limit, batch_size)
    ref_out, run_out = work / "sweep-ref", work / "sweep-killed"
    print(f"[bench] sweep: reference ({limit} papers per cell)", flush=True)
    life = Life(PAPERPRED + ["sweep", str(ref_cfg)], log)
    code = life.finish()
    ref_wall = life.elapsed()
    if code != 0:
        raise SystemExit(f"reference sweep failed; see {log}")
    cells = sorted(p.name for p in ref_out.glob("cell-*"))
    per_cell_s = ref_wall / max(1, len(cells))
    per_kill: list[dict[str, Any]] = []
    skipped_expected = 0
    skipped_seen = 0
    started = time.perf_counter()
    for index in range(kills):
        done_before = finished_cells(run_out)
        lines_before = sweep_journals(run_out)
        life = Life(PAPERPRED + ["sweep", str(run_cfg)], log)
        # mid-cell: the journals grew in this life, then a random part of a cell's time
        wait_until(life, lambda: sweep_journals(run_out) > lines_before)
        sleep_alive(life, rng.uniform(0.0, 0.6) * per_cell_s)
        at = round(life.elapsed(), 3)
        was_running = life.kill()
        output = life.output()
        skipped = output.count("finished earlier, skipped")
        skipped_expected += len(done_before)
        skipped_seen += skipped
        record = {"kill": index + 1, "after_s": at, "process_was_running": was_running,
                  "cells_finished_before_start": len(done_before),
                  "cells_skipped_in_this_life": skipped,
                  "cells_finished_after_kill": len(finished_cells(run_out)),
                  "journal_records_after_kill": sweep_journals(run_out)}
        per_kill.append(record)
        print(f"[bench] sweep kill {index + 1}/{kills} at {at:6.2f}s: {record}", flush=True)
    done_before = finished_cells(run_out)
    final = Life(PAPERPRED + ["sweep", str(run_cfg)], log)
    code = final.finish()
    total = time.perf_counter() - started
    output = final.output()
    skipped_expected += len(done_before)
    skipped_seen += output.count("finished earlier, skipped")
    cell_checks = {}
    for name in cells:
        ref_preds = json.loads((ref_out / name / "predictions.json").read_text())["predictions"]
        got_path = run_out / name / "predictions.json"
        got = json.loads(got_path.read_text())["predictions"] if got_path.exists() else []
        ids = [r["submission_id"] for r in ref_preds]
        cell_checks[name] = {**compare_predictions(ref_preds, got),
                             **journal_checks(run_out / name / "predictions.jsonl", ids)}
    return {
        "config": {"from": "configs/sweep_cpu.yaml", "limit": limit, "batch_size": batch_size,
                   "cells": len(cells)},
        "kills_planned": kills,
        "kills_landed_on_a_running_process": sum(k["process_was_running"] for k in per_kill),
        "kills_survived": sum(k["process_was_running"] for k in per_kill) if code == 0 else 0,
        "final_run": {"exit_code": code, "cells_finished_before": len(done_before),
                      "cells_skipped": output.count("finished earlier, skipped")},
        "finished_cells_skipped_on_restart": {"expected": skipped_expected,
                                              "seen": skipped_seen},
        "per_kill": per_kill,
        "cells": cell_checks,
        "all_cells_equal": all(c["scores_equal_1e-6"] and c["decisions_equal"]
                               and c["same_ids_in_order"] and c["journal_duplicates"] == 0
                               for c in cell_checks.values()),
        "papers_lost": sum(c["papers_lost"] for c in cell_checks.values()),
        "papers_duplicated": sum(c["journal_duplicates"] for c in cell_checks.values()),
        "wall_s": {"uninterrupted": round(ref_wall, 2), "killed_and_resumed_total": round(total, 2),
                   "ratio": round(total / ref_wall, 2)},
    }


# ----- 3. train -----------------------------------------------------------------------------
def train_config(work: Path, name: str, limit: int, steps: int, save_steps: int) -> Path:
    raw = yaml.safe_load((ROOT / "configs" / "train_sft_cpu.yaml").read_text())
    raw.update(limit=limit, max_steps=steps, eval_batch_size=4, output_dir=str(work / name))
    raw["extra"] = {**(raw.get("extra") or {}), "save_steps": save_steps}
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def checkpoints(folder: Path) -> list[Path]:
    return sorted(folder.glob("checkpoints/checkpoint-*"),
                  key=lambda p: int(p.name.rsplit("-", 1)[-1]))


def step_losses(run: Path) -> dict[int, float]:
    """Loss by step from LlamaFactory's own log (the last record of a step wins)."""
    log = run / "checkpoints" / "trainer_log.jsonl"
    out: dict[int, float] = {}
    for row in read_records(log) if log.exists() else []:
        if row.get("loss") is not None:
            out[int(row["current_steps"])] = float(row["loss"])
    return out


def part_train(work: Path, rng: random.Random, limit: int, steps: int,
               save_steps: int) -> dict[str, Any]:
    log = work / "train.log"
    ref_cfg = train_config(work, "train-ref", limit, steps, save_steps)
    run_cfg = train_config(work, "train-killed", limit, steps, save_steps)
    ref_run, run = work / "train-ref", work / "train-killed"
    print(f"[bench] train: reference ({steps} steps, checkpoint every {save_steps})", flush=True)
    life = Life(PAPERPRED + ["train", "--config", str(ref_cfg)], log)
    code = life.finish(timeout=1200)
    ref_wall = life.elapsed()
    if code != 0:
        raise SystemExit(f"reference training failed; see {log}")
    args = PAPERPRED + ["train", "--config", str(run_cfg)]
    plan = ["start_up", "checkpoint_appears", "mid_step_after_checkpoint",
            "held_out_evaluation"]
    per_kill: list[dict[str, Any]] = []
    lives: list[dict[str, Any]] = []
    started = time.perf_counter()
    adapter = run / "checkpoints" / "adapter_config.json"
    for index, kind in enumerate(plan):
        have = [p.name for p in checkpoints(run)]
        life = Life(args, log)
        if kind == "start_up":  # loading data and model, before any checkpoint
            sleep_alive(life, rng.uniform(1.0, 8.0))
        elif kind == "checkpoint_appears":  # kill at once: likely in the middle of the save
            wait_until(life, lambda: len(checkpoints(run)) > len(have), timeout=1200)
        elif kind == "mid_step_after_checkpoint":
            wait_until(life, lambda: any(p.name not in have for p in checkpoints(run))
                       and (checkpoints(run)[-1] / "trainer_state.json").exists(), timeout=1200)
            sleep_alive(life, rng.uniform(0.5, 3.0))
        else:
            wait_until(life, lambda: (run / "eval" / "predictions.jsonl").exists()
                       or adapter.exists() and "held-out evaluation" in life.output(),
                       timeout=1200)
            sleep_alive(life, rng.uniform(0.5, 4.0))
        at = round(life.elapsed(), 3)
        was_running = life.kill()
        last = checkpoints(run)[-1] if checkpoints(run) else None
        record = {"kill": index + 1, "kind": kind, "after_s": at,
                  "process_was_running": was_running,
                  "checkpoints_after_kill": [p.name for p in checkpoints(run)],
                  "last_checkpoint_complete": bool(last and (last / "trainer_state.json").exists()),
                  "adapter_written": adapter.exists(),
                  "eval_journal_records": journal_lines(run / "eval" / "predictions.jsonl"),
                  "said_resuming": "resuming from the last checkpoint" in life.output()}
        per_kill.append(record)
        print(f"[bench] train kill {index + 1}/{len(plan)}: {record}", flush=True)
    final = Life(args, log)
    code = final.finish(timeout=1200)
    total = time.perf_counter() - started
    output = final.output()
    lives.append({"exit_code": code, "said_resuming": "resuming from the last checkpoint" in output,
                  "said_resuming_evaluation": "resuming the held-out evaluation" in output,
                  "tail": output.strip().splitlines()[-3:]})
    result: dict[str, Any] = {
        "config": {"from": "configs/train_sft_cpu.yaml", "limit": limit, "max_steps": steps,
                   "save_steps": save_steps, "eval_batch_size": 4},
        "kills_planned": len(plan),
        "kills_landed_on_a_running_process": sum(k["process_was_running"] for k in per_kill),
        "per_kill": per_kill, "final_run": lives[-1],
    }
    if code != 0:
        result["kills_survived"] = 0
        result["error"] = output.strip().splitlines()[-8:]
        return result
    ref_losses, losses = step_losses(ref_run), step_losses(run)
    ref_summary = json.loads((ref_run / "train_summary.json").read_text())
    summary = json.loads((run / "train_summary.json").read_text())
    common = sorted(set(ref_losses) & set(losses))
    loss_diff = max((abs(ref_losses[s] - losses[s]) for s in common), default=None)
    ref_eval = json.loads((ref_run / "eval" / "predictions.json").read_text())["predictions"]
    got_eval = json.loads((run / "eval" / "predictions.json").read_text())["predictions"]
    progress = read_records(run / "train_progress.jsonl")
    prog_steps = [r["step"] for r in progress]
    adapters = list((run / "checkpoints").glob("adapter_model.safetensors"))
    ref_adapter = ref_run / "checkpoints" / "adapter_model.safetensors"
    result.update({
        "kills_survived": sum(k["process_was_running"] for k in per_kill),
        "restarts_that_said_resuming": sum(k["said_resuming"] for k in per_kill[1:])
        + int(lives[-1]["said_resuming"]),
        "adapters_written": len(adapters),
        "adapter_bytes_equal_reference": bool(adapters) and adapters[0].read_bytes()
        == ref_adapter.read_bytes(),
        "step_losses": {"reference": ref_losses, "resumed": losses,
                        "steps_compared": len(common),
                        "all_steps_present": sorted(losses) == sorted(ref_losses),
                        "max_abs_diff": loss_diff},
        "train_loss": {"reference": ref_summary.get("train_loss"),
                       "resumed": summary.get("train_loss"),
                       "note": "the Trainer's train_loss of a resumed run sums only the steps "
                               "run after the resume, divided by all steps"},
        "train_progress_jsonl": {"records": len(prog_steps),
                                 "repeated_steps": len(prog_steps) - len(set(prog_steps))},
        "held_out_predictions_vs_reference": compare_predictions(ref_eval, got_eval),
        "wall_s": {"uninterrupted": round(ref_wall, 2), "killed_and_resumed_total": round(total, 2),
                   "ratio": round(total / ref_wall, 2)},
    })
    return result


def parent_only_kill(work: Path, limit: int, steps: int, save_steps: int) -> dict[str, Any]:
    """SIGKILL of the `paperpred train` process alone (`kill -9 PID`, as the OOM killer does;
    not its group): does its llamafactory-cli child go on training?"""
    cfg = train_config(work, "train-parent-only", limit, steps, save_steps)
    life = Life(PAPERPRED + ["train", "--config", str(cfg)], work / "train-parent-only.log")
    trainer: list[int] = []

    def started() -> bool:
        trainer[:] = [pid for pid in _children(life.proc.pid) if "llamafactory" in _cmd(pid)]
        return bool(trainer)

    found = wait_until(life, started, timeout=300)
    sleep_alive(life, 3.0)
    life.proc.kill()  # the parent only
    life.proc.wait()
    alive = []
    for _ in range(10):
        time.sleep(1.0)
        alive.append(sum(_alive(pid) for pid in trainer))
    checkpoints_written = [p.name for p in checkpoints(work / "train-parent-only")]
    life.kill()  # then the group (the orphan is still in it)
    return {"trainer_started": found, "trainer_processes": len(trainer),
            "trainer_processes_alive_each_second_after_the_parent_was_killed": alive,
            "checkpoints_written_by_the_orphan": checkpoints_written}


def _cmd(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--sweep-limit", type=int, default=12)
    parser.add_argument("--sweep-kills", type=int, default=5)
    parser.add_argument("--train-limit", type=int, default=40)
    parser.add_argument("--train-steps", type=int, default=8)
    parser.add_argument("--save-steps", type=int, default=2)
    parser.add_argument("--parts", default="predict,sweep,train,parent_only")
    parser.add_argument("--merge", action="store_true",
                        help="update only the parts run now in an existing --out file")
    parser.add_argument("--workdir", help="keep the run folders here (default: a temp folder)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kill-resume-"))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "what": "SIGKILL (process group) at seeded random points, restart, finish; compare "
                "with an uninterrupted run of the same config timed in the same run",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seed": args.seed, "workdir": str(work),
        "machine": {**machine(), "load_1min_at_start": os.getloadavg()[0],
                    "OMP_NUM_THREADS": _env()["OMP_NUM_THREADS"]},
    }
    seeds = {part: rng.random() for part in PARTS}
    runs = {
        "predict": lambda: part_predict(work, random.Random(seeds["predict"]), args.limit,
                                        args.batch_size, args.kills),
        "sweep": lambda: part_sweep(work, random.Random(seeds["sweep"]), args.sweep_limit,
                                    args.batch_size, args.sweep_kills),
        "train": lambda: part_train(work, random.Random(seeds["train"]), args.train_limit,
                                    args.train_steps, args.save_steps),
        "parent_only": lambda: parent_only_kill(work, args.train_limit, args.train_steps,
                                                args.save_steps),
    }
    for part in PARTS:
        if part in parts:
            try:
                result[part] = runs[part]()
            except (Exception, SystemExit) as exc:  # record it, go on with the next part
                result[part] = {"error": f"{type(exc).__name__}: {exc}"}
    result["total_wall_s"] = round(time.perf_counter() - started, 1)
    result["machine"]["load_1min_at_end"] = os.getloadavg()[0]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.merge and out.exists():
        earlier = json.loads(out.read_text())
        result = {**earlier, **{p: result[p] for p in parts},
                  "merged": earlier.get("merged", []) + [
                      {"parts": parts, "date": result["date"], "machine": result["machine"],
                       "wall_s": result["total_wall_s"]}]}
    out.write_text(json.dumps(result, indent=2) + "\n")
    brief = {part: {k: v for k, v in result[part].items()
                    if k not in ("per_kill", "reference", "step_losses", "cells")}
             for part in parts if part in result}
    print(json.dumps(brief, indent=2))
    print(f"[bench] wrote {out} ({result['total_wall_s']} s)")


if __name__ == "__main__":
    main()
