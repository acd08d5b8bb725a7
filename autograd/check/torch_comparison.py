"""``compare_torch``: every node's value and gradient against PyTorch's, replayed from the same leaves.

The lecture's ``cmp()`` compares one tensor with PyTorch's at a time; ``compare_torch`` does it for
every node of a graph at once. ``autograd.to_torch`` evaluates the graph again in torch float64 (torch's
own operations, from the leaves' values), torch differentiates it, and each node gets one row: our
value and gradient, torch's, and a verdict: "exact" (both equal to the last bit), "close" (both within
tolerance) or "differs". Float64 arithmetic of the same operations in the same order gives the same
numbers for ``+ - * /``; ``exp``, ``log``, ``tanh``, ``sigmoid`` and powers may differ in the last bit
between two libraries, and such differences travel down the graph, so "close" is the usual verdict
after the first of those and "differs" the sign of a wrong number.

torch is optional (``pip install "chainrule[torch]"``); without it ``compare_torch`` raises an
ImportError that says so.
"""

from __future__ import annotations

from ..engine import Value, topological_order
from ..torch_bridge import require_torch, to_torch
from .naming import Names
from .report import CLOSE, DIFFERS, EXACT, CheckReport, check_tolerances, close, finish, make_row, require_value, staleness


def compare_torch(
    root: Value, atol: float = 1e-12, rtol: float = 1e-9, raise_exception: bool = False
) -> CheckReport:
    """Compare every node's value and ``.grad`` with PyTorch's, one row per node.

    Call ``root.backward()`` first. The graph is replayed in torch float64 with ``autograd.to_torch``
    (from the leaves' current values), torch's ``backward()`` runs from the root, and each node of
    ``topological_order(root)`` gets a row: ``.value`` and ``.analytic`` (our value and grad),
    ``.reference_value`` and ``.numeric`` (torch's), ``.max_diff`` (the larger absolute difference)
    and the verdict in ``.status``:

    * "exact": the value and the gradient are the same floats as torch's;
    * "close": both within ``atol + rtol * |torch's|`` (the last bits of exp, log, tanh, sigmoid and
      powers may differ between libraries, and the difference travels down the graph);
    * "differs": one of them is further away: a wrong number (the row's message says which).

    Returns:
        a ``CheckReport`` (``kind == "compare_torch"``): ``.ok`` when no row differs, a table when
        printed, ``report["w"]`` for one node's row. A stale graph (values changed since backward, or
        gradients from another root's backward) is not compared: the report says so once and is not ok.

    Raises:
        ImportError: torch is not installed (the message says what to install).
        TypeError: ``root`` is not a Value. ValueError: a negative or non-finite tolerance.
        BackwardNeededError: ``root.backward()`` has not been called.
        GradientCheckError: with ``raise_exception=True``, when a node differs or the graph is stale.
    """
    require_torch("autograd.check.compare_torch")
    require_value(root, "compare_torch")
    check_tolerances(atol, rtol)
    order = topological_order(root)
    names = Names(order, root)
    stale = staleness(names, "compare_torch")
    if stale is not None:
        report = CheckReport("compare_torch", root, names.root_name(), [], None, atol, rtol, stale=stale)
        return finish(report, raise_exception)
    tensors = to_torch(root)
    tensors[root].backward()
    consumers = names.consumers()
    rows = []
    for node in order:
        tensor = tensors[node]
        value, grad = float(tensor.item()), float(tensor.grad.item())
        if value == node.data and grad == node.grad:
            verdict = EXACT
        elif close(node.data, value, atol, rtol) and close(node.grad, grad, atol, rtol):
            verdict = CLOSE
        else:
            verdict = DIFFERS
        rows.append(
            make_row(names, consumers, node, node.grad, grad, verdict, "compare_torch", reference_value=value)
        )
    return finish(CheckReport("compare_torch", root, names.root_name(), rows, None, atol, rtol), raise_exception)
