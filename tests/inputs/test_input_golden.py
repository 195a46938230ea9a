"""Golden prompts: every formatter on three real 2017 rows (an oral, a poster, a reject).

Regenerate after an intended change with ``PAPERPRED_UPDATE_GOLDEN=1 pytest tests/inputs``,
then read the diff: the files under tests/golden/inputs/ are meant to be read by eye.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from inputs_helpers import INSTRUCTION, long_paper, make_pages, plant_leaks

from paperpred.data.submission import Submission
from paperpred.data.venue_decisions import Decision
from paperpred.inputs import INPUT_FORMATTERS, FormattedPrompt, get_input_formatter

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "inputs"
UPDATE = os.environ.get("PAPERPRED_UPDATE_GOLDEN") == "1"
BUILTIN = sorted(n for n in INPUT_FORMATTERS.names() if n != "mycustomformatter")
DECISIONS = (Decision.ORAL, Decision.POSTER, Decision.REJECT)


def pick(rows: list[Submission], decision: Decision) -> Submission:
    """The shortest row (abstract plus reviews) of ``decision`` with three reviews: readable."""
    candidates = [s for s in rows if s.normalized_decision is decision and len(s.reviews) == 3
                  and s.meta_review and s.keywords]
    return min(candidates, key=lambda s: (len(s.abstract) + sum(len(r.text) for r in s.reviews),
                                          s.submission_id))


def render(prompt: FormattedPrompt, formatter_desc: dict, sub: Submission) -> str:
    kwargs = dict(formatter_desc["kwargs"])
    if "tokenizer" in kwargs:  # a local path: keep the golden file machine-independent
        kwargs["tokenizer"] = Path(kwargs["tokenizer"]).name
    lines = [
        f"# formatter: {formatter_desc['name']} kwargs={kwargs}",
        f"# submission: {sub.submission_id} ({sub.year}), decision {sub.decision}",
        f"# images: {len(prompt.images)}",
    ]
    for i, image in enumerate(prompt.images, 1):
        top = image.crop((0, 0, image.width, max(1, round(image.height * 0.08))))
        masked = top.getextrema()[0] == (255, 255)
        lines.append(f"#   image {i}: {image.width}x{image.height} {image.mode}, "
                     f"header band {'masked' if masked else 'NOT masked'}")
    meta = {k: v for k, v in prompt.meta.items() if k not in ("formatter", "submission_id")}
    lines.append(f"# meta: {meta}")
    for message in prompt.messages:
        lines += [f"===== {message['role']} =====", message["content"]]
    return "\n".join(lines) + "\n"


def check(path: Path, text: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with PAPERPRED_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} changed; if intended, regenerate with PAPERPRED_UPDATE_GOLDEN=1 and read "
        "the diff")


@pytest.fixture(scope="module")
def rows(iclr2017):
    return {d: pick(iclr2017, d) for d in DECISIONS}


def test_every_builtin_formatter_has_goldens():
    assert len(BUILTIN) == 12  # the spec's eleven and review_scores
    if not UPDATE:
        folders = {p.name for p in GOLDEN.iterdir() if p.is_dir()} - {"scrubbed", "truncated"}
        assert sorted(folders) == BUILTIN
        assert all(len(list((GOLDEN / n).glob("*.txt"))) == 3 for n in BUILTIN)


@pytest.mark.parametrize("decision", DECISIONS, ids=lambda d: d.value.lower())
@pytest.mark.parametrize("name", BUILTIN)
def test_golden_prompt(name, decision, rows):
    sub = rows[decision]
    formatter = get_input_formatter(name)
    if formatter.requires_vl_model:
        sub = dataclasses.replace(sub)  # the session's rows stay without images
        sub.page_images = make_pages(6)
    prompt = formatter.build(sub, INSTRUCTION, f"Answer: {sub.get_binary_label()}")
    text = render(prompt, formatter.describe(), sub)
    assert sub.meta_review.strip()[:40] not in text
    check(GOLDEN / name / f"{decision.value.lower()}_{sub.submission_id}.txt", text)


def test_golden_scrubbed_full_text(rows):
    sub = plant_leaks(rows[Decision.ORAL])
    formatter = get_input_formatter("full_context")
    text = render(formatter.build(sub, INSTRUCTION, "Answer: Accept"), formatter.describe(), sub)
    assert "camera-ready" not in text and "We thank our funders" not in text
    assert "We conclude." in text
    check(GOLDEN / "scrubbed" / f"full_context_{sub.submission_id}.txt", text)


def test_golden_truncated_full_text(rows, iclr2017, smollm2_tokenizer):
    sub = long_paper(rows[Decision.POSTER], iclr2017[:40], paragraphs=2)
    formatter = get_input_formatter("full_text", max_tokens=2500, tokenizer=smollm2_tokenizer)
    prompt = formatter.build(sub, INSTRUCTION, "Answer: Accept")
    assert prompt.meta["sections_omitted"] > 0
    check(GOLDEN / "truncated" / f"full_text_{sub.submission_id}.txt",
          render(prompt, formatter.describe(), sub))
