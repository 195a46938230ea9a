"""Benchmark: predictions over HTTP through two misbehaving endpoints, one killed mid-run.

A real server (``paperpred serve --model smollm2-135m-instruct``, one torch thread) sits behind
two fault proxies (``paperpred.testing.fault_proxy``); the OpenAI backend gets both as its base
URLs (round robin, failover, retries). The first ``--papers`` (60) papers of the bundled sample
(``review_scores`` formatter, binary handler, label scoring: two requests per paper) are
predicted twice, in the same run, with the same settings:

- fault-free: both proxies forward everything;
- faulty: each proxy answers its POSTs on a repeating ``--pattern`` (default ``"FF.F."``: three
  faults to two forwarded), the faults taking every kind in turn (429 with Retry-After: 1,
  500, 503, slow past the client's timeout, truncated JSON, connection cut mid-body, connection
  dropped), and the first proxy is stopped (port and connections closed) once half of the run's
  answers are in.

Both runs go through BatchPredictor with a journal (predictions.jsonl). Reported: faults
injected by kind (per proxy and in all), papers predicted, lost (not in the journal) and
duplicated (in it twice), whether every decision and score equals the fault-free run's, the
client's retries (rounds after a backoff) and failovers (from the backend's log), the requests
each proxy saw and forwarded, when the proxy was killed, and the wall time of each run with
the ratio faulty / fault-free. Also the load average at start and end (other processes share
the CPU). Writes bench/results/faults.json.

Defaults: one request at a time (``--concurrency 1``; the server answers one at a time
anyway), so each proxy's POSTs come one request after another and the pattern bounds the
faults in a row that one request can meet (two for ``"FF.F."``: it needs at most 3 rounds);
``--retries 4`` (5 rounds: one spare for a timeout of a busy machine), backoff 0.05 s,
``--timeout 4`` s (about 3x a request's time on a busy 2-core machine; a slow fault costs that
much). With two requests in flight that bound is gone: one request can keep meeting faults
while the other takes the forwarded slots (a first try with ``--concurrency 2 --retries 6``
gave up after 7 attempts). A run that gives up is recorded (its error, and the papers its
journal kept) rather than raised.

    python bench/bench_faults.py [--papers 60] [--pattern FF.F.] [--timeout 4]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from machine import write_result

from paperpred.batch import BatchPredictor
from paperpred.errors import PaperpredError
from paperpred.inference.embedded import ensure_embedded_model
from paperpred.runs import PredictRun, build_predictor, load_config, load_submissions
from paperpred.testing.fault_proxy import FAULT_KINDS, FaultProxy, no_faults, pattern
from paperpred.testing.servers import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "faults.json"
BACKEND_LOGGER = "paperpred.inference.openai_backend"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Tally(logging.Handler):
    """Counts the backend's retry and failover warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("retry "):
            self.counts["retries"] += 1
        elif message.startswith("failing over"):
            self.counts["failovers"] += 1
            if "cannot connect" in message:
                self.counts["failovers_refused"] += 1


def start_server(log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1"}
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "paperpred", "serve", "--model",
                                 "smollm2-135m-instruct", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url, log_path)
    return proc, url


def predict(urls: list[str], args: argparse.Namespace, out_dir: Path,
            kill: tuple[FaultProxy, list[FaultProxy]] | None = None) -> dict[str, Any]:
    """One run: its journal's records, wall seconds, warnings counted, and (``kill``) when the
    victim proxy was stopped."""
    engine = {"concurrency": args.concurrency, "retries": args.retries,
              "backoff": args.backoff, "timeout": args.timeout}
    run = load_config(PredictRun, None, {
        "backend": "openai", "input": args.input, "limit": args.papers, "batch_size": 4,
        "output_dir": str(out_dir), "base_urls": urls, "engine_options": engine}).resolve()
    submissions, _ = load_submissions(run)
    tally = Tally()
    logging.getLogger(BACKEND_LOGGER).addHandler(tally)
    predictor = build_predictor(run)
    killed_at: list[float] = []
    stop_watch = threading.Event()
    started = time.perf_counter()

    def watch() -> None:  # stop the victim once half of the answers are in
        assert kill is not None
        victim, proxies = kill
        while not stop_watch.wait(0.05):
            if sum(p.forwarded for p in proxies) >= args.papers:
                killed_at.append(time.perf_counter() - started)
                victim.stop()
                return

    watcher = threading.Thread(target=watch, daemon=True) if kill else None
    error = None
    try:
        if watcher:
            watcher.start()
        BatchPredictor(predictor, batch_size=4, show_progress=False).run(
            submissions, out_dir / "predictions.json", include_metrics=False)
    except PaperpredError as exc:  # retries exhausted: what the journal kept is measured
        error = str(exc)
        log(f"[bench] the run gave up: {error}")
    finally:
        seconds = time.perf_counter() - started
        stop_watch.set()
        predictor.close()
        logging.getLogger(BACKEND_LOGGER).removeHandler(tally)
    records = [json.loads(line)
               for line in (out_dir / "predictions.jsonl").read_text().splitlines()]
    return {"records": records, "ids": [s.submission_id for s in submissions],
            "seconds": seconds, "warnings": dict(tally.counts), "error": error,
            "killed_after_s": round(killed_at[0], 2) if killed_at else None}


