"""The transformers backend inside the vLLM environment (transformers 5.x, torch 2.13) reads
the embedded model as the main environment does (transformers 4.57): the golden prompt ids
exactly and the golden label scores within 1e-3 in float32 (tests/golden/embedded); and a
checkpoint converted here scores the same in the main environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="this module checks the vLLM environment (.venv-vllm)")

from golden_embedded import GOLDEN, check_golden_ids, transformers_score_gap  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_transformers_5_gives_the_golden_ids_and_scores(embedded_model, iclr2017):
    import transformers

    assert transformers.__version__ != GOLDEN["transformers"]  # another version than golden's
    check_golden_ids(embedded_model)
    worst = transformers_score_gap(embedded_model, iclr2017)
    assert worst < 1e-3, worst


SCORE_IN_MAIN_ENV = """
import sys
from golden_embedded import transformers_score_gap
from paperpred import load_sample
print(transformers_score_gap(sys.argv[1], load_sample()))
"""


def test_a_model_converted_here_scores_the_same_in_the_main_environment(embedded_model):
    """Both environments share ~/.cache/paperpred: a checkpoint converted by transformers 5 is
    read by transformers 4 in .venv (its rotary settings included: format 5)."""
    config = json.loads((Path(embedded_model) / "config.json").read_text())
    assert config["transformers_version"].startswith("5.")
    assert config["rope_theta"] == config["rope_parameters"]["rope_theta"] == 100000.0
    python = Path(os.environ.get("PAPERPRED_MAIN_PYTHON") or ROOT / ".venv" / "bin" / "python")
    if not python.exists():
        pytest.fail(f"the main environment's python ({python}) is missing: run "
                    "scripts/test.sh, or set PAPERPRED_MAIN_PYTHON", pytrace=False)
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])
    done = subprocess.run([str(python), "-c", SCORE_IN_MAIN_ENV, str(embedded_model)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    worst = float(done.stdout.strip().splitlines()[-1])
    assert worst < 1e-3, worst
