"""Inference over OpenAI-compatible HTTP servers (vLLM, SGLang, llama.cpp, transformers serve).

Requests go to ``{base_url}/v1/chat/completions`` (a base URL may end in ``/v1`` or not), at most
``concurrency`` at a time, results in input order. Several base URLs are used in turn (round-robin).
A failed attempt fails over to the next endpoint at once; a round in which every endpoint failed is
retried after an exponential backoff (``backoff * 2**k`` seconds, or the longest ``Retry-After`` of
the round when longer; at most a minute), ``retries`` times. Failed means: refused, timed out, the
connection dropped (before or during the answer), HTTP 429 or 5xx, or a 200 whose body cannot be
read (JSON cut short, an event stream without its final event). Any other 4xx fails at once. The
final error is one line naming the URL and the last failure (the HTTP status with an excerpt of the
body). Both JSON and event-stream answers are read (``transformers serve`` always streams); a stream
counts as complete once a chunk carries a ``finish_reason`` or ``data: [DONE]`` arrives.

Faults proven against a misbehaving proxy (``paperpred.testing.fault_proxy``,
``tests/inference/test_openai_faults.py``): 429 with ``Retry-After``, 500, 503, answers slower
than ``timeout``, truncated bodies, dropped connections and an endpoint killed mid-run. Fixed
there: a 200 with truncated JSON raised at once (the run crashed) instead of being retried; a
stream cut between two events was taken as a complete, shorter answer; a dropped connection,
a timeout, a 429 or a 5xx waited out the backoff before trying the next endpoint, instead of
failing over at once as a refused connection did. An endpoint that refused or stayed silent
past the timeout is tried after the others for ``DOWN_FOR_S`` (30 s): a dead node costs one
timeout, not one per request.

Label scoring (``scoring=``); a chat endpoint only reports log-probabilities of tokens the model
generates, so there are two ways to get them:

``"prefix"`` (exact; vLLM and ``paperpred.inference.server``): for every (request, continuation)
pair one chat completion whose messages end with the continuation as a complete assistant turn,
sent with ``add_generation_prompt: false, prompt_logprobs: 0, max_tokens: 1``. The server
renders prompt + continuation + the template's end of turn and returns the log-probability of
every prompt token; the score is the sum over the tokens that spell the continuation and the
one token after them (the end of turn, e.g. ``<|im_end|>``), as the offline backends score it
(``score_end_of_turn=False``: the turn is left open with ``continue_final_message: true`` and
only the continuation counts). Chat templates drop trailing whitespace of the final message, so
the continuation is matched without it. Servers with prefix caching (vLLM's default) encode the
shared prompt once.

``"top_logprobs"`` (approximate; any server that returns chat ``logprobs``): one greedy completion
per request with ``logprobs: true, top_logprobs: k`` and ``max_tokens`` = characters of the
longest continuation + 1. Each continuation is walked along the generated tokens while they
spell its beginning; at the first step where it leaves that path, the most probable of the
step's top-k tokens that spell its next characters is added and the rest of the continuation counts
as log 1; a continuation whose next token is not among the top k gets the k-th log-probability
(an upper bound). So the score is exact for a continuation on the greedy path, and is the
first-token log-probability for labels that part at their first token (Accept vs Reject).

``"auto"`` (default) sends the first pair the ``"prefix"`` way and keeps it when the server
answers with ``prompt_logprobs``; when it rejects those fields (HTTP 400/404/422) or ignores them,
it uses ``"top_logprobs"``. A server that returns no log-probabilities at all (``transformers
serve`` 4.57 accepts ``logprobs`` and ignores it) raises :class:`NoLogprobsError`.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from paperpred.errors import NoLogprobsError, OpenAIBackendError
from paperpred.inference.base import ChatRequest, GenerationParams, InferenceBackend
from paperpred.inference.chat import to_openai_messages

logger = logging.getLogger(__name__)
SCORING_METHODS = ("auto", "prefix", "top_logprobs")
def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


def walk_top_logprobs(steps: Sequence[dict[str, Any]], continuation: str) -> float:
    """Log-probability of ``continuation`` read from generated tokens' ``top_logprobs``.

    ``steps`` is ``choices[0].logprobs.content`` of a chat completion. See the module docstring
    for the method and where it is exact.
    """
    rest, total = continuation, 0.0
    for step in steps:
        if not rest:
            break
        token = step.get("token") or ""
        if token and rest.startswith(token):
            total, rest = total + float(step["logprob"]), rest[len(token):]
            continue
        top = step.get("top_logprobs") or []
        spelled = [t for t in top if t.get("token") and rest.startswith(t["token"])]
        if spelled:
            return total + max(float(t["logprob"]) for t in spelled)
        return total + min((float(t["logprob"]) for t in top), default=float(step["logprob"]))
    return total


def _prompt_token(rows: list[Any], ids: list[int] | None, pos: int,
                  where: str) -> tuple[str, float]:
    """(decoded text, log-probability) of prompt token ``pos`` of vLLM-style
    ``prompt_logprobs``; a row with several entries (top k) is resolved with ``ids``."""
    entry = rows[pos] or {}
    key = str(ids[pos]) if ids and str(ids[pos]) in entry else None
    if key is None and len(entry) != 1:
        raise OpenAIBackendError(f"{where}: cannot tell prompt token {pos}'s log-probability "
                                 f"in {_excerpt(json.dumps(entry))}")
    info = entry[key] if key else next(iter(entry.values()))
    return str(info.get("decoded_token") or ""), float(info["logprob"])


def sum_prompt_tail(rows: list[Any], ids: list[int] | None, target: str, where: str,
                    end_of_turn: bool = False) -> float:
    """Sum of vLLM-style ``prompt_logprobs`` over the tokens that spell ``target`` at the end of
    the prompt, or (``end_of_turn``) just before the template's end of turn, with the first
    token after them (the end-of-turn token) counted too.

    Each row maps token ids to ``{"logprob", "decoded_token", ...}``; a row with several entries
    (top k) is resolved with ``ids`` (``prompt_token_ids``).
    """
    tokens: list[tuple[str, float]] = []  # from the end backwards
    text = ""
    for pos in range(len(rows) - 1, 0, -1):
        piece, logprob = _prompt_token(rows, ids, pos, where)
        tokens.append((piece, logprob))
        text = piece + text
        start = text.rfind(target)
        if start < 0:
            continue
        if not end_of_turn:
            if len(text) >= len(target) and text.endswith(target):
                return sum(lp for _, lp in tokens)
            break
        # tokens in order: those covering target, then the end of turn (and what follows it)
        ordered, offset, total = list(reversed(tokens)), 0, 0.0
        end = start + len(target)
        for piece, logprob in ordered:
            if offset >= end:  # the first token after the continuation: the end of turn
                return total + logprob
            total += logprob
            offset += len(piece)
        continue  # the continuation ends the prompt: no end-of-turn token was rendered
    raise OpenAIBackendError(f"{where}: the rendered prompt does not end with the "
                             f"continuation {target!r}" + (" and an end of turn" if end_of_turn
                                                          else "") + f" (its last tokens: "
                             f"{text[-80:]!r})")


#: The longest wait between two rounds (exponential backoff and Retry-After alike).
MAX_BACKOFF_S = 60.0
#: An endpoint that could not be reached (refused, or silent past the timeout) is tried after
#: the others for this long: a dead node costs one timeout, not one per request.
DOWN_FOR_S = 30.0


class BadAnswerError(OpenAIBackendError):
    """A 200 whose body cannot be read (JSON cut short, an event stream without its end):
    retried and failed over like a 5xx."""


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("retry-after", 0)), 60.0)
    except ValueError:
        return 0.0


class OpenAIBackend(InferenceBackend):
    """Generation and label scoring against one or more OpenAI-compatible endpoints.

    Args:
        base_urls: one URL or a list, e.g. ``"http://127.0.0.1:8000"`` or ``".../v1"``.
        model: the model name the server knows (for ``transformers serve``, a path or hub id).
        api_key: sent as ``Authorization: Bearer``.
        concurrency: requests in flight at most.
        retries: further rounds after the first when every endpoint of a round failed (refused,
            timed out, dropped the connection, answered 429 or 5xx, or a body cut short).
        timeout: seconds allowed to connect, and between bytes of an answer.
        backoff: seconds before the first retry, doubling each time.
        scoring: ``"auto"``, ``"prefix"`` or ``"top_logprobs"`` (module docstring).
        top_logprobs: k for the ``"top_logprobs"`` method (1 to 20).
        extra_body: extra fields merged into every request (``top_k``, ``chat_template_kwargs``).
        score_end_of_turn: ``"prefix"`` scoring counts the end-of-turn token after each
            continuation (default, as the offline backends), so scores compare across backends.

    Example:
        >>> backend = OpenAIBackend(["http://n1:8000", "http://n2:8000/v1"], "Qwen/Qwen2.5-7B")
        >>> backend.score([ChatRequest([{"role": "user", "content": "..."}])], ["Accept", "Reject"])
    """

    name = "openai"
    supports_images = True

    def __init__(self, base_urls: str | list[str], model: str, api_key: str | None = None,
                 concurrency: int = 8, retries: int = 3, timeout: float = 60.0,
                 backoff: float = 0.5, scoring: str = "auto", top_logprobs: int = 20,
                 extra_body: dict[str, Any] | None = None,
                 score_end_of_turn: bool = True) -> None:
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if scoring not in SCORING_METHODS:
            raise OpenAIBackendError(f"scoring={scoring!r} is unknown: use {SCORING_METHODS}")
        if not urls or not 1 <= top_logprobs <= 20 or concurrency < 1 or retries < 0:
            raise OpenAIBackendError("OpenAIBackend needs a base URL, 1 <= top_logprobs <= 20, "
                                     "concurrency >= 1 and retries >= 0")
        self.endpoints = [u.strip().rstrip("/").removesuffix("/v1") for u in urls]
        self.model, self.concurrency, self.retries = model, concurrency, retries
        self.timeout, self.backoff, self.scoring = timeout, backoff, scoring
        self.top_logprobs, self.extra_body = top_logprobs, dict(extra_body or {})
        self.score_end_of_turn = score_end_of_turn
        self.scoring_method: str | None = None if scoring == "auto" else scoring
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0, "requests": 0}
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout), limits=limits)
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._down_until: dict[int, float] = {}  # endpoint index -> monotonic time

    def _order(self, start: int) -> list[int]:
        """The endpoints in turn from ``start``, those unreachable lately (:data:`DOWN_FOR_S`)
        last: still tried when every other one fails, so nothing is lost."""
        n, now = len(self.endpoints), time.monotonic()
        with self._lock:
            down = {i for i, until in self._down_until.items() if until > now}
        return sorted(((start + hop) % n for hop in range(n)), key=lambda i: i in down)

    def _mark(self, index: int, reachable: bool) -> None:
        with self._lock:
            if reachable:
                self._down_until.pop(index, None)
            else:
                self._down_until[index] = time.monotonic() + DOWN_FOR_S

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with failover and retries; the parsed answer (event streams merged)."""
        with self._lock:
            first = next(self._turn)
        n, failure, wait, last_status = len(self.endpoints), "", 0.0, None
        for attempt in range(self.retries + 1):
            if attempt:
                delay = min(max(self.backoff * 2 ** (attempt - 1), wait), MAX_BACKOFF_S)
                logger.warning("retry %d/%d in %.2f s after: %s", attempt, self.retries, delay,
                               failure)
                time.sleep(delay)
            wait, last_status = 0.0, None
            for hop, index in enumerate(self._order(first + attempt)):
                url = self.endpoints[index] + path
                try:
                    response = self._client.post(url, json=payload)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    failure = f"{url}: cannot connect ({type(exc).__name__}: {exc})"
                    self._mark(index, reachable=False)
                except httpx.TimeoutException:
                    failure = f"{url}: no answer within the {self.timeout:g} s timeout"
                    self._mark(index, reachable=False)
                except httpx.TransportError as exc:  # dropped before or during the answer
                    failure = f"{url}: {type(exc).__name__}: {exc}"
                else:
                    status = response.status_code
                    if 400 <= status < 500 and status != 429:
                        raise OpenAIBackendError(
                            f"{url}: HTTP {status}: {_excerpt(response.text)}", status=status)
                    self._mark(index, reachable=True)
                    if status < 400:
                        try:
                            return {**self._parse(url, response), "_url": url}
                        except BadAnswerError as exc:
                            failure = str(exc)
                    else:
                        failure = f"{url}: HTTP {status}: {_excerpt(response.text)}"
                        wait, last_status = max(wait, _retry_after(response)), status
                if hop + 1 < n:
                    logger.warning("failing over to the next endpoint after: %s", failure)
        raise OpenAIBackendError(
            f"{failure} (gave up after {self.retries + 1} attempts)", status=last_status)

    def _parse(self, url: str, response: httpx.Response) -> dict[str, Any]:
        """The answer as one chat-completion object, whether JSON or an event stream.

        Raises:
            BadAnswerError: the body is not a JSON object, or the stream is cut short.
        """
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise BadAnswerError(f"{url}: answer is not a JSON object (cut short?): "
                                     f"{_excerpt(response.text)}")
        else:
            body = self._merge_stream(url, response.text)
        if "error" in body:
            raise OpenAIBackendError(f"{url}: server error: {_excerpt(json.dumps(body['error']))}")
        usage = body.get("usage") or {}
        with self._lock:
            self.usage["requests"] += 1
            for key in ("prompt_tokens", "completion_tokens"):
                self.usage[key] += int(usage.get(key) or 0)
        return body

    @staticmethod
    def _merge_stream(url: str, text: str) -> dict[str, Any]:
        """One chat-completion object from an event stream's chunks."""
        steps: list[Any] = []
        content, finish, usage, logprobs, done = [], None, None, None, False
        for line in text.splitlines():
            data = line[5:].strip() if line.startswith("data:") else ""
            if data == "[DONE]":
                done = True
            if data in ("", "[DONE]"):
                continue
            try:
                chunk = json.loads(data)
            except ValueError:
                raise BadAnswerError(f"{url}: bad stream data (cut short?): "
                                     f"{_excerpt(line)}") from None
            if "error" in chunk:
                raise OpenAIBackendError(f"{url}: server error: {_excerpt(str(chunk['error']))}")
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                content.append((choice.get("delta") or {}).get("content") or "")
                finish = choice.get("finish_reason") or finish
                if choice.get("logprobs"):
                    logprobs = {"content": steps}
                    steps.extend(choice["logprobs"].get("content") or [])
        if finish is None and not done:
            raise BadAnswerError(f"{url}: the event stream ended without a finish_reason or "
                                 "[DONE] (cut short?)")
        message = {"role": "assistant", "content": "".join(content)}
        choice = {"index": 0, "message": message, "logprobs": logprobs, "finish_reason": finish}
        return {"choices": [choice], "usage": usage}

    def _chat(self, payload: dict[str, Any]) -> dict[str, Any]:
        body = self._post("/v1/chat/completions", {"model": self.model, **payload,
                                                   **self.extra_body})
        if not body.get("choices"):
            raise OpenAIBackendError(
                f"{body['_url']}: answer has no choices: {_excerpt(json.dumps(body))}")
        return body

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over ``items`` with at most ``concurrency`` in flight, results in order."""
        if len(items) <= 1 or self.concurrency == 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            return list(pool.map(fn, items))

    def generate(self, requests: list[ChatRequest], params: GenerationParams) -> list[str]:
        """The assistant's reply to each request, in input order."""

        def one(request: ChatRequest) -> str:
            body = self._chat({"messages": to_openai_messages(request),
                               "max_tokens": params.max_tokens, "seed": params.seed,
                               "temperature": params.temperature})
            return body["choices"][0].get("message", {}).get("content") or ""

        return self._map(one, requests)

    def score(self, requests: list[ChatRequest], continuations: list[str]) -> list[list[float]]:
        """Log-probability of each continuation as the reply to each request (``[i][j]``)."""
        if not requests or not continuations:
            return [[] for _ in requests]
        known: dict[tuple[int, int], float] = {}
        first = next((j for j, c in enumerate(continuations) if c.rstrip()), None)
        if self.scoring_method is None and first is not None:
            probe = self._choose_method(requests[0], continuations[first])
            if probe is not None:
                known[(0, first)] = probe
        if self.scoring_method == "top_logprobs":
            return self._map(lambda r: self._score_top(r, continuations), requests)
        pairs = [(i, j) for i in range(len(requests)) for j in range(len(continuations))]

        def one(pair: tuple[int, int]) -> float:
            if pair in known:
                return known[pair]
            return self._score_prefix(requests[pair[0]], continuations[pair[1]])

        flat = self._map(one, pairs)
        k = len(continuations)
        return [flat[i * k:(i + 1) * k] for i in range(len(requests))]

    def _choose_method(self, request: ChatRequest, continuation: str) -> float | None:
        """Try "prefix" on one pair: its score when the server supports it, else None."""
        try:
            value: float | None = self._score_prefix(request, continuation)
        except OpenAIBackendError as exc:
            if not isinstance(exc, NoLogprobsError) and exc.status not in (400, 404, 422):
                raise
            value = None
        self.scoring_method = "top_logprobs" if value is None else "prefix"
        logger.info("label scoring over HTTP uses the %r method", self.scoring_method)
        return value

    def _score_prefix(self, request: ChatRequest, continuation: str) -> float:
        target = continuation.rstrip()
        if not target:
            return 0.0
        messages = to_openai_messages(request)
        body = self._chat({"messages": [*messages, {"role": "assistant", "content": continuation}],
                           "add_generation_prompt": False,
                           "continue_final_message": not self.score_end_of_turn,
                           "prompt_logprobs": 0, "max_tokens": 1, "temperature": 0.0})
        if not body.get("prompt_logprobs"):
            raise NoLogprobsError(f"{body['_url']}: answer has no prompt_logprobs (scoring="
                                  "'prefix' needs vLLM or paperpred.inference.server)")
        return sum_prompt_tail(body["prompt_logprobs"], body.get("prompt_token_ids"), target,
                               body["_url"], end_of_turn=self.score_end_of_turn)

    def _score_top(self, request: ChatRequest, continuations: list[str]) -> list[float]:
        body = self._chat({"messages": to_openai_messages(request),
                           "max_tokens": max(len(c) for c in continuations) + 1,
                           "temperature": 0.0, "logprobs": True,
                           "top_logprobs": self.top_logprobs})
        steps = (body["choices"][0].get("logprobs") or {}).get("content") or []
        if not steps:
            raise NoLogprobsError(
                f"{body['_url']} returned no log-probabilities "
                "(logprobs: true was ignored), so it cannot score labels; use generation, or "
                "serve the model with vLLM, SGLang, llama.cpp or `python -m "
                "paperpred.inference.server`")
        return [walk_top_logprobs(steps, c) for c in continuations]

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()
