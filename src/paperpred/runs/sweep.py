"""A grid of runs: every combination of the values a sweep config lists, each cell its own run
folder under the sweep's folder, then one comparison report of the finished cells.

A sweep config (YAML)::

    command: predict            # or train
    output_dir: runs/sweep-demo
    base:                       # run config keys every cell shares (flat or sectioned)
      limit: 20
    grid:                       # key: list of values; cells are the product, in this order
      input: [abstract_only, abstract_with_reviews]
      output: [binary, multiclass]

Cells are numbered from 0 in the product's order (the last key varies fastest). A cell whose
folder holds a finished run of the same config (its ``metrics.json``) is skipped; a killed
cell resumes from its journal. ``--list`` prints the cells; ``--cell N`` runs one, so a
scheduler (a Slurm array, several machines over a shared folder) can run cells in parallel;
the comparison is rebuilt from whatever cells have finished.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperpred.errors import ConfigError
from paperpred.report import write_comparison
from paperpred.runs.config import PredictRun, TrainRun, load_config, read_yaml_mapping
from paperpred.runs.predict import Echo, _quiet, predict_into_run
from paperpred.runs.train import train_into_run

COMMANDS = {"predict": PredictRun, "train": TrainRun}


@dataclass
class Sweep:
    """A parsed sweep config."""

    path: Path
    command: str
    output_dir: Path
    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)

    def cells(self) -> list[dict[str, Any]]:
        """The grid's combinations, in order."""
        keys = list(self.grid)
        return [dict(zip(keys, values, strict=True))
                for values in itertools.product(*(self.grid[k] for k in keys))]

    def cell_dir(self, index: int) -> Path:
        """``output_dir / cell-NN-<values>``."""
        values = "-".join(_slug(v) for v in self.cells()[index].values())
        return self.output_dir / f"cell-{index:02d}-{values}"[:120]

    def config(self, index: int) -> Any:
        """The run config of cell ``index`` (base keys, then the cell's, then its folder)."""
        keys = {**self.base, **self.cells()[index], "output_dir": str(self.cell_dir(index))}
        return load_config(COMMANDS[self.command], None, keys)


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", str(value)).strip("_") or "x"


def read_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep config (every cell's run config is checked too)."""
    path = Path(path)
    raw = read_yaml_mapping(path, "a sweep config")
    unknown = sorted(set(raw) - {"command", "output_dir", "base", "grid"})
    if unknown:
        raise ConfigError(f"{path}: unknown keys {unknown}; a sweep config has command, "
                          "output_dir, base and grid")
    command = raw.get("command", "predict")
    if command not in COMMANDS:
        raise ConfigError(f"{path}: command must be predict or train, got {command!r}")
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict) or not grid or not all(
            isinstance(v, list) and v for v in grid.values()):
        raise ConfigError(f"{path}: grid must map each key to a non-empty list of values")
    base = raw.get("base") or {}
    if not isinstance(base, dict):
        raise ConfigError(f"{path}: base must be a mapping of run config keys")
    out = Path(raw.get("output_dir") or Path("runs") / f"sweep-{path.stem}")
    sweep = Sweep(path, command, out, base, grid)
    for index in range(len(sweep.cells())):
        sweep.config(index)  # every problem before anything runs
    return sweep


def finished(sweep: Sweep, index: int) -> bool:
    """True when cell ``index`` has a finished run (its metrics.json)."""
    folder = sweep.cell_dir(index)
    return (folder / "metrics.json").exists() or (folder / "eval" / "metrics.json").exists()


def run_cell(sweep: Sweep, index: int, echo: Echo = _quiet) -> bool:
    """Run cell ``index`` unless it has finished; True when it ran now."""
    if finished(sweep, index):
        echo(f"[paperpred] cell {index}: finished earlier, skipped ({sweep.cell_dir(index)})")
        return False
    echo(f"[paperpred] cell {index}: {sweep.cells()[index]}")
    config = sweep.config(index)
    if sweep.command == "predict":
        predict_into_run(config, show_progress=False, echo=echo)
    else:
        train_into_run(config, echo=echo)
    return True


def compare(sweep: Sweep) -> tuple[Path, Path] | None:
    """The comparison report of the finished cells (None when none has finished)."""
    done = [sweep.cell_dir(i) for i in range(len(sweep.cells())) if finished(sweep, i)]
    return write_comparison(done, sweep.output_dir) if done else None


def run_sweep(sweep: Sweep, cell: int | None = None, echo: Echo = _quiet
              ) -> tuple[Path, Path] | None:
    """Run every cell (or one), then rebuild the comparison report."""
    indices = range(len(sweep.cells())) if cell is None else [cell]
    if cell is not None and not 0 <= cell < len(sweep.cells()):
        raise ConfigError(f"{sweep.path}: cell {cell} does not exist (0..{len(sweep.cells()) - 1})")
    for index in indices:
        run_cell(sweep, index, echo)
    return compare(sweep)
