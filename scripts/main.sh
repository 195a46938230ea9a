#!/usr/bin/env bash
# The main job on the embedded defaults. Extra arguments go to the command (and win).
# Where the CPU computes bfloat16 natively (avx512_bf16 or amx_bf16 in /proc/cpuinfo) the job
# scores in bfloat16, 8 papers a batch: on the bundled 489 papers 2.9x the speed of float32
# with the same decision for every paper and scores within 0.5 log-odds (bench/bench_engines.py,
# README "Speed"). Elsewhere it keeps float32.
source "$(dirname "$0")/env.sh"
FAST=()
if grep -qE 'avx512_bf16|amx_bf16' /proc/cpuinfo 2>/dev/null; then
  FAST=(--dtype bfloat16 --batch-size 8)
fi
exec paperpred predict "${FAST[@]}" "$@"
