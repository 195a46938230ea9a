"""Entry point of the `paperpred` command: sub-commands, one-line errors, --debug."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback

from paperpred import __version__
from paperpred.cli import (
    data_cmd,
    list_cmd,
    merge_cmd,
    predict_cmd,
    report_cmd,
    serve_cmd,
    sweep_cmd,
    train_cmd,
)
from paperpred.errors import PaperpredError

EPILOG = """examples:
  paperpred predict                           the main job: zero-shot accept/reject on the
                                              bundled sample with the embedded model (CPU)
  paperpred predict --model Qwen/Qwen2.5-7B-Instruct --backend vllm --data iclr.csv
  paperpred train --mode sft --config configs/sft_tiny.yaml
                                              LoRA SFT (LlamaFactory), then held-out metrics
  paperpred train --mode grpo --model tiny-qwen2 --max-steps 2
                                              GRPO (TRL) with the handler's reward
  paperpred predict --shard 0/2 --output-dir runs/big   (and 1/2, anywhere), then
  paperpred merge runs/big                    every paper once, one report
  paperpred predict --ray-workers 4           4 Ray actors, one shard each, then merged
  paperpred report runs/A runs/B             report.html of each run, and a comparison
  paperpred sweep configs/sweep_cpu.yaml      a grid of runs and their comparison report
  paperpred prepare --output-dir data/sft      a LlamaFactory dataset + dataset_info.json
  paperpred list                              formatters, handlers and modes
  paperpred data inspect                      summary of the bundled ICLR 2017 sample
  paperpred data inspect iclr.jsonl           counts per year and decision, fields, bad rows
  paperpred data convert iclr.jsonl iclr.csv  between the spec's CSV, JSON lines and parquet
  paperpred data render-pages pdfs/ images/   PDFs to page images in the loader's layout
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperpred",
        description="Predict what happens to ML papers at ICLR with LLMs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"paperpred {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    predict_cmd.add_parser(commands)
    merge_cmd.add_parser(commands)
    train_cmd.add_parser(commands)
    report_cmd.add_parser(commands)
    sweep_cmd.add_parser(commands)
    data_cmd.add_parser(commands)
    list_cmd.add_parser(commands)
    serve_cmd.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.debug:
        # Each skipped row is counted in the load report, which the commands print.
        logging.getLogger("paperpred.data.loader").setLevel(logging.ERROR)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("paperpred: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for users; the traceback with --debug
        if args.debug:
            traceback.print_exc()
        kind = "" if isinstance(exc, PaperpredError) else f"{type(exc).__name__}: "
        hint = "" if args.debug else " (run with --debug for the traceback)"
        text = " ".join(str(exc).split()) or type(exc).__name__
        print(f"paperpred: error: {kind}{text}{hint if kind else ''}", file=sys.stderr)
        return 1
