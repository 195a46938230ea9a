"""Hugging Face datasets as a row source: by hub name or local path, split by split.

Splits:

- a local folder saved with ``save_to_disk`` has its own splits;
- a local folder of data files (parquet, arrow, JSON lines, CSV) has one split per file name,
  as the Hub lays them out: ``data/2024-00000-of-00003.parquet``, ``2024.parquet`` and
  ``2024/part-0.parquet`` all belong to split ``"2024"`` (a single file is split ``"train"``);
- a hub name has the splits the Hub lists (the published ICLR dataset: one per year).

``split`` picks one: a split's name reads only that split; ``"all"`` reads every split, one
after another (never merged in memory); a year that is not a split's name reads every split
and keeps that year's rows. Local data files are streamed (read in order, not copied into the
``datasets`` cache), which keeps memory flat for datasets larger than memory; hub datasets are
downloaded and memory-mapped unless ``streaming=True``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from paperpred.errors import PaperpredError
from paperpred.hub import offline_unless_reachable

IMAGE_COLUMNS = ("images", "page_images", "pages")
#: The key under which a row carries its embedded images to the loader (keys starting with
#: ``__`` never reach ``Submission.metadata``).
IMAGES_KEY = "__images__"
SPLIT_KEY, SPLIT_ROW_KEY = "__split__", "__split_row__"
_FILE_BUILDERS = {".parquet": "parquet", ".arrow": "arrow", ".jsonl": "json", ".json": "json",
                  ".csv": "csv"}
_SHARD = re.compile(r"-\d{5}-of-\d{5}$")

Rows = Callable[[], Iterator[tuple[int, dict[str, Any]]]]


def _split_of(path: Path, folder: Path) -> str:
    """The split a data file belongs to, from its name (the Hub's conventions)."""
    relative = path.relative_to(folder)
    stem = _SHARD.sub("", path.name[: -len(path.suffix)])
    parent = relative.parent.name if len(relative.parts) > 1 else ""
    if parent and parent != "data" and not stem.startswith(parent):
        return parent
    return stem


def _data_files(path: Path) -> tuple[str, dict[str, list[str]]]:
    """(builder, split -> files) of a local data file or folder."""
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.suffix in _FILE_BUILDERS and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise PaperpredError(f"{path}: no parquet, arrow, json or csv files in this folder")
    builder = _FILE_BUILDERS[files[0].suffix]
    splits: dict[str, list[str]] = {}
    for file in files:
        if _FILE_BUILDERS.get(file.suffix) != builder:
            continue
        name = "train" if path.is_file() else _split_of(file, path)
        splits.setdefault(name, []).append(str(file))
    return builder, splits


def _sort_key(name: str) -> tuple[int, str]:
    return (0, f"{int(name):08d}") if name.isdigit() else (1, name)


class _Parts:
    """The splits of one dataset, each opened only when read."""

    def __init__(self, names: list[str], opener: Callable[[str], Any]) -> None:
        self.names = sorted(names, key=_sort_key)
        self._opener = opener

    def open(self, name: str) -> Any:
        return self._opener(name)


def _local_parts(path: Path, streaming: bool | None) -> _Parts:
    import datasets

    if path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "state.json").exists()):
        loaded = datasets.load_from_disk(str(path))  # memory-mapped arrow: nothing copied
        parts = {"all": loaded} if isinstance(loaded, datasets.Dataset) else dict(loaded)
        return _Parts(list(parts), parts.__getitem__)
    builder, files = _data_files(path)

    def opener(name: str) -> Any:
        return datasets.load_dataset(builder, data_files={name: files[name]}, split=name,
                                     streaming=streaming is not False)

    return _Parts(list(files), opener)


def _hub_parts(name: str, streaming: bool | None) -> _Parts:
    import datasets

    def failed(exc: Exception) -> PaperpredError:
        return PaperpredError(
            f"cannot load dataset '{name}' from the Hugging Face Hub ({type(exc).__name__}); "
            "without a network pass a local path (a folder of parquet/arrow files or one "
            "saved with save_to_disk) instead")

    try:
        with offline_unless_reachable():
            names = datasets.get_dataset_split_names(name)
    except Exception as exc:  # offline, unknown name, no access: one line with what to do
        raise failed(exc) from exc

    def opener(split: str) -> Any:
        try:
            with offline_unless_reachable():
                return datasets.load_dataset(name, split=split, streaming=bool(streaming))
        except Exception as exc:
            raise failed(exc) from exc

    return _Parts(list(names), opener)


def _chosen(parts: _Parts, split: str) -> tuple[list[str], int | None]:
    """(splits to read, year to keep or None)."""
    if split in parts.names and split != "all":
        return [split], None
    if split == "all":
        return parts.names, None
    if not split.isdigit():
        raise PaperpredError(f"split '{split}' not found; splits: {', '.join(parts.names)}, "
                             "or a year")
    return parts.names, int(split)


def _year_of(row: dict[str, Any]) -> int | None:
    try:
        return int(float(row.get("year")))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def open_dataset(name: str, split: str = "all", load_images: bool = False,
                 streaming: bool | None = None) -> tuple[Rows, Rows]:
    """Two re-iterable row sources of a dataset: the rows without image columns (for the
    loader's first pass, which must not decode images), and the rows as loaded (with their
    embedded images under :data:`IMAGES_KEY` when ``load_images``).

    Each row carries its split and its 1-based number within that split (``__split__``,
    ``__split_row__``) for error messages.
    """
    path = Path(name)
    parts = _local_parts(path, streaming) if path.exists() else _hub_parts(name, streaming)
    names, year = _chosen(parts, str(split))

    def rows(with_images: bool) -> Iterator[tuple[int, dict[str, Any]]]:
        number = 0
        for split_name in names:
            dataset = parts.open(split_name)
            columns = [c for c in IMAGE_COLUMNS if c in (dataset.column_names or [])]
            if columns and not with_images:
                dataset = dataset.remove_columns(columns)
            for index, row in enumerate(dataset, start=1):
                if year is not None and _year_of(row) != year:
                    continue
                number += 1
                row = dict(row)
                found = [row.pop(c) for c in columns if c in row]
                if with_images:
                    images = next((f for f in found if f), None)
                    row[IMAGES_KEY] = (list(images) if isinstance(images, (list, tuple))
                                       else [images] if images else [])
                row[SPLIT_KEY], row[SPLIT_ROW_KEY] = split_name, index
                yield number, row

    return (lambda: rows(False)), (lambda: rows(load_images))
