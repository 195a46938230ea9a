"""Which model to load: names, local paths, the embedded default, and the spec's defaults.

``resolve_model`` turns what a user typed (``--model``) into something a loader can open:

- a local folder (with a ``config.json``, or an ``adapter_config.json`` for adapters);
- the embedded alias ``smollm2-135m-instruct`` (converted once, see :mod:`.embedded`);
- a Hugging Face Hub name: its cached snapshot folder when it is in the Hub cache, else the name
  itself when the Hub can be reached (the loader downloads it), else an immediate one-line
  :class:`ModelNotAvailableError` that says what to pass instead.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from paperpred.config import DEFAULT_MODELS, ModelType
from paperpred.errors import ModelNotAvailableError
from paperpred.hub import hub_reachable
from paperpred.inference.embedded import (
    EMBEDDED_MODEL_NAME,
    ensure_embedded_model,
    is_embedded_alias,
)

# A Hub repository id: "name" or "owner/name" (letters, digits, '-', '_', '.').
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# model_type values of vision-language checkpoints (config.json), beyond the generic signals
# (a ``vision_config`` or an architecture ending in "VLForConditionalGeneration").
VISION_MODEL_TYPES = frozenset({
    "qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe", "llava", "llava_next",
    "llava_onevision", "idefics2", "idefics3", "smolvlm", "mllama", "paligemma", "gemma3",
    "internvl", "pixtral", "mistral3", "kimi_vl", "glm4v", "aya_vision", "llama4",
})


def _alternatives() -> str:
    return (f"pass --model {EMBEDDED_MODEL_NAME} (the embedded model) or the path of a local "
            "checkpoint folder")


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def _cached_snapshot(repo_id: str, required_file: str) -> str | None:
    """The folder of ``repo_id``'s cached snapshot when it holds ``required_file``."""
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(repo_id, local_files_only=True)
    except Exception:  # noqa: BLE001 - any failure means "not usable from the cache"
        return None
    return folder if (Path(folder) / required_file).is_file() else None


def _resolve(name_or_path: str | os.PathLike[str], required_file: str, what: str) -> str:
    name = str(name_or_path).strip()
    if not name:
        raise ModelNotAvailableError(f"no {what} was given: {_alternatives()}")
    local = Path(name).expanduser()
    if local.exists():
        if local.is_dir() and not (local / required_file).is_file():
            raise ModelNotAvailableError(
                f"{what} folder {local} has no {required_file}: pass a folder written by "
                "save_pretrained")
        return str(local.resolve())
    if _looks_like_path(name) or not _HUB_ID.match(name):
        raise ModelNotAvailableError(f"{what} {name!r}: no such file or folder; {_alternatives()}")
    cached = _cached_snapshot(name, required_file)
    if cached is not None:
        return cached
    if hub_reachable():
        return name
    raise ModelNotAvailableError(
        f"{what} {name!r} is not in the Hugging Face cache and the Hub cannot be reached; "
        f"{_alternatives()}")


def resolve_model(name_or_path: str | os.PathLike[str]) -> str:
    """What to hand to ``from_pretrained`` (or vLLM) for a model name or path.

    Args:
        name_or_path: a local checkpoint folder, ``smollm2-135m-instruct`` (the embedded
            model), ``tiny-qwen2`` / ``tiny-qwen2.5-vl`` (tiny random-weight Qwen models with
            the real architecture and vocabulary, built offline: for smoke runs and tests), or
            a Hub name such as ``Qwen/Qwen2.5-7B-Instruct``.

    Returns:
        A local folder, or the Hub name when it is not cached but the Hub is reachable.

    Raises:
        ModelNotAvailableError: at once (no retries), with one line saying what to pass.
        EmbeddedModelError: the embedded model's package is missing.

    Example:
        >>> resolve_model("smollm2-135m-instruct")  # doctest: +SKIP
        '/home/me/.cache/paperpred/models/smollm2-135m-instruct'
    """
    if is_embedded_alias(name_or_path):
        return str(ensure_embedded_model())
    from paperpred.testing.tiny_models import is_tiny_alias, tiny_model_path

    if is_tiny_alias(str(name_or_path)):
        return str(tiny_model_path(str(name_or_path)))
    return _resolve(name_or_path, "config.json", "model")


