#!/usr/bin/env bash
# The test suite: offline, CPU only. Extra arguments go to pytest.
source "$(dirname "$0")/env.sh"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec python -m pytest "$@"
