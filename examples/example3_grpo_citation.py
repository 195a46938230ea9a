"""The spec's Example 3 (GRPO training for citation prediction) at small scale, on a CPU.

The spec's code runs as written from "Load data" on; what differs, and why:

- Data: real ICLR 2017 submissions of the bundled sample with their citation percentiles,
  written to a CSV in the spec's schema, and small PDFs generated here (title and abstract on
  pages, made by examples/demo_data.py) rendered into ``normalized/<id>/`` page
  images: the spec's ``data/full_run`` is not shipped.
- Model: a tiny random-weight Qwen2.5-VL with the real architecture and processor
  (``tiny-qwen2.5-vl``) instead of Qwen2.5-VL-7B-Instruct (no GPU, no network). Its answers are
  noise, so the spec's ``proximity_reward`` raises on them (``parse_prediction`` gives
  ``prediction: None`` for an unreadable answer and ``abs(None - gt)`` fails): paperpred counts
  those errors per step (``reward_errors``) and gives the handler's parse-failure reward.
- Scale: a few papers, ``batch_size=4`` with ``gradient_accumulation_steps=1`` (one prompt x 4
  completions per step), ``max_steps`` and a short ``max_completion_length`` through
  ``config.extra``; with the spec's defaults (batch 4 x accumulation 8) one step takes 8 papers.

On a GPU box: ``--model Qwen/Qwen2.5-VL-7B-Instruct --limit 0 --max-steps 0`` (all papers, full
epochs) and your own CSV and images.

    python examples/example3_grpo_citation.py [--model NAME] [--limit N] [--max-steps N]
                                              [--workdir DIR]
"""

import argparse
import json
from pathlib import Path

from demo_data import write_spec_layout  # examples/demo_data.py

from paperpred import (
    CitationPercentileHandler,
    GRPOMode,
    ICLRDataLoader,
    InferenceConfig,
    ModelType,
    TextWithImagesFormatter,
    TrainingConfig,
    load_sample,
)

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="tiny-qwen2.5-vl")
parser.add_argument("--limit", type=int, default=4, help="papers (0: all)")
parser.add_argument("--max-steps", type=int, default=2, help="GRPO steps (0: full epochs)")
parser.add_argument("--max-images", type=int, default=2)
parser.add_argument("--max-completion-length", type=int, default=16)
parser.add_argument("--workdir", default="runs/example3_workdir")
args = parser.parse_args()
work = Path(args.workdir)


# Data in the spec's layout: a CSV plus <image_base_dir>/<submission_id>/page_NNN.png
sample = [s for s in load_sample() if "citation_percentile" in s.labels]
sample = sample[: args.limit] if args.limit else sample
write_spec_layout(sample, work, "iclr_with_citations.csv", dpi=36)

# ----- the spec's Example 3 -------------------------------------------------------------------
# Load data with citation labels
loader = ICLRDataLoader(
    data_dir=work,
    image_base_dir=work / "normalized",
)
submissions = list(loader.load_from_csv(work / "iclr_with_citations.csv"))

# Filter to submissions with citation data
submissions = [s for s in submissions if "citation_percentile" in s.labels]

# Configure
formatter = TextWithImagesFormatter(include_reviews=True, max_images=args.max_images)
handler = CitationPercentileHandler()

extra = {"max_completion_length": args.max_completion_length}
if args.max_steps:
    extra["max_steps"] = args.max_steps
config = TrainingConfig(
    model_name_or_path=args.model,
    model_type=ModelType.VISION_LANGUAGE,
    learning_rate=5e-6,
    num_epochs=1,
    grpo_group_size=4,
    grpo_kl_coeff=0.05,
    batch_size=4,  # small scale: 1 prompt x 4 completions per step (see the docstring)
    gradient_accumulation_steps=1,
    extra=extra,
)


# Custom reward: closer predictions get higher rewards
def proximity_reward(prediction: str, ground_truth: str) -> float:
    parsed = handler.parse_prediction(prediction)
    pred = parsed.get("prediction", 0.5)
    gt = float(ground_truth.replace("Answer: ", ""))
    return max(0.0, 1.0 - abs(pred - gt) * 2)


grpo = GRPOMode(config, formatter, handler, reward_function=proximity_reward)

# Train
samples = grpo.format_samples(submissions, include_label=True)
data_info = grpo.prepare_data(samples, work / "data" / "grpo_citation")
config_path = grpo.generate_config(data_info, work / "outputs" / "grpo_citation")
summary = grpo.train(config_path)
# ----- end of the spec's example --------------------------------------------------------------

steps = [json.loads(line) for line in
         (config_path.parent / "train_progress.jsonl").read_text().splitlines()]
print(f"GRPO steps: {summary['steps']}, prompts: {data_info['num_samples']}, "
      f"images: {data_info['num_images']}")
print(f"reward per step: {[round(s['reward'], 3) for s in steps]}")
print(f"reward errors per step (proximity_reward on unreadable answers): "
      f"{[s['reward_errors'] for s in steps]}")
print(f"generated tokens/s: {summary['generated_tokens_per_s']}")

# Predict with the trained adapter
predictions = grpo.predict(samples[:2], InferenceConfig(
    model_name_or_path=config.model_name_or_path,
    adapter_path=str(config_path.parent / "checkpoints"),
    batch_size=2,
))
print(f"adapter predictions: {[round(p['prediction'], 3) for p in predictions]} "
      f"(truth {[round(p['ground_truth'], 3) for p in predictions]})")
