"""The GRPO dataset: prompt-only conversational rows for TRL's ``GRPOTrainer``, as JSON lines.

One row per sample::

    {"prompt": [{"role": "system", "content": ...}, {"role": "user", "content": ...}],
     "label": "Answer: 0.73", "submission_id": "...",
     "images": ["/abs/images/00003_abc_p000.png", ...]}          # vision models only

The assistant's answer is never in the prompt: the policy writes it and the rewards compare it
with ``label`` (the output handler's label text). For a vision model every message content is a
list of parts and each ``<image>`` marker of the formatter becomes an ``{"type": "image"}``
part in marker order (TRL keeps contents that are already lists), and ``images`` holds the
page files in the same order (written with :func:`paperpred.modes.images.save_images`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from paperpred.data.splits import interleave_classes
from paperpred.errors import GRPODataError
from paperpred.inference.chat import to_processor_messages
from paperpred.inputs.render import IMAGE_TOKEN
from paperpred.inputs.samples import Sample
from paperpred.modes.images import save_images

TRAIN_FILE = "grpo_train.jsonl"
INFO_FILE = "data_info.json"
IMAGES_DIR = "images"
LABEL_COLUMN = "label"
IMAGE_COLUMN = "images"


def _markers(messages: Sequence[dict[str, Any]]) -> int:
    return sum(m["content"].count(IMAGE_TOKEN) for m in messages
               if isinstance(m.get("content"), str))


def prompt_row(sample: Sample, image_paths: list[str] | None) -> dict[str, Any]:
    """The dataset row of one sample (``image_paths`` None for a text model)."""
    messages = [{"role": m["role"], "content": m["content"]} for m in sample.prompt_messages]
    row: dict[str, Any] = {"submission_id": str(sample.submission_id), LABEL_COLUMN: sample.label}
    if image_paths is None:
        row["prompt"] = messages
    else:
        row["prompt"] = to_processor_messages(messages)
        row[IMAGE_COLUMN] = image_paths
    return row


def write_grpo_dataset(samples: Sequence[Sample], output_dir: str | Path, vision: bool,
                       format_skipped: dict[str, int] | None = None,
                       class_of: Callable[[Sample], Hashable] | None = None,
                       seed: int = 42) -> dict[str, Any]:
    """Write ``output_dir/grpo_train.jsonl`` (and the page images of a vision dataset).

    Samples without a label, and (vision) samples whose ``<image>`` markers do not match their
    images, are skipped and counted; nothing is dropped silently. With ``class_of`` (a sample's
    class), the rows are written with the classes taking turns
    (:func:`paperpred.data.splits.interleave_classes`, ``seed``): stratified batches when TRL
    reads them in order (``shuffle_dataset: false``, which the run config then sets).

    Returns:
        data_info: ``train_file``, ``num_samples``, ``skipped`` (reason -> count),
        ``num_skipped``, ``vision``, ``label_column``, ``image_column``, ``num_images``,
        ``image_dir``, ``format_skipped`` (samples the formatter already left out),
        ``classes`` (class -> rows) and ``interleaved`` (with ``class_of``), also saved as
        ``output_dir/data_info.json``.

    Raises:
        GRPODataError: no samples, no usable sample, or page images for a text-only model.
    """
    skipped: Counter[str] = Counter()
    format_skipped = dict(format_skipped or {})
    if not samples:
        extra = (f" (format_samples skipped {format_skipped})" if format_skipped else "")
        raise GRPODataError("no samples to train on" + extra + ": pass the output of "
                            "mode.format_samples(submissions, include_label=True)")
    if not vision:
        with_images = [s.submission_id for s in samples if s.images]
        if with_images:
            raise GRPODataError(
                f"{len(with_images)} samples carry page images (e.g. {with_images[0]}) but the "
                "model is text-only: use a vision-language model (model_type="
                "ModelType.VISION_LANGUAGE) or a text formatter")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    kept: list[tuple[Sample, list[str] | None]] = []
    n_images = 0
    for index, sample in enumerate(samples):
        if sample.label is None:
            skipped["no label (format with include_label=True)"] += 1
            continue
        paths = None
        if vision:
            if _markers(sample.prompt_messages) != len(sample.images):
                skipped["<image> markers do not match the images"] += 1
                continue
            paths = _save(sample, output_dir / IMAGES_DIR, index)
            n_images += len(paths)
        kept.append((sample, paths))
    if not kept:
        raise GRPODataError(f"none of the {len(samples)} samples is usable: skipped "
                            + ", ".join(f"{k}: {v}" for k, v in skipped.items()))
    classes: Counter[str] = Counter()
    if class_of is not None:
        kept = interleave_classes(kept, lambda pair: class_of(pair[0]), seed)
        classes.update(str(class_of(sample)) for sample, _ in kept)
    rows = [prompt_row(sample, paths) for sample, paths in kept]
    train_file = output_dir / TRAIN_FILE
    with open(train_file, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    info = {
        "format": "trl-conversational-prompt-only",
        "train_file": str(train_file.resolve()),
        "num_samples": len(rows),
        "skipped": dict(skipped),
        "num_skipped": sum(skipped.values()),
        "format_skipped": format_skipped,
        "vision": bool(vision),
        "label_column": LABEL_COLUMN,
        "image_column": IMAGE_COLUMN if vision else None,
        "num_images": n_images,
        "image_dir": str((output_dir / IMAGES_DIR).resolve()) if vision else None,
        "classes": dict(sorted(classes.items())),
        "interleaved": class_of is not None,
    }
    (output_dir / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return info


def _save(sample: Sample, folder: Path, index: int) -> list[str]:
    return save_images(list(sample.images), folder, f"{index:05d}_{sample.submission_id}")


def load_grpo_dataset(data: dict[str, Any]) -> Any:
    """The ``datasets.Dataset`` of a run config's ``data`` section (images decoded to PIL)."""
    from datasets import Dataset, Image, List

    train_file = Path(data["train_file"])
    if not train_file.is_file():
        raise GRPODataError(f"GRPO dataset {train_file} does not exist: run "
                            "mode.prepare_data(samples, folder) first")
    rows = [json.loads(line) for line in train_file.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    if not rows:
        raise GRPODataError(f"GRPO dataset {train_file} is empty")
    dataset = Dataset.from_list(rows)
    column = data.get("image_column")
    if column and column in dataset.column_names:
        dataset = dataset.cast_column(column, List(Image()))
    return dataset
