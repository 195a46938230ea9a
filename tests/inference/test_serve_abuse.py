"""`paperpred serve` under abuse: malformed, mistyped, oversized and unsupported requests.

One real server per module (``paperpred serve --model smollm2-135m-instruct`` on loopback, the
embedded model converted into the session cache). Every abusive request must get the 4xx the
server's module docstring documents, with OpenAI's JSON error body naming what is wrong: never
a 500, never a hang (the client's timeout fails the test). After each one the server must still
answer ``/health`` and give a valid request the same answer it gave before any abuse.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paperpred.testing.servers import free_port, stop, wait_ready

pytestmark = pytest.mark.slow

TIMEOUT = 60.0  # seconds; a request that takes longer counts as a hang
CHAT, COMPLETIONS = "/v1/chat/completions", "/v1/completions"
USER = [{"role": "user", "content": "Is this paper good? Answer Accept or Reject."}]
# label scoring's request shape (one token, top 5 log-probabilities, greedy)
VALID = {"model": "smollm2-135m-instruct", "messages": USER, "max_tokens": 2,
         "temperature": 0.0, "logprobs": True, "top_logprobs": 5}
JSON = {"content-type": "application/json"}


def chat(**fields: Any) -> dict[str, Any]:
    return {"json": {**VALID, **fields}}


def completion(**fields: Any) -> dict[str, Any]:
    return {"json": {"prompt": "The capital of France is", "max_tokens": 1,
                     "temperature": 0.0, **fields}}


def raw(data: bytes, content_type: str | None = "application/json") -> dict[str, Any]:
    return {"content": data, "headers": {"content-type": content_type} if content_type else {}}


# (id, method, path, httpx keyword arguments, expected status, words the error message holds)
ABUSE: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    ("malformed-json", "POST", CHAT, raw(b'{"messages": [{"role": '), 400, "not valid JSON"),
    ("body-is-a-list", "POST", CHAT, {"json": [VALID]}, 400, "must be a JSON object"),
    ("body-is-a-string", "POST", COMPLETIONS, {"json": "hello"}, 400, "must be a JSON object"),
    ("empty-body", "POST", CHAT, raw(b""), 400, "body is empty"),
    ("missing-messages", "POST", CHAT, {"json": {"model": "m", "max_tokens": 1}}, 400,
     "'messages' is missing"),
    ("missing-prompt", "POST", COMPLETIONS, {"json": {"model": "m"}}, 400, "'prompt' must be"),
    ("messages-a-string", "POST", CHAT, chat(messages="hello"), 400, "'messages' must be a list"),
    ("messages-empty", "POST", CHAT, chat(messages=[]), 400, "'messages' is empty"),
    ("message-a-string", "POST", CHAT, chat(messages=["hello"]), 400, "string 'role'"),
    ("message-without-role", "POST", CHAT, chat(messages=[{"content": "hi"}]), 400,
     "string 'role'"),
    ("content-an-object", "POST", CHAT, chat(messages=[{"role": "user", "content": {"a": 1}}]),
     400, "content must be a string"),
    ("content-parts-strings", "POST", CHAT, chat(messages=[{"role": "user", "content": ["a"]}]),
     400, "content parts must be"),
    ("max-tokens-ten", "POST", CHAT, chat(max_tokens="ten"), 400,
     "'max_tokens' must be an integer"),
    ("max-tokens-float", "POST", COMPLETIONS, completion(max_tokens=2.5), 400,
     "'max_tokens' must be an integer"),
    ("temperature-hot", "POST", CHAT, chat(temperature="hot"), 400,
     "'temperature' must be a finite number"),
    ("temperature-nan", "POST", CHAT,
     raw(json.dumps({**VALID, "temperature": float("nan")}).encode()), 400, "finite number"),
    ("temperature-negative", "POST", CHAT, chat(temperature=-1), 400, "between 0 and 2"),
    ("top-p-above-one", "POST", CHAT, chat(temperature=1.0, top_p=2), 400, "'top_p' must be"),
    ("seed-too-big", "POST", CHAT, chat(seed=2**70), 400, "'seed' must be between"),
    ("seed-a-string", "POST", CHAT, chat(seed="42"), 400, "'seed' must be an integer"),
    ("stop-an-integer", "POST", CHAT, chat(stop=5), 400, "'stop' must be"),
    ("stop-too-many", "POST", CHAT, chat(stop=list("abcdefgh")), 400, "'stop' must be"),
    ("max-tokens-huge-chat", "POST", CHAT, chat(max_tokens=10**9, temperature=1.0), 400,
     "context is 8192 tokens"),
    ("max-tokens-huge-completions", "POST", COMPLETIONS, completion(max_tokens=10**9), 400,
     "context is 8192 tokens"),
    ("max-tokens-negative", "POST", CHAT, chat(max_tokens=-1), 400, "at least 1"),
    ("max-tokens-zero-chat", "POST", CHAT, chat(max_tokens=0), 400, "at least 1"),
    ("max-tokens-negative-completions", "POST", COMPLETIONS, completion(max_tokens=-5), 400,
     "at least 0"),
    ("max-tokens-zero-without-echo", "POST", COMPLETIONS, completion(max_tokens=0), 400,
     "needs echo"),
    ("top-logprobs-negative", "POST", CHAT, chat(top_logprobs=-1), 400, "between 0 and 20"),
    ("top-logprobs-million", "POST", CHAT, chat(top_logprobs=10**6), 400, "between 0 and 20"),
    ("top-logprobs-a-string", "POST", CHAT, chat(top_logprobs="5"), 400, "must be an integer"),
    ("logprobs-a-string", "POST", CHAT, chat(logprobs="yes"), 400, "must be true or false"),
    ("prompt-logprobs-million", "POST", CHAT, chat(prompt_logprobs=10**6), 400,
     "between 0 and 20"),
    ("completion-logprobs-a-string", "POST", COMPLETIONS, completion(logprobs="five"), 400,
     "must be an integer"),
    ("completion-logprobs-million", "POST", COMPLETIONS, completion(logprobs=10**6), 400,
     "between 0 and 20"),
    ("echo-a-string", "POST", COMPLETIONS, completion(echo="true"), 400,
     "must be true or false"),
    ("model-an-integer", "POST", CHAT, chat(model=7), 400, "'model' must be a string"),
    ("empty-prompt", "POST", COMPLETIONS, completion(prompt=""), 400, "prompt is empty"),
    ("empty-prompt-echo", "POST", COMPLETIONS,
     completion(prompt="", max_tokens=0, echo=True, logprobs=1), 400, "prompt is empty"),
    ("prompt-a-list-of-ids", "POST", COMPLETIONS, completion(prompt=[1, 2, 3]), 400,
     "'prompt' must be one string"),
    ("huge-prompt-2mb-chat", "POST", CHAT,
     chat(messages=[{"role": "user", "content": "word " * 400_000}]), 400,
     "context is 8192 tokens"),
    ("huge-prompt-2mb-completions", "POST", COMPLETIONS, completion(prompt="word " * 400_000),
     400, "context is 8192 tokens"),
    ("prompt-fills-the-context", "POST", COMPLETIONS, {"json": {"prompt": "word " * 8192}},
     400, "leaves no room in this model's context of 8192 tokens"),
    ("body-over-4mib", "POST", COMPLETIONS, completion(prompt="x" * (5 << 20)), 413,
     "larger than this server's limit"),
    ("chunked-body-over-4mib", "POST", CHAT,
     {"content": (b"x" * 65536 for _ in range(80)), "headers": JSON}, 413,
     "larger than this server's limit"),
    ("not-utf8", "POST", CHAT, raw(b'{"messages": "\x80\x81\xfe"}'), 400, "not UTF-8 JSON"),
    ("binary-garbage", "POST", COMPLETIONS, raw(bytes(range(256)) * 4), 400, "JSON"),
    ("content-type-text", "POST", CHAT, raw(json.dumps(VALID).encode(), "text/plain"), 400,
     "Content-Type: application/json"),
    ("content-type-form", "POST", COMPLETIONS, {"data": {"prompt": "hi"}}, 400,
     "Content-Type: application/json"),
    ("get-chat", "GET", CHAT, {}, 405, "method not allowed, use POST"),
    ("get-completions", "GET", COMPLETIONS, {}, 405, "method not allowed, use POST"),
    ("post-health", "POST", "/health", {"json": {}}, 405, "method not allowed, use GET"),
    ("unknown-route", "POST", "/v1/embeddings", {"json": {"input": "x"}}, 404, "no such route"),
    ("n-two", "POST", CHAT, chat(n=2), 400, "n > 1 is not supported"),
    ("stream", "POST", CHAT, chat(stream=True), 400, "stream: true is not supported"),
    ("tools", "POST", CHAT, chat(tools=[{"type": "function", "function": {"name": "f"}}]), 400,
     "tools are not supported"),
    ("image", "POST", CHAT, chat(messages=[{"role": "user", "content": [
        {"type": "text", "text": "Look:"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]), 400,
     "text-only"),
    ("both-prompt-modes", "POST", CHAT,
     chat(continue_final_message=True, add_generation_prompt=True), 400, "exclusive"),
]


@pytest.fixture(scope="module")
def server(embedded_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``paperpred serve`` of the embedded model on a free loopback port: its URL."""
    pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn) is not installed")
    log = tmp_path_factory.mktemp("serve-abuse") / "server.log"
    port = free_port()
    # the session's PAPERPRED_CACHE (conftest) holds the converted model: the name resolves there
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "paperpred", "serve", "--model", "smollm2-135m-instruct",
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(proc, url, log, timeout=180)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        yield url
        assert proc.poll() is None, f"the server died: {log.read_text()[-2000:]}"
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    finally:
        stop(proc, timeout=15)


