"""The transformers backend inside the vLLM environment (transformers 5.x, torch 2.13) reads
the embedded model as the main environment does (transformers 4.57): the golden prompt ids
exactly and the golden label scores within 1e-3 in float32 (tests/golden/embedded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="this module checks the vLLM environment (.venv-vllm)")

from paperpred import PredictorConfig, UnifiedPredictor  # noqa: E402

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "golden" / "embedded"
                     / "golden.json").read_text())


def test_transformers_5_gives_the_golden_ids_and_scores(embedded_model, iclr2017):
    import transformers
    from transformers import AutoTokenizer

    assert transformers.__version__ != GOLDEN["transformers"]  # another version than golden's
    tokenizer = AutoTokenizer.from_pretrained(embedded_model)
    for row in GOLDEN["papers"]:
        assert tokenizer(row["text"], add_special_tokens=False)["input_ids"] == row["ids"]
    by_id = {s.submission_id: s for s in iclr2017}
    papers = [by_id[row["submission_id"]] for row in GOLDEN["papers"]]
    predictor = UnifiedPredictor.create("abstract_only", "binary", config=PredictorConfig(
        model_name_or_path=str(embedded_model), backend="transformers", dtype="float32"))
    try:
        results = predictor.predict(papers)
    finally:
        predictor.close()
    worst = max(abs(r["score"] - row["score"]) for r, row in zip(results, GOLDEN["papers"],
                                                                 strict=True))
    assert worst < 1e-3, worst


SCORE_IN_MAIN_ENV = """
import json, sys
from paperpred import PredictorConfig, UnifiedPredictor, load_sample
wanted = json.loads(sys.argv[2])
by_id = {s.submission_id: s for s in load_sample()}
predictor = UnifiedPredictor.create("abstract_only", "binary", config=PredictorConfig(
    model_name_or_path=sys.argv[1], backend="transformers", dtype="float32"))
print(json.dumps([r["score"] for r in predictor.predict([by_id[i] for i in wanted])]))
"""


def test_a_model_converted_here_scores_the_same_in_the_main_environment(embedded_model):
    """Both environments share ~/.cache/paperpred: a checkpoint converted by transformers 5 is
    read by transformers 4 in .venv (its rotary settings included: format 5)."""
    import os
    import subprocess

    config = json.loads((Path(embedded_model) / "config.json").read_text())
    assert config["transformers_version"].startswith("5.")
    assert config["rope_theta"] == config["rope_parameters"]["rope_theta"] == 100000.0
    root = Path(__file__).resolve().parents[2]
    python = Path(os.environ.get("PAPERPRED_MAIN_PYTHON") or root / ".venv" / "bin" / "python")
    if not python.exists():
        pytest.fail(f"the main environment's python ({python}) is missing: run "
                    "scripts/test.sh, or set PAPERPRED_MAIN_PYTHON", pytrace=False)
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONPATH"] = str(root / "src")
    ids = [row["submission_id"] for row in GOLDEN["papers"]]
    done = subprocess.run([str(python), "-c", SCORE_IN_MAIN_ENV, str(embedded_model),
                           json.dumps(ids)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    scores = json.loads(done.stdout.strip().splitlines()[-1])
    worst = max(abs(a - row["score"]) for a, row in zip(scores, GOLDEN["papers"], strict=True))
    assert worst < 1e-3, worst
