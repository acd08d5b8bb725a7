"""``chainrule quiz``: an exercise page that grades every node of a graph as the learner types.

    chainrule quiz "(a*b + c) * f" a=2 b=-3 c=10 f=-2 -o quiz.html
    chainrule quiz "tanh(w*x + b)" w=-1.5 x=0.5 b=0.1 --ask both -o quiz.html
    chainrule quiz --network iris -o quiz.html     # one iris flower through a 4-2-3 sigmoid network

The expression goes through the same safe parser as ``chainrule draw`` (``autograd.expr``), and
``autograd.viz.quiz`` writes the page: one self-contained HTML file to open in any browser, offline.
Nothing is printed that would give an answer away (no values, no gradients).
"""

from __future__ import annotations

import argparse

from .cli import UsageError
from .cli_draw import check_output, differentiate

NETWORKS = ("iris",)


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Add ``chainrule quiz`` to the command line."""
    parser = subparsers.add_parser(
        "quiz",
        help="write an exercise page: find every node's gradient (or value), graded as you type (an HTML file)",
        description=(
            "Build the graph of EXPR with the given values (or of a small network, with --network) and write "
            "a quiz page: the graph with the asked numbers hidden and an answer box per node; each answer is "
            "graded at once, with hints from the op table. EXPR may use numbers, names, + - * / **, unary "
            "minus and exp log sigmoid tanh relu; every name needs a value."
        ),
        epilog='examples: chainrule quiz "(a*b + c) * f" a=2 b=-3 c=10 f=-2 -o quiz.html; '
        "chainrule quiz --network iris -o quiz.html",
    )
    parser.add_argument("expression", metavar="EXPR", nargs="?", help='the expression, e.g. "tanh(w*x + b)"')
    parser.add_argument("values", metavar="NAME=VALUE", nargs="*", help="a value for each name in EXPR")
    parser.add_argument("-o", "--output", metavar="FILE", required=True, help="where to write the page (.html)")
    parser.add_argument(
        "--ask", choices=("grad", "data", "both"), default="grad",
        help="what to find: every gradient (default), every computed value, or both",
    )  # fmt: skip
    parser.add_argument(
        "--network", choices=NETWORKS,
        help="instead of EXPR: one iris flower (--sample) through a 4-2-3 sigmoid network (seed 0) with the "
        "cross-entropy loss E, each neuron drawn as one box",
    )  # fmt: skip
    parser.add_argument("--sample", type=int, default=0, help="with --network iris: which flower, 0 to 149 (default 0)")
    parser.add_argument("--no-hints", dest="hints", action="store_false", help="no hint buttons")
    parser.add_argument("--digits", type=int, default=4, help="significant digits of the numbers (default 4)")
    parser.add_argument("--max-nodes", type=int, default=None, help="refuse graphs that would draw more shapes (default 1500)")
    parser.set_defaults(run=run, subcommand_parser=parser)


def run(args: argparse.Namespace) -> int:
    """Build the graph and write its quiz page."""
    # Imported here so that other chainrule commands do not pay for loading graphviz.
    from autograd.viz import GraphTooLargeError, quiz

    if args.network is not None and (args.expression is not None or args.values):
        raise UsageError("give either EXPR (with its NAME=VALUE pairs) or --network, not both")
    if args.network is None and args.expression is None:
        raise UsageError('give an expression, such as "(a*b + c) * f" a=2 b=-3 c=10 f=-2, or --network iris')
    # The output is checked first, so that nothing is computed for a file that cannot be written.
    target, _ = check_output("-o", args.output, formats=("html", "htm"))
    if args.network is not None:
        root, collapse = iris_network(args.sample), "neuron"
    else:
        if args.sample != 0:
            raise UsageError("--sample goes with --network")
        root, _ = differentiate(args.expression, args.values)
        collapse = None
    options = {"max_nodes": args.max_nodes} if args.max_nodes is not None else {}
    try:
        page = quiz(root, ask=args.ask, hints=args.hints, collapse=collapse, digits=args.digits, **options)
    except (GraphTooLargeError, ValueError) as exc:  # too large, nothing to ask, a bad --digits / --max-nodes
        raise UsageError(str(exc)) from None
    try:
        path = page.save(target)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    count = len(page)
    print(f"wrote {path} ({count} question{'s' if count != 1 else ''}; open it in a browser)")
    return 0


def iris_network(sample: int):  # noqa: ANN201 (a Value)
    """The loss E of iris flower ``sample`` through ``nn.MLP(4, [2, 3], activation="sigmoid", seed=0)``
    (2 sigmoid units, 3 logits), with the cross entropy against its species; inputs x1 ... x4 in cm."""
    import nn
    from autograd import Value

    data = nn.load_iris()
    if not 0 <= sample < len(data.target):
        raise UsageError(f"--sample must be a flower from 0 to {len(data.target) - 1}, got {sample}")
    model = nn.MLP(4, [2, 3], activation="sigmoid", seed=0)
    x = [Value(float(v), label=f"x{i}") for i, v in enumerate(data.data[sample], start=1)]
    loss = nn.cross_entropy(model(x), int(data.target[sample]))
    loss.label = "E"
    return loss
