"""Benchmark: does training learn the signal in its input? Learning curves on real ICLR labels,
beside the baselines fitted on the same training papers.

Three parts (``--part``, repeatable; default all), each with the embedded model (SmolLM2-135M
on CPU) and the binary decision (Accept = Oral/Spotlight/Poster, Reject = Reject/Workshop):

- ``scores``: ``review_scores`` prompts (each review's rating and confidence, the year's rating
  scale, the mean rating) built from bench/data/iclr_scores_2017_2023.jsonl.gz (ratings and
  decisions of the 27,726-row metadata file, withdrawn and desk-rejected papers left out).
  Training: ``--train`` papers of ``--train-years`` (default 2019-2022; half accepted, half
  rejected); held out: ``--test`` papers of ``--test-year`` (default 2023; its own prior).
  LoRA SFT through LlamaFactory with the hyper-parameters of ``--sft-config``
  (configs/train_sft_cpu.yaml).
- ``text``: ``abstract_with_reviews`` (each review's prose cut to ``--review-chars``, its rating
  and confidence kept) on the bundled ICLR 2017 sample, a stratified 80/20 split (seed 42);
  the same SFT settings, ``--text-steps`` steps.
- ``grpo``: GRPO through TRL on the ``scores`` data, with the handler's reward and the format
  reward and the settings of ``--grpo-config`` (configs/train_grpo_cpu.yaml); its per-step mean
  reward is recorded beside the held-out curve. First (``--format-warmup`` steps, 0 for none)
  a label-free warm-up: LoRA SFT on the training prompts, each with both answers (Accept and
  Reject, in order), merged into the weights, so that GRPO starts from a model that answers in
  the format and says either answer with p ~ 0.5 (the base model answers in format ~6% of the
  time, and GRPO straight from it made every paper's answer deterministic within ~10 steps: no
  group of completions differed, so no gradient). Step 0 of the curve is the warmed-up model; the base model's
  zero-shot is recorded beside it.

Each checkpoint (every ``save_steps``) predicts the held-out papers by label scoring (the
log-odds of "Accept" over "Reject"); step 0 is the base model (zero-shot). Every point records
balanced accuracy, accuracy and AUC with their bootstrap intervals and how many papers were
called Accept. Beside them, fitted on the same training papers and scored on the same held-out
papers: the majority class, the mean-rating rule (threshold fitted on the training years),
logistic regression on the rating summary, TF-IDF + logistic regression of the prompt text.
For the last checkpoint also: balanced accuracy with the Accept threshold on the log-odds fitted
on ``--calibrate`` training papers (instead of 0). Gains: the paired bootstrap interval of the
last checkpoint's balanced accuracy minus the zero-shot one, and its difference to the rule.

Writes bench/results/learning.json and bench/results/learning.png.

    python bench/bench_learning.py [--part scores] [--part text] [--part grpo]
        [--train 320] [--test 200] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paperpred import load_sample
from paperpred.config import InferenceConfig
from paperpred.data import ICLRDataLoader, balance_classes, stratified_split
from paperpred.evaluation.baselines import compute_baselines
from paperpred.modes.progress import read_progress
from paperpred.runs import TrainRun
from paperpred.runs import build_mode as run_build_mode
from paperpred.runs import load_config as load_run_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sft import paired_gain  # the same paired bootstrap as the SFT bench

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "learning.json"
SCORES_DATA = ROOT / "bench" / "data" / "iclr_scores_2017_2023.jsonl.gz"
KEYS = ("balanced_accuracy", "balanced_accuracy_ci", "accuracy", "auc", "auc_ci")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def load_config(path: Path, **overrides: Any) -> TrainRun:
    config: TrainRun = load_run_config(TrainRun, str(path), overrides)
    return config.resolve()


def build_mode(config: TrainRun) -> Any:
    return run_build_mode(config.resolve())


# ----- data ------------------------------------------------------------------------------
def labelled(subs: list, handler: Any) -> list:
    return [s for s in subs if handler.label_value(s) is not None]


def scores_data(args: argparse.Namespace, handler: Any) -> tuple[list, list, dict]:
    loader = ICLRDataLoader(strict=False)
    subs = labelled(list(loader.load_from_jsonl(SCORES_DATA)), handler)
    years = set(args.train_years)
    pool = [s for s in subs if s.year in years and s.ratings]
    rng = random.Random(args.seed)
    train = balance_classes(pool, seed=args.seed)
    rng.shuffle(train)
    train = train[:args.train]
    held = [s for s in subs if s.year == args.test_year and s.ratings]
    rng.shuffle(held)
    test = held[:args.test]
    return train, test, {"source": str(SCORES_DATA.relative_to(ROOT)),
                         "load": loader.report.summary(), "train_years": sorted(years),
                         "test_year": args.test_year}


def text_data(args: argparse.Namespace, handler: Any) -> tuple[list, list, dict]:
    subs = labelled(load_sample(), handler)
    split = stratified_split(subs, ratios=(0.8, 0.0, 0.2), seed=42, stratify_by="binary")
    train = balance_classes(list(split.train), seed=args.seed)
    return train, list(split.test), {"source": "bundled ICLR 2017 sample",
                                      "split": "stratified 0.8/0.2, seed 42"}


def describe(subs: list, handler: Any) -> dict[str, Any]:
    truths = [handler.label_value(s) for s in subs]
    years: dict[str, int] = {}
    for s in subs:
        years[str(s.year)] = years.get(str(s.year), 0) + 1
    return {"n": len(subs), "accept_share": round(truths.count("Accept") / len(truths), 4),
            "per_year": years}


# ----- evaluation ------------------------------------------------------------------------
def evaluate(mode: Any, samples: list, adapter: str | None, batch: int,
             model: str | None = None) -> tuple[dict, list]:
    infer = InferenceConfig(model_name_or_path=model or mode.config.model_name_or_path,
                            adapter_path=adapter, batch_size=batch)
    preds = mode.predict(samples, infer)
    metrics = mode.output_handler.compute_metrics(preds, [s.ground_truth for s in samples])
    point = {k: _round(metrics.get(k)) for k in KEYS}
    point["called_accept"] = sum(p["prediction"] == "Accept" for p in preds)
    return point, preds


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def checkpoints(run_dir: Path) -> list[Path]:
    found = (run_dir / "checkpoints").glob("checkpoint-*")
    return sorted(found, key=lambda p: int(p.name.rsplit("-", 1)[1]))


def calibrated(mode: Any, calib: list, test_preds: list, test: list, adapter: str,
               batch: int) -> dict[str, Any]:
    """Balanced accuracy on the held-out papers with the Accept threshold on the log-odds
    chosen on training papers."""
    _, preds = evaluate(mode, calib, adapter, batch)
    threshold = float(mode.output_handler.choose_threshold(preds,
                                                           [s.ground_truth for s in calib]))
    moved = [{**p, "prediction": "Accept" if p["score"] >= threshold else "Reject"}
             for p in test_preds]
    metrics = mode.output_handler.compute_metrics(moved, [s.ground_truth for s in test])
    return {"threshold": round(threshold, 4), "fitted_on": len(calib),
            **{k: _round(metrics.get(k)) for k in KEYS}}


# ----- format warm-up (GRPO) --------------------------------------------------------------
def format_warmup(args: argparse.Namespace, train: list, run_dir: Path) -> dict[str, Any]:
    """LoRA SFT of the base model on the training prompts, each prompt once with every answer
    (Accept and Reject), merged into the weights: the model learns to answer in the handler's
    format and nothing of the decision (both answers of a paper are equally right), so GRPO
    starts from a policy whose every group mixes Accept and Reject (from the base model, ~6%
    of completions are readable and GRPO's first steps make each paper's answer
    deterministic: no group differs, no gradient). An earlier version drew one answer per
    paper at random, shuffled; its model said Accept with p~0.24 for every paper (and
    shuffled pairs ~0.07), so its held-out answers started all Reject."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from paperpred.inference.models import resolve_model
    from paperpred.outputs.base import ANSWER_PREFIX

    config = load_config(Path(args.sft_config), max_steps=args.format_warmup)
    # In order: a prompt's two answers are neighbours, so an even batch favours neither.
    config.training.extra = {**config.training.extra, "save_steps": 10 ** 6, "disable_shuffling": True}
    mode = build_mode(config)
    samples = []
    for sample in mode.format_samples(train, include_label=True):
        for answer in mode.output_handler.labels:
            label = ANSWER_PREFIX + answer
            samples.append(dataclasses.replace(
                sample, label=label,
                messages=[*sample.prompt_messages, {"role": "assistant", "content": label}]))
    info = mode.prepare_data(samples, run_dir / "data")
    started = time.perf_counter()
    summary = mode.train(mode.generate_config(info, run_dir), overwrite=True)
    base = resolve_model(config.model)
    merged = run_dir / "merged"
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    PeftModel.from_pretrained(model, str(run_dir / "checkpoints")).merge_and_unload() \
        .save_pretrained(merged)
    AutoTokenizer.from_pretrained(base).save_pretrained(merged)
    labels = [s.label for s in samples]
    return {"model": str(merged), "steps": summary.get("steps"),
            "wall_s": round(time.perf_counter() - started, 1),
            "labels": {label: labels.count(label) for label in sorted(set(labels))},
            "how": "LoRA SFT on the training prompts, each with every answer (label-free), "
                   f"settings of {Path(args.sft_config).name}, merged"}


