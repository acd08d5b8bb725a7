"""The ``chainrule`` command line. Each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from typing import Sequence

# Each module here has ``add_command(subparsers)``, which adds one or more subcommands and sets
# ``run=function(args) -> exit code`` and ``subcommand_parser=<its parser>`` as their defaults.
COMMAND_MODULES: list[str] = [
    "nn.cli_train",
    "nn.cli_draw",
    "nn.cli_animate",
    "nn.cli_check",
]


class UsageError(Exception):
    """A bad option or argument: printed as a one-line message, exit code 2."""


def parse_values(pairs: list[str]) -> dict[str, float]:
    """``["x=0.5", "w=-2"]`` as ``{"x": 0.5, "w": -2.0}`` (the NAME=VALUE arguments of ``draw`` and
    ``check``); a UsageError names the first bad pair."""
    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            raise UsageError(f"expected name=value such as a=1.5, got {pair!r}")
        if not (name.isidentifier() and name.isascii()):
            raise UsageError(f"{name!r} in {pair!r} is not a valid name")
        if name in values:
            raise UsageError(f"{name} is given a value twice")
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"the value of {name} must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise UsageError(f"the value of {name} must be finite, got {text!r}")
        values[name] = value
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Scalar reverse-mode automatic differentiation: train, draw and check small graphs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UsageError as exc:
        # The subcommand's own usage line and the message, exit code 2, as for argparse's errors.
        getattr(args, "subcommand_parser", parser).error(str(exc))
    return 0


if __name__ == "__main__":
    # Run as ``python -m nn.cli`` this file is ``__main__``; go through the package module so that
    # the UsageError the commands raise is the one ``main`` catches.
    from nn.cli import main as package_main

    sys.exit(package_main())
