"""Label leakage: the scrubbing rules, and every registered formatter over every labelled 2017 row
with its real meta-review and a camera-ready header planted into its full text."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from paperpred.data.leakage import (
    find_leakage,
    mask_header_band,
    remove_acknowledgements,
    remove_decision_markers,
    remove_meta_review,
    scrub_submission,
    scrub_text,
)
from paperpred.data.submission import Submission
from paperpred.inputs import INPUT_FORMATTERS, get_input_formatter

HEADER = "Published as a conference paper at ICLR 2017"
BODY_SENTINEL = "BODYSENTINEL"
ACK_SENTINEL = "ACKSENTINEL"
_SPLIT = re.compile(r"(?<=[.!?])\s+")


# ----- rules, one table each ----------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "Published as a conference paper at ICLR 2017",
    "PUBLISHED AS A CONFERENCE PAPER AT ICLR 2025",
    "published as a conference paper at iclr 2019",
    "Accepted as a workshop contribution at ICLR 2015",
    "Under review as a conference paper at ICLR 2018",
    "Workshop track - ICLR 2017",
    "Published as a conference paper at the International Conference on Learning "
    "Representations 2020",
    "Decision: Accept (Oral)",
    "Final decision: Reject",
])
def test_header_lines_are_removed(text):
    scrubbed = remove_decision_markers(f"# Title\n{text}\nBody text stays.")
    assert scrubbed == "# Title\nBody text stays."


@pytest.mark.parametrize("sentence", [
    "This paper has been accepted at ICLR 2017.",
    "Our work was accepted for an oral presentation at ICLR 2023.",
    "The camera-ready version adds two experiments.",
    "In this camera ready we fixed typos.",
    "Oral presentation at ICLR 2017.",
    "Spotlight presentation at ICLR.",
    "Accepted as an oral at ICLR 2016.",
    "Accepted to ICLR 2024 (poster).",
])
def test_decision_sentences_are_removed_with_their_sentence(sentence):
    scrubbed = remove_decision_markers(f"We keep this. {sentence} We keep that.")
    assert scrubbed == "We keep this. We keep that."
    assert find_leakage(sentence)


@pytest.mark.parametrize("text", [
    "We compare with results reported at ICLR 2016 by Smith et al.",
    "The model is accepted by the verifier when the loss is small.",
    "A poster child for sparse methods.",
    "Workshop on Representation Learning for NLP.",
    "In International Conference on Learning Representations (ICLR), 2016.",
])
def test_ordinary_text_is_kept(text):
    assert remove_decision_markers(text) == text
    assert scrub_text(text, "An unrelated meta-review about something else entirely.") == text


def test_meta_review_is_removed_whole_and_by_sentence():
    meta = ("The reviewers agree the idea is novel and useful. Accept as poster.\n"
            "The experiments   could be broader.")
    text = (f"Intro. {meta} End.\n\nLater: the reviewers agree the idea is novel\nand useful. "
            "Also good. Accept as poster. And: the experiments could be broader. Done.")
    scrubbed = remove_meta_review(text, meta)
    low = scrubbed.lower()
    assert "novel and useful" not in low and "could be broader" not in low
    assert "accept as poster" not in low
    assert scrubbed.startswith("Intro.") and scrubbed.endswith("Done.")


def test_short_meta_sentences_are_only_removed_as_whole_sentences():
    meta = "Solid paper, well-written. 2."
    assert remove_meta_review("Step 2. We wrote a solid paper, well-written. Fine.", meta) == (
        "Step 2. We wrote a solid paper, well-written. Fine."
    )
    assert remove_meta_review("Ok. Solid paper, well-written. Fine.", meta) == "Ok.  Fine."


def test_acknowledgements_are_removed_up_to_the_next_heading():
    md = ("## 5 Conclusion\nWe conclude.\n\n## Acknowledgments\nWe thank Alice.\n\nAnd Bob.\n\n"
          "## References\n[1] A paper.\n\n**Acknowledgements.** We thank Carol.\n\nAppendix text.")
    scrubbed = remove_acknowledgements(md)
    assert "Alice" not in scrubbed and "Bob" not in scrubbed and "Carol" not in scrubbed
    assert "We conclude." in scrubbed and "[1] A paper." in scrubbed
    assert "Appendix text." in scrubbed


def _page(size=(80, 100)) -> Image.Image:
    page = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((5, 1, 75, 5), fill="black")  # the venue header
    draw.rectangle((5, 20, 75, 90), fill=(90, 90, 90))  # the body
    return page


def test_mask_header_band_whitens_the_top_and_leaves_originals(tmp_path: Path):
    original = _page()
    path = tmp_path / "page_1.png"
    _page().save(path)
    masked = mask_header_band([original, path], fraction=0.08)
    assert len(masked) == 2 and masked[0] is not original
    for page in masked:
        assert page.crop((0, 0, 80, 8)).getextrema() == ((255, 255), (255, 255), (255, 255))
        assert page.getpixel((40, 50)) == (90, 90, 90)
    assert original.getpixel((40, 3)) == (0, 0, 0)
    assert Image.open(path).convert("RGB").getpixel((40, 3)) == (0, 0, 0)


def test_scrub_submission_copies(iclr2017):
    sub = next(s for s in iclr2017 if s.meta_review)
    planted = _plant(sub)
    clean = scrub_submission(planted)
    assert clean.meta_review is None and planted.meta_review == sub.meta_review
    assert HEADER in planted.markdown and HEADER not in clean.markdown
    assert clean is not planted


# ----- every formatter x every labelled row ---------------------------------------------------
def _plant(sub: Submission) -> Submission:
    """The row with a full text that carries its real meta-review (whole, and sentence by
    sentence inside body paragraphs), the camera-ready header and an acknowledgements section."""
    meta = sub.meta_review or ""
    sentences = [s for s in _SPLIT.split(meta.strip()) if s]
    discussion = "\n\n".join(
        f"We discuss point {i}. {s} This concludes point {i}." for i, s in enumerate(sentences)
    )
    markdown = (
        f"{HEADER}\n\n# {sub.title}\n\n## Abstract\n\n{sub.abstract}\n\n"
        f"## 1 Introduction\n\n{BODY_SENTINEL} We study the problem in depth.\n\n{meta}\n\n"
        f"## 5 Discussion\n\n{discussion}\n\n"
        f"## Acknowledgements\n\nWe thank the ICLR 2017 area chair. {ACK_SENTINEL}\n\n"
        "## References\n\nA. Author. A paper. In ICLR, 2016."
    )
    planted = dataclasses.replace(sub, markdown=markdown)
    planted.page_images = [_page() for _ in range(3)]
    return planted


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _shingles(words: list[str], n: int = 8) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def _legit(sub: Submission) -> str:
    """Text the model may see: what the submission itself shows besides its full text."""
    parts = [sub.title, sub.abstract, " ".join(sub.keywords)]
    parts += [getattr(r, f) for r in sub.reviews
              for f in ("title", "summary", "strengths", "weaknesses", "questions", "text")]
    return " ".join(parts)


class _LeakCheck:
    """Finds the row's meta-review text or the planted markers in shown text, ignoring what
    the row legitimately shows elsewhere (a meta-review may quote a review)."""

    def __init__(self, sub: Submission) -> None:
        legit = _words(_legit(sub))
        self.legit_text = f" {' '.join(legit)} "
        meta = sub.meta_review or ""
        self.meta = " ".join(_words(meta))
        self.meta_shingles = _shingles(_words(meta)) - _shingles(legit)
        self.sentences = [
            " ".join(_words(s)) for s in _SPLIT.split(meta)
            if len(_words(s)) >= 2 and len(s) >= 8 and re.search(r"[a-zA-Z]{3}", s)
        ]
        self.sentences = [s for s in self.sentences if f" {s} " not in self.legit_text]

    def __call__(self, shown: str) -> list[str]:
        words = _words(shown)
        flat = f" {' '.join(words)} "
        problems = []
        if "published as a conference paper" in flat:
            problems.append("camera-ready header")
        if ACK_SENTINEL.lower() in flat:
            problems.append("acknowledgements")
        if self.meta and f" {self.meta} " in flat:
            problems.append("whole meta-review")
        problems += [" ".join(s) for s in sorted(_shingles(words) & self.meta_shingles)[:3]]
        problems += [s for s in self.sentences if f" {s} " in flat]
        return problems


def _leaks(sub: Submission, shown: str) -> list[str]:
    return _LeakCheck(sub)(shown)


def test_no_formatter_leaks_on_any_labelled_2017_row(iclr2017):
    rows = [s for s in iclr2017 if s.has_label]
    assert len(rows) >= 480 and sum(1 for s in rows if s.meta_review) >= 480
    names = INPUT_FORMATTERS.names()
    assert len(names) >= 11
    failures: list[str] = []
    for sub in rows:
        planted, check = _plant(sub), _LeakCheck(sub)
        for name in names:
            prompt = get_input_formatter(name).build(planted, "Predict.", None)
            shown = "\n".join(m["content"] for m in prompt.messages)
            failures += [f"{name} {sub.submission_id}: {p}" for p in check(shown)]
            if name in ("full_text", "full_context"):
                assert BODY_SENTINEL in shown, f"{name} dropped the body of {sub.submission_id}"
            for image in prompt.images:
                assert image.crop((0, 0, image.width, 8)).getextrema()[0] == (255, 255)
    assert not failures, "\n".join(failures[:20])


def test_the_leak_check_fails_when_scrubbing_is_off(iclr2017):
    sub = next(s for s in iclr2017 if s.meta_review and len(s.meta_review.split()) > 20)
    planted = _plant(sub)
    prompt = get_input_formatter("full_text", scrub_leakage=False).build(planted, "Predict.")
    shown = "\n".join(m["content"] for m in prompt.messages)
    assert HEADER in shown
    assert _leaks(sub, shown)
    assert prompt.images == []


def test_the_meta_review_field_is_never_shown_even_unscrubbed(iclr2017):
    sub = next(s for s in iclr2017 if s.meta_review and len(s.meta_review.split()) > 20)
    for scrub in (True, False):
        prompt = get_input_formatter("full_context", scrub_leakage=scrub).build(sub, "Predict.")
        shown = " ".join(_words(" ".join(m["content"] for m in prompt.messages)))
        assert " ".join(_words(sub.meta_review)) not in shown
