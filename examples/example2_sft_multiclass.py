"""The spec's Example 2 (LoRA SFT for the four-way decision, reviews included), runnable on a
CPU without a network.

What differs from the spec, and why: the data is the bundled ICLR 2017 sample, so the split is
a stratified one within 2017 instead of years < 2024 / >= 2024; the model is the embedded
SmolLM2-135M-Instruct instead of Qwen2.5-7B-Instruct (no GPU here), and the run is cut short
(``--max-steps``, reviews cut to ``--max-review-chars`` characters each, ``max_length`` 1024) so
it ends in minutes. Everything else is the spec's code: LlamaFactory trains the adapter, the
backends predict with it. On a GPU box: --model Qwen/Qwen2.5-7B-Instruct --max-steps 0
--max-review-chars 0 --train-limit 0 --test-limit 0 (0 = no limit).

    python examples/example2_sft_multiclass.py [--model NAME] [--max-steps N] [--workdir DIR]
"""

import argparse
from pathlib import Path

from paperpred import (
    InferenceConfig,
    ModelType,
    MultiClassDecisionHandler,
    SFTLoRAMode,
    TextOnlyFormatter,
    TrainingConfig,
    load_sample,
    stratified_split,
)

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="smollm2-135m-instruct")
parser.add_argument("--max-steps", type=int, default=4)
parser.add_argument("--train-limit", type=int, default=16)
parser.add_argument("--test-limit", type=int, default=8)
parser.add_argument("--max-review-chars", type=int, default=400)
parser.add_argument("--workdir", default="runs/example2")
args = parser.parse_args()
work = Path(args.workdir)

# Load data (the bundled sample; the spec loads its CSV with ICLRDataLoader.load_from_csv)
submissions = load_sample()

# Split: the sample is all 2017, so a stratified split keeps the four classes in proportion
train_subs, _, test_subs = stratified_split(submissions, ratios=(0.8, 0.0, 0.2), seed=42)
train_subs = train_subs[: args.train_limit or None]
test_subs = test_subs[: args.test_limit or None]

# Configure components
formatter = TextOnlyFormatter(include_reviews=True,
                              max_review_chars=args.max_review_chars or None)
handler = MultiClassDecisionHandler()

config = TrainingConfig(
    model_name_or_path=args.model,
    model_type=ModelType.TEXT_ONLY,
    learning_rate=1e-4,
    num_epochs=3,
    batch_size=4,
    lora_rank=16,
    gradient_accumulation_steps=1,
    max_length=1024,
    extra={"max_steps": args.max_steps} if args.max_steps else {},
)

# Create training mode
sft = SFTLoRAMode(config, formatter, handler)

# Prepare and train
train_samples = sft.format_samples(train_subs, include_label=True)
data_info = sft.prepare_data(train_samples, work / "data" / "sft_multiclass")
config_path = sft.generate_config(data_info, work / "outputs" / "sft_multiclass")

print(f"Training config saved to: {config_path}")
print(f"Run: llamafactory-cli train {config_path}")

# Or train via Python API
sft.train(config_path, overwrite=True)

# Evaluate
test_samples = sft.format_samples(test_subs, include_label=False)
predictions = sft.predict(test_samples, InferenceConfig(
    model_name_or_path=config.model_name_or_path,
    adapter_path=str(work / "outputs" / "sft_multiclass" / "checkpoints"),
))

# Compute metrics
ground_truths = [s.get_multiclass_label() for s in test_subs]
metrics = handler.compute_metrics(predictions, ground_truths)
print(f"Accuracy: {metrics['accuracy']:.3f}")
print(f"Macro F1: {metrics['macro_f1']:.3f}")
