"""Prediction beyond one process: `paperpred predict --shard i/N` + `paperpred merge`, and
`paperpred predict --ray-workers 2` on a real local Ray cluster of two worker nodes; both give
the predictions of one process, every paper once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paperpred.data import load_sample
from paperpred.errors import ConfigError, PaperpredError
from paperpred.runs import PredictRun, load_config, merge_shards, predict_into_run
from paperpred.runs.shards import parse_shard, select, shard_of
from paperpred.testing.servers import free_port

LIMIT = 20


def _cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "paperpred", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def _predictions(run_dir: Path) -> list[tuple]:
    data = json.loads((run_dir / "predictions.json").read_text())
    return [(p["submission_id"], p["prediction"], p.get("scores")) for p in data["predictions"]]


@pytest.fixture(scope="module")
def model_args(tiny_qwen2_dir):
    return ["--model", str(tiny_qwen2_dir), "--limit", str(LIMIT), "--batch-size", "4",
            "--no-progress"]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, tiny_qwen2_dir):
    run_dir = tmp_path_factory.mktemp("one") / "run"
    config = load_config(PredictRun, None, {"model": str(tiny_qwen2_dir), "limit": LIMIT,
                                            "batch_size": 4, "output_dir": str(run_dir)})
    predict_into_run(config, show_progress=False)
    return run_dir


def test_shards_are_stable_disjoint_and_cover_everything():
    subs = load_sample(strict=False)
    parts = [select(subs, i, 3) for i in range(3)]
    ids = [s.submission_id for part in parts for s in part]
    assert sorted(ids) == sorted(s.submission_id for s in subs) and len(set(ids)) == len(ids)
    assert min(len(p) for p in parts) > len(subs) / 3 * 0.8  # roughly even
    assert shard_of("H1oyRlYgg", 4) == int(__import__("hashlib").sha256(b"H1oyRlYgg")
                                           .hexdigest(), 16) % 4
    assert parse_shard(" 3 / 4 ") == (3, 4)
    for bad in ("4/4", "1", "-1/2", "a/b", "1/0"):
        with pytest.raises(ConfigError, match="i/N"):
            parse_shard(bad)
    with pytest.raises(ConfigError, match="shard"):
        load_config(PredictRun, None, {"shard": "2/2"})


def test_two_shards_merged_equal_one_process(tmp_path, model_args, one_process):
    run = tmp_path / "runs" / "sharded"
    for index in (1, 0):  # any order, any machine
        result = _cli("predict", *model_args, "--shard", f"{index}/2", "--output-dir", str(run),
                      cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        assert f"shard {index}/2 done" in result.stdout
        assert f"paperpred merge {run}" in result.stdout
    assert not (run / "predictions.json").exists()  # nothing merged yet
    merged = _cli("merge", str(run), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr[-2000:]
    assert f"merged {LIMIT} papers from 2 shards" in merged.stdout
    assert _predictions(run) == _predictions(one_process)
    data = json.loads((run / "predictions.json").read_text())
    assert data["run"]["predicted_now"] == 0  # the merge predicted nothing again
    metrics = json.loads((run / "metrics.json").read_text())
    reference = json.loads((one_process / "metrics.json").read_text())
    assert metrics["provenance"]["shards"] == 2
    assert metrics["balanced_accuracy"] == reference["balanced_accuracy"]
    assert (run / "report.html").is_file()


def test_merge_refuses_missing_unfinished_and_overlapping_shards(tmp_path, tiny_qwen2_dir):
    run = tmp_path / "run"

    def shard(index, n=3):
        config = load_config(PredictRun, None, {"model": str(tiny_qwen2_dir), "limit": 9,
                                                "output_dir": str(run), "shard": f"{index}/{n}"})
        predict_into_run(config, show_progress=False)

    with pytest.raises(PaperpredError, match="no shard folders"):
        merge_shards(run)
    shard(0)
    shard(2)
    with pytest.raises(PaperpredError, match=r"shards 1 of 3 have not run: .*--shard 1/3"):
        merge_shards(run)
    shard(1)
    folder = run / "shards" / "1-of-3"
    (folder / "predictions.json").unlink()  # as if killed before the end
    with pytest.raises(PaperpredError, match="shard 1/3 has not finished"):
        merge_shards(run)
    shard(1)  # resumes from its journal: nothing to redo
    theirs = (run / "shards" / "0-of-3" / "predictions.jsonl").read_text().splitlines()[0]
    with open(folder / "predictions.jsonl", "a") as handle:
        handle.write(theirs + "\n")
    with pytest.raises(PaperpredError, match="predicted by two shards|belongs to shard 0"):
        merge_shards(run)


@pytest.fixture
def ray_cluster(tmp_path):
    """A real Ray cluster on this machine: a head node and a second worker node, 1 CPU each."""
    ray = shutil.which("ray", path=str(Path(sys.executable).parent))
    assert ray, "the ray CLI comes with paperpred[ray] (the test extra)"
    port = free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    try:
        subprocess.run([ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port",
                        str(port), "--include-dashboard=false", *common], env=env, check=True,
                       capture_output=True, timeout=120)
        subprocess.run([ray, "start", "--address", f"127.0.0.1:{port}", *common], env=env,
                       check=True, capture_output=True, timeout=120)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True, timeout=120)


def test_a_local_ray_cluster_of_two_workers_equals_one_process(tmp_path, model_args,
                                                                one_process, ray_cluster):
    run = tmp_path / "runs" / "ray"
    result = _cli("predict", *model_args, "--ray-workers", "2", "--ray-address", ray_cluster,
                  "--output-dir", str(run), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Ray: 2 nodes, 2 CPUs" in result.stdout
    nodes = {line.rsplit(" ", 1)[1] for line in result.stdout.splitlines()
             if " papers on node " in line}
    assert len(nodes) == 2  # one actor per node: 1 CPU each
    assert _predictions(run) == _predictions(one_process)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["provenance"]["ray_workers"] == 2
    assert len(metrics["provenance"]["ray_nodes"]) == 2
