"""The Hugging Face Hub without a network: fail at once instead of retrying for half a minute.

When the Hub's host cannot even be resolved, loads run in the libraries' offline mode, so a
cached dataset or model still loads and an uncached one fails immediately.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import urlparse


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """True when the Hub's host resolves and accepts a TCP connection."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or ""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def offline_unless_reachable() -> Iterator[bool]:
    """Switch huggingface_hub, datasets and transformers to offline mode while the Hub is
    unreachable; yields whether it is reachable."""
    if hub_reachable():
        yield True
        return
    patched = []
    for module_name, attr in (("huggingface_hub.constants", "HF_HUB_OFFLINE"),
                              ("datasets.config", "HF_HUB_OFFLINE"),
                              ("datasets.config", "HF_DATASETS_OFFLINE")):
        try:
            module = __import__(module_name, fromlist=[attr])
        except ImportError:
            continue
        if hasattr(module, attr):
            patched.append((module, attr, getattr(module, attr)))
            setattr(module, attr, True)
    try:
        yield False
    finally:
        for module, attr, value in patched:
            setattr(module, attr, value)
