"""Zero-shot prediction end to end on real models: UnifiedPredictor, ZeroShotMode,
BatchPredictor and `paperpred predict` (killed with SIGKILL, then resumed)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from paperpred import (
    InferenceConfig,
    InputModality,
    ModelType,
    OutputType,
    PredictorConfig,
    TrainingConfig,
    TrainingMode,
    UnifiedPredictor,
    ZeroShotMode,
    get_input_formatter,
    get_output_handler,
)
from paperpred.errors import PaperpredError


@pytest.fixture(scope="module")
def papers(iclr2017):
    """Eight real papers, both classes, plus one withdrawn (no label)."""
    from dataclasses import replace

    accepted = [s for s in iclr2017 if s.get_binary_label() == "Accept"][:4]
    rejected = [s for s in iclr2017 if s.get_binary_label() == "Reject"][:3]
    withdrawn = replace(rejected[-1], submission_id="withdrawn-copy", decision="Withdrawn")
    return accepted + rejected + [withdrawn]


def test_unified_predictor_scores_labels_and_evaluates(embedded_model, papers):
    predictor = UnifiedPredictor.create(
        InputModality.TEXT_ONLY, OutputType.BINARY, TrainingMode.ZERO_SHOT,
        config=PredictorConfig(model_name_or_path=str(embedded_model), batch_size=4),
        input_kwargs={"include_reviews": False})
    result = predictor.predict_with_evaluation(papers)
    predictions, metrics = result["predictions"], result["metrics"]
    assert [p["submission_id"] for p in predictions] == [s.submission_id for s in papers]
    for p in predictions:
        assert p["reading"] == "score" and p["parse_success"] is True
        assert p["prediction"] in ("Accept", "Reject")
        assert abs(sum(p["probabilities"].values()) - 1) < 1e-6
        assert (p["score"] >= 0) == (p["prediction"] == "Accept")
    assert metrics["n"] == 7 and metrics["n_excluded_no_label"] == 1
    assert metrics["auc"] is not None and 0 <= metrics["balanced_accuracy"] <= 1


def test_generation_reading_parses_answers(embedded_model, papers):
    handler = get_output_handler("binary", include_reasoning=False)
    mode = ZeroShotMode(TrainingConfig(model_name_or_path=str(embedded_model)),
                        get_input_formatter("abstract_only"), handler)
    samples = mode.format_samples(papers[:3], include_label=False)
    assert all(s.label is None and s.messages[-1]["role"] == "user" for s in samples)
    out = mode.predict(samples, InferenceConfig(model_name_or_path=str(embedded_model),
                                                reading="generate", max_tokens=12))
    assert [o["reading"] for o in out] == ["generate"] * 3
    assert all(isinstance(o["raw"], str) and o["raw"] for o in out)
    assert all(o["parse_success"] == (o["prediction"] is not None) for o in out)


def test_vision_formatter_needs_a_vision_model(embedded_model):
    with pytest.raises(PaperpredError, match="vision-language model"):
        UnifiedPredictor.create(InputModality.TEXT_WITH_IMAGES, OutputType.BINARY,
                                config=PredictorConfig(model_name_or_path=str(embedded_model)))


def test_trained_modes_need_an_adapter(embedded_model):
    with pytest.raises(PaperpredError, match="adapter_path"):
        UnifiedPredictor.create(InputModality.TEXT_ONLY, OutputType.BINARY, TrainingMode.SFT_LORA,
                                config=PredictorConfig(model_name_or_path=str(embedded_model)))


def test_text_and_page_images_on_tiny_qwen2_5_vl(iclr2017, tmp_path):
    from PIL import Image

    from paperpred.testing.tiny_models import tiny_qwen2_5_vl_path

    subs = iclr2017[:3]
    for sub in subs:
        folder = tmp_path / sub.submission_id
        folder.mkdir()
        for page in range(1, 4):
            Image.new("RGB", (120, 160), (255, 255 - 40 * page, 255)).save(folder / f"p{page}.png")
        sub.image_dir = folder
        sub._page_images = None
    predictor = UnifiedPredictor.create(
        InputModality.TEXT_WITH_IMAGES, OutputType.MULTICLASS,
        config=PredictorConfig(model_name_or_path=str(tiny_qwen2_5_vl_path()),
                               model_type=ModelType.VISION_LANGUAGE, batch_size=2),
        input_kwargs={"include_reviews": False, "max_images": 2})
    result = predictor.predict_with_evaluation(subs)
    assert [p["n_images"] for p in result["predictions"]] == [2, 2, 2]
    assert all(p["prediction"] in ("Reject", "Accept (Poster)", "Accept (Spotlight)",
                                   "Accept (Oral)") for p in result["predictions"])
    assert result["metrics"]["n"] == 3


def _predict_cmd(run_dir, limit, env):
    return [sys.executable, "-m", "paperpred", "predict", "--limit", str(limit),
            "--batch-size", "2", "--output-dir", str(run_dir), "--no-progress"]


def test_cli_killed_halfway_resumes_to_the_same_predictions(embedded_model, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    limit = 8
    reference = tmp_path / "reference"
    subprocess.run(_predict_cmd(reference, limit, env), env=env, check=True,
                   capture_output=True, text=True, timeout=900)
    run = tmp_path / "killed"
    victim = subprocess.Popen(_predict_cmd(run, limit, env), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = run / "predictions.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count("\n") >= 4:
            break
        assert victim.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    done_before = journal.read_text().count("\n")
    assert 4 <= done_before < limit and not (run / "metrics.json").exists()
    resumed = subprocess.run(_predict_cmd(run, limit, env), env=env, check=True,
                             capture_output=True, text=True, timeout=900)
    assert "balanced accuracy" in resumed.stdout
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    ids = [r["submission_id"] for r in lines]
    assert len(ids) == len(set(ids)) == limit
    ref = json.loads((reference / "predictions.json").read_text())["predictions"]
    got = json.loads((run / "predictions.json").read_text())["predictions"]
    assert [p["submission_id"] for p in got] == [p["submission_id"] for p in ref]
    assert [p["prediction"] for p in got] == [p["prediction"] for p in ref]
    for a, b in zip(got, ref):
        assert a["score"] == pytest.approx(b["score"], abs=1e-3)
    final = json.loads((run / "predictions.json").read_text())
    assert final["run"]["resumed_from"] == done_before
    assert json.loads((run / "metrics.json").read_text())["n"] == limit
    assert (run / "config.yaml").exists() and (run / "report.md").exists()
