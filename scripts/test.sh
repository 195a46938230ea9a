#!/usr/bin/env bash
# The test suite: lint (ruff) and types (mypy) as configured in pyproject.toml, then pytest in
# the main environment (.venv), then the vLLM engine tests in the vLLM environment (.venv-vllm,
# built on first use; vLLM needs transformers 5.x, which LlamaFactory does not accept).
# Offline, CPU only. Extra arguments go to the main pytest run, and skip the vLLM part;
# PAPERPRED_SKIP_VLLM=1 skips it too.
source "$(dirname "$0")/env.sh"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
echo "[paperpred] ruff check (pyproject.toml [tool.ruff])" >&2
ruff check src tests bench examples
echo "[paperpred] mypy (pyproject.toml [tool.mypy])" >&2
mypy
if ! command -v chromium >/dev/null 2>&1; then
  # the browser test of report.html (tests/test_report_browser.py) drives Debian's Chromium
  echo "[paperpred] installing Debian's chromium for the report's browser test" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
fi
python -m pytest "$@"
if [ "$#" -eq 0 ] && [ "${PAPERPRED_SKIP_VLLM:-0}" != 1 ]; then
  echo "[paperpred] the vLLM engine tests, in the vLLM environment (.venv-vllm)" >&2
  # the LoRA test trains its adapter with paperpred train in the main environment
  export PAPERPRED_MAIN_PYTHON="$(command -v python)"
  source "$ROOT/scripts/vllm-env.sh"
  python -m pytest tests/engine_vllm
fi
