"""``gradcheck``: every node's ``.grad`` against central differences, end to end or locally.

Two methods, each giving one reference number per node:

``"end-to-end"``
    Nudge the node's value by ``+h`` and ``-h``, replay the graph downstream of it, and take
    ``(root(x + h) - root(x - h)) / 2h``. This is the definition of d root/d node, measured on the
    whole graph. Each node costs a replay of everything after it, so a graph of n nodes costs about
    n^2/2 node evaluations (a 2,000-node chain: seconds; 20,000: many minutes).

``"local"``
    Measure each computed node's local derivatives by central differences of its own op (nudging
    one operand, ``autograd.engine.recompute``), then run the chain rule with those measured
    derivatives from the root down: ``ref(root) = 1``, ``ref(n) = sum over the uses of n by a
    consumer c of ref(c) * (measured d c/d n)``. Each node costs a few evaluations of its op, each
    edge one multiplication: linear in the graph. Every node whose ``.grad`` agrees with its
    ``ref`` has the right gradient, because the root's is 1 and each other node's follows from its
    consumers' by derivatives measured independently of the ones backward used.

Both rest on the same facts: the graph's values follow from its leaves (``gradcheck`` checks this
first: see ``staleness``) and each op computes what it says. The end-to-end check exercises
whole-graph replays; the local one tells, for a wrong gradient, which local derivative is wrong.
``mode="auto"`` (the default) runs end-to-end when that costs at most ``AUTO_BUDGET`` node
evaluations (every node of a chain of up to about 450 nodes, of a wider graph somewhat more, or a
few chosen ``nodes`` of a large one), and local otherwise.
"""

from __future__ import annotations

import math
from typing import Iterable, Union

from ..engine import Value, recompute, topological_order
from ..graph import replay
from .naming import Names, num
from .report import (
    EDGE,
    FAIL,
    KINK,
    OK,
    CheckReport,
    CheckRow,
    check_eps,
    check_tolerances,
    close,
    finish,
    make_row,
    require_value,
    staleness,
)

MODES = ("auto", "end-to-end", "local")
AUTO_BUDGET = 100_000
"""The most node evaluations ``mode="auto"`` spends on an end-to-end check (about a second)."""


def gradcheck(
    root: Value,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
    nodes: Iterable[Union[Value, str]] | None = None,
    mode: str = "auto",
) -> CheckReport:
    """Check every node's ``.grad`` against central differences.

    Call ``root.backward()`` first. Each node (leaves, constants and intermediate nodes alike) gets a
    reference number, by one of two methods (see the module's documentation for what each proves):

    * "end-to-end": with ``x`` the node's value and ``h = eps * max(1, |x|)`` (relative for large
      values, so the nudge is never lost to rounding; absolute below 1), the node is set to ``x + h``
      and ``x - h``, the graph downstream of it is replayed (``autograd.replay(root, changed=[n])``:
      the node keeps the nudged value even if it is an intermediate node), and the reference is
      ``(root(x + h) - root(x - h)) / ((x + h) - (x - h))``. Afterwards every node's value and local
      derivatives are put back exactly as they were (bit for bit), also if the check is interrupted.
    * "local": each op's local derivatives are measured by the same central difference of the op
      alone (one operand nudged), and the reference is the chain rule run with those measured
      derivatives from the root down. Nothing in the graph is changed. Linear time.

    ``mode="auto"`` picks end-to-end when it costs at most ``AUTO_BUDGET`` node evaluations, local
    otherwise; ``report.method`` says which ran.

    A row passes when ``|grad - numeric| <= atol + rtol * |numeric|``. Two kinds of rows are not
    judged (status set, ``.ok`` stays True):

    * "nondifferentiable": a nudge moves the input of a relu across 0 (its kink), where the engine
      takes relu's slope to be 0 and a central difference averages the two sides. End-to-end marks
      such rows when they disagree; local marks every row whose reference goes through the kink.
    * "domain-edge": a nudge leaves an op's domain (log of a value pushed to <= 0, an overflow), so
      the central difference does not exist; a smaller step ``eps * |x|`` is tried first.

    Before checking, the graph is checked for staleness (``autograd.check.staleness``): values
    changed since the graph was built (a training step), or gradients not written by the last
    backward from this root. A stale graph is not checked: the report says once which nodes are
    stale and what to do (``replay``, ``zero_grad``, ``backward``), and ``.ok`` is False.

    Args:
        root: the output whose gradients ``root.backward()`` computed.
        eps: relative step, between 2.2e-16 and 0.1 (see above).
        atol, rtol: absolute and relative tolerance.
        raise_exception: raise ``GradientCheckError`` (an AssertionError) naming every failing node
            (or saying why the graph is stale) instead of returning the report.
        nodes: check only these nodes (a list of Values or labels); all nodes of the graph if None.
        mode: "auto", "end-to-end" or "local".

    Returns:
        a ``CheckReport`` with one row per node, in ``topological_order(root)``.

    Raises:
        BackwardNeededError: ``root.grad`` is not 1, so ``root.backward()`` has not been called.
        ValueError, TypeError: a bad tolerance, step, mode or node.
    """
    require_value(root, "gradcheck")
    check_tolerances(atol, rtol)
    eps = check_eps(eps)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if isinstance(nodes, (str, Value)):
        raise TypeError(
            f"nodes must be a list of Values or labels, got a single {type(nodes).__name__}: {nodes!r} "
            f"(write nodes=[{nodes!r}] for one node)"
        )
    order = topological_order(root)
    names = Names(order, root)
    targets = order if nodes is None else _select(nodes, names)
    stale = staleness(names, "gradcheck")
    if stale is not None:
        return finish(CheckReport("gradcheck", root, names.root_name(), [], eps, atol, rtol, stale=stale), raise_exception)

    if mode == "auto":
        cost = sum(len(order) - names.position[node] for node in targets)
        mode = "end-to-end" if cost <= AUTO_BUDGET else "local"
    if mode == "end-to-end":
        rows = _end_to_end(names, targets, eps, atol, rtol)
    else:
        rows = _local(names, targets, eps, atol, rtol)
    report = CheckReport("gradcheck", root, names.root_name(), rows, eps, atol, rtol, method=mode)
    return finish(report, raise_exception)


