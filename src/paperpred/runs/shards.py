"""Prediction in shards: ``--shard i/N`` predicts the papers whose id falls in shard ``i``,
into ``<run folder>/shards/<i>-of-<N>/`` (its own config and journal, so a killed shard
resumes); :func:`merge_shards` (`paperpred merge RUN`) checks that every paper was predicted
exactly once and writes the run folder as one process would have (the journal of all shards,
then the usual predictions, metrics and report, with nothing predicted again).

A paper's shard is the SHA-256 of its submission id modulo ``N``: stable across machines,
Python versions and data order, so a Slurm array task (``--shard $SLURM_ARRAY_TASK_ID/N``)
or a Ray actor picks its papers without talking to the others.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paperpred.batch import journal_path, read_journal
from paperpred.errors import ConfigError, PaperpredError

SHARDS = "shards"
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_FOLDER = re.compile(r"^(\d+)-of-(\d+)$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"1/4"`` -> ``(1, 4)``; shards are numbered 0 to N-1.

    Raises:
        ConfigError: not ``i/N`` with ``0 <= i < N``.
    """
    match = _SHARD.match(str(text))
    if not match or not int(match.group(1)) < int(match.group(2)):
        raise ConfigError(f"shard must be i/N with 0 <= i < N (e.g. 0/4 ... 3/4), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def shard_of(submission_id: str, n: int) -> int:
    """The shard (0..n-1) of a paper."""
    return int(hashlib.sha256(submission_id.encode("utf-8")).hexdigest(), 16) % n


def select(submissions: Sequence[Any], index: int, n: int) -> list[Any]:
    """The papers of shard ``index`` of ``n``, in input order."""
    return [s for s in submissions if shard_of(s.submission_id, n) == index]


def shard_dir(run_dir: str | Path, index: int, n: int) -> Path:
    return Path(run_dir) / SHARDS / f"{index}-of-{n}"


def _without_shard(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("shard:"))


def shard_folders(run_dir: str | Path) -> list[Path]:
    """The folders of every shard of ``run_dir``, shard 0 first (each has its config.yaml).

    Raises:
        PaperpredError: no shards; shards of different N; a shard that has not run (its
            command is named).
    """
    run_dir = Path(run_dir)
    shards: dict[int, tuple[int, Path]] = {}
    for folder in sorted((run_dir / SHARDS).glob("*-of-*")):
        match = _FOLDER.match(folder.name)
        if match and (folder / "config.yaml").is_file():
            shards[int(match.group(1))] = (int(match.group(2)), folder)
    if not shards:
        raise PaperpredError(f"{run_dir}: no shard folders ({SHARDS}/<i>-of-<N>/); predict "
                             "with --shard i/N first")
    counts = {n for n, _ in shards.values()}
    if len(counts) != 1:
        raise PaperpredError(f"{run_dir}: shards of different counts ({sorted(counts)}); "
                             "keep one N per run folder")
    n = counts.pop()
    missing = sorted(set(range(n)) - set(shards))
    if missing:
        raise PaperpredError(f"{run_dir}: shards {', '.join(map(str, missing))} of {n} have not "
                             f"run: `paperpred predict --config {shards[min(shards)][1]}/"
                             f"config.yaml --shard {missing[0]}/{n}`")
    return [shards[index][1] for index in range(n)]


def collect(folders: Sequence[Path], ids: Sequence[str]) -> list[dict[str, Any]]:
    """The journal records of the shards in ``folders`` (from :func:`shard_folders`), in the
    order of ``ids`` (the run's papers).

    Raises:
        PaperpredError: shards of different configs; a shard not finished (its command is
            named); a paper predicted twice or not at all.
    """
    n = len(folders)
    first = _without_shard((folders[0] / "config.yaml").read_text())
    records: dict[str, dict[str, Any]] = {}
    for index, folder in enumerate(folders):
        if _without_shard((folder / "config.yaml").read_text()) != first:
            raise PaperpredError(f"{folder}: its config differs from shard 0's; every shard "
                                 "must be run with the same config")
        journal = read_journal(journal_path(folder / "predictions.json"))
        if not (folder / "predictions.json").is_file():
            raise PaperpredError(f"{folder}: shard {index}/{n} has not finished ({len(journal)} "
                                 f"papers in its journal): run it again with --shard {index}/{n}")
        for record in journal:
            sid = record["submission_id"]
            if sid in records:
                raise PaperpredError(f"{sid} was predicted by two shards (one of them "
                                     f"{folder.name}): shards must not overlap")
            if shard_of(sid, n) != index:
                raise PaperpredError(f"{folder}: {sid} belongs to shard {shard_of(sid, n)}")
            records[sid] = record
    absent = [i for i in ids if i not in records]
    extra = set(records) - set(ids)
    if absent or extra:
        raise PaperpredError(f"{folders[0].parent.parent}: the shards hold {len(records)} "
                             f"papers, the run {len(ids)}: {len(absent)} missing (e.g. "
                             f"{absent[:3]}), {len(extra)} not in the data (e.g. "
                             f"{sorted(extra)[:3]})")
    return [records[i] for i in ids]


def write_journal(run_dir: Path, records: Sequence[dict[str, Any]]) -> Path:
    """The merged journal ``run_dir/predictions.jsonl`` (replaces an earlier merge's)."""
    path = journal_path(run_dir / "predictions.json")
    tmp = path.with_name(path.name + ".merging")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                           for r in records))
    tmp.replace(path)
    return path

