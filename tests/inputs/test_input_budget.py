"""Token budgets, with SmolLM2's real tokenizer and with the documented estimate."""

from __future__ import annotations

import dataclasses
import math

import pytest
from inputs_helpers import INSTRUCTION, long_paper

from paperpred.inputs import (
    FullContextFormatter,
    FullTextFormatter,
    TextOnlyFormatter,
    TokenCounter,
)
from paperpred.inputs.budget import drop_order, split_sections, truncation_notice


@pytest.fixture(scope="module")
def paper(iclr2017):
    sub = next(s for s in iclr2017 if s.normalized_decision.value == "Poster" and s.reviews)
    return long_paper(sub, [s for s in iclr2017 if s is not sub][:40])


def chat_tokens(tokenizer, messages) -> int:
    return len(tokenizer.apply_chat_template(messages, tokenize=True))


def test_sections_are_classified_and_dropped_back_matter_first(paper):
    sections = split_sections(paper.markdown)
    kinds = [(s.heading.split(" ", 2)[-1], s.kind) for s in sections]
    assert kinds[-3:] == [("References", "references"), ("Proofs", "appendix"),
                          ("Additional Experiments", "appendix")]
    assert all(kind == "body" for _, kind in kinds[:-3])
    order = [sections[i].heading for i in drop_order(sections)]
    assert order[:4] == ["## References", "## B Additional Experiments", "## A Proofs",
                         "## 5 Conclusion"]
    assert order[-1] == f"# {paper.title}"
    assert "\n\n".join(s.text for s in sections) == paper.markdown


@pytest.mark.parametrize("room", [300, 1500, 3000])
def test_full_context_fits_a_real_tokenizer_budget(smollm2_tokenizer, paper, room):
    fixed = FullContextFormatter(max_tokens=1, tokenizer=smollm2_tokenizer).build(
        paper, INSTRUCTION, "Answer: Accept").meta["tokens"]  # everything but the full text
    budget = fixed + room
    formatter = FullContextFormatter(max_tokens=budget, tokenizer=smollm2_tokenizer)
    prompt = formatter.build(paper, INSTRUCTION, "Answer: Accept")
    used = chat_tokens(smollm2_tokenizer, prompt.messages)
    assert used <= budget and prompt.meta["tokens"] == used
    assert prompt.meta["token_count_method"] == "tokenizer"
    user = prompt.user
    omitted = prompt.meta["sections_omitted"]
    assert omitted > 0 and truncation_notice(omitted) in user
    # title, abstract and every review whole
    assert f"Title: {paper.title}" in user and paper.abstract.strip() in user
    assert all(r.text.strip() in user for r in paper.reviews)
    # back matter goes first: no reference or appendix survives while a later body section is cut
    assert "[1] " not in user and "APPENDIX-A-START" not in user
    kept = [i for i in range(1, 6) if f"SECTION-{i}-START" in user]
    assert kept == list(range(1, len(kept) + 1))
    assert (len(kept) > 0) is (room >= 1500)  # about 1000 tokens a section: used, not wasted
    # not over-cut: one more section would not have fitted
    full = FullContextFormatter(max_tokens=10**6, tokenizer=smollm2_tokenizer).build(
        paper, INSTRUCTION, "Answer: Accept")
    assert chat_tokens(smollm2_tokenizer, full.messages) > budget


def test_a_larger_budget_keeps_more(smollm2_tokenizer, paper):
    def omitted(budget):
        formatter = FullTextFormatter(max_tokens=budget, tokenizer=smollm2_tokenizer)
        return formatter.build(paper, INSTRUCTION).meta["sections_omitted"]

    assert omitted(1200) > omitted(2500) > omitted(5000) >= 0


def test_no_notice_when_the_paper_fits(smollm2_tokenizer, paper):
    prompt = FullTextFormatter(tokenizer=smollm2_tokenizer).build(paper, INSTRUCTION)
    assert prompt.meta["sections_omitted"] == 0 and "truncated" not in prompt.user
    assert "APPENDIX-B-START" in prompt.user
    assert chat_tokens(smollm2_tokenizer, prompt.messages) <= 16000


def test_format_content_alone_holds_the_content_to_the_budget(smollm2_tokenizer, paper):
    content = FullTextFormatter(max_tokens=2000, tokenizer=smollm2_tokenizer).format_content(paper)
    assert len(smollm2_tokenizer.encode(content, add_special_tokens=False)) <= 2000
    assert "[Full text truncated:" in content


def test_one_huge_section_is_cut_by_paragraphs(smollm2_tokenizer, paper):
    body = paper.markdown.split("## References")[0].replace("\n## ", "\n")  # no headings left
    sub = dataclasses.replace(paper, markdown=body.lstrip("# "))
    prompt = FullTextFormatter(max_tokens=1500, tokenizer=smollm2_tokenizer).build(sub, INSTRUCTION)
    assert chat_tokens(smollm2_tokenizer, prompt.messages) <= 1500
    assert prompt.meta["paragraphs_omitted"] > 0 and "paragraphs omitted" in prompt.user
    assert "SECTION-1-START" in prompt.user  # the beginning is kept


def test_reviews_are_never_cut_even_over_budget(smollm2_tokenizer, paper):
    prompt = FullContextFormatter(max_tokens=300, tokenizer=smollm2_tokenizer).build(paper)
    assert prompt.meta["over_budget"] is True
    assert all(r.text.strip() in prompt.user for r in paper.reviews)
    assert "SECTION-1-START" not in prompt.user


def test_the_estimate_is_four_characters_per_token(paper):
    counter = TokenCounter()
    assert counter.method == "estimate" and counter.count("x" * 41) == math.ceil(41 / 4)
    messages = [{"role": "user", "content": "x" * 40}]
    assert counter.count_messages(messages) == 10 + 8
    prompt = FullContextFormatter(max_tokens=2500).build(paper, INSTRUCTION)
    assert prompt.meta["token_count_method"] == "estimate"
    assert counter.count_messages(prompt.messages) <= 2500
    assert "[Full text truncated:" in prompt.user


def test_few_shot_examples_count_against_the_budget(smollm2_tokenizer, paper, iclr2017):
    examples = [{"title": s.title, "abstract": s.abstract, "decision": s.get_binary_label()}
                for s in iclr2017[:4]]
    alone = TextOnlyFormatter(include_markdown=True, max_tokens=4000, tokenizer=smollm2_tokenizer)
    shots = TextOnlyFormatter(include_markdown=True, max_tokens=4000, tokenizer=smollm2_tokenizer,
                              few_shot_examples=examples)
    a, b = alone.build(paper, INSTRUCTION), shots.build(paper, INSTRUCTION)
    assert chat_tokens(smollm2_tokenizer, b.messages) <= 4000
    assert b.meta["sections_omitted"] > a.meta["sections_omitted"]
