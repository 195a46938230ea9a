"""Find the answer in a model's free text: the rules every output handler shares.

A handler supplies the vocabulary (which marker words and JSON keys count, and how a value
string becomes a prediction); this module decides *where* the answer is. The rules, strongest
first (within one rule, the answer nearest the end of the text wins, so a model that corrects
itself is read by its last word):

1. Explicit answers: a JSON object with an answer key (``{"answer": "Accept"}``), or a marker
   line such as ``Answer: X``, ``Final answer: X``, ``**Decision:** X``, ``My prediction is X``.
   Handlers name *primary* markers (``answer``, ``prediction``, ...) and *secondary* ones
   (``rating``, ``recommendation``, ...): a secondary marker is only used when no primary one
   can be read, so ``Reviewer 2 rating: 8`` in the reasoning never beats ``Answer: 6.5``.
2. Emphasis: markdown bold (``**Reject**``, ``__0.7__``) whose content reads as an answer.
3. A bare answer: the whole text, or its last line, is just a label or number
   (``"accept."``), or the first line starts with one followed by punctuation
   (``"Reject. The method is not novel."``).

Anything else (prose that merely mentions labels, "I would not accept this", garbage, empty
text) is a parse failure: we never guess an answer the model did not state.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# Interpret a value string -> (prediction, flags) or None when it is not an answer.
# ``strict`` asks for a value that is only the answer (used for emphasis and bare text).
Interpreter = Callable[[str, bool], "tuple[Any, dict[str, Any]] | None"]

REASONING_KEYS = ("reasoning", "rationale", "explanation", "analysis", "thoughts", "thinking")

_THINK = re.compile(r"<think>(.*?)</think>", re.IGNORECASE | re.DOTALL)
# Chat-template end tokens that leak into decoded text (<|im_end|>, </s>, <|eot_id|>).
_SPECIAL_TOKENS = re.compile(r"<\|[^|<>]{1,40}\|>|</s>|<s>|<eos>|<end_of_turn>")
_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*|__([^_\n]{1,80})__")
_LEADING_LABEL = re.compile(r"^\s*(?:reasoning|rationale|explanation|analysis)\s*[:\-]\s*", re.I)


def is_missing(value: Any) -> bool:
    """True for None, NaN and empty strings: "this example has no label"."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


@dataclass
class Answer:
    """Where an answer was found and what it reads as."""

    prediction: Any
    flags: dict[str, Any]
    start: int  # start of the answer's line (or JSON object) in the searched text
    end: int  # end of that line or object
    method: str  # "json", "marker", "emphasis" or "bare"
    reasoning: str | None = None  # a JSON object's own reasoning field, when it has one
    extra: dict[str, Any] = field(default_factory=dict)


def completion_text(obj: Any) -> str | None:
    """The text of a completion, whatever shape it came in.

    Args:
        obj: a string; a chat message ``{"role": ..., "content": ...}``; a conversational
            completion (a list of messages, TRL's format, the last assistant message is used);
            content given as a list of parts (``[{"type": "text", "text": ...}]``); bytes.

    Returns:
        The text, or None for None. Other objects are converted with ``str``.
    """
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    if isinstance(obj, dict):
        if "content" in obj:
            return completion_text(obj["content"])
        if "text" in obj:
            return completion_text(obj["text"])
        return json.dumps(obj, default=str)  # a bare JSON answer object
    if isinstance(obj, (list, tuple)):
        if not obj:
            return ""
        if all(isinstance(m, dict) and "role" in m for m in obj):
            replies = [m for m in obj if m.get("role") == "assistant"] or list(obj)
            return completion_text(replies[-1])
        parts = [completion_text(p) for p in obj]
        return "".join(p for p in parts if p)
    return str(obj)


