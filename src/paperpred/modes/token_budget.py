"""Will a vision training sample fit? Page-image tokens plus text tokens against the length
limit, counted before training starts.

A Qwen2-VL / Qwen2.5-VL page becomes ``(h / 14) * (w / 14) / 4`` tokens after the image
processor's ``smart_resize`` (sides rounded to multiples of 28, pixels kept within the
processor's ``min_pixels``..``max_pixels``). LlamaFactory first shrinks each image to
``image_max_pixels`` (and grows it to ``image_min_pixels``); TRL's GRPO hands pages to the
processor as they are. A sample longer than the limit is not refused by either: LlamaFactory
keeps the first ``cutoff_len`` tokens; where the cut goes through image tokens, training fails
deep inside the model ("Image features and image tokens do not match: tokens: 24, features
72", seen with the tiny Qwen2.5-VL at cutoff_len 300), and where it falls after them, the end
of the prompt is dropped without a word (at 440). So paperpred counts first and refuses,
naming the paper, its count and the fixes.

The geometry is read from the model folder's ``preprocessor_config.json`` when the weights are
on this machine, else Qwen2.5-VL's published values; text is counted with the model's
tokenizer and chat template when they are here (else only the image tokens are counted, and
the message says so).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperpred.errors import PaperpredError
from paperpred.inference.models import local_model_path
from paperpred.inputs.base import IMAGE_TOKEN

#: LlamaFactory's default ``image_min_pixels``.
LLAMAFACTORY_MIN_PIXELS = 32 * 32
#: ``<|vision_start|>`` and ``<|vision_end|>`` around each image's pad tokens.
TOKENS_AROUND_IMAGE = 2
#: Resolutions offered as a fix, largest first.
PIXEL_LADDER = tuple(side * side for side in (768, 640, 512, 448, 384, 320, 256, 192, 128))


@dataclass(frozen=True)
class VisionGeometry:
    """The image processor's settings that decide the token count (Qwen2.5-VL's defaults)."""

    patch_size: int = 14
    merge_size: int = 2
    min_pixels: int = 56 * 56
    max_pixels: int = 28 * 28 * 16384

    @classmethod
    def of_model(cls, model_dir: str | Path | None) -> VisionGeometry:
        """From ``model_dir/preprocessor_config.json`` where present, else the defaults."""
        path = Path(model_dir) / "preprocessor_config.json" if model_dir else None
        if path is None or not path.is_file():
            return cls()
        config = json.loads(path.read_text())
        size = config.get("size") or {}
        return cls(patch_size=int(config.get("patch_size", cls.patch_size)),
                   merge_size=int(config.get("merge_size", cls.merge_size)),
                   min_pixels=int(config.get("min_pixels") or size.get("shortest_edge")
                                  or cls.min_pixels),
                   max_pixels=int(config.get("max_pixels") or size.get("longest_edge")
                                  or cls.max_pixels))


def _scale(width: int, height: int, pixels: int) -> tuple[int, int]:
    factor = math.sqrt(pixels / (width * height))
    return int(width * factor), int(height * factor)


def llamafactory_resize(width: int, height: int, image_max_pixels: int,
                        image_min_pixels: int = LLAMAFACTORY_MIN_PIXELS) -> tuple[int, int]:
    """The size LlamaFactory's Qwen2-VL plugin gives an image before the processor sees it."""
    if width * height > image_max_pixels:
        width, height = _scale(width, height, image_max_pixels)
    if width * height < image_min_pixels:
        width, height = _scale(width, height, image_min_pixels)
    if min(width, height) < 28:
        width, height = max(width, 28), max(height, 28)
    if width / height > 200:
        width = height * 180
    if height / width > 200:
        height = width * 180
    return width, height


