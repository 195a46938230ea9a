"""Tiny, randomly initialised models with the real Qwen2 / Qwen2.5-VL architectures, built offline.

They carry the real Qwen2.5 tokenizer (:mod:`paperpred.testing.qwen_tokenizer`), chat templates
and, for the vision-language model, a real ``Qwen2_5_VLProcessor``; only the sizes are tiny and
the weights random. Tests, examples and CPU smoke runs load them exactly as they would load
``Qwen/Qwen2.5-*-Instruct`` or ``Qwen/Qwen2.5-VL-*-Instruct`` from the Hub.

Builds are idempotent and atomic: a model is built in a temporary sibling folder, marked complete
and renamed into place, so an interrupted or concurrent build never leaves a broken folder. By
default they live under ``~/.cache/paperpred/models/`` (``$PAPERPRED_CACHE/models/`` when that
variable is set).

Example:
    >>> from transformers import AutoModelForCausalLM, AutoTokenizer
    >>> path = tiny_qwen2_path()  # doctest: +SKIP
    >>> model = AutoModelForCausalLM.from_pretrained(path)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paperpred.testing.qwen_tokenizer import (
    QWEN2_5_SPECIAL_TOKEN_IDS,
    QWEN2_5_VOCAB_SIZE,
    load_qwen2_tokenizer,
)

TINY_QWEN2 = "tiny-qwen2"
TINY_QWEN2_VL = "tiny-qwen2.5-vl"
#: Written last into a finished model folder; its JSON is the build spec checked on reuse.
MARKER_FILE = ".paperpred-tiny.json"
#: Bump when a builder's output changes, so stale cached folders are rebuilt.
TINY_BUILD_VERSION = 3

_PAD_TO = 64  # embedding rows padded like the Hub checkpoints pad theirs
TINY_VOCAB_SIZE = -(-QWEN2_5_VOCAB_SIZE // _PAD_TO) * _PAD_TO  # 151,680
_IDS = QWEN2_5_SPECIAL_TOKEN_IDS

#: Tiny text stack shared by both models (head_dim 32: vLLM's CPU attention takes no smaller).
TEXT_DIMS: dict[str, Any] = dict(
    vocab_size=TINY_VOCAB_SIZE, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
    num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32_768,
    rope_theta=1_000_000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False,
    bos_token_id=_IDS["<|endoftext|>"], eos_token_id=_IDS["<|im_end|>"],
)
#: Vision tower: depth 2, the last block full attention as in Qwen2.5-VL (window elsewhere).
VISION_DIMS: dict[str, Any] = dict(
    depth=2, hidden_size=32, intermediate_size=64, num_heads=2, in_channels=3, patch_size=14,
    spatial_merge_size=2, temporal_patch_size=2, tokens_per_second=2, window_size=112,
    fullatt_block_indexes=[1], out_hidden_size=TEXT_DIMS["hidden_size"],
)
#: ``mrope_section`` (temporal, height, width) must sum to head_dim / 2 = 16 (Qwen2.5-VL's
#: own split, 16/24/24 of 64, scaled down).
MROPE_SECTION = [4, 6, 6]
#: Small pixel budget so CPU runs are fast: 4 to 16 visual tokens per image.
VL_MIN_PIXELS = 56 * 56
VL_MAX_PIXELS = 56 * 56 * 4


def cache_root() -> Path:
    """``$PAPERPRED_CACHE`` if set, else ``~/.cache/paperpred``."""
    env = os.environ.get("PAPERPRED_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "paperpred"


def models_cache_dir() -> Path:
    """Folder of built/converted model checkpoints: ``cache_root() / "models"``."""
    return cache_root() / "models"


def qwen2_tokenizer(chat_template: str = "qwen2.5") -> Any:
    """The real Qwen2.5 ``Qwen2TokenizerFast``; its ``tokenizer.json`` is built once (about 3 s)
    into :func:`models_cache_dir` and read from there afterwards.

    Args:
        chat_template: ``"qwen2.5"`` (text), ``"qwen2-vl"`` (vision-language) or a Jinja string.
    """
    return load_qwen2_tokenizer(models_cache_dir(), chat_template=chat_template)


def _generation_config() -> Any:
    """Qwen2.5-Instruct's stop and pad ids; greedy by default, since the weights are random."""
    from transformers import GenerationConfig

    return GenerationConfig(
        bos_token_id=_IDS["<|endoftext|>"],
        eos_token_id=[_IDS["<|im_end|>"], _IDS["<|endoftext|>"]],
        pad_token_id=_IDS["<|endoftext|>"],
        do_sample=False,
    )


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None


