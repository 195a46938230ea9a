"""`paperpred merge RUN_DIR`: the shards of a run (`paperpred predict --shard i/N`) into one
run folder, every paper exactly once."""

from __future__ import annotations

import argparse

from paperpred.cli.args import echo
from paperpred.runs import merge_shards


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "merge", help="merge the shards of a run (predict --shard i/N) into its run folder",
        description="Check that the shards under RUN_DIR/shards/ cover every paper of the run "
        "exactly once, then write RUN_DIR's predictions, metrics and report as one process "
        "would have (nothing is predicted again).")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder of the shards")
    parser.set_defaults(run=run_merge)


def run_merge(args: argparse.Namespace) -> int:
    merge_shards(args.run_dir, echo=echo)
    return 0
