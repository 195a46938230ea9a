"""``create_backend``: one entry point for every engine (``backend: auto | transformers | vllm |
openai``). Engines are imported only when chosen."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from paperpred.config import ModelType
from paperpred.inference.base import InferenceBackend
from paperpred.inference.models import default_model

logger = logging.getLogger(__name__)

BACKEND_KINDS = ("auto", "transformers", "vllm", "openai")
#: Options a caller may pass without knowing which engine ``auto`` picks; an engine that has no
#: use for one ignores it (logged at debug level) instead of failing.
PORTABLE_OPTIONS = frozenset({"adapter_path", "batch_size", "max_images", "device", "dtype",
                              "merge_adapter", "tensor_parallel_size"})
_ACCEPTS: dict[str, frozenset[str]] = {
    "transformers": frozenset({"adapter_path", "batch_size", "max_images", "device", "dtype",
                               "merge_adapter"}),
    "vllm": frozenset({"adapter_path", "max_images", "dtype", "tensor_parallel_size"}),
    "openai": frozenset(),
}


def vllm_available() -> bool:
    """True when vLLM is importable and a CUDA GPU is usable (what ``auto`` needs)."""
    if importlib.util.find_spec("vllm") is None:
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_backend_kind(kind: str = "auto") -> str:
    """``auto`` -> ``vllm`` when a CUDA GPU and vLLM are present, else ``transformers``.

    Raises:
        ValueError: an unknown kind (the message lists the known ones).
    """
    name = str(kind).strip().lower()
    if name not in BACKEND_KINDS:
        raise ValueError(f"unknown backend {kind!r}; choose one of {', '.join(BACKEND_KINDS)}")
    if name == "auto":
        return "vllm" if vllm_available() else "transformers"
    return name


def create_backend(kind: str = "auto", model_name_or_path: str | None = None,
                   **kwargs: Any) -> InferenceBackend:
    """Build an inference backend.

    Args:
        kind: ``"auto"``, ``"transformers"``, ``"vllm"`` or ``"openai"``.
        model_name_or_path: a local folder, ``smollm2-135m-instruct`` or a Hub name (for
            ``openai``: the model name the server serves). ``None``: :func:`default_model`.
        **kwargs: the engine's own options (``TransformersBackend``, ``VLLMBackend``,
            ``OpenAIBackend(base_urls=..., api_key=..., concurrency=...)``). Portable options
            (:data:`PORTABLE_OPTIONS`) that the chosen engine has no use for are dropped.

    Raises:
        ValueError: an unknown kind, ``openai`` without ``base_urls``, or an ``adapter_path``
            for ``openai`` (serve the adapter and name it as the model instead).

    Example:
        >>> backend = create_backend("auto", "smollm2-135m-instruct", batch_size=8)  # doctest: +SKIP
    """
    chosen = resolve_backend_kind(kind)
    if chosen == "openai" and kwargs.get("adapter_path"):
        raise ValueError("the openai backend cannot load an adapter: serve it on the server "
                         "(e.g. vllm serve --lora-modules name=path) and pass its name as model")
    options = {}
    for key, value in kwargs.items():
        if key in PORTABLE_OPTIONS and key not in _ACCEPTS[chosen]:
            logger.debug("the %s backend ignores %s=%r", chosen, key, value)
            continue
        options[key] = value
    model = model_name_or_path or default_model(ModelType.TEXT_ONLY)
    if chosen == "transformers":
        from paperpred.inference.transformers_backend import TransformersBackend

        return TransformersBackend(model, **options)
    if chosen == "vllm":
        from paperpred.inference.vllm_backend import VLLMBackend

        return VLLMBackend(model, **options)
    from paperpred.inference.openai_backend import OpenAIBackend

    if "base_urls" not in options:
        raise ValueError("the openai backend needs base_urls, e.g. "
                         "base_urls=['http://127.0.0.1:8000']")
    return OpenAIBackend(model=model, **options)
