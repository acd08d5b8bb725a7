"""``chainrule draw``: draw the graph of an expression, with values and gradients, to a file.

    chainrule draw "log(exp(a) + exp(b)) - a" a=1 b=2 -o graph.svg
    chainrule draw -o neg.svg -- "-x" x=3        # -- before an expression that starts with a minus sign

The expression is read by ``autograd.expr.parse_expression`` (a parser of its own for a small
grammar; nothing is evaluated as code), the graph is run backward, and ``autograd.viz.draw`` draws it.

The helpers below ``run`` are shared with the other commands that take an expression (``animate``,
and ``check`` for ``differentiate``): ``add_expression_arguments``, ``differentiate``,
``print_gradients``, ``check_output`` and ``drawing_of``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograd import Value, topological_order
from autograd.expr import ExpressionError, parse_expression

from .cli import EXIT_CODES_NO_CHECK, UsageError, parse_values, shorten, show_values, writable_path

TEXT_FORMATS = ("dot", "gv")
"""Suffixes written as the DOT text itself."""
FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "gif", "ps", "eps", "json", *TEXT_FORMATS)
"""The suffixes ``-o`` accepts; those that this machine cannot make are refused before any work."""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Add ``chainrule draw`` to the command line."""
    parser = subparsers.add_parser(
        "draw",
        help="draw the computation graph of an expression, with every value and gradient",
        description=(
            "Build the graph of EXPR with the given values, run backward, and draw it. EXPR may use "
            "numbers, names, + - * / **, unary minus and exp log sigmoid tanh relu; every name needs a "
            "value. Without -o the DOT text is printed. Put options before EXPR, and -- before an "
            'expression that starts with a minus sign: chainrule draw -o g.svg -- "-x" x=3.'
        ),
        epilog=f'example: chainrule draw "log(exp(a) + exp(b)) - a" a=1 b=2 -o graph.svg; {EXIT_CODES_NO_CHECK}',
    )
    add_expression_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the drawing here; the suffix picks the format: .svg and .png work everywhere, .pdf "
        "needs Graphviz's dot program (you are told before anything is computed), .dot/.gv is the DOT text",
    )
    parser.add_argument(
        "--local-grads",
        action="store_true",
        help="write on each arrow the local derivative the chain rule multiplies by",
    )
    parser.add_argument("--digits", type=int, default=4, help="significant digits of the numbers, 1 to 17 (default 4)")
    parser.add_argument(
        "--max-nodes",
        type=int,
        default=None,
        help="refuse graphs that would draw more shapes than this (default: the limit of autograd.viz.draw, 1500)",
    )
    parser.set_defaults(run=run, subcommand_parser=parser)


def run(args: argparse.Namespace) -> int:
    """Build, differentiate and draw the expression; print the root's value and the inputs' gradients."""
    from autograd.viz.render import RenderError

    # The output is checked first, so that nothing is computed for a file that cannot be written.
    target = check_output("-o", args.output) if args.output is not None else None
    if target is None and sys.stdout is None:  # started with standard output closed (>&-)
        raise UsageError("standard output is closed, so the DOT text has nowhere to go; write it to a file: -o graph.dot")
    root, leaves = differentiate(args.expression, args.values)
    drawing = drawing_of(root, local_grads=args.local_grads, digits=args.digits, max_nodes=args.max_nodes)
    if target is None:
        sys.stdout.write(drawing.source)
        return 0
    path, suffix = target
    try:
        drawing.save(path, format=suffix)
    except (RenderError, ValueError) as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    print_gradients(args.expression, root, leaves)
    count = drawing.node_count
    print(f"wrote {path} ({count} shape{'s' if count != 1 else ''})")
    return 0


