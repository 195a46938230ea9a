"""The embedded model in the main environment reproduces the golden prompt ids and label
scores that the vLLM environment's tests compare with (tests/golden/embedded/golden.json)."""

from __future__ import annotations

import json
from pathlib import Path

from paperpred import PredictorConfig, UnifiedPredictor

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "golden" / "embedded"
                     / "golden.json").read_text())


def test_the_golden_file_is_this_environment(embedded_model, iclr2017):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_model)
    assert type(tokenizer).__name__ == "PreTrainedTokenizerFast"  # tokenizer.json as it is
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
    for result, row in zip(results, GOLDEN["papers"], strict=True):
        assert abs(result["score"] - row["score"]) < 1e-3


def test_the_tokenizer_gives_the_models_inputs_only(embedded_model):
    """No token_type_ids: generate() refuses them (transformers serve passes every column)."""
    from transformers import AutoTokenizer

    encoded = AutoTokenizer.from_pretrained(embedded_model)("Hello")
    assert sorted(encoded.keys()) == ["attention_mask", "input_ids"]


def test_decoding_keeps_the_models_spaces(embedded_model):
    """The same text back in every transformers version (no clean-up before punctuation)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_model)
    text = "Reject . The paper , however , is clear ."
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