def image_tokens(width: int, height: int, geometry: VisionGeometry,
                 image_max_pixels: int | None = None) -> int:
    """Tokens of one image of ``width`` x ``height`` pixels (``image_max_pixels``: shrunk by
    LlamaFactory first; None: the processor alone, as in TRL)."""
    if image_max_pixels is not None:
        width, height = llamafactory_resize(width, height, image_max_pixels)
    factor = geometry.patch_size * geometry.merge_size
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > geometry.max_pixels:
        beta = math.sqrt(height * width / geometry.max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < geometry.min_pixels:
        beta = math.sqrt(geometry.min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return (h_bar // geometry.patch_size) * (w_bar // geometry.patch_size) \
        // geometry.merge_size ** 2


def image_size(image: Any) -> tuple[int, int]:
    """(width, height) of a PIL image or an image file (only its header is read)."""
    if isinstance(image, (str, Path)):
        from PIL import Image

        with Image.open(image) as opened:
            return opened.size
    return image.size


@dataclass(frozen=True)
class SampleLength:
    """The tokens of one training sample."""

    submission_id: str
    pages: int
    image_tokens: int
    text_tokens: int | None  # None: no tokenizer here
    sizes: tuple[tuple[int, int], ...]

    @property
    def total(self) -> int:
        return self.image_tokens + (self.text_tokens or 0)


def _text_tokens(tokenizer: Any, messages: Sequence[dict[str, Any]]) -> int:
    turns = [{"role": m["role"], "content": str(m["content"]).replace(IMAGE_TOKEN, "")}
             for m in messages]
    try:
        ids = tokenizer.apply_chat_template(turns, tokenize=True)
    except Exception:  # noqa: BLE001 - a tokenizer without a chat template: the contents alone
        ids = tokenizer("\n".join(t["content"] for t in turns))["input_ids"]
    if hasattr(ids, "keys"):  # transformers 5 returns a BatchEncoding
        ids = ids["input_ids"]
    return len(ids)


def measure(samples: Sequence[Any], messages_of: Any, geometry: VisionGeometry,
            tokenizer: Any | None, image_max_pixels: int | None) -> list[SampleLength]:
    """The length of every sample: ``messages_of(sample)`` gives the turns that are tokenised
    (with the answer for SFT, the prompt for GRPO)."""
    out = []
    for sample in samples:
        sizes = tuple(image_size(image) for image in sample.images)
        pixels = sum(image_tokens(w, h, geometry, image_max_pixels) for w, h in sizes)
        text = _text_tokens(tokenizer, messages_of(sample)) if tokenizer is not None else None
        out.append(SampleLength(sample.submission_id, len(sizes),
                                pixels + TOKENS_AROUND_IMAGE * len(sizes), text, sizes))
    return out


def _pixels_that_fit(length: SampleLength, limit: int, geometry: VisionGeometry) -> int | None:
    for pixels in PIXEL_LADDER:
        tokens = sum(image_tokens(w, h, geometry, pixels) + TOKENS_AROUND_IMAGE
                     for w, h in length.sizes)
        if tokens + (length.text_tokens or 0) <= limit:
            return pixels
    return None


CUTS = ("LlamaFactory would cut the sequence at cutoff_len, through the image tokens (training "
        "then fails inside the model: 'Image features and image tokens do not match') or "
        "through the end of the prompt (silently)")


def check_fits(lengths: Sequence[SampleLength], limit: int, what: str,
               geometry: VisionGeometry, image_max_pixels: int | None, why: str = CUTS) -> None:
    """Refuse when any sample is longer than ``limit`` tokens.

    Raises:
        PaperpredError: naming how many samples are too long, the longest (paper, pages,
            image and text tokens) and the fixes: fewer pages, fewer pixels per page (the
            largest listed resolution that fits, for LlamaFactory) or a larger limit.
    """
    over = [s for s in lengths if s.total > limit]
    if not over:
        return
    worst = max(over, key=lambda s: s.total)
    per_page = (worst.image_tokens // worst.pages) if worst.pages else 0
    room = limit - (worst.text_tokens or 0)
    pages_fit = max(0, room // per_page) if per_page else worst.pages
    text = (f"{worst.text_tokens} text tokens" if worst.text_tokens is not None
            else "text not counted: the model's tokenizer is not on this machine")
    resolution = (f"image_max_pixels {image_max_pixels:,}" if image_max_pixels is not None
                  else f"the processor's max_pixels {geometry.max_pixels:,}")
    fixes = [f"fewer pages (max_images={pages_fit} fits this paper)" if pages_fit
             else "fewer pages (not even one page fits beside the text)"]
    if image_max_pixels is not None:
        smaller = _pixels_that_fit(worst, limit, geometry)
        fixes.append(f"a smaller image_max_pixels ({smaller:,} fits)" if smaller
                     else "a smaller image_max_pixels")
    else:
        fixes.append("smaller page images (render the PDFs at a lower resolution)")
    fixes.append(f"a larger max_length (at least {max(s.total for s in over)})")
    raise PaperpredError(
        f"{len(over)} of {len(lengths)} training samples do not fit {what} {limit}: "
        f"{worst.submission_id} needs {worst.total} tokens ({worst.pages} pages x about "
        f"{per_page} image tokens at {resolution}, + {text}); {why}. "
        f"Fix: {'; or '.join(fixes)}")


def load_tokenizer(model_dir: str | Path | None) -> Any | None:
    """The model folder's tokenizer, or None when the folder is not here."""
    if model_dir is None or not Path(model_dir).is_dir():
        return None
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(model_dir))
    except (OSError, ValueError):
        return None


def refuse_too_long(samples: Sequence[Any], model_name: str, limit: int, what: str,
                    image_max_pixels: int | None, with_answer: bool,
                    why: str = CUTS) -> list[SampleLength]:
    """Measure the samples that carry page images and refuse (:func:`check_fits`) when one is
    longer than ``limit``; returns the lengths. Text-only samples are not measured."""
    with_pages = [s for s in samples if getattr(s, "images", None)]
    if not with_pages:
        return []
    model_dir = local_model_path(model_name)
    geometry = VisionGeometry.of_model(model_dir)
    lengths = measure(with_pages, (lambda s: s.messages) if with_answer
                      else (lambda s: s.prompt_messages), geometry, load_tokenizer(model_dir),
                      image_max_pixels)
    check_fits(lengths, limit, what, geometry, image_max_pixels, why)
    return lengths
