"""A small OpenAI-compatible server for one transformers causal LM, with log-probabilities.

``transformers serve`` (4.57) streams chat completions but ignores ``logprobs`` and has no
``/v1/completions``, so it cannot score labels. This server runs the same transformers model and
returns what label scoring needs, in vLLM's request and answer format:

- ``POST /v1/chat/completions``: ``messages`` (string or text-part content), ``max_tokens``,
  ``temperature``, ``top_p``, ``seed``, ``stop``, ``logprobs`` + ``top_logprobs`` (<= 20) for
  the generated tokens, and vLLM's ``add_generation_prompt``, ``continue_final_message`` and
  ``prompt_logprobs`` (log-probability of every prompt token, plus its top k).
- ``POST /v1/completions``: ``prompt`` (one string), ``max_tokens`` (0 allowed with ``echo``),
  ``echo``, ``logprobs`` (k), ``add_special_tokens``: the legacy format lm-eval-harness reads.
- ``GET /v1/models``, ``GET /health``.

What it does not do: streaming, ``n`` > 1, tools, images (text-only models; it answers HTTP 400
naming the field). Requests run one at a time, unbatched: a server for tests, small models and
local use, not for throughput (use vLLM there).

Limits, so that no request can crash or wedge the server:

- A body over ``MAX_BODY_BYTES`` (4 MiB) is refused with HTTP 413 before it is parsed (the rest
  of it is read and dropped, up to 64 MiB, so that the client reads the answer; a larger one is
  answered at once and its connection closed).
- The prompt plus ``max_tokens`` must fit the model's context (its ``max_position_embeddings``,
  or the tokenizer's ``model_max_length`` when smaller), else HTTP 400 names both lengths, as
  vLLM does: a model run past its context answers garbage at quadratic cost, and one
  ``max_tokens: 10**9`` request used to hold the server for good. Without ``max_tokens``: 256 new
  tokens (chat) or 16 (completions), fewer where the context ends sooner.
- Fields are checked, types and ranges, before a request queues for the model: ``messages`` a
  non-empty list of objects with a string ``role`` and string (or text-part) ``content``;
  ``prompt`` a string; ``max_tokens`` an integer >= 1 (>= 0 for completions, 0 with ``echo``);
  ``temperature`` 0 to 2; ``top_p`` above 0 and at most 1; ``seed`` a signed 64-bit integer;
  ``stop`` a string or a list of up to 4 non-empty strings; ``top_logprobs``,
  ``prompt_logprobs`` and completions' ``logprobs`` integers 0 to 20 (OpenAI's cap); chat's
  ``logprobs``, ``echo``, ``add_special_tokens``, ``add_generation_prompt`` and
  ``continue_final_message`` booleans; ``n`` 1. Fields not named here are ignored.
- ``model`` may be any string: the server has one model and names it in each answer
  (``--served-model-name``, else the path), so clients configured with a short name (the tests'
  ``"smol"``, ``smollm2-135m-instruct``) work unchanged where OpenAI and vLLM answer 404.
- Errors are OpenAI's JSON, ``{"error": {"message", "type", "param", "code"}}``: 400 for a body
  that is not UTF-8 JSON, not a JSON object or not sent as ``application/json``, a field of the
  wrong type or range, an empty prompt or an unsupported feature; 404 for an unknown path; 405
  for a wrong method; 413 for a body too large; 500 only for a fault of the server (logged with
  its traceback). None of them stops the server.
- Requests are checked at once, then run one at a time (one lock), in the arrival order the
  thread pool gives them; ``/health`` and ``/v1/models`` answer from the event loop, so they
  answer while a generation runs.

Run: ``python -m paperpred.inference.server --model PATH_OR_HUB_ID --port 8000``.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import torch

from paperpred.errors import BadRequest
from paperpred.inference.server_args import add_arguments
from paperpred.inference.server_requests import (
    InvalidField,
    body_problem,
    check_chat,
    check_completion,
)

logger = logging.getLogger(__name__)

#: Largest request body accepted (HTTP 413 above): a 128k-token prompt is about 0.5 MB of text.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: A body too large is read and dropped up to this size before the 413, so the client reads it.
MAX_DRAIN_BYTES = 16 * MAX_BODY_BYTES
#: ``max_tokens`` when a request gives none: chat, completions (OpenAI's default).
DEFAULT_MAX_TOKENS = {"chat": 256, "completion": 16}


class Engine:
    """One causal LM and its tokenizer. Not thread-safe: the app holds ``lock`` per request."""

    def __init__(self, model_path: str, name: str | None = None, dtype: str = "float32") -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = name or model_path
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype))
        self.model.eval()
        self.lock = threading.Lock()
        self.context = context_length(self.model.config, self.tokenizer)

    def _piece(self, token_id: int) -> str:
        return self.tokenizer.decode([token_id])

    def _entry(self, token_id: int, row: torch.Tensor, k: int) -> dict[str, dict[str, Any]]:
        """vLLM's per-token log-prob entry: the token itself plus the top k, keyed by id."""
        ids = [token_id] + [int(i) for i in torch.topk(row, k).indices if int(i) != token_id][:k]
        return {str(i): {"logprob": float(row[i]), "rank": int((row > row[i]).sum()) + 1,
                         "decoded_token": self._piece(i)} for i in ids}

    def _max_tokens(self, prompt_tokens: int, asked: int | None, default: int) -> int:
        """``asked`` (or ``default``, cut to the room left) once the prompt and it fit the
        model's context; raises BadRequest otherwise."""
        if not prompt_tokens:
            raise BadRequest("the prompt is empty (no tokens): there is nothing to condition on")
        if self.context is None:
            return default if asked is None else asked
        room = self.context - prompt_tokens
        if asked is None:
            if room < 1:
                raise BadRequest(f"the prompt is {prompt_tokens} tokens, which leaves no room "
                                 f"in this model's context of {self.context} tokens")
            return min(default, room)
        if asked > room:
            raise InvalidField("max_tokens", f"this model's context is {self.context} tokens, but "
                               f"the prompt is {prompt_tokens} tokens and max_tokens asks for "
                               f"{asked} more ({prompt_tokens + asked}); shorten the prompt or "
                               "lower max_tokens")
        return asked

    @torch.no_grad()
    def logprobs(self, ids: list[int]) -> torch.Tensor:
        """Row t holds log p(. | ids[:t+1]), for every t (the last row predicts a new token)."""
        return torch.log_softmax(self.model(torch.tensor([ids])).logits[0].float(), dim=-1)

    @torch.no_grad()
    def generate(self, ids: list[int], body: dict[str, Any],
                 rows: torch.Tensor | None = None) -> tuple[list[int], torch.Tensor]:
        """Generated ids (up to and including EOS) and each step's log-probabilities.

        ``rows`` (from :meth:`logprobs`) lets a one-token request reuse that forward pass.
        """
        temperature = 1.0 if body.get("temperature") is None else float(body["temperature"])
        if body.get("seed") is not None:
            torch.manual_seed(int(body["seed"]))
        stop, max_tokens = body.get("stop"), int(body["max_tokens"])
        if max_tokens == 1 and rows is not None and not stop and temperature == 0:
            return [int(rows[-1].argmax())], rows[-1:]
        kwargs: dict[str, Any] = {"do_sample": temperature > 0}
        if temperature > 0:
            kwargs.update(temperature=temperature, top_p=float(body.get("top_p") or 1.0), top_k=0)
        if stop:
            kwargs.update(stop_strings=[stop] if isinstance(stop, str) else list(stop),
                          tokenizer=self.tokenizer)
        out = self.model.generate(
            torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=max_tokens, output_logits=True, return_dict_in_generate=True,
            pad_token_id=self.tokenizer.eos_token_id, **kwargs)
        assert not isinstance(out, torch.Tensor)  # return_dict_in_generate=True: an output object
        assert out.logits is not None  # output_logits=True
        new = [int(i) for i in out.sequences[0, len(ids):]]
        steps = torch.log_softmax(torch.stack(out.logits)[:, 0].float(), dim=-1)
        return new, steps[: len(new)]

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """An OpenAI chat completion (non-streaming), with vLLM's extra fields."""
        messages = check_chat(body)
        cont = bool(body.get("continue_final_message", False))
        gen_prompt = bool(body.get("add_generation_prompt", not cont))
        if cont and gen_prompt:
            raise BadRequest("continue_final_message and add_generation_prompt are exclusive")
        text = self._apply_template(messages, gen_prompt, cont)
        ids = self.tokenizer(text, add_special_tokens=False).input_ids
        max_tokens = self._max_tokens(len(ids), body.get("max_tokens"), DEFAULT_MAX_TOKENS["chat"])
        body = {**body, "max_tokens": max_tokens}
        k = body.get("prompt_logprobs")
        top = body.get("top_logprobs") or 0
        rows = self.logprobs(ids) if k is not None else None
        new, steps = self.generate(ids, body, rows)
        eos = self.tokenizer.eos_token_id
        logprobs = None
        if body.get("logprobs"):
            logprobs = {"content": [self._chat_step(t, steps[n], top) for n, t in enumerate(new)]}
        shown = [t for t in new if t != eos]
        prompt_lp: list[dict[str, dict[str, Any]] | None] | None = None
        if rows is not None and k is not None:  # rows are computed only when k is given
            prompt_lp = [None, *(self._entry(ids[t + 1], rows[t], k)
                                 for t in range(len(ids) - 1))]
        choice = {"index": 0, "logprobs": logprobs,
                  "message": {"role": "assistant",
                              "content": self.tokenizer.decode(shown, skip_special_tokens=True)},
                  "finish_reason": "length" if len(new) >= body["max_tokens"] and new[-1] != eos
                  else "stop"}
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
                "created": int(time.time()), "model": self.name, "choices": [choice],
                "usage": _usage(len(ids), len(new)), "prompt_logprobs": prompt_lp,
                "prompt_token_ids": ids}

    def _apply_template(self, messages: list[dict[str, str]], gen_prompt: bool,
                        cont: bool) -> str:
        from jinja2 import TemplateError

        try:
            return str(self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=gen_prompt,
                continue_final_message=cont))
        except TemplateError as exc:  # the template's raise_exception: a role it refuses, ...
            raise InvalidField("messages", f"the chat template refused the messages: {exc}") \
                from exc

    def _chat_step(self, token_id: int, row: torch.Tensor, k: int) -> dict[str, Any]:
        def item(i: int) -> dict[str, Any]:
            piece = self._piece(i)
            return {"token": piece, "logprob": float(row[i]), "bytes": list(piece.encode())}

        top = [item(int(i)) for i in torch.topk(row, k).indices]
        return {**item(token_id), "top_logprobs": top}

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        """A legacy completion; with ``echo`` and ``logprobs`` it scores the prompt's tokens."""
        prompt = check_completion(body)
        echo = bool(body.get("echo"))
        k = body.get("logprobs")
        add_special = bool(body.get("add_special_tokens", True))
        ids = self.tokenizer(prompt, add_special_tokens=add_special).input_ids
        max_tokens = self._max_tokens(len(ids), body.get("max_tokens"),
                                      DEFAULT_MAX_TOKENS["completion"])
        rows = self.logprobs(ids) if echo and k is not None else None
        new, steps = self.generate(ids, {**body, "max_tokens": max_tokens}, rows) \
            if max_tokens else ([], torch.empty(0))
        tokens = (ids if echo else []) + new
        text = (prompt if echo else "") + self.tokenizer.decode(new, skip_special_tokens=True)
        logprobs = None
        if k is not None:
            step_rows = ([None, *rows[:-1]] if echo and rows is not None else []) + list(steps)
            pieces = [self._piece(t) for t in tokens]
            offsets = [sum(len(p) for p in pieces[:n]) for n in range(len(pieces))]
            logprobs = {"tokens": pieces, "text_offset": offsets,
                        "token_logprobs": [None if r is None else float(r[t])
                                           for t, r in zip(tokens, step_rows, strict=True)],
                        "top_logprobs": [None if r is None else
                                         {self._piece(int(i)): float(r[i])
                                          for i in torch.topk(r, k).indices} if k else None
                                         for r in step_rows]}
        choice = {"index": 0, "text": text, "logprobs": logprobs,
                  "finish_reason": "length" if len(new) >= max_tokens else "stop"}
        return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion",
                "created": int(time.time()), "model": self.name, "choices": [choice],
                "usage": _usage(len(ids), len(new))}


