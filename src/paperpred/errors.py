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


class MissingPageImagesError(DataError):
    """A vision formatter was given a submission without page images."""


class RegistryError(PaperpredError, KeyError):
    """A duplicate registration or an unknown name (a formatter, handler, backend or mode)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ConfigError(PaperpredError):
    """A run or training configuration is invalid; the message lists every problem at once."""


class ModelNotAvailableError(PaperpredError):
    """A model or adapter cannot be loaded from what was given; the message says what to pass."""


class EmbeddedModelError(PaperpredError):
    """The embedded model cannot be provided (its package is missing or conversion failed)."""


class VLLMNotInstalledError(PaperpredError, ImportError):
    """vLLM is not importable here."""


class OpenAIBackendError(PaperpredError):
    """A request to an OpenAI-compatible server failed; ``status`` is the HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(" ".join(message.split()))


class NoLogprobsError(OpenAIBackendError):
    """The server answered without the log-probabilities that label scoring needs."""


class BadRequest(PaperpredError):
    """A request `paperpred serve` cannot answer (HTTP 400)."""


class RewardFunctionError(PaperpredError):
    """A reward function is unusable: it cannot be imported, or it fails even on answers the
    output handler can read."""


class GRPOConfigError(ConfigError):
    """A GRPO run cannot be configured as asked; the message says what to change."""


class GRPODataError(PaperpredError, ValueError):
    """The samples cannot make a GRPO dataset (none usable, or images on a text model)."""


class TrainingError(PaperpredError):
    """A training run failed; the message names the log to read and shows its end."""
