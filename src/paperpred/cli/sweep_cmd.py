"""`paperpred sweep CONFIG`: a grid of runs, each cell its own run folder, then one
comparison report (see paperpred.runs.sweep for the config)."""

from __future__ import annotations

import argparse

from paperpred.cli.args import echo
from paperpred.runs.sweep import compare, finished, read_sweep, run_sweep


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "sweep", help="run a grid of configs (formatters x handlers x modes x models ...)",
        description="Run every cell of a sweep config's grid into its own run folder "
        "(finished cells are skipped, killed ones resume), then write comparison.md and "
        "comparison.html in the sweep's output_dir.")
    parser.add_argument("config", help="sweep config YAML (command, output_dir, base, grid)")
    parser.add_argument("--list", action="store_true", help="print the cells and exit")
    parser.add_argument("--cell", type=int, help="run this cell only (e.g. a Slurm array "
                        "index), then rebuild the comparison from the finished cells")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild the comparison from the finished cells; run nothing")
    parser.set_defaults(run=run_sweep_cmd)


def run_sweep_cmd(args: argparse.Namespace) -> int:
    sweep = read_sweep(args.config)
    if args.list:
        for index, cell in enumerate(sweep.cells()):
            state = "finished" if finished(sweep, index) else "to run"
            echo(f"{index}\t{state}\t{sweep.cell_dir(index)}\t{cell}")
        return 0
    written = compare(sweep) if args.report_only else run_sweep(sweep, args.cell, echo)
    if written:
        echo(f"[paperpred] comparison: {written[1]}")
    return 0
