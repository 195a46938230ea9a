"""`paperpred prepare` and `paperpred train --mode sft` end to end, and the spec's Example 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from paperpred.cli.main import main

pytest.importorskip("llamafactory", reason="LlamaFactory is not installed (paperpred[train])")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_prepare_writes_a_llamafactory_dataset(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["prepare", "--limit", "10", "--input", "abstract_only", "--test-size", "0.2",
                 "--output-dir", str(out)]) == 0
    out_text = capsys.readouterr().out
    info = json.loads(out_text[out_text.index("{"):])
    registry = json.loads((out / "data" / "dataset_info.json").read_text())
    rows = json.loads((out / "data" / "paperpred_train.json").read_text())
    held_out = json.loads((out / "held_out_ids.json").read_text())
    assert list(registry) == ["paperpred_train"] and len(rows) == 8 and len(held_out) == 2
    assert {r["messages"][-1]["content"] for r in rows} <= {"Answer: Accept", "Answer: Reject"}
    assert info["n_samples"] == 8 and info["format"] == "sharegpt"


def test_train_sft_then_held_out_metrics(tiny_qwen2_dir, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--mode", "sft", "--model", str(tiny_qwen2_dir), "--limit", "12",
            "--input", "abstract_only", "--max-steps", "2", "--batch-size", "2",
            "--gradient-accumulation-steps", "1", "--max-length", "384", "--val-size", "0",
            "--test-size", "0.25", "--output-dir", str(run), "--extra", "warmup_ratio=0.0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "held-out evaluation (sft_lora) of 3 papers" in out and "balanced accuracy" in out
    config = yaml.safe_load((run / "sft_config.yaml").read_text())
    assert config["max_steps"] == 2 and config["warmup_ratio"] == 0.0
    assert (run / "checkpoints" / "adapter_model.safetensors").is_file()
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    assert metrics["n"] == 3
    # the baselines that apply (abstract only: no ratings shown), fitted on the training split
    baselines = json.loads((run / "eval" / "baselines.json").read_text())
    assert [b["name"] for b in baselines] == ["majority", "tfidf_logreg"]
    assert all(b["metrics"]["n"] == 3 for b in baselines)
    assert "adapter vs baselines" in out and "majority" in out
    assert "tfidf_logreg" in (run / "eval" / "report.md").read_text()
    predictions = (run / "eval" / "predictions.jsonl").read_text().splitlines()
    held_out = json.loads((run / "held_out_ids.json").read_text())
    assert sorted(json.loads(p)["submission_id"] for p in predictions) == sorted(held_out)
    # a finished run is refused without --overwrite, with one line
    assert main(args) == 1
    assert "already holds a trained adapter" in capsys.readouterr().err
    # killed during the held-out evaluation (adapter written, eval/metrics.json not yet): a
    # rerun does not train again, it finishes the evaluation from its journal
    (run / "eval" / "metrics.json").unlink()
    (run / "eval" / "predictions.jsonl").write_text(predictions[0] + "\n")
    assert main(args) == 0
    assert "resuming the held-out evaluation" in capsys.readouterr().out
    assert json.loads((run / "eval" / "metrics.json").read_text())["n"] == 3
    assert len((run / "eval" / "predictions.jsonl").read_text().splitlines()) == 3


def test_train_config_only_prints_the_command(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--limit", "6", "--input", "abstract_only", "--model", "tiny-qwen2",
                 "--output-dir", str(run), "--config-only", "--deepspeed", "zero2"]) == 0
    out = capsys.readouterr().out
    assert f"llamafactory-cli train {(run / 'sft_config.yaml').resolve()}" in out
    assert (run / "ds_config.json").is_file() and not (run / "checkpoints").exists()


def test_train_config_errors_are_listed(capsys):
    assert main(["train", "--mode", "dpo", "--test-size", "1.5", "--batch-size", "0"]) == 1
    err = capsys.readouterr().err
    assert "mode must be one of sft, grpo" in err and "test_size" in err and "batch_size" in err


def test_example2_sft_multiclass(embedded_model, tmp_path):
    """The spec's Example 2 at small scale on the embedded model (reviews included)."""
    done = subprocess.run([sys.executable, str(EXAMPLES / "example2_sft_multiclass.py"),
                           "--max-steps", "2", "--train-limit", "8", "--test-limit", "4",
                           "--max-review-chars", "200", "--workdir", "work"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Run: llamafactory-cli train" in done.stdout
    assert "Accuracy:" in done.stdout and "Macro F1:" in done.stdout
    run = tmp_path / "work" / "outputs" / "sft_multiclass"
    labels = {json.loads(line)["step"] for line in
              (run / "train_progress.jsonl").read_text().splitlines()}
    assert labels == {1, 2}
    rows = json.loads((tmp_path / "work" / "data" / "sft_multiclass" /
                       "paperpred_train.json").read_text())
    from paperpred import MultiClassDecisionHandler

    assert {r["messages"][-1]["content"] for r in rows} <= set(
        MultiClassDecisionHandler().candidate_texts())
    assert "Reviews (" in rows[0]["messages"][0]["content"]


def test_prepare_balances_the_training_split_only(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["prepare", "--limit", "60", "--input", "review_scores", "--test-size", "0.2",
                 "--balance", "true", "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = json.loads((out / "data" / "paperpred_train.json").read_text())
    answers = [r["messages"][-1]["content"] for r in rows]
    assert answers.count("Answer: Accept") == answers.count("Answer: Reject") > 0
    assert f"balanced the training split to {len(rows)} papers" in printed
    assert len(json.loads((out / "held_out_ids.json").read_text())) == 12  # natural prior kept
    assert "Review 1: rating" in rows[0]["messages"][-2]["content"]
