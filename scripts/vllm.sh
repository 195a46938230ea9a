#!/usr/bin/env bash
# `paperpred` in the vLLM environment (.venv-vllm, built on first use). Arguments go to the
# command, e.g.: bash scripts/vllm.sh predict --backend vllm --limit 50
source "$(dirname "$0")/vllm-env.sh"
exec paperpred "$@"
