"""The GRPO run config (``out_dir/grpo_config.yaml``): TRL ``GRPOConfig`` arguments plus the
model, LoRA, data, reward and launch sections that the worker needs.

Sections::

    model:   model_name_or_path, model_type, vision
    lora:    peft.LoraConfig arguments (all linear layers of the language model)
    data:    the data_info of prepare_data (train_file, label/image columns, counts)
    rewards: handler (output handler config) and functions (name, kind, ref)
    launch:  num_processes, accelerate_config, deepspeed, command
    grpo:    trl.GRPOConfig(**grpo) as it is (output_dir = out_dir/checkpoints, ...)
    optimizer (optional): loraplus_lr_ratio (LoRA+: the B matrices learn at that multiple
             of learning_rate, as LlamaFactory's key of the same name does for SFT)

TrainingConfig -> GRPOConfig: grpo_group_size -> num_generations, grpo_kl_coeff -> beta,
learning_rate, num_epochs -> num_train_epochs, batch_size -> per_device_train_batch_size,
gradient_accumulation_steps, max_length -> max_prompt_length + max_completion_length, seed.
``TrainingConfig.extra`` overrides or adds any GRPOConfig field (``max_steps``, ``use_vllm``,
``vllm_mode``, ``temperature``, ...) unchanged. paperpred's own options are typed:
``config.launch`` (``num_processes``, ``num_machines``, ``machine_rank``, ``main_process_ip``,
``main_process_port``: several GPUs via accelerate, see :mod:`.launch`; ``deepspeed``: ``zero2``,
``zero3`` or a JSON path; ``target_device``), ``config.lora`` (``lora_target_modules``,
``lora_exclude_modules``, ``loraplus_lr_ratio``) and ``config.grpo`` (``stratified_batches``:
the dataset is written with the classes taking turns and read in that order, so every step
holds each class equally; see :meth:`GRPOMode.prepare_data`).
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any

import yaml

from paperpred.config import ModelType
from paperpred.errors import GRPOConfigError
from paperpred.inference.models import local_model_path
from paperpred.modes.device import precision_flags, target_is_cuda
from paperpred.modes.grpo.launch import header_comments, launch_section
from paperpred.modes.run_folder import CHECKPOINTS

CONFIG_NAME = "grpo_config.yaml"
# Vision towers and projectors of the common VL families (Qwen2/2.5-VL "visual", LLaVA, ...).
VISION_TOWER = (r".*\.(visual|vision_tower|vision_model|multi_modal_projector|mm_projector)"
                r"\..*")
ANSWER_TOKENS = 64  # "Answer: 0.73" plus room for a short preamble
REASONING_TOKENS = 512
SECTIONS = ("model", "lora", "data", "rewards", "launch", "grpo")
TRL_INSTALL_HINT = ("TRL is not installed: pip install 'paperpred[train]' "
                    "(or pip install trl==0.24.0)")


def length_split(max_length: int, include_reasoning: bool) -> tuple[int, int]:
    """(max_prompt_length, max_completion_length) within ``max_length`` tokens: an answer
    line is short, reasoning needs more; the prompt gets the rest."""
    if max_length < 16:
        raise GRPOConfigError(f"max_length must be at least 16 tokens, got {max_length}")
    completion = min(REASONING_TOKENS if include_reasoning else ANSWER_TOKENS, max_length // 2)
    return max_length - completion, completion


def check_batch(per_device: int, accumulation: int, processes: int, generations: int,
                num_samples: int | None, grpo: dict[str, Any]) -> int:
    """Check what TRL needs of the batch sizes; returns prompts per generation batch.

    The generation batch (``batch_size x gradient_accumulation_steps x processes``
    completions, unless ``generation_batch_size``/``steps_per_generation`` are set) must hold
    whole groups of ``grpo_group_size`` completions of the same prompt.
    """
    if generations < 2:
        raise GRPOConfigError(f"grpo_group_size must be at least 2 (GRPO compares the "
                              f"completions of one prompt), got {generations}")
    if per_device < 1 or accumulation < 1 or processes < 1:
        raise GRPOConfigError("batch_size, gradient_accumulation_steps and num_processes must "
                              "be positive")
    global_batch = per_device * processes
    if grpo.get("generation_batch_size") is not None:
        size = int(grpo["generation_batch_size"])
        if size % global_batch:
            raise GRPOConfigError(f"generation_batch_size {size} must be a multiple of "
                                  f"batch_size x num_processes = {global_batch}")
        how = f"generation_batch_size {size}"
    else:
        steps = int(grpo.get("steps_per_generation") or accumulation)
        size = global_batch * steps
        name = ("steps_per_generation" if grpo.get("steps_per_generation")
                else "gradient_accumulation_steps")
        how = (f"batch_size {per_device} x {name} {steps} x {processes} process(es) = "
               f"{size} completions")
    if size % generations:
        options = sorted({generations * k for k in range(1, 5)})
        raise GRPOConfigError(
            f"GRPO needs the generation batch ({how}) to be a multiple of grpo_group_size "
            f"{generations}: every prompt is answered {generations} times and a batch holds "
            f"whole groups. Set batch_size (x gradient_accumulation_steps) to one of {options}, "
            f"or grpo_group_size to a divisor of {size}")
    prompts = size // generations
    if num_samples is not None and num_samples < prompts:
        raise GRPOConfigError(
            f"one generation batch takes {prompts} prompts ({size} completions / "
            f"grpo_group_size {generations}) but the dataset has only {num_samples}: add "
            "samples or lower batch_size / gradient_accumulation_steps")
    return prompts


def grpo_field_names() -> set[str] | None:
    """GRPOConfig's fields, or None when TRL is not installed (no check then)."""
    try:
        from trl import GRPOConfig
    except ImportError:
        return None
    return {f.name for f in dataclasses.fields(GRPOConfig)}


