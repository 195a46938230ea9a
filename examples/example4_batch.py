"""The spec's Example 4 (batch prediction with progress), on the embedded model and the
bundled sample. Run it, kill it (Ctrl-C) and run it again: it resumes where it stopped.

    python examples/example4_batch.py [--model NAME] [--limit N] [--out results/predictions.json]
"""

import argparse
import json
from pathlib import Path

from paperpred import (
    BatchPredictor,
    InputModality,
    OutputType,
    PredictorConfig,
    TrainingMode,
    UnifiedPredictor,
    load_sample,
)

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="smollm2-135m-instruct")
parser.add_argument("--limit", type=int, default=16)
parser.add_argument("--out", default="results/predictions.json")
args = parser.parse_args()

all_submissions = load_sample()[: args.limit]

predictor = UnifiedPredictor.create(
    input_modality=InputModality.TEXT_ONLY,
    output_type=OutputType.BINARY,
    training_mode=TrainingMode.ZERO_SHOT,
    config=PredictorConfig(model_name_or_path=args.model),
)

batch_predictor = BatchPredictor(
    predictor=predictor,
    batch_size=8,
    show_progress=True,
)

# Predict and save results
output_path = batch_predictor.predict_and_save(
    submissions=all_submissions,
    output_path=Path(args.out),
    include_metrics=True,
)
print(f"Results saved to: {output_path}")
metrics = json.loads(Path(output_path).read_text())["metrics"]
print(f"accuracy {metrics['accuracy']:.3f}  balanced accuracy {metrics['balanced_accuracy']:.3f}")
