"""The examples run end to end (the spec's Quick Start, Example 1 and Example 4), so they
cannot rot: each on a few real papers, in a temporary working folder."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("script,args,expected", [
    ("quickstart.py", ["--limit", "2"], "balanced accuracy"),
    ("example4_batch.py", ["--limit", "2", "--out", "results/p.json"], "Results saved to"),
    ("example1_text_images.py", ["--limit", "2", "--workdir", "work"],
     "images per prompt: [2, 2]"),
])
def test_example_runs(embedded_model, tmp_path, script, args, expected):
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected in result.stdout
