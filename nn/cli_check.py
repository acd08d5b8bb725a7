"""``chainrule check EXPR name=value ...``: gradcheck an expression and print the node-by-node table.

    $ chainrule check "log(exp(a) + exp(b)) - a" a=1 b=2
    $ chainrule check "tanh(x * w + b)" x=0.5 w=-1.5 b=0.1 --explain x
    $ chainrule check -- "-x**2" x=3          # -- before an expression that starts with a minus sign
    $ chainrule check "x * w" x=2 w=3 --routes   # backward, forward, central difference, symbolic, ...

The expression goes through ``autograd.expr.parse_expression``, the same safe parser as
``chainrule draw``: only numbers, the given names, ``+ - * / **`` and ``exp log sigmoid tanh relu``;
nothing is evaluated as Python. Exit code 0 when every node agrees, 1 when one does not, 2 for bad
input (an unknown name, a syntax error, a value outside an op's domain, a bad option).
"""

from __future__ import annotations

import argparse

from autograd.check import MODES, LabelError, explain, find_node, gradcheck, routes
from autograd.check.report import check_eps, check_tolerances

from .cli import EXIT_CODES, UsageError, parse_values, shorten, show_values
from .cli_draw import differentiate

__all__ = ["add_command", "run", "parse_values"]


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``check``."""
    parser = subparsers.add_parser(
        "check",
        help="check every node's gradient of an expression against central differences",
        description=(
            "Build the graph of EXPR with the given values, run backward, and compare every node's gradient "
            "with a central difference. Exit code 0 if all agree, 1 if one does not, 2 for bad input. "
            "Put options before EXPR or after all the values, and -- before an expression that starts "
            'with a minus sign: chainrule check -- "-x**2" x=3.'
        ),
        epilog=EXIT_CODES,
    )
    parser.add_argument("expression", metavar="EXPR", help='an expression such as "tanh(x * w + b)"')
    parser.add_argument("values", nargs="*", metavar="name=value", help="a value for each name, such as x=0.5")
    parser.add_argument(
        "--eps", type=float, default=1e-6, help="relative step of the central difference, 2.2e-16 to 0.1 (default 1e-6)"
    )
    parser.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default 1e-5)")
    parser.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance (default 1e-3)")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="auto",
        help="end-to-end: nudge each node and replay the graph after it; local: each op's derivatives by central "
        "differences, then the chain rule (linear time); auto (default): end-to-end when that is cheap",
    )
    parser.add_argument(
        "--explain",
        action="append",
        default=[],
        metavar="NAME",
        help="also write out NAME's gradient as the chain rule's sum (a name, #i from the table, or f for an "
        "unlabelled root); repeatable",
    )
    parser.add_argument(
        "--routes",
        action="store_true",
        help="instead of every node against central differences, each input by every route: backward, forward "
        "mode, central difference, the symbolic formula (with sympy), torch (with autograd.to_torch)",
    )
    parser.set_defaults(run=run, subcommand_parser=parser)


def run(args: argparse.Namespace) -> int:
    """Build, backward, gradcheck, print; the exit code says whether every node agreed (bad input is a
    ``UsageError``: exit code 2)."""
    try:
        check_eps(args.eps)
        check_tolerances(args.atol, args.rtol)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None  # the messages start with the option's name
    root, leaves = differentiate(args.expression, args.values)
    to_explain = []
    for name in args.explain:  # every name is checked before anything is printed
        try:
            to_explain.append(find_node(root, name))
        except LabelError as exc:
            raise UsageError(f"--explain {name}: {exc}") from None
    if args.routes:
        report = routes(root, eps=args.eps, atol=args.atol, rtol=args.rtol)
    else:
        report = gradcheck(root, eps=args.eps, atol=args.atol, rtol=args.rtol, mode=args.mode)
    print(f"{shorten(args.expression)}  at  {show_values(leaves)}  =  {root.data:.10g}")
    print(report)
    for node in to_explain:
        print()
        print(explain(node, root))
    return 0 if report.ok else 1
