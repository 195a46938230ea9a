"""The YAML that `llamafactory-cli train` runs: LoRA SFT of a TrainingConfig on a dataset.

Every key is one of LlamaFactory 0.9.5's own arguments (a test passes the file through its
argument parser). ``TrainingConfig.extra`` adds or overrides keys unchanged. paperpred's own
options are typed: ``config.sft`` (``template``: the chat template, else chosen by model
family; ``image_max_pixels`` for vision), ``config.launch`` (``deepspeed``: ``zero2``,
``zero3`` or a JSON path; ``target_device``) and ``config.lora`` (``lora_target_modules``,
``loraplus_lr_ratio``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import yaml

from paperpred.config import ModelType, TrainingConfig
from paperpred.modes.deepspeed import write_deepspeed_config
from paperpred.modes.device import precision_flags, target_is_cuda
from paperpred.modes.run_folder import CHECKPOINTS
from paperpred.modes.sft.templates import llamafactory_template

CONFIG_NAME = "sft_config.yaml"
SECTIONS = (
    ("model", ("model_name_or_path", "trust_remote_code", "image_max_pixels",
               "disable_gradient_checkpointing")),
    ("method", ("stage", "do_train", "finetuning_type", "lora_rank", "lora_alpha",
                "lora_dropout", "lora_target", "loraplus_lr_ratio", "freeze_vision_tower",
                "deepspeed")),
    ("dataset", ("dataset", "dataset_dir", "template", "cutoff_len", "overwrite_cache",
                 "preprocessing_num_workers", "dataloader_num_workers")),
    ("output", ("output_dir", "logging_steps", "save_steps", "plot_loss",
                "overwrite_output_dir", "report_to")),
    ("train", ("per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate",
               "num_train_epochs", "max_steps", "lr_scheduler_type", "warmup_ratio", "bf16",
               "fp16", "seed", "ddp_timeout", "include_effective_tokens_per_second",
               "include_num_input_tokens_seen")),
    ("eval", ("val_size", "per_device_eval_batch_size", "eval_strategy", "eval_steps")),
)


def planned_steps(n_train: int, config: TrainingConfig, devices: int = 1) -> int:
    """Optimizer steps of a run over ``n_train`` rows (``max_steps`` in extra wins)."""
    if config.extra.get("max_steps"):
        return int(config.extra["max_steps"])
    per_step = max(1, config.batch_size * config.gradient_accumulation_steps * devices)
    return max(1, math.ceil(n_train / per_step) * max(1, math.ceil(config.num_epochs)))


def _val_rows(n: int, val_size: float) -> int:
    return math.ceil(n * val_size) if 0 < val_size < 1 else int(val_size)


def sft_config(config: TrainingConfig, data_info: dict[str, Any], out_dir: str | Path,
               model_path: str | None) -> dict[str, Any]:
    """The LlamaFactory arguments (a flat dict) for ``config`` on ``data_info``.

    ``model_path`` is the model's local folder, or None when its weights are not on this
    machine: the YAML then names the model as given (LlamaFactory fetches it where it runs)
    and the template comes from its name. Precision and gradient checkpointing follow the
    machine the run is written for: this one, unless ``config.launch.target_device`` is
    ``"cuda"`` (a config written on a CPU login node for GPUs: bf16, checkpointing on) or
    ``"cpu"``.
    """
    config.check()
    out_dir = Path(out_dir).resolve()
    here = model_path is not None
    cuda = target_is_cuda(config.launch.target_device)
    template = config.sft.template or llamafactory_template(
        config.model_name_or_path, *([model_path] if model_path is not None else []))
    vision = config.model_type == ModelType.VISION_LANGUAGE or data_info.get("has_images")
    n = int(data_info["n_samples"])
    val_size = config.val_size if _val_rows(n, config.val_size) >= 1 and n > 1 else 0.0
    steps = planned_steps(n - _val_rows(n, val_size), config)
    save_steps = max(1, min(500, math.ceil(steps / 4)))
    args: dict[str, Any] = {
        "model_name_or_path": model_path if here else config.model_name_or_path,
        "trust_remote_code": True,
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "lora",
        "lora_rank": config.lora_rank,
        "lora_alpha": config.lora_alpha,
        "lora_dropout": config.lora_dropout,
        "lora_target": lora_target(config.lora.lora_target_modules),
        "dataset": data_info["dataset"],
        "dataset_dir": data_info["dataset_dir"],
        "template": template,
        "cutoff_len": config.max_length,
        "overwrite_cache": True,
        "preprocessing_num_workers": max(1, min(16, (os.cpu_count() or 2) // 2)),
        "dataloader_num_workers": 0,
        "output_dir": str(out_dir / CHECKPOINTS),
        "logging_steps": max(1, steps // 100),
        "save_steps": save_steps,
        "plot_loss": False,
        "overwrite_output_dir": False,
        "report_to": "none",
        "per_device_train_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "learning_rate": config.learning_rate,
        "num_train_epochs": float(config.num_epochs),
        "lr_scheduler_type": "cosine",
        "warmup_ratio": 0.1,
        **precision_flags(cuda),
        "seed": config.seed,
        "ddp_timeout": 180000000,
        "include_effective_tokens_per_second": True,
        "include_num_input_tokens_seen": True,
    }
    if not cuda:
        # Checkpointing saves GPU memory at the cost of a second forward pass; on a CPU the
        # memory is there and the time is not (about a quarter of each step).
        args["disable_gradient_checkpointing"] = True
    if vision:
        args["image_max_pixels"] = int(config.sft.image_max_pixels)
        args["freeze_vision_tower"] = True
    if config.lora.loraplus_lr_ratio is not None:
        args["loraplus_lr_ratio"] = float(config.lora.loraplus_lr_ratio)
    if val_size:
        args.update(val_size=val_size, per_device_eval_batch_size=config.batch_size,
                    eval_strategy="steps", eval_steps=save_steps)
    if config.launch.deepspeed:
        args["deepspeed"] = write_deepspeed_config(str(config.launch.deepspeed), out_dir)
    args.update(config.extra)
    return args


def lora_target(modules: Any) -> str:
    """LlamaFactory's ``lora_target``: ``all`` (every linear layer) or the named modules."""
    if not modules or modules in ("all", "all-linear"):
        return "all"
    return modules if isinstance(modules, str) else ",".join(str(m) for m in modules)


def dump_config(args: dict[str, Any], path: str | Path, header: str = "") -> Path:
    """Write ``args`` as a commented YAML, grouped like LlamaFactory's examples."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    placed: set[str] = set()
    chunks = [header.rstrip() + "\n"] if header else []
    for title, keys in SECTIONS:
        part = {k: args[k] for k in keys if k in args}
        placed |= set(part)
        if part:
            chunks.append(f"### {title}\n" + yaml.safe_dump(part, sort_keys=False))
    rest = {k: v for k, v in args.items() if k not in placed}
    if rest:
        chunks.append("### extra (TrainingConfig.extra)\n" + yaml.safe_dump(rest, sort_keys=False))
    path.write_text("\n".join(chunks))
    return path
