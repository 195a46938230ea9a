"""`paperpred predict`: zero-shot (or adapter) prediction into a run folder, then metrics."""

from __future__ import annotations

import argparse

from paperpred.cli.args import add_component_args, add_flags, echo, overrides, pairs
from paperpred.runs import PredictRun, load_config, predict_into_run

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
    "dtype": "auto (float32 on CPU, bfloat16 on GPU), bfloat16 or float32",
    "max_tokens": "tokens to generate when reading=generate",
    "temperature": "sampling temperature (0 = greedy)",
    "seed": "random seed",
    "output_dir": "run folder (default runs/<mode>-<output>-<input>-<model>[-vllm|-openai])",
    "shard": "i/N: predict shard i (0..N-1) of N only, e.g. $SLURM_ARRAY_TASK_ID/8; then "
             "`paperpred merge RUN_DIR`",
}


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "predict", help="predict with a model and print metrics (the main job)",
        description="Predict and evaluate. With no arguments: zero-shot accept/reject on the "
        "bundled ICLR 2017 sample with the embedded SmolLM2-135M-Instruct, on the CPU.")
    parser.add_argument("--config", help="YAML file of run config keys (flags win)")
    add_flags(parser, FLAGS)
    parser.add_argument("--base-url", dest="base_urls", action="append", default=None,
                        help="OpenAI-compatible endpoint (repeat for several)")
    add_component_args(parser, "include_reviews=true", ", e.g. include_reasoning=true")
    parser.add_argument("--engine-option", action="append", default=[], metavar="KEY=VALUE",
                        help="keyword for the engine, passed unchanged, e.g. "
                        "enforce_eager=true or max_model_len=4096 for vLLM (repeatable)")
    parser.add_argument("--ray-workers", type=int, default=None, metavar="N",
                        help="predict with N Ray actors (one shard each), then merge "
                        "(pip install 'paperpred[ray]')")
    parser.add_argument("--ray-address", default=None,
                        help="Ray cluster to join ('auto', host:6379, ray://host:10001); "
                        "default: a local one")
    parser.add_argument("--ray-gpus", type=float, default=0.0, metavar="G",
                        help="GPUs per Ray worker (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="start the run folder afresh")
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    parser.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    given = overrides(args, FLAGS)
    given["base_urls"] = args.base_urls
    for key, items in (("input_kwargs", args.input_arg), ("output_kwargs", args.output_arg),
                       ("engine_options", args.engine_option)):
        if items:
            given[key] = pairs(items)
    config = load_config(PredictRun, args.config, given)
    if args.ray_workers:
        from paperpred.runs.ray_predict import predict_with_ray

        predict_with_ray(config, args.ray_workers, address=args.ray_address,
                         gpus_per_worker=args.ray_gpus, echo=echo)
        return 0
    predict_into_run(config, overwrite=args.overwrite, show_progress=not args.no_progress,
                     echo=echo)
    return 0