def clean_value(value: str) -> str:
    """Strip the markup that wraps an answer value: markdown, quotes, brackets, LaTeX box."""
    value = value.strip()
    value = re.sub(r"\\boxed\{([^{}]*)\}", r"\1", value)
    value = re.sub(r"\\text(?:bf)?\{([^{}]*)\}", r"\1", value)
    value = value.replace("**", "").replace("__", "").replace("`", "")
    value = value.strip(" \t\"'*_#>{}[]<>|,;$")  # noqa: B005 (a set of characters, on purpose)
    return value.strip()


def split_think(text: str) -> tuple[str, str]:
    """Separate closed ``<think>...</think>`` blocks (reasoning models) from the answer text."""
    thoughts = [m.strip() for m in _THINK.findall(text)]
    return _THINK.sub("\n", text), "\n".join(t for t in thoughts if t)


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, (len(text) if end < 0 else end)


@lru_cache(maxsize=64)
def _marker_regex(keys: tuple[str, ...]) -> re.Pattern[str]:
    words = "|".join(sorted((re.escape(k).replace(r"\ ", r"\s+") for k in keys), key=len,
                            reverse=True))
    # The marker word must start a line, a clause, a bold span or a JSON-ish key; then comes
    # ":" / "=" / " is" / a dash. "Decision-making" or "the answer to this" do not match.
    return re.compile(
        r"(?:^|(?<=[\s*_#>(\[{,\"'.;]))"
        r"(?:(?:my|the|our|final|predicted|overall)\s+)*"
        rf"(?P<key>{words})"
        r"[\"']?\s*(?:\*\*|__)?\s*(?::|=|\bis\b:?|[-–—](?!\w))\s*"
        r"(?P<value>[^\n]*)",
        re.IGNORECASE | re.MULTILINE,
    )


def _next_line(text: str, pos: int) -> tuple[str, int]:
    """The next non-empty line after ``pos`` (for "Answer:" followed by a line break)."""
    for m in re.finditer(r"[^\n]+", text[pos:]):
        if m.group(0).strip():
            return m.group(0), pos + m.end()
    return "", pos


def _json_answers(
    text: str, keys: Sequence[str], interpret: Interpreter, method: str = "json"
) -> list[Answer]:
    found: list[Answer] = []
    decoder = json.JSONDecoder()
    pos = text.find("{")
    while pos >= 0:
        try:
            obj, end = decoder.raw_decode(text, pos)
        except ValueError:
            pos = text.find("{", pos + 1)
            continue
        if isinstance(obj, dict):
            # "final_answer", "mean-rating" and "Final Answer" are the same key
            lowered = {re.sub(r"[\s_-]+", " ", str(k).strip().lower()): v for k, v in obj.items()}
            for key in keys:
                if key in lowered and lowered[key] is not None and not isinstance(
                    lowered[key], (dict, list)
                ):
                    read = interpret(str(lowered[key]), False)
                    if read is not None:
                        why = next((lowered[k] for k in REASONING_KEYS if k in lowered), None)
                        found.append(Answer(read[0], read[1], pos, end, method,
                                            str(why) if why is not None else None))
                        break
        pos = text.find("{", end)
    return found


def _marker_answers(text: str, keys: Sequence[str], interpret: Interpreter) -> list[Answer]:
    if not keys:
        return []
    found = []
    for m in _marker_regex(tuple(keys)).finditer(text):
        value, end = m.group("value"), m.end()
        if not clean_value(value):
            value, end = _next_line(text, m.end())
        read = interpret(value, False)
        if read is not None:
            start, _ = _line_bounds(text, m.start("key"))
            found.append(Answer(read[0], read[1], start, end, "marker",
                                extra={"key_pos": m.start("key")}))
    return found


def _emphasis_answers(text: str, interpret: Interpreter) -> list[Answer]:
    found = []
    for m in _BOLD.finditer(text):
        read = interpret(m.group(1) or m.group(2) or "", True)
        if read is not None:
            start, end = _line_bounds(text, m.start())
            found.append(Answer(read[0], read[1], start, end, "emphasis"))
    return found


