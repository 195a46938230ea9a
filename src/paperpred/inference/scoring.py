"""Token bookkeeping for label scoring, shared by the backends (pure functions, no model I/O).

A candidate is scored as the complete assistant reply: its tokens after the prompt plus the
chat template's end-of-turn token. The candidate's tokens are found by tokenizing
``prompt + candidate`` whole and checking that it starts with the prompt's own tokens; where a
token merges across the boundary, the backends fall back to scoring everything after the common
prefix of the two tokenizations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

PROBE_REPLY = "PAPERPRED_PROBE_REPLY"


def end_of_turn_ids(render: Callable[[list[dict[str, Any]], bool], str],
                    tokenize: Callable[[str], list[int]], special_ids: set[int],
                    eos_id: int | None) -> list[int]:
    """The token that closes an assistant turn in a chat template, read off a probe reply.

    Args:
        render: ``render(messages, add_generation_prompt)`` -> the chat template's text.
        tokenize: text -> token ids without added special tokens.
        special_ids: ids of the tokenizer's special/added tokens.
        eos_id: the fallback when the template shows no special token after the reply.

    Returns:
        ``[id]`` (``<|im_end|>`` for Qwen and SmolLM2, ``<|eot_id|>`` for Llama 3), or
        ``[eos_id]``, or ``[]``.
    """
    probe = [{"role": "user", "content": "Hi"}]
    prompt = render(probe, True)
    full = render(probe + [{"role": "assistant", "content": PROBE_REPLY}], False)
    if full.startswith(prompt) and PROBE_REPLY in full[len(prompt):]:
        ids = tokenize(full[len(prompt):].split(PROBE_REPLY, 1)[1])
        if ids and ids[0] in special_ids:
            return ids[:1]
    return [eos_id] if eos_id is not None else []


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


def continuation_tail(prompt_ids: Sequence[int], full_ids: Sequence[int],
                      end_ids: Sequence[int]) -> list[int] | None:
    """The tokens to score after the prompt (the candidate's, then ``end_ids``), or ``None``
    when tokenizing prompt and candidate together changed the prompt's own tokens."""
    size = len(prompt_ids)
    if list(full_ids[:size]) != list(prompt_ids):
        return None
    return list(full_ids[size:]) + list(end_ids)


def fallback_scored_count(prompt_ids: Sequence[int], full_ids: Sequence[int],
                          end_ids: Sequence[int]) -> int:
    """For a boundary merge: how many trailing tokens of ``full_ids + end_ids`` to score (all
    after the common prefix of the two tokenizations)."""
    return len(full_ids) - common_prefix_length(prompt_ids, full_ids) + len(end_ids)


def sum_prompt_logprobs(prompt_logprobs: Sequence[Any], token_ids: Sequence[int],
                        n_scored: int) -> float:
    """Total log-probability of the last ``n_scored`` prompt tokens.

    Args:
        prompt_logprobs: one entry per prompt position (vLLM's ``RequestOutput.prompt_logprobs``:
            ``None`` for the first, else a mapping from token id to a ``Logprob`` with a
            ``.logprob`` attribute, or to a float).
        token_ids: the prompt's token ids (``RequestOutput.prompt_token_ids``).
        n_scored: how many trailing tokens to add up.

    Raises:
        ValueError: the lengths disagree, or a scored position lacks its token's entry.
    """
    if len(prompt_logprobs) != len(token_ids):
        raise ValueError(f"{len(prompt_logprobs)} prompt log-probabilities for "
                         f"{len(token_ids)} prompt tokens")
    if not 0 <= n_scored < len(token_ids):
        raise ValueError(f"cannot score {n_scored} of {len(token_ids)} prompt tokens (the "
                         "first token has no log-probability)")
    total = 0.0
    for position in range(len(token_ids) - n_scored, len(token_ids)):
        entry = prompt_logprobs[position]
        token = token_ids[position]
        if not entry or token not in entry:
            raise ValueError(f"no log-probability for token {token} at position {position}")
        value = entry[token]
        total += float(getattr(value, "logprob", value))
    return total
