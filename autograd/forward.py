"""Forward mode: derivatives by one sweep from the inputs to the root, beside reverse mode's one sweep back.

Reverse mode (``backward``) gives d root / d node for *every* node in one sweep from the root back.
Forward mode gives d node / d x for every node and *one* direction x in one sweep from the inputs
forward: each node carries a tangent, the sum over its operands of its local derivative times the
operand's tangent (dual numbers). Both sweeps multiply by the same stored partials (``local_grads``);
forward mode needs one sweep per input to get what reverse mode gets in one, so it is the better
choice only for functions with few inputs and many outputs.

    >>> from autograd import Value, forward_grad
    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> E = (x * w + 1.0).tanh()
    >>> round(forward_grad(E, x), 12) == round(w.data * (1 - E.data ** 2), 12)
    True

None of these functions reads or writes ``.grad`` or changes anything in the graph. Each runs in time
linear in the graph (one ``topological_order`` walk and one sweep), at any depth. A node given as
``wrt`` (or in ``tangents``) that is not a leaf is held as an independent variable, as ``.grad``
treats it: d root / d h for an intermediate h counts only the paths that go through h.
"""

from __future__ import annotations

from typing import Mapping

from .engine import Value, _short, as_finite_float, tangent_sweep, topological_order

__all__ = ["forward_grad", "forward_grads", "jvp"]


def forward_grad(root: Value, wrt: Value) -> float:
    """d root / d wrt by one forward (tangent) sweep: the number ``root.backward()`` puts in
    ``wrt.grad`` (up to rounding: the same partials, multiplied in another order); 0 when ``root``
    does not depend on ``wrt``.

    Raises:
        TypeError: ``root`` or ``wrt`` is not a Value.
        FloatingPointError: a tangent overflows (the message names the node).
    """
    _require(root, "forward_grad", "root")
    _require(wrt, "forward_grad", "wrt")
    return tangent_sweep(topological_order(root), {wrt: 1.0}, False)[0]


def jvp(root: Value, tangents: Mapping[Value, float]) -> float:
    """The directional derivative of ``root``: sum over the given nodes x of d root / d x * tangents[x].

    ``tangents`` maps nodes (usually inputs) to numbers, the direction; nodes not in it have tangent 0.
    One sweep, whatever the number of nodes given (the Jacobian-vector product of a scalar function).

    Raises:
        TypeError: ``root`` is not a Value, ``tangents`` is not a mapping of Values to real numbers.
        ValueError: a tangent is NaN or infinite.
        FloatingPointError: a tangent overflows during the sweep.
    """
    _require(root, "jvp", "root")
    if not isinstance(tangents, Mapping):
        raise TypeError(
            f"jvp() needs tangents as a mapping of Values to numbers ({{x: 1.0, w: 0.5}}), "
            f"got {type(tangents).__name__}: {_short(tangents)}"
        )
    seeds: dict = {}
    for i, (node, number) in enumerate(tangents.items()):
        _require(node, "jvp", f"the key {i} of tangents")
        seeds[node] = as_finite_float(number, f"jvp(): the tangent of {node.label or 'key ' + str(i)}")
    return tangent_sweep(topological_order(root), seeds, False)[0]


def forward_grads(root: Value, wrt: Value) -> dict[Value, float]:
    """Every node's tangent d node / d wrt, for each node of ``root``'s graph (in
    ``topological_order(root)``, so the dict iterates inputs first, the root last): the numbers a
    forward-mode sweep carries, for teaching. ``forward_grads(root, x)[root] == forward_grad(root, x)``.
    """
    _require(root, "forward_grads", "root")
    _require(wrt, "forward_grads", "wrt")
    return tangent_sweep(topological_order(root), {wrt: 1.0}, True)[1]


def _require(node: object, function: str, argument: str) -> None:
    if not isinstance(node, Value):
        raise TypeError(f"{function}() needs a Value as {argument}, got {type(node).__name__}: {_short(node)}")
