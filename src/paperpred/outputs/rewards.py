"""GRPO rewards: which functions score a completion and how they are named in a run config
.

Every reward is a ``score(prediction_text, ground_truth) -> float`` (the spec's
``reward(prediction, ground_truth)``): ``prediction_text`` is the completion's text and
``ground_truth`` the handler's label text (``"Answer: 0.73"``). :class:`GuardedReward` turns one
into the function TRL's ``GRPOTrainer`` calls (one float per completion; TRL logs it as
``rewards/<name>/mean``).

Default rewards (no ``reward_function``): the output handler's reward (correctness for decisions,
closeness for numbers; the handler's ``parse_failure_reward`` for an unreadable answer) and a
format reward (1.0 for an answer the handler can read, else 0.0), weights 1.0 and 0.5.

In a run config a reward is ``{"name", "kind": "handler" | "format" | "callable", "ref"}``;
``ref`` is ``"module:function"`` for a user function that a new process can import, and None
for a lambda, a nested function or one defined in ``__main__`` (usable in-process only).

The one adapter between a score and TRL is :class:`GuardedReward` (``handler.as_trl_reward()``
returns one for the handler's own reward): a reward that raises on a completion must neither
kill the run nor skew it silently. Such a completion gets the handler's
``parse_failure_reward`` and is counted (``reward_errors`` per step in train_progress.jsonl;
the first error of each function is printed and logged with the completion). A function that
fails on every completion of a step although some of them are answers the handler can read,
or that fails on the label text itself, is broken: :class:`RewardFunctionError` names it.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paperpred.errors import RewardFunctionError
from paperpred.outputs.parsing import completion_text, is_missing

logger = logging.getLogger("paperpred.rewards")

__all__ = ["GuardedReward", "RewardFunctionError", "RewardSpec", "RewardStats", "build_rewards",
           "callable_ref", "format_score", "in_process_only_message", "resolve_ref",
           "reward_specs"]

DEFAULT_WEIGHTS = {"handler": 1.0, "format": 0.5}
FORMAT_REWARD = "format_reward"
KINDS = ("handler", "format", "callable")


@dataclass
class RewardSpec:
    """One reward of a run, as recorded in the run config."""

    name: str
    kind: str
    ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "ref": self.ref}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RewardSpec:
        kind = data.get("kind")
        if kind not in KINDS:
            raise RewardFunctionError(f"reward {data.get('name')!r}: kind must be one of "
                                      f"{', '.join(KINDS)}, got {kind!r}")
        return cls(name=str(data["name"]), kind=kind, ref=data.get("ref"))




@dataclass
class RewardStats:
    """Counts shared by a run's rewards: errors per reward since the last log and in total,
    and the generated tokens (from TRL's ``completion_ids``)."""

    pending: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    generated_tokens: int = 0
    completions: int = 0
    #: Parsed class answers since the last log (``"unparsed"`` for unreadable completions).
    predicted: dict[str, int] = field(default_factory=dict)

    def predicted_one(self, label: str) -> None:
        self.predicted[label] = self.predicted.get(label, 0) + 1

    def take_predicted(self) -> dict[str, int]:
        """Class answers counted since the last call (then reset)."""
        taken, self.predicted = self.predicted, {}
        return taken

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

    def _count_answers(self, completions: Sequence[Any]) -> None:
        """Class answers of the completions, for the collapse watch (classification only)."""
        for completion in completions:
            try:
                parsed = self.handler.parse_prediction(completion_text(completion) or "")
            except Exception:  # noqa: BLE001 - parse_prediction must not raise; unreadable
                parsed = {}
            answer = parsed.get("prediction")
            if answer is None:
                self.stats.predicted_one("unparsed")
            elif isinstance(answer, str):
                self.stats.predicted_one(answer)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        if self.label_column not in kwargs:
            columns = sorted(k for k in kwargs if k not in ("prompts", "completion_ids",
                                                            "trainer_state"))
            raise KeyError(f"reward {self.name!r} needs the dataset column "
                           f"'{self.label_column}'; got columns {columns}")
        truths = kwargs[self.label_column]
        if self.count_tokens:  # once per step: the first reward counts for the run
            ids = kwargs.get("completion_ids") or []
            self.stats.generated_tokens += sum(len(x) for x in ids)
            self.stats.completions += len(completions)
            self._count_answers(completions)
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
                text, error = readable[0]
                raise RewardFunctionError(
                    f"reward function {self.describe()} raised on every completion of this "
                    f"step ({len(failed)}), including {len(readable)} answer(s) the output "
                    f"handler can read, e.g. {text[:120]!r}: {type(error).__name__}: {error}"
                ) from error
        return out


def callable_ref(fn: Callable[..., Any]) -> str | None:
    """``"module:qualname"`` when a fresh process can import ``fn`` back, else None (lambdas,
    nested functions, functions of ``__main__`` or of a module that cannot be imported)."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    try:
        found = resolve_ref(f"{module}:{qualname}")
    except RewardFunctionError:
        return None
    return f"{module}:{qualname}" if found is fn else None


def resolve_ref(ref: str) -> Callable[..., Any]:
    """Import ``"module:qualname"`` (``"package.module:Class.method"`` works too)."""
    module_name, sep, qualname = str(ref).partition(":")
    if not sep or not module_name or not qualname:
        raise RewardFunctionError(f"reward reference {ref!r} is not 'module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise RewardFunctionError(f"cannot import module {module_name!r} of reward {ref!r}: "
                                  f"{type(exc).__name__}: {exc}") from exc
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise RewardFunctionError(f"reward {ref!r}: module {module_name!r} has no "
                                      f"{qualname!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise RewardFunctionError(f"reward {ref!r} is not callable")
    return obj


def in_process_only_message(name: str) -> str:
    return (f"reward function {name!r} is a lambda, a nested function or defined in __main__, "
            "so only an in-process run (GRPOMode.train) can use it; a worker process "
            "(python -m paperpred.modes.grpo.worker, accelerate launch) must import it: "
            "define it at the top level of an importable module and pass that function "
            "(the config then records it as 'module:function')")


def reward_specs(
    handler: Any,
    reward_function: Callable[..., float] | Sequence[Callable[..., float]] | None = None,
    reward_weights: Sequence[float] | None = None,
    format_reward: bool | None = None,
) -> tuple[list[RewardSpec], list[float], dict[str, Callable[..., float]]]:
    """The rewards of a run: specs, weights (aligned) and the user callables by name.

    Args:
        handler: the output handler (its reward is the default).
        reward_function: one ``reward(prediction, ground_truth) -> float`` or a list of them;
            None for the handler's reward.
        reward_weights: one weight per reward (including the format reward when it is on).
        format_reward: add the format reward; default on for the handler's reward and off
            when ``reward_function`` is given.

    Raises:
        TypeError: a reward is not callable.
        ValueError: the weights do not match the rewards.
    """
    specs: list[RewardSpec] = []
    callables: dict[str, Callable[..., float]] = {}
    if reward_function is None:
        specs.append(RewardSpec(f"{handler.name}_reward", "handler"))
    else:
        functions = (list(reward_function) if isinstance(reward_function, (list, tuple))
                     else [reward_function])
        if not functions:
            raise ValueError("reward_function is an empty list: pass a function or None")
        for fn in functions:
            if not callable(fn):
                raise TypeError(f"reward_function must be callable(s) "
                                 f"reward(prediction, ground_truth) -> float, got {fn!r}")
            base = getattr(fn, "__name__", None) or type(fn).__name__
            base = "custom_reward" if base == "<lambda>" else base
            name, k = base, 2
            while name in callables or name in (FORMAT_REWARD, f"{handler.name}_reward"):
                name, k = f"{base}_{k}", k + 1
            callables[name] = fn
            specs.append(RewardSpec(name, "callable", callable_ref(fn)))
    if format_reward if format_reward is not None else reward_function is None:
        specs.append(RewardSpec(FORMAT_REWARD, "format"))
    if reward_weights is None:
        weights = [DEFAULT_WEIGHTS.get(s.kind, 1.0) for s in specs]
    else:
        weights = [float(w) for w in reward_weights]
        if len(weights) != len(specs):
            raise ValueError(f"reward_weights has {len(weights)} weights for {len(specs)} "
                             f"rewards {[s.name for s in specs]}")
    return specs, weights, callables


def format_score(handler: Any) -> Callable[[Any, Any], float]:
    """1.0 when the handler can read an answer in the completion, else 0.0."""

    def format_reward(prediction: Any, ground_truth: Any) -> float:
        parsed = handler.parse_prediction(prediction)
        return 1.0 if parsed.get("parse_success") and parsed.get("prediction") is not None \
            else 0.0

    return format_reward


def build_rewards(specs: Sequence[RewardSpec], handler: Any,
                  callables: dict[str, Callable[..., Any]] | None = None,
                  label_column: str = "label") -> tuple[list[GuardedReward], RewardStats]:
    """The TRL reward functions of ``specs``.

    Args:
        specs: the run config's rewards.
        handler: the output handler (its reward and parser).
        callables: user functions by name, for an in-process run; otherwise each callable
            reward is imported from its ``ref``.

    Raises:
        RewardFunctionError: a callable reward has no importable reference and was not given.
    """
    stats = RewardStats()
    callables = callables or {}
    rewards = []
    for index, spec in enumerate(specs):
        if spec.kind == "handler":
            score: Callable[[Any, Any], Any] = handler.reward
        elif spec.kind == "format":
            score = format_score(handler)
        elif spec.name in callables:
            score = callables[spec.name]
        elif spec.ref:
            score = resolve_ref(spec.ref)
        else:
            raise RewardFunctionError(in_process_only_message(spec.name))
        rewards.append(GuardedReward(spec.name, score, handler, stats, label_column,
                                     count_tokens=index == 0, ref=spec.ref))
    return rewards, stats