def _is_built(folder: Path, spec: dict[str, Any]) -> bool:
    return _read_marker(folder) == spec


def _remove_dead_temp_dirs(parent: Path, name: str) -> None:
    """Delete temporary build folders left by processes that died mid-build."""
    for leftover in parent.glob(f".{name}.tmp-*"):
        try:
            pid = int(leftover.name.split(".tmp-")[1].split("-")[0])
            os.kill(pid, 0)  # still running: leave it alone
        except ProcessLookupError:
            shutil.rmtree(leftover, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            continue


def _build_atomically(out_dir: Path, spec: dict[str, Any], build: Callable[[Path], None]) -> Path:
    """Run ``build(tmp)`` in a temporary sibling folder and rename it to ``out_dir``.

    Reuses ``out_dir`` when its marker equals ``spec``; replaces it when it is empty or a
    paperpred tiny model with another spec.

    Raises:
        FileExistsError: ``out_dir`` exists and is not a paperpred tiny model.
    """
    out_dir = Path(out_dir).expanduser().resolve()
    if _is_built(out_dir, spec):
        return out_dir
    if out_dir.exists() and any(out_dir.iterdir()) and _read_marker(out_dir) is None:
        raise FileExistsError(
            f"{out_dir} exists and is not a paperpred tiny model; choose an empty or new folder"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_temp_dirs(out_dir.parent, out_dir.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        build(tmp)
        (tmp / MARKER_FILE).write_text(json.dumps(spec, indent=2, sort_keys=True))
        if out_dir.exists():
            if _is_built(out_dir, spec):  # a concurrent build finished first
                return out_dir
            stale = out_dir.with_name(f".{out_dir.name}.stale-{uuid.uuid4().hex}")
            os.rename(out_dir, stale)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, out_dir)
        except OSError:
            if _is_built(out_dir, spec):  # lost the race to an identical build
                return out_dir
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def build_tiny_qwen2(out_dir: str | Path, seed: int = 0) -> Path:
    """Build (once) a random tiny ``Qwen2ForCausalLM`` with the real Qwen2.5 tokenizer.

    2 layers, hidden 64, 4 heads / 2 KV heads, tied embeddings over a 151,680-row vocabulary;
    fp32, about 39 MB of weights. Saved with tokenizer, Qwen2.5 chat template and generation
    config, so ``AutoModelForCausalLM`` and ``AutoTokenizer`` load it.

    Args:
        out_dir: destination folder (created; reused when already built with this seed).
        seed: torch seed for the random weights.

    Returns:
        The model folder.
    """
    spec = {"model": TINY_QWEN2, "seed": seed, "version": TINY_BUILD_VERSION}

    def build(folder: Path) -> None:
        import torch
        from transformers import Qwen2Config, Qwen2ForCausalLM

        config = Qwen2Config(**TEXT_DIMS, torch_dtype="float32")
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config).eval()
        model.generation_config = _generation_config()
        model.save_pretrained(folder)
        qwen2_tokenizer("qwen2.5").save_pretrained(folder)

    return _build_atomically(Path(out_dir), spec, build)


def build_tiny_qwen2_5_vl(out_dir: str | Path, seed: int = 0) -> Path:
    """Build (once) a random tiny ``Qwen2_5_VLForConditionalGeneration`` with its processor.

    Text stack as :func:`build_tiny_qwen2` with M-RoPE (``mrope_section`` [2, 3, 3]); a 2-block
    vision tower (hidden 32, patch 14, merge 2, window attention with the last block full).
    Saved with a ``Qwen2_5_VLProcessor`` (fast image processor, 3,136 to 12,544 pixels per
    image), the real tokenizer and the Qwen2-VL chat template, so ``AutoProcessor`` and
    ``AutoModelForImageTextToText`` load it.

    Args:
        out_dir: destination folder (created; reused when already built with this seed).
        seed: torch seed for the random weights.

    Returns:
        The model folder.
    """
    spec = {"model": TINY_QWEN2_VL, "seed": seed, "version": TINY_BUILD_VERSION}

    def build(folder: Path) -> None:
        import torch
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        text = dict(TEXT_DIMS, rope_scaling={"type": "mrope", "mrope_section": MROPE_SECTION})
        config = Qwen2_5_VLConfig(
            text_config=text,
            vision_config=dict(VISION_DIMS),
            image_token_id=_IDS["<|image_pad|>"],
            video_token_id=_IDS["<|video_pad|>"],
            vision_start_token_id=_IDS["<|vision_start|>"],
            vision_end_token_id=_IDS["<|vision_end|>"],
            tie_word_embeddings=True,
            torch_dtype="float32",
        )
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(config).eval()
        model.generation_config = _generation_config()
        model.save_pretrained(folder)
        _add_top_level_architectures(folder / "config.json", model)
        build_tiny_qwen2_5_vl_processor().save_pretrained(folder)

    return _build_atomically(Path(out_dir), spec, build)


def _add_top_level_architectures(config_file: Path, model: Any) -> None:
    """Make config.json read like a Hub Qwen2.5-VL checkpoint's.

    transformers 4.57 routes ``architectures`` into ``text_config`` when saving a composite
    config; tools that read config.json directly (vLLM's model registry) look for it at the
    top. It also saves ``text_config.model_type`` ("qwen2_5_vl_text"), which the loaded
    config then forwards as its own ``model_type``, so LlamaFactory would not know the model
    as Qwen2.5-VL (and would put LoRA on the vision tower); Hub checkpoints do not have it.
    """
    data = json.loads(config_file.read_text())
    data.setdefault("architectures", [type(model).__name__])
    data.get("text_config", {}).pop("model_type", None)
    config_file.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def build_tiny_qwen2_5_vl_processor() -> Any:
    """A ``Qwen2_5_VLProcessor`` with the real tokenizer and a small pixel budget."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessorFast
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    pixels = dict(min_pixels=VL_MIN_PIXELS, max_pixels=VL_MAX_PIXELS, patch_size=14,
                  temporal_patch_size=2, merge_size=2)
    tokenizer = qwen2_tokenizer("qwen2-vl")
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessorFast(**pixels),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(**pixels),
        chat_template=tokenizer.chat_template,
    )


def tiny_qwen2_path(seed: int = 0) -> Path:
    """Folder of the cached tiny Qwen2 (built on first use)."""
    name = TINY_QWEN2 if seed == 0 else f"{TINY_QWEN2}-seed{seed}"
    return build_tiny_qwen2(models_cache_dir() / name, seed=seed)


def tiny_qwen2_5_vl_path(seed: int = 0) -> Path:
    """Folder of the cached tiny Qwen2.5-VL (built on first use)."""
    name = TINY_QWEN2_VL if seed == 0 else f"{TINY_QWEN2_VL}-seed{seed}"
    return build_tiny_qwen2_5_vl(models_cache_dir() / name, seed=seed)


_ALIASES: dict[str, Callable[[], Path]] = {
    TINY_QWEN2: tiny_qwen2_path,
    TINY_QWEN2_VL: tiny_qwen2_5_vl_path,
}


def tiny_model_path(alias: str) -> Path | None:
    """The cached folder for a tiny-model alias (``"tiny-qwen2"``, ``"tiny-qwen2.5-vl"``),
    built on first use; ``None`` when ``alias`` names no tiny model."""
    builder = _ALIASES.get(alias.strip().lower())
    return builder() if builder else None


def is_tiny_alias(alias: str) -> bool:
    """Whether ``alias`` names one of the tiny models (without building anything)."""
    return alias.strip().lower() in _ALIASES
