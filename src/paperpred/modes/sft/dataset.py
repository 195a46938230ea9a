"""LlamaFactory datasets: samples as sharegpt (messages + images) or alpaca JSON, plus the
``dataset_info.json`` that names the file, its format and its columns.

Sharegpt keeps the system turn and carries page images (one ``<image>`` marker per image in the
user text, image files listed in order); alpaca is for text (instruction = the user turn,
output = the label, system = the system turn).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paperpred.config import DataFormat
from paperpred.errors import PaperpredError
from paperpred.inputs.base import IMAGE_TOKEN
from paperpred.modes.images import save_images

DATASET_NAME = "paperpred_train"

SHAREGPT_INFO = {
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "system": "system", "images": "images"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
             "assistant_tag": "assistant", "system_tag": "system"},
}
ALPACA_INFO = {
    "formatting": "alpaca",
    "columns": {"prompt": "instruction", "query": "input", "response": "output",
                "system": "system"},
}


def _split(sample: Any) -> tuple[str, list[dict[str, str]], str]:
    """(system text, user/assistant turns without the answer, the answer)."""
    system = "\n\n".join(m["content"] for m in sample.messages if m["role"] == "system")
    turns = [m for m in sample.messages if m["role"] != "system"]
    if sample.label is None:
        raise PaperpredError(
            f"sample {sample.submission_id} has no label: format training samples with "
            "format_samples(submissions, include_label=True)")
    if turns and turns[-1]["role"] == "assistant":
        turns = turns[:-1]
    return system, turns, sample.label


def _row(sample: Any, data_format: DataFormat, image_dir: Path) -> dict[str, Any]:
    system, turns, answer = _split(sample)
    markers = sum(t["content"].count(IMAGE_TOKEN) for t in turns)
    if markers != len(sample.images):
        raise PaperpredError(
            f"sample {sample.submission_id}: {markers} {IMAGE_TOKEN} markers for "
            f"{len(sample.images)} images; the formatter must write one marker per image")
    if data_format is DataFormat.ALPACA:
        if sample.images:
            raise PaperpredError(
                f"sample {sample.submission_id} has {len(sample.images)} page images, which the "
                "alpaca format cannot carry: use data_format=DataFormat.SHAREGPT")
        user = "\n\n".join(t["content"] for t in turns if t["role"] == "user")
        return {"instruction": user, "input": "", "output": answer, "system": system}
    row: dict[str, Any] = {"messages": [{"role": t["role"], "content": t["content"]}
                                        for t in turns] + [{"role": "assistant",
                                                            "content": answer}],
                           "system": system}
    if sample.images:
        row["images"] = save_images(sample.images, image_dir, sample.submission_id)
    return row


def write_dataset(samples: Sequence[Any], out_dir: str | Path,
                  data_format: DataFormat | str = DataFormat.SHAREGPT,
                  name: str = DATASET_NAME) -> dict[str, Any]:
    """Write ``samples`` as a LlamaFactory dataset in ``out_dir``.

    Writes ``<name>.json``, ``dataset_info.json`` and, for page images, ``images/*.png``.

    Returns:
        data_info: ``dataset`` (the name), ``dataset_dir``, ``file``, ``format``, ``n_samples``,
        ``n_images``, ``has_images``, ``labels`` (count per answer text).

    Raises:
        PaperpredError: no samples, a sample without label, markers that do not match the
            images, or images in the alpaca format.
    """
    data_format = DataFormat(data_format)
    out_dir = Path(out_dir).resolve()
    if not samples:
        raise PaperpredError("no training samples to write: every submission lacked this "
                             "output type's label (see the format report)")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [_row(s, data_format, out_dir / "images") for s in samples]
    has_images = any(r.get("images") for r in rows)
    if data_format is DataFormat.SHAREGPT and has_images:
        for row in rows:  # every row needs the column once one has it
            row.setdefault("images", [])
    file_name = f"{name}.json"
    (out_dir / file_name).write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    info: dict[str, Any] = copy.deepcopy(SHAREGPT_INFO if data_format is DataFormat.SHAREGPT
                                         else ALPACA_INFO)
    if data_format is DataFormat.SHAREGPT and not has_images:
        info["columns"].pop("images")
    info["file_name"] = file_name
    (out_dir / "dataset_info.json").write_text(json.dumps({name: info}, indent=2) + "\n")
    return {
        "dataset": name,
        "dataset_dir": str(out_dir),
        "file": str(out_dir / file_name),
        "format": data_format.value,
        "n_samples": len(rows),
        "n_images": sum(len(r.get("images", [])) for r in rows),
        "has_images": has_images,
        "labels": dict(Counter(s.label for s in samples)),
    }
