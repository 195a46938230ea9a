"""OpenAIBackend against real OpenAI-compatible servers started on loopback.

Two real servers serve the embedded SmolLM2-135M-Instruct checkpoint: ``transformers serve``
(generation; it returns no log-probabilities) and ``paperpred.inference.server`` (log-
probabilities for label scoring). Every expected value comes from the same model run in this
process. Pure message-conversion and log-prob-walking checks need no server.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import math
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import torch
from PIL import Image

from paperpred.errors import NoLogprobsError, OpenAIBackendError
from paperpred.inference.base import ChatRequest, GenerationParams
from paperpred.inference.chat import to_openai_messages
from paperpred.inference.openai_backend import OpenAIBackend, walk_top_logprobs
from paperpred.testing.servers import free_port, stop, wait_ready

LOGGER = "paperpred.inference.openai_backend"
QUESTIONS = ["What is the capital of France?", "Name a primary colour.",
             "What is 2 plus 3?", "Say hello in Spanish."]
LABELS = ["Accept", "Reject", "Accept (Oral)"]


def user(text: str) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": text}])


# -- pure conversion and walking (no server) ---------------------------------------------------
def test_image_markers_become_image_url_parts(tmp_path: Path) -> None:
    red = Image.new("RGB", (4, 3), "red")
    jpeg = tmp_path / "page2.jpg"
    Image.new("RGB", (5, 2), "blue").save(jpeg)
    messages = [{"role": "system", "content": "Judge papers."},
                {"role": "user", "content": "Page 1: <image> page 2: <image>Decide."}]
    converted = to_openai_messages(ChatRequest(messages, [red, jpeg]))
    assert converted[0] == {"role": "system", "content": "Judge papers."}
    parts = converted[1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
    assert [p["text"] for p in parts if p["type"] == "text"] == ["Page 1: ", " page 2: ", "Decide."]
    first, second = (p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    assert first.startswith("data:image/png;base64,")
    assert second.startswith("data:image/jpeg;base64,")
    sizes = [Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))).size
             for u in (first, second)]
    assert sizes == [(4, 3), (5, 2)]
    assert messages[1]["content"].count("<image>") == 2  # the input is left alone


def test_base_urls_with_or_without_v1_and_bad_options() -> None:
    backend = OpenAIBackend(["http://h:1/v1/", "http://h:2", "https://h/api/v1"], "m")
    assert backend.endpoints == ["http://h:1", "http://h:2", "https://h/api"]
    backend.close()
    with pytest.raises(OpenAIBackendError, match="scoring=.logits. is unknown"):
        OpenAIBackend("http://h:1", "m", scoring="logits")


def _step(token: str, logprob: float, top: dict[str, float]) -> dict:
    return {"token": token, "logprob": logprob,
            "top_logprobs": [{"token": t, "logprob": v} for t, v in top.items()]}


@pytest.mark.parametrize(("continuation", "expected"), [
    ("Accept", -0.1),                      # the greedy path itself
    ("Accept (Oral)", -0.1 - 0.5 - 0.2),   # on the path for three tokens, then leaves it
    ("Reject", -2.5),                      # leaves at once: its first token's log-prob
    ("Withdrawn", -4.0),                   # not in the top k: the k-th log-prob as a ceiling
])
def test_walk_top_logprobs(continuation: str, expected: float) -> None:
    steps = [_step("Accept", -0.1, {"Accept": -0.1, "Re": -2.5, "Rej": -3.0, "A": -4.0}),
             _step(" (", -0.5, {" (": -0.5, ".": -1.5}),
             _step("Spot", -1.0, {"Spot": -1.0, "Oral": -0.2}),
             _step("light", -0.01, {"light": -0.01})]
    assert walk_top_logprobs(steps, continuation) == pytest.approx(expected)


# -- real servers --------------------------------------------------------------------------
def _launch(cmd: list[str], log: Path) -> subprocess.Popen:
    # One torch thread per server: on a small shared CPU, spinning OpenMP threads of three
    # processes slow each other down several-fold.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1"}
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 150.0) -> None:
    try:
        wait_ready(proc, url, log, timeout)
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def model_dir(embedded_dir: Path) -> Path:
    """The embedded SmolLM2-135M-Instruct checkpoint, converted once per session (conftest)."""
    return embedded_dir


@pytest.fixture(scope="module")
def launched(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Both servers' processes, started (not yet ready): (procs, urls, logs).

    ``transformers serve`` is started before the embedded checkpoint exists (it loads a model
    on the first request), so its start-up overlaps the conversion.
    """
    pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn) is not installed")
    logs = tmp_path_factory.mktemp("server-logs")
    ports = {"tserve": free_port(), "paperpred": free_port()}
    cli = "from transformers.commands.transformers_cli import main; main()"
    procs = {"tserve": _launch([sys.executable, "-c", cli, "serve", "--host", "127.0.0.1",
                                "--port", str(ports["tserve"]), "--log_level", "warning"],
                               logs / "tserve.log")}
    try:
        model_dir = request.getfixturevalue("model_dir")
        procs["paperpred"] = _launch(
            [sys.executable, "-m", "paperpred.inference.server", "--model", str(model_dir),
             "--host", "127.0.0.1", "--port", str(ports["paperpred"])], logs / "paperpred.log")
        yield procs, {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}, logs
    finally:
        for proc in procs.values():
            stop(proc)


