"""`paperpred serve`: a small OpenAI-compatible server (chat and completions with
log-probabilities) over a transformers model, for label scoring over HTTP."""

from __future__ import annotations

from paperpred.inference.models import resolve_model
from paperpred.inference.server_args import add_arguments


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "serve", help="serve a model over an OpenAI-compatible API with log-probabilities",
        description="Serve a transformers model (hub id, local folder or smollm2-135m-instruct) "
        "with /v1/chat/completions and /v1/completions, log-probabilities included. Needs "
        "the serve extra (pip install 'paperpred[serve]').")
    add_arguments(parser)
    parser.set_defaults(run=run_serve)


def run_serve(args) -> int:
    from paperpred.inference import server
    args.model = resolve_model(args.model)
    return server.serve(args)
