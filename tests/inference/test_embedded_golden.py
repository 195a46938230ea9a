"""The embedded model in the main environment reproduces the golden prompt ids and label
scores that the vLLM environment's tests compare with (tests/golden/embedded/golden.json)."""

from __future__ import annotations

from golden_embedded import check_golden_ids, transformers_score_gap


def test_the_golden_file_is_this_environment(embedded_model, iclr2017):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_model)
    assert type(tokenizer).__name__ == "PreTrainedTokenizerFast"  # tokenizer.json as it is
    check_golden_ids(embedded_model)
    assert transformers_score_gap(embedded_model, iclr2017) < 1e-3


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
