"""``create_backend``: one entry point for every engine (``backend: auto | transformers | vllm |
openai``). Engines are imported only when chosen."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from paperpred.config import BACKENDS, InferenceConfig, ModelType
from paperpred.errors import ConfigError
from paperpred.inference.base import InferenceBackend
from paperpred.inference.models import default_model
from paperpred.registry import Registry, load_ref

logger = logging.getLogger(__name__)

BACKEND_KINDS = BACKENDS
#: The engines by name, imported on first use.
BACKEND_CLASSES: Registry[str] = Registry("backend")
BACKEND_CLASSES.register("transformers",
                         "paperpred.inference.transformers_backend:TransformersBackend")
BACKEND_CLASSES.register("vllm", "paperpred.inference.vllm_backend:VLLMBackend")
BACKEND_CLASSES.register("openai", "paperpred.inference.openai_backend:OpenAIBackend")
#: Options a caller may pass without knowing which engine ``auto`` picks; an engine that has no
#: use for one ignores it (logged at debug level) instead of failing.
PORTABLE_OPTIONS = frozenset({"adapter_path", "batch_size", "max_images", "device", "dtype",
                              "merge_adapter", "tensor_parallel_size"})
_ACCEPTS: dict[str, frozenset[str]] = {
    "transformers": frozenset({"adapter_path", "batch_size", "max_images", "device", "dtype",
                               "merge_adapter"}),
    "vllm": frozenset({"adapter_path", "max_images", "dtype", "tensor_parallel_size",
                       "merge_adapter"}),
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
        >>> backend = create_backend("auto", "smollm2-135m-instruct",
        ...                          batch_size=8)  # doctest: +SKIP
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
    cls = load_ref(BACKEND_CLASSES.get(chosen))
    if chosen != "openai":
        return cls(model, **options)
    if "base_urls" not in options:
        raise ValueError("the openai backend needs base_urls, e.g. "
                         "base_urls=['http://127.0.0.1:8000']")
    return cls(model=model, **options)


def engine_kwargs(kind: str, config: InferenceConfig) -> dict[str, Any]:
    """The keyword arguments of ``kind``'s engine for ``config``: its settings that the engine
    takes, then ``config.engine_options`` unchanged (they win)."""
    if kind == "openai":
        options: dict[str, Any] = {"base_urls": list(config.base_urls),
                                   "api_key": config.api_key,
                                   "concurrency": config.concurrency}
    elif kind == "vllm":
        options = {"adapter_path": config.adapter_path, "dtype": config.dtype,
                   "tensor_parallel_size": config.tensor_parallel_size}
    else:
        options = {"adapter_path": config.adapter_path, "device": config.device,
                   "dtype": config.dtype, "batch_size": config.batch_size,
                   "merge_adapter": config.merge_adapter}
    options.update(config.engine_options)
    return options


def backend_for(config: InferenceConfig, kind: str | None = None) -> InferenceBackend:
    """The engine an InferenceConfig asks for (``kind`` overrides ``config.backend``)."""
    chosen = resolve_backend_kind(kind or config.backend)
    kwargs = engine_kwargs(chosen, config)
    try:
        return create_backend(chosen, config.model_name_or_path, **kwargs)
    except TypeError as exc:
        if config.engine_options and "unexpected keyword argument" in str(exc):
            raise ConfigError(f"engine_options {sorted(config.engine_options)}: the {chosen} "
                              f"backend does not take one of them ({exc})") from exc
        raise
