"""`paperpred report RUN [RUN ...]`: rebuild a run's report.md and report.html; with several
runs, also a comparison (one table, overlaid ROC curves)."""

from __future__ import annotations

import argparse

from paperpred.cli.args import echo
from paperpred.report import write_comparison, write_report


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "report", help="write report.md and report.html of run folders (and a comparison)",
        description="Rebuild each run folder's report.md and self-contained report.html from "
        "its metrics.json and predictions.json; with several runs, also comparison.md and "
        "comparison.html in --out.")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders")
    parser.add_argument("--out", default="runs/comparison",
                        help="folder of the comparison of several runs (default %(default)s)")
    parser.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    for run in args.runs:
        _, html_path = write_report(run)
        echo(f"[paperpred] report: {html_path}")
    if len(args.runs) > 1:
        _, html_path = write_comparison(args.runs, args.out)
        echo(f"[paperpred] comparison: {html_path}")
    return 0
