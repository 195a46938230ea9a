"""The OpenAI backend against a misbehaving endpoint: real runs through a fault proxy.

A real server (``paperpred serve`` with the embedded SmolLM2-135M-Instruct) sits behind one or
two :class:`~paperpred.testing.fault_proxy.FaultProxy` instances that answer some requests with
429 + Retry-After, 500, 503, a late answer, a truncated body, a connection cut mid-body or
dropped, or die mid-run. The runs are ``paperpred predict --backend openai`` (a subprocess) or
the same run config through BatchPredictor; the reference is a run straight to the server,
without faults. Papers: the first ``N`` of the bundled sample, formatted with ``review_scores``
(short prompts: two ~180-token requests per paper). About 90 s on 2 cores, plus the embedded
model's conversion into the session cache (~30 s) when no test before converted it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from paperpred.batch import BatchPredictor
from paperpred.inference.openai_backend import BadAnswerError, OpenAIBackend
from paperpred.runs import PredictRun, build_predictor, load_config, load_submissions
from paperpred.testing.fault_proxy import (
    FAULT_KINDS,
    FaultProxy,
    at,
    fail_after,
    kill_at,
    no_faults,
    pattern,
)
from paperpred.testing.servers import free_port, stop, wait_ready

N = 12        # papers of the all-faults run (and of the reference)
M = 8         # papers of the exhaustion and failover runs (the reference's first M)
INPUT = "review_scores"
RETRIES = 3
TIMEOUT = 5.0  # s; a "slow" answer costs this much (about 3x a request on a busy machine)
ENGINE = {"concurrency": 1, "retries": RETRIES, "backoff": 0.05, "timeout": TIMEOUT}


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def upstream(embedded_model, tmp_path_factory: pytest.TempPathFactory):
    """``paperpred serve --model smollm2-135m-instruct`` on a free port (the session cache's
    embedded checkpoint, converted by the ``embedded_model`` fixture): its URL."""
    pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn) is not installed")
    log = tmp_path_factory.mktemp("upstream") / "serve.log"
    url = f"http://127.0.0.1:{(port := free_port())}"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "paperpred", "serve", "--model",
                                 "smollm2-135m-instruct", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=_env())
    try:
        try:
            wait_ready(proc, url, log)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        yield url
    finally:
        stop(proc)


def config(urls: list[str], limit: int, output_dir: Path) -> PredictRun:
    """The run config that the CLI builds from :func:`cli_args`."""
    return load_config(PredictRun, None, {
        "backend": "openai", "input": INPUT, "limit": limit, "batch_size": 2,
        "output_dir": str(output_dir), "base_urls": urls, "engine_options": dict(ENGINE)})


def cli_args(urls: list[str], limit: int, output_dir: Path) -> list[str]:
    args = [sys.executable, "-m", "paperpred", "predict", "--backend", "openai",
            "--input", INPUT, "--limit", str(limit), "--batch-size", "2",
            "--output-dir", str(output_dir), "--no-progress"]
    for url in urls:
        args += ["--base-url", url]
    for key, value in ENGINE.items():
        args += ["--engine-option", f"{key}={value}"]
    return args


def cli(urls: list[str], limit: int, output_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cli_args(urls, limit, output_dir), capture_output=True, text=True,
                          env=_env(), timeout=300)


def batch_run(urls: list[str], limit: int, output_dir: Path) -> list[dict]:
    """The run in this process (BatchPredictor, no report): the journal's records."""
    run = config(urls, limit, output_dir).resolve()
    submissions, _ = load_submissions(run)
    predictor = build_predictor(run)
    try:
        BatchPredictor(predictor, batch_size=2, show_progress=False).run(
            submissions, output_dir / "predictions.json", include_metrics=False)
    finally:
        predictor.close()
    return journal(output_dir)


