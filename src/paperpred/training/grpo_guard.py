"""The guard around GRPO reward functions: a reward that raises on a completion must neither
kill the run nor skew it silently.

A completion whose score raises (or is NaN/inf) gets the output handler's
``parse_failure_reward`` and is counted (``reward_errors`` per step in train_progress.jsonl;
the first error of each function is printed and logged with the completion). A function that
fails on every completion of a step although some of them are answers the handler can read,
or that fails on the label text itself, is broken: :class:`RewardFunctionError` names it.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paperpred.errors import PaperpredError

logger = logging.getLogger("paperpred.training.grpo")


class RewardFunctionError(PaperpredError):
    """A reward function is unusable: it cannot be imported, or it fails even on answers the
    output handler can read."""


@dataclass
class RewardStats:
    """Counts shared by a run's rewards: errors per reward since the last log and in total,
    and the generated tokens (from TRL's ``completion_ids``)."""

    pending: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    generated_tokens: int = 0
    completions: int = 0

    def error(self, name: str) -> None:
        self.pending[name] = self.pending.get(name, 0) + 1
        self.total[name] = self.total.get(name, 0) + 1

    def take(self) -> dict[str, int]:
        """Errors per reward since the last call (then reset)."""
        taken, self.pending = self.pending, {}
        return taken


def _readable(handler: Any, text: str) -> bool:
    try:
        parsed = handler.parse_prediction(text)
    except Exception:  # noqa: BLE001 - parse_prediction must not raise; treat as unreadable
        return False
    return bool(parsed.get("parse_success")) and parsed.get("prediction") is not None


class GuardedReward:
    """A ``score(prediction_text, ground_truth)`` in the shape TRL calls, made safe.

    A completion whose score raises (or is NaN/inf) gets the handler's
    ``parse_failure_reward`` and is counted in ``stats``; the first such error of each reward
    is logged with the completion. If every completion of one call fails and at least one of
    them is an answer the handler can read, the function is broken: :class:`RewardFunctionError`
    names it (and chains the original error) instead of training on constant rewards. A
    completion without a ground truth gets None (TRL ignores it).
    """

    def __init__(self, name: str, score: Callable[[Any, Any], Any], handler: Any,
                 stats: RewardStats, label_column: str = "label", count_tokens: bool = False,
                 ref: str | None = None) -> None:
        self.__name__ = self.__qualname__ = name
        self.name = name
        self.score = score
        self.handler = handler
        self.stats = stats
        self.label_column = label_column
        self.count_tokens = count_tokens
        self.ref = ref
        self.fallback = float(getattr(handler, "parse_failure_reward", -0.5))
        self._warned = False

    def describe(self) -> str:
        return f"{self.name!r}" + (f" ({self.ref})" if self.ref else "")

    def check(self, label: str) -> None:
        """Score the label text itself (a well-formed answer): a function that fails on it is
        broken, and the run stops before the model is loaded."""
        try:
            value = self.score(label, label)
            if value is not None:
                float(value)
        except Exception as exc:
            raise RewardFunctionError(
                f"reward function {self.describe()} fails on a well-formed answer: "
                f"reward({label!r}, {label!r}) raised {type(exc).__name__}: {exc}") from exc

    def _warn(self, text: str, exc: BaseException) -> None:
        message = (f"reward function {self.describe()} raised {type(exc).__name__}: {exc} on "
                   f"completion {text[:120]!r} (given {self.fallback}; further errors are "
                   "counted per step as reward_errors in train_progress.jsonl)")
        logger.warning(message)
        if os.environ.get("RANK", "0") == "0":
            print(f"[paperpred] warning: {message}", file=sys.stderr, flush=True)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        from paperpred.outputs.base import is_missing
        from paperpred.outputs.parsing import completion_text

        if self.label_column not in kwargs:
            columns = sorted(k for k in kwargs if k not in ("prompts", "completion_ids",
                                                            "trainer_state"))
            raise KeyError(f"reward {self.name!r} needs the dataset column "
                           f"'{self.label_column}'; got columns {columns}")
        truths = kwargs[self.label_column]
        if self.count_tokens:
            ids = kwargs.get("completion_ids") or []
            self.stats.generated_tokens += sum(len(x) for x in ids)
            self.stats.completions += len(completions)
        out: list[float | None] = []
        failed: list[tuple[str, BaseException]] = []
        scored = 0
        for completion, truth in zip(completions, truths, strict=True):
            if is_missing(truth):
                out.append(None)
                continue
            scored += 1
            text = completion_text(completion) or ""
            try:
                value = self.score(text, truth)
                value = None if value is None else float(value)
                if value is not None and not math.isfinite(value):
                    raise ValueError(f"reward is {value}")
            except Exception as exc:  # noqa: BLE001 - counted and reported, see class doc
                failed.append((text, exc))
                self.stats.error(self.name)
                if not self._warned:
                    self._warned = True
                    self._warn(text, exc)
                value = self.fallback
            out.append(value)
        if failed and len(failed) == scored:
            readable = [(t, e) for t, e in failed if _readable(self.handler, t)]
            if readable:
                text, exc = readable[0]
                raise RewardFunctionError(
                    f"reward function {self.describe()} raised on every completion of this "
                    f"step ({len(failed)}), including {len(readable)} answer(s) the output "
                    f"handler can read, e.g. {text[:120]!r}: {type(exc).__name__}: {exc}"
                ) from exc
        return out
