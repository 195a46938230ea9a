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

Run: ``python -m paperpred.inference.server --model PATH_OR_HUB_ID --port 8000``.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from typing import Any

import torch

from paperpred.errors import BadRequest
from paperpred.inference.server_args import add_arguments


class Engine:
    """One causal LM and its tokenizer. Not thread-safe: the app holds ``lock`` per request."""

    def __init__(self, model_path: str, name: str | None = None, dtype: str = "float32") -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = name or model_path
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype))
        self.model.eval()
        self.lock = threading.Lock()

    def _piece(self, token_id: int) -> str:
        return self.tokenizer.decode([token_id])

    def _entry(self, token_id: int, row: torch.Tensor, k: int) -> dict[str, dict[str, Any]]:
        """vLLM's per-token log-prob entry: the token itself plus the top k, keyed by id."""
        ids = [token_id] + [int(i) for i in torch.topk(row, k).indices if int(i) != token_id][:k]
        return {str(i): {"logprob": float(row[i]), "rank": int((row > row[i]).sum()) + 1,
                         "decoded_token": self._piece(i)} for i in ids}

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
        _reject_unsupported(body)
        messages = [{"role": m["role"], "content": _text(m.get("content"))}
                    for m in body.get("messages") or []]
        if not messages:
            raise BadRequest("'messages' is empty")
        cont = bool(body.get("continue_final_message", False))
        gen_prompt = bool(body.get("add_generation_prompt", not cont))
        if cont and gen_prompt:
            raise BadRequest("continue_final_message and add_generation_prompt are exclusive")
        text = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=gen_prompt,
            continue_final_message=cont)
        ids = self.tokenizer(text, add_special_tokens=False).input_ids
        body = {**body, "max_tokens": body.get("max_tokens") or 256}
        k = None if body.get("prompt_logprobs") is None else _top_k(body["prompt_logprobs"])
        top = _top_k(body.get("top_logprobs") or 0)
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

    def _chat_step(self, token_id: int, row: torch.Tensor, k: int) -> dict[str, Any]:
        def item(i: int) -> dict[str, Any]:
            piece = self._piece(i)
            return {"token": piece, "logprob": float(row[i]), "bytes": list(piece.encode())}

        top = [item(int(i)) for i in torch.topk(row, k).indices]
        return {**item(token_id), "top_logprobs": top}

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        """A legacy completion; with ``echo`` and ``logprobs`` it scores the prompt's tokens."""
        _reject_unsupported(body)
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1:
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise BadRequest("'prompt' must be one string")
        max_tokens = int(body.get("max_tokens", 16))
        echo = bool(body.get("echo"))
        k = None if body.get("logprobs") is None else _top_k(body["logprobs"])
        if max_tokens == 0 and not echo:
            raise BadRequest("max_tokens 0 needs echo: true")
        add_special = bool(body.get("add_special_tokens", True))
        ids = self.tokenizer(prompt, add_special_tokens=add_special).input_ids
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


def _top_k(value: Any) -> int:
    k = int(value)
    if not 0 <= k <= 20:
        raise BadRequest(f"top log-probabilities must be between 0 and 20, got {k}")
    return k


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _text(content: Any) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        if part.get("type") != "text":
            raise BadRequest(f"content part of type {part.get('type')!r} is not supported: this "
                             "server serves text-only models")
        parts.append(part.get("text", ""))
    return "".join(parts)


def _reject_unsupported(body: dict[str, Any]) -> None:
    if body.get("stream"):
        raise BadRequest("stream: true is not supported by this server")
    if int(body.get("n") or 1) != 1:
        raise BadRequest("n > 1 is not supported by this server")
    if body.get("tools"):
        raise BadRequest("tools are not supported by this server")


def create_app(engine: Engine) -> Any:
    """The FastAPI app around ``engine`` (fastapi from the ``serve`` extra)."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI(title="paperpred OpenAI-compatible server")

    def answer(fn: Any, body: dict[str, Any]) -> JSONResponse:
        try:
            with engine.lock:  # one request at a time: the model and tokenizer are shared
                result = fn(body)
            return JSONResponse(result)
        except (BadRequest, KeyError, TypeError, ValueError) as exc:
            error = {"message": f"{type(exc).__name__}: {exc}", "type": "invalid_request_error"}
            return JSONResponse({"error": error}, status_code=400)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": engine.name, "object": "model",
                                            "owned_by": "paperpred"}]}

    @app.post("/v1/chat/completions")
    def chat(body: dict[str, Any]) -> JSONResponse:
        return answer(engine.chat, body)

    @app.post("/v1/completions")
    def completions(body: dict[str, Any]) -> JSONResponse:
        return answer(engine.completion, body)

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
