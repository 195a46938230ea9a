"""A LoRA adapter trained by ``paperpred train`` (LlamaFactory, in the main environment) scores
the same through vLLM (LoRARequest, float32) as through the transformers backend there.

The adapter and the main environment's scores are made by adapter_in_main_env.py, run with the
main environment's python: ``$PAPERPRED_MAIN_PYTHON`` (scripts/test.sh sets it), else
``.venv/bin/python`` beside this checkout. One vLLM engine for the module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

vllm = pytest.importorskip("vllm", reason="vLLM lives in .venv-vllm (scripts/vllm-env.sh)")

from paperpred.inference.base import ChatRequest  # noqa: E402
from paperpred.inference.vllm_backend import VLLMBackend  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def main_python() -> Path:
    found = Path(os.environ.get("PAPERPRED_MAIN_PYTHON") or ROOT / ".venv" / "bin" / "python")
    if not found.exists():
        pytest.fail(f"the main environment's python ({found}) is missing: run scripts/test.sh, "
                    "or set PAPERPRED_MAIN_PYTHON to .venv/bin/python", pytrace=False)
    return found


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("lora")
    # A clean environment: a vLLM engine built earlier in this process leaves LD_PRELOAD (its
    # torch's libgomp), LD_LIBRARY_PATH, KMP_* and LOCAL_WORLD_SIZE in os.environ, and the
    # main environment's training and scoring must not inherit them.
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PAPERPRED_CACHE", "HF_HOME",
            "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run([str(main_python()), str(HERE / "adapter_in_main_env.py"), str(out)],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / "adapter.json").read_text())


@pytest.fixture(scope="module")
def engine(trained):
    backend = VLLMBackend("smollm2-135m-instruct", adapter_path=trained["adapter"],
                          dtype="float32", enforce_eager=True, max_model_len=2048)
    yield backend
    backend.close()


def test_the_adapter_moves_the_main_environments_scores(trained):
    """Else equal scores below would not show that vLLM applied the adapter."""
    moved = max(abs(a - b) for ra, rb in zip(trained["scores"]["adapter"],
                                             trained["scores"]["base"], strict=True)
                for a, b in zip(ra, rb, strict=True))
    print(f"the adapter moved the main environment's scores by up to {moved:.3f}",
          file=sys.stderr)
    assert 0.5 < moved < 30, f"the adapter moved the scores by {moved:.3f} (0.5-30 expected)"


def test_vllm_with_the_adapter_equals_transformers_with_it(trained, engine):
    requests = [ChatRequest(m) for m in trained["messages"]]
    got = engine.score(requests, trained["candidates"])
    want = trained["scores"]["adapter"]
    worst = max(abs(a - b) for rg, rw in zip(got, want, strict=True)
                for a, b in zip(rg, rw, strict=True))
    print(f"vLLM vs transformers with the adapter: max |diff| {worst:.2e}", file=sys.stderr)
    assert worst < 1e-2, (f"vLLM {got} | transformers with the adapter {want} | without "
                          f"{trained['scores']['base']} | model {engine.model_path}")
