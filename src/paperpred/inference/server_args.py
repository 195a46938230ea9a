"""Options of the log-prob server, importable without torch (the CLI builds its parser
at start-up)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``paperpred serve`` / ``python -m paperpred.inference.server``."""
    parser.add_argument("--model", required=True, help="local checkpoint folder or hub id")
    parser.add_argument("--served-model-name", default=None, help="name shown in answers")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
