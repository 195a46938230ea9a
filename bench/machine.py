"""What every benchmark result records about where it ran, and when (bench/*.py import it;
they run as scripts, so this folder is on their path)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any


def machine(**extra: Any) -> dict[str, Any]:
    """Python version, platform, CPU count, and ``extra`` (torch threads, load...)."""
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpus": os.cpu_count(), **extra}


def now() -> str:
    """The time of a result, UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write ``result`` (with ``machine`` and ``when`` added) as JSON to ``path``, and print it."""
    result = {**result, "machine": result.get("machine", machine()), "when": now()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