# ----- one part --------------------------------------------------------------------------
def run_part(name: str, config: TrainRun, mode: Any, train: list, test: list,
             info: dict, args: argparse.Namespace,
             warmup: dict[str, Any] | None = None) -> dict[str, Any]:
    handler, formatter = mode.output_handler, mode.input_formatter
    run_dir = Path(args.workdir) / name
    log(f"{name}: {len(train)} training papers, {len(test)} held out; run folder {run_dir}")
    test_samples = mode.format_samples(test)
    baselines = {b.name: {"description": b.description,
                          **{k: _round(b.metrics.get(k)) for k in KEYS}}
                 for b in compute_baselines(handler, formatter, train, test)}
    log(f"{name}: baselines " + ", ".join(
        f"{k} {v['balanced_accuracy']}/{v['auc']}" for k, v in baselines.items()))
    zero, zero_preds = evaluate(mode, test_samples, None, args.eval_batch)
    log(f"{name}: step 0 {zero}")
    if warmup:
        base_zero, _ = evaluate(mode, test_samples, None, args.eval_batch, model=warmup["base"])
        warmup["base_zero_shot"] = base_zero
        log(f"{name}: base model zero-shot {base_zero}")
    info_data = mode.prepare_data(mode.format_samples(train, include_label=True),
                                  run_dir / "data")
    config_path = mode.generate_config(info_data, run_dir)
    started = time.perf_counter()
    summary = mode.train(config_path, overwrite=not args.keep)
    train_s = time.perf_counter() - started
    curve = [{"step": 0, **zero}]
    last_preds, last = zero_preds, None
    for ckpt in checkpoints(run_dir):
        point, last_preds = evaluate(mode, test_samples, str(ckpt), args.eval_batch)
        curve.append({"step": int(ckpt.name.rsplit("-", 1)[1]), **point})
        last = ckpt
        log(f"{name}: {curve[-1]}")
    truths = [s.ground_truth for s in test_samples]
    result: dict[str, Any] = {
        "config": str(Path(args.sft_config if config.short_mode == "sft" else args.grpo_config)),
        "settings": {k: v for k, v in config.to_dict().items() if v not in (None, [], {})},
        "data": {**info, "train": describe(train, handler), "test": describe(test, handler)},
        "baselines": baselines, "curve": curve,
        **({"format_warmup": warmup} if warmup else {}),
        "train_wall_s": round(train_s, 1),
        "train_summary": {"steps": summary.get("steps"),
                          "train_runtime_s": summary.get("train_runtime_s"),
                          "first_loss": summary.get("first_loss"),
                          "last_loss": summary.get("last_loss")},
    }
    if last is not None:
        final = [p["prediction"] for p in last_preds]
        zero_labels = [p["prediction"] for p in zero_preds]
        truth_labels = [handler.read_truth(t) for t in truths]
        result["gain_over_zero_shot"] = {
            "difference": round(curve[-1]["balanced_accuracy"] - zero["balanced_accuracy"], 4),
            **paired_gain(truth_labels, zero_labels, final, args.seed)}
        rule = baselines.get("mean_rating_rule")
        if rule:
            result["last_minus_rule"] = {
                "balanced_accuracy": round(curve[-1]["balanced_accuracy"]
                                           - rule["balanced_accuracy"], 4),
                "auc": round((curve[-1]["auc"] or 0) - (rule["auc"] or 0), 4)}
        if args.calibrate:
            calib = mode.format_samples(train[:args.calibrate])
            result["last_calibrated"] = calibrated(mode, calib, last_preds, test_samples,
                                                   str(last), args.eval_batch)
    steps = read_progress(run_dir / "train_progress.jsonl")
    if config.short_mode == "grpo":
        result["reward_per_step"] = [_round(s.get("reward")) for s in steps]
        result["reward_components"] = {
            k: [_round(s.get(k)) for s in steps]
            for k in sorted({k for s in steps for k in s if k.startswith("rewards/")})}
        result["completion_length"] = [_round(s.get("completion_length")) for s in steps]
        result["reward_trend"] = reward_trend(result, handler.name)
    else:
        result["loss_per_step"] = [_round(s.get("loss")) for s in steps]
    return result


