"""`paperpred prepare` (a training dataset) and `paperpred train` (LoRA SFT or GRPO, then the
held-out evaluation with the adapter)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from paperpred.cli.args import add_component_args, add_flags, echo, overrides, pairs
from paperpred.runs import TrainRun, load_config, prepare_into, train_into_run

FLAGS = {
    "mode": "sft (LoRA SFT through LlamaFactory) or grpo (GRPO through TRL)",
    "data": "'bundled' (default), a CSV/JSONL/parquet file or a dataset path/name",
    "split": "dataset split: 'all', a split name or a year",
    "limit": "the first N submissions only",
    "image_base_dir": "folder of <submission_id>/ page images",
    "input": "input formatter (see `paperpred list`)",
    "output": "output handler: binary, multiclass, citation_percentile, mean_rating",
    "model": "hub name, local path or smollm2-135m-instruct (the embedded default on CPU)",
    "model_type": "auto, text_only or vision_language",
    "data_format": "sharegpt (default; images) or alpaca (text)",
    "test_size": "held-out fraction predicted with the adapter after training (default 0.2)",
    "balance": "true: downsample the training split to equal classes",
    "learning_rate": "learning rate",
    "num_epochs": "epochs",
    "batch_size": "per-device batch size",
    "gradient_accumulation_steps": "gradient accumulation steps",
    "lora_rank": "LoRA rank",
    "lora_alpha": "LoRA alpha",
    "lora_dropout": "LoRA dropout",
    "max_length": "maximum sequence length (LlamaFactory cutoff_len; GRPO prompt+completion)",
    "val_size": "validation fraction of the training rows (SFT eval loss)",
    "grpo_group_size": "GRPO generations per prompt",
    "grpo_kl_coeff": "GRPO KL weight (beta)",
    "max_steps": "stop after this many optimizer steps",
    "deepspeed": "zero2, zero3 or a DeepSpeed JSON (multi-GPU)",
    "num_processes": "GRPO: processes (GPUs) for accelerate launch",
    "target_device": "auto, cpu or cuda: the machine the training config is written for",
    "template": "SFT: LlamaFactory chat template (default: by model family)",
    "loraplus_lr_ratio": "LoRA+: the B matrices learn at this multiple of the learning rate",
    "stratified_batches": "GRPO: true: every step holds each class equally (decisions)",
    "llamafactory_cli": "the llamafactory-cli to run (another environment's)",
    "eval_batch_size": "papers per batch in the held-out evaluation",
    "seed": "random seed",
    "output_dir": "run folder (default runs/train-<mode>-<output>-<input>-<model>)",
}


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML file of run config keys (flags win)")
    add_flags(parser, FLAGS)
    add_component_args(parser, "max_images=5", "")
    parser.add_argument("--extra", action="append", default=[], metavar="KEY=VALUE",
                        help="LlamaFactory (sft) or GRPOConfig (grpo) argument, passed "
                        "unchanged (repeatable)")
    parser.add_argument("--reward", dest="rewards", action="append", default=None,
                        metavar="MODULE:FUNCTION",
                        help="GRPO reward(prediction, ground_truth) -> float (repeatable)")
    parser.add_argument("--reward-weight", dest="reward_weights", action="append",
                        default=None, help="weight of each --reward (repeatable)")


def add_parser(commands) -> None:
    train = commands.add_parser(
        "train", help="LoRA SFT (LlamaFactory) or GRPO (TRL), then held-out metrics",
        description="Format the training rows, write the dataset and the training config into "
        "the run folder, train a LoRA adapter, then predict the held-out rows with it.")
    _add_common(train)
    train.add_argument("--config-only", action="store_true",
                       help="write the dataset and the config, print the command, do not train")
    train.add_argument("--compare-zero-shot", action="store_true",
                       help="also predict the held-out rows with the base model")
    train.add_argument("--overwrite", action="store_true",
                       help="start afresh over a finished or killed run")
    train.set_defaults(run=run_train)
    prepare = commands.add_parser(
        "prepare", help="write a training dataset (LlamaFactory or GRPO format)",
        description="Format submissions with their labels and write the dataset that "
        "`paperpred train` (or llamafactory-cli) trains on, into --output-dir.")
    _add_common(prepare)
    prepare.set_defaults(run=run_prepare)


def load_train_config(args: argparse.Namespace) -> TrainRun:
    given = overrides(args, FLAGS)
    given["rewards"] = args.rewards
    given["reward_weights"] = args.reward_weights
    for key, items in (("input_kwargs", args.input_arg), ("output_kwargs", args.output_arg),
                       ("extra", args.extra)):
        if items:
            given[key] = pairs(items)
    config: TrainRun = load_config(TrainRun, args.config, given)
    return config


def run_prepare(args: argparse.Namespace) -> int:
    config = load_train_config(args)
    config.output_dir = config.output_dir or "data/paperpred-train"
    prepared = prepare_into(config, Path(config.output_dir), echo=echo)
    echo(json.dumps(prepared.data_info, indent=2))
    return 0


def run_train(args: argparse.Namespace) -> int:
    train_into_run(load_train_config(args), config_only=args.config_only,
                   compare_zero_shot=args.compare_zero_shot, overwrite=args.overwrite,
                   echo=echo)
    return 0
