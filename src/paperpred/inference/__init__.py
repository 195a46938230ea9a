"""Inference engines behind one interface: generation and label scoring.

``create_backend("auto" | "transformers" | "vllm" | "openai", model)`` builds one;
``resolve_model`` turns a name or path into something loadable (the embedded
``smollm2-135m-instruct`` included). Heavy engines (torch, transformers, vllm, httpx) are
imported only when a backend is built.
"""

from __future__ import annotations

from typing import Any

from paperpred.errors import EmbeddedModelError, ModelNotAvailableError, VLLMNotInstalledError
from paperpred.inference.base import (
    IMAGE_TOKEN,
    ChatRequest,
    GenerationParams,
    InferenceBackend,
)
from paperpred.inference.embedded import EMBEDDED_MODEL_NAME, ensure_embedded_model
from paperpred.inference.factory import BACKEND_KINDS, create_backend, resolve_backend_kind
from paperpred.inference.models import (
    default_model,
    is_vision_model,
    resolve_adapter,
    resolve_model,
)
from paperpred.inference.transformers_backend import TransformersBackend
from paperpred.inference.vllm_backend import VLLMBackend

__all__ = [
    "BACKEND_KINDS",
    "EMBEDDED_MODEL_NAME",
    "IMAGE_TOKEN",
    "ChatRequest",
    "EmbeddedModelError",
    "GenerationParams",
    "InferenceBackend",
    "ModelNotAvailableError",
    "OpenAIBackend",
    "TransformersBackend",
    "VLLMBackend",
    "VLLMNotInstalledError",
    "create_backend",
    "default_model",
    "ensure_embedded_model",
    "is_vision_model",
    "resolve_adapter",
    "resolve_backend_kind",
    "resolve_model",
]


def __getattr__(name: str) -> Any:
    """``OpenAIBackend`` is imported on first use (it needs httpx)."""
    if name == "OpenAIBackend":
        from paperpred.inference.openai_backend import OpenAIBackend

        return OpenAIBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
