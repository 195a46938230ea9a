"""Configuration of `paperpred train` and `paperpred prepare` (YAML file + flags), and its
TrainingConfig."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperpred.config import DataFormat, ModelType, TrainingConfig

TRAIN_MODES = ("sft", "grpo")
TRAINING_FIELDS = ("learning_rate", "num_epochs", "batch_size", "gradient_accumulation_steps",
                   "lora_rank", "lora_alpha", "lora_dropout", "max_length", "val_size",
                   "grpo_group_size", "grpo_kl_coeff", "seed")


def _spec(name: str) -> Any:
    """TrainingConfig's default for ``name``."""
    return TrainingConfig.__dataclass_fields__[name].default


@dataclass
class TrainRunConfig:
    """Everything a `paperpred train` run needs. The training fields default to the spec's
    TrainingConfig; configs/train_sft_cpu.yaml has values sized for a CPU."""

    mode: str = field(default="sft", metadata={"help": "sft (LoRA SFT, LlamaFactory) | grpo "
                                                       "(GRPO, TRL)"})
    data: str = "bundled"
    split: str = "all"
    limit: int | None = None
    image_base_dir: str | None = None
    input: str = "abstract_with_reviews"
    input_kwargs: dict[str, Any] = field(default_factory=dict)
    output: str = "binary"
    output_kwargs: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    model_type: str = "auto"
    data_format: str = "sharegpt"
    balance: bool = field(default=False, metadata={
        "help": "downsample the training split to equal classes (the held-out split keeps "
                "the natural prior)"})
    test_size: float = field(default=0.2, metadata={
        "help": "held-out fraction (stratified) predicted with the adapter after training; "
                "0 trains on everything"})
    # TrainingConfig's fields, with its defaults (the spec's table)
    learning_rate: float = _spec("learning_rate")
    num_epochs: float = _spec("num_epochs")
    batch_size: int = _spec("batch_size")
    gradient_accumulation_steps: int = _spec("gradient_accumulation_steps")
    lora_rank: int = _spec("lora_rank")
    lora_alpha: int = _spec("lora_alpha")
    lora_dropout: float = _spec("lora_dropout")
    max_length: int = _spec("max_length")
    val_size: float = _spec("val_size")
    grpo_group_size: int = _spec("grpo_group_size")
    grpo_kl_coeff: float = _spec("grpo_kl_coeff")
    max_steps: int | None = None
    deepspeed: str | None = None
    rewards: list[str] = field(default_factory=list, metadata={
        "help": "GRPO rewards as module:function (default: the output handler's)"})
    reward_weights: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    llamafactory_cli: str | None = None
    eval_batch_size: int = 8
    seed: int = 42
    output_dir: str | None = None

    def problems(self) -> list[str]:
        found = []
        if self.mode not in TRAIN_MODES:
            found.append(f"mode must be one of {', '.join(TRAIN_MODES)} (got {self.mode!r})")
        if self.data_format not in {f.value for f in DataFormat}:
            found.append("data_format must be sharegpt or alpaca")
        if self.model_type not in ("auto", "text_only", "vision_language"):
            found.append("model_type must be auto, text_only or vision_language")
        if not 0 <= self.test_size < 1:
            found.append("test_size must be in [0, 1)")
        if self.limit is not None and self.limit < 1:
            found.append("limit must be a positive number")
        for name in ("batch_size", "gradient_accumulation_steps", "lora_rank", "max_length",
                     "eval_batch_size"):
            if getattr(self, name) < 1:
                found.append(f"{name} must be at least 1")
        return found

    def resolved_model(self) -> str:
        if self.model:
            return self.model
        from paperpred.inference.models import default_model

        return default_model("text_only" if self.model_type == "auto" else self.model_type)

    def run_dir(self) -> Path:
        from paperpred.runs import run_folder

        return run_folder(self.output_dir, f"train-{self.mode}", self.output, self.input,
                          self.model)

    def training_config(self, model: str, model_type: str) -> TrainingConfig:
        extra = dict(self.extra)
        if self.max_steps:
            extra["max_steps"] = self.max_steps
        if self.deepspeed:
            extra["deepspeed"] = self.deepspeed
        return TrainingConfig(model_name_or_path=model, model_type=ModelType(model_type),
                              output_dir=str(self.run_dir()), extra=extra,
                              **{k: getattr(self, k) for k in TRAINING_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
