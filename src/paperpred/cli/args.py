"""Flags shared by the commands: ``KEY=VALUE`` lists and a run config's flat keys."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from paperpred.errors import ConfigError


def pairs(items: list[str]) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (values read as YAML)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"expected KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def add_flags(parser: argparse.ArgumentParser, flags: dict[str, str]) -> None:
    """``--some-key`` for each flat config key (default None: not given)."""
    for name, text in flags.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None, help=text)


def add_component_args(parser: argparse.ArgumentParser, input_example: str,
                       output_example: str) -> None:
    """``--input-arg`` / ``--output-arg``: keywords of the formatter and the handler."""
    parser.add_argument("--input-arg", action="append", default=[], metavar="KEY=VALUE",
                        help=f"formatter keyword, e.g. {input_example} (repeatable)")
    parser.add_argument("--output-arg", action="append", default=[], metavar="KEY=VALUE",
                        help=f"handler keyword{output_example} (repeatable)")


def overrides(args: argparse.Namespace, flags: dict[str, str]) -> dict[str, Any]:
    """The flat config keys the command line gave."""
    return {name: getattr(args, name) for name in flags}


def echo(text: str) -> None:
    print(text, flush=True)
