"""The bundled sample: all 490 ICLR 2017 submissions (CC BY 4.0, OpenReview), shipped as
package data so the main job and the tests need neither a network nor ../shared."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from paperpred.data.loader import ICLRDataLoader
from paperpred.data.submission import Submission

SAMPLE_FILE = "iclr2017.jsonl.gz"


def sample_path() -> Path:
    """Path of the bundled JSON-lines file."""
    return Path(str(resources.files("paperpred.data") / "bundled" / SAMPLE_FILE))


def load_sample(strict: bool = False) -> list[Submission]:
    """The bundled ICLR 2017 sample with percentile labels: 489 submissions. The real data has
    one row with an empty title (row 303), skipped and counted unless ``strict=True``."""
    return list(ICLRDataLoader(strict=strict).load_from_jsonl(sample_path()))
