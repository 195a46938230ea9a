"""Run a GRPO config with TRL's ``GRPOTrainer``: in-process (``GRPOMode.train``) or as a
program, alone or under accelerate::

    python -m paperpred.modes.grpo.worker out_dir/grpo_config.yaml
    accelerate launch --config_file out_dir/accelerate_config.yaml \\
        -m paperpred.modes.grpo.worker out_dir/grpo_config.yaml

Writes into the config's folder: ``train_progress.jsonl`` (one record per step),
``train.log`` (every trainer log and warning), ``train_summary.json`` and the LoRA adapter in
``checkpoints/`` (``adapter_config.json`` + ``adapter_model.safetensors``). A run folder whose
``checkpoints/`` holds ``checkpoint-N`` folders resumes from the last of them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from paperpred.errors import GRPOConfigError, PaperpredError
from paperpred.inference.models import resolve_model
from paperpred.modes.grpo.config import TRL_INSTALL_HINT, read_grpo_config
from paperpred.modes.grpo.dataset import load_grpo_dataset
from paperpred.modes.grpo.loraplus import with_loraplus
from paperpred.modes.run_folder import LOG, SUMMARY, run_dir_of
from paperpred.outputs import get_output_handler
from paperpred.outputs.rewards import RewardSpec, build_rewards

# Set by GRPOMode.train when it runs this module as a subprocess and writes its output to
# train.log itself.
ENV_TEED = "PAPERPRED_GRPO_LOG_TEED"
LOGGERS = ("transformers", "trl", "peft", "accelerate", "paperpred", "py.warnings")


@contextlib.contextmanager
def train_log(path: Path | None) -> Iterator[TextIO | None]:
    """Send the libraries' log records and Python warnings to ``path`` (appended) as well."""
    if path is None:
        yield None
        return
    with open(path, "a", encoding="utf-8") as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: "
                                               "%(message)s"))
        loggers = [logging.getLogger(name) for name in LOGGERS]
        for logger in loggers:
            logger.addHandler(handler)
        logging.captureWarnings(True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                yield fh
        finally:
            logging.captureWarnings(False)
            for logger in loggers:
                logger.removeHandler(handler)


def _last_checkpoint(folder: Path) -> str | None:
    found = sorted(folder.glob("checkpoint-*"),
                   key=lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit()
                   else -1)
    return str(found[-1]) if found else None


def run(config_path: str | Path, reward_callables: dict[str, Callable[..., Any]] | None = None,
        stream: TextIO | None = sys.stderr) -> dict[str, Any]:
    """Train the GRPO config at ``config_path``.

    Args:
        config_path: a config written by ``GRPOMode.generate_config``.
        reward_callables: user reward functions by name (in-process runs); others are imported
            from their ``module:function`` reference.
        stream: where progress lines go (None: nowhere).

    Returns:
        The summary (also in ``train_summary.json``).

    Raises:
        GRPOConfigError: TRL is missing or the config is not usable.
        RewardFunctionError: a reward function cannot be found, or is broken.
    """
    try:
        from peft import LoraConfig
        from transformers import PrinterCallback
        from trl import GRPOConfig, GRPOTrainer
    except ImportError as exc:
        raise GRPOConfigError(TRL_INSTALL_HINT) from exc
    from paperpred.modes.grpo.progress import GRPOProgressCallback
    config_path = Path(config_path).resolve()
    cfg = read_grpo_config(config_path)
    run_dir = run_dir_of(config_path)
    handler = get_output_handler(cfg["rewards"]["handler"])
    label_column = cfg["data"].get("label_column") or "label"
    specs = [RewardSpec.from_dict(d) for d in cfg["rewards"]["functions"]]
    rewards, stats = build_rewards(specs, handler, reward_callables, label_column)
    dataset = load_grpo_dataset(cfg["data"])
    for reward in rewards:  # a reward that fails on the label text itself is broken
        reward.check(dataset[0][label_column])
    model_path = resolve_model(cfg["model"]["model_name_or_path"])
    args = GRPOConfig(**cfg["grpo"])
    ratio = (cfg.get("optimizer") or {}).get("loraplus_lr_ratio")
    resume = _last_checkpoint(Path(str(args.output_dir)))
    teed = os.environ.get(ENV_TEED) == "1"
    main = int(os.environ.get("RANK", "0")) == 0
    if stream is not None and main:
        weighted = ", ".join(f"{s.name} x{w:g}"
                             for s, w in zip(specs, args.reward_weights or [], strict=True))
        print(f"[paperpred] GRPO: {cfg['model']['model_name_or_path']}, {len(dataset)} prompts x "
              f"{args.num_generations} generations, rewards {weighted}"
              + (f"; LoRA+ ratio {ratio:g}" if ratio else "")
              + (f"; resuming from {resume}" if resume else "")
              + f" (log: {run_dir / LOG})", file=stream, flush=True)
    started = time.monotonic()
    with train_log(None if teed or not main else run_dir / LOG) as log_file:
        callback = GRPOProgressCallback(run_dir, stats, stream if main else None,
                                        log_file or (sys.stdout if teed else None),
                                        reset=resume is None and main)
        trainer_cls = with_loraplus(GRPOTrainer, ratio)
        trainer = trainer_cls(model=model_path, reward_funcs=rewards, args=args,
                              train_dataset=dataset, peft_config=LoraConfig(**cfg["lora"]),
                              callbacks=[callback])
        trainer.remove_callback(PrinterCallback)  # the callback prints one line per step
        trainer.train(resume_from_checkpoint=resume)
        trainer.save_model(args.output_dir)
    wall = time.monotonic() - started
    summary = callback.summary(trainer, wall, {
        "model": cfg["model"]["model_name_or_path"], "model_path": model_path,
        "adapter_dir": str(args.output_dir), "config": str(config_path),
        "rewards": [s.name for s in specs], "reward_weights": list(args.reward_weights or []),
        "num_prompts": len(dataset), "num_generations": args.num_generations,
        "resumed_from": resume,
    })
    if trainer.is_world_process_zero():
        (run_dir / SUMMARY).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperpred.modes.grpo.worker",
                                     description="Train a paperpred GRPO config with TRL.")
    parser.add_argument("config", help="grpo_config.yaml written by GRPOMode.generate_config")
    ns = parser.parse_args(argv)
    try:
        summary = run(ns.config)
    except PaperpredError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"[paperpred] GRPO done: {summary['steps']} steps in "
              f"{summary['train_runtime_s']:.1f} s; adapter: {summary['adapter_dir']}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