def check_keys(keys: set[str]) -> None:
    names = grpo_field_names()
    if names is None:
        return
    unknown = sorted(k for k in keys if k not in names)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(names), 1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise GRPOConfigError(
            "TrainingConfig.extra has keys that are not trl.GRPOConfig fields (paperpred's own "
            f"options go in TrainingConfig.launch / .lora / .grpo): {', '.join(hints)}")


def grpo_arguments(config: Any, out_dir: Path, vision: bool, include_reasoning: bool,
                   reward_weights: list[float], cuda: bool) -> dict[str, Any]:
    """The ``GRPOConfig`` keyword arguments of a TrainingConfig (before ``extra``), for a
    CUDA GPU (``cuda``) or a CPU."""
    prompt_len, completion_len = length_split(int(config.max_length), include_reasoning)
    flags = precision_flags(cuda)
    return {
        "output_dir": str((out_dir / CHECKPOINTS).resolve()),
        "num_generations": int(config.grpo_group_size),
        "beta": float(config.grpo_kl_coeff),
        "learning_rate": float(config.learning_rate),
        "num_train_epochs": float(config.num_epochs),
        "per_device_train_batch_size": int(config.batch_size),
        "gradient_accumulation_steps": int(config.gradient_accumulation_steps),
        # TRL truncates prompts by tokens, which would cut image tokens: no limit for VL models
        # (the formatter's budget bounds them).
        "max_prompt_length": None if vision else prompt_len,
        "max_completion_length": completion_len,
        "reward_weights": list(reward_weights),
        "seed": int(config.seed),
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": 100,
        "save_total_limit": 2,
        "bf16": flags["bf16"],
        "fp16": flags["fp16"],
        "use_cpu": not cuda,
        "model_init_kwargs": {"dtype": "bfloat16" if flags["bf16"] else "float32"},
        # On a GPU, memory matters; on a CPU, speed (and checkpointing buys nothing).
        "gradient_checkpointing": cuda,
        "gradient_checkpointing_kwargs": {"use_reentrant": False},
        "report_to": "none",
        "disable_tqdm": True,  # paperpred prints one progress line per step instead
        "dataloader_num_workers": 0,
    }


def lora_section(config: Any, vision: bool) -> dict[str, Any]:
    """``peft.LoraConfig`` arguments: every linear layer of the language model (not lm_head;
    for a VL model not the vision tower either), unless ``config.lora`` names others."""
    section: dict[str, Any] = {
        "r": int(config.lora_rank), "lora_alpha": int(config.lora_alpha),
        "lora_dropout": float(config.lora_dropout),
        "target_modules": config.lora.lora_target_modules or "all-linear",
        "task_type": "CAUSAL_LM",
    }
    exclude = config.lora.lora_exclude_modules or (VISION_TOWER if vision else None)
    if exclude:
        section["exclude_modules"] = exclude
    return section


