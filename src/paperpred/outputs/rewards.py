"""Output handlers as GRPO reward functions in the shape TRL's ``GRPOTrainer`` calls.

TRL calls every reward function as ``f(prompts=..., completions=..., completion_ids=...,
**dataset_columns)`` and expects one float per completion, or None where the function does
not apply (TRL ignores those). Completions are strings for standard datasets and message
lists (``[{"role": "assistant", "content": "..."}]``) for conversational ones.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from paperpred.outputs.base import is_missing


def trl_reward(
    handler: Any,
    label_column: str = "label",
    reward_fn: Callable[[Any, Any], float] | None = None,
) -> Callable[..., list[float | None]]:
    """Wrap a handler's reward (or a user's ``reward(prediction, ground_truth)``) for TRL.

    Args:
        handler: an OutputHandler; its :meth:`~paperpred.outputs.OutputHandler.reward` is used
            unless ``reward_fn`` is given.
        label_column: the dataset column with the ground truth (``"Answer: Accept"``).
        reward_fn: optional ``(prediction_text, ground_truth) -> float`` replacing the
            handler's reward (the spec's ``reward_function``); it receives the completion
            text and the ground truth string unchanged.

    Returns:
        ``f(completions, **kwargs) -> list[float | None]`` with a ``__name__`` (TRL logs
        rewards under it): None for a completion whose ground truth is missing.

    Raises:
        KeyError (when called): the label column is not among the keyword arguments.
    """
    from paperpred.outputs.parsing import completion_text

    score = reward_fn if reward_fn is not None else handler.reward
    name = getattr(handler, "name", None) or type(handler).__name__.lower()

    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        if label_column not in kwargs:
            columns = sorted(k for k in kwargs if k not in ("prompts", "completion_ids"))
            raise KeyError(f"reward needs the dataset column '{label_column}'; "
                           f"got columns {columns}")
        truths = kwargs[label_column]
        if len(truths) != len(completions):
            raise ValueError(f"{len(completions)} completions for {len(truths)} labels")
        out: list[float | None] = []
        for completion, truth in zip(completions, truths):
            if is_missing(truth):
                out.append(None)
                continue
            out.append(float(score(completion_text(completion), truth)))
        return out

    reward.__name__ = f"{name}_reward" if reward_fn is None else getattr(
        reward_fn, "__name__", f"{name}_custom_reward")
    reward.__qualname__ = reward.__name__
    reward.__doc__ = f"GRPO reward of the '{name}' output handler (column '{label_column}')."
    return reward
