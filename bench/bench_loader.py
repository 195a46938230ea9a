"""Benchmark: load and normalise all 27,726 rows of iclr_meta_2017_2025.jsonl.

Reports rows/s and peak memory, and the speed as a ratio to a baseline measured in the same
run (plain ``json.loads`` of every line: the floor of reading the file), since these machines
are noisy. Writes bench/results/loader.json.

    python bench/bench_loader.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
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
        "repeats": args.repeats,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
