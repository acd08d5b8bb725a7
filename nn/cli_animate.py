"""``chainrule animate``: watch the forward and the backward pass of an expression, step by step.

    chainrule animate "log(exp(a) + exp(b)) - a" a=1 b=2 -o backprop.html

The expression goes through the same safe parser as ``chainrule draw`` (``autograd.expr``: Python's
``ast`` against a whitelist, nothing evaluated as code), the graph is run backward, and
``autograd.viz.animate`` writes the step-through: one self-contained HTML file to open in any browser,
offline. ``.svg`` or ``.png`` writes one frame (``--step``) instead.
"""

from __future__ import annotations

import argparse

from .cli import UsageError
from .cli_draw import add_expression_arguments, check_output, differentiate, print_gradients


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Add ``chainrule animate`` to the command line."""
    parser = subparsers.add_parser(
        "animate",
        help="write a step-through of the forward and backward pass of an expression (an HTML file)",
        description=(
            "Build the graph of EXPR with the given values, run backward, and write a step-through of both "
            "passes: every value as it is computed, then every gradient as the chain rule's sum over its "
            "consumers. EXPR may use numbers, names, + - * / **, unary minus and exp log sigmoid tanh relu; "
            "every name needs a value."
        ),
        epilog='example: chainrule animate "log(exp(a) + exp(b)) - a" a=1 b=2 -o backprop.html',
    )
    add_expression_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        required=True,
        help=(
            "where to write it: .html is the whole step-through (open it in a browser); .gif an animated GIF "
            "and .pdf a handout, one frame or page per step (both need Pillow); .svg or .png one frame"
        ),
    )
    parser.add_argument("--step", type=int, default=None, help="the step an .html opens at, or the frame of an .svg/.png")
    parser.add_argument(
        "--no-local-grads",
        dest="local_grads",
        action="store_false",
        help="do not write the local derivatives on the arrows",
    )
    parser.add_argument("--digits", type=int, default=4, help="significant digits of the numbers (default 4)")
    parser.add_argument("--max-nodes", type=int, default=None, help="refuse graphs that would draw more shapes (default 1500)")
    parser.add_argument("--max-steps", type=int, default=None, help="refuse graphs that need more steps (default 2000)")
    parser.set_defaults(run=run, subcommand_parser=parser)


def run(args: argparse.Namespace) -> int:
    """Build, differentiate and animate the expression; print the root's value and the inputs' gradients."""
    # Imported here so that other chainrule commands do not pay for loading graphviz.
    from autograd.viz.render import RenderError
    from autograd.viz import GraphTooLargeError, animate

    # The output is checked first, so that nothing is computed for a file that cannot be written.
    target, suffix = check_output(
        "-o", args.output, formats=("html", "htm", "gif", "pdf", "svg", "png"), made_here=("gif", "pdf")
    )
    if suffix in ("gif", "pdf"):
        from autograd.viz import export

        try:
            export.require_pillow()  # before any work: a missing Pillow is said at once
        except ImportError as exc:
            raise UsageError(f"-o {args.output}: {exc}") from None
    root, leaves = differentiate(args.expression, args.values)
    limits = {name: getattr(args, name) for name in ("max_nodes", "max_steps") if getattr(args, name) is not None}
    try:
        animation = animate(root, local_grads=args.local_grads, digits=args.digits, **limits)
    except (GraphTooLargeError, ValueError) as exc:  # too large, or a bad --digits / --max-*
        raise UsageError(str(exc)) from None
    try:
        path = animation.save(target, step=args.step)
    except (RenderError, ValueError, IndexError) as exc:  # a --step out of range
        raise UsageError(f"cannot write {target}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    print_gradients(args.expression, root, leaves)
    kinds = {".html": "open it in a browser", ".htm": "open it in a browser", ".gif": "one frame a step", ".pdf": "one page a step"}
    kind = kinds.get(path.suffix.lower())
    what = f"{len(animation)} steps; {kind}" if kind else "one frame"
    print(f"wrote {path} ({what})")
    return 0