@pytest.fixture(scope="module")
def baseline(server: str) -> dict[str, Any]:
    """The valid request's answer before any abuse."""
    answer = httpx.post(server + CHAT, json=VALID, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _essentials(answer: dict[str, Any]) -> tuple[str, list[tuple[str, float]]]:
    choice = answer["choices"][0]
    steps = choice["logprobs"]["content"]
    return choice["message"]["content"], [(t["token"], t["logprob"])
                                          for step in steps for t in step["top_logprobs"]]


def assert_still_serving(url: str, baseline: dict[str, Any]) -> None:
    health = httpx.get(url + "/health", timeout=TIMEOUT)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    answer = httpx.post(url + CHAT, json=VALID, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    text, top = _essentials(answer.json())
    want_text, want_top = _essentials(baseline)
    assert text == want_text
    assert [t for t, _ in top] == [t for t, _ in want_top]
    assert [v for _, v in top] == pytest.approx([v for _, v in want_top], abs=1e-4)


def test_the_valid_request_is_label_scoring_shaped(baseline: dict[str, Any]) -> None:
    choice = baseline["choices"][0]
    steps = choice["logprobs"]["content"]
    assert len(steps) == 2 and baseline["usage"]["completion_tokens"] == 2
    for step in steps:
        values = [t["logprob"] for t in step["top_logprobs"]]
        assert len(values) == 5 and values == sorted(values, reverse=True) and values[0] <= 0
        assert step["token"] == step["top_logprobs"][0]["token"]  # greedy


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "words"),
                         [case[1:] for case in ABUSE], ids=[case[0] for case in ABUSE])
