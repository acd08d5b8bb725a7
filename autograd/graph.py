"""Whole-graph tools built on the one walk, ``topological_order``: replay, zeroing and an order check."""

from __future__ import annotations

from typing import Iterable, Sequence

from .engine import Value, clear_grads, describe, forget_grad_passes, recompute, topological_order


def replay(
    root: Value,
    changed: Iterable[Value] | None = None,
    order: Sequence[Value] | None = None,
    *,
    grads_go_stale: bool = True,
) -> float:
    """Recompute the graph's values from its leaves' current ``.data``; return the root's new value.

    Each computed node is evaluated again by the same primitive that made it, from its parents'
    current values, and its local derivatives are updated with it, so a following ``backward()`` is
    exact at the new point. Change an input's ``.data`` and replay instead of rebuilding the graph::

        x.data = 3.0
        replay(E)       # E.data is now E at x = 3
        E.backward()

    Args:
        root: the output node; every node it depends on is replayed.
        changed: nodes whose ``.data`` was set by hand. If given, only the nodes downstream of them
            are recomputed, and the changed nodes keep the value they were given even if they are
            computed nodes (this is how the gradient checker nudges an intermediate node).
        order: ``topological_order(root)``, if the caller already has it (saves a walk); with
            ``changed``, any topologically sorted list that holds the changed nodes and everything
            downstream of them will do (the gradient checker passes the tail of the order).
        grads_go_stale: if any value or local derivative changes, the grads of the graph belong to the
            old values: every node of ``order`` then counts as not computed (``grad_pass`` 0, the grads
            themselves are kept) until the next ``backward()``, so that drawings and the gradient
            checker do not present them as current. The gradient checker, which puts every value back
            after a nudge, passes False.

    If a primitive fails on the new values (say ``log`` of a negative number), the error names the
    node and nothing is changed: every node keeps the value it had before the call.
    """
    if not isinstance(root, Value):
        raise TypeError(f"replay() needs a Value as root, got {type(root).__name__}: {root!r}")
    if order is None:
        order = topological_order(root)
    held: set = set()
    if changed is not None:
        if isinstance(changed, Value):
            changed = [changed]
        members = set(order)
        for i, node in enumerate(changed):
            if not isinstance(node, Value):
                raise TypeError(f"replay(changed=...) takes Values, got {type(node).__name__} at position {i}: {node!r}")
            if node not in members:
                raise ValueError(
                    f"replay(changed=...): {describe(node)} is not part of the graph of {describe(root)}, "
                    "so changing it cannot change the root"
                )
            held.add(node)
    # New values are collected first and written only once every node has succeeded.
    new: dict[Value, tuple[float, tuple[float, ...]]] = {}
    for node in order:
        parents = node.parents
        if not parents or node in held:
            continue
        if changed is not None and not any(p in new or p in held for p in parents):
            continue  # not downstream of a change
        values = [new[p][0] if p in new else p.data for p in parents]
        try:
            new[node] = recompute(node, values)
        except (ArithmeticError, ValueError) as exc:
            raise type(exc)(f"replay failed at {describe(node)}: {exc}; no value was changed") from None
    moved = False
    for node, (data, local_grads) in new.items():
        moved = moved or data != node.data or local_grads != node.local_grads
        node.data = data
        node.local_grads = local_grads
    if (moved or held) and grads_go_stale:
        forget_grad_passes(order)
    return root.data


def zero_grad(root: Value) -> None:
    """Set ``.grad`` to 0.0 on every node of ``root``'s graph, leaves included; until the next backward
    pass they count as not computed (``grad_pass`` 0)."""
    if not isinstance(root, Value):
        raise TypeError(f"zero_grad() needs a Value as root, got {type(root).__name__}: {root!r}")
    clear_grads(topological_order(root))


def check_toposort(order: Sequence[Value]) -> None:
    """Raise AssertionError unless every node in ``order`` comes after all of its parents."""
    position = {node: i for i, node in enumerate(order)}
    for i, node in enumerate(order):
        for parent in node.parents:
            j = position.get(parent)
            if j is None or j >= i:
                where = "is missing" if j is None else f"comes at {j}"
                raise AssertionError(f"{describe(node)} at position {i} has a parent that {where}: {describe(parent)}")
