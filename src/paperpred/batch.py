"""BatchPredictor: predict many submissions with progress, save as it goes, resume after a kill.

Each finished batch is appended to a JSON-lines journal (``predictions.jsonl`` beside the
output file) and flushed to disk. A run that is killed and started again reads the journal,
drops a torn last line, and predicts only the submissions that are not in it: no duplicates,
no gaps. When every submission is done the final file (``predictions.json``: predictions in
input order, plus metrics) is written atomically.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from paperpred.data.submission import Submission
from paperpred.errors import PaperpredError


def journal_path(output_path: Path) -> Path:
    """``results/predictions.json`` -> ``results/predictions.jsonl``."""
    return output_path.with_suffix(".jsonl") if output_path.suffix == ".json" else Path(
        str(output_path) + ".jsonl")


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Records of a journal; a torn last line (a kill mid-write) is cut off the file."""
    if not path.exists():
        return []
    records, good_bytes = [], 0
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
            good_bytes += len(line)
    if good_bytes != path.stat().st_size:
        with open(path, "r+b") as handle:
            handle.truncate(good_bytes)
    return records


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)


class Progress:
    """A one-line progress display: count, rate, ETA (stderr; quiet when not a terminal
    unless forced)."""

    def __init__(self, total: int, done: int, enabled: bool) -> None:
        self.total, self.done, self.start_done = total, done, done
        self.enabled = enabled
        self.started = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        rate = (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = f"{left:5.0f}s" if left == left else "  ?"
        end = "\n" if self.done >= self.total else ""
        print(f"\r[paperpred] {self.done}/{self.total} papers  {rate:6.2f} papers/s  ETA {eta}",
              end=end, file=sys.stderr, flush=True)


class BatchPredictor:
    """Predict in batches with a progress bar and a resumable journal.

    Args:
        predictor: a :class:`~paperpred.UnifiedPredictor`.
        batch_size: submissions per batch (each batch is saved before the next starts).
        show_progress: print count, rate and ETA to stderr.
    """

    def __init__(self, predictor: Any, batch_size: int = 32, show_progress: bool = True) -> None:
        self.predictor = predictor
        self.batch_size = max(1, int(batch_size))
        self.show_progress = show_progress

    def predict_and_save(
        self,
        submissions: Iterable[Submission],
        output_path: str | Path,
        include_metrics: bool = True,
    ) -> Path:
        """Predict every submission, appending to the journal as it goes.

        Returns:
            ``output_path``: a JSON file ``{"predictions": [...], "metrics": {...}, "run":
            {...}}`` with predictions in input order.
        """
        self.run(submissions, output_path, include_metrics)
        return Path(output_path)

    def run(
        self,
        submissions: Iterable[Submission],
        output_path: str | Path,
        include_metrics: bool = True,
    ) -> dict[str, Any]:
        """:meth:`predict_and_save`, returning what it wrote (``predictions``, ``run`` and
        ``metrics``)."""
        submissions = list(submissions)
        output_path = Path(output_path)
        output_path.parent.mkdir(parents=True, exist_ok=True)
        journal = journal_path(output_path)
        ids = [s.submission_id for s in submissions]
        if len(set(ids)) != len(ids):
            raise PaperpredError("submissions must have distinct submission_id values")
        done = {r["submission_id"]: r for r in read_journal(journal)}
        unknown = set(done) - set(ids)
        if unknown:
            raise PaperpredError(
                f"{journal} holds {len(unknown)} predictions of submissions not in this run "
                "(a different data set or limit?): use another output folder or delete it"
            )
        todo = [s for s in submissions if s.submission_id not in done]
        progress = Progress(len(submissions), len(done), self.show_progress)
        started = time.perf_counter()
        with open(journal, "a", encoding="utf-8") as handle:
            for start in range(0, len(todo), self.batch_size):
                batch = todo[start:start + self.batch_size]
                for record in self.predictor.predict(batch):
                    handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                    done[record["submission_id"]] = record
                handle.flush()
                os.fsync(handle.fileno())
                progress.update(len(batch))
        predictions = [done[i] for i in ids]
        result: dict[str, Any] = {
            "predictions": predictions,
            "run": {"n": len(predictions), "resumed_from": len(submissions) - len(todo),
                    "predicted_now": len(todo),
                    "seconds_now": round(time.perf_counter() - started, 3)},
        }
        if include_metrics:
            result["metrics"] = self.predictor.evaluate(predictions)
        write_json_atomic(output_path, result)
        return result
