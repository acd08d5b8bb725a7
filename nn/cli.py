"""The ``chainrule`` command line. Each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

from autograd import Value

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


EXIT_CODES = "exit codes: 0 done, 1 a check failed, 2 bad input or usage, 130 interrupted"
EXIT_CODES_NO_CHECK = "exit codes: 0 done, 2 bad input or usage, 130 interrupted"
"""The exit codes of a command that runs no check (draw, animate)."""


def _version() -> str:
    """The installed chainrule's version (from its package metadata), or "unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chainrule")
    except PackageNotFoundError:
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors add what to do about an expression that starts with a minus
    sign (argparse takes ``-x`` for an option; ``--`` before it says that it is not one)."""

    argv: Sequence[str] = ()  # the arguments being parsed, set by ``main``
    options: set[str] = set()  # every option string of every chainrule parser

    def add_argument(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - argparse's signature
        _Parser.options.update(a for a in args if isinstance(a, str) and a.startswith("-"))
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        expression = next((a for a in _Parser.argv if _starts_with_minus(a)), None)
        if expression is not None and "--" not in _Parser.argv:
            command = next((a for a in _Parser.argv if not a.startswith("-")), "check")
            message += (
                f"; an expression that starts with a minus sign goes after --, which ends the options: "
                f'chainrule {command} -- "{expression}" ...'
            )
        super().error(message)


def _starts_with_minus(arg: str) -> bool:
    """Whether ``arg`` looks like an expression such as ``-x`` or ``-(a+b)``: not an option, not a number."""
    if not arg.startswith("-") or arg.startswith("--") or arg in _Parser.options or len(arg) < 2:
        return False
    try:
        float(arg)
    except ValueError:
        return True
    return False


def writable_path(option: str, text: str) -> Path:
    """``text`` as the path of a file that can be written, checked before any work; else a UsageError
    naming ``option``: a missing directory, a directory given as the file, or a place where no file
    can be made (such as /proc)."""
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise UsageError(f"{option} {text}: that is a directory; give a file name, such as {path / 'graph.svg'}")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {text}: the directory {str(parent)!r} does not exist")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {text}: cannot write in {str(parent)!r}: {exc.strerror or exc}") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {text}: the file exists and cannot be written")
    return path


def parse_values(pairs: list[str]) -> dict[str, float]:
    """``["x=0.5", "w=-2"]`` as ``{"x": 0.5, "w": -2.0}`` (the NAME=VALUE arguments of ``draw`` and
    ``check``); a UsageError names the first bad pair."""
    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            option = " (options go before the expression, and before -- if there is one)" if pair.startswith("-") else ""
            raise UsageError(f"expected name=value such as a=1.5, got {pair!r}{option}")
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


def show_values(leaves: Mapping[str, Value]) -> str:
    """``x = 0.5, w = -2``, or "(no names)"."""
    return ", ".join(f"{name} = {leaf.data:g}" for name, leaf in leaves.items()) or "(no names)"


def shorten(text: str, limit: int = 80) -> str:
    """``text``, cut to ``limit`` characters with "..." (a 10,000-term expression in a message)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chainrule",
        description="Scalar reverse-mode automatic differentiation: train, draw and check small graphs.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"chainrule {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (argparse's usage errors exit with 2 themselves)."""
    parser = build_parser()
    _Parser.argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported with the subcommand's usage line (``draw -x**2``), not chainrule's
        getattr(args, "subcommand_parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.run(args) or 0)
    except UsageError as exc:
        # The subcommand's own usage line and the message, exit code 2, as for argparse's errors.
        getattr(args, "subcommand_parser", parser).error(str(exc))
    except MemoryError:
        print("chainrule: out of memory: the input is too large for this machine", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of the output went away (``chainrule check ... | head``): stop quietly, with what
        # is left in stdout's buffer sent nowhere rather than to the closed pipe at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    # Run as ``python -m nn.cli`` this file is ``__main__``; go through the package module so that
    # the UsageError the commands raise is the one ``main`` catches.
    from nn.cli import main as package_main

    sys.exit(package_main())
