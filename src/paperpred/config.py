"""Enums and configuration dataclasses of the public API, with the spec's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class InputModality(str, Enum):
    """How a paper is shown to the model."""

    TEXT_ONLY = "text_only"
    TEXT_WITH_IMAGES = "text_with_images"
    IMAGES_ONLY = "images_only"


class OutputType(str, Enum):
    """What is predicted."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    CITATION_PERCENTILE = "citation_percentile"
    MEAN_RATING = "mean_rating"


class TrainingMode(str, Enum):
    """How the model is made."""

    ZERO_SHOT = "zero_shot"
    SFT_LORA = "sft_lora"
    GRPO = "grpo"


class ModelType(str, Enum):
    """Text-only or vision-language model."""

    TEXT_ONLY = "text_only"
    VISION_LANGUAGE = "vision_language"


class DataFormat(str, Enum):
    """LlamaFactory dataset formats."""

    SHAREGPT = "sharegpt"
    ALPACA = "alpaca"


DEFAULT_MODELS: dict[ModelType, str] = {
    ModelType.TEXT_ONLY: "Qwen/Qwen2.5-7B-Instruct",
    ModelType.VISION_LANGUAGE: "Qwen/Qwen2.5-VL-7B-Instruct",
}


@dataclass
class TrainingConfig:
    """Hyper-parameters of a training run (spec: Configuration Reference / TrainingConfig)."""

    model_name_or_path: str
    model_type: ModelType = ModelType.TEXT_ONLY
    learning_rate: float = 1e-4
    num_epochs: int = 3
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
    ``merge_adapter`` to merge a LoRA adapter into the base weights.
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

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.reading not in READINGS:
            raise ValueError(f"reading must be one of {', '.join(READINGS)}, got {self.reading!r}")


@dataclass
class PredictorConfig(InferenceConfig):
    """Settings of a predictor (spec: Configuration Reference / PredictorConfig): every
    InferenceConfig field plus the model type."""

    model_type: ModelType = ModelType.TEXT_ONLY

    def inference(self) -> InferenceConfig:
        """The InferenceConfig part of this config."""
        names = InferenceConfig.__dataclass_fields__
        return InferenceConfig(**{k: getattr(self, k) for k in names})
