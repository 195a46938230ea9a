"""Pure helpers that turn a :class:`ChatRequest` into what an engine's chat format expects.

A request's user text holds one literal ``<image>`` marker per image, in order (LlamaFactory's
convention). Engines want structured content instead: transformers processors take
``{"type": "image"}`` parts plus the images beside them; vLLM's ``LLM.chat`` and OpenAI-style
servers take ``{"type": "image_url"}`` parts that carry the image. No model I/O here.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paperpred.inference.base import IMAGE_TOKEN, ChatRequest


def load_image(image: Any) -> Any:
    """A PIL image in RGB from a PIL image, a file path or raw bytes.

    Raises:
        FileNotFoundError: a path that does not exist (the message names it).
        TypeError: anything else.
    """
    from PIL import Image

    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    if isinstance(image, (str, os.PathLike)):
        if not os.path.isfile(image):
            raise FileNotFoundError(f"page image {os.fspath(image)!r} does not exist")
        with Image.open(image) as opened:
            return opened.convert("RGB")
    if isinstance(image, (bytes, bytearray)):
        with Image.open(io.BytesIO(image)) as opened:
            return opened.convert("RGB")
    raise TypeError(f"an image must be a PIL image, a path or bytes, not {type(image).__name__}")


def cap_images(request: ChatRequest, max_images: int | None) -> ChatRequest:
    """Keep the first ``max_images`` images and drop the markers of the rest (in text order).

    ``None`` keeps everything. The request itself is not changed.
    """
    if max_images is None or len(request.images) <= max_images:
        return request
    if max_images < 0:
        raise ValueError(f"max_images must be >= 0, got {max_images}")
    remaining = max_images
    messages = []
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, str) and IMAGE_TOKEN in content:
            pieces = content.split(IMAGE_TOKEN)
            text = pieces[0]
            for piece in pieces[1:]:
                if remaining > 0:
                    text += IMAGE_TOKEN
                    remaining -= 1
                text += piece
            message = {**message, "content": text}
        messages.append(message)
    return ChatRequest(messages=messages, images=list(request.images[:max_images]))


def split_markers(text: str, image_part: Callable[[int], dict[str, Any]],
                  start: int = 0) -> list[dict[str, Any]]:
    """Content parts for one text: text parts between ``image_part(i)`` parts, one per marker.

    Args:
        text: the message text with ``<image>`` markers.
        image_part: builds the part for the i-th image of the request (0-based).
        start: index of this text's first image within the request.
    """
    parts: list[dict[str, Any]] = []
    pieces = text.split(IMAGE_TOKEN)
    for index, piece in enumerate(pieces):
        if index > 0:
            parts.append(image_part(start + index - 1))
        if piece.strip():
            parts.append({"type": "text", "text": piece})
    return parts


def to_content_parts(messages: list[dict[str, Any]],
                     image_part: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages whose marker-bearing text becomes a list of parts; others are unchanged.
    The input messages are never modified (new dicts where anything changes)."""
    converted: list[dict[str, Any]] = []
    seen = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str) and IMAGE_TOKEN in content:
            parts = split_markers(content, image_part, start=seen)
            seen += content.count(IMAGE_TOKEN)
            message = {**message, "content": parts}
        converted.append(message)
    return converted


def to_processor_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages for a transformers processor's chat template: ``{"type": "image"}`` parts (the
    images go to the processor separately, in the same order). Every content becomes a list of
    parts, as processor templates expect."""
    converted = to_content_parts(messages, lambda _: {"type": "image"})
    return [{**m, "content": [{"type": "text", "text": m["content"]}]}
            if isinstance(m.get("content"), str) else m for m in converted]


#: Image files sent as their own bytes (anything else is PNG-encoded).
IMAGE_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp", ".gif": "image/gif"}


def image_url(image: Any) -> str:
    """The URL of an image part: an ``http(s)://`` or ``data:`` URL as it is; a PNG, JPEG,
    WebP or GIF file as a ``data:`` URL of its own bytes; anything else (a PIL image, bytes,
    another file) PNG-encoded."""
    if isinstance(image, str) and image.startswith(("http://", "https://", "data:")):
        return image
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        mime = IMAGE_MIME.get(path.suffix.lower())
        if mime and path.is_file():
            return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    buffer = io.BytesIO()
    load_image(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def to_openai_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """OpenAI-style chat messages (what OpenAI-compatible servers and vLLM's ``LLM.chat``
    take): each ``<image>`` marker becomes an ``{"type": "image_url", ...}`` part carrying its
    image; a message without markers keeps its plain string content (text-only servers
    expect it)."""
    urls = [image_url(image) for image in request.images]
    return to_content_parts(
        request.messages, lambda i: {"type": "image_url", "image_url": {"url": urls[i]}})
