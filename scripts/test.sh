#!/usr/bin/env bash
# The test suite: lint (ruff) and types (mypy) as configured in pyproject.toml, then pytest;
# offline, CPU only. Extra arguments go to pytest.
source "$(dirname "$0")/env.sh"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
echo "[paperpred] ruff check (pyproject.toml [tool.ruff])" >&2
ruff check src tests bench examples
echo "[paperpred] mypy (pyproject.toml [tool.mypy])" >&2
mypy
exec python -m pytest "$@"
