"""Contract tests run over every built-in handler: parse never raises, labels, instructions."""

from __future__ import annotations

import math
import random
import string

import pytest

from paperpred.data import Submission
from paperpred.outputs import OutputHandler, get_output_handler


class _BadStr:
    def __str__(self) -> str:
        raise RuntimeError("hostile __str__")


HOSTILE_INPUTS = [
    None, "", " ", "\x00\x01\x02", "{" * 2000, "}" * 50, "[" * 500, '{"answer": {"nested": 1}}',
    '{"answer": null}', '{"answer": [1, 2]}', "Answer: " * 300, "**" * 400, "<think>unclosed",
    "</think>Answer:", "Answer:", "Answer: \\boxed{", "∞", "Answer: ∞", "Answer: 1e309",
    "Answer: 99999999999999999999999999", "Answer: -0", "Answer: 0x1F", "答案：接受",
    float("nan"), float("inf"), 0, -1, True, b"\xff\xfe", [None], [{"role": "assistant"}],
    {"content": None}, {}, (), _BadStr(), "Answer: Accept" * 1000 + "x" * 100_000,
]


@pytest.mark.parametrize("text", HOSTILE_INPUTS,
                         ids=[f"hostile{i}" for i in range(len(HOSTILE_INPUTS))])
def test_parse_never_raises(any_handler: OutputHandler, text: object) -> None:
    result = any_handler.parse_prediction(text)
    assert set(result) >= {"prediction", "reasoning", "parse_success", "raw"}
    assert isinstance(result["parse_success"], bool)
    assert (result["prediction"] is None) is (not result["parse_success"])
    assert isinstance(result["reasoning"], str)


def test_parse_never_raises_on_random_text(any_handler: OutputHandler) -> None:
    rng = random.Random(0)
    alphabet = string.printable + "ÄéΩ答*_{}[]\"':%"
    words = ["Answer:", "accept", "Reject", "Poster", "Oral", "0.7", "73%", "6.5", "not", "**",
             "{", "}", '"answer":', "\n", "Final answer", "-", "/10"]
    for _ in range(300):
        parts = [rng.choice(words) if rng.random() < 0.5 else
                 "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
                 for _ in range(rng.randint(0, 12))]
        result = any_handler.parse_prediction(" ".join(parts))
        assert (result["prediction"] is None) is (not result["parse_success"])
        if result["parse_success"] and isinstance(result["prediction"], float):
            assert math.isfinite(result["prediction"])


def test_format_label_round_trips_through_parse(any_handler: OutputHandler,
                                                sample: list[Submission]) -> None:
    checked = 0
    for sub in sample[:120]:
        label = any_handler.format_label(sub)
        if label is None:
            continue
        assert label.startswith("Answer: ")
        parsed = any_handler.parse_prediction(label)
        assert parsed["parse_success"], label
        truth = any_handler.label_value(sub)
        if isinstance(truth, str):
            assert parsed["prediction"] == truth == any_handler.read_truth(label)
        else:  # the target text is rounded (to 0.01, 0.1 or a 0.1 bin)
            assert parsed["prediction"] == pytest.approx(truth, abs=0.05 + 1e-9)
            assert any_handler.read_truth(label) == pytest.approx(parsed["prediction"])
        checked += 1
    assert checked >= 100


def test_instruction_states_the_answer_format(any_handler: OutputHandler) -> None:
    instruction = any_handler.get_instruction()
    assert '"Answer: ' in instruction
    reasoning = any_handler.init_kwargs.get("include_reasoning")
    assert ("reasoning" in instruction.lower()) is bool(reasoning)
    # the example answer in the instruction must itself parse
    example = instruction.split('"Answer: ', 1)[1].split('"', 1)[0]
    assert any_handler.parse_prediction("Answer: " + example)["parse_success"]


def test_config_rebuilds_an_equal_handler(any_handler: OutputHandler) -> None:
    config = any_handler.to_config()
    rebuilt = get_output_handler(config)
    assert type(rebuilt) is type(any_handler)
    assert rebuilt.to_config() == config
    assert rebuilt == any_handler
    assert any_handler.describe()["output_type"] == any_handler.output_type.value


def test_candidate_texts_align_with_candidates(any_handler: OutputHandler) -> None:
    cands = any_handler.candidates()
    texts = any_handler.candidate_texts()
    assert len(cands) == len(texts) == len(set(texts))
    assert all(t == "Answer: " + c for c, t in zip(cands, texts))
    # every candidate is a valid answer
    for text in texts:
        assert any_handler.parse_prediction(text)["parse_success"], text