def context_length(config: Any, tokenizer: Any) -> int | None:
    """The model's context in tokens: the smaller of ``max_position_embeddings`` and the
    tokenizer's ``model_max_length`` (ignoring transformers' "unset" huge values); None when
    neither says."""
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    known = [value for value in (getattr(text_config, "max_position_embeddings", None),
                                 getattr(tokenizer, "model_max_length", None))
             if isinstance(value, int) and 0 < value < 10**8]
    return min(known) if known else None


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


# -- the HTTP app -------------------------------------------------------------------------------
def _error(status: int, message: str, param: str | None = None, code: str | None = None,
           headers: Mapping[str, str] | None = None) -> Any:
    """OpenAI's error answer."""
    from fastapi.responses import JSONResponse

    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": param,
                                   "code": code}}, status_code=status, headers=headers)


class BodyLimit:
    """ASGI middleware: reads each request body, refusing one over ``limit`` bytes with 413.

    The rest of a body too large is read and dropped, up to ``drain`` bytes, before the answer,
    so that a client still sending reads the 413 (answering at once and closing the connection
    resets it mid-write); beyond ``drain`` (or a Content-Length above it) the answer goes at once.
    """

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES,
                 drain: int = MAX_DRAIN_BYTES) -> None:
        self.app, self.limit, self.drain = app, limit, drain

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.drain:
            await self._refuse(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more and size <= self.drain:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= self.limit:
                chunks.append(chunk)
            more = message.get("more_body", False)
        if size > self.limit:
            await self._refuse(scope, receive, send)
            return
        pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Any:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Any, receive: Any, send: Any) -> None:
        response = _error(413, f"the request body is larger than this server's limit of "
                          f"{self.limit} bytes", code="request_too_large",
                          headers={"connection": "close"})
        await response(scope, receive, send)


