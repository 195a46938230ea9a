"""Helpers for the input-formatter tests: generated page images and long full texts built from
real 2017 abstracts (the bundled sample has no full texts)."""

from __future__ import annotations

import dataclasses

from PIL import Image, ImageDraw

from paperpred.data.submission import Submission

INSTRUCTION = (
    "Predict whether this paper will be accepted at ICLR. "
    "End your reply with 'Answer: Accept' or 'Answer: Reject'."
)


def make_pages(n: int, size: tuple[int, int] = (68, 88)) -> list[Image.Image]:
    """``n`` small pages: a black venue header at the top, a grey body, a page-dependent mark."""
    pages = []
    for i in range(n):
        page = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(page)
        draw.rectangle((4, 1, size[0] - 4, 4), fill="black")
        draw.rectangle((4, 12, size[0] - 4, size[1] - 6), fill=(120, 120, 120))
        draw.rectangle((4, size[1] - 5, 4 + 3 * i, size[1] - 2), fill=(200, 0, 0))
        pages.append(page)
    return pages


def long_paper(sub: Submission, others: list[Submission], paragraphs: int = 4) -> Submission:
    """``sub`` with a full text of numbered sections, references and appendices, made of other
    rows' abstracts (real prose)."""
    texts = [o.abstract.strip() for o in others if o.abstract and o.abstract.strip()]
    chunks = iter(texts * 4)

    def body(k: int) -> str:
        return "\n\n".join(next(chunks) for _ in range(k))

    sections = [f"# {sub.title}", f"## Abstract\n\n{sub.abstract}"]
    for i, name in enumerate(["Introduction", "Related Work", "Method", "Experiments",
                              "Conclusion"], 1):
        sections.append(f"## {i} {name}\n\nSECTION-{i}-START {body(paragraphs)}")
    sections.append("## References\n\n" + "\n".join(
        f"[{i}] {o.title}. ICLR 2017 submission." for i, o in enumerate(others[:60], 1)))
    sections.append(f"## A Proofs\n\nAPPENDIX-A-START {body(paragraphs)}")
    sections.append(f"## B Additional Experiments\n\nAPPENDIX-B-START {body(paragraphs)}")
    return dataclasses.replace(sub, markdown="\n\n".join(sections))


def plant_leaks(sub: Submission) -> Submission:
    """``sub`` with a short full text that carries every kind of leak the scrubber removes."""
    meta = sub.meta_review or ""
    markdown = (
        "Published as a conference paper at ICLR 2017\n\n"
        f"# {sub.title}\n\n## Abstract\n\n{sub.abstract}\n\n"
        "## 1 Introduction\n\nWe study the problem. This paper was accepted for an oral "
        "presentation at ICLR 2017. In the camera-ready version we add experiments.\n\n"
        f"{meta}\n\n## 2 Conclusion\n\nWe conclude.\n\n"
        "## Acknowledgements\n\nWe thank our funders and the area chair.\n\n"
        "## References\n\n[1] A. Author. A paper. In ICLR, 2016."
    )
    return dataclasses.replace(sub, markdown=markdown)