def test_abusive_request_is_refused_and_the_server_keeps_serving(
        server: str, baseline: dict[str, Any], method: str, path: str, kwargs: dict[str, Any],
        status: int, words: str) -> None:
    try:
        answer = httpx.request(method, server + path, timeout=TIMEOUT, **kwargs)
    except httpx.TimeoutException:
        pytest.fail(f"{method} {path} hung for more than {TIMEOUT} s")
    assert answer.status_code == status, answer.text[:500]
    error = answer.json()["error"]
    assert words in error["message"], error
    assert error["type"] == "invalid_request_error"
    assert_still_serving(server, baseline)


def test_any_model_name_is_answered_by_the_one_model(server: str,
                                                     baseline: dict[str, Any]) -> None:
    """Documented: one model per server, so ``model`` is not matched (clients name it freely,
    as tests/inference/test_openai_backend.py's ``"smol"``); the answer names the real one."""
    answer = httpx.post(server + CHAT, json={**VALID, "model": "gpt-99-does-not-exist"},
                        timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert _essentials(answer.json()) == _essentials(baseline)
    served = httpx.get(server + "/v1/models", timeout=TIMEOUT).json()["data"][0]
    assert answer.json()["model"] == served["id"] and served["max_model_len"] == 8192


def test_health_and_refusals_do_not_wait_behind_a_generation(server: str) -> None:
    """A long generation holds the model; /health and a refused request answer meanwhile."""
    done: dict[str, float] = {}

    def long_generation() -> None:
        httpx.post(server + COMPLETIONS, timeout=TIMEOUT, json={
            "prompt": "1, 2, 3, 4, 5,", "max_tokens": 120, "temperature": 0.0})
        done["generation"] = time.monotonic()

    thread = threading.Thread(target=long_generation)
    thread.start()
    time.sleep(0.5)
    try:
        assert httpx.get(server + "/health", timeout=TIMEOUT).status_code == 200
        done["health"] = time.monotonic()
        refused = httpx.post(server + CHAT, json=chat(max_tokens="ten")["json"], timeout=TIMEOUT)
        done["refused"] = time.monotonic()
        assert refused.status_code == 400
    finally:
        thread.join(TIMEOUT)
    assert "generation" in done
    assert done["health"] < done["generation"] and done["refused"] < done["generation"]


def test_a_stalled_client_does_not_block_others(server: str, baseline: dict[str, Any]) -> None:
    """A client that promises a body and never sends it holds only its own connection."""
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as stalled:
        stalled.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"mess")
        assert_still_serving(server, baseline)


def test_a_declared_gigabyte_is_refused_without_reading_it(server: str,
                                                          baseline: dict[str, Any]) -> None:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nContent-Length: 1000000000\r\n\r\n{\"prompt\"")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert "limit of 4194304 bytes" in json.loads(body)["error"]["message"]
    assert_still_serving(server, baseline)


def test_abuse_in_parallel_with_valid_requests(server: str, baseline: dict[str, Any]) -> None:
    """Every abusive request at once, 16 in flight beside valid ones: refusals only, no 5xx."""
    from concurrent.futures import ThreadPoolExecutor

    small = [c for c in ABUSE if "4mib" not in c[0] and "2mb" not in c[0]]
    jobs = [(c[1], c[2], c[3], c[4]) for c in small] + [("POST", CHAT, {"json": VALID}, 200)] * 8

    def send(job: tuple[str, str, dict[str, Any], int]) -> tuple[int, int]:
        method, path, kwargs, status = job
        return httpx.request(method, server + path, timeout=TIMEOUT, **kwargs).status_code, status

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, jobs))
    assert [got for got, want in results if got != want] == []
    assert_still_serving(server, baseline)
