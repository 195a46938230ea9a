"""Parse tables for the score handlers: realistic model outputs -> expected number and flags.

None as the expected value means a parse failure.
"""

from __future__ import annotations

import pytest

from paperpred.outputs import CitationPercentileHandler, MeanRatingHandler

Case = tuple[object, "float | None", dict]

CITATION_CASES: list[Case] = [
    ("Answer: 0.73", 0.73, {}),
    ("answer: 0.5", 0.5, {}),
    ("ANSWER: 0.91", 0.91, {}),
    ("Final answer: 0.88", 0.88, {}),
    ("Answer: .85", 0.85, {}),
    ("Answer: 0", 0.0, {}),
    ("Answer: 1", 1.0, {}),
    ("Answer: 1.0", 1.0, {}),
    ("Answer: about 0.8", 0.8, {}),
    ("Answer:\n0.35", 0.35, {}),
    # percentages and percentiles
    ("Answer: 73%", 0.73, {}),
    ("Answer: 73 %", 0.73, {}),
    ("Answer: 73 percent", 0.73, {}),
    ("Answer: 0.1%", 0.001, {}),
    ("Answer: 73", 0.73, {"rescaled": True}),
    ("Answer: 73rd percentile", 0.73, {"rescaled": True}),
    ("Answer: 0.73 (73rd percentile)", 0.73, {}),
    # out of range: clipped and flagged
    ("Answer: 1.2", 1.0, {"clipped": True, "unclipped": 1.2}),
    ("Answer: 150%", 1.0, {"clipped": True, "unclipped": 1.5}),
    ("Answer: 250", 1.0, {"clipped": True, "unclipped": 250.0}),
    ("Answer: -0.2", 0.0, {"clipped": True, "unclipped": -0.2}),
    # ranges and fractions
    ("Answer: 0.6-0.7", 0.65, {"range": True}),
    ("Answer: 0.6 to 0.7", 0.65, {"range": True}),
    ("Answer: 7/10", 0.7, {}),
    # JSON
    ('{"answer": 0.42}', 0.42, {}),
    ('{"citation_percentile": 0.4}', 0.4, {}),
    ('{"prediction": "0.91", "reasoning": "Popular topic."}', 0.91, {}),
    ('```json\n{"reasoning": "Niche topic.", "answer": 0.2}\n```', 0.2, {}),
    # bare, emphasis, markers of different strength, several answers
    ("**0.66**", 0.66, {}),
    ("0.73", 0.73, {}),
    ("0.7.", 0.7, {}),
    ("0.35 - a niche topic", 0.35, {}),
    ("Predicted citation percentile: 0.42", 0.42, {}),
    ("Percentile: 0.3\nAnswer: 0.4", 0.4, {}),
    ("Answer: 0.5\nAnswer: 0.9", 0.9, {}),
    ("Reasoning: GANs are popular.\nFinal answer: 0.88", 0.88, {}),
    ("<think>Generative models attract citations.</think>\nAnswer: 0.6", 0.6, {}),
    ("Answer: 0.73<|im_end|>", 0.73, {}),
    ("Answer: ICLR2017 0.4", 0.4, {}),
    ([{"role": "assistant", "content": "Answer: 0.25"}], 0.25, {}),
    # failures
    ("Answer: high", None, {}),
    ("Answer: six", None, {}),
    ("Answer: NaN", None, {}),
    ("The paper studies GANs.", None, {}),
    ("It was submitted to ICLR 2017.", None, {}),
    ("**Reviewer 2** liked it", None, {}),
    ("The reviewers gave 6, 7 and 5.", None, {}),
    ("", None, {}),
    (None, None, {}),
    (object(), None, {}),
]

