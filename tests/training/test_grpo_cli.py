"""`paperpred train --mode grpo` end to end: a user reward named on the command line, the
held-out evaluation with the adapter, progress in the run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from paperpred.cli.main import main
from paperpred.modes.progress import read_progress

pytest.importorskip("trl", reason="TRL is not installed (paperpred[train])")

ROOT = Path(__file__).resolve().parents[2]

REWARDS = '''
CALLS = []

def length_reward(prediction, ground_truth):
    CALLS.append((prediction, ground_truth))
    return min(len(prediction), 20) / 20.0
'''


def test_train_grpo_with_a_named_reward(tiny_qwen2_dir, tmp_path, monkeypatch, capsys):
    (tmp_path / "my_rewards.py").write_text(REWARDS)
    monkeypatch.syspath_prepend(str(tmp_path))
    run = tmp_path / "run"
    args = ["train", "--mode", "grpo", "--model", str(tiny_qwen2_dir), "--limit", "8",
            "--input", "abstract_only", "--max-steps", "2", "--batch-size", "2",
            "--gradient-accumulation-steps", "1", "--grpo-group-size", "2",
            "--test-size", "0.25", "--reward", "my_rewards:length_reward",
            "--reward-weight", "2.0", "--extra", "max_completion_length=8",
            "--output-dir", str(run)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "held-out evaluation (grpo) of 2 papers" in out
    import my_rewards

    assert my_rewards.CALLS and all(truth in ("Answer: Accept", "Answer: Reject")
                                    for _, truth in my_rewards.CALLS)
    config = yaml.safe_load((run / "grpo_config.yaml").read_text())
    assert config["grpo"]["num_generations"] == 2 and config["grpo"]["reward_weights"] == [2.0]
    steps = [r for r in read_progress(run / "train_progress.jsonl") if "reward" in r]
    assert [r["step"] for r in steps] == [1, 2]
    assert all("kl" in r and "loss" in r for r in steps)
    assert (run / "checkpoints" / "adapter_model.safetensors").is_file()
    assert json.loads((run / "eval" / "metrics.json").read_text())["n"] == 2
    # finished: refused without --overwrite
    assert main(args) == 1
    assert "already holds a trained adapter" in capsys.readouterr().err


def test_shipped_grpo_cpu_config_writes_stratified_batches(tmp_path, capsys):
    """configs/train_grpo_cpu.yaml on the bundled sample: every step's 8 prompts are 4
    accepted and 4 rejected papers, read in order by TRL."""
    from paperpred.modes.grpo.config import read_grpo_config

    run = tmp_path / "run"
    assert main(["train", "--config", str(ROOT / "configs" / "train_grpo_cpu.yaml"),
                 "--model", "tiny-qwen2", "--output-dir", str(run), "--config-only"]) == 0
    cfg = read_grpo_config(run / "grpo_config.yaml")
    assert cfg["grpo"]["shuffle_dataset"] is False and cfg["data"]["interleaved"] is True
    accept, reject = cfg["data"]["classes"]["Accept"], cfg["data"]["classes"]["Reject"]
    assert accept == reject > 100  # balance: true, then the classes in turn
    prompts = cfg["grpo"]["per_device_train_batch_size"] // cfg["grpo"]["num_generations"]
    rows = [json.loads(x) for x in open(cfg["data"]["train_file"], encoding="utf-8")]
    for start in range(0, len(rows) - prompts + 1, prompts):
        step = [r["label"] for r in rows[start:start + prompts]]
        assert step.count("Answer: Accept") == step.count("Answer: Reject"), start
