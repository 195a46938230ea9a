"""Exceptions of paperpred. Every error at a boundary names where, what and the fix."""

from __future__ import annotations


class PaperpredError(Exception):
    """Base class: the CLI prints these as one line."""


class DataError(PaperpredError):
    """A bad input row or file. Names the file, the row (1-based) and the field, and the fix."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.row = row
        self.field = field
        self.fix = fix
        self.detail = message
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        text = ": ".join([", ".join(where), self.detail]) if where else self.detail
        return text + (f" (fix: {self.fix})" if self.fix else "")