def _bare_answer(text: str, interpret: Interpreter, leading: re.Pattern[str] | None
                 ) -> Answer | None:
    whole = interpret(text, True)
    if whole is not None:
        return Answer(whole[0], whole[1], 0, len(text), "bare")
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]*\S[^\n]*", text)]
    if not lines:
        return None
    start, end = lines[-1]
    last = interpret(text[start:end], True)
    if last is not None:
        return Answer(last[0], last[1], start, end, "bare")
    if leading is not None:
        first_start, first_end = lines[0]
        first = clean_value(text[first_start:first_end])
        m = leading.match(first)
        if m:
            read = interpret(m.group(1), True)
            if read is not None:
                # The answer leads and the explanation follows: keep that as reasoning.
                answer = Answer(read[0], read[1], first_start, first_end, "bare")
                rest = first[m.end(1) :] + "\n" + text[first_end:]
                answer.reasoning = rest.strip(" .,;:!)-–—\n")
                return answer
    return None


def find_answer(
    text: str,
    interpret: Interpreter,
    *,
    primary: Sequence[str],
    secondary: Sequence[str] = (),
    leading: re.Pattern[str] | None = None,
) -> Answer | None:
    """Locate the answer in ``text`` by the rules of this module.

    Args:
        text: the model's output, already a string.
        interpret: turns a value string into ``(prediction, flags)`` or None.
        primary: marker words and JSON keys that state the answer (lower case).
        secondary: weaker ones, used only when no primary marker reads.
        leading: a pattern with one group matching an answer at the start of the first line
            (followed by punctuation or the end), or None to disable that rule.

    Returns:
        The :class:`Answer`, or None when the text states no readable answer.
    """
    for keys in (primary, secondary):
        objects = _json_answers(text, keys, interpret)
        # A marker inside a parsed JSON object is that object's own key: keep the object,
        # which also carries its reasoning field.
        markers = [a for a in _marker_answers(text, keys, interpret)
                   if not any(o.start <= a.extra["key_pos"] < o.end for o in objects)]
        found = objects + markers
        if found:
            return max(found, key=lambda a: (a.start, a.end))
    emphasis = _emphasis_answers(text, interpret)
    if emphasis:
        return emphasis[-1]
    return _bare_answer(text, interpret, leading)


def parse_text(
    text: Any,
    interpret: Interpreter,
    *,
    primary: Sequence[str],
    secondary: Sequence[str] = (),
    leading: re.Pattern[str] | None = None,
) -> dict[str, Any]:
    """The full ``parse_prediction`` result for any input; never raises.

    Returns:
        ``{"prediction", "reasoning", "parse_success", "raw", "parse_method"}`` plus the
        interpreter's flags (for example ``"clipped": True``). ``reasoning`` is the text
        before the answer line (or after it when nothing precedes it, or a JSON object's
        reasoning field), ``""`` when there is none. On failure ``prediction`` is None and
        ``reasoning`` holds the whole text.
    """
    try:
        raw = completion_text(text)
    except Exception:  # a hostile __str__ must not take down a run
        raw = None
    result: dict[str, Any] = {"prediction": None, "reasoning": "", "parse_success": False,
                              "raw": raw, "parse_method": None}
    if raw is None or not raw.strip():
        return result
    try:
        body, thoughts = split_think(_SPECIAL_TOKENS.sub("", raw))
        answer = find_answer(body, interpret, primary=primary, secondary=secondary,
                             leading=leading)
    except Exception:  # defensive: a parser bug must cost one example, not the run
        answer, body, thoughts = None, raw, ""
    if answer is None:
        result["reasoning"] = raw.strip()
        return result
    if answer.reasoning is not None:
        reasoning = answer.reasoning
    else:
        before, after = body[: answer.start].strip(), body[answer.end :].strip()
        reasoning = before or after
    reasoning = _LEADING_LABEL.sub("", "\n".join(p for p in (thoughts, reasoning) if p))
    result.update(answer.flags)
    result.update(prediction=answer.prediction, reasoning=reasoning.strip(),
                  parse_success=True, parse_method=answer.method)
    return result
