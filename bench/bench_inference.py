"""Benchmark: zero-shot inference with the embedded model on 64 real papers, beside the roof.

The first ``--papers`` (64) submissions of the bundled sample (``paperpred.load_sample()``),
formatted as the predictor does (``abstract_only`` with BinaryAcceptRejectHandler's instruction,
through ``ZeroShotMode.format_samples``), run through ``TransformersBackend`` with the embedded
model (SmolLM2-135M-Instruct, CPU, float32) four ways:

- label scoring (``backend.score`` with the handler's ``candidate_texts()``), batched
  (``batch_size`` 8) and one at a time (``batch_size`` 1);
- greedy generation (``backend.generate``, ``--max-tokens`` 16), batched (8) and one at a time.

The backend's ``batch_size`` counts (prompt, candidate) rows when scoring, so scoring with
``batch_size`` 8 and two candidates forwards 4 prompts at a time; generation forwards 8.

Each case: a warm-up on the first ``--warmup-papers`` papers, then ``--repeats`` timed passes
over all papers, interleaved across the four cases (so load from other processes hits them
alike); the best pass is reported. A further pass is not started when it would end after
``--max-seconds`` (one pass always runs). Each case also records its CPU seconds per wall
second: about the thread count when the process had the cores to itself. Rates: papers/s,
prompt tokens/s (prompt length from ``backend.count_tokens``), generated tokens/s and total
tokens/s.

The arithmetic roof: this machine's float32 matmul FLOP/s, measured in the same run (a large
square product and model-shaped products ``[tokens x 576] @ [576 x 1536]``, before and after
the inference runs; the best of the two measurements is used), over the model's work of
``2 x parameters x tokens`` per paper (parameters with and without the tied embedding matrix;
attention's own FLOPs are not counted). Tokens per paper: prompt + candidate tokens (each
candidate with its end-of-turn token) for scoring, prompt + generated tokens for generation.
Each measured rate is reported as a fraction of its roof.

Ratios measured in the same run: batched / one-at-a-time for scoring and for generation, and
scoring / generation papers/s. Also recorded: padding (padded prompt tokens forwarded against
real ones), agreement between batched and one-at-a-time results, the load average at start and
end, threads, versions, model path and settings. Writes bench/results/inference.json.

    python bench/bench_inference.py [--papers 64] [--repeats 2] [--max-tokens 16]
                                    [--max-seconds 480]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from machine import machine

from paperpred import load_sample
from paperpred.inference.base import ChatRequest, GenerationParams
from paperpred.inference.embedded import (
    EMBEDDED_MODEL_NAME,
    embedded_model_dir,
    ensure_embedded_model,
    is_complete,
)
from paperpred.inference.transformers_backend import TransformersBackend
from paperpred.inputs import get_input_formatter
from paperpred.modes.zero_shot import ZeroShotMode
from paperpred.outputs import BinaryAcceptRejectHandler

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "inference.json"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----- the arithmetic roof ---------------------------------------------------------------------
def matmul_flops(m: int, k: int, n: int, min_seconds: float = 0.4) -> float:
    """Best-of-3 float32 FLOP/s of ``[m x k] @ [k x n]`` (each timing at least ~min_seconds)."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    flop = 2.0 * m * k * n
    torch.matmul(a, b)  # warm-up
    start = time.perf_counter()
    torch.matmul(a, b)
    once = max(time.perf_counter() - start, 1e-6)
    reps = max(1, int(min_seconds / once))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(reps):
            torch.matmul(a, b)
        best = min(best, (time.perf_counter() - start) / reps)
    return flop / best


def measure_matmuls(prompt_tokens: int, hidden: int, inter: int) -> dict[str, float]:
    """GFLOP/s of a large square product and of the model's MLP-shaped products."""
    with torch.inference_mode():
        return {
            "square_2048": matmul_flops(2048, 2048, 2048) / 1e9,
            "square_1024": matmul_flops(1024, 1024, 1024) / 1e9,
            # one paper's prompt through an MLP up-projection
            f"model_{prompt_tokens}x{hidden}@{hidden}x{inter}":
                matmul_flops(prompt_tokens, hidden, inter) / 1e9,
            # four prompts at once (a batched scoring forward)
            f"model_{4 * prompt_tokens}x{hidden}@{hidden}x{inter}":
                matmul_flops(4 * prompt_tokens, hidden, inter) / 1e9,
            # a decode step of a batch of 8 (memory-bound in practice)
            f"model_8x{hidden}@{hidden}x{inter}": matmul_flops(8, hidden, inter) / 1e9,
        }


