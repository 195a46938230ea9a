"""Contract tests over every registered formatter, and the behaviour of each family."""

from __future__ import annotations

import dataclasses

import pytest
from inputs_helpers import INSTRUCTION, make_pages

from paperpred.data.reviews import Review
from paperpred.errors import MissingPageImagesError, PaperpredError
from paperpred.inputs import (
    IMAGE_TOKEN,
    INPUT_FORMATTERS,
    InputFormatter,
    KeyPagesFormatter,
    TextOnlyFormatter,
    TextWithImagesFormatter,
    VisionFormatter,
    get_input_formatter,
)


@pytest.fixture(scope="module")
def paper(iclr2017):
    """A real row with three reviews and seven generated pages."""
    sub = next(s for s in iclr2017 if len(s.reviews) == 3 and s.keywords)
    sub = dataclasses.replace(sub)
    sub.page_images = make_pages(7)
    return sub


@pytest.mark.parametrize("name", INPUT_FORMATTERS.names())
def test_contract(name, paper):
    formatter = get_input_formatter(name)
    assert isinstance(formatter, InputFormatter)
    assert formatter.requires_vl_model is isinstance(formatter, VisionFormatter)
    prompt = formatter.build(paper, INSTRUCTION, "Answer: Reject")
    assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant"]
    assert prompt.user.endswith(INSTRUCTION) and prompt.messages[2]["content"] == "Answer: Reject"
    images = formatter.get_images(paper)
    assert prompt.user.count(IMAGE_TOKEN) == len(prompt.images) == len(images or [])
    assert prompt.meta["formatter"] == name and prompt.meta["submission_id"] == paper.submission_id
    assert formatter.format_content(paper) in prompt.user
    if name != "images_only":
        assert f"Title: {paper.title}" in prompt.user
    unlabelled = formatter.build(paper)
    assert [m["role"] for m in unlabelled.messages] == ["system", "user"]


@pytest.mark.parametrize("name, parts", [
    ("abstract_only", ["Title:", "Keywords:", "Abstract:"]),
    ("abstract_with_reviews", ["Title:", "Keywords:", "Abstract:", "Reviews (3):"]),
    ("text_only", ["Title:", "Keywords:", "Abstract:", "Reviews (3):"]),
    ("full_text", ["Title:", "Keywords:", "Abstract:", "Full text:"]),
    ("full_context", ["Title:", "Keywords:", "Abstract:", "Reviews (3):", "Full text:"]),
    ("abstract_with_page_images", ["Title:", "Keywords:", "Abstract:", "Paper pages"]),
    ("reviews_with_page_images", ["Title:", "Reviews (3):", "Paper pages"]),
    ("key_pages", ["Title:", "Keywords:", "Abstract:", "Paper pages"]),
    ("images_only", ["Paper pages"]),
    ("images_with_title", ["Title:", "Paper pages"]),
])
def test_each_formatter_shows_its_parts_in_order(name, parts, paper):
    content = get_input_formatter(name).format_content(paper)
    positions = [content.find(p) for p in parts]
    assert -1 not in positions and positions == sorted(positions)
    for absent in {"Title:", "Abstract:", "Reviews (", "Full text:", "Paper pages"} - set(parts):
        if not (absent == "Reviews (" and "Reviews (3):" in parts):
            assert absent not in content, f"{name} shows {absent}"


@pytest.mark.parametrize("position, order", [
    ("after_abstract", ["Abstract:", "Paper pages", "Reviews (3):"]),
    ("after_reviews", ["Abstract:", "Reviews (3):", "Paper pages"]),
    ("before_text", ["Paper pages", "Title:", "Reviews (3):"]),
])
def test_image_position(position, order, paper):
    content = TextWithImagesFormatter(image_position=position).format_content(paper)
    positions = [content.find(p) for p in order]
    assert -1 not in positions and positions == sorted(positions)
    with pytest.raises(ValueError, match="image_position"):
        TextWithImagesFormatter(image_position="middle")


def test_max_images_and_key_pages_select_pages_in_order(paper):
    prompt = get_input_formatter("images_only", max_images=3).build(paper)
    assert len(prompt.images) == 3 and "Paper pages (3 of 7)" in prompt.user
    key = KeyPagesFormatter(first_pages=2, last_pages=2).build(paper)
    assert [line for line in key.user.splitlines() if line.startswith("Page ")] == [
        "Page 1:", "Page 2:", "Page 6:", "Page 7:"]
    reds = [img.getpixel((4 + 3 * i, 85)) for img, i in zip(key.images, (0, 1, 5, 6))]
    assert all(px == (200, 0, 0) for px in reds)  # page i has a red mark 3*i wide
    overlap = KeyPagesFormatter(first_pages=5, last_pages=5).build(paper)
    assert len(overlap.images) == 7


def test_page_images_are_masked_copies(paper):
    prompt = get_input_formatter("images_only").build(paper)
    for shown, original in zip(prompt.images, paper.page_images):
        assert shown is not original
        assert shown.crop((0, 0, shown.width, 6)).getextrema()[0] == (255, 255)
        assert original.getpixel((30, 2)) == (0, 0, 0)
    raw = get_input_formatter("images_only", scrub_leakage=False).build(paper)
    assert raw.images == paper.page_images


