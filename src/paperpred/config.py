"""Enums and configuration dataclasses of the public API, with the spec's defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from paperpred.errors import ConfigError


class InputModality(str, Enum):  # noqa: UP042 - str() of a member stays its name
    """How a paper is shown to the model."""

    TEXT_ONLY = "text_only"
    TEXT_WITH_IMAGES = "text_with_images"
    IMAGES_ONLY = "images_only"


class OutputType(str, Enum):  # noqa: UP042 - str() of a member stays its name
    """What is predicted."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    CITATION_PERCENTILE = "citation_percentile"
    MEAN_RATING = "mean_rating"


class TrainingMode(str, Enum):  # noqa: UP042 - str() of a member stays its name
    """How the model is made."""

    ZERO_SHOT = "zero_shot"
    SFT_LORA = "sft_lora"
    GRPO = "grpo"


class ModelType(str, Enum):  # noqa: UP042 - str() of a member stays its name
    """Text-only or vision-language model."""

    TEXT_ONLY = "text_only"
    VISION_LANGUAGE = "vision_language"


class DataFormat(str, Enum):  # noqa: UP042 - str() of a member stays its name
    """LlamaFactory dataset formats."""

    SHAREGPT = "sharegpt"
    ALPACA = "alpaca"


DEFAULT_MODELS: dict[ModelType, str] = {
    ModelType.TEXT_ONLY: "Qwen/Qwen2.5-7B-Instruct",
    ModelType.VISION_LANGUAGE: "Qwen/Qwen2.5-VL-7B-Instruct",
}


MODEL_TYPES = ("auto", "text_only", "vision_language")
TARGET_DEVICES = ("auto", "cpu", "cuda")


@dataclass
class LaunchOptions:
    """Where and how a training run is launched (both training modes; beyond the spec).

    ``target_device``: the machine the config is written for: ``auto`` (this one), ``cuda``
    (GPUs elsewhere: bf16, gradient checkpointing) or ``cpu``. ``deepspeed``: ``zero2``,
    ``zero3`` or a DeepSpeed JSON. ``num_processes`` .. ``main_process_port``: several GPUs or
    machines (GRPO through ``accelerate launch``; LlamaFactory reads torchrun's variables).
    """

    target_device: str = "auto"
    deepspeed: str | None = None
    num_processes: int = 1
    num_machines: int = 1
    machine_rank: int = 0
    main_process_ip: str | None = None
    main_process_port: int | None = None

    def problems(self) -> list[str]:
        found = []
        if str(self.target_device).lower() not in TARGET_DEVICES:
            found.append(f"target_device must be one of {', '.join(TARGET_DEVICES)} "
                         f"(got {self.target_device!r})")
        if self.num_processes < 1 or self.num_machines < 1:
            found.append("num_processes and num_machines must be at least 1")
        return found


@dataclass
class SFTOptions:
    """paperpred's own options of LoRA SFT through LlamaFactory (beyond the spec).

    ``template``: LlamaFactory's chat template (default: chosen by model family).
    ``image_max_pixels``: page-image resolution for a vision model. ``data_format``:
    ``sharegpt`` (messages, page images) or ``alpaca`` (text). ``llamafactory_cli``: the
    ``llamafactory-cli`` to run (another environment's; default: beside this Python).
    """

    template: str | None = None
    image_max_pixels: int = 512 * 512
    data_format: str = "sharegpt"
    llamafactory_cli: str | None = None

    def problems(self) -> list[str]:
        found = []
        if self.data_format not in {f.value for f in DataFormat}:
            found.append("data_format must be sharegpt or alpaca")
        if self.image_max_pixels < 1:
            found.append("image_max_pixels must be positive")
        return found