@pytest.fixture(scope="module")
def reference(launched, model_dir: Path):
    """The served model, run in this process (loaded while the servers start): (model, tok)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def servers(launched, reference, model_dir: Path) -> dict[str, str]:
    """Both servers, ready: {"tserve": url, "paperpred": url}."""
    procs, urls, logs = launched
    for key, proc in procs.items():
        _wait_ready(proc, urls[key], logs / f"{key}.log")
    # transformers serve loads the model on its first request: do that here, bounded.
    warm = {"model": str(model_dir), "max_tokens": 1,
            "messages": [{"role": "user", "content": "Hi"}]}
    httpx.post(urls["tserve"] + "/v1/chat/completions", json=warm, timeout=120).raise_for_status()
    return urls


@contextlib.contextmanager
def one_thread():
    """Run the in-process reference on one torch thread (as the servers do), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def greedy(reference, question: str, max_new_tokens: int) -> str:
    model, tok = reference
    ids = tok.apply_chat_template([{"role": "user", "content": question}],
                                  add_generation_prompt=True, return_tensors="pt")
    with torch.no_grad(), one_thread():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id)
    return tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def exact_logprobs(reference, question: str, continuations: list[str],
                   end_of_turn: bool = False) -> list[float]:
    """Log-probability of each continuation after the generation prompt, token by token (and
    of the end-of-turn token after it, as the offline backends score labels)."""
    model, tok = reference
    prompt = tok.apply_chat_template([{"role": "user", "content": question}],
                                     add_generation_prompt=True)
    result = []
    for text in continuations:
        cont = tok(text, add_special_tokens=False).input_ids
        if end_of_turn:
            cont = cont + [tok.convert_tokens_to_ids("<|im_end|>")]
        with torch.no_grad(), one_thread():
            logits = model(torch.tensor([prompt + cont])).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
        result.append(sum(float(logp[len(prompt) + j - 1, t]) for j, t in enumerate(cont)))
    return result


@pytest.mark.slow
def test_generate_against_transformers_serve_matches_the_model(servers, model_dir, reference):
    with OpenAIBackend(servers["tserve"], str(model_dir)) as backend:
        [text] = backend.generate([user(QUESTIONS[0])], GenerationParams(max_tokens=8))
    assert text.strip()
    assert text == greedy(reference, QUESTIONS[0], 8)


@pytest.mark.slow
def test_concurrent_results_keep_input_order(servers, model_dir, reference):
    expected = [greedy(reference, q, 6) for q in QUESTIONS]
    assert len(set(expected)) == len(expected)  # distinct answers, so order is observable
    with OpenAIBackend(servers["tserve"] + "/v1", str(model_dir), concurrency=4) as backend:
        got = backend.generate([user(q) for q in QUESTIONS], GenerationParams(max_tokens=6))
        assert backend.usage["requests"] == len(QUESTIONS)
    assert got == expected


def test_dead_port_is_retried_then_fails_in_one_line(caplog):
    dead = f"http://127.0.0.1:{free_port()}"
    caplog.set_level(logging.WARNING, logger=LOGGER)
    backend = OpenAIBackend(dead, "m", retries=2, backoff=0.01, timeout=5)
    with pytest.raises(OpenAIBackendError) as info:
        backend.generate([user("Hi")], GenerationParams(max_tokens=1))
    message = str(info.value)
    assert "\n" not in message
    assert f"{dead}/v1/chat/completions" in message and "3 attempts" in message
    retries = [r for r in caplog.records if r.getMessage().startswith("retry ")]
    assert [r.getMessage()[:9] for r in retries] == ["retry 1/2", "retry 2/2"]


