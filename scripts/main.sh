#!/usr/bin/env bash
# The main job on the embedded defaults. Extra arguments go to the command.
source "$(dirname "$0")/env.sh"
exec paperpred predict "$@"
