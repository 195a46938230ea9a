"""Predict into a run folder: what `paperpred predict` does, as a library function.

A run folder holds ``config.yaml`` (the resolved :class:`~paperpred.runs.config.PredictRun`),
``predictions.jsonl`` (the journal: a killed run resumes from it), ``predictions.json``,
``metrics.json``, ``components.json`` (what rebuilds the predictor) and ``report.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from paperpred.batch import BatchPredictor
from paperpred.data.bundled import sample_path
from paperpred.data.loader import ICLRDataLoader
from paperpred.data.report import LoadReport
from paperpred.data.submission import Submission
from paperpred.evaluation.analysis import analyse
from paperpred.inference.embedded import embedded_model_dir, is_complete, is_embedded_alias
from paperpred.metrics_table import render_metrics, summary_lines
from paperpred.modes.run_folder import prepare_run_dir
from paperpred.predict import UnifiedPredictor
from paperpred.report import write_report
from paperpred.runs.config import PredictRun, RunCommon, load_config
from paperpred.runs.shards import (
    collect,
    parse_shard,
    select,
    shard_dir,
    shard_folders,
    write_journal,
)

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    """The default ``echo``: say nothing."""


def load_submissions(config: RunCommon) -> tuple[list[Submission], LoadReport]:
    """The submissions a run config names (``data``, ``split``, ``limit``,
    ``image_base_dir``), loaded leniently, and the load report (skipped rows by reason)."""
    loader = ICLRDataLoader(image_base_dir=config.image_base_dir, strict=False)
    source = sample_path() if config.data == "bundled" else config.data
    subs: list[Submission] = []
    for sub in loader.load(source, split=config.split):
        subs.append(sub)
        if config.limit and len(subs) >= config.limit:
            break
    return subs, loader.report


def build_predictor(config: PredictRun) -> UnifiedPredictor:
    """The predictor of a resolved run config."""
    return UnifiedPredictor.create(config.input, config.output, config.mode,
                                   config=config.predictor, input_kwargs=config.input_kwargs,
                                   output_kwargs=config.output_kwargs)


def predict_into_run(config: PredictRun, submissions: list[Submission] | None = None,
                     overwrite: bool = False, show_progress: bool = True,
                     echo: Echo = _quiet, train: list[Submission] | None = None,
                     provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """Predict into ``config``'s run folder (resumable), then write metrics.json (with the
    report's analysis: baselines, threshold, calibration, per year, warnings), components.json,
    report.md and report.html.

    Args:
        config: a run config (resolved here: the model and its type on this machine).
        submissions: what to predict; None loads what the config names.
        overwrite: start a folder that holds another config's run afresh.
        show_progress: a progress line on stderr.
        echo: where the run's messages go (the CLI passes ``print``).
        train: a training run's training split (the baselines are fitted there); None: the
            calibration half of the papers stands in (see :mod:`paperpred.evaluation.analysis`).
        provenance: what the report says about the data when ``submissions`` are given.

    Returns:
        The metrics (also in ``metrics.json``).

    Raises:
        PaperpredError: the folder holds another config's run (and not ``overwrite``).
    """
    if is_embedded_alias(config.resolved_model()) and not is_complete(embedded_model_dir()):
        echo(f"[paperpred] converting the embedded model into {embedded_model_dir()} "
             "(once; about 30 s)")
    config.resolve()
    shard = parse_shard(config.shard) if config.shard else None
    run_dir = prepare_run_dir(config.run_dir() if shard is None else
                              shard_dir(config.run_dir(), *shard),
                              yaml.safe_dump(config.to_dict(), sort_keys=True), overwrite)
    echo(f"[paperpred] run folder: {run_dir}")
    source = {"run": run_dir.name, "data": str(sample_path()) if config.data == "bundled"
              else config.data, "split": config.split, "limit": config.limit,
              "seed": config.predictor.seed}
    if submissions is None:
        submissions, report = load_submissions(config)
        echo(f"[paperpred] data: {report.summary()}")
        source.update({k: v for k, v in report.to_dict().items()
                       if k != "source" and v not in ({}, [], None)})
    source.update(provenance or {})
    if shard is not None:
        submissions = select(submissions, *shard)
        echo(f"[paperpred] shard {shard[0]}/{shard[1]}: {len(submissions)} papers")
    predictor = build_predictor(config)
    try:
        batch = BatchPredictor(predictor, batch_size=config.predictor.batch_size,
                               show_progress=show_progress)
        result = batch.run(submissions, run_dir / "predictions.json")
    finally:
        predictor.close()
    metrics = result["metrics"]
    if shard is not None:  # the report waits for the merge: it needs every paper
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
        echo(f"[paperpred] shard {shard[0]}/{shard[1]} done: {run_dir}/predictions.json; "
             f"when every shard is done: paperpred merge {config.run_dir()}")
        return metrics
    source["excluded_no_label"] = metrics.get("n_excluded_no_label", 0)
    metrics["analysis"] = analyse(predictor.output_handler, predictor.input_formatter,
                                  result["predictions"], submissions, train=train, metrics=metrics)
    metrics["provenance"] = source
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    (run_dir / "components.json").write_text(json.dumps(predictor.describe(), indent=2) + "\n")
    table = render_metrics(metrics, title=f"{config.mode} {config.output} | {config.input} | "
                                          f"{Path(str(config.model)).name}")
    echo(table)
    echo(summary_lines(metrics))
    _, html_path = write_report(run_dir)
    echo(f"[paperpred] wrote {run_dir}/predictions.jsonl, metrics.json, report.md")
    echo(f"[paperpred] report: {html_path}")
    return metrics


def merge_shards(run_dir: str | Path, show_progress: bool = False, echo: Echo = _quiet,
                 provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the shards of ``run_dir`` (predicted with ``shard: i/N``) into it: every paper
    of the run's data exactly once (else one error naming what is missing or doubled), then
    what :func:`predict_into_run` writes for one process, with nothing predicted again.

    Returns:
        The metrics (also in ``run_dir/metrics.json``).
    """
    folders = shard_folders(run_dir)
    config = load_config(PredictRun, folders[0] / "config.yaml", {"output_dir": str(run_dir)})
    config.shard = None
    submissions, _ = load_submissions(config)
    records = collect(folders, [s.submission_id for s in submissions])
    write_journal(Path(run_dir), records)
    echo(f"[paperpred] merged {len(records)} papers from {len(folders)} shards of {run_dir}")
    return predict_into_run(config, show_progress=show_progress, echo=echo,
                            provenance={"shards": len(folders), **(provenance or {})})
