"""``routes``: every way chainrule can reach d root / d node, side by side, for each node.

One row per node, one column per route:

``backward``
    reverse mode: the chain rule from the root back, as ``root.backward()`` computes it (run here
    without touching any ``.grad``: ``autograd.engine.gradients``).
``forward``
    forward mode: one tangent sweep from the node to the root per node (``autograd.forward_grad``).
``central difference``
    nudge the node, replay, difference quotient (as ``gradcheck`` does; end to end for a graph of
    a few hundred nodes, else with the chain rule over measured local derivatives).
``symbolic``
    the formula of ``autograd.symbolic`` (the chain rule over the op table's rules on sympy formulas),
    evaluated at the nodes' values; needs sympy.
``torch``
    the graph replayed in PyTorch float64 by ``autograd.to_torch`` and differentiated by torch's own
    autograd; needs torch and ``autograd.to_torch``.
``by hand``
    the node's ``.grad`` where the learner set it by hand (``grad_source == "hand"``: written as
    ``v.grad = ...`` or by the lecture's ``_backward()``); nodes without one are not judged here.

A route that cannot run (sympy or torch not installed, no grad set by hand) is left out of the table,
and the report says why (``report.not_run``). ``.ok`` is True when every route that ran agrees with
backward for every node, within ``atol + rtol * |backward|``. The central difference is not judged
where a nudge crosses relu's kink or leaves an op's domain (the row says so, as in gradcheck).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import replace
from typing import Iterable, Optional, Union

from ..engine import Value, gradients, topological_order
from ..forward import forward_grad
from . import gradient_check
from .naming import Names
from .report import (
    FAIL,
    OK,
    SKIPPED,
    CheckReport,
    CheckRow,
    check_eps,
    check_tolerances,
    close,
    finish,
    make_row,
    require_value,
)
from .staleness import find_stale_values

ROUTES = ("backward", "forward", "central difference", "symbolic", "torch", "by hand")


def routes(
    root: Value,
    nodes: Optional[Iterable[Union[Value, str]]] = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
) -> CheckReport:
    """d root / d node by every route that can run here, one row per node (default: the leaves).

    No ``.grad`` is read or written except the ``by hand`` column's, which reads grads the learner set
    by hand; so it needs no ``backward()`` first, and leaves the graph as it was (values and local
    derivatives are put back bit for bit after the central differences).

    Args:
        root: the output.
        nodes: the nodes to check (Values or labels/``#i`` names); the leaves of ``root``'s graph if None.
        eps: the central difference's relative step (as in ``gradcheck``).
        atol, rtol: a route agrees when ``|route - backward| <= atol + rtol * |backward|``.
        raise_exception: raise ``GradientCheckError`` if a route disagrees.

    Returns:
        a ``CheckReport`` of kind "routes": ``report.routes`` names the columns that ran,
        ``report.not_run`` the others with the reason; each row's ``.routes`` holds its numbers.
    """
    require_value(root, "routes")
    check_tolerances(atol, rtol)
    eps = check_eps(eps)
    if isinstance(nodes, (str, Value)):
        raise TypeError(f"nodes must be a list of Values or labels, got a single {type(nodes).__name__}: {nodes!r}")
    order = topological_order(root)
    names = Names(order, root)
    targets = [n for n in order if n.is_leaf] if nodes is None else gradient_check._select(nodes, names)
    stale = find_stale_values(names)
    if stale is not None:
        return finish(CheckReport("routes", root, names.root_name(), [], eps, atol, rtol, stale=stale), raise_exception)

    columns: dict[str, dict[Value, float]] = {}
    not_run: dict[str, str] = {}
    columns["backward"] = dict(zip(targets, gradients(root, targets)))
    columns["forward"] = {node: forward_grad(root, node) for node in targets}
    backward = columns["backward"]
    cost = sum(len(order) - names.position[node] for node in targets)
    method = "end-to-end" if cost <= gradient_check.AUTO_BUDGET else "local"
    measure = gradient_check._end_to_end if method == "end-to-end" else gradient_check._local
    difference_rows = {row.node: row for row in measure(names, targets, eps, atol, rtol, backward)}
    columns["central difference"] = {node: row.numeric for node, row in difference_rows.items()}
    for route, compute in (("symbolic", _symbolic), ("torch", _torch), ("by hand", _by_hand)):
        numbers_, why = compute(root, targets)
        if numbers_ is None:
            not_run[route] = why
        else:
            columns[route] = numbers_

    ran = tuple(route for route in ROUTES if route in columns)
    consumers = names.consumers()
    rows: list[CheckRow] = []
    for node in targets:
        reference = backward[node]
        status, note, worst, worst_value = OK, "", -1.0, reference
        difference = difference_rows[node]
        for route in ran[1:]:
            value = columns[route].get(node, math.nan)
            if route == "central difference" and difference.status in SKIPPED:
                if status == OK:  # not judged: a nudge crosses relu's kink or leaves an op's domain
                    status, note = difference.status, difference.note
                continue
            if value != value:  # no number for this node (no grad set by hand here)
                continue
            if abs(value - reference) > worst:
                worst, worst_value = abs(value - reference), value
            if not close(reference, value, atol, rtol):
                note = f"{note}, {route}" if status == FAIL else f"disagrees with backward: {route}"
                status = FAIL
        row = make_row(names, consumers, node, reference, worst_value, status, "routes", note)
        rows.append(replace(row, routes=tuple((route, columns[route].get(node, math.nan)) for route in ran)))
    report = CheckReport("routes", root, names.root_name(), rows, eps, atol, rtol, method=method, routes=ran, not_run=not_run)
    return finish(report, raise_exception)


def _symbolic(root: Value, targets: list[Value]) -> tuple[Optional[dict], str]:
    try:
        symbolic = importlib.import_module("autograd.symbolic")
    except ImportError:
        return None, 'sympy is not installed (pip install "chainrule[symbolic]")'
    return symbolic.gradient_values(root, targets), ""


def _torch(root: Value, targets: list[Value]) -> tuple[Optional[dict], str]:
    try:
        import torch  # noqa: F401 - only whether it is there
    except ImportError:
        return None, "torch is not installed"
    try:
        from .. import to_torch  # type: ignore[attr-defined]
    except ImportError:
        return None, "this version of chainrule has no autograd.to_torch to replay the graph in torch"
    tensors = to_torch(root)
    tensors[root].backward()
    found = {}
    for node in targets:
        grad = tensors[node].grad
        found[node] = math.nan if grad is None else float(grad.item())  # no grad: no number to judge
    return found, ""


def hand_set_grad(node: Value) -> Optional[float]:
    """The grad the learner set by hand on ``node`` (``node.grad_source == "hand"``), or None."""
    return node.grad if getattr(node, "grad_source", None) == "hand" else None


def _by_hand(root: Value, targets: list[Value]) -> tuple[Optional[dict], str]:
    found = {node: hand_set_grad(node) for node in targets}
    if all(value is None for value in found.values()):
        return None, "no grad of these nodes was set by hand"
    return {node: (math.nan if value is None else value) for node, value in found.items()}, ""