def journal_check(run: dict[str, Any], reference: dict[str, Any] | None) -> dict[str, Any]:
    got = [r["submission_id"] for r in run["records"]]
    counts = Counter(got)
    out: dict[str, Any] = {
        "papers_expected": len(run["ids"]),
        "papers_predicted": len(counts),
        "papers_lost": len(set(run["ids"]) - set(counts)),
        "papers_duplicated": sum(n - 1 for n in counts.values()),
        "error": run["error"],
    }
    if reference is not None:
        ref = {r["submission_id"]: r for r in reference["records"]}
        mine = {r["submission_id"]: r for r in run["records"]}
        shared = sorted(set(ref) & set(mine))
        out["decisions_equal_fault_free"] = all(
            mine[i]["prediction"] == ref[i]["prediction"] for i in shared)
        out["max_abs_score_diff_vs_fault_free"] = max(
            (abs(mine[i]["score"] - ref[i]["score"]) for i in shared), default=None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=60)
    parser.add_argument("--pattern", default="FF.F.", help="F = fault, . = forward (per proxy)")
    parser.add_argument("--input", default="review_scores")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--retries", type=int, default=4)
    parser.add_argument("--backoff", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=4.0)
    args = parser.parse_args()
    os.environ.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                       "TRANSFORMERS_OFFLINE": "1"})
    logging.basicConfig(level=logging.ERROR)
    backend_log = logging.getLogger(BACKEND_LOGGER)  # its warnings are counted, not printed
    backend_log.setLevel(logging.WARNING)
    backend_log.propagate = False
    logging.getLogger("paperpred.data.loader").setLevel(logging.ERROR)
    load_start = os.getloadavg()
    ensure_embedded_model()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        proc, upstream = start_server(tmp / "serve.log")
        try:
            log(f"[bench] fault-free run of {args.papers} papers through two proxies")
            with FaultProxy(upstream) as a, FaultProxy(upstream) as b:
                clean = predict([a.url, b.url], args, tmp / "clean")
                clean_proxies = [a.stats(), b.stats()]
            log(f"[bench] {clean['seconds']:.1f} s; faulty run ({args.pattern!r} per proxy, "
                "the first proxy killed halfway)")
            schedules = [pattern(args.pattern, FAULT_KINDS[i:] + FAULT_KINDS[:i])
                         for i in (0, 3)]  # the two proxies start on different kinds
            with FaultProxy(upstream, schedules[0], slow_seconds=60) as a, \
                    FaultProxy(upstream, schedules[1], slow_seconds=60) as b:
                faulty = predict([a.url, b.url], args, tmp / "faulty", kill=(a, [a, b]))
                a.schedule = b.schedule = no_faults
                faulty_proxies = [a.stats(), b.stats()]
            log(f"[bench] {faulty['seconds']:.1f} s")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    injected: Counter[str] = Counter()
    for stats in faulty_proxies:
        injected.update(stats["faults"])
    result = {
        "what": "OpenAI backend through two fault-injecting proxies in front of paperpred "
                "serve (embedded SmolLM2-135M-Instruct, CPU); the first proxy killed halfway",
        "papers": args.papers,
        "settings": {"input": args.input, "output": "binary", "reading": "score",
                     "requests_per_paper": 2, "batch_size": 4, "concurrency": args.concurrency,
                     "retries": args.retries, "backoff_s": args.backoff,
                     "timeout_s": args.timeout, "retry_after_s": 1, "pattern": args.pattern,
                     "kinds": list(FAULT_KINDS)},
        "faults_injected": dict(sorted(injected.items())),
        "faults_injected_total": sum(injected.values()),
        "failed_attempts_seen_by_proxies": sum(s["requests"] - s["forwarded"]
                                               for s in faulty_proxies),
        "faulty": {**journal_check(faulty, clean),
                   "retries": faulty["warnings"].get("retries", 0),
                   "failovers": faulty["warnings"].get("failovers", 0),
                   "failovers_to_a_refused_port": faulty["warnings"].get("failovers_refused", 0),
                   "killed_after_s": faulty["killed_after_s"],
                   "proxies": faulty_proxies, "seconds": round(faulty["seconds"], 2)},
        "fault_free": {**journal_check(clean, None),
                       "retries": clean["warnings"].get("retries", 0),
                       "failovers": clean["warnings"].get("failovers", 0),
                       "proxies": clean_proxies, "seconds": round(clean["seconds"], 2)},
        "wall_time_ratio_faulty_to_fault_free": round(faulty["seconds"] / clean["seconds"], 3),
        "load_1min": {"start": round(load_start[0], 2), "end": round(os.getloadavg()[0], 2)},
    }
    write_result(RESULTS, result)


if __name__ == "__main__":
    main()
