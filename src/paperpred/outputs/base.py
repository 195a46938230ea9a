"""The OutputHandler contract: what is predicted, how the answer is read and how it is scored."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from paperpred.config import OutputType
from paperpred.data.submission import Submission
from paperpred.outputs.parsing import is_missing
from paperpred.outputs.rewards import GuardedReward, RewardStats

ANSWER_PREFIX = "Answer: "


def strip_answer_prefix(text: str) -> str:
    """``"Answer: Accept"`` -> ``"Accept"`` (any case, surrounding space ignored)."""
    text = text.strip()
    if text.lower().startswith(ANSWER_PREFIX.strip().lower()):
        text = text[len(ANSWER_PREFIX.strip()) :].strip()
    return text


def _bound_kwargs(cls: type[Any], args: tuple, kwargs: dict) -> dict[str, Any]:
    """The constructor's arguments by name, defaults filled in, so ``to_config`` is complete."""
    init = cls.__init__
    if init is object.__init__:
        return dict(kwargs)
    try:
        bound = inspect.signature(init).bind(None, *args, **kwargs)
    except TypeError:  # let __init__ raise its own, clearer error
        return dict(kwargs)
    bound.apply_defaults()
    out: dict[str, Any] = {}
    params = list(inspect.signature(init).parameters.values())[1:]
    for param in params:
        value = bound.arguments.get(param.name)
        if param.kind is param.VAR_KEYWORD:
            out.update(value or {})
        elif param.kind is not param.VAR_POSITIONAL:
            out[param.name] = value
    return out


