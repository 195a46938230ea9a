"""The spec's Quick Start, runnable on a CPU without a network.

Changes from the spec, and why: the data is the bundled ICLR 2017 sample instead of the Hub
dataset (no network here), and the model is the embedded SmolLM2-135M-Instruct instead of
Qwen2.5-7B-Instruct (no GPU). On a GPU box pass --model Qwen/Qwen2.5-7B-Instruct.

    python examples/quickstart.py [--model NAME] [--limit N]
"""

import argparse

from paperpred import (
    InputModality,
    ModelType,
    OutputType,
    PredictorConfig,
    TrainingMode,
    UnifiedPredictor,
    load_sample,
)

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="smollm2-135m-instruct")
parser.add_argument("--limit", type=int, default=8)
args = parser.parse_args()

# 1. Load data (the bundled sample; the spec loads skonan/iclr-reviews-2020-2026 from the Hub)
submissions = load_sample()[: args.limit]

# 2. Create predictor
predictor = UnifiedPredictor.create(
    input_modality=InputModality.TEXT_ONLY,
    output_type=OutputType.BINARY,
    training_mode=TrainingMode.ZERO_SHOT,
    config=PredictorConfig(
        model_name_or_path=args.model,
        model_type=ModelType.TEXT_ONLY,
        batch_size=4,
    ),
)

# 3. Run predictions
results = predictor.predict(submissions)
for result in results[:5]:
    print(result["submission_id"], result["prediction"], f"score={result['score']:+.3f}")
metrics = predictor.evaluate(results)
print(f"balanced accuracy {metrics['balanced_accuracy']:.3f} on {metrics['n']} papers")
