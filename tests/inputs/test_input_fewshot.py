"""Few-shot examples are rendered exactly like the query, with their labels."""

from __future__ import annotations

import dataclasses

import pytest
from inputs_helpers import INSTRUCTION, make_pages

from paperpred.data.submission import Submission
from paperpred.inputs import IMAGE_TOKEN, TextOnlyFormatter, get_input_formatter
from paperpred.inputs.fewshot import to_example


def _blocks(user: str) -> list[str]:
    return user.split("=== ")[1:]


def test_the_spec_example_dicts(iclr2017):
    formatter = TextOnlyFormatter(
        include_reviews=True,
        few_shot_examples=[
            {"title": "Paper A", "abstract": "...", "decision": "Accept"},
            {"title": "Paper B", "abstract": "...", "decision": "Reject"},
        ],
        few_shot_count=2,
    )
    query = iclr2017[0]
    user = formatter.build(query, INSTRUCTION).user
    assert user.startswith("Here are 2 example papers with the correct answer.\n\n")
    first, second, last = _blocks(user)
    assert first == ("Example 1 ===\nTitle: Paper A\n\nAbstract:\n...\n\n"
                     "Reviews: none available.\n\nAnswer: Accept\n\n")
    assert second.startswith("Example 2 ===\nTitle: Paper B\n") and "Answer: Reject" in second
    assert last == f"Paper to assess ===\n{formatter.format_content(query)}\n\n{INSTRUCTION}"


def test_submission_examples_render_exactly_like_the_query(iclr2017):
    accepted = next(s for s in iclr2017 if s.get_binary_label() == "Accept" and s.reviews)
    rejected = next(s for s in iclr2017 if s.get_binary_label() == "Reject" and s.reviews)
    query = iclr2017[10]
    formatter = get_input_formatter("abstract_with_reviews",
                                    few_shot_examples=[accepted, rejected])
    user = formatter.build(query, INSTRUCTION).user
    blocks = _blocks(user)
    assert blocks[0] == f"Example 1 ===\n{formatter.format_content(accepted)}\n\nAnswer: Accept\n\n"
    assert blocks[1] == f"Example 2 ===\n{formatter.format_content(rejected)}\n\nAnswer: Reject\n\n"
    assert blocks[2].startswith(f"Paper to assess ===\n{formatter.format_content(query)}")
    # the query rendered alone is the same text as inside the few-shot prompt
    assert formatter.format_content(query) == get_input_formatter(
        "abstract_with_reviews").format_content(query)
    # rendered like the query: same parts, same layout
    assert blocks[0].count("Review 1 of") == 1 and blocks[0].count("Abstract:\n") == 1


def test_multiclass_labels_and_count(iclr2017):
    oral = next(s for s in iclr2017 if s.get_multiclass_label() == "Accept (Oral)")
    poster = next(s for s in iclr2017 if s.get_multiclass_label() == "Accept (Poster)")
    formatter = get_input_formatter("abstract_only", few_shot_examples=[oral, poster],
                                    few_shot_count=1, few_shot_label="multiclass")
    query = next(s for s in iclr2017 if s.get_binary_label() == "Reject")
    prompt = formatter.build(query)
    assert prompt.meta["few_shot"] == 1 and "Here is 1 example paper" in prompt.user
    assert "Answer: Accept (Oral)" in prompt.user and poster.title not in prompt.user
    none = get_input_formatter("abstract_only", few_shot_examples=[oral], few_shot_count=0)
    assert "Example" not in none.build(query).user


def test_vision_examples_bring_their_pages_first(iclr2017):
    example = dataclasses.replace(iclr2017[0])
    example.page_images = make_pages(2)
    query = dataclasses.replace(iclr2017[1])
    query.page_images = make_pages(3)
    formatter = get_input_formatter("images_with_title", few_shot_examples=[example])
    prompt = formatter.build(query, INSTRUCTION)
    assert len(prompt.images) == 5 and prompt.user.count(IMAGE_TOKEN) == 5
    example_part, query_part = prompt.user.split("=== Paper to assess ===")
    assert example_part.count(IMAGE_TOKEN) == 2 and query_part.count(IMAGE_TOKEN) == 3
    assert prompt.images[0].size == prompt.images[2].size  # all pages, masked copies


@pytest.mark.parametrize("bad, match", [
    ({"title": "No label"}, "needs a 'title' and a label"),
    ({"decision": "Accept"}, "needs a 'title' and a label"),
    ("a string", "is a str"),
    (Submission(submission_id="x", year=2017, title="T", decision="Withdrawn"), "no 'binary'"),
])
def test_bad_examples_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        to_example(bad, 1)


def test_few_shot_count_larger_than_the_examples_is_an_error():
    with pytest.raises(ValueError, match="few_shot_count=3 but 1 few_shot_examples"):
        TextOnlyFormatter(few_shot_examples=[{"title": "A", "decision": "Accept"}],
                          few_shot_count=3)


def test_examples_are_scrubbed_too(iclr2017):
    leaky = {"title": "Leaky", "abstract": "Published as a conference paper at ICLR 2016. We do X.",
             "decision": "Accept"}
    user = TextOnlyFormatter(few_shot_examples=[leaky]).build(iclr2017[0]).user
    assert "Published as" not in user and "We do X." in user
