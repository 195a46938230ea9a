"""`paperpred predict`: zero-shot (or adapter) prediction into a run folder, then metrics."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import yaml

from paperpred.runs import RunConfig, load_run_config, prepare_run_dir

FLAGS = {
    "data": "'bundled' (default), a CSV/JSONL/parquet file or a dataset path/name",
    "split": "dataset split: 'all', a split name or a year",
    "limit": "predict the first N submissions only",
    "image_base_dir": "folder of <submission_id>/ page images",
    "input": "input formatter (see `paperpred list`)",
    "output": "output handler: binary, multiclass, citation_percentile, mean_rating",
    "mode": "zero_shot, or sft_lora/grpo with --adapter-path",
    "model": "hub name, local path or smollm2-135m-instruct (the embedded default)",
    "model_type": "auto, text_only or vision_language",
    "adapter_path": "LoRA adapter folder",
    "backend": "auto, transformers, vllm or openai",
    "reading": "auto, score (label scoring) or generate",
    "batch_size": "papers per batch (each batch is saved before the next)",
    "max_tokens": "tokens to generate when reading=generate",
    "temperature": "sampling temperature (0 = greedy)",
    "seed": "random seed",
    "output_dir": "run folder (default runs/<mode>-<output>-<input>-<model>)",
}


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "predict", help="predict with a model and print metrics (the main job)",
        description="Predict and evaluate. With no arguments: zero-shot accept/reject on the "
        "bundled ICLR 2017 sample with the embedded SmolLM2-135M-Instruct, on the CPU.")
    parser.add_argument("--config", help="YAML file of RunConfig keys (flags win)")
    for name, text in FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None, help=text)
    parser.add_argument("--base-url", dest="base_urls", action="append", default=None,
                        help="OpenAI-compatible endpoint (repeat for several)")
    parser.add_argument("--input-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="formatter keyword, e.g. include_reviews=true (repeatable)")
    parser.add_argument("--output-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="handler keyword, e.g. include_reasoning=true (repeatable)")
    parser.add_argument("--overwrite", action="store_true", help="start the run folder afresh")
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    parser.set_defaults(run=run_predict)


def pairs(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def load_submissions(config: Any) -> list:
    """The submissions a run config names (``data``, ``split``, ``limit``,
    ``image_base_dir``), loaded leniently: skipped rows are counted and printed."""
    from paperpred.data.bundled import sample_path
    from paperpred.data.loader import ICLRDataLoader

    logging.getLogger("paperpred.data.loader").setLevel(logging.ERROR)
    loader = ICLRDataLoader(image_base_dir=config.image_base_dir, strict=False)
    source = sample_path() if config.data == "bundled" else config.data
    iterator = loader.load(source, split=config.split)
    subs = []
    for sub in iterator:
        subs.append(sub)
        if config.limit and len(subs) >= config.limit:
            break
    print(f"[paperpred] data: {loader.report.summary()}")
    return subs


def build_predictor(config: RunConfig):
    from paperpred.config import ModelType, PredictorConfig
    from paperpred.inference.embedded import embedded_model_dir, is_complete, is_embedded_alias
    from paperpred.inference.models import is_vision_model, resolve_model
    from paperpred.predict import UnifiedPredictor

    if is_embedded_alias(config.resolved_model()) and not is_complete(embedded_model_dir()):
        print(f"[paperpred] converting the embedded model into {embedded_model_dir()} "
              "(once; about 30 s)")
    model = resolve_model(config.resolved_model())
    model_type = config.model_type
    if model_type == "auto":
        model_type = "vision_language" if is_vision_model(model) else "text_only"
    predictor_config = PredictorConfig(
        model_name_or_path=model, model_type=ModelType(model_type),
        adapter_path=config.adapter_path, temperature=config.temperature,
        max_tokens=config.max_tokens, batch_size=config.batch_size, seed=config.seed,
        backend=config.backend, reading=config.reading, base_urls=list(config.base_urls))
    return UnifiedPredictor.create(config.input, config.output, config.mode,
                                   config=predictor_config, input_kwargs=config.input_kwargs,
                                   output_kwargs=config.output_kwargs)


def run_predict(args) -> int:
    overrides = {name: getattr(args, name) for name in FLAGS}
    overrides["base_urls"] = args.base_urls
    if args.input_arg:
        overrides["input_kwargs"] = pairs(args.input_arg)
    if args.output_arg:
        overrides["output_kwargs"] = pairs(args.output_arg)
    config = load_run_config(args.config, overrides)
    config.model = config.resolved_model()
    run_dir = prepare_run_dir(config, overwrite=args.overwrite)
    print(f"[paperpred] run folder: {run_dir}")
    submissions = load_submissions(config)
    predict_and_report(config, submissions, run_dir, show_progress=not args.no_progress)
    return 0


def predict_and_report(config: RunConfig, submissions: list, run_dir: Path,
                       show_progress: bool = True) -> dict[str, Any]:
    """Predict ``submissions`` into ``run_dir`` (predictions.jsonl, resumable), then write
    metrics.json, components.json and report.md and print the metrics table."""
    from paperpred.batch import BatchPredictor
    from paperpred.metrics_table import render_metrics

    predictor = build_predictor(config)
    try:
        batch = BatchPredictor(predictor, batch_size=config.batch_size,
                               show_progress=show_progress)
        output = batch.predict_and_save(submissions, run_dir / "predictions.json")
    finally:
        predictor.close()
    result = json.loads(Path(output).read_text())
    metrics = result["metrics"]
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    (run_dir / "components.json").write_text(json.dumps(predictor.describe(), indent=2) + "\n")
    table = render_metrics(metrics, title=f"{config.mode} {config.output} | {config.input} | "
                                          f"{Path(str(config.model)).name}")
    (run_dir / "report.md").write_text("```\n" + table + "\n```\n")
    print(table)
    print(f"[paperpred] wrote {run_dir}/predictions.jsonl, metrics.json, report.md")
    return metrics