def count_parameters(model: Any) -> dict[str, int]:
    """Unique parameters (a tied matrix once), and the same without the embedding matrix."""
    total = sum(p.numel() for p in model.parameters())
    embedding = model.get_input_embeddings().weight.numel()
    tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
    return {"including_embeddings": total, "excluding_embeddings": total - embedding,
            "embedding_matrix": embedding, "tied_embeddings": bool(tied)}


# ----- instrumentation (instance attributes only: the backend's code is unchanged) -------------
class Recorder:
    """Wraps the backend's ``_encode`` and ``model.generate`` to see the batch shapes and the
    generated token ids."""

    def __init__(self, backend: TransformersBackend) -> None:
        self.backend = backend
        self.encoded_padded = 0
        self.encoded_real = 0
        self.forwards = 0
        self.generated: list[int] = []  # per sequence: tokens up to and including the stop
        self.decode_rows_steps = 0  # sequences x decode steps actually computed
        encode = backend._encode
        generate = backend.model.generate
        stops = set(backend.stop_ids)

        def _encode(prompts: Any) -> Any:
            enc = encode(prompts)
            mask = enc["attention_mask"]
            self.encoded_padded += int(mask.numel())
            self.encoded_real += int(mask.sum())
            self.forwards += 1
            return enc

        def _generate(*args: Any, **kwargs: Any) -> Any:
            out = generate(*args, **kwargs)
            width = kwargs["input_ids"].shape[1]
            new = out[:, width:].tolist()
            for row in new:
                n = len(row)
                for i, tok in enumerate(row):
                    if tok in stops:
                        n = i + 1
                        break
                self.generated.append(n)
            self.decode_rows_steps += len(new) * (len(new[0]) if new else 0)
            return out

        backend._encode = _encode  # type: ignore[method-assign]
        backend.model.generate = _generate  # instance attribute shadows the method

    def reset(self) -> None:
        self.encoded_padded = self.encoded_real = self.forwards = self.decode_rows_steps = 0
        self.generated = []


