"""Runs: a run config (YAML + flags) into a run folder. `paperpred predict` is
:func:`predict_into_run`, `paperpred train` is :func:`train_into_run`; the CLI only parses
arguments and prints."""

from paperpred.runs.config import PredictRun, RunCommon, TrainRun, load_config
from paperpred.runs.predict import (
    build_predictor,
    load_submissions,
    merge_shards,
    predict_into_run,
)
from paperpred.runs.train import TrainResult, build_mode, prepare_into, train_into_run

__all__ = [
    "PredictRun",
    "RunCommon",
    "TrainResult",
    "TrainRun",
    "build_mode",
    "build_predictor",
    "load_config",
    "load_submissions",
    "merge_shards",
    "predict_into_run",
    "prepare_into",
    "train_into_run",
]