def journal(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def reference(upstream, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The first N papers predicted straight from the server, without faults, in order."""
    records = batch_run([upstream], N, tmp_path_factory.mktemp("reference"))
    assert len(records) == N
    return records


def assert_each_paper_once(records: list[dict], reference: list[dict]) -> None:
    """Every reference paper exactly once, with the reference's prediction and scores."""
    ids = [r["submission_id"] for r in records]
    assert len(ids) == len(set(ids)), f"duplicated papers: {sorted(ids)}"
    assert sorted(ids) == sorted(r["submission_id"] for r in reference), "papers lost"
    by_id = {r["submission_id"]: r for r in reference}
    for record in records:
        expected = by_id[record["submission_id"]]
        assert record["prediction"] == expected["prediction"]
        assert record["score"] == pytest.approx(expected["score"], abs=1e-6)
        assert record["probabilities"] == pytest.approx(expected["probabilities"], abs=1e-6)


def gaps_after(proxy: FaultProxy, kind: str) -> list[float]:
    """Seconds from each ``kind`` fault to the next request the proxy received."""
    events = proxy.events
    return [after.arrived - event.arrived for event, after in zip(events, events[1:])
            if event.kind == kind]


@pytest.fixture(scope="module")
def faulty_run(upstream, reference, tmp_path_factory: pytest.TempPathFactory):
    """`paperpred predict` of N papers through a proxy that injects every fault kind once,
    at POSTs 2, 5, 8, ... (so each request meets at most one fault): (proxy, result, dir)."""
    run_dir = tmp_path_factory.mktemp("faulty") / "run"
    schedule = at({2 + 3 * i: kind for i, kind in enumerate(FAULT_KINDS)})
    with FaultProxy(upstream, schedule, retry_after=1) as proxy:
        result = cli([proxy.url], N, run_dir)
    return proxy, result, run_dir


@pytest.mark.slow
def test_reference_is_a_real_run(reference):
    scores = [r["score"] for r in reference]
    assert all(r["parse_success"] and r["reading"] == "score" for r in reference)
    assert len(set(scores)) == N  # real log-probabilities: no two papers score alike


@pytest.mark.slow
def test_every_fault_kind_is_survived_without_loss_or_duplicates(faulty_run, reference):
    proxy, result, run_dir = faulty_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert proxy.faults == {kind: 1 for kind in FAULT_KINDS}
    assert proxy.forwarded == 2 * N  # one answer per (paper, label): nothing asked twice
    assert_each_paper_once(journal(run_dir), reference)
    final = json.loads((run_dir / "predictions.json").read_text())
    assert [p["submission_id"] for p in final["predictions"]] == \
        [r["submission_id"] for r in reference]
    for kind in ("HTTP 429", "HTTP 500", "HTTP 503", "timeout", "RemoteProtocolError",
                 "not a JSON object"):
        assert kind in result.stderr, f"no retry after {kind}: {result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_retry_after_is_honoured(faulty_run):
    proxy, result, _ = faulty_run
    assert result.returncode == 0, result.stderr[-3000:]
    [after_429] = gaps_after(proxy, "429")
    [after_500] = gaps_after(proxy, "500")
    assert after_429 >= 1.0  # Retry-After: 1, while the backoff is 0.05 s
    assert after_500 < 1.0   # the backoff alone: the 1 s above came from Retry-After


@pytest.mark.slow
def test_exhausted_retries_fail_in_one_line_and_the_rerun_completes(upstream, reference,
                                                                    tmp_path):
    run_dir, done = tmp_path / "run", 4  # papers answered before the endpoint fails for good
    with FaultProxy(upstream, fail_after(2 * done, "503")) as proxy:
        failed = cli([proxy.url], M, run_dir)
        assert failed.returncode == 1
        assert "Traceback" not in failed.stderr
        lines = failed.stderr.strip().splitlines()
        errors = [line for line in lines if line.startswith("paperpred: error:")]
        assert errors == [lines[-1]], failed.stderr[-3000:]
        assert f"{proxy.url}/v1/chat/completions: HTTP 503" in errors[0]
        assert f"gave up after {RETRIES + 1} attempts" in errors[0]
        assert proxy.faults == {"503": RETRIES + 1}
        assert [r["submission_id"] for r in journal(run_dir)] == \
            [r["submission_id"] for r in reference[:done]]

        proxy.schedule = no_faults  # the endpoint recovers
        before = proxy.forwarded
        rerun = cli([proxy.url], M, run_dir)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert proxy.forwarded - before == 2 * (M - done)  # only the missing papers
    assert_each_paper_once(journal(run_dir), reference[:M])


@pytest.mark.slow
def test_an_endpoint_killed_mid_run_fails_over(upstream, reference, tmp_path, caplog):
    caplog.set_level("WARNING", logger="paperpred.inference.openai_backend")
    with FaultProxy(upstream, kill_at(5)) as first, FaultProxy(upstream) as second:
        records = batch_run([first.url, second.url], M, tmp_path / "run")
        assert first.stopped and first.faults == {"kill": 1}
        with pytest.raises(httpx.ConnectError):
            httpx.get(first.url + "/health", timeout=2)
    # round robin, one request at a time: the first proxy answered its first 4 requests and
    # died on its 5th; the second answered everything else, and nothing was asked twice
    assert (first.forwarded, second.forwarded) == (4, 2 * M - 4)
    assert_each_paper_once(records, reference[:M])
    failovers = [r.getMessage() for r in caplog.records if "failing over" in r.getMessage()]
    assert all(first.url in message for message in failovers)
    # the request in flight when it died, then the next one it refused; after that the dead
    # endpoint is tried last (DOWN_FOR_S), so no request meets it again
    assert "Server disconnected" in failovers[0]
    assert len(failovers) == 2 and "cannot connect" in failovers[1]
    assert not [r for r in caplog.records if r.getMessage().startswith("retry ")]


@pytest.mark.slow
def test_a_silent_endpoint_costs_one_timeout_not_one_per_request(upstream, reference,
                                                                 tmp_path):
    def silent(number: int) -> str:
        return "slow"  # holds every request past the client's timeout

    with FaultProxy(upstream, silent) as dead, FaultProxy(upstream) as alive:
        records = batch_run([dead.url, alive.url], M, tmp_path / "run")
    assert dead.faults == {"slow": 1}  # one timeout; then it is tried last, and never needed
    assert alive.forwarded == 2 * M
    assert_each_paper_once(records, reference[:M])


def test_a_stream_cut_between_events_is_not_taken_as_an_answer():
    """The paperpred server answers JSON, so the proxy cannot cut a stream: the merge alone."""
    chunk = {"choices": [{"delta": {"content": "Acc"}, "finish_reason": None}]}
    end = {"choices": [{"delta": {"content": "ept"}, "finish_reason": "stop"}]}
    events = [f"data: {json.dumps(chunk)}\n\n", f"data: {json.dumps(end)}\n\n"]
    for whole in ("".join(events) + "data: [DONE]\n\n",  # OpenAI, vLLM
                  "".join(events)):                       # transformers serve: no [DONE]
        merged = OpenAIBackend._merge_stream("u", whole)
        assert merged["choices"][0]["message"]["content"] == "Accept"
    with pytest.raises(BadAnswerError, match="u: the event stream ended without"):
        OpenAIBackend._merge_stream("u", events[0])
    with pytest.raises(BadAnswerError, match="bad stream data"):
        OpenAIBackend._merge_stream("u", events[0] + events[1][:30])


def test_schedules_are_deterministic():
    schedule = pattern("FF.", ["429", "drop", "slow"])
    assert [schedule(n) for n in range(1, 10)] == \
        ["429", "drop", None, "slow", "429", None, "drop", "slow", None]
    assert [fail_after(2)(n) for n in (1, 2, 3, 9)] == [None, None, "503", "503"]
    assert [kill_at(3, at({1: "500"}))(n) for n in (1, 2, 3)] == ["500", None, "kill"]
