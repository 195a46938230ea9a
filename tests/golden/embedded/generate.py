"""Write golden.json: the embedded model's prompt token ids and transformers label scores for 8
bundled papers, made in the main environment (transformers 4.57, float32). Tests compare every
environment and engine with it: the same ids exactly, the same scores within a tolerance.

Run: HF_HUB_OFFLINE=1 .venv/bin/python tests/golden/embedded/generate.py
"""

from __future__ import annotations

import json
from pathlib import Path

import transformers

from paperpred import PredictorConfig, UnifiedPredictor, load_sample
from paperpred.inference.embedded import ensure_embedded_model

HERE = Path(__file__).resolve().parent
N_PAPERS = 8


def main() -> None:
    papers = load_sample()[:N_PAPERS]
    predictor = UnifiedPredictor.create(
        "abstract_only", "binary", config=PredictorConfig(
            model_name_or_path="smollm2-135m-instruct", backend="transformers",
            dtype="float32", batch_size=8))
    results = predictor.predict(papers)
    backend = predictor.mode._backend
    samples = predictor.mode.format_samples(papers)
    tokenizer = transformers.AutoTokenizer.from_pretrained(ensure_embedded_model())
    rows = []
    for sample, result in zip(samples, results, strict=True):
        text = tokenizer.apply_chat_template(sample.prompt_messages, tokenize=False,
                                             add_generation_prompt=True)
        rows.append({"submission_id": sample.submission_id, "text": text,
                     "ids": tokenizer(text, add_special_tokens=False)["input_ids"],
                     "probabilities": result["probabilities"], "score": result["score"],
                     "prediction": result["prediction"]})
    predictor.close()
    out = {"model": "smollm2-135m-instruct", "transformers": transformers.__version__,
           "backend": type(backend).__name__, "dtype": "float32", "papers": rows}
    (HERE / "golden.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {HERE / 'golden.json'}: {len(rows)} papers")


if __name__ == "__main__":
    main()
