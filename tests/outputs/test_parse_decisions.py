"""Parse tables for the decision handlers: realistic model outputs -> expected label.

None as the expected value means a parse failure (prediction None, parse_success False).
"""

from __future__ import annotations

import pytest

from paperpred.outputs import BinaryAcceptRejectHandler, MultiClassDecisionHandler

BINARY_CASES: list[tuple[object, str | None]] = [
    # plain answers in the requested format, any case
    ("Answer: Accept", "Accept"),
    ("Answer: Reject", "Reject"),
    ("answer: accept", "Accept"),
    ("ANSWER: REJECT", "Reject"),
    ("Final answer: Reject", "Reject"),
    ("The answer is Reject.", "Reject"),
    ("My prediction is: accept", "Accept"),
    ("Verdict - Reject", "Reject"),
    ("Answer:\nReject", "Reject"),
    # bare labels
    ("Accept", "Accept"),
    ("reject.", "Reject"),
    ("Accepted", "Accept"),
    ("Reject. The contribution is incremental.", "Reject"),
    ("Strengths: clear writing.\nWeaknesses: limited experiments.\n\nReject", "Reject"),
    # markdown, LaTeX, brackets, chat tokens
    ("**Accept**", "Accept"),
    ("The paper is thorough.\n\n**Reject**", "Reject"),
    ("Final Answer: **Accept**", "Accept"),
    ("**Answer:** Reject", "Reject"),
    ("**Decision: Accept**", "Accept"),
    ("Answer: [Accept]", "Accept"),
    ("Answer: \\boxed{Reject}", "Reject"),
    ("Answer: Accept.<|im_end|>", "Accept"),
    # JSON, fenced, Python-style and truncated
    ('{"answer": "Accept"}', "Accept"),
    ('{"decision": "reject", "confidence": 0.8}', "Reject"),
    ('{"prediction": "Accept", "reasoning": "Strong results."}', "Accept"),
    ('```json\n{"reasoning": "Weak baselines.", "answer": "Reject"}\n```', "Reject"),
    ('{"Final_Answer": "Accept"}', "Accept"),
    ("{'answer': 'Accept'}", "Accept"),
    ('{"answer": "Accept"', "Accept"),
    # reasoning first, several answers (the last wins), marker strength
    ("Reasoning: The method is novel and the results are strong.\nAnswer: Accept", "Accept"),
    ("<think>The reviews are mostly negative.</think>\nAnswer: Reject", "Reject"),
    ("Answer: Accept\nWait, on reflection the experiments are weak.\nAnswer: Reject", "Reject"),
    ("Recommendation: weak accept\nAnswer: Reject", "Reject"),
    ("Recommendation: Strong reject", "Reject"),
    ("The decision-making of reviewers is noisy. Answer: Accept", "Accept"),
    # other vocabularies
    ("Answer: Accept (Poster)", "Accept"),
    ("Answer: Invite to Workshop Track", "Reject"),
    ("Answer: Accept with minor revisions", "Accept"),
    # negations and ambiguity: never guessed
    ("Answer: Reject (not Accept)", "Reject"),
    ("Answer: not accepted", None),
    ("Answer: I think it should not be rejected", None),
    ("I would not accept this paper.", None),
    ("Answer: Accept or Reject", None),
    ("Answer: <Accept|Reject>", None),
    ("The paper will likely be accepted.", None),
    ("Reviewers were split: two lean accept, one leans reject.", None),
    ("accept?", None),
    ("Answer: N/A", None),
    # garbage, empty, not text
    ("", None),
    ("   \n  ", None),
    (None, None),
    (42, None),
    ("asdkjh qwe 123 !!!", None),
    ("As an AI language model, I cannot predict conference outcomes.", None),
    # other completion shapes
    ([{"role": "assistant", "content": "Answer: Accept"}], "Accept"),
    ({"answer": "Reject"}, "Reject"),
    (b"Answer: Reject", "Reject"),
]