@dataclass
class LoRAOptions:
    """Which layers LoRA adapts and how fast (both training modes; beyond the spec).

    ``lora_target_modules``: the layers (default every linear layer of the language model:
    peft's ``all-linear``, LlamaFactory's ``all``; a list or a comma-separated string names
    them). ``lora_exclude_modules`` (GRPO): a regex of layers left out (default: a VL model's
    vision tower). ``loraplus_lr_ratio``: LoRA+, the B matrices learn at that multiple of the
    learning rate (16 is usual).
    """

    lora_target_modules: Any = None
    lora_exclude_modules: str | None = None
    loraplus_lr_ratio: float | None = None

    def problems(self) -> list[str]:
        if self.loraplus_lr_ratio is not None and float(self.loraplus_lr_ratio) <= 0:
            return [f"loraplus_lr_ratio must be positive (16 is usual), got "
                    f"{self.loraplus_lr_ratio}"]
        return []


@dataclass
class GRPOOptions:
    """paperpred's own options of GRPO through TRL (beyond the spec).

    ``stratified_batches``: write the dataset with the classes taking turns and read it in
    order, so every step holds each class equally (decision outputs). ``rewards``:
    ``module:function`` references of reward functions (default: the output handler's);
    ``reward_weights``: one per reward.
    """

    stratified_batches: bool = False
    rewards: list[str] = field(default_factory=list)
    reward_weights: list[float] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = []
        if self.reward_weights and self.rewards and len(self.reward_weights) < len(self.rewards):
            found.append(f"reward_weights has {len(self.reward_weights)} weights for "
                         f"{len(self.rewards)} rewards")
        return found


#: Short names of the training modes (``paperpred train --mode sft``).
MODE_ALIASES = {"sft": "sft_lora"}


def training_mode(name: TrainingMode | str) -> TrainingMode:
    """A TrainingMode from a member, a value or a short name (``sft`` -> SFT_LORA)."""
    if isinstance(name, TrainingMode):
        return name
    text = str(name).strip().lower()
    return TrainingMode(MODE_ALIASES.get(text, text))


def adapter_problem(mode: TrainingMode | str, adapter_path: str | None) -> str | None:
    """Why a predictor of ``mode`` cannot run without ``adapter_path`` (None when it can)."""
    mode = training_mode(mode)
    if mode is TrainingMode.ZERO_SHOT or adapter_path:
        return None
    return (f"mode {mode.value} predicts with a trained LoRA adapter: set adapter_path "
            "(PredictorConfig(adapter_path=...); train one with `paperpred train`)")


def vision_problem(formatter: Any, model_type: ModelType | str) -> str | None:
    """Why ``formatter`` cannot feed a model of ``model_type`` (None when it can): page images
    need a vision-language model."""
    if not getattr(formatter, "requires_vl_model", False):
        return None
    if ModelType(getattr(model_type, "value", model_type)) is ModelType.VISION_LANGUAGE:
        return None
    return (f"the {formatter.name} formatter shows page images: use a vision-language model "
            "(model_type vision_language; for example Qwen/Qwen2.5-VL-7B-Instruct, or "
            "tiny-qwen2.5-vl to try it)")


#: The option groups of a TrainingConfig, by attribute name.
OPTION_GROUPS: dict[str, type] = {"launch": LaunchOptions, "lora": LoRAOptions, "sft": SFTOptions,
                                  "grpo": GRPOOptions}


def option_home(key: str) -> str | None:
    """The option group that owns ``key`` (``"grpo"`` for ``stratified_batches``), or None."""
    for group, cls in OPTION_GROUPS.items():
        if key in {f.name for f in dataclasses.fields(cls)}:
            return group
    return None