def add_expression_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments EXPR and NAME=VALUE ... (``draw`` and ``animate`` share them)."""
    parser.add_argument("expression", metavar="EXPR", help='the expression, e.g. "tanh(w*x + b)"')
    parser.add_argument("values", metavar="NAME=VALUE", nargs="*", help="a value for each name in EXPR")


def differentiate(expression: str, pairs: list[str]) -> tuple[Value, dict[str, Value]]:
    """The graph of ``expression`` at the NAME=VALUE ``pairs``, run backward, and its leaves by name.

    Bad input (a syntax error, a name without a value, a value outside an op's domain such as
    ``log(-1)``) is a UsageError with the parser's or the engine's message.
    """
    leaves = {name: Value(value, label=name) for name, value in parse_values(pairs).items()}
    try:
        root = parse_expression(expression, leaves)
        root.backward()
    except ExpressionError as exc:
        raise UsageError(str(exc)) from None
    except (ArithmeticError, ValueError, TypeError) as exc:  # the engine's domain errors name the node
        raise UsageError(f"cannot compute {shorten(expression)!r} at {show_values(leaves)}: {exc}") from None
    return root, leaves


def print_gradients(expression: str, root: Value, leaves: dict[str, Value]) -> None:
    """``EXPR = value`` and ``d/dNAME = grad`` for each leaf."""
    print(f"{shorten(expression)} = {root.data:.6g}")
    for name, leaf in leaves.items():
        print(f"  d/d{name} = {leaf.grad:.6g}")


def check_output(
    option: str, text: str, formats: tuple[str, ...] = FORMATS, made_here: tuple[str, ...] = ()
) -> tuple[Path, str]:
    """The path ``text`` given to ``option`` and its format (the suffix), checked before any work: a
    file that can be written, with a suffix among ``formats`` that this machine can make (``made_here``:
    formats the caller makes itself, which need no Graphviz renderer). Else a UsageError that says what
    is wrong and what to write instead."""
    from autograd.viz import render

    path = writable_path(option, text)
    suffix = path.suffix.lower().lstrip(".")
    if not suffix:
        if path.name.startswith(".") and path.name[1:].lower() in formats:
            raise UsageError(
                f"{option} {text}: {path.name!r} is all name and no suffix (a name that starts with '.' is "
                f"hidden); give the file a name, such as {path.with_name('graph' + path.name)}"
            )
        raise UsageError(f"{option} {text}: give the file a suffix that says the format, such as .{formats[0]}")
    if suffix not in formats:
        raise UsageError(f"{option} {text}: cannot write a .{suffix} file; use one of: .{', .'.join(formats)}")
    # SVG is made in-process everywhere, and PNG too where the renderer can rasterize SVG itself.
    in_process = {"svg", *TEXT_FORMATS, *made_here} | ({"png"} if hasattr(render, "svg_to_png") else set())
    if suffix in FORMATS and suffix not in in_process:
        try:
            render.choose_renderer(suffix)
        except render.RenderError as exc:
            raise UsageError(f"{option} {text}: {exc}") from None
    return path, suffix


def drawing_of(root: Value, *, local_grads: bool = False, digits: int = 4, max_nodes: int | None = None):  # noqa: ANN201
    """``autograd.viz.draw(root, ...)`` with the errors worded for the command line (``--digits``,
    ``--max-nodes``): a UsageError for a bad option or a graph too large to draw."""
    # Imported here so that other chainrule commands do not pay for loading graphviz.
    from autograd.viz import DEFAULT_MAX_NODES, GraphTooLargeError, LayoutTooSlowError, draw

    if not 1 <= digits <= 17:
        raise UsageError(f"--digits must be an int from 1 to 17, got {digits}")
    if max_nodes is not None and max_nodes < 1:
        raise UsageError(f"--max-nodes must be a positive whole number, got {max_nodes}")
    limit = DEFAULT_MAX_NODES if max_nodes is None else max_nodes
    try:
        return draw(root, local_grads=local_grads, digits=digits, max_nodes=limit)
    except LayoutTooSlowError as exc:  # few shapes, but arrows that Graphviz would take minutes to route
        raise UsageError(str(exc)) from None
    except GraphTooLargeError:
        raise UsageError(too_large(root, limit, max_nodes is None)) from None


def too_large(root: Value, limit: int, default: bool) -> str:
    """The message for a graph with more shapes than ``--max-nodes`` allows, advising the option."""
    shapes = sum(2 if node.parents else 1 for node in topological_order(root))  # a box per value, an ellipse per op
    return (
        f"this expression would draw {shapes:,} shapes, more than --max-nodes {limit}{' (the default)' if default else ''}; "
        "Graphviz would take long and the picture would not be readable. Draw a smaller expression, or raise "
        f"the limit: --max-nodes {shapes}"
    )
