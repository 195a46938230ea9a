"""Benchmark: load and normalise all 27,726 rows of iclr_meta_2017_2025.jsonl.

Reports rows/s and peak memory, and the speed as a ratio to a baseline measured in the same
run (plain ``json.loads`` of every line: the floor of reading the file), since these machines
are noisy. With ``--against REV`` the loader of an earlier git revision is timed in the same
run too (each in a fresh process, in turns), and the ratio of the two is reported. Writes
bench/results/loader.json.

    python bench/bench_loader.py [--repeats 3] [--against edbebe0]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from machine import write_result

from paperpred.data import ICLRDataLoader

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "fixtures" / "iclr_meta_2017_2025.jsonl.gz"
RESULTS = ROOT / "bench" / "results" / "loader.json"


def _baseline(path: Path) -> int:
    n = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            json.loads(line)
            n += 1
    return n


def _load(path: Path, percentiles: bool) -> int:
    loader = ICLRDataLoader(strict=False, percentiles=percentiles)
    n = sum(1 for _ in loader.load_from_jsonl(path))
    return loader.report.rows_read if n else 0


def _best(fn, repeats: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        rows = fn()
        times.append(time.perf_counter() - start)
    return min(times), rows


def _peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


TIMED = """
import logging, sys, time
logging.getLogger("paperpred.data.loader").setLevel(logging.ERROR)
from paperpred.data import ICLRDataLoader
start = time.perf_counter()
loader = ICLRDataLoader(strict=False)
n = sum(1 for _ in loader.load_from_jsonl(sys.argv[1]))
print(time.perf_counter() - start, n)
"""


def _against(rev: str, path: Path, repeats: int, tmp: str) -> dict:
    """Best load time (with percentiles) of this tree and of ``rev``, each in a fresh process,
    taken in turns so that both see the same machine."""
    old = Path(tmp) / "old"
    old.mkdir()
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    trees = {"this tree": ROOT / "src", rev: old / "src"}
    times: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(repeats):
        for name, src in trees.items():
            env = dict(os.environ, PYTHONPATH=str(src))
            out = subprocess.run([sys.executable, "-c", TIMED, str(path)], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            times[name].append(float(out[0]))
    best = {name: min(values) for name, values in times.items()}
    return {"revision": rev, "seconds": best, "ratio_this_to_revision": best["this tree"] / best[rev]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--against", default=None,
                        help="git revision whose loader is timed in the same run")
    args = parser.parse_args()
    logging.getLogger("paperpred.data.loader").setLevel(logging.ERROR)  # the skip is known
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "iclr_meta_2017_2025.jsonl"
        with gzip.open(SOURCE, "rb") as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
        base_s, base_rows = _best(lambda: _baseline(path), args.repeats)
        full_s, rows = _best(lambda: _load(path, True), args.repeats)
        single_s, _ = _best(lambda: _load(path, False), args.repeats)
        peak = _peak_mib(lambda: _load(path, True))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        against = _against(args.against, path, args.repeats, tmp) if args.against else None
    result = {
        "file": "iclr_meta_2017_2025.jsonl",
        "rows": rows,
        "baseline_json_loads": {"seconds": base_s, "rows_per_s": base_rows / base_s},
        "load_with_percentiles": {"seconds": full_s, "rows_per_s": rows / full_s,
                                  "slowdown_vs_baseline": full_s / base_s},
        "load_without_percentiles": {"seconds": single_s, "rows_per_s": rows / single_s,
                                     "slowdown_vs_baseline": single_s / base_s},
        "peak_traced_memory_mib": round(peak, 1),
        "max_rss_mib": round(rss, 1),
        "against_revision": against,
        "repeats": args.repeats,
    }
    write_result(RESULTS, result)


if __name__ == "__main__":
    main()