RATING_CASES: list[Case] = [
    ("Answer: 6.3", 6.3, {}),
    ("answer: 5", 5.0, {}),
    ("ANSWER: 7.0", 7.0, {}),
    ("Final answer: 4.7", 4.7, {}),
    ("Answer: 6.333", 6.333, {}),
    ("Answer: 10", 10.0, {}),
    ("Answer: 1", 1.0, {}),
    ("Answer: about 6.5", 6.5, {}),
    ("Answer: 5.", 5.0, {}),
    ("Answer:\n5.5", 5.5, {}),
    # fractions and ranges
    ("Answer: 6.5/10", 6.5, {}),
    ("Answer: 7 out of 10", 7.0, {}),
    ("Answer: 3/5", 6.0, {}),
    ("Answer: 5-6", 5.5, {"range": True}),
    ("Answer: 5 to 7", 6.0, {"range": True}),
    # out of range
    ("Answer: 11", 10.0, {"clipped": True, "unclipped": 11.0}),
    ("Answer: 0", 1.0, {"clipped": True, "unclipped": 0.0}),
    ("Answer: -3", 1.0, {"clipped": True, "unclipped": -3.0}),
    ("Answer: 0.73", 1.0, {"clipped": True, "unclipped": 0.73}),
    ("Answer: 65%", 10.0, {"clipped": True, "unclipped": 65.0}),
    # JSON
    ('{"rating": 6.3}', 6.3, {}),
    ('{"answer": 5.67, "reasoning": "Mixed reviews."}', 5.67, {}),
    ('{"mean_rating": "7.0"}', 7.0, {}),
    ('```json\n{"prediction": 4}\n```', 4.0, {}),
    # bare, emphasis, markers, several answers
    ("**6.5**", 6.5, {}),
    ("6.5", 6.5, {}),
    ("6.5 - solid but incremental", 6.5, {}),
    ("Rating: 7\nRating: 5\nMean rating: 6", 6.0, {}),
    ("Reviewer 1 rating: 8\nAnswer: 6.5", 6.5, {}),
    ("Score = 6", 6.0, {}),
    ("Mean rating - 6.7", 6.7, {}),
    ("My estimate is 6.5", 6.5, {}),
    ("Reasoning: weak evaluation.\nAnswer: 3.3", 3.3, {}),
    ("Answer: 6.3\nActually, Answer: 5.0", 5.0, {}),
    ("<think>Mixed reviews.</think>Answer: 5.5", 5.5, {}),
    ("Answer: 5.5<|im_end|>", 5.5, {}),
    ([{"role": "assistant", "content": "Answer: 8"}], 8.0, {}),
    # failures
    ("Answer: six", None, {}),
    ("Answer: N/A", None, {}),
    ("I estimate 6.5", None, {}),
    ("2 reviewers liked it", None, {}),
    ("**Reviewer 2**: 8", None, {}),
    ("The reviewers gave 6, 7 and 5.", None, {}),
    ("The paper is good.", None, {}),
    ("", None, {}),
    (None, None, {}),
    ([], None, {}),
]

PERCENTILE_RATING_CASES: list[Case] = [
    ("Answer: 0.66", 0.66, {}),
    ("Answer: 66%", 0.66, {}),
    ("Answer: 66", 0.66, {"rescaled": True}),
    ("Answer: 6.5", 1.0, {"clipped": True, "unclipped": 6.5}),
    ("Percentile: 0.2", 0.2, {}),
]

DISCRETIZED_CITATION_CASES: list[Case] = [
    ("Answer: 0.73", 0.7, {}),
    ("Answer: 0.75", 0.8, {}),  # half up, not banker's rounding
    ("Answer: 0.25", 0.3, {}),
    ("Answer: 0.04", 0.0, {}),
    ("Answer: 97%", 1.0, {}),
]


def _check(result: dict, expected: float | None, flags: dict) -> None:
    if expected is None:
        assert result["prediction"] is None and result["parse_success"] is False
        return
    assert result["parse_success"] is True
    assert result["prediction"] == pytest.approx(expected)
    for key, value in flags.items():
        assert result[key] == pytest.approx(value)
    for key in {"clipped", "rescaled", "range"} - set(flags):
        assert key not in result


@pytest.mark.parametrize("text,expected,flags", CITATION_CASES,
                         ids=[repr(t)[:40] for t, _, _ in CITATION_CASES])
def test_citation_parse_table(text: object, expected: float | None, flags: dict) -> None:
    _check(CitationPercentileHandler().parse_prediction(text), expected, flags)


@pytest.mark.parametrize("text,expected,flags", RATING_CASES,
                         ids=[repr(t)[:40] for t, _, _ in RATING_CASES])
def test_rating_parse_table(text: object, expected: float | None, flags: dict) -> None:
    _check(MeanRatingHandler().parse_prediction(text), expected, flags)


@pytest.mark.parametrize("text,expected,flags", PERCENTILE_RATING_CASES,
                         ids=[repr(t)[:40] for t, _, _ in PERCENTILE_RATING_CASES])
def test_rating_percentile_parse_table(text: object, expected: float | None, flags: dict) -> None:
    _check(MeanRatingHandler(as_percentile=True).parse_prediction(text), expected, flags)


@pytest.mark.parametrize("text,expected,flags", DISCRETIZED_CITATION_CASES,
                         ids=[repr(t)[:40] for t, _, _ in DISCRETIZED_CITATION_CASES])
def test_discretized_citation_parse_table(text: object, expected: float | None, flags: dict
                                          ) -> None:
    _check(CitationPercentileHandler(discretize=True).parse_prediction(text), expected, flags)


def test_tables_are_large_enough() -> None:
    assert len(CITATION_CASES) >= 40 and len(RATING_CASES) >= 40


def test_number_reasoning(citation: CitationPercentileHandler) -> None:
    result = citation.parse_prediction('{"reasoning": "Niche topic.", "answer": 0.2}')
    assert result["reasoning"] == "Niche topic."
    assert citation.parse_prediction("Reasoning: popular.\nAnswer: 0.9")["reasoning"] == "popular."
