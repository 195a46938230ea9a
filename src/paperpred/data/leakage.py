"""Label-leakage scrubbing: keep the answer out of the model's input.

What carries the label, and what is done about it:

* **Venue headers.** Camera-ready ICLR PDFs print ``Published as a conference paper at ICLR
  20xx`` (workshop papers: ``Workshop track - ICLR 20xx``) where submissions print ``Under
  review as a conference paper at ICLR 20xx``. All of them are removed, the submission header
  too, so that the *absence* of a header cannot give the answer away either.
* **Decision statements** in the paper's own text: ``This paper has been accepted at ICLR 2017``,
  ``Accepted as an oral presentation at ICLR``, ``Oral/Spotlight presentation at ICLR``,
  ``Decision: Accept (Poster)`` and any sentence that mentions a camera-ready version: the
  sentence (or line) is removed. Patterns accept any year and any case.
* **The meta-review**, should its text appear in the full text: removed as a whole and sentence
  by sentence (sentences of at least :data:`MIN_META_SENTENCE_WORDS` words), with flexible
  whitespace and case.
* **Acknowledgements** sections (a heading, or a paragraph opening with "Acknowledg(e)ments"):
  they appear only in de-anonymised, camera-ready versions.
* **Page images**: the header band at the top of each page is covered by a white rectangle
  (:func:`mask_header_band`). ICLR's style prints the venue header on *every* page, so every
  page is masked, not only the first. Originals are never modified.

Reviews are not scrubbed: they are written before the decision, and reviewers' opinions ("I
would like to see this accepted at ICLR") are legitimate input. The ``meta_review`` field itself
is never given to a formatter (see :class:`paperpred.inputs.InputFormatter`).
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from typing import Any

from paperpred.data.submission import Submission

#: Share of the page height covered by :func:`mask_header_band` (the ICLR header sits in the top
#: ~7% of a letter page; body text starts below ~9%).
HEADER_FRACTION = 0.08
#: Meta-review sentences of at least this many words are removed wherever they appear; shorter
#: ones only where they stand as a sentence of their own ("Accept as poster."), so that short
#: generic phrases do not cut ordinary text.
MIN_META_SENTENCE_WORDS = 4
MASKED_INFO_KEY = "paperpred_header_masked"

_VENUE = r"(?:ICLR|International\s+Conference\s+on\s+Learning\s+Representations)"
_YEAR = r"(?:\s*(?:'\d{2}|(?:19|20)\d{2}))?"
_WHOLE_LINE_PATTERNS = (
    # Under review / Published / Accepted as a conference|workshop paper at ICLR 20xx
    rf"(?:under\s+review|published|accepted|presented)\s+as\s+an?\s+"
    rf"(?:conference|workshop)(?:\s+track)?\s+(?:paper|contribution)\s+(?:at|to|in)\s+"
    rf"(?:the\s+)?{_VENUE}{_YEAR}",
    rf"workshop\s+track\s*[-\u2013\u2014:]\s*{_VENUE}{_YEAR}",
    rf"{_VENUE}{_YEAR}\s+(?:conference|workshop)\s+track",
    # OpenReview page dumps: "Decision: Accept (Oral)"
    r"^\W*(?:paper\s+|final\s+)?decision\s*[:\-]\s*\W*(?:accept|reject|oral|poster|spotlight|"
    r"workshop|invite).*$",
)
_SENTENCE_PATTERNS = (
    r"camera[\s\-]*ready",
    rf"\b(?:oral|spotlight|poster|contributed\s+talk|invited\s+talk)(?:\s+presentation)?\s+"
    rf"(?:at|in|for)\s+(?:the\s+)?{_VENUE}",
    rf"(?:this|our|the\s+present|the\s+current)\s+(?:paper|work|submission|manuscript|article|"
    rf"version)\b[^.!?\n]{{0,80}}?\b(?:accepted|rejected|published|presented|selected)\b"
    rf"[^.!?\n]{{0,60}}?{_VENUE}",
    rf"^\W*(?:accepted|published)\b[^.!?\n]{{0,80}}?{_VENUE}",
    rf"\baccepted\s+(?:as|for)\s+an?\s+(?:oral|spotlight|poster|talk)\b[^.!?\n]{{0,40}}?{_VENUE}",
)
HEADER_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE | re.MULTILINE) for p in _WHOLE_LINE_PATTERNS
)
DECISION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE | re.MULTILINE) for p in _SENTENCE_PATTERNS
)
_ANY = re.compile("|".join(f"(?:{p})" for p in _WHOLE_LINE_PATTERNS + _SENTENCE_PATTERNS),
                  re.IGNORECASE | re.MULTILINE)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
_WHITESPACE = re.compile(r"\s+")
_WHITESPACE_RUN = re.compile(r"\s{2,}")
# Every header and decision pattern contains one of these: lines without one are skipped.
_CUE = re.compile(r"ICLR|Learning\s+Representations|camera|decision", re.IGNORECASE)
_CUE_LOW = re.compile(r"iclr|learning\s+representations|camera|decision")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_ACK_HEADING = re.compile(
    r"^\s{0,3}#{1,6}\s*(?:[\dA-Z]+(?:\.\d+)*\.?\s+)?\**\s*acknowledge?ments?\b", re.IGNORECASE
)
_ACK_PARAGRAPH = re.compile(r"^\s*[*_]{0,2}\s*acknowledge?ments?\b", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


def remove_decision_markers(text: str) -> str:
    """Remove venue headers and decision statements (any year, any case) from ``text``.

    A header is cut out of its line (the rest of the line stays); a decision statement takes
    its whole sentence with it.

    >>> remove_decision_markers("Published as a conference paper at ICLR 2017\\n# Title")
    '# Title'
    """
    if not text:
        return text
    low = text.lower()  # a case-sensitive scan of the lower-cased text is much faster
    cues = [m.start() for m in (_CUE_LOW if len(low) == len(text) else _CUE).finditer(low)]
    if not cues:
        return text
    lines = text.split("\n")
    line_starts = list(accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    flagged = {bisect_right(line_starts, position) - 1 for position in cues}
    out, changed = [], False
    for number, line in enumerate(lines):
        if number in flagged:
            before = line
            for pattern in HEADER_PATTERNS:
                line = pattern.sub("", line)
            sentences = _SENTENCE_SPLIT.split(line)
            kept = [s for s in sentences if not any(p.search(s) for p in DECISION_PATTERNS)]
            if len(kept) != len(sentences):
                line = " ".join(kept)
            changed = changed or line != before
            if not line.strip(" \t-\u2013\u2014|*_:#"):
                changed = True
                continue
        out.append(line)
    return _tidy("\n".join(out)) if changed else text


class _View:
    """``text`` lower-cased with whitespace runs collapsed to one space, and the map from a
    position in the view back to ``text`` (built from the few multi-character runs only)."""

    def __init__(self, text: str) -> None:
        low = text.lower()
        self.lowered = len(low) == len(text)  # lower() may change lengths in a few scripts
        self.text = _WHITESPACE.sub(" ", low if self.lowered else text)
        self.starts: list[int] = []
        self.shifts: list[int] = []
        shift = 0
        for match in _WHITESPACE_RUN.finditer(text):
            view_position = match.start() - shift
            shift += match.end() - match.start() - 1
            self.starts.append(view_position + 1)
            self.shifts.append(shift)

    def needle(self, piece: str) -> str:
        joined = " ".join(piece.split())
        return joined.lower() if self.lowered else joined

    def original(self, position: int) -> int:
        k = bisect_right(self.starts, position) - 1
        return position + (self.shifts[k] if k >= 0 else 0)


def _is_distinctive(sentence: str) -> bool:
    """A short sentence worth removing: 8+ characters and a word of 3+ letters ("Accept as
    poster." yes; "2." or "e.g." no)."""
    return len(sentence) >= 8 and re.search(r"[^\W\d_]{3}", sentence) is not None


def _starts_sentence(text: str, start: int) -> bool:
    """True if ``start`` begins a line, or follows a sentence end and a space."""
    j = start
    while j > 0 and text[j - 1] in " \t":
        j -= 1
    if j == 0 or text[j - 1] == "\n":
        return True
    return j < start and text[j - 1] in ".!?\"')]"


def remove_meta_review(text: str, meta_review: str | None) -> str:
    """Remove ``meta_review`` from ``text`` (whitespace- and case-insensitive).

    The whole meta-review is removed wherever it appears, and so is each of its sentences of
    at least :data:`MIN_META_SENTENCE_WORDS` words. Shorter sentences ("Accept as poster.")
    are removed only where they stand as a sentence of their own (after a line start or a
    sentence end) and when distinctive, so that ordinary text is not cut.
    """
    if not text or not meta_review or not meta_review.strip():
        return text
    sentences = {" ".join(s.split()) for s in _SENTENCE_SPLIT.split(meta_review.strip())} - {""}
    long = {" ".join(meta_review.split())} | {
        s for s in sentences if len(s.split()) >= MIN_META_SENTENCE_WORDS
    }
    pieces = [(p, False) for p in sorted(long, key=len, reverse=True)]
    pieces += [(p, True) for p in sorted(sentences - long, key=len, reverse=True)
               if _is_distinctive(p)]
    low = text.lower()  # a piece can only match if its longest word occurs: skip the rest
    pieces = [(p, short) for p, short in pieces if max(p.lower().split(), key=len) in low]
    if not pieces:
        return text
    view = _View(text)
    cuts: list[tuple[int, int]] = []
    for piece, short in pieces:
        needle = view.needle(piece)
        i = view.text.find(needle)
        while i != -1:
            end = i + len(needle)
            a, b = view.original(i), view.original(end - 1) + 1
            whole = end == len(view.text) or view.text[end] == " "
            if not short or (whole and _starts_sentence(text, a)):
                cuts.append((a, b))
            i = view.text.find(needle, end)
    if not cuts:
        return text
    out, position = [], 0
    for a, b in sorted(cuts):
        if a >= position:
            out.append(text[position:a])
        position = max(position, b)
    out.append(text[position:])
    return _tidy("".join(out))


def remove_acknowledgements(markdown: str) -> str:
    """Remove acknowledgement sections: from an "Acknowledg(e)ments" heading to the next heading,
    or a paragraph that opens with the word."""
    if not markdown or "cknowledg" not in markdown.lower():
        return markdown
    out: list[str] = []
    skipping: str | None = None  # "section" or "paragraph"
    for line in markdown.split("\n"):
        if skipping == "section" and _HEADING.match(line) and not _ACK_HEADING.match(line):
            skipping = None
        elif skipping == "paragraph" and not line.strip():
            skipping = None
        if skipping is None:
            if _ACK_HEADING.match(line):
                skipping = "section"
            elif _ACK_PARAGRAPH.match(line):
                skipping = "paragraph"
        if skipping is None:
            out.append(line)
    return _tidy("\n".join(out))


def _tidy(text: str) -> str:
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")


def scrub_text(text: str | None, meta_review: str | None = None, *,
               acknowledgements: bool = True) -> str | None:
    """Apply every text rule: meta-review, venue headers and decision statements, and
    (``acknowledgements=True``) acknowledgement sections. ``None`` stays ``None``."""
    if not text:
        return text
    text = remove_meta_review(text, meta_review)
    text = remove_decision_markers(text)
    return remove_acknowledgements(text) if acknowledgements else text


def scrub_submission(submission: Submission, *, keep_full_text: bool = True) -> Submission:
    """A copy of ``submission`` whose abstract and full text are scrubbed and whose
    ``meta_review`` is ``None``. Title, reviews and page images are shared with the original,
    which is left untouched.

    Args:
        submission: the submission.
        keep_full_text: False drops the full text from the copy instead of scrubbing it (for
            formatters that do not show it: cheaper, and nothing to leak). A full text kept in
            a file (``markdown_path``) is read here, so only formatters that show it read it.
    """
    meta = submission.meta_review
    return dataclasses.replace(
        submission,
        abstract=scrub_text(submission.abstract, meta, acknowledgements=False) or "",
        markdown=scrub_text(submission.full_text(), meta) if keep_full_text else None,
        markdown_path=None,
        meta_review=None,
    )


def find_leakage(text: str, meta_review: str | None = None) -> list[str]:
    """Label-bearing snippets of ``text`` that scrubbing would remove (for audits and tests)."""
    found = [m.group(0) for m in _ANY.finditer(text or "")]
    if meta_review and text:
        flat = " ".join(text.split()).lower()
        for sentence in _SENTENCE_SPLIT.split(meta_review):
            norm = " ".join(sentence.split())
            if len(norm.split()) >= MIN_META_SENTENCE_WORDS and norm.lower() in flat:
                found.append(norm)
    if re.search(r"^\s{0,3}#{1,6}.*acknowledge?ments?", text or "", re.I | re.M):
        found.append("acknowledgements section")
    return found


# ----- page images ------------------------------------------------------------------------------
def load_image(image: Any) -> Any:
    """Open a page image given as a PIL image, a path, raw bytes or a Hugging Face image dict
    (``{"bytes": ..., "path": ...}``). Returns a PIL image (not copied if it already is one)."""
    import io

    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    if isinstance(image, dict):
        if image.get("bytes"):
            return Image.open(io.BytesIO(image["bytes"]))
        image = image.get("path")
    if isinstance(image, (bytes, bytearray)):
        return Image.open(io.BytesIO(image))
    if image is None:
        raise ValueError("page image is empty (None)")
    return Image.open(image)


def mask_header_band(images: Iterable[Any], fraction: float = HEADER_FRACTION) -> list[Any]:
    """Cover the top ``fraction`` of each page with white, as new PIL images.

    Args:
        images: page images (PIL images, paths, bytes or Hugging Face image dicts).
        fraction: share of the page height to cover (0 < fraction < 1).

    Returns:
        New RGB PIL images, in the same order; the inputs are not modified. An image that was
        already masked by this function is returned as is.
    """
    from PIL import ImageDraw

    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    masked = []
    for image in images:
        page = load_image(image)
        if page.info.get(MASKED_INFO_KEY):
            masked.append(page)
            continue
        page = page.convert("RGB")  # always a new image, even for RGB input
        band = max(1, round(page.height * fraction))
        ImageDraw.Draw(page).rectangle((0, 0, page.width, band - 1), fill=(255, 255, 255))
        page.info[MASKED_INFO_KEY] = True
        masked.append(page)
    return masked
