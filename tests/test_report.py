"""Reports from real runs of the embedded model: every number in report.md is a number of
metrics.json, report.html embeds its figures, `paperpred report` compares runs, and a sweep
runs its grid, survives a kill without redoing finished cells and compares them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperpred.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def numbers_of(value, found=None):
    """Every number in a JSON value, as the report prints it (3 decimals; ints as they are)."""
    found = set() if found is None else found
    if isinstance(value, bool):
        return found
    if isinstance(value, float):
        found.add(f"{value:.3f}")
    elif isinstance(value, int):
        found |= {str(value), f"{float(value):.3f}"}
    elif isinstance(value, dict):
        for v in value.values():
            numbers_of(v, found)
    elif isinstance(value, list):
        for v in value:
            numbers_of(v, found)
    return found


@pytest.fixture(scope="module")
def run_dir(embedded_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "zero-shot-run"
    assert main(["predict", "--limit", "40", "--input", "review_scores",
                 "--output-dir", str(out), "--no-progress"]) == 0
    return out


def test_every_number_of_the_report_is_in_metrics_json(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    report = (run_dir / "report.md").read_text()
    printed = re.findall(r"-?\d+\.\d{3}\b", report)
    assert len(printed) > 30
    missing = sorted(set(printed) - numbers_of(metrics))
    assert not missing, f"numbers in report.md that metrics.json lacks: {missing}"


def test_the_report_shows_threshold_baselines_and_prior(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    analysis = metrics["analysis"]
    report = (run_dir / "report.md").read_text()
    names = [e["name"] for e in analysis["compared"]]
    assert {"majority", "tfidf_logreg", "mean_rating_rule"} <= set(names)
    for name in names:
        assert f"| {name} |" in report
    threshold = analysis["threshold"]
    assert (f"balanced accuracy {threshold['balanced_accuracy_calibrated']:.3f} on the test "
            "half") in report
    assert "Class prior: " in report and "Data provenance" in report
    assert metrics["provenance"]["data"].endswith("iclr2017.jsonl.gz")
    for warning in analysis["warnings"]:
        assert warning in report


def test_report_html_is_self_contained_with_every_figure(run_dir):
    page = (run_dir / "report.html").read_text()
    images = re.findall(r"<img alt='([^']+)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'",
                        page)
    assert [alt for alt, _ in images] == [
        "ROC curves of the model and its baselines (test half)",
        "Reliability diagram (all evaluated papers)", "Score per true class",
        "Confusion matrix (default rule, all papers)"]
    assert all(len(data) > 2000 for _, data in images)
    assert "http://" not in page and "https://" not in page  # nothing fetched from outside


def test_paperpred_report_rebuilds_and_compares(run_dir, tmp_path, capsys):
    before = (run_dir / "report.md").read_text()
    (run_dir / "report.md").unlink()
    out = tmp_path / "cmp"
    assert main(["report", str(run_dir), str(run_dir), "--out", str(out)]) == 0
    assert (run_dir / "report.md").read_text() == before
    table = (out / "comparison.md").read_text()
    assert table.count("| run |") == 1 and table.count(f"| {run_dir.name} |") == 2
    assert "comparison.html" in capsys.readouterr().out


def _sweep_config(tmp_path: Path) -> Path:
    config = tmp_path / "sweep.yaml"
    config.write_text(f"""command: predict
output_dir: {tmp_path / 'sweep'}
base: {{limit: 8, model: smollm2-135m-instruct}}
grid:
  input: [abstract_only, review_scores]
  output: [binary, multiclass]
""")
    return config


def test_sweep_survives_a_kill_without_redoing_finished_cells(embedded_model, tmp_path):
    config = _sweep_config(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    command = [sys.executable, "-m", "paperpred", "sweep", str(config)]
    listed = subprocess.run([*command, "--list"], env=env, capture_output=True, text=True,
                            check=True).stdout.splitlines()
    assert len(listed) == 4 and all("\tto run\t" in line for line in listed)
    first = tmp_path / "sweep" / "cell-00-abstract_only-binary" / "metrics.json"
    victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not first.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert first.exists()
    stamp = first.stat().st_mtime_ns
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "cell 0: finished earlier, skipped" in done.stdout
    assert first.stat().st_mtime_ns == stamp
    table = (tmp_path / "sweep" / "comparison.md").read_text()
    assert len([line for line in table.splitlines() if line.startswith("| cell-")]) == 4
    html_page = (tmp_path / "sweep" / "comparison.html").read_text()
    assert html_page.count("data:image/png;base64,") == 1
    for line in subprocess.run([*command, "--list"], env=env, capture_output=True, text=True,
                               check=True).stdout.splitlines():
        assert "\tfinished\t" in line


def test_sweep_config_problems_are_named(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: {input: [abstract_only], outptu: [binary]}\n")
    assert main(["sweep", str(bad)]) == 1
    assert "outptu" in capsys.readouterr().err
