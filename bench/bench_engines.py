"""Label scoring of the bundled papers on each engine and dtype: transformers (run in .venv) and
vLLM (run in .venv-vllm), float32 and bfloat16, with the matmul roof of each dtype measured in
the same run. Each run adds its row to bench/results/engines.json; rows of the other
environment stay.

    .venv/bin/python bench/bench_engines.py --engine transformers --dtype float32 --attention sdpa
    .venv/bin/python bench/bench_engines.py --engine transformers --dtype bfloat16
    .venv/bin/python bench/bench_engines.py --engine transformers --dtype bfloat16 --batch-size 8
    .venv-vllm/bin/python bench/bench_engines.py --engine vllm --dtype float32 --batch-size 8
    .venv-vllm/bin/python bench/bench_engines.py --engine vllm --dtype bfloat16 --batch-size 8

Rows are keyed by engine, dtype, batch size and attention. The reference for score differences,
rank agreement, decisions and speed is BASELINE, the main job's engine before this benchmark
(float32 transformers, SDPA attention, batch size 32).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "engines.json"


def matmul_roof(dtype: str, size: int = 1024, repeats: int = 8) -> float:
    """GFLOP/s of a square matmul in ``dtype`` on this CPU (the best of ``repeats``)."""
    import torch

    kind = getattr(torch, dtype)
    a = torch.randn(size, size, dtype=kind)
    b = torch.randn(size, size, dtype=kind)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def run(engine: str, dtype: str, limit: int, batch_size: int,
        attention: str | None) -> dict[str, Any]:
    from paperpred import PredictorConfig, UnifiedPredictor, load_sample

    papers = load_sample()[:limit]
    options: dict[str, Any] = ({"enforce_eager": True, "max_model_len": 2048}
                               if engine == "vllm" else {})
    if attention:
        options["attn_implementation"] = attention
    config = PredictorConfig(model_name_or_path="smollm2-135m-instruct", backend=engine,
                             dtype=dtype, batch_size=batch_size, engine_options=options)
    started = time.perf_counter()
    predictor = UnifiedPredictor.create("abstract_only", "binary", config=config)
    backend = predictor.mode.backend(config)
    loaded = time.perf_counter() - started
    samples = predictor.mode.format_samples(papers)
    from paperpred.inference.base import ChatRequest

    tokens = sum(backend.count_tokens(ChatRequest(s.prompt_messages)) or 0 for s in samples)
    started = time.perf_counter()
    results = predictor.predict(papers)
    seconds = time.perf_counter() - started
    predictor.close()
    roof = matmul_roof(dtype)
    if engine == "transformers":  # the attention asked for (None: transformers' SDPA)
        attention = getattr(backend, "attn_implementation", None) or "sdpa"
    label = f"{engine} {dtype} batch {batch_size}" + (f" {attention}" if attention else "")
    return {
        "label": label, "engine": engine, "dtype": dtype, "batch_size": batch_size,
        "attention": attention or "default", "papers": len(papers), "load_s": round(loaded, 1),
        "seconds": round(seconds, 1), "papers_per_s": round(len(papers) / seconds, 3),
        "prompt_tokens": tokens, "prompt_tokens_per_s": round(tokens / seconds, 1),
        "matmul_roof_gflops": round(roof, 1),
        "scores": {r["submission_id"]: r["score"] for r in results},
        "predictions": {r["submission_id"]: r["prediction"] for r in results},
        "cpu_count": os.cpu_count(), "python": sys.executable,
    }


#: The reference row: the main job's engine before this benchmark (float32 transformers, SDPA,
#: PredictorConfig's default batch size).
BASELINE = "transformers float32 batch 32 sdpa"

PARAMS = 134_515_008  # SmolLM2-135M, the embedding table included


def spearman(a: list[float], b: list[float]) -> float:
    """Rank correlation (average ranks for ties) without scipy, which .venv-vllm lacks."""
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    var = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return cov / var if var else 1.0


def compare(rows: list[dict[str, Any]]) -> None:
    """Model FLOP rate (2 x parameters x prompt tokens per second: the prompt is encoded once,
    the candidates' few tokens are not counted) beside the roof, and against transformers
    float32 (BASELINE): score difference, rank agreement, decisions, speed."""
    for row in rows:
        rate = 2 * PARAMS * row["prompt_tokens"] / row["seconds"] / 1e9
        row["model_gflops_per_s"] = round(rate, 1)
        row["share_of_matmul_roof"] = round(rate / row["matmul_roof_gflops"], 3)
    base = next((r for r in rows if r.get("label") == BASELINE), None)
    if base is None:
        return
    for row in rows:
        shared = [k for k in base["scores"] if k in row["scores"]]
        diffs = [abs(row["scores"][k] - base["scores"][k]) for k in shared]
        same = sum(row["predictions"][k] == base["predictions"][k] for k in shared)
        row["vs_transformers_float32"] = {
            "max_abs_score_diff": round(max(diffs), 4) if diffs else None,
            "mean_abs_score_diff": round(sum(diffs) / len(diffs), 4) if diffs else None,
            "same_decision": round(same / len(shared), 4) if shared else None,
            "spearman": round(spearman([base["scores"][k] for k in shared],
                                       [row["scores"][k] for k in shared]), 4),
            "speedup": round(row["papers_per_s"] / base["papers_per_s"], 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("transformers", "vllm"), required=True)
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), required=True)
    parser.add_argument("--limit", type=int, default=489)
    parser.add_argument("--batch-size", type=int, default=32,
                        help="PredictorConfig.batch_size (32, the default, is the main job's)")
    parser.add_argument("--attention", choices=("eager", "sdpa"),
                        help="transformers' attn_implementation (default: its own, SDPA)")
    args = parser.parse_args()
    row = run(args.engine, args.dtype, args.limit, args.batch_size, args.attention)
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": []}
    rows = [r for r in saved["runs"] if r.get("label") != row["label"]] + [row]
    compare(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    saved["runs"] = rows  # other keys (the chosen main_job_default) stay
    RESULTS.write_text(json.dumps(saved, indent=1) + "\n")
    summary = {k: v for k, v in row.items() if k not in ("scores", "predictions")}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