@pytest.mark.slow
def test_fails_over_from_a_dead_endpoint_to_a_live_one(servers, caplog):
    dead = f"http://127.0.0.1:{free_port()}"
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with OpenAIBackend([dead, servers["paperpred"]], "smol", retries=0) as backend:
        [text] = backend.generate([user(QUESTIONS[2])], GenerationParams(max_tokens=4))
    assert text.strip()
    assert any("failing over" in r.getMessage() and dead in r.getMessage()
               for r in caplog.records)


@pytest.mark.slow
def test_a_client_error_is_not_retried(servers, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    request = ChatRequest([{"role": "user", "content": "Look: <image>"}],
                          [Image.new("RGB", (2, 2))])
    with OpenAIBackend(servers["paperpred"], "smol", retries=3, backoff=0.01) as backend:
        with pytest.raises(OpenAIBackendError, match="HTTP 400.*text-only") as info:
            backend.generate([request], GenerationParams(max_tokens=2))
    assert info.value.status == 400
    assert servers["paperpred"] in str(info.value)
    assert not [r for r in caplog.records if r.getMessage().startswith("retry")]


@pytest.mark.slow
def test_prefix_scoring_equals_the_model_log_probs(servers, reference):
    questions = QUESTIONS[:2]
    with OpenAIBackend(servers["paperpred"], "smol", concurrency=3) as backend:
        scores = backend.score([user(q) for q in questions], LABELS)
        assert backend.scoring_method == "prefix"  # chosen automatically
    with OpenAIBackend(servers["paperpred"], "smol", scoring="prefix",
                       score_end_of_turn=False) as backend:
        open_turn = backend.score([user(q) for q in questions], LABELS)
    for question, row, row_open in zip(questions, scores, open_turn):
        # with the end-of-turn token, as the offline backends score (comparable across them)
        expected = exact_logprobs(reference, question, LABELS, end_of_turn=True)
        assert all(math.isfinite(s) and s < 0 for s in row)
        assert row == pytest.approx(expected, abs=1e-3)
        assert sorted(range(3), key=row.__getitem__) == sorted(range(3), key=expected.__getitem__)
        assert row_open == pytest.approx(exact_logprobs(reference, question, LABELS), abs=1e-3)


@pytest.mark.slow
def test_top_logprobs_scoring_is_exact_for_single_token_labels(servers, reference):
    labels = ["Yes", "No", "The"]
    _, tok = reference
    assert all(len(tok(x, add_special_tokens=False).input_ids) == 1 for x in labels)
    question = "Is the sky blue? Answer Yes or No."
    with OpenAIBackend(servers["paperpred"], "smol", scoring="top_logprobs") as backend:
        [row] = backend.score([user(question)], labels)
    assert row == pytest.approx(exact_logprobs(reference, question, labels), abs=1e-3)


@pytest.mark.slow
def test_transformers_serve_cannot_score_and_says_so(servers, model_dir):
    with OpenAIBackend(servers["tserve"], str(model_dir)) as backend:
        with pytest.raises(NoLogprobsError) as info:
            backend.score([user("Is this paper good?")], ["Accept", "Reject"])
        assert backend.scoring_method == "top_logprobs"
    message = str(info.value)
    assert "\n" not in message and servers["tserve"] in message
    assert "no log-probabilities" in message
    with OpenAIBackend(servers["tserve"], str(model_dir), scoring="prefix") as backend:
        with pytest.raises(OpenAIBackendError, match="HTTP 422.*Unexpected keys"):
            backend.score([user("Is this paper good?")], ["Accept"])


@pytest.mark.slow
def test_server_completions_echo_scores_the_prompt(servers, reference):
    _, tok = reference
    question = QUESTIONS[0]
    prompt = tok.apply_chat_template([{"role": "user", "content": question}],
                                     add_generation_prompt=True, tokenize=False)
    body = {"model": "smol", "prompt": prompt + "Paris", "max_tokens": 0, "echo": True,
            "logprobs": 1, "add_special_tokens": False}
    answer = httpx.post(servers["paperpred"] + "/v1/completions", json=body, timeout=60).json()
    lp = answer["choices"][0]["logprobs"]
    assert answer["choices"][0]["text"] == prompt + "Paris"
    tail = [v for v, o in zip(lp["token_logprobs"], lp["text_offset"]) if o >= len(prompt)]
    assert sum(tail) == pytest.approx(exact_logprobs(reference, question, ["Paris"])[0], abs=1e-3)