def create_app(engine: Engine) -> Any:
    """The FastAPI app around ``engine`` (fastapi from the ``serve`` extra)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    app = FastAPI(title="paperpred OpenAI-compatible server")
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> Any:
        message = body_problem(list(exc.errors()), request.headers.get("content-type", ""))
        return _error(400, message, param="body", code="invalid_body")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Any:
        where = f"{request.method} {request.url.path}"
        allowed = {k.lower(): v for k, v in (exc.headers or {}).items()}
        message = {404: f"{where}: no such route (routes: GET /health, GET /v1/models, POST "
                        "/v1/chat/completions, POST /v1/completions)",
                   405: f"{where}: method not allowed, use "
                        f"{allowed.get('allow', 'another method')}",
                   400: f"the body is not UTF-8 JSON: {exc.detail}"}.get(exc.status_code,
                                                                      f"{where}: {exc.detail}")
        code = {404: "not_found", 405: "method_not_allowed", 400: "invalid_body"}
        return _error(exc.status_code, message, code=code.get(exc.status_code),
                      headers=exc.headers)

    def answer(check: Any, fn: Any, body: dict[str, Any]) -> Any:
        try:
            check(body)  # refused at once, without waiting for the model
            with engine.lock:  # one request at a time: the model and tokenizer are shared
                result = fn(body)
            return JSONResponse(result)  # encoded outside the lock
        except (BadRequest, KeyError, TypeError, ValueError) as exc:
            message = str(exc) if isinstance(exc, BadRequest) else f"{type(exc).__name__}: {exc}"
            return _error(400, message, param=getattr(exc, "param", None))
        except Exception as exc:  # a fault of the server: answer and log it, keep serving
            logger.exception("request failed")
            return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": engine.name, "object": "model",
                                            "owned_by": "paperpred",
                                            "max_model_len": engine.context}]}

    @app.post("/v1/chat/completions")
    def chat(body: dict[str, Any]) -> Any:
        return answer(check_chat, engine.chat, body)

    @app.post("/v1/completions")
    def completions(body: dict[str, Any]) -> Any:
        return answer(check_completion, engine.completion, body)

    return app


def serve(args: argparse.Namespace) -> int:
    """Load the model and serve it until interrupted."""
    import uvicorn

    engine = Engine(args.model, name=args.served_model_name, dtype=args.dtype)
    uvicorn.run(create_app(engine), host=args.host, port=args.port, log_level="warning")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m paperpred.inference.server",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
