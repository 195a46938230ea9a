"""Checks of the requests of :mod:`paperpred.inference.server`: types and ranges of every
field it reads, before a request queues for the model (the limits are listed there)."""

from __future__ import annotations

import math
from typing import Any

from paperpred.errors import BadRequest

#: OpenAI's cap on ``top_logprobs`` (and this server's on every top-k of log-probabilities).
MAX_TOP_LOGPROBS = 20
_INT64 = (-(2**63), 2**63 - 1)


class InvalidField(BadRequest):
    """A request field of the wrong type or out of range (HTTP 400 naming the field)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


# -- request checks: types and ranges, before a request queues for the model --------------------
def _describe(value: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{kinds.get(type(value), type(value).__name__)} ({shown})"


def _int(body: dict[str, Any], name: str, low: int, high: int | None = None) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(name, f"'{name}' must be an integer, got {_describe(value)}")
    if value < low or (high is not None and value > high):
        span = f"at least {low}" if high is None else f"between {low} and {high}"
        raise InvalidField(name, f"'{name}' must be {span}, got {value}")


def _number(body: dict[str, Any], name: str, low: float, high: float,
            low_open: bool = False) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidField(name, f"'{name}' must be a finite number, got {_describe(value)}")
    if not (low < value if low_open else low <= value) or value > high:
        span = f"above {low} and at most {high}" if low_open else f"between {low} and {high}"
        raise InvalidField(name, f"'{name}' must be {span}, got {value}")


def _bool(body: dict[str, Any], name: str) -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidField(name, f"'{name}' must be true or false, got {_describe(value)}")


def _check_common(body: Any) -> None:
    if not isinstance(body, dict):
        raise InvalidField("body", f"the body must be a JSON object, got {_describe(body)}")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidField("model", f"'model' must be a string, got {_describe(model)}")
    _bool(body, "stream")
    if body.get("stream"):
        raise InvalidField("stream", "stream: true is not supported by this server")
    _int(body, "n", 1)
    if body.get("n", 1) not in (None, 1):
        raise InvalidField("n", "n > 1 is not supported by this server")
    if body.get("tools"):
        raise InvalidField("tools", "tools are not supported by this server")
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1, low_open=True)
    _int(body, "seed", *_INT64)
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop
    if stop is not None and (not isinstance(stops, list) or len(stops) > 4
                             or not all(isinstance(s, str) and s for s in stops)):
        raise InvalidField("stop", "'stop' must be a non-empty string or a list of up to 4 of "
                           f"them, got {_describe(stop)}")


def check_chat(body: Any) -> list[dict[str, str]]:
    """The chat request's messages as ``{"role", "content"}`` text; raises BadRequest
    (:class:`InvalidField`) for a field of the wrong type or range or an unsupported feature."""
    _check_common(body)
    _int(body, "max_tokens", 1)
    for name in ("top_logprobs", "prompt_logprobs"):
        _int(body, name, 0, MAX_TOP_LOGPROBS)
    for name in ("logprobs", "add_generation_prompt", "continue_final_message"):
        _bool(body, name)
    messages = body.get("messages")
    if messages is None:
        raise InvalidField("messages", "'messages' is missing")
    if not isinstance(messages, list):
        raise InvalidField("messages", f"'messages' must be a list, got {_describe(messages)}")
    if not messages:
        raise InvalidField("messages", "'messages' is empty")
    result = []
    for n, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidField(f"messages[{n}]", f"messages[{n}] must be an object with a string "
                               f"'role', got {_describe(message)}")
        result.append({"role": message["role"], "content": _text(message.get("content"), n)})
    return result


def check_completion(body: Any) -> str:
    """The completion request's prompt; raises BadRequest as :func:`check_chat`."""
    _check_common(body)
    _int(body, "max_tokens", 0)
    _int(body, "logprobs", 0, MAX_TOP_LOGPROBS)
    for name in ("echo", "add_special_tokens"):
        _bool(body, name)
    if body.get("max_tokens") == 0 and not body.get("echo"):
        raise InvalidField("max_tokens", "max_tokens 0 needs echo: true")
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise InvalidField("prompt", f"'prompt' must be one string, got {_describe(prompt)}")
    return prompt


def _text(content: Any, n: int = 0) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise InvalidField(f"messages[{n}].content", f"messages[{n}].content must be a string or "
                           f"a list of text parts, got {_describe(content)}")
    parts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if isinstance(part, dict) and kind not in (None, "text"):
            raise InvalidField(f"messages[{n}].content", f"content part of type {kind!r} is not "
                               "supported: this server serves text-only models")
        if not isinstance(part, dict) or not isinstance(part.get("text"), str):
            raise InvalidField(f"messages[{n}].content", f"messages[{n}].content parts must be "
                               f'{{"type": "text", "text": "..."}}, got {_describe(part)}')
        parts.append(part["text"])
    return "".join(parts)


def body_problem(errors: list[Any], content_type: str) -> str:
    """What is wrong with a body FastAPI could not read as the JSON object a route takes."""
    if content_type and "json" not in content_type.lower():
        return ("the body must be a JSON object sent with Content-Type: application/json, "
                f"got Content-Type: {content_type}")
    first = errors[0] if errors else {}
    kind, loc = first.get("type"), first.get("loc") or ()
    if kind == "json_invalid":
        return (f"the body is not valid JSON: {first.get('ctx', {}).get('error', 'invalid')} "
                f"at character {loc[-1] if loc else '?'}")
    if kind == "dict_type":
        return f"the body must be a JSON object, got {_describe(first.get('input'))}"
    if kind == "missing":
        return "the body is empty: send a JSON object"
    return "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in errors)
