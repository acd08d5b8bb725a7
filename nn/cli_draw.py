"""``chainrule draw``: draw the graph of an expression, with values and gradients, to a file.

    chainrule draw "log(exp(a) + exp(b)) - a" a=1 b=2 -o graph.svg

The expression is read by ``autograd.expr.parse_expression`` (Python's ``ast`` against a whitelist;
nothing is evaluated as code), the graph is run backward, and ``autograd.viz.draw`` draws it.
"""

from __future__ import annotations

import argparse
import sys

from autograd import Value
from autograd.expr import ExpressionError, parse_expression

from .cli import UsageError, parse_values



def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Add ``chainrule draw`` to the command line."""
    parser = subparsers.add_parser(
        "draw",
        help="draw the computation graph of an expression, with every value and gradient",
        description=(
            "Build the graph of EXPR with the given values, run backward, and draw it. EXPR may use "
            "numbers, names, + - * / **, unary minus and exp log sigmoid tanh relu; every name needs a "
            "value. Without -o the DOT text is printed."
        ),
        epilog='example: chainrule draw "log(exp(a) + exp(b)) - a" a=1 b=2 -o graph.svg',
    )
    add_expression_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the drawing here; the suffix picks the format: .svg and .png work everywhere, .pdf "
        "needs Graphviz's dot program, .dot/.gv is the DOT text",
    )
    parser.add_argument(
        "--local-grads",
        action="store_true",
        help="write on each arrow the local derivative the chain rule multiplies by",
    )
    parser.add_argument("--digits", type=int, default=4, help="significant digits of the numbers (default 4)")
    parser.add_argument(
        "--max-nodes",
        type=int,
        default=None,
        help="refuse graphs that would draw more shapes than this (default: the limit of autograd.viz.draw, 1500)",
    )
    parser.set_defaults(run=run, subcommand_parser=parser)


def run(args: argparse.Namespace) -> int:
    """Build, differentiate and draw the expression; print the root's value and the inputs' gradients."""
    # Imported here so that other chainrule commands do not pay for loading graphviz.
    from autograd.render import RenderError
    from autograd.viz import GraphTooLargeError, draw

    root, leaves = differentiate(args.expression, args.values)
    limit = {} if args.max_nodes is None else {"max_nodes": args.max_nodes}
    try:
        drawing = draw(root, local_grads=args.local_grads, digits=args.digits, **limit)
    except (GraphTooLargeError, ValueError) as exc:  # too large, or a bad --digits / --max-nodes
        raise UsageError(str(exc)) from None

    if args.output is None:
        sys.stdout.write(drawing.source)
        return 0
    try:
        path = drawing.save(args.output)
    except (RenderError, ValueError) as exc:
        raise UsageError(f"cannot write {args.output}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print_gradients(args.expression, root, leaves)
    print(f"wrote {path} ({drawing.node_count} shapes)")
    return 0


def add_expression_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments EXPR and NAME=VALUE ... (``draw`` and ``animate`` share them)."""
    parser.add_argument("expression", metavar="EXPR", help='the expression, e.g. "tanh(w*x + b)"')
    parser.add_argument("values", metavar="NAME=VALUE", nargs="*", help="a value for each name in EXPR")


def differentiate(expression: str, pairs: list[str]) -> tuple[Value, dict[str, Value]]:
    """The graph of ``expression`` at the NAME=VALUE ``pairs``, run backward, and its leaves by name;
    a UsageError for bad text or values outside an op's domain (``draw`` and ``animate`` share this)."""
    leaves = {name: Value(value, label=name) for name, value in parse_values(pairs).items()}
    try:
        root = parse_expression(expression, leaves)
        root.backward()
    except ExpressionError as exc:
        raise UsageError(str(exc)) from None
    except (ArithmeticError, ValueError, TypeError) as exc:  # the engine's domain errors name the node
        raise UsageError(f"cannot compute {expression!r} at these values: {exc}") from None
    return root, leaves


def print_gradients(expression: str, root: Value, leaves: dict[str, Value]) -> None:
    """``EXPR = value`` and ``d/dNAME = grad`` for each leaf."""
    print(f"{expression} = {root.data:.6g}")
    for name, leaf in leaves.items():
        print(f"  d/d{name} = {leaf.grad:.6g}")