def _select(nodes: Iterable[Union[Value, str]], names: Names) -> list[Value]:
    """The given nodes (or labels), in topological order, each once."""
    try:
        given = list(nodes)
    except TypeError:
        raise TypeError(f"nodes must be a list of Values or labels, got {type(nodes).__name__}: {nodes!r}") from None
    chosen = set()
    for key in given:
        if not isinstance(key, (str, Value)):
            raise TypeError(f"nodes must be Values or labels, got {type(key).__name__}: {key!r}")
        chosen.add(names.lookup(key))
    return [node for node in names.order if node in chosen]


def _step_sizes(x: float, eps: float) -> list[float]:
    """``eps * max(1, |x|)``, then, for ``0 < |x| < 1``, the smaller ``eps * |x|`` in case the first
    one crosses a domain edge. A step lost to rounding (``x + h == x - h``) is left out."""
    steps = [eps * max(1.0, abs(x))]
    if 0.0 < abs(x) < 1.0:
        steps.append(eps * abs(x))
    return [h for h in steps if x + h != x - h]


def _kink_note(names: Names, relu: Value, crossing: Value) -> str:
    return (
        f"a nudge of {names.name(crossing)} moves the input of relu node {names.name(relu)} across 0 "
        f"(input {num(relu.parents[0].data)}), where relu has no derivative"
    )


# ---------------------------------------------------------------------------------------------------
# end to end: nudge a node, replay what depends on it
# ---------------------------------------------------------------------------------------------------
def _end_to_end(
    names: Names, targets: list[Value], eps: float, atol: float, rtol: float, analytic_of: dict | None = None
) -> list[CheckRow]:
    """A row per target, its ``.grad`` (or ``analytic_of[node]``, as ``routes`` passes it) against an
    end-to-end central difference."""
    order = list(names.order)
    root = names.root
    consumers = names.consumers()
    # Each node's central difference restores, from this copy, every value a replay may have changed.
    saved = [(node.data, node.local_grads) for node in order]
    relus = [(names.position[n], n) for n in order if n.op == "relu"]
    rows = []
    for node in targets:
        position = names.position[node]
        numeric, crossed, domain_error = _central_difference(root, node, order, position, saved, eps, relus)
        analytic = node.grad if analytic_of is None else analytic_of[node]
        if domain_error is not None:
            status, note = EDGE, domain_error
        elif close(analytic, numeric, atol, rtol):
            status, note = OK, ""
        elif crossed is not None:
            status, note = KINK, _kink_note(names, crossed, node)
        else:
            status, note = FAIL, ""
        rows.append(make_row(names, consumers, node, analytic, numeric, status, "gradcheck", note, method="end-to-end"))
    return rows


def _central_difference(
    root: Value,
    node: Value,
    order: list[Value],
    position: int,
    saved: list[tuple[float, tuple[float, ...]]],
    eps: float,
    relus: list[tuple[int, Value]],
) -> tuple[float, Value | None, str | None]:
    """``(numeric, crossed relu or None, domain error or None)`` for d root/d node.

    Every node from ``position`` on (all that a nudge of ``node`` can change) is put back as saved.
    """
    x0 = node.data
    # Everything downstream of the node comes after it in the order, so replaying this tail is enough;
    # replay skips the tail's nodes that do not depend on the node.
    tail = order[position:]
    downstream_relus = [r for i, r in relus if i > position]
    base = [r.parents[0].data > 0.0 for r in downstream_relus]
    error = f"every step from {num(x0)} is lost to rounding"
    for h in _step_sizes(x0, eps):
        up, down = x0 + h, x0 - h
        try:
            f_up = _nudged(root, node, up, tail)
            crossed = _crossed_kink(downstream_relus, base)
            f_down = _nudged(root, node, down, tail)
            if crossed is None:
                crossed = _crossed_kink(downstream_relus, base)
        except (ArithmeticError, ValueError) as exc:  # replay is atomic: only node.data was changed
            error = f"a step of {num(h, 3)} from {num(x0)}: {exc}"
            continue
        finally:
            for j in range(position, len(order)):
                order[j].data, order[j].local_grads = saved[j]
        return (f_up - f_down) / (up - down), crossed, None
    return math.nan, None, error


