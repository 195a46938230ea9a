# Sourced by training commands: create or reuse the training environment in .venv-train
# (paperpred plus LlamaFactory 0.9.5 for LoRA SFT and TRL 0.24.0 for GRPO) and (re)install
# only when pyproject.toml or this script changed. See docs/training-environment.md.
#
# It is the main stack (torch 2.14.1 / torchvision 0.29.1 from this machine's disk,
# transformers 4.57.1, datasets 4.0.0, accelerate 1.11.0, peft 0.18.1) plus:
#   - torchaudio 2.11.0 from PyPI: LlamaFactory imports it at module level
#     (llamafactory/data/mm_plugin.py), also for text-only SFT. The 2.11.0 wheel is built on
#     torch's stable ABI (*.abi3.so) and declares no torch requirement, so it loads beside
#     torch 2.14.1 (its C++ ops included) and pulls no other torch.
#   - pydantic 2.12.3: gradio 5.50.0 (a hard LlamaFactory dependency) caps pydantic at
#     <=2.12.3, so paperpred's `serve` extra (pydantic==2.14.4) is not installed here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/venv-lib.sh"
if venv_prepare "${PAPERPRED_TRAIN_VENV:-$ROOT/.venv-train}" train \
    "$ROOT/pyproject.toml" "$ROOT/scripts/train-env.sh" "$ROOT/scripts/venv-lib.sh"; then
  echo "[paperpred] installing paperpred + LlamaFactory + TRL into $VENV_DIR (first run only, a few minutes; log: $VENV_DIR/install.log)" >&2
  # One resolve: paperpred's own pins (torch==2.14.1 etc.) hold for LlamaFactory's and TRL's
  # open ranges, so no second torch is pulled.
  venv_install -e "$ROOT" \
    "llamafactory==0.9.5" "trl==0.24.0" "torchaudio==2.11.0" \
    "gradio==5.50.0" "pydantic==2.12.3" "pytest==8.4.2"
  "$VENV_DIR/bin/python" -m pip freeze >"$VENV_DIR/freeze.txt" 2>/dev/null || true
  venv_done
fi
export PATH="$VENV_DIR/bin:$PATH"
cd "$ROOT"
