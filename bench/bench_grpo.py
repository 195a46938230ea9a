"""Benchmark: GRPO training speed on this machine's CPU, beside plain generation of the same
model in the same run.

The GRPO run goes through the library path (``GRPOMode.prepare_data`` -> ``generate_config`` ->
``train``, TRL 0.24 ``GRPOTrainer`` in-process, LoRA r=8 on all linear layers, float32): the
first ``--papers`` submissions of the bundled ICLR 2017 sample, ``abstract_only`` prompts with
BinaryAcceptRejectHandler's instruction, the default rewards (handler reward + format reward),
``--group`` completions per prompt, one prompt per step (``batch_size`` = ``--group``,
``gradient_accumulation_steps`` 1), ``--max-completion`` new tokens at most, ``--steps``
optimizer steps, ``beta`` 0.04 (so the reference pass runs too), no checkpoints.

Measured: steps/s (``steps / train_runtime``), generated tokens/s (completion tokens counted from
TRL's ``completion_ids``, over the train runtime) and seconds per step (from the progress log).

Baseline, in the same process after the run: ``model.generate`` of the same model (float32,
no adapter), for the first ``--steps`` prompts, each as a batch of ``--group`` copies (as TRL
generates a step's completions in one call), sampling at temperature 1.0 with at most
``--max-completion`` new tokens; generated tokens are counted up to and including the first
end-of-sequence token, as TRL does. One warm-up call first. Reported: generated tokens/s, and
the ratio GRPO / baseline generated tokens/s (the share of a GRPO step that is generation: the
rest is the policy and reference forward passes, the backward pass and the optimizer).

Also recorded: the load average at start and end (the CPU may be shared), torch threads,
versions, model and settings. Writes bench/results/grpo.json.

    python bench/bench_grpo.py [--model smollm2-135m-instruct] [--papers 8] [--steps 4]
                               [--group 4] [--max-completion 32]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from machine import machine

from paperpred import BinaryAcceptRejectHandler, TrainingConfig, load_sample
from paperpred.inference.models import resolve_model
from paperpred.inputs import get_input_formatter
from paperpred.modes.grpo import GRPOMode
from paperpred.modes.progress import read_progress

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "grpo.json"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def grpo_run(args: argparse.Namespace, samples: list[Any], mode: GRPOMode) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-grpo-") as tmp:
        info = mode.prepare_data(samples, Path(tmp) / "data")
        config_path = mode.generate_config(info, Path(tmp) / "run")
        started = time.perf_counter()
        summary = mode.train(config_path)
        wall = time.perf_counter() - started
        steps = read_progress(Path(tmp) / "run" / "train_progress.jsonl")
    elapsed = [0.0] + [s["elapsed_s"] for s in steps]
    per_step = [round(b - a, 3) for a, b in itertools.pairwise(elapsed)]
    return {
        "steps": summary["steps"],
        "train_runtime_s": summary["train_runtime_s"],
        "wall_s_with_model_load": round(wall, 2),
        "steps_per_s": summary["steps_per_s"],
        "seconds_per_step": per_step,
        "generated_tokens": summary["generated_tokens"],
        "completions": summary["completions"],
        "generated_tokens_per_s": summary["generated_tokens_per_s"],
        "mean_completion_length": [s.get("completion_length") for s in steps],
        "num_tokens_prompt_plus_completion": summary["num_tokens"],
        "reward_per_step": [s.get("reward") for s in steps],
        "kl_per_step": [s.get("kl") for s in steps],
        "loss_per_step": [s.get("loss") for s in steps],
    }


def baseline(args: argparse.Namespace, samples: list[Any], max_prompt: int) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model(args.model)
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    eos = model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos]) | {tok.eos_token_id}
    texts = [tok.apply_chat_template(s.prompt_messages, tokenize=False,
                                     add_generation_prompt=True) for s in samples[:args.steps]]

    def generate(text: str, new_tokens: int) -> tuple[int, int]:
        batch = tok([text] * args.group, return_tensors="pt", padding=True,
                    padding_side="left", truncation=True, max_length=max_prompt,
                    add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**batch, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                                 max_new_tokens=new_tokens, pad_token_id=tok.pad_token_id)
        generated = 0
        for row in out[:, batch["input_ids"].shape[1]:].tolist():
            n = len(row)
            for i, token in enumerate(row):
                if token in eos_ids:
                    n = i + 1
                    break
            generated += n
        return generated, int(batch["input_ids"].shape[1])

    generate(texts[0], 4)  # warm-up
    torch.manual_seed(0)
    tokens, prompt_lens = 0, []
    started = time.perf_counter()
    for text in texts:
        n, prompt_len = generate(text, args.max_completion)
        tokens += n
        prompt_lens.append(prompt_len)
    seconds = time.perf_counter() - started
    return {"calls": len(texts), "batch": args.group, "generated_tokens": tokens,
            "seconds": round(seconds, 3), "generated_tokens_per_s": round(tokens / seconds, 3),
            "seconds_per_call": round(seconds / len(texts), 3), "prompt_tokens": prompt_lens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--papers", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--group", type=int, default=4)
    parser.add_argument("--max-completion", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    load_start = [round(x, 2) for x in os.getloadavg()]
    began = time.perf_counter()

    subs = load_sample()[: args.papers]
    handler = BinaryAcceptRejectHandler()
    config = TrainingConfig(
        model_name_or_path=args.model, learning_rate=1e-5, num_epochs=1,
        batch_size=args.group, gradient_accumulation_steps=1, grpo_group_size=args.group,
        grpo_kl_coeff=0.04, max_length=args.max_length, lora_dropout=0.0,
        extra={"max_steps": args.steps, "max_completion_length": args.max_completion,
               "save_strategy": "no", "shuffle_dataset": False})
    mode = GRPOMode(config, get_input_formatter("abstract_only"), handler)
    samples = mode.format_samples(subs, include_label=True)
    log(f"GRPO: {args.model}, {args.steps} steps x {args.group} completions "
        f"(<= {args.max_completion} tokens), load {load_start[0]}")
    grpo = grpo_run(args, samples, mode)
    max_prompt = args.max_length - args.max_completion
    log(f"GRPO: {grpo['steps_per_s']} steps/s, {grpo['generated_tokens_per_s']} generated "
        f"tokens/s; baseline generate ...")
    base = baseline(args, samples, max_prompt)
    ratio = grpo["generated_tokens_per_s"] / base["generated_tokens_per_s"]
    log(f"baseline: {base['generated_tokens_per_s']} generated tokens/s; GRPO/baseline "
        f"{ratio:.3f}")

    import peft
    import transformers
    import trl

    result = {
        "what": "GRPO training speed (TRL GRPOTrainer + LoRA through GRPOMode, CPU) beside "
                "plain model.generate of the same model and lengths, same run",
        "grpo": grpo,
        "baseline_generate": base,
        "ratios_same_run": {
            "grpo_over_baseline_generated_tokens_per_s": round(ratio, 4),
            "baseline_generate_seconds_per_call": base["seconds_per_call"],
            "grpo_seconds_per_step": round(grpo["train_runtime_s"] / grpo["steps"], 3),
        },
        "settings": {"papers": args.papers, "steps": args.steps, "group": args.group,
                     "prompts_per_step": 1, "max_completion_length": args.max_completion,
                     "max_prompt_length": max_prompt, "formatter": "abstract_only",
                     "handler": "binary", "rewards":
                     [s.name for s in mode.reward_specs], "lora_rank": config.lora_rank,
                     "beta": config.grpo_kl_coeff, "dtype": "float32",
                     "sampling": "temperature 1.0, top_p 1.0, no top_k"},
        "model": {"name": args.model, "path": resolve_model(args.model)},
        "machine": {**machine(), "torch_threads": torch.get_num_threads(),
                    "torch": torch.__version__, "transformers": transformers.__version__,
                    "trl": trl.__version__, "peft": peft.__version__,
                    "load_average_start": load_start,
                    "load_average_end": [round(x, 2) for x in os.getloadavg()]},
        "total_seconds": round(time.perf_counter() - began, 1),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