def local_model_path(name_or_path: str | os.PathLike[str]) -> str | None:
    """The local folder of a model, or None when its weights are not on this machine.

    For configs written here and run elsewhere (``paperpred train --config-only`` for
    ``Qwen/Qwen2.5-7B-Instruct`` on a login node): the embedded and tiny models are built,
    a cached Hub snapshot is found, and a Hub name that is neither gives None (never a
    download, never an error). A local path that does not exist is still an error.

    Raises:
        ModelNotAvailableError: a path-like name that is not there.
    """
    name = str(name_or_path).strip()
    try:
        resolved = resolve_model(name)
    except ModelNotAvailableError:
        if name and _HUB_ID.match(name) and not _looks_like_path(name):
            return None
        raise
    return resolved if Path(resolved).exists() else None


def resolve_adapter(name_or_path: str | os.PathLike[str]) -> str:
    """Like :func:`resolve_model` for a LoRA adapter (a folder with ``adapter_config.json``)."""
    return _resolve(name_or_path, "adapter_config.json", "adapter")


def _is_cached(repo_id: str) -> bool:
    return _cached_snapshot(repo_id, "config.json") is not None


def default_model(model_type: ModelType | str = ModelType.TEXT_ONLY,
                  has_gpu: bool | None = None, has_network: bool | None = None) -> str:
    """The model to use when none is named (spec: "ModelType | Default Model").

    The production defaults (``Qwen/Qwen2.5-7B-Instruct``, ``Qwen/Qwen2.5-VL-7B-Instruct``) need
    a GPU, and the Hub or a cached copy. On a machine without them, text models fall back to the
    embedded ``smollm2-135m-instruct``. There is no embedded vision-language model, so the VL
    default stays ``Qwen/Qwen2.5-VL-7B-Instruct`` (which then fails fast in
    :func:`resolve_model` if it cannot be had).

    Args:
        model_type: ``ModelType.TEXT_ONLY`` or ``ModelType.VISION_LANGUAGE`` (or their values).
        has_gpu: whether a CUDA GPU is usable; ``None`` detects it.
        has_network: whether the Hub is reachable; ``None`` detects it.
    """
    kind = ModelType(model_type)
    production = DEFAULT_MODELS[kind]
    if kind is ModelType.VISION_LANGUAGE:
        return production
    if has_gpu is None:
        has_gpu = _cuda_available()
    if not has_gpu:
        return EMBEDDED_MODEL_NAME
    if has_network is None:
        has_network = hub_reachable()
    if has_network or _is_cached(production):
        return production
    return EMBEDDED_MODEL_NAME


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def load_model_config(name_or_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``config.json`` of a local folder or of a cached Hub model, or ``None``."""
    name = str(name_or_path)
    local = Path(name).expanduser()
    path: Path | None = local / "config.json" if local.is_dir() else None
    if path is None and _HUB_ID.match(name):
        try:
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(name, "config.json")
        except Exception:  # noqa: BLE001 - a malformed id is simply "not cached"
            found = None
        path = Path(found) if isinstance(found, str) else None
    if path is None or not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return data if isinstance(data, dict) else None


def is_vision_model(name_or_path: str | os.PathLike[str]) -> bool:
    """True for a vision-language checkpoint (Qwen2.5-VL and the like).

    Read from ``config.json`` (``model_type``, ``architectures``, a ``vision_config``); for a Hub
    name whose config is not cached, guessed from the name (``-VL-``).
    """
    if is_embedded_alias(name_or_path):
        return False
    config = load_model_config(name_or_path)
    if config is None:
        return bool(re.search(r"(^|[-_/])vl([-_]|$)", Path(str(name_or_path)).name.lower()))
    architectures = [str(a) for a in config.get("architectures") or []]
    return (
        str(config.get("model_type", "")).lower() in VISION_MODEL_TYPES
        or "vision_config" in config
        or any(a.endswith("VLForConditionalGeneration") for a in architectures)
    )