class OutputHandler(ABC):
    """What the model predicts, how its answer is read, and how predictions are scored.

    Subclasses set :attr:`output_type` and implement :meth:`get_instruction`,
    :meth:`format_label`, :meth:`parse_prediction` and :meth:`compute_metrics` (the spec's
    extension example). Label scoring (:meth:`candidates`, :meth:`score_candidates`) and GRPO
    rewards (:meth:`reward`, :meth:`as_trl_reward`) have defaults built on those.

    Every instance records the keyword arguments it was built with in :attr:`init_kwargs`;
    :meth:`to_config` gives ``{"name": ..., "kwargs": ...}`` that
    :func:`paperpred.outputs.get_output_handler` turns back into an equal handler.
    """

    output_type: ClassVar[OutputType | None] = None
    registry_name: ClassVar[str | None] = None  # set on the class by register_output_handler
    # GRPO reward for an answer that cannot be read: below the default reward of a wrong answer
    # (0.0), so the policy learns the answer format before anything else. (The binary handler
    # charges -1.0 for a wrong answer, so that one fixed answer earns no more than chance.)
    parse_failure_reward: ClassVar[float] = -0.5

    init_kwargs: dict[str, Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> OutputHandler:
        # Recording here (not in __init__) means subclasses need no super().__init__ call.
        obj = super().__new__(cls)
        obj.init_kwargs = _bound_kwargs(cls, args, kwargs)
        return obj

    # ----- the contract -------------------------------------------------------------------
    @abstractmethod
    def get_instruction(self) -> str:
        """The task instruction: what to predict and the exact answer format."""

    @abstractmethod
    def format_label(self, submission: Any) -> str | None:
        """The training target for ``submission`` (``"Answer: <value>"``), None if unlabelled."""

    @abstractmethod
    def parse_prediction(self, text: Any) -> dict[str, Any]:
        """Read a model output: ``{"prediction", "reasoning", "parse_success", "raw"}``.

        Must never raise.
        """

    @abstractmethod
    def compute_metrics(self, predictions: Sequence[Any], ground_truths: Sequence[Any]
                        ) -> dict[str, Any]:
        """Evaluation metrics of ``predictions`` against ``ground_truths``."""

    # ----- identity -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The registry name this handler is rebuilt from (the class name if unregistered)."""
        return type(self).__dict__.get("registry_name") or type(self).__name__.lower()

    def to_config(self) -> dict[str, Any]:
        """``{"name": registry name, "kwargs": constructor arguments}`` for a run folder."""
        return {"name": self.name, "kwargs": dict(self.init_kwargs)}

    def describe(self) -> dict[str, Any]:
        """:meth:`to_config` plus the output type and class, for reports and ``paperpred list``."""
        out_type = self.output_type.value if self.output_type is not None else None
        return {**self.to_config(), "output_type": out_type, "class": type(self).__name__}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.init_kwargs.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        # Same class, same arguments: the handlers behave identically.
        if type(other) is not type(self):
            return NotImplemented
        return self.init_kwargs == other.init_kwargs  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(map(repr, self.init_kwargs.items())))))

    # ----- ground truth -------------------------------------------------------------------
    def label_value(self, submission: Any) -> Any:
        """The raw ground truth for metrics (a label string or a float), None if unlabelled.

        The default strips ``"Answer: "`` from :meth:`format_label`.
        """
        label = self.format_label(submission)
        return None if label is None else strip_answer_prefix(str(label))

    def read_truth(self, ground_truth: Any) -> Any:
        """Turn a ground truth in any accepted form into a label value, None if missing.

        Accepts a :class:`~paperpred.data.Submission`, a label value, or the training target
        text (``"Answer: Accept"``).
        """
        if isinstance(ground_truth, Submission):
            return self.label_value(ground_truth)
        if is_missing(ground_truth):
            return None
        if isinstance(ground_truth, str):
            return strip_answer_prefix(ground_truth)
        return ground_truth

    # ----- label scoring ------------------------------------------------------------------
    def candidates(self) -> list[str]:
        """The answers label scoring compares (in a fixed order)."""
        raise NotImplementedError(f"{type(self).__name__} does not support label scoring")

    def candidate_texts(self) -> list[str]:
        """The exact continuations to score after the prompt, aligned with :meth:`candidates`.

        Backends score each with the total log-probability of its tokens.
        """
        return [ANSWER_PREFIX + c for c in self.candidates()]

    def candidate_logprobs(self, logprobs: Mapping[str, float] | Sequence[float]) -> np.ndarray:
        """Log-probabilities aligned with :meth:`candidates`.

        Args:
            logprobs: a mapping keyed by candidate (``"Accept"``) or candidate text
                (``"Answer: Accept"``), or a sequence in :meth:`candidates` order.

        Raises:
            ValueError: a candidate is missing, the lengths differ, or a value is NaN.
        """
        cands = self.candidates()
        if isinstance(logprobs, Mapping):
            texts = self.candidate_texts()
            values = []
            missing = []
            for cand, text in zip(cands, texts, strict=True):
                if cand in logprobs:
                    values.append(logprobs[cand])
                elif text in logprobs:
                    values.append(logprobs[text])
                else:
                    missing.append(cand)
            if missing:
                raise ValueError(f"log-probabilities missing for candidates {missing}; "
                                 f"expected keys {cands} or {texts}")
        else:
            values = list(logprobs)
            if len(values) != len(cands):
                raise ValueError(f"got {len(values)} log-probabilities for {len(cands)} "
                                 f"candidates {cands}")
        arr = np.asarray(values, dtype=float)
        if np.isnan(arr).any() or np.isposinf(arr).any():
            raise ValueError(f"log-probabilities must be finite or -inf, got {values}")
        if np.isneginf(arr).all():
            raise ValueError("every candidate has log-probability -inf")
        return arr

    def score_candidates(self, logprobs: Mapping[str, float] | Sequence[float]
                         ) -> dict[str, Any]:
        """Turn candidate log-probabilities into a prediction.

        Args:
            logprobs: total log-probability of each candidate (see :meth:`candidate_logprobs`).

        Returns:
            ``{"prediction", "probabilities" (softmax over candidates, keyed by candidate),
            "score", "parse_success": True, "raw": None, "reasoning": ""}``. The default
            predicts the most probable candidate (the first on a tie) and has no score;
            handlers refine ``prediction`` and ``score``.
        """
        lp = self.candidate_logprobs(logprobs)
        probs = softmax(lp)
        cands = self.candidates()
        return {
            "prediction": cands[int(np.argmax(probs))],
            "probabilities": {c: float(p) for c, p in zip(cands, probs, strict=True)},
            "score": None,
            "reasoning": "",
            "parse_success": True,
            "raw": None,
        }

    # ----- rewards ------------------------------------------------------------------------
    def reward(self, prediction_text: Any, ground_truth: Any) -> float:
        """GRPO reward of one completion.

        Args:
            prediction_text: the completion (text or a conversational message list).
            ground_truth: ``"Answer: X"``, ``"X"``, a label value or a Submission.

        Returns:
            :attr:`parse_failure_reward` when the completion cannot be read, else
            :meth:`reward_value` (the default: 1.0 when the prediction equals the truth).

        Raises:
            ValueError: the ground truth is missing or unreadable (a dataset bug).
        """
        truth = self.read_truth(ground_truth)
        if truth is None:
            raise ValueError(f"no ground truth to reward against: {ground_truth!r}")
        parsed = self.parse_prediction(prediction_text)
        if not parsed.get("parse_success") or parsed.get("prediction") is None:
            return float(self.parse_failure_reward)
        return float(self.reward_value(parsed["prediction"], truth))

    def reward_value(self, prediction: Any, truth: Any) -> float:
        """Reward of a parsed prediction against a read ground truth (default: exact match)."""
        return 1.0 if prediction == truth else 0.0

    def as_trl_reward(self, label_column: str = "label",
                      reward_fn: Callable[[Any, Any], float] | None = None) -> GuardedReward:
        """This handler's :meth:`reward` (or a user's ``reward_fn(prediction, ground_truth)``)
        in the shape TRL's ``GRPOTrainer`` calls: ``f(completions, **dataset_columns)`` -> one
        float per completion, None where the ground truth is missing; named
        ``<handler>_reward`` (or after ``reward_fn``). See
        :class:`paperpred.outputs.rewards.GuardedReward`.
        """
        if reward_fn is None:
            return GuardedReward(f"{self.name}_reward", self.reward, self, RewardStats(),
                                 label_column)
        name = getattr(reward_fn, "__name__", "<lambda>")
        name = f"{self.name}_custom_reward" if name == "<lambda>" else name
        return GuardedReward(name, reward_fn, self, RewardStats(), label_column)


def softmax(logprobs: np.ndarray) -> np.ndarray:
    """Numerically stable softmax; -inf entries get probability 0."""
    shifted = logprobs - np.max(logprobs)
    exp = np.exp(shifted)
    return exp / exp.sum()