def build_run_config(config: Any, data_info: dict[str, Any], out_dir: str | Path,
                     handler: Any, specs: list[Any], weights: list[float]) -> dict[str, Any]:
    """The whole run config (also writes the accelerate and DeepSpeed files it names)."""
    problems = config.problems()
    if problems:
        raise GRPOConfigError("invalid TrainingConfig: " + "; ".join(problems))
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = dict(config.extra)
    cuda = target_is_cuda(config.launch.target_device)
    stratified = bool(config.grpo.stratified_batches)
    check_keys(set(extra))
    if stratified and not data_info.get("interleaved"):
        raise GRPOConfigError("stratified_batches is set but the dataset was written in its "
                              "own order: write it with GRPOMode.prepare_data under the same "
                              "config")
    vision = bool(data_info.get("vision"))
    here = local_model_path(config.model_name_or_path) is not None
    grpo = grpo_arguments(config, out_dir, vision, bool(getattr(handler, "include_reasoning",
                                                                 False)), weights, cuda)
    if data_info.get("interleaved"):
        grpo["shuffle_dataset"] = False  # each step's prompts are consecutive rows
    grpo.update(extra)
    if len(grpo.get("reward_weights") or weights) != len(specs):
        raise GRPOConfigError(f"reward_weights {grpo['reward_weights']} must have one weight "
                              f"per reward {[s.name for s in specs]}")
    processes = int(config.launch.num_processes or 1)
    prompts = check_batch(int(grpo["per_device_train_batch_size"]),
                          int(grpo["gradient_accumulation_steps"]), processes,
                          int(grpo["num_generations"]), data_info.get("num_samples"), grpo)
    classes = len(data_info.get("classes") or {})
    if data_info.get("interleaved") and classes and prompts % classes:
        raise GRPOConfigError(
            f"stratified_batches: each step holds {prompts} prompts, not a multiple of the "
            f"{classes} classes: set batch_size x gradient_accumulation_steps x num_processes "
            f"to a multiple of grpo_group_size x {classes}")
    launch = launch_section(config.launch, grpo, out_dir, out_dir / CONFIG_NAME,
                            str(config.model_name_or_path))
    model_type = getattr(config, "model_type", ModelType.TEXT_ONLY)
    cfg = {
        "model": {"model_name_or_path": str(config.model_name_or_path),
                  "model_type": getattr(model_type, "value", str(model_type)),
                  "vision": vision, "weights_here": here},
        "lora": lora_section(config, vision),
        "data": dict(data_info),
        "rewards": {"handler": handler.to_config(),
                    "functions": [s.to_dict() for s in specs]},
        "launch": launch,
        "grpo": grpo,
    }
    if config.lora.loraplus_lr_ratio is not None:
        cfg["optimizer"] = {"loraplus_lr_ratio": float(config.lora.loraplus_lr_ratio)}
    return cfg


def write_run_config(cfg: dict[str, Any], out_dir: str | Path) -> Path:
    """Write ``out_dir/grpo_config.yaml`` (with the commands as comments)."""
    path = Path(out_dir).resolve() / CONFIG_NAME
    path.write_text(header_comments(cfg) + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    return path


def read_grpo_config(path: str | Path) -> dict[str, Any]:
    """Read a GRPO run config and check its sections."""
    path = Path(path)
    if not path.is_file():
        raise GRPOConfigError(f"GRPO config {path} does not exist: write it with "
                              "GRPOMode.generate_config(data_info, out_dir)")
    cfg = yaml.safe_load(path.read_text()) or {}
    missing = [s for s in SECTIONS if s not in cfg]
    if missing:
        raise GRPOConfigError(f"{path} is not a paperpred GRPO config: missing sections "
                              f"{missing}")
    weights = cfg["grpo"].get("reward_weights")
    if weights is not None and len(weights) != len(cfg["rewards"]["functions"]):
        raise GRPOConfigError(f"{path}: grpo.reward_weights has {len(weights)} weights for "
                              f"{len(cfg['rewards']['functions'])} reward functions")
    return cfg
