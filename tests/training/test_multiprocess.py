"""Training with two processes, from the commands README gives for several GPUs, with CPU
processes instead (gloo): LoRA SFT through LlamaFactory's torchrun (FORCE_TORCHRUN=1
NPROC_PER_NODE=2) and GRPO through `accelerate launch` with the accelerate_config.yaml that
paperpred writes (--num-processes 2). Both ranks train; each step is logged once; one adapter
is written; the held-out evaluation runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _train(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", "paperpred", "train", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=900,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout + result.stderr


def _check_run(run: Path, steps: int) -> None:
    progress = [json.loads(line) for line in (run / "train_progress.jsonl").read_text()
                .splitlines()]
    assert [p["step"] for p in progress] == list(range(1, steps + 1))  # once per step
    adapters = list(run.rglob("adapter_model.safetensors"))
    final = run / "checkpoints" / "adapter_model.safetensors"
    assert final in adapters  # one adapter (plus checkpoint-N copies inside checkpoint folders)
    assert all(a == final or a.parent.name.startswith("checkpoint-") for a in adapters)
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    assert metrics["n"] > 0 and "analysis" in metrics
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["steps"] == steps


@pytest.fixture
def common(tiny_qwen2_dir):
    return ["--model", str(tiny_qwen2_dir), "--limit", "40", "--max-steps", "2",
            "--input", "review_scores", "--batch-size", "2"]


def test_sft_with_torchrun_two_processes(tmp_path, common):
    run = tmp_path / "runs" / "sft"
    out = _train(["--config", str(ROOT / "configs" / "train_sft_cpu.yaml"), *common,
                  "--output-dir", str(run)], tmp_path,
                 {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2"})
    log = (run / "train.log").read_text()
    assert "Initializing 2 distributed tasks" in log  # LlamaFactory's torchrun launch
    for rank in (0, 1):
        assert f"Process rank: {rank}, world size: 2, device: cpu" in log
    assert "Total train batch size (w. parallel, distributed & accumulation) = 4" in log
    _check_run(run, 2)
    assert "held-out" in out


def test_grpo_with_accelerate_two_processes(tmp_path, common):
    run = tmp_path / "runs" / "grpo"
    # batch_size counts completions per process: 8 x 2 processes = 4 prompts x 4 generations
    # (stratified batches need a multiple of the 2 classes per step)
    out = _train(["--config", str(ROOT / "configs" / "train_grpo_cpu.yaml"), *common,
                  "--batch-size", "8", "--num-processes", "2", "--output-dir", str(run)],
                 tmp_path)
    accelerate = yaml.safe_load((run / "accelerate_config.yaml").read_text())
    assert accelerate["num_processes"] == 2
    log = (run / "train.log").read_text()
    assert log.startswith(f"$ accelerate launch --config_file {run / 'accelerate_config.yaml'}")
    assert "[rank0]" in log and "[rank1]" in log  # two DDP processes
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["world_size"] == 2
    progress = [json.loads(line) for line in (run / "train_progress.jsonl").read_text()
                .splitlines()]
    assert all("rewards/binary_reward/mean" in p for p in progress)
    _check_run(run, 2)
    assert "held-out" in out