@dataclass
class TrainingConfig:
    """Hyper-parameters of a training run (spec: Configuration Reference / TrainingConfig).

    Beyond the spec: ``launch``, ``lora``, ``sft`` and ``grpo`` are paperpred's typed options
    (:class:`LaunchOptions`, :class:`LoRAOptions`, :class:`SFTOptions`, :class:`GRPOOptions`);
    ``extra`` holds the
    engine's own keys (LlamaFactory's for SFT, ``trl.GRPOConfig``'s for GRPO), passed through
    unchanged.
    """

    model_name_or_path: str
    model_type: ModelType = ModelType.TEXT_ONLY
    learning_rate: float = 1e-4
    num_epochs: float = 3
    batch_size: int = 4
    gradient_accumulation_steps: int = 8
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    max_length: int = 4096
    val_size: float = 0.1
    grpo_group_size: int = 4
    grpo_kl_coeff: float = 0.1
    output_dir: str = "outputs/experiment"
    seed: int = 42
    extra: dict[str, Any] = field(default_factory=dict)
    launch: LaunchOptions = field(default_factory=LaunchOptions)
    lora: LoRAOptions = field(default_factory=LoRAOptions)
    sft: SFTOptions = field(default_factory=SFTOptions)
    grpo: GRPOOptions = field(default_factory=GRPOOptions)

    def problems(self) -> list[str]:
        """Every problem of this config (empty when valid)."""
        found = []
        for name in ("batch_size", "gradient_accumulation_steps", "lora_rank", "max_length"):
            if getattr(self, name) < 1:
                found.append(f"{name} must be at least 1")
        for key in sorted(self.extra):
            group = option_home(key)
            if group:
                found.append(f"extra key {key!r} is a paperpred option, not an engine key: set "
                             f"TrainingConfig.{group}.{key} (in a run config: `{key}:` or "
                             f"`{group}: {{{key}: ...}}`)")
        for group in OPTION_GROUPS:
            found += getattr(self, group).problems()
        return found

    def check(self) -> None:
        """Raise :class:`paperpred.errors.ConfigError` listing every problem, if any."""
        problems = self.problems()
        if problems:
            raise ConfigError("invalid TrainingConfig: " + "; ".join(problems))


EMBEDDED_MODEL = "smollm2-135m-instruct"
BACKENDS = ("auto", "transformers", "vllm", "openai")
READINGS = ("auto", "score", "generate")


@dataclass
class InferenceConfig:
    """Settings of one inference call (spec: Training Modes / Zero-Shot Prediction).

    Beyond the spec: ``backend`` (auto | transformers | vllm | openai; auto takes vLLM when a
    GPU and vllm are present, else transformers), ``reading`` (auto | score | generate; auto
    scores the candidate labels unless the handler asks for reasoning), ``base_urls`` and
    ``api_key`` for OpenAI-compatible servers, ``concurrency`` for them,
    ``tensor_parallel_size`` for vLLM, ``device`` and ``dtype`` for transformers,
    ``merge_adapter`` to merge a LoRA adapter into the base weights, ``engine_options``: keyword
    arguments handed to the chosen engine unchanged (vLLM's ``LLM(...)``: ``enforce_eager``,
    ``max_model_len``, ``gpu_memory_utilization``; transformers' backend: ``max_images``,
    ``score_end_of_turn``; the OpenAI backend: ``timeout``, ``extra_body``, ...).
    """

    model_name_or_path: str
    adapter_path: str | None = None
    temperature: float = 0.0
    max_tokens: int = 512
    batch_size: int = 32
    seed: int = 42
    backend: str = "auto"
    reading: str = "auto"
    base_urls: list[str] = field(default_factory=list)
    api_key: str | None = None
    concurrency: int = 8
    tensor_parallel_size: int = 1
    device: str = "auto"
    dtype: str = "auto"
    merge_adapter: bool = False

    engine_options: dict[str, Any] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Every problem of this config (empty when valid)."""
        found = []
        if self.backend not in BACKENDS:
            found.append(f"backend must be one of {', '.join(BACKENDS)} (got {self.backend!r})")
        if self.reading not in READINGS:
            found.append(f"reading must be one of {', '.join(READINGS)} (got {self.reading!r})")
        if self.batch_size < 1:
            found.append("batch_size must be at least 1")
        if self.backend == "openai" and not self.base_urls:
            found.append("backend openai needs base_urls (--base-url http://host:port)")
        return found

    def __post_init__(self) -> None:
        for problem in self.problems():
            if problem.startswith(("backend must", "reading must")):
                raise ValueError(problem)


@dataclass
class PredictorConfig(InferenceConfig):
    """Settings of a predictor (spec: Configuration Reference / PredictorConfig): every
    InferenceConfig field plus the model type."""

    model_type: ModelType = ModelType.TEXT_ONLY

    def inference(self) -> InferenceConfig:
        """The InferenceConfig part of this config (a copy)."""
        names = InferenceConfig.__dataclass_fields__
        return InferenceConfig(**{k: getattr(self, k) for k in names})
