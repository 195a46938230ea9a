"""Helpers of the training tests."""

from __future__ import annotations

import copy
from pathlib import Path


def with_pages(submissions: list, pages: list[Path]) -> list:
    """Copies of ``submissions`` that show ``pages`` as their page images."""
    out = []
    for sub in submissions:
        twin = copy.copy(sub)
        twin.page_images = list(pages)
        out.append(twin)
    return out
