# Used by scripts/env.sh: create or reuse a virtual environment and
# reinstall into it only when the files that define it change.
#   if venv_prepare DIR TAG FILE...; then venv_install ARGS...; venv_done; fi
# venv_prepare creates DIR if needed and succeeds when an install is due (its stamp differs from
# the hash of FILE... and TAG); venv_install runs pip into DIR, logging to DIR/install.log and
# stopping with the log's tail on failure; venv_done writes the stamp.
venv_prepare() {
  VENV_DIR="$1"; local tag="$2"; shift 2
  local py="${PYTHON:-python3.11}"
  command -v "$py" >/dev/null 2>&1 || py=python3
  if [ ! -x "$VENV_DIR/bin/python" ]; then
    echo "[paperpred] creating virtual environment in $VENV_DIR" >&2
    "$py" -m venv "$VENV_DIR"
  fi
  VENV_STAMP="$VENV_DIR/.paperpred-install-stamp"
  VENV_WANT="$(cat "$@" | sha256sum | cut -d' ' -f1)-$tag"
  [ ! -f "$VENV_STAMP" ] || [ "$(cat "$VENV_STAMP")" != "$VENV_WANT" ]
}

venv_install() {
  "$VENV_DIR/bin/python" -m pip install "$@" >>"$VENV_DIR/install.log" 2>&1 || {
    tail -n 30 "$VENV_DIR/install.log" >&2
    echo "[paperpred] install failed: see $VENV_DIR/install.log" >&2
    exit 1
  }
}

venv_done() {
  echo "$VENV_WANT" > "$VENV_STAMP"
}
