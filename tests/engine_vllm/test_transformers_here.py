"""The transformers backend inside the vLLM environment (transformers 5.x, torch 2.13) reads
the embedded model as the main environment does (transformers 4.57): the golden prompt ids
exactly and the golden label scores within 1e-3 in float32 (tests/golden/embedded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="this module checks the vLLM environment (.venv-vllm)")

from paperpred import PredictorConfig, UnifiedPredictor  # noqa: E402

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "golden" / "embedded"
                     / "golden.json").read_text())


def test_transformers_5_gives_the_golden_ids_and_scores(embedded_model, iclr2017):
    import transformers
    from transformers import AutoTokenizer

    assert transformers.__version__ != GOLDEN["transformers"]  # another version than golden's
    tokenizer = AutoTokenizer.from_pretrained(embedded_model)
    for row in GOLDEN["papers"]:
        assert tokenizer(row["text"], add_special_tokens=False)["input_ids"] == row["ids"]
    by_id = {s.submission_id: s for s in iclr2017}
    papers = [by_id[row["submission_id"]] for row in GOLDEN["papers"]]
    predictor = UnifiedPredictor.create("abstract_only", "binary", config=PredictorConfig(
        model_name_or_path=str(embedded_model), backend="transformers", dtype="float32"))
    try:
        results = predictor.predict(papers)
    finally:
        predictor.close()
    worst = max(abs(r["score"] - row["score"]) for r, row in zip(results, GOLDEN["papers"],
                                                                 strict=True))
    assert worst < 1e-3, worst
