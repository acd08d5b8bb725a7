"""``chainrule check EXPR name=value ...``: gradcheck an expression and print the node-by-node table.

    $ chainrule check "log(exp(a) + exp(b)) - a" a=1 b=2
    $ chainrule check "tanh(x * w + b)" x=0.5 w=-1.5 b=0.1 --explain x

The expression goes through ``autograd.expr.parse_expression``, the same safe parser as
``chainrule draw``: only numbers, the given names, ``+ - * / **`` and ``exp log sigmoid tanh relu``;
nothing is evaluated as Python. Exit code 0 when every node agrees, 1 when one does not, 2 for bad
input (an unknown name, a syntax error, a value outside an op's domain).
"""

from __future__ import annotations

import argparse
import math

from autograd.check import LabelError, explain, find_node, gradcheck
from autograd.expr import ExpressionError, parse_expression

from .cli import UsageError, parse_values


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``check``."""
    parser = subparsers.add_parser(
        "check",
        help="check every node's gradient of an expression against central differences",
        description=(
            "Build the graph of EXPR with the given values, run backward, and compare every node's gradient "
            "with a central difference. Exit code 0 if all agree, 1 if one does not, 2 for bad input. "
            "Put options before EXPR or after all the values, and -- before an expression that starts "
            "with a minus sign."
        ),
    )
    parser.add_argument("expression", metavar="EXPR", help='an expression such as "tanh(x * w + b)"')
    parser.add_argument("values", nargs="*", metavar="name=value", help="a value for each name, such as x=0.5")
    parser.add_argument(
        "--eps", type=float, default=1e-6, help="relative step of the central difference (default 1e-6)"
    )
    parser.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default 1e-5)")
    parser.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance (default 1e-3)")
    parser.add_argument(
        "--explain",
        action="append",
        default=[],
        metavar="NAME",
        help="also write out NAME's gradient as the chain rule's sum (a name, or #i from the table); repeatable",
    )
    parser.set_defaults(run=run, subcommand_parser=parser)


def run(args: argparse.Namespace) -> int:
    """Build, backward, gradcheck, print; the exit code says whether every node agreed (bad input is a
    ``UsageError``: exit code 2)."""
    for option in ("eps", "atol", "rtol"):
        value = getattr(args, option)
        if not math.isfinite(value) or value < 0 or (option == "eps" and value == 0):
            raise UsageError(f"--{option} must be a finite number {'> 0' if option == 'eps' else '>= 0'}, got {value}")
    values = parse_values(args.values)
    try:
        root = parse_expression(args.expression, values)
        root.backward()
    except ExpressionError as exc:
        raise UsageError(str(exc)) from None
    except (ArithmeticError, ValueError, TypeError) as exc:  # log(-1), exp overflow, ...
        raise UsageError(f"cannot evaluate {args.expression!r} at {_show(values)}: {exc}") from None
    to_explain = []
    for name in args.explain:  # every name is checked before anything is printed
        try:
            to_explain.append(find_node(root, name))
        except LabelError as exc:
            raise UsageError(f"--explain {name}: {exc}") from None
    report = gradcheck(root, eps=args.eps, atol=args.atol, rtol=args.rtol)
    print(f"{args.expression}  at  {_show(values)}  =  {root.data:.10g}")
    print(report)
    for node in to_explain:
        print()
        print(explain(node, root))
    return 0 if report.ok else 1


def _show(values: dict[str, float]) -> str:
    return ", ".join(f"{name} = {value:g}" for name, value in values.items()) or "(no names)"
