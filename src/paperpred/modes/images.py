"""Page images as files: training datasets name images by path, while formatters may hand
over in-memory PIL images (masked pages)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "paper"


def save_images(images: list[Any], folder: str | Path, stem: str) -> list[str]:
    """Write ``images`` (PIL images or paths) as PNG files ``folder/<stem>_p<k>.png``.

    Returns:
        Absolute paths in the same order (the order of the ``<image>`` markers).
    """
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, image in enumerate(images):
        target = folder / f"{_safe(stem)}_p{k:03d}.png"
        if isinstance(image, (str, Path)):
            with Image.open(image) as opened:
                opened.convert("RGB").save(target)
        else:
            image.convert("RGB").save(target)
        paths.append(str(target.resolve()))
    return paths