def _nudged(root: Value, node: Value, value: float, order: list[Value]) -> float:
    node.data = value
    return replay(root, changed=(node,), order=order, grads_go_stale=False)


def _crossed_kink(relus: list[Value], base: list[bool]) -> Value | None:
    for relu, was_positive in zip(relus, base):
        if (relu.parents[0].data > 0.0) != was_positive:
            return relu
    return None


# ---------------------------------------------------------------------------------------------------
# local: measure each op's derivatives, run the chain rule with them
# ---------------------------------------------------------------------------------------------------
class _Measured:
    """One use of a node by a consumer: the stored local derivative, the measured one, and, when the
    measured one could not be had, why (then the stored one stands in for it)."""

    __slots__ = ("consumer", "operand", "stored", "measured", "status", "note")

    def __init__(self, consumer: Value, operand: int, stored: float, measured: float, status: str, note: str) -> None:
        self.consumer = consumer
        self.operand = operand
        self.stored = stored
        self.measured = measured
        self.status = status  # OK, KINK or EDGE
        self.note = note

    @property
    def used(self) -> float:
        """The derivative the reference uses: the measured one, else the stored one."""
        return self.measured if self.status == OK else self.stored


def _measure(names: Names, node: Value, operand: int, eps: float) -> _Measured:
    """d node/d (its operand ``operand``) by a central difference of the node's op alone."""
    values = [p.data for p in node.parents]
    stored = node.local_grads[operand]
    x0 = values[operand]
    error = f"every step from {num(x0)} is lost to rounding"
    for h in _step_sizes(x0, eps):
        up, down = x0 + h, x0 - h
        try:
            values[operand] = up
            f_up = recompute(node, values)[0]
            values[operand] = down
            f_down = recompute(node, values)[0]
        except (ArithmeticError, ValueError) as exc:
            error = f"a step of {num(h, 3)} from {num(x0)} in operand {operand + 1} of {names.name(node)}: {exc}"
            continue
        finally:
            values[operand] = x0
        measured = (f_up - f_down) / (up - down)
        if node.op == "relu" and (up > 0.0) != (down > 0.0):
            return _Measured(node, operand, stored, measured, KINK, _kink_note(names, node, node.parents[operand]))
        return _Measured(node, operand, stored, measured, OK, "")
    return _Measured(node, operand, stored, math.nan, EDGE, error)


def _local(
    names: Names, targets: list[Value], eps: float, atol: float, rtol: float, analytic_of: dict | None = None
) -> list[CheckRow]:
    """A row per target, its ``.grad`` (or ``analytic_of[node]``) against the chain rule run with
    central-difference local derivatives."""
    order = names.order
    root = names.root
    consumers = names.consumers()
    reference = dict.fromkeys(order, 0.0)
    reference[root] = 1.0
    uses: dict[Value, list[_Measured]] = {node: [] for node in order}
    # A reference that rests on a derivative that could not be measured (a kink, a domain edge) is
    # not an independent check: the first such reason is kept for each node it reaches.
    unverified: dict[Value, tuple[str, str]] = {}
    # The chain rule from the root down, in the order backward uses, with measured derivatives.
    for node in reversed(order):
        parents = node.parents
        if not parents:
            continue
        upstream = reference[node]
        reason = unverified.get(node)
        for i, parent in enumerate(parents):
            use = _measure(names, node, i, eps)
            uses[parent].append(use)
            reference[parent] += upstream * use.used
            if parent not in unverified:
                if use.status != OK:
                    unverified[parent] = (use.status, use.note)
                elif reason is not None and use.measured != 0.0:
                    unverified[parent] = reason

    rows = []
    for node in targets:
        analytic, numeric = node.grad if analytic_of is None else analytic_of[node], reference[node]
        agrees = close(analytic, numeric, atol, rtol)
        if node in unverified and agrees:
            status, note = unverified[node]
        elif agrees:
            status, note = OK, ""
        else:
            status, note = FAIL, _wrong_partials(names, uses[node], atol, rtol)
        rows.append(make_row(names, consumers, node, analytic, numeric, status, "gradcheck", note, method="local"))
    return rows


def _wrong_partials(names: Names, uses: list[_Measured], atol: float, rtol: float) -> str:
    """For a failing node: the consumers whose stored local derivative disagrees with the measured one."""
    wrong = [
        f"{names.name(u.consumer)} = {names.definition(u.consumer)} stores {num(u.stored, 10)} as its local "
        f"derivative for operand {u.operand + 1}, but a central difference of its op gives {num(u.measured, 10)}"
        for u in uses
        if u.status == OK and not close(u.stored, u.measured, atol, rtol)
    ]
    return "wrong local derivative: " + "; ".join(wrong) if wrong else ""
