"""Check gradients node by node: against central differences, against your own derivation, and explained.

After ``root.backward()`` every node of the graph holds ``.grad == d root / d node``. Five tools check
those numbers one node at a time, which is what someone deriving backpropagation by hand needs:

``gradcheck(root)`` (module ``gradient_check``)
    For every node, leaves and intermediate nodes alike, a reference for d root/d node made with
    central differences: end to end (nudge the node, replay the graph after it) for small graphs,
    or locally (each op's local derivatives by central differences, then the chain rule with them,
    in time linear in the graph) for large ones. ``mode=`` chooses; see ``gradcheck``.
``compare(root, expected)`` (module ``comparison``)
    Your hand-derived numbers, keyed by label or by node (or arrays of nodes against arrays of
    numbers, for a layer's weights), against ``.grad``.
``compare_torch(root)`` (module ``torch_comparison``)
    Every node's value and ``.grad`` against PyTorch's, from a replay of the graph in torch float64
    (``autograd.to_torch``): "exact", "close" or "differs", node by node. Needs torch
    (``pip install "chainrule[torch]"``).
``grade(root)`` (module ``grading``)
    Gradients you set by hand (``v.grad = ...``, or ``c._backward()`` node by node, as micrograd's
    lecture does) against the true d root/d node, right or wrong; a wrong one gets a hint, the
    chain-rule sum with your own upstream numbers, that says whether the mistake is here or upstream.
``explain(node, root)`` (module ``explanation``)
    ``d root/d node`` as the chain rule computes it: one term ``d root/d c * d c/d node`` per consumer
    ``c``, with the consumer's op, the formula of its local derivative and the numbers.

``routes(root)`` (module ``routes``)
    Every route to d root/d node side by side, one row per node (default: the leaves): backward,
    forward mode, central difference, the symbolic formula (with sympy), PyTorch (with torch and
    ``autograd.to_torch``), and the learner's own grad set by hand.

``gradcheck``, ``compare``, ``compare_torch``, ``grade`` and ``routes`` return a ``CheckReport`` (module ``report``): rows in a table
(``print`` it, or let Jupyter show its HTML), ``.ok``, ``.failures`` and a one-line ``.summary``.
Before checking, they look for a stale graph (module ``staleness``): values changed since the graph
was built, as after a training step, or gradients that the last backward pass from this root did not
write. A stale graph is not checked; the report says once which nodes are stale and what to do.

    >>> import math
    >>> from autograd import Value
    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> E = (x * w).tanh()
    >>> E.backward()
    >>> gradcheck(E).ok
    True
    >>> compare(E, {"x": -3 * (1 - math.tanh(-6.0) ** 2)}).ok
    True

Nodes without a label are named ``#i``, their position in ``topological_order(root)``, everywhere:
in tables, in ``compare``'s keys, in explanations (LaTeX too) and on the command line; an
unlabelled root is ``f``. Constants are shown by their value in definitions (``x * 2``). See
``naming``. No tool keeps a reference to a graph after it returns (the report it returns does).
"""

from .comparison import compare
from .explanation import ChainTerm, Explanation, explain
from .grading import grade
from .gradient_check import AUTO_BUDGET, MODES, gradcheck
from .naming import LabelError, find_node
from .routes import ROUTES, routes
from .report import BackwardNeededError, CheckReport, CheckRow, GradientCheckError
from .staleness import StaleGraph
from .torch_comparison import compare_torch

__all__ = [
    "gradcheck",
    "compare",
    "compare_torch",
    "grade",
    "explain",
    "routes",
    "ROUTES",
    "find_node",
    "CheckReport",
    "CheckRow",
    "Explanation",
    "ChainTerm",
    "StaleGraph",
    "GradientCheckError",
    "BackwardNeededError",
    "LabelError",
    "MODES",
    "AUTO_BUDGET",
]
