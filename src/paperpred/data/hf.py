"""Hugging Face datasets as a row source: by hub name or local path, split "all" or a year."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

from paperpred.errors import PaperpredError

IMAGE_COLUMNS = ("images", "page_images", "pages")
_FILE_BUILDERS = {".parquet": "parquet", ".arrow": "arrow", ".jsonl": "json", ".json": "json",
                  ".csv": "csv"}


def _local_dataset(path: Path):
    import datasets

    if path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "state.json").exists()):
        return datasets.load_from_disk(str(path))
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.suffix in _FILE_BUILDERS and p.is_file()
    )
    if not files:
        raise PaperpredError(f"{path}: no parquet, arrow, json or csv files in this folder")
    builder = _FILE_BUILDERS[files[0].suffix]
    chosen = [str(p) for p in files if _FILE_BUILDERS.get(p.suffix) == builder]
    return datasets.load_dataset(builder, data_files={"train": chosen})


def _hub_dataset(name: str):
    import datasets

    from paperpred.hub import offline_unless_reachable

    try:
        with offline_unless_reachable():
            return datasets.load_dataset(name)
    except Exception as exc:  # offline, unknown name, no access: one line with what to do
        raise PaperpredError(
            f"cannot load dataset '{name}' from the Hugging Face Hub ({type(exc).__name__}); "
            "without a network pass a local path (a folder of parquet/arrow files or one "
            "saved with save_to_disk) instead"
        ) from exc


def _select(dataset, split: str):
    import datasets

    if isinstance(dataset, datasets.Dataset):
        parts = {"all": dataset}
    else:
        parts = dict(dataset)
    if split in parts and split != "all":
        return parts[split]
    merged = datasets.concatenate_datasets(list(parts.values())) if len(parts) > 1 else next(
        iter(parts.values())
    )
    if split == "all":
        return merged
    if not split.isdigit():
        raise PaperpredError(f"split '{split}' not found; splits: {', '.join(parts)}, or a year")
    year = int(split)
    return merged.filter(lambda y: y is not None and int(float(y)) == year, input_columns="year")


def open_dataset(
    name: str, split: str = "all", load_images: bool = False
) -> tuple[Callable[[], Iterator[tuple[int, dict[str, Any]]]], Callable[[dict], list]]:
    """Return a re-iterable row source and a function that gives a row's page images."""
    path = Path(name)
    dataset = _local_dataset(path) if path.exists() else _hub_dataset(name)
    dataset = _select(dataset, str(split))
    image_columns = [c for c in IMAGE_COLUMNS if c in dataset.column_names]
    # Rows are read without their images (never decode images nobody asked for, and not in
    # the loader's first pass); a loaded row's images are fetched by index on demand.
    text_only = dataset.remove_columns(image_columns) if image_columns else dataset

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, row in enumerate(text_only, start=1):
            yield number, {**row, "__index__": number - 1}

    def images_of(row: dict | None) -> list:
        if not row or not image_columns or not load_images:
            return []
        record = dataset[row["__index__"]]
        found = next((record[c] for c in image_columns if record[c]), None)
        return list(found) if isinstance(found, (list, tuple)) else ([found] if found else [])

    return rows, images_of
