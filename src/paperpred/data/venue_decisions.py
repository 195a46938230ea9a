"""Normalise the venue's decision strings of every ICLR year into one vocabulary.

ICLR's status strings changed over the years: 2017 says ``Oral``/``Poster``/``Workshop``
(``Invite to Workshop Track``), 2020 says ``Talk`` for an oral, 2023 says ``Top-5%`` and
``Top-25%``, 2024-25 say ``ICLR 2025 Poster`` or ``ICLR 2025 Conference Withdrawn Submission``,
and OpenReview leaves a rejected paper under ``Submitted to ICLR 2025``.
"""

from __future__ import annotations

import re
from enum import Enum


class Decision(str, Enum):  # noqa: UP042 (StrEnum would change str() of members)
    """The normalised decision of a submission."""

    ORAL = "Oral"
    SPOTLIGHT = "Spotlight"
    POSTER = "Poster"
    ACCEPT = "Accept"  # accepted, presentation tier not stated
    WORKSHOP = "Workshop"
    REJECT = "Reject"
    WITHDRAWN = "Withdrawn"
    DESK_REJECT = "Desk Reject"
    UNKNOWN = "Unknown"

    @property
    def has_label(self) -> bool:
        """Withdrawn, desk-rejected and unknown submissions carry no outcome label."""
        return self not in (Decision.WITHDRAWN, Decision.DESK_REJECT, Decision.UNKNOWN)

    @property
    def binary_label(self) -> str | None:
        """``"Accept"``, ``"Reject"`` (workshop invitations are not acceptances) or None."""
        if self in (Decision.ORAL, Decision.SPOTLIGHT, Decision.POSTER, Decision.ACCEPT):
            return "Accept"
        if self in (Decision.REJECT, Decision.WORKSHOP):
            return "Reject"
        return None

    @property
    def multiclass_label(self) -> str | None:
        """One of the four classes of MULTICLASS, or None (also for an untiered Accept)."""
        return _MULTICLASS.get(self)


_MULTICLASS = {
    Decision.ORAL: "Accept (Oral)",
    Decision.SPOTLIGHT: "Accept (Spotlight)",
    Decision.POSTER: "Accept (Poster)",
    Decision.REJECT: "Reject",
    Decision.WORKSHOP: "Reject",
}

MULTICLASS_LABELS: tuple[str, ...] = (
    "Reject",
    "Accept (Poster)",
    "Accept (Spotlight)",
    "Accept (Oral)",
)
BINARY_LABELS: tuple[str, ...] = ("Accept", "Reject")

# Checked in order on the lower-cased, whitespace-folded string; first match wins.
_RULES: tuple[tuple[str, Decision], ...] = (
    (r"withdraw", Decision.WITHDRAWN),
    (r"desk[\s_-]*reject", Decision.DESK_REJECT),
    (r"workshop", Decision.WORKSHOP),
    (r"\breject", Decision.REJECT),
    (r"\b(oral|talk)\b|top[\s-]*5\s*%|notable[\s-]*top[\s-]*5", Decision.ORAL),
    (r"spotlight|top[\s-]*25\s*%|notable[\s-]*top[\s-]*25", Decision.SPOTLIGHT),
    (r"\bposter\b", Decision.POSTER),
    # After decisions, OpenReview leaves a rejected paper in "Submitted to ICLR 20xx".
    (r"^submitted to\b", Decision.REJECT),
    (r"^accept(ed)?\b", Decision.ACCEPT),
)
_COMPILED = tuple((re.compile(pattern), decision) for pattern, decision in _RULES)


def normalize_decision(raw: object) -> Decision:
    """Map a raw status string (any year's vocabulary) to a :class:`Decision`.

    >>> normalize_decision("Top-25%")
    <Decision.SPOTLIGHT: 'Spotlight'>
    >>> normalize_decision("ICLR 2025 Conference Withdrawn Submission")
    <Decision.WITHDRAWN: 'Withdrawn'>
    """
    if raw is None:
        return Decision.UNKNOWN
    text = " ".join(str(raw).strip().lower().split())
    if not text:
        return Decision.UNKNOWN
    for pattern, decision in _COMPILED:
        if pattern.search(text):
            return decision
    return Decision.UNKNOWN
