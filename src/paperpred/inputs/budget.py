"""Token budgets: counting tokens, and cutting a paper's full text by sections to fit.

Counting uses the tokenizer when one is given (any Hugging Face tokenizer; whole chat prompts
are measured with its chat template when it has one). Without a tokenizer it is an estimate of
:data:`CHARS_PER_TOKEN` characters per token plus :data:`MESSAGE_OVERHEAD_TOKENS` per message,
which is close for English prose with BPE tokenizers (Qwen2.5, Llama 3, SmolLM2) and errs
towards larger counts for text that is mostly plain words.

Truncation keeps everything but the full text whole and removes full-text sections whole, in
this order: references, then appendices (an "Appendix"/"Supplementary" heading, or any section
after the references), then the remaining sections from the end. Should no section fit, the
leading paragraphs of the first section that fit are kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 8
_SLACK = 64  # the sum of section counts is approximate: near the limit, measure the real prompt

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*)$")
_REFERENCES = re.compile(r"^(?:references?|bibliography|works\s+cited|literature\s+cited)\b")
_APPENDIX = re.compile(r"^(?:appendi(?:x|ces)|supplementa(?:ry|l)\b)")
_NUMBERING = re.compile(r"^(?:[\dA-Z]+(?:\.\d+)*\.?\s+)")


class TokenCounter:
    """Counts tokens with a tokenizer, or estimates them (see the module docstring).

    Args:
        tokenizer: a Hugging Face tokenizer (anything with ``encode``), or None to estimate.
    """

    def __init__(self, tokenizer: Any | None = None) -> None:
        self.tokenizer = tokenizer

    @property
    def method(self) -> str:
        """``"tokenizer"`` or ``"estimate"``."""
        return "estimate" if self.tokenizer is None else "tokenizer"

    def count(self, text: str) -> int:
        """Tokens in ``text`` (no special tokens)."""
        if self.tokenizer is None:
            return math.ceil(len(text) / CHARS_PER_TOKEN)
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def count_many(self, texts: list[str]) -> list[int]:
        """Tokens in each of ``texts`` (one batch call: fast tokenizers use several threads)."""
        if self.tokenizer is None or not texts:
            return [self.count(t) for t in texts]
        try:
            ids = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        except TypeError:  # a tokenizer-like object without batch calls
            return [self.count(t) for t in texts]
        return [len(x) for x in ids]

    def count_messages(self, messages: list[dict[str, str]]) -> int:
        """Tokens of a whole chat prompt, as the model would see it."""
        tok = self.tokenizer
        if tok is not None and getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(messages, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            return len(ids)
        return sum(self.count(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)


@dataclass
class Section:
    """One markdown section: its heading line (``""`` for text before the first heading), its
    whole text, and its kind: ``"body"``, ``"references"`` or ``"appendix"``."""

    heading: str
    text: str
    kind: str = "body"


def _heading_name(line: str) -> str:
    match = _HEADING.match(line)
    name = match.group(1) if match else line
    name = name.strip().strip("*_ ").strip()
    return _NUMBERING.sub("", name, count=1).strip("*_ .:").lower()


def split_sections(markdown: str) -> list[Section]:
    """Split markdown at ATX headings (``#`` to ``######``) and classify each section."""
    sections: list[Section] = []
    lines: list[str] = []
    heading = ""
    for line in markdown.split("\n"):
        if _HEADING.match(line):
            if any(x.strip() for x in lines):
                sections.append(Section(heading, "\n".join(lines).strip("\n")))
            lines, heading = [], line.strip()
        lines.append(line)
    if any(x.strip() for x in lines):
        sections.append(Section(heading, "\n".join(lines).strip("\n")))
    after_back_matter = False
    for section in sections:
        name = _heading_name(section.heading) if section.heading else ""
        if name and _REFERENCES.match(name):
            section.kind, after_back_matter = "references", True
        elif (name and _APPENDIX.match(name)) or after_back_matter:
            section.kind, after_back_matter = "appendix", True
    return sections


def drop_order(sections: list[Section]) -> list[int]:
    """Indices in the order sections are given up: references, appendices, then the rest,
    each group from the end of the paper."""
    order: list[int] = []
    for kind in ("references", "appendix", "body"):
        order += [i for i in reversed(range(len(sections))) if sections[i].kind == kind]
    return order


def truncation_notice(sections: int, paragraphs: int = 0) -> str:
    """The line that tells the model the full text was cut."""
    what = f"{sections} section{'s' if sections != 1 else ''}"
    if paragraphs:
        what += f" and {paragraphs} paragraph{'s' if paragraphs != 1 else ''}"
    return f"[Full text truncated: {what} omitted to fit the token budget]"


@dataclass
class Budget:
    """A token limit for one prompt, and what fitting into it cost.

    ``measure(content)`` returns the tokens of the whole prompt that ``content`` would produce
    (for ``format_content`` alone: the tokens of ``content``); ``count_many(texts)`` counts
    pieces of text.
    """

    limit: int
    measure: Callable[[str], int]
    count_many: Callable[[list[str]], list[int]]
    sections_omitted: int = 0
    paragraphs_omitted: int = 0
    tokens: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def over_budget(self) -> bool:
        """True when even the parts that are never cut exceed the limit."""
        return self.tokens is not None and self.tokens > self.limit


def fit_full_text(markdown: str, render: Callable[[str], str], budget: Budget) -> str:
    """The content rendered with as much of ``markdown`` as fits ``budget``.

    Args:
        markdown: the (scrubbed) full text.
        render: builds the content from a full-text string (which may end in the notice).
        budget: the limit and the measuring functions; its counters are filled in.

    Returns:
        The rendered content.
    """
    sections = split_sections(markdown)
    order = drop_order(sections)
    # Measure the prompt without the full text once, and each section once; the whole prompt
    # is then measured only to confirm a choice (tokenizing a 60-page paper is the cost here).
    base = budget.measure(render(truncation_notice(len(sections), 999)))
    sizes = [n + 1 for n in budget.count_many([s.text for s in sections])]
    if base + sum(sizes) <= budget.limit + _SLACK:
        content = render(markdown)
        tokens = budget.measure(content)
        if tokens <= budget.limit:
            budget.tokens = tokens
            return content
    kept = set(range(len(sections)))
    total, position = sum(sizes), 0
    while position < len(order) and base + total > budget.limit:
        kept.discard(order[position])
        total -= sizes[order[position]]
        position += 1
    while True:  # the sum of parts is an approximation: check the real prompt
        text = "\n\n".join(sections[i].text for i in sorted(kept))
        content = render(f"{text}\n\n{truncation_notice(len(sections) - len(kept))}".lstrip())
        tokens = budget.measure(content)
        if tokens <= budget.limit or not kept:
            break
        kept.discard(order[position])
        position += 1
    if not kept and sections:
        content, tokens = _fit_paragraphs(sections, render, budget, tokens, content)
    else:
        budget.sections_omitted = len(sections) - len(kept)
    budget.tokens = tokens
    return content


def _fit_paragraphs(sections: list[Section], render: Callable[[str], str], budget: Budget,
                    tokens: int, content: str) -> tuple[str, int]:
    """Keep the leading paragraphs of the first section that fit (binary search)."""
    first = next((i for i, s in enumerate(sections) if s.kind == "body"), 0)
    paragraphs = [p for p in re.split(r"\n\s*\n", sections[first].text) if p.strip()]
    budget.sections_omitted = len(sections)
    low, high, best = 1, len(paragraphs) - 1, None
    while low <= high:
        mid = (low + high) // 2
        notice = truncation_notice(len(sections) - 1, len(paragraphs) - mid)
        candidate = render("\n\n".join(paragraphs[:mid]) + "\n\n" + notice)
        n = budget.measure(candidate)
        if n <= budget.limit:
            best, low = (mid, candidate, n), mid + 1
        else:
            high = mid - 1
    if best is None:
        return content, tokens
    mid, content, tokens = best
    budget.sections_omitted = len(sections) - 1
    budget.paragraphs_omitted = len(paragraphs) - mid
    return content, tokens