@pytest.mark.parametrize("name", [n for n in INPUT_FORMATTERS.names()
                                  if INPUT_FORMATTERS.get(n).requires_vl_model])
def test_vision_formatters_without_images(name, iclr2017):
    sub = iclr2017[3]
    assert sub.page_images == []
    with pytest.raises(MissingPageImagesError) as err:
        get_input_formatter(name).build(sub)
    message = str(err.value)
    assert sub.submission_id in message and name in message and "fix:" in message
    assert "on_missing_images='text_only'" in message
    prompt = get_input_formatter(name, on_missing_images="text_only").build(sub, INSTRUCTION)
    assert prompt.images == [] and IMAGE_TOKEN not in prompt.user
    assert "no page images are available" in prompt.user
    assert f"Title: {sub.title}" in prompt.user and sub.abstract.strip()[:50] in prompt.user


def test_use_normalized_reviews(iclr2017):
    sub = dataclasses.replace(iclr2017[0], reviews=[
        Review(summary="It does X.", weaknesses="Weak baselines.", rating=6.0, confidence=4.0,
               extra={"rating_raw": "6: Marginally above acceptance threshold"}),
        Review(text="Plain review text.", rating=3.0, title="Not ready"),
    ])
    normal = TextOnlyFormatter(use_normalized_reviews=True).format_content(sub)
    assert "Review 1 of 2\nSummary: It does X.\nWeaknesses: Weak baselines.\nRating: 6/10\n" \
           "Confidence: 4/5" in normal
    assert "Review 2 of 2: Not ready\nReview: Plain review text.\nRating: 3/10" in normal
    raw = TextOnlyFormatter(use_normalized_reviews=False).format_content(sub)
    assert "Review 1 of 2\nIt does X.\n\nWeak baselines.\n" \
           "Rating: 6: Marginally above acceptance threshold\nConfidence: 4" in raw
    assert "Summary:" not in raw
    assert "Review 2 of 2: Not ready\nPlain review text.\nRating: 3" in raw


def test_include_flags_of_text_only(iclr2017):
    sub = dataclasses.replace(iclr2017[0], markdown="## 1 Introduction\n\nFULLTEXT here.")
    assert "Reviews (" not in TextOnlyFormatter(include_reviews=False).format_content(sub)
    assert "FULLTEXT" not in TextOnlyFormatter().format_content(sub)
    assert "FULLTEXT" in TextOnlyFormatter(include_markdown=True).format_content(sub)


def test_literal_image_markers_in_paper_text_are_escaped(iclr2017):
    sub = dataclasses.replace(iclr2017[0], abstract="We render <image> tokens.",
                              markdown="An <image> here.")
    sub.page_images = make_pages(2)
    for name in ("full_context", "text_with_images"):
        prompt = get_input_formatter(name).build(sub)
        assert prompt.user.count(IMAGE_TOKEN) == len(prompt.images)
        assert "We render &lt;image&gt; tokens." in prompt.user
    assert sub.abstract == "We render <image> tokens."


def test_custom_formatter_images_without_markers_get_markers(iclr2017):
    class Pages(InputFormatter):
        def format_content(self, submission):
            return f"Title: {submission.title}"

        def get_images(self, submission):
            return make_pages(2)

    prompt = Pages().build(iclr2017[0])
    assert prompt.user.startswith(f"{IMAGE_TOKEN}\n{IMAGE_TOKEN}\nTitle:")
    assert len(prompt.images) == 2

    class Wrong(Pages):
        def format_content(self, submission):
            return f"{IMAGE_TOKEN} Title: {submission.title}"

    with pytest.raises(PaperpredError, match="1 '<image>' markers for 2 images"):
        Wrong().build(iclr2017[0])


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="max_images"):
        get_input_formatter("images_only", max_images=0)
    with pytest.raises(ValueError, match="on_missing_images"):
        get_input_formatter("images_only", on_missing_images="skip")
    with pytest.raises(ValueError, match="first_pages"):
        KeyPagesFormatter(first_pages=0, last_pages=0)
    with pytest.raises(ValueError, match="max_tokens"):
        get_input_formatter("full_text", max_tokens=0)


def test_prepare_scrubs_or_drops_the_full_text(iclr2017):
    sub = dataclasses.replace(iclr2017[0], markdown="Published as a conference paper at ICLR "
                              "2017\n\n## 1 Introduction\n\nBody.")
    assert get_input_formatter("abstract_only").prepare(sub).markdown is None  # never shown
    shown = TextOnlyFormatter(include_markdown=True).prepare(sub)
    assert shown.markdown == "## 1 Introduction\n\nBody." and shown.meta_review is None
    raw = TextOnlyFormatter(include_markdown=True, scrub_leakage=False).prepare(sub)
    assert raw.markdown == sub.markdown and raw.meta_review is None
    assert sub.meta_review and sub.markdown.startswith("Published")  # the original is untouched
