"""`paperpred prepare` (a training dataset) and `paperpred train` (LoRA SFT or GRPO, then the
held-out evaluation with the adapter)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paperpred.train_runs import TrainRunConfig

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
    "llamafactory_cli": "the llamafactory-cli to run (another environment's)",
    "eval_batch_size": "papers per batch in the held-out evaluation",
    "seed": "random seed",
    "output_dir": "run folder (default runs/train-<mode>-<output>-<input>-<model>)",
}


def _add_common(parser) -> None:
    parser.add_argument("--config", help="YAML file of TrainRunConfig keys (flags win)")
    for name, text in FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None, help=text)
    parser.add_argument("--input-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="formatter keyword, e.g. max_images=5 (repeatable)")
    parser.add_argument("--output-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="handler keyword (repeatable)")
    parser.add_argument("--extra", action="append", default=[], metavar="KEY=VALUE",
                        help="LlamaFactory (sft) or GRPOConfig (grpo) argument (repeatable)")
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


def load_train_config(args) -> TrainRunConfig:
    from paperpred.cli.predict_cmd import pairs
    from paperpred.runs import load_run_config

    overrides: dict[str, Any] = {name: getattr(args, name) for name in FLAGS}
    overrides["rewards"] = args.rewards
    overrides["reward_weights"] = args.reward_weights
    for key, items in (("input_kwargs", args.input_arg), ("output_kwargs", args.output_arg),
                       ("extra", args.extra)):
        if items:
            overrides[key] = pairs(items)
    config = load_run_config(args.config, overrides, schema=TrainRunConfig)
    config.reward_weights = [float(w) for w in config.reward_weights]
    config.model = config.resolved_model()
    return config


def build_mode(config: TrainRunConfig) -> tuple[Any, str]:
    """The training mode object for ``config``, and the resolved model type."""
    from paperpred.inference.models import is_vision_model, local_model_path
    from paperpred.inputs import get_input_formatter
    from paperpred.outputs import get_output_handler

    model_type = config.model_type
    if model_type == "auto":
        # The local config when the weights are here, else the name says (-VL-).
        local = local_model_path(config.model)
        model_type = ("vision_language" if is_vision_model(local or config.model)
                      else "text_only")
    formatter = get_input_formatter(config.input, **config.input_kwargs)
    handler = get_output_handler(config.output, **config.output_kwargs)
    if formatter.requires_vl_model and model_type != "vision_language":
        from paperpred.errors import PaperpredError

        raise PaperpredError(f"the {formatter.name} formatter shows page images: train a "
                             "vision-language model (--model tiny-qwen2.5-vl, "
                             "Qwen/Qwen2.5-VL-7B-Instruct)")
    training = config.training_config(config.model, model_type)
    if config.mode == "sft":
        from paperpred.modes.sft import SFTLoRAMode

        return SFTLoRAMode(training, formatter, handler, data_format=config.data_format,
                           llamafactory_cli=config.llamafactory_cli), model_type
    from paperpred.modes.grpo import GRPOMode
    from paperpred.outputs.rewards import resolve_ref

    rewards = [resolve_ref(ref) for ref in config.rewards] or None
    return GRPOMode(training, formatter, handler, reward_function=rewards,
                    reward_weights=config.reward_weights or None), model_type


def _split(config: TrainRunConfig, submissions: list) -> tuple[list, list]:
    from paperpred.data.splits import balance_classes, stratified_split

    stratum = "binary" if config.output == "binary" else "multiclass"
    train, test = list(submissions), []
    if config.test_size:
        split = stratified_split(submissions, ratios=(1 - config.test_size, 0.0,
                                                      config.test_size),
                                 seed=config.seed, stratify_by=stratum)
        if split.excluded:
            print(f"[paperpred] split: {len(split.excluded)} submissions in no part: "
                  + ", ".join(f"{k}: {v}" for k, v in split.excluded_reasons.items()))
        train, test = list(split.train), list(split.test)
    if config.balance:
        balanced = balance_classes(train, seed=config.seed, label_fn=stratum)
        print(f"[paperpred] balanced the training split to {len(balanced)} papers "
              f"({len(train) - len(balanced)} left out)")
        train = balanced
    return train, test


def _prepared(config: TrainRunConfig, run_dir: Path) -> tuple[Any, str, list, list, dict[str, Any]]:
    from paperpred.cli.predict_cmd import load_submissions

    submissions = load_submissions(config)
    train_subs, test_subs = _split(config, submissions)
    mode, model_type = build_mode(config)
    samples = mode.format_samples(train_subs, include_label=True)
    print(f"[paperpred] training rows: {mode.format_report.summary()}; held out: "
          f"{len(test_subs)}")
    info = mode.prepare_data(samples, run_dir / "data")
    (run_dir / "held_out_ids.json").write_text(json.dumps(
        [s.submission_id for s in test_subs]) + "\n")
    return mode, model_type, train_subs, test_subs, info


def run_prepare(args) -> int:
    config = load_train_config(args)
    out = Path(config.output_dir or "data/paperpred-train")
    out.mkdir(parents=True, exist_ok=True)
    config.output_dir = str(out)
    *_, info = _prepared(config, out)
    print(json.dumps(info, indent=2))
    return 0


def run_train(args) -> int:
    import yaml

    config = load_train_config(args)
    run_dir = config.run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run_config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=True))
    print(f"[paperpred] run folder: {run_dir}")
    mode, model_type, train_subs, test_subs, info = _prepared(config, run_dir)
    config_path = mode.generate_config(info, run_dir)
    print(f"[paperpred] training config: {config_path}")
    if args.config_only:
        engine = "llamafactory-cli train" if config.mode == "sft" else \
            "python -m paperpred.modes.grpo.worker"
        print(f"[paperpred] train with: {engine} {config_path}")
        return 0
    summary = mode.train(config_path, overwrite=args.overwrite)
    print(f"[paperpred] trained: {json.dumps(summary, default=str)}")
    if test_subs:
        rows = [("adapter", _evaluate(config, model_type, test_subs, run_dir, adapter=True))]
        if args.compare_zero_shot:
            rows.append(("zero-shot", _evaluate(config, model_type, test_subs, run_dir,
                                                adapter=False)))
        _compare_baselines(mode, train_subs, test_subs, run_dir, rows)
    return 0


def _compare_baselines(mode: Any, train_subs: list, test_subs: list, run_dir: Path,
                       rows: list) -> None:
    """The baselines that apply, fitted on the training split and scored on the held-out one,
    beside the adapter (``eval/baselines.json``)."""
    from paperpred.evaluation.baselines import compute_baselines
    from paperpred.metrics_table import render_comparison

    baselines = compute_baselines(mode.output_handler, mode.input_formatter, train_subs,
                                  test_subs)
    (run_dir / "eval" / "baselines.json").write_text(json.dumps(
        [b.to_dict() for b in baselines], indent=2, default=str) + "\n")
    table = render_comparison(rows + [(b.name, b.metrics) for b in baselines],
                              title=f"held-out {len(test_subs)} papers: adapter vs baselines "
                                    "(fitted on the training split)")
    with open(run_dir / "eval" / "report.md", "a", encoding="utf-8") as fh:
        fh.write("\n```\n" + table + "\n```\n")
    print(table)


def _evaluate(config: TrainRunConfig, model_type: str, test_subs: list, run_dir: Path,
              adapter: bool) -> dict[str, Any]:
    from paperpred.cli.predict_cmd import predict_and_report
    from paperpred.modes.run_folder import adapter_dir
    from paperpred.runs import RunConfig

    folder = run_dir / ("eval" if adapter else "eval-zero-shot")
    folder.mkdir(parents=True, exist_ok=True)
    mode = {"sft": "sft_lora", "grpo": "grpo"}[config.mode] if adapter else "zero_shot"
    rc = RunConfig(data=config.data, input=config.input, input_kwargs=config.input_kwargs,
                   output=config.output, output_kwargs=config.output_kwargs, mode=mode,
                   model=config.model, model_type=model_type,
                   adapter_path=str(adapter_dir(run_dir)) if adapter else None,
                   batch_size=config.eval_batch_size, seed=config.seed, output_dir=str(folder))
    print(f"[paperpred] held-out evaluation ({mode}) of {len(test_subs)} papers into {folder}")
    return predict_and_report(rc, test_subs, folder, show_progress=True)
