"""Benchmark: does LoRA SFT learn? And how fast does it train on this CPU?

Real ICLR 2017 rows from the bundled sample. A stratified split (binary: Accept = Oral/Poster,
Reject = Reject/Workshop) holds out ``--test`` papers; ``--train`` papers, half accepted and half
rejected, are drawn from the rest. Each paper is shown as title + abstract + its reviews
(``abstract_with_reviews`` with ``max_review_chars``: each review's prose cut to that many
characters, its rating and confidence kept), with BinaryAcceptRejectHandler's instruction.

1. Zero-shot: the base model (embedded SmolLM2-135M-Instruct by default) predicts the held-out
   papers by label scoring (``ZeroShotMode.predict``); the handler's metrics.
2. SFT: ``SFTLoRAMode`` writes the LlamaFactory dataset and config and runs
   `llamafactory-cli train` (LoRA, CPU, fp32); then the same held-out papers are predicted
   with the adapter, the same way.

Recorded: balanced accuracy, accuracy, AUC (with bootstrap CIs) of both; the learning gain
(SFT - zero-shot balanced accuracy); training throughput (LlamaFactory's
``effective_tokens_per_sec`` and input tokens / train runtime); and, as a same-run baseline for
the training speed, the inference (label-scoring) prompt tokens/s of the base model on the same
held-out prompts: ``train_tokens_per_s / inference_tokens_per_s`` is the ratio to read, since
absolute rates on this shared machine move. Writes bench/results/sft.json.

The gain's uncertainty: a paired bootstrap over the held-out papers (both models scored on the
same resamples) gives its 95% interval and the share of resamples with no gain.

    python bench/bench_sft.py [--train 96] [--test 64] [--epochs 2] [--model NAME]
                              [--workdir DIR [--eval-only]]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from paperpred import load_sample
from paperpred.config import InferenceConfig, TrainingConfig
from paperpred.data.splits import stratified_split
from paperpred.inference.base import ChatRequest
from paperpred.inference.models import resolve_model
from paperpred.inputs import get_input_formatter
from paperpred.modes.sft import SFTLoRAMode
from paperpred.modes.zero_shot import ZeroShotMode
from paperpred.outputs import get_output_handler

KEYS = ("balanced_accuracy", "accuracy", "auc", "macro_f1", "parse_failure_rate")


def _balanced_accuracy(truth: list[str], predicted: list[str]) -> float:
    recalls = []
    for label in ("Accept", "Reject"):
        rows = [p == t for t, p in zip(truth, predicted) if t == label]
        if rows:
            recalls.append(sum(rows) / len(rows))
    return sum(recalls) / len(recalls)


def paired_gain(truth: list[str], zero: list[str], tuned: list[str], seed: int,
                rounds: int = 2000) -> dict:
    """Bootstrap over the held-out papers (both models on the same resample): the 95%
    interval of the balanced-accuracy gain and the share of resamples where it is <= 0."""
    rng = random.Random(seed)
    n, gains = len(truth), []
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        t = [truth[i] for i in idx]
        if len(set(t)) < 2:
            continue
        gains.append(_balanced_accuracy(t, [tuned[i] for i in idx])
                     - _balanced_accuracy(t, [zero[i] for i in idx]))
    gains.sort()
    return {"rounds": len(gains), "ci95": [round(gains[int(0.025 * len(gains))], 4),
                                           round(gains[int(0.975 * len(gains)) - 1], 4)],
            "share_not_positive": round(sum(g <= 0 for g in gains) / len(gains), 4)}


def _balanced_train(pool: list, n: int, seed: int) -> list:
    accept = [s for s in pool if s.get_binary_label() == "Accept"]
    reject = [s for s in pool if s.get_binary_label() == "Reject"]
    rng = random.Random(seed)
    rng.shuffle(accept)
    rng.shuffle(reject)
    half = n // 2
    if len(accept) < half or len(reject) < n - half:
        raise SystemExit(f"not enough rows for --train {n}: {len(accept)} accepted, "
                         f"{len(reject)} rejected")
    rows = accept[:half] + reject[:n - half]
    rng.shuffle(rows)
    return rows


def _metrics(handler, predictions: list[dict]) -> dict:
    metrics = handler.compute_metrics(predictions, [p["ground_truth"] for p in predictions])
    out = {k: metrics.get(k) for k in KEYS}
    out["ci"] = {k: metrics.get(f"{k}_ci") for k in ("balanced_accuracy", "auc")}
    out["predicted"] = {lab: sum(p["prediction"] == lab for p in predictions)
                        for lab in ("Accept", "Reject")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--train", type=int, default=96)
    parser.add_argument("--test", type=int, default=64)
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lora-rank", type=int, default=16)
    parser.add_argument("--max-review-chars", type=int, default=300)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--out", default="bench/results/sft.json")
    parser.add_argument("--eval-only", action="store_true",
                        help="reuse the adapter and train_summary.json in --workdir (an earlier "
                             "run's) and redo only the two evaluations")
    args = parser.parse_args()

    subs = load_sample()
    pool, _, test = stratified_split(subs, ratios=(0.8, 0.0, 0.2), seed=args.seed,
                                     stratify_by="binary")
    test = test[:args.test]
    train = _balanced_train(pool, args.train, args.seed)
    formatter = get_input_formatter("abstract_with_reviews",
                                    max_review_chars=args.max_review_chars)
    handler = get_output_handler("binary")
    model = resolve_model(args.model)
    config = TrainingConfig(model_name_or_path=args.model, learning_rate=args.lr,
                            num_epochs=args.epochs, batch_size=args.batch_size,
                            gradient_accumulation_steps=1, lora_rank=args.lora_rank,
                            lora_alpha=2 * args.lora_rank, lora_dropout=0.05,
                            max_length=args.max_length, val_size=0.0, seed=args.seed)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-sft-"))
    sft = SFTLoRAMode(config, formatter, handler)
    test_samples = sft.format_samples(test)
    infer = InferenceConfig(model_name_or_path=model, device="cpu", batch_size=8)

    zero = ZeroShotMode(config, formatter, handler)
    started = time.perf_counter()
    zero_preds = zero.predict(test_samples, infer)
    zero_s = time.perf_counter() - started
    prompt_tokens = sum(zero.backend(infer).count_tokens(ChatRequest(s.prompt_messages))
                        for s in test_samples)
    zero.close()
    print(f"zero-shot: {zero_s:.1f} s", file=sys.stderr)

    if args.eval_only:
        summary = json.loads((work / "run" / "train_summary.json").read_text())
    else:
        info = sft.prepare_data(sft.format_samples(train, include_label=True), work / "data")
        config_path = sft.generate_config(info, work / "run")
        summary = sft.train(config_path, overwrite=True)
    adapter = work / "run" / "checkpoints"
    started = time.perf_counter()
    sft_preds = sft.predict(test_samples, InferenceConfig(model_name_or_path=model,
                                                           adapter_path=str(adapter),
                                                           device="cpu", batch_size=8))
    sft_s = time.perf_counter() - started
    sft.close()

    zero_m, sft_m = _metrics(handler, zero_preds), _metrics(handler, sft_preds)
    train_tps = summary.get("num_input_tokens_seen", 0) / max(summary.get("train_runtime", 1), 1e-9)
    infer_tps = prompt_tokens / zero_s
    result = {
        "benchmark": "bench_sft",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": args.model,
        "data": {"source": "bundled ICLR 2017 sample", "train": len(train),
                 "train_accepted": sum(s.get_binary_label() == "Accept" for s in train), "test": len(test),
                 "test_accepted": sum(s.get_binary_label() == "Accept" for s in test),
                 "input": f"abstract_with_reviews(max_review_chars={args.max_review_chars})",
                 "mean_prompt_tokens": round(prompt_tokens / max(1, len(test_samples)), 1)},
        "training": {"epochs": args.epochs, "learning_rate": args.lr,
                     "batch_size": args.batch_size, "lora_rank": args.lora_rank,
                     "cutoff_len": args.max_length, "precision": "fp32", "device": "cpu",
                     "steps": summary.get("steps"), "first_loss": summary.get("first_loss"),
                     "last_loss": summary.get("last_loss"),
                     "train_loss": summary.get("train_loss"),
                     "train_runtime_s": summary.get("train_runtime_s"),
                     "wall_s_with_startup": summary.get("wall_s"),
                     "input_tokens": summary.get("num_input_tokens_seen"),
                     "tokens_per_s": round(train_tps, 2),
                     "effective_tokens_per_s": summary.get("effective_tokens_per_sec")},
        "baseline_inference": {"prompt_tokens": prompt_tokens, "seconds": round(zero_s, 2),
                               "prompt_tokens_per_s": round(infer_tps, 2)},
        "train_vs_inference_tokens_per_s": (None if args.eval_only
                                            else round(train_tps / infer_tps, 3)),
        "eval_only": args.eval_only,
        "zero_shot": zero_m,
        "sft": sft_m,
        "balanced_accuracy_gain": round(sft_m["balanced_accuracy"]
                                        - zero_m["balanced_accuracy"], 4),
        "balanced_accuracy_gain_paired_bootstrap": paired_gain(
            [p["ground_truth"] for p in zero_preds], [p["prediction"] for p in zero_preds],
            [p["prediction"] for p in sft_preds], args.seed),
        "predictions": {"ids": [p["submission_id"] for p in zero_preds],
                        "truth": [p["ground_truth"] for p in zero_preds],
                        "zero_shot": [p["prediction"] for p in zero_preds],
                        "sft": [p["prediction"] for p in sft_preds],
                        "zero_shot_p_accept": [round(p["probabilities"]["Accept"], 4)
                                               for p in zero_preds],
                        "sft_p_accept": [round(p["probabilities"]["Accept"], 4)
                                         for p in sft_preds]},
        "sft_predict_s": round(sft_s, 2),
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(),
                    "python": platform.python_version()},
        "workdir": str(work),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
