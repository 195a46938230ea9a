"""GRPO rewards and the TRL adapter."""

from __future__ import annotations

import inspect
import math

import pytest

from paperpred.outputs import (
    BinaryAcceptRejectHandler,
    CitationPercentileHandler,
    MeanRatingHandler,
    MultiClassDecisionHandler,
)


@pytest.mark.parametrize("text,truth,expected", [
    ("Answer: Accept", "Answer: Accept", 1.0),
    ("Reasoning: strong.\nAnswer: Accept", "Accept", 1.0),
    ("Answer: Reject", "Answer: Accept", -1.0),
    ("Answer: Accept", "Reject", -1.0),
    ("I cannot tell.", "Answer: Accept", -0.5),
    ("", "Answer: Reject", -0.5),
    ("Answer: Accept or Reject", "Answer: Reject", -0.5),
])
def test_binary_reward(text: str, truth: str, expected: float) -> None:
    assert BinaryAcceptRejectHandler().reward(text, truth) == expected


def test_binary_reward_gives_a_fixed_answer_nothing_over_chance() -> None:
    """On balanced papers one fixed answer earns what chance earns (0), less than telling the
    papers apart and more than an unreadable answer: GRPO cannot profit from answering one
    class (the hacking a 1/0 reward allowed: a fixed answer earned half of the best reward)."""
    handler = BinaryAcceptRejectHandler()
    truths = ["Answer: Accept", "Answer: Reject"] * 10

    def mean(answers: list[str]) -> float:
        return sum(handler.reward(a, t) for a, t in zip(answers, truths)) / len(truths)

    always_accept = mean(["Answer: Accept"] * len(truths))
    always_reject = mean(["Answer: Reject"] * len(truths))
    assert always_accept == always_reject == 0.0
    assert mean(truths) == 1.0
    assert mean(["no idea"] * len(truths)) < always_accept


@pytest.mark.parametrize("text,truth,expected", [
    ("Answer: Accept (Poster)", "Answer: Accept (Poster)", 1.0),
    ("Answer: Accept (Oral)", "Answer: Accept (Poster)", 0.5),  # right side, wrong tier
    ("Answer: Accept (Spotlight)", "Answer: Reject", 0.0),
    ("Answer: Reject", "Answer: Accept (Oral)", 0.0),
    ("Answer: Accept", "Answer: Accept (Oral)", -0.5),  # no tier: unreadable
])
def test_multiclass_reward(text: str, truth: str, expected: float) -> None:
    assert MultiClassDecisionHandler().reward(text, truth) == expected


def test_numeric_rewards_are_closeness() -> None:
    cite = CitationPercentileHandler()
    assert cite.reward("Answer: 0.73", "Answer: 0.73") == pytest.approx(1.0)
    assert cite.reward("Answer: 0.5", "Answer: 0.75") == pytest.approx(0.75)
    assert cite.reward("Answer: 1.0", 0.0) == pytest.approx(0.0)
    assert cite.reward("no idea", "Answer: 0.3") == -0.5
    rating = MeanRatingHandler()
    assert rating.reward("Answer: 6.5", "Answer: 5.0") == pytest.approx(1 - 1.5 / 9)
    assert rating.reward("Answer: 10", "Answer: 1.0") == pytest.approx(0.0)
    # a clipped answer is rewarded at the bound
    assert rating.reward("Answer: 42", "Answer: 10.0") == pytest.approx(1.0)


def test_rewards_rank_better_answers_higher() -> None:
    cite = CitationPercentileHandler()
    truth = "Answer: 0.6"
    rewards = [cite.reward(f"Answer: {x}", truth) for x in (0.6, 0.5, 0.3, 0.0)]
    assert rewards == sorted(rewards, reverse=True) and len(set(rewards)) == 4
    assert cite.reward("garbage", truth) < min(rewards)


def test_missing_truth_is_an_error() -> None:
    with pytest.raises(ValueError, match="no ground truth"):
        BinaryAcceptRejectHandler().reward("Answer: Accept", None)


def test_trl_adapter_with_string_completions() -> None:
    fn = BinaryAcceptRejectHandler().as_trl_reward()
    assert fn.__name__ == "binary_reward"
    params = inspect.signature(fn).parameters
    assert "completions" in params and any(p.kind is p.VAR_KEYWORD for p in params.values())
    out = fn(prompts=["p1", "p2", "p3"], completions=["Answer: Accept", "Answer: Reject", "??"],
             completion_ids=[[1], [2], [3]], label=["Answer: Accept", "Answer: Accept",
                                                    "Answer: Reject"], year=[2017] * 3)
    assert out == [1.0, -1.0, -0.5]
    assert all(isinstance(x, float) for x in out)


def test_trl_adapter_with_conversational_completions() -> None:
    fn = CitationPercentileHandler().as_trl_reward(label_column="target")
    completions = [[{"role": "assistant", "content": "Answer: 0.7"}],
                   [{"role": "assistant", "content": "Reasoning: niche.\nAnswer: 0.2"}]]
    out = fn(completions=completions, target=["Answer: 0.7", "Answer: 0.4"])
    assert out == pytest.approx([1.0, 0.8])
    assert fn.__name__ == "citation_percentile_reward"


def test_trl_adapter_missing_label_gives_none() -> None:
    fn = MeanRatingHandler().as_trl_reward()
    out = fn(completions=["Answer: 5", "Answer: 5"], label=["Answer: 5.0", None])
    assert out[0] == pytest.approx(1.0) and out[1] is None


def test_trl_adapter_missing_column_is_a_clear_error() -> None:
    fn = BinaryAcceptRejectHandler().as_trl_reward(label_column="answer")
    with pytest.raises(KeyError, match="'answer'.*label"):
        fn(prompts=["p"], completions=["Answer: Accept"], completion_ids=[[1]], label=["Accept"])


def test_trl_adapter_with_a_user_reward() -> None:
    handler = CitationPercentileHandler()

    # the spec's proximity_reward (Example 3)
    def proximity_reward(prediction: str, ground_truth: str) -> float:
        parsed = handler.parse_prediction(prediction)
        pred = parsed.get("prediction", 0.5)
        gt = float(ground_truth.replace("Answer: ", ""))
        return max(0.0, 1.0 - abs(pred - gt) * 2)

    fn = handler.as_trl_reward(reward_fn=proximity_reward)
    assert fn.__name__ == "proximity_reward"
    out = fn(completions=["Answer: 0.9", "Answer: 0.5"], label=["Answer: 0.8", "Answer: 0.5"])
    assert out == pytest.approx([0.8, 1.0])
    assert not any(math.isnan(x) for x in out)