# ----- the runs ----------------------------------------------------------------------------
def run_case(backend: TransformersBackend, rec: Recorder, kind: str, batch_size: int,
             requests: list[ChatRequest], candidates: list[str],
             params: GenerationParams) -> tuple[float, Any, dict[str, Any]]:
    backend.batch_size = batch_size
    rec.reset()
    cpu_start = time.process_time()
    start = time.perf_counter()
    if kind == "score":
        out: Any = backend.score(requests, candidates)
    else:
        out = backend.generate(requests, params)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    shape = {"cpu_seconds": round(cpu, 3),
             # CPU seconds per wall second: about the thread count when this process had the
             # cores to itself, less when other processes took them
             "cpu_per_wall": round(cpu / seconds, 2),
             "forwards_with_prompts": rec.forwards,
             "prompt_tokens_forwarded_padded": rec.encoded_padded,
             "prompt_tokens_real": rec.encoded_real,
             "generated_tokens": sum(rec.generated),
             "decode_rows_x_steps": rec.decode_rows_steps}
    return seconds, out, shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--warmup-papers", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=480.0,
                        help="start no further repeat that would end after this (the run "
                             "always completes one pass)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    load_start = os.getloadavg()
    run_start = time.perf_counter()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    # The model: the default cache when it already holds the conversion, else a temporary one.
    tmp_cache = None
    if is_complete(embedded_model_dir()):
        model_path = ensure_embedded_model()
        cache_note = "default cache"
    else:
        tmp_cache = tempfile.TemporaryDirectory(prefix="paperpred-bench-")
        model_path = ensure_embedded_model(tmp_cache.name)
        cache_note = "temporary cache (converted in this run)"

    # The papers and prompts, exactly as the zero-shot predictor builds them.
    handler = BinaryAcceptRejectHandler()
    mode = ZeroShotMode(None, get_input_formatter("abstract_only"), handler)
    submissions = load_sample()[:args.papers]
    samples = mode.format_samples(submissions)
    requests = [ChatRequest(s.prompt_messages, s.images) for s in samples]
    candidates = handler.candidate_texts()
    params = GenerationParams(max_tokens=args.max_tokens, temperature=0.0)

    start = time.perf_counter()
    backend = TransformersBackend(str(model_path), device="cpu", dtype="float32",
                                  batch_size=args.batch_size)
    load_s = time.perf_counter() - start
    model = backend.model
    cfg = model.config
    params_count = count_parameters(model)

    prompt_lens = [backend.count_tokens(r) for r in requests]
    prompt_tokens = sum(prompt_lens)
    tok = backend.tokenizer
    cand_tokens = [len(tok(c, add_special_tokens=False)["input_ids"])
                   + len(backend.score_suffix_ids) for c in candidates]
    mean_prompt = round(prompt_tokens / len(requests))

    matmul_before = measure_matmuls(mean_prompt, cfg.hidden_size, cfg.intermediate_size)
    log(f"model loaded in {load_s:.1f} s; matmul GFLOP/s {matmul_before}")

    cases = [("score", args.batch_size), ("score", 1),
             ("generate", args.batch_size), ("generate", 1)]
    rec = Recorder(backend)
    warm = requests[:args.warmup_papers]
    warmup_s = {}
    for kind, bs in cases:
        seconds, _, _ = run_case(backend, rec, kind, bs, warm, candidates, params)
        warmup_s[f"{kind}_bs{bs}"] = round(seconds, 3)
    log(f"warm-up done: {warmup_s}")

    timings: dict[str, list[float]] = {f"{k}_bs{b}": [] for k, b in cases}
    outputs: dict[str, Any] = {}
    shapes: dict[str, dict[str, Any]] = {}
    loads: dict[str, list[float]] = {f"{k}_bs{b}": [] for k, b in cases}
    cpu_all: dict[str, list[float]] = {f"{k}_bs{b}": [] for k, b in cases}
    pass_seconds: list[float] = []
    for repeat in range(args.repeats):
        elapsed = time.perf_counter() - run_start
        if pass_seconds and elapsed + max(pass_seconds) > args.max_seconds:
            log(f"stopping after {repeat} passes: another would pass --max-seconds "
                f"{args.max_seconds:.0f} ({elapsed:.0f} s so far, a pass took "
                f"{max(pass_seconds):.0f} s)")
            break
        pass_start = time.perf_counter()
        for kind, bs in cases:
            key = f"{kind}_bs{bs}"
            seconds, out, shape = run_case(backend, rec, kind, bs, requests, candidates, params)
            if not timings[key] or seconds < min(timings[key]):
                outputs[key], shapes[key] = out, shape
            timings[key].append(round(seconds, 3))
            loads[key].append(round(os.getloadavg()[0], 2))
            cpu_all[key].append(shape["cpu_per_wall"])
            log(f"pass {repeat + 1}: {key} {seconds:.1f} s (cpu/wall "
                f"{shape['cpu_per_wall']}, load {os.getloadavg()[0]:.2f})")
        pass_seconds.append(time.perf_counter() - pass_start)

    matmul_after = measure_matmuls(mean_prompt, cfg.hidden_size, cfg.intermediate_size)
    matmul_best = {k: max(matmul_before[k], matmul_after[k]) for k in matmul_before}
    model_key = f"model_{mean_prompt}x{cfg.hidden_size}@{cfg.hidden_size}x{cfg.intermediate_size}"
    roof_flops = {"square_2048": matmul_best["square_2048"] * 1e9,
                  "model_shaped": matmul_best[model_key] * 1e9}

    n = len(requests)
    score_tokens_per_paper = prompt_tokens / n + sum(cand_tokens)
    results: dict[str, Any] = {}
    for kind, bs in cases:
        key = f"{kind}_bs{bs}"
        best = min(timings[key])
        shape = shapes[key]
        generated = shape["generated_tokens"] if kind == "generate" else 0
        per_paper = (score_tokens_per_paper if kind == "score"
                     else (prompt_tokens + generated) / n)
        entry: dict[str, Any] = {
            "batch_size": bs,
            "prompts_per_forward": (max(1, bs // len(candidates)) if kind == "score" else bs),
            "seconds_best": round(best, 3),
            "seconds_all": timings[key],
            "load_1min_after_each": loads[key],
            "cpu_per_wall_each": cpu_all[key],
            "papers_per_s": round(n / best, 3),
            "prompt_tokens_per_s": round(prompt_tokens / best, 1),
            "tokens_per_paper_for_roof": round(per_paper, 1),
            "padding_overhead": round(shape["prompt_tokens_forwarded_padded"]
                                      / max(1, shape["prompt_tokens_real"]) - 1, 4),
            **shape,
        }
        if kind == "generate":
            entry["generated_tokens_per_s"] = round(generated / best, 2)
            entry["mean_generated_tokens"] = round(generated / n, 2)
            entry["total_tokens_per_s"] = round((prompt_tokens + generated) / best, 1)
        else:
            entry["total_tokens_per_s"] = round(per_paper * n / best, 1)
        roofs = {}
        for pname in ("excluding_embeddings", "including_embeddings"):
            flop_per_paper = 2.0 * params_count[pname] * per_paper
            entry[f"achieved_gflop_per_s_{pname}"] = round(flop_per_paper * n / best / 1e9, 1)
            for fname, flops in roof_flops.items():
                roof = flops / flop_per_paper
                roofs[f"{fname}__{pname}"] = {"roof_papers_per_s": round(roof, 3),
                                              "fraction_of_roof": round(n / best / roof, 4)}
        entry["roof"] = roofs
        results[key] = entry

    # Batched and one-at-a-time must agree (left padding and batch shapes change float sums).
    diffs = [abs(a - b) for ra, rb in zip(outputs[f"score_bs{args.batch_size}"],
                                          outputs["score_bs1"]) for a, b in zip(ra, rb)]
    decisions = [[handler.score_candidates(r)["prediction"] for r in outputs[k]]
                 for k in (f"score_bs{args.batch_size}", "score_bs1")]
    gen_b, gen_1 = outputs[f"generate_bs{args.batch_size}"], outputs["generate_bs1"]
    parsed = [handler.parse_prediction(t) for t in gen_1]
    agreement = {
        "score_max_abs_logprob_diff": max(diffs),
        "score_same_decisions": sum(a == b for a, b in zip(*decisions)),
        "score_accept_predictions": decisions[1].count("Accept"),
        "generate_identical_texts": sum(a == b for a, b in zip(gen_b, gen_1)),
        "generate_parse_success_bs1": sum(bool(p["parse_success"]) for p in parsed),
        "generate_examples_bs1": gen_1[:3],
        "papers": n,
    }

    sb, s1 = results[f"score_bs{args.batch_size}"], results["score_bs1"]
    gb, g1 = results[f"generate_bs{args.batch_size}"], results["generate_bs1"]
    ratios = {
        "score_batched_over_one_at_a_time": round(sb["papers_per_s"] / s1["papers_per_s"], 3),
        "generate_batched_over_one_at_a_time": round(gb["papers_per_s"] / g1["papers_per_s"], 3),
        "score_over_generate_batched": round(sb["papers_per_s"] / gb["papers_per_s"], 3),
        "score_over_generate_one_at_a_time": round(s1["papers_per_s"] / g1["papers_per_s"], 3),
        "best_score_over_best_generate": round(
            max(sb["papers_per_s"], s1["papers_per_s"])
            / max(gb["papers_per_s"], g1["papers_per_s"]), 3),
    }

    result = {
        "what": "zero-shot inference on the bundled sample, embedded model, CPU float32",
        "papers": n,
        "prompt_tokens": {"total": prompt_tokens, "mean": round(prompt_tokens / n, 1),
                          "min": min(prompt_lens), "max": max(prompt_lens)},
        "candidates": candidates,
        "candidate_tokens_with_end_of_turn": cand_tokens,
        "cases": results,
        "ratios_same_run": ratios,
        "agreement_batched_vs_one_at_a_time": agreement,
        "matmul_gflop_per_s": {"before": {k: round(v, 1) for k, v in matmul_before.items()},
                               "after": {k: round(v, 1) for k, v in matmul_after.items()},
                               "used_for_roof": {"square_2048": round(matmul_best["square_2048"],
                                                                      1),
                                                 "model_shaped": round(matmul_best[model_key], 1),
                                                 "model_shaped_is": model_key}},
        "parameters": params_count,
        "roof_formula": "papers/s = matmul FLOP/s / (2 x parameters x tokens per paper); "
                        "attention FLOPs not counted",
        "settings": {"input_formatter": "abstract_only", "output_handler": "binary",
                     "reading": {"score": "backend.score(requests, handler.candidate_texts())",
                                 "generate": "greedy, temperature 0"},
                     "max_tokens": args.max_tokens, "batch_size_batched": args.batch_size,
                     "repeats": args.repeats, "repeats_done": len(pass_seconds),
                     "pass_seconds": [round(x, 1) for x in pass_seconds],
                     "max_seconds": args.max_seconds, "warmup_papers": args.warmup_papers,
                     "warmup_seconds": warmup_s, "device": "cpu", "dtype": "float32",
                     "attn_implementation": getattr(cfg, "_attn_implementation", None),
                     "reported": "best of the repeats; passes interleaved across cases"},
        "model": {"name": EMBEDDED_MODEL_NAME, "path": str(model_path), "cache": cache_note,
                  "load_seconds": round(load_s, 2), "layers": cfg.num_hidden_layers,
                  "hidden": cfg.hidden_size, "intermediate": cfg.intermediate_size,
                  "vocab": cfg.vocab_size},
        "machine": {**machine(), "cpus_usable": len(os.sched_getaffinity(0)),
                    "torch": torch.__version__,
                    "transformers": __import__("transformers").__version__,
                    "torch_threads": torch.get_num_threads(),
                    "load_average_start": [round(x, 2) for x in load_start],
                    "load_average_end": [round(x, 2) for x in os.getloadavg()]},
        "total_seconds": round(time.perf_counter() - run_start, 1),
        "when": when,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    if tmp_cache is not None:
        tmp_cache.cleanup()
    print_table(result, args.out)


def print_table(result: dict[str, Any], out: Path) -> None:
    primary = "model_shaped__excluding_embeddings"
    print(f"\n{result['papers']} papers, mean prompt {result['prompt_tokens']['mean']} tokens, "
          f"torch threads {result['machine']['torch_threads']}, "
          f"load {result['machine']['load_average_start'][0]} -> "
          f"{result['machine']['load_average_end'][0]}")
    header = (f"{'case':<14}{'papers/s':>9}{'prompt tok/s':>13}{'gen tok/s':>10}"
              f"{'best s':>8}{'roof p/s':>10}{'of roof':>9}{'pad':>7}{'cpu/wall':>9}")
    print(header)
    print("-" * len(header))
    for key, c in result["cases"].items():
        roof = c["roof"][primary]
        gen = f"{c['generated_tokens_per_s']:.1f}" if "generated_tokens_per_s" in c else "-"
        print(f"{key:<14}{c['papers_per_s']:>9.2f}{c['prompt_tokens_per_s']:>13.0f}{gen:>10}"
              f"{c['seconds_best']:>8.1f}{roof['roof_papers_per_s']:>10.2f}"
              f"{roof['fraction_of_roof']:>9.1%}{c['padding_overhead']:>7.1%}"
              f"{c['cpu_per_wall']:>9.2f}")
    mm = result["matmul_gflop_per_s"]["used_for_roof"]
    print(f"roof: {mm['model_shaped']} GFLOP/s ({mm['model_shaped_is']}), "
          f"{result['parameters']['excluding_embeddings'] / 1e6:.1f}M params without "
          f"embeddings; square 2048: {mm['square_2048']} GFLOP/s")
    for name, value in result["ratios_same_run"].items():
        print(f"{name}: {value}")
    print(f"-> {out}  ({result['total_seconds']} s)")


if __name__ == "__main__":
    main()