MULTICLASS_CASES: list[tuple[object, str | None]] = [
    ("Answer: Accept (Poster)", "Accept (Poster)"),
    ("Answer: Accept (Oral)", "Accept (Oral)"),
    ("Answer: Accept (Spotlight)", "Accept (Spotlight)"),
    ("Answer: Reject", "Reject"),
    ("answer: accept (poster)", "Accept (Poster)"),
    ("ANSWER: ACCEPT (ORAL)", "Accept (Oral)"),
    ("The answer is Accept (Poster).", "Accept (Poster)"),
    ("Prediction: accept (spotlight)", "Accept (Spotlight)"),
    ("Label: Accept (Spotlight)", "Accept (Spotlight)"),
    # bare and emphasised
    ("Accept (Spotlight)", "Accept (Spotlight)"),
    ("Accept (Poster).", "Accept (Poster)"),
    ("**Accept (Oral)**", "Accept (Oral)"),
    ("**Reject**", "Reject"),
    ("Reject", "Reject"),
    # other spellings of a tier
    ("Decision: Accept [Poster]", "Accept (Poster)"),
    ("Answer: Accept - Poster", "Accept (Poster)"),
    ("Answer: Accept: Oral", "Accept (Oral)"),
    ("Answer: Accepted as a poster", "Accept (Poster)"),
    ("Answer: accept (oral presentation)", "Accept (Oral)"),
    ("Answer: Poster", "Accept (Poster)"),
    ("Answer: Oral", "Accept (Oral)"),
    ("Answer: Spotlight", "Accept (Spotlight)"),
    ("Answer: Talk", "Accept (Oral)"),
    ("Answer: Top-25%", "Accept (Spotlight)"),
    ("Answer: Top-5%", "Accept (Oral)"),
    ("Answer: Poster (Accept)", "Accept (Poster)"),
    ("Answer: Accepted. It would likely be a poster.", "Accept (Poster)"),
    ("Answer: Invite to Workshop Track", "Reject"),
    ("Answer: Workshop", "Reject"),
    # JSON
    ('{"answer": "Accept (Poster)"}', "Accept (Poster)"),
    ('{"decision": "Accept (Spotlight)", "reasoning": "Top-tier results."}',
     "Accept (Spotlight)"),
    ('```json\n{"answer": "reject"}\n```', "Reject"),
    # reasoning, several answers, tokens
    ("Reasoning: solid but incremental.\nAnswer: Accept (Poster)", "Accept (Poster)"),
    ("<think>Very novel.</think>Answer: Accept (Oral)", "Accept (Oral)"),
    ("Answer: Accept (Poster)\nOn reflection the impact is higher.\n"
     "Final answer: Accept (Spotlight)", "Accept (Spotlight)"),
    ("Answer: Accept (Poster)<|im_end|>", "Accept (Poster)"),
    ([{"role": "assistant", "content": "Answer: Accept (Oral)"}], "Accept (Oral)"),
    # negation, ambiguity, missing tier
    ("Answer: Reject (not a poster)", "Reject"),
    ("Answer: not an oral", None),
    ("Answer: Accept", None),
    ("Accept", None),
    ("Answer: Accept (Poster) or Accept (Spotlight)", None),
    ("Answer: Reject or Accept (Poster)", None),
    ("I think this paper deserves an oral.", None),
    ("Answer: 3", None),
    # garbage and empty
    ("", None),
    (None, None),
    ("garbage %%% ###", None),
    (3.14, None),
]


@pytest.mark.parametrize("text,expected", BINARY_CASES, ids=[repr(t)[:40] for t, _ in BINARY_CASES])
def test_binary_parse_table(text: object, expected: str | None) -> None:
    result = BinaryAcceptRejectHandler().parse_prediction(text)
    assert result["prediction"] == expected
    assert result["parse_success"] is (expected is not None)
    assert set(result) >= {"prediction", "reasoning", "parse_success", "raw"}


@pytest.mark.parametrize("text,expected", MULTICLASS_CASES,
                         ids=[repr(t)[:40] for t, _ in MULTICLASS_CASES])
def test_multiclass_parse_table(text: object, expected: str | None) -> None:
    result = MultiClassDecisionHandler().parse_prediction(text)
    assert result["prediction"] == expected
    assert result["parse_success"] is (expected is not None)


def test_tables_are_large_enough() -> None:
    assert len(BINARY_CASES) >= 40 and len(MULTICLASS_CASES) >= 40
    assert sum(e is None for _, e in BINARY_CASES) >= 10  # failures are well represented


def test_reasoning_is_the_text_before_the_answer(binary: BinaryAcceptRejectHandler) -> None:
    result = binary.parse_prediction("Reasoning: Novel method, strong results.\nAnswer: Accept")
    assert result["reasoning"] == "Novel method, strong results."
    assert result["raw"].endswith("Answer: Accept")
    assert result["parse_method"] == "marker"


def test_reasoning_from_json_and_think(binary: BinaryAcceptRejectHandler) -> None:
    assert binary.parse_prediction(
        '{"reasoning": "Weak baselines.", "answer": "Reject"}')["reasoning"] == "Weak baselines."
    think = binary.parse_prediction("<think>Mostly negative reviews.</think>\nAnswer: Reject")
    assert think["reasoning"] == "Mostly negative reviews."


def test_reasoning_after_a_leading_answer(binary: BinaryAcceptRejectHandler) -> None:
    result = binary.parse_prediction("Reject. The contribution is incremental.")
    assert result["prediction"] == "Reject"
    assert result["reasoning"] == "The contribution is incremental"


def test_failure_keeps_the_text(binary: BinaryAcceptRejectHandler) -> None:
    result = binary.parse_prediction("I would not accept this paper.")
    assert result == {"prediction": None, "reasoning": "I would not accept this paper.",
                      "parse_success": False, "raw": "I would not accept this paper.",
                      "parse_method": None}


def test_conversational_completion_uses_last_assistant_message(
        binary: BinaryAcceptRejectHandler) -> None:
    messages = [{"role": "user", "content": "Answer: Reject"},
                {"role": "assistant", "content": "Answer: Accept"}]
    assert binary.parse_prediction(messages)["prediction"] == "Accept"
    parts = [{"role": "assistant", "content": [{"type": "text", "text": "Answer: Reject"}]}]
    assert binary.parse_prediction(parts)["prediction"] == "Reject"
