"""What a load did: rows read, loaded, skipped (by reason, with examples), fields missing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from paperpred.errors import DataError

EXAMPLES_PER_REASON = 3


@dataclass
class LoadReport:
    """Filled while a loader iterates; complete once the iterator is exhausted."""

    source: str = ""
    rows_read: int = 0
    loaded: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    derived_ids: int = 0
    # (year, normalised decision) of skipped rows, where readable: inspect shows them.
    skipped_groups: Counter = field(default_factory=Counter)
    # Files the rows name that were not opened: (column, reason) -> count. The rows loaded.
    missing_files: Counter = field(default_factory=Counter)
    missing_examples: dict[str, list[str]] = field(default_factory=dict)
    # Papers whose named files were all found: column -> count.
    found_files: Counter = field(default_factory=Counter)

    def skip(self, error: DataError, group: tuple[int | None, str] | None = None) -> None:
        self.skipped[error.reason] += 1
        if group is not None:
            self.skipped_groups[group] += 1
        shown = self.examples.setdefault(error.reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(str(error))

    def missing(self, column: str, reason: str, example: str) -> None:
        """Count a file named in ``column`` that was not opened, and why."""
        self.missing_files[(column, reason)] += 1
        shown = self.missing_examples.setdefault(f"{column}: {reason}", [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(example)

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """One line, e.g. ``loaded 488 of 490 rows; skipped 2 (empty title: 1, ...)``."""
        text = f"{self.source}: loaded {self.loaded} of {self.rows_read} rows"
        if self.skipped:
            parts = ", ".join(f"{reason}: {n}" for reason, n in self.skipped.most_common())
            text += f"; skipped {self.n_skipped} ({parts})"
        if self.derived_ids:
            text += f"; {self.derived_ids} ids derived from year and title"
        if self.missing_files:
            parts = ", ".join(f"{column} {reason}: {n}"
                              for (column, reason), n in self.missing_files.most_common())
            text += f"; files not opened ({parts})"
        return text

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "loaded": self.loaded,
            "skipped": dict(self.skipped),
            "examples": self.examples,
            "derived_ids": self.derived_ids,
            "skipped_groups": [
                {"year": y, "decision": d, "rows": n} for (y, d), n in self.skipped_groups.items()
            ],
            "missing_files": [{"column": c, "reason": r, "files": n}
                              for (c, r), n in self.missing_files.items()],
            "missing_examples": self.missing_examples,
            "found_files": dict(self.found_files),
        }
