"""Train into a run folder: what `paperpred train` and `paperpred prepare` do, as library
functions.

``train_into_run`` loads the data, splits off a stratified held-out part, formats the training
rows, writes the dataset and the engine's config into the run folder, trains a LoRA adapter
(LlamaFactory for SFT, TRL for GRPO), then predicts the held-out part with the adapter (and the
baselines fitted on the training part) into ``eval/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from paperpred.config import TrainingMode, vision_problem
from paperpred.data.splits import balance_classes, stratified_split
from paperpred.data.submission import Submission
from paperpred.errors import ConfigError
from paperpred.evaluation.baselines import compute_baselines
from paperpred.inputs import get_input_formatter
from paperpred.metrics_table import render_comparison
from paperpred.modes import get_mode_class
from paperpred.modes.run_folder import SUMMARY, adapter_dir, holds_adapter_of
from paperpred.outputs import get_output_handler
from paperpred.runs.config import PredictRun, TrainRun
from paperpred.runs.predict import load_submissions, predict_into_run

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    """The default ``echo``: say nothing."""


@dataclass
class Prepared:
    """A training mode with its dataset written, and the split it was made from."""

    mode: Any
    train: list[Submission]
    test: list[Submission]
    data_info: dict[str, Any]


@dataclass
class TrainResult:
    """What ``train_into_run`` did: the run folder, the config it trained, the trainer's
    summary and the held-out rows (name, metrics) of the adapter, the zero-shot model when
    asked, and the baselines."""

    run_dir: Path
    config_path: Path
    summary: dict[str, Any] | None = None
    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def build_mode(config: TrainRun) -> Any:
    """The training mode object of a resolved ``config`` (SFTLoRAMode or GRPOMode)."""
    formatter = get_input_formatter(config.input, **config.input_kwargs)
    handler = get_output_handler(config.output, **config.output_kwargs)
    problem = vision_problem(formatter, config.training.model_type)
    if problem:
        raise ConfigError(problem)
    return get_mode_class(config.mode)(config.training, formatter, handler)


def split_for_training(config: TrainRun, submissions: list[Submission],
                       echo: Echo = _quiet) -> tuple[list[Submission], list[Submission]]:
    """(train, held out): a stratified split by ``test_size``; ``balance`` downsamples the
    training part to equal classes."""
    stratum = "binary" if config.output == "binary" else "multiclass"
    train, test = list(submissions), []
    if config.test_size:
        split = stratified_split(submissions, ratios=(1 - config.test_size, 0.0,
                                                      config.test_size),
                                 seed=config.training.seed, stratify_by=stratum)
        if split.excluded:
            echo(f"[paperpred] split: {len(split.excluded)} submissions in no part: "
                 + ", ".join(f"{k}: {v}" for k, v in split.excluded_reasons.items()))
        train, test = list(split.train), list(split.test)
    if config.balance:
        balanced = balance_classes(train, seed=config.training.seed, label_fn=stratum)
        echo(f"[paperpred] balanced the training split to {len(balanced)} papers "
             f"({len(train) - len(balanced)} left out)")
        train = balanced
    return train, test


def prepare_into(config: TrainRun, out_dir: Path, echo: Echo = _quiet) -> Prepared:
    """Load, split and format the data of ``config`` and write the training dataset into
    ``out_dir/data`` (the held-out ids into ``out_dir/held_out_ids.json``)."""
    config.resolve()
    submissions, report = load_submissions(config)
    echo(f"[paperpred] data: {report.summary()}")
    train, test = split_for_training(config, submissions, echo)
    mode = build_mode(config)
    samples = mode.format_samples(train, include_label=True)
    echo(f"[paperpred] training rows: {mode.format_report.summary()}; held out: {len(test)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    info = mode.prepare_data(samples, out_dir / "data")
    (out_dir / "held_out_ids.json").write_text(json.dumps(
        [s.submission_id for s in test]) + "\n")
    return Prepared(mode, train, test, info)


def train_into_run(config: TrainRun, config_only: bool = False,
                   compare_zero_shot: bool = False, overwrite: bool = False,
                   echo: Echo = _quiet) -> TrainResult:
    """Train ``config`` into its run folder, then evaluate the adapter on the held-out part.

    Args:
        config: the run (resolved here: model, model type, run folder).
        config_only: write the dataset and the engine's config, do not train.
        compare_zero_shot: also predict the held-out part with the base model.
        overwrite: start afresh over a finished or killed run.
        echo: where the run's messages go (the CLI passes ``print``).
    """
    config.resolve()
    run_dir = config.run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run_config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=True))
    echo(f"[paperpred] run folder: {run_dir}")
    prepared = prepare_into(config, run_dir, echo)
    config_path = Path(prepared.mode.generate_config(prepared.data_info, run_dir))
    echo(f"[paperpred] training config: {config_path}")
    result = TrainResult(run_dir, config_path)
    if config_only:
        engine = ("llamafactory-cli train" if config.mode == TrainingMode.SFT_LORA.value
                  else "python -m paperpred.modes.grpo.worker")
        echo(f"[paperpred] train with: {engine} {config_path}")
        return result
    if (not overwrite and prepared.test and not (run_dir / "eval" / "metrics.json").exists()
            and holds_adapter_of(adapter_dir(run_dir), yaml.safe_load(config_path.read_text()))):
        # killed after training, during the held-out evaluation: that evaluation resumes
        echo("[paperpred] the adapter was trained earlier with this config; resuming the "
             "held-out evaluation")
        summary = run_dir / SUMMARY
        result.summary = json.loads(summary.read_text()) if summary.exists() else {}
    else:
        result.summary = prepared.mode.train(config_path, overwrite=overwrite)
    echo(f"[paperpred] trained: {json.dumps(result.summary, default=str)}")
    if prepared.test:
        result.rows.append(("adapter", _evaluate(config, prepared, run_dir, True, echo)))
        if compare_zero_shot:
            result.rows.append(("zero-shot", _evaluate(config, prepared, run_dir, False, echo)))
        _compare_baselines(prepared, run_dir, result.rows, echo)
    return result


def _evaluate(config: TrainRun, prepared: Prepared, run_dir: Path, adapter: bool,
              echo: Echo) -> dict[str, Any]:
    test = prepared.test
    folder = run_dir / ("eval" if adapter else "eval-zero-shot")
    mode = config.mode if adapter else TrainingMode.ZERO_SHOT.value
    run = PredictRun(data=config.data, input=config.input, input_kwargs=config.input_kwargs,
                     output=config.output, output_kwargs=config.output_kwargs, mode=mode,
                     model=config.model, model_type=config.training.model_type.value,
                     output_dir=str(folder))
    run.predictor.adapter_path = str(adapter_dir(run_dir)) if adapter else None
    run.predictor.batch_size = config.eval_batch_size
    run.predictor.seed = config.training.seed
    echo(f"[paperpred] held-out evaluation ({mode}) of {len(test)} papers into {folder}")
    provenance = {"data": config.data, "split": config.split, "limit": config.limit,
                  "seed": config.training.seed, "part": f"held-out part of {run_dir.name} "
                  f"(test_size {config.test_size}, stratified)",
                  "training_papers": len(prepared.train)}
    return predict_into_run(run, test, echo=echo, train=prepared.train, provenance=provenance)


def _compare_baselines(prepared: Prepared, run_dir: Path,
                       rows: list[tuple[str, dict[str, Any]]], echo: Echo) -> None:
    """The baselines that apply, fitted on the training split and scored on the whole held-out
    part, beside the adapter (``eval/baselines.json``; the report compares them on the test
    half, see :mod:`paperpred.evaluation.analysis`)."""
    mode = prepared.mode
    baselines = compute_baselines(mode.output_handler, mode.input_formatter, prepared.train,
                                  prepared.test)
    (run_dir / "eval" / "baselines.json").write_text(json.dumps(
        [b.to_dict() for b in baselines], indent=2, default=str) + "\n")
    table = render_comparison(rows + [(b.name, b.metrics) for b in baselines],
                              title=f"held-out {len(prepared.test)} papers: adapter vs "
                                    "baselines (fitted on the training split)")
    echo(table)