def reward_trend(result: dict[str, Any], handler_name: str, window: int = 10) -> dict[str, Any]:
    """Mean reward, decision reward and format reward over the first and last ``window`` steps,
    and whether the held-out answers collapsed to one class (the reward-hacking sign: a rising
    reward while every paper gets the same answer)."""
    def ends(values: list) -> dict[str, Any]:
        values = [v for v in values if v is not None]
        if not values:
            return {"first": None, "last": None}
        return {"first": round(sum(values[:window]) / len(values[:window]), 4),
                "last": round(sum(values[-window:]) / len(values[-window:]), 4)}

    components = result.get("reward_components", {})
    last = result["curve"][-1]
    n = result["data"]["test"]["n"]
    return {"window_steps": window, "reward": ends(result.get("reward_per_step", [])),
            "decision_reward": ends(components.get(f"rewards/{handler_name}_reward/mean", [])),
            "format_reward": ends(components.get("rewards/format_reward/mean", [])),
            "held_out_one_class": last["called_accept"] in (0, n)}


# ----- plot ------------------------------------------------------------------------------
def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = list(results["parts"].items())
    fig, axes = plt.subplots(1, len(parts), figsize=(5.2 * len(parts), 4.2), squeeze=False)
    for ax, (name, part) in zip(axes[0], parts):
        steps = [p["step"] for p in part["curve"]]
        for key, color in (("balanced_accuracy", "tab:blue"), ("auc", "tab:orange")):
            ax.plot(steps, [p[key] for p in part["curve"]], "o-", color=color,
                    label=f"model {key.replace('_', ' ')}")
            low = [p[f"{key}_ci"][0] if p.get(f"{key}_ci") else p[key] for p in part["curve"]]
            high = [p[f"{key}_ci"][1] if p.get(f"{key}_ci") else p[key]
                    for p in part["curve"]]
            ax.fill_between(steps, low, high, color=color, alpha=0.12)
        for base, style in (("mean_rating_rule", "--"), ("tfidf_logreg", ":"),
                            ("rating_features_logreg", "-.")):
            if base in part["baselines"]:
                ax.axhline(part["baselines"][base]["balanced_accuracy"], color="tab:blue",
                           linestyle=style, linewidth=1, label=f"{base} bACC")
        if "reward_per_step" in part:
            twin = ax.twinx()
            twin.plot(range(1, len(part["reward_per_step"]) + 1), part["reward_per_step"],
                      color="tab:green", alpha=0.5, label="mean reward")
            twin.set_ylabel("mean reward per step", color="tab:green")
        ax.set_ylim(0.3, 1.0)
        ax.set_xlabel("optimizer step (0 = zero-shot)")
        ax.set_title(f"{name}: {part['settings'].get('input')}, test "
                     f"{part['data']['test']['n']}")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", action="append", choices=("scores", "text", "grpo"))
    parser.add_argument("--sft-config", default=str(ROOT / "configs" / "train_sft_cpu.yaml"))
    parser.add_argument("--grpo-config", default=str(ROOT / "configs" / "train_grpo_cpu.yaml"))
    parser.add_argument("--train", type=int, default=320)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--train-years", type=int, nargs="+", default=[2019, 2020, 2021, 2022])
    parser.add_argument("--test-year", type=int, default=2023)
    parser.add_argument("--steps", type=int, default=None, help="override max_steps (SFT)")
    parser.add_argument("--grpo-steps", type=int, default=None)
    parser.add_argument("--text-steps", type=int, default=None)
    parser.add_argument("--review-chars", type=int, default=150)
    parser.add_argument("--text-max-length", type=int, default=768,
                        help="max_length of the text part: abstract + reviews + instruction "
                             "fit whole (about 510 tokens on average at --review-chars 150)")
    parser.add_argument("--save-every", type=int, default=25)
    parser.add_argument("--format-warmup", type=int, default=30,
                        help="GRPO: steps of SFT on random answers before GRPO (0: none)")
    parser.add_argument("--calibrate", type=int, default=64)
    parser.add_argument("--eval-batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="/tmp/bench-learning")
    parser.add_argument("--keep", action="store_true", help="reuse finished runs in workdir")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    parts = args.part or ["scores", "text", "grpo"]
    out = Path(args.out)
    results: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    results.setdefault("parts", {})
    for name in parts:
        warmup = None
        if name == "grpo":
            config = load_config(Path(args.grpo_config), max_steps=args.grpo_steps)
        elif name == "text":
            config = load_config(Path(args.sft_config), max_steps=args.text_steps,
                                 input="abstract_with_reviews",
                                 input_kwargs={"max_review_chars": args.review_chars},
                                 max_length=args.text_max_length)
        else:
            config = load_config(Path(args.sft_config), max_steps=args.steps)
        config.training.extra = {**config.training.extra, "save_steps": args.save_every, "save_total_limit": 100}
        mode = build_mode(config)
        train, test, info = (text_data if name == "text" else scores_data)(
            args, mode.output_handler)
        if name == "grpo" and args.format_warmup:  # GRPO then starts from the merged model
            warmup = format_warmup(args, train, Path(args.workdir) / "grpo-format-warmup")
            warmup["base"], config.model = config.model, warmup["model"]
            mode = build_mode(config)
        results["parts"][name] = run_part(name, config, mode, train, test, info, args, warmup)
        results.update({
            "what": __doc__.split("\n\n")[0],
            "written": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
        })
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        plot(results, out.with_suffix(".png"))
        log(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
