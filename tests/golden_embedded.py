"""The golden check both environments run (tests/golden/embedded/golden.json, written in the
main environment): the embedded model's tokenizer gives the golden prompt ids, and the
transformers backend in float32 gives the golden label scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOLDEN: dict[str, Any] = json.loads((Path(__file__).resolve().parent / "golden" / "embedded"
                                     / "golden.json").read_text())


def golden_papers(submissions):
    """The golden papers, in the golden file's order."""
    by_id = {s.submission_id: s for s in submissions}
    return [by_id[row["submission_id"]] for row in GOLDEN["papers"]]


def check_golden_ids(model_dir) -> None:
    """The model folder's tokenizer gives every golden prompt's ids exactly."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    for row in GOLDEN["papers"]:
        assert tokenizer(row["text"], add_special_tokens=False)["input_ids"] == row["ids"], \
            row["submission_id"]


def transformers_score_gap(model_dir, submissions) -> float:
    """Largest |score - golden score| of the transformers backend (float32) on the golden
    papers."""
    from paperpred import PredictorConfig, UnifiedPredictor

    predictor = UnifiedPredictor.create("abstract_only", "binary", config=PredictorConfig(
        model_name_or_path=str(model_dir), backend="transformers", dtype="float32"))
    try:
        results = predictor.predict(golden_papers(submissions))
    finally:
        predictor.close()
    return max(abs(r["score"] - row["score"]) for r, row in zip(results, GOLDEN["papers"],
                                                                  strict=True))
