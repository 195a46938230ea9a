"""The spec's Example 3 (GRPO for citation percentiles, text + page images) runs end to end at
small scale: real 2017 rows, generated PDFs rendered to pages, a tiny Qwen2.5-VL, the spec's
proximity_reward as written (its errors on unreadable answers are counted, not fatal)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "example3_grpo_citation.py"

pytest.importorskip("trl", reason="TRL (paperpred[train]) is not installed")


def test_example3_grpo_citation_runs(tiny_vl_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--limit", "4", "--max-steps", "2", "--workdir", "work"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GRPO steps: 2, prompts: 4, images: 8" in result.stdout
    assert "adapter predictions: [" in result.stdout
    run = tmp_path / "work" / "outputs" / "grpo_citation"
    steps = [json.loads(x) for x in (run / "train_progress.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps] == [1, 2]
    assert all("rewards/proximity_reward/mean" in s and "kl" in s for s in steps)
    # the random policy's answers are unreadable, so proximity_reward raises on them: counted
    errors = [s["reward_errors"] for s in steps]
    assert all(e == s.get("reward_errors/proximity_reward", 0) for e, s in zip(errors, steps))
    assert sum(errors) > 0 and "[paperpred] warning: reward function 'proximity_reward'" \
        in result.stderr
    assert (run / "checkpoints" / "adapter_model.safetensors").is_file()
