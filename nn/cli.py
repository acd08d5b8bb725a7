"""The ``chainrule`` command line. Each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# Each module here has ``add_command(subparsers)``, which adds one or more subcommands and sets
# ``run=function(args) -> exit code`` as their default.
COMMAND_MODULES: list[str] = [
    "nn.cli_train",
    "nn.cli_draw",
    "nn.cli_check",
]


class UsageError(Exception):
    """A bad option or argument: printed as a one-line message, exit code 2."""


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
        parser.error(str(exc))  # prints usage and the message, exits with code 2
    return 0


if __name__ == "__main__":
    # Run as ``python -m nn.cli`` this file is ``__main__``; go through the package module so that
    # the UsageError the commands raise is the one ``main`` catches.
    from nn.cli import main as package_main

    sys.exit(package_main())
