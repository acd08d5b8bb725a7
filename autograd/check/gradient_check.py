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
import sys
from typing import Callable, Iterable, Union

from ..engine import Value, recompute, topological_order
from ..graph import replay
from .naming import Names, num
from .report import (
    EDGE,
    FAIL,
    IMPRECISE,
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

    * "end-to-end": with ``x`` the node's value and a step ``h``, the node is set to ``x + h`` and
      ``x - h``, the graph downstream of it is replayed (``autograd.replay(root, changed=[n])``: the
      node keeps the nudged value even if it is an intermediate node), and the reference is
      ``(root(x + h) - root(x - h)) / ((x + h) - (x - h))``. Afterwards every node's value and local
      derivatives are put back exactly as they were (bit for bit), also if the check is interrupted.
    * "local": each op's local derivatives are measured by the same central difference of the op
      alone (one operand nudged), and the reference is the chain rule run with those measured
      derivatives from the root down. Nothing in the graph is changed. Linear time.

    The step: first ``h = eps * max(1, |x|)`` (relative for large values, so the nudge is never lost
    to rounding; absolute below 1). When that one disagrees with ``.grad``, or is large beside ``x``
    (``|x| < 1e-3`` for the default eps), smaller steps ``h/10, h/100, ...`` follow (a value such as
    1e-5 under ``log`` or ``1/x`` changes on its own scale, where 1e-6 measures a secant or crosses
    0), and where the rounding of large values downstream swamps the first step (``x + 1e8``), two
    larger ones; none that rounding swamps. Two neighbouring steps that agree with ``.grad`` pass it;
    steps that settle on another number fail it, and that number is the reference. So a correct
    gradient at any finite input in an op's domain is never a failure.

    ``mode="auto"`` picks end-to-end when it costs at most ``AUTO_BUDGET`` node evaluations, local
    otherwise; ``report.method`` says which ran.

    A row passes when ``|grad - numeric| <= atol + rtol * |numeric|``. Three kinds of rows are not
    judged (status set, ``.ok`` stays True):

    * "nondifferentiable": a nudge moves the input of a relu across 0 (its kink), where the engine
      takes relu's slope to be 0 and a central difference averages the two sides. End-to-end marks
      such rows when they disagree; local marks every row whose reference goes through the kink.
    * "domain-edge": every step leaves an op's domain (log of a value pushed to <= 0, an overflow),
      so the central difference does not exist.
    * "imprecise": no step measures the derivative to the tolerance: the rounding of large values
      (``sigmoid(x) + 6.8e13``) blurs the small steps while the large ones measure a secant, or, in
      the local method, the chain rule's terms cancel (``x / x`` at 1e-8: 1e8 - 1e8, each measured
      to a few parts in 1e5). The note says which; end-to-end measures the second kind directly.

    Before checking, the graph is checked for staleness (``autograd.check.staleness``): values
    changed since the graph was built (a training step), or gradients not written by the last
    backward from this root. A stale graph is not checked: the report says once which nodes are
    stale and what to do (``replay``, ``zero_grad``, ``backward``), and ``.ok`` is False.

    Args:
        root: the output whose gradients ``root.backward()`` computed.
        eps: the first step relative to ``max(1, |x|)``, between 2.2e-16 and 0.1 (see above).
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


# The steps: the first is eps * max(1, |x|); when it is not enough, smaller ones follow, each a tenth
# of the one before, down to the floors below (at x = 0, at most this many)...
MAX_SMALLER_STEPS = 40
# ...never below 1024 units in the last place of x (the step keeps about 10 bits in x + h, x - h)...
X_ROUNDING = 1024 * sys.float_info.epsilon
# ...and never where rounding swamps the change (``_rounding_floor``); when that floor lies above the
# first step, the two next larger steps above the floor are tried instead.
# The first step alone decides a pass or a failure only when it is small beside the value
# (h <= ALONE * |x|), so that its secant is the tangent of ops such as log, 1/x and x**k, whose scale is
# |x|, to about 1e-6; a larger first step (at |x| < 1e-3 for the default eps) needs a second to agree.
ALONE = 1e-3


def _first_step(x: float, eps: float) -> float:
    """``eps * max(1, |x|)``: relative to a large value, so that it is not lost to rounding, and
    absolute below 1, where the scale on which the graph downstream changes is not known."""
    return eps * max(1.0, abs(x))


def _smaller_steps(x: float, first: float) -> list[float]:
    """``first/10, first/100, ...`` down to ``X_ROUNDING * |x|``: a value such as 1e-5 or 1e-8 under
    ``log``, ``1/x`` or ``x**0.5`` changes on the scale of the value itself, and a step of 1e-6 there
    measures a secant, or crosses 0 and leaves the op's domain."""
    floor = X_ROUNDING * abs(x)
    steps = []
    h = first / 10.0
    while h >= floor and h > 0.0 and (x != 0.0 or len(steps) < MAX_SMALLER_STEPS):
        if x + h != x - h:
            steps.append(h)
        h /= 10.0
    return steps


def _rounding_floor(noise: float, slope: float, atol: float, rtol: float) -> float:
    """The smallest step whose central difference carries at most a tenth of the tolerance of error
    from rounding. The two outputs are each off by about ``noise`` (units in the last place of the
    values the change goes through, weighted by how much the output depends on each), so the quotient
    is off by about ``noise / h``, which must stay below ``(atol + rtol * |slope|) / 10``."""
    allowed = atol + rtol * abs(slope)
    if not allowed > 0.0 or not math.isfinite(noise):
        return 0.0
    return 10.0 * noise / allowed


class _Verdict:
    """What the central differences at a value say about one derivative: the reference number, a
    status (OK, FAIL, KINK, EDGE or IMPRECISE), the relu whose kink the step crossed (end to end), a
    note, and an estimate of the reference's own error (what the local method adds up)."""

    __slots__ = ("numeric", "status", "kink", "note", "error")

    def __init__(self, numeric: float, status: str, kink: object = None, note: str = "", error: float = 0.0) -> None:
        self.numeric = numeric
        self.status = status
        self.kink = kink
        self.note = note
        self.error = error  # how far off ``numeric`` may be, estimated from the steps


Difference = Callable[[float], "tuple[float, object, float, float]"]


def _settled(run: list[float], atol: float, rtol: float) -> bool:
    """Whether the latest quotients of steps in a row have settled on a number: the last two agree to a
    tenth of the tolerance, and either agree to a tenth of ``rtol`` or their difference is a tenth of
    the one before (a difference quotient converging as h^2: near a derivative of 0 the quotients are
    all small, and only their shrinking differences tell a limit from a secant that grows, such as
    -2x/h^4 for x**-2 at x = 1e-65 and steps far larger than x)."""
    last, before = run[-1], run[-2]
    gap = abs(last - before)
    if gap > (atol + rtol * abs(last)) / 10.0:
        return False
    if gap <= rtol / 10.0 * max(abs(last), abs(before)):
        return True
    return len(run) >= 3 and gap <= abs(before - run[-3]) / 10.0


def _settle(
    analytic: float,
    x: float,
    eps: float,
    atol: float,
    rtol: float,
    difference: Difference,
    where: str = "",
    scale: float = 0.0,
) -> _Verdict:
    """Judge ``analytic`` (d f/d x at ``x``) by central differences.

    ``difference(h)`` returns ``(quotient, kink, f_up, f_down)``: the difference quotient with step h,
    the relu kink the step crossed (or None), and ``f(x + h)``, ``f(x - h)``; it raises
    ArithmeticError or ValueError when a step leaves an op's domain. ``scale`` is what rounding can
    blur besides f itself: the sum, over the values a change of x goes through, of each one's size
    times how much f depends on it.

    A step is *trusted alone* when it is small beside ``|x|`` (``ALONE``) and above the rounding floor
    (``_rounding_floor``): the first step, if trusted alone and agreeing, is a pass, as it always has
    been (a correct gradient almost always passes there). Otherwise further steps follow,
    smaller ones (``_smaller_steps``, none below the rounding floor), or, when the floor lies above the
    first step, the two next larger ones above it: two neighbouring steps that agree with ``analytic``
    make a pass (the first step was too coarse for this value, swamped by rounding, or crossed a
    singularity or a kink); steps that have settled on a number (``_settled``) other than
    ``analytic`` make a failure, with that number as the reference. A step that crosses a relu's kink
    never counts, nor one whose change is lost to rounding (``f(x + h) == f(x - h)``, unless
    ``analytic`` is exactly 0, as on relu's flat side): a 0 made of rounding, where the step is far
    larger than the scale on which f changes (``x**-2`` at x = 1e-65), says nothing. When no two steps settle it, the first measured step decides if trusted
    alone (or if it agreed); it is nondifferentiable if that step crossed a kink, a domain edge if no
    step could be taken at all, and otherwise imprecise: no step measures this derivative to the
    tolerance (rounding of large values blurs the small steps; the large ones measure a secant or
    leave an op's domain), so the gradient is neither passed nor failed.
    """
    first_step = _first_step(x, eps)
    error = f"every step from {num(x)} is lost to rounding"
    floor: float | None = None  # the rounding floor, known once a step has been measured
    first: _Verdict | None = None  # the verdict of the first step measured
    first_trusted = False
    blur = 0.0  # the size of what rounding blurs at the first step measured
    seen: list[float] = []  # the quotients of usable steps, for the note
    run: list[float] = []  # the quotients of the usable steps in a row, the latest last

    def measure(h: float) -> tuple[float, object, bool, float] | None:
        """The quotient, the kink crossed, whether the change was lost, and the quotient's rounding error."""
        nonlocal error, floor, blur
        try:
            quotient, kink, f_up, f_down = difference(h)
        except (ArithmeticError, ValueError) as exc:
            error = f"a step of {num(h, 3)} from {num(x)}{where}: {exc}"
            return None
        noise = sys.float_info.epsilon * (max(abs(f_up), abs(f_down)) + scale)
        if floor is None:
            blur = max(abs(f_up), abs(f_down)) + scale
            slope = max(abs(analytic), abs(quotient)) if math.isfinite(analytic) else abs(quotient)
            floor = _rounding_floor(noise, slope, atol, rtol)
        return quotient, kink, f_up == f_down, noise / h

    def judge(h: float, quotient: float, kink: object, lost: bool, rounding: float) -> _Verdict | None:
        """The verdict of this step and the ones before it, if they settle it."""
        if kink is not None or h < floor or (lost and analytic != 0.0):
            run.clear()
            return None
        seen.append(quotient)
        run.append(quotient)
        if len(run) >= 2:
            before = run[-2]
            # A quotient's error shrinks as h^2, a hundredfold a step: a tenth of the gap is generous.
            spread = abs(quotient - before) / 10.0 + rounding
            if close(analytic, quotient, atol, rtol) and close(analytic, before, atol, rtol):
                return _Verdict(quotient, OK, error=spread)
            if not close(analytic, quotient, atol, rtol) and _settled(run, atol, rtol):
                return _Verdict(quotient, FAIL, error=spread)
        return None

    def start(h: float, quotient: float, kink: object, lost: bool, rounding: float) -> _Verdict | None:
        """Keep the first measured step's verdict; return it if it is a pass by a step trusted alone."""
        nonlocal first, first_trusted
        agrees = close(analytic, quotient, atol, rtol)
        first_trusted = kink is None and h <= ALONE * abs(x) and h >= floor
        # a secant's error on the scale |x| (about (h/x)^2 of it), plus rounding's
        spread = (h / abs(x)) ** 2 * abs(quotient) + rounding if first_trusted else rounding
        first = _Verdict(quotient, OK if agrees else KINK if kink is not None else FAIL, kink, error=spread)
        return first if first_trusted and agrees else None

    steps = ([first_step] if x + first_step != x - first_step else []) + _smaller_steps(x, first_step)
    for h in steps:
        if floor is not None and h < floor:
            break
        measured = measure(h)
        if measured is None:
            continue
        verdict = (start(h, *measured) if first is None else None) or judge(h, *measured)
        if verdict is not None:
            return verdict
        if h == first_step and floor > first_step:
            break  # rounding swamps the first step and so every smaller one
    if first is not None and floor > first_step:
        run.clear()
        h, tried = first_step, 0
        while tried < 2 and math.isfinite(h):
            h *= 10.0
            if h >= floor and x + h != x - h and math.isfinite(x + h) and math.isfinite(x - h):
                tried += 1
                measured = measure(h)
                verdict = judge(h, *measured) if measured is not None else None
                if verdict is not None:
                    return verdict

    if first is None:
        return _Verdict(math.nan, EDGE, note=error)
    if first.status != FAIL or first_trusted:
        return first
    measured_range = f"{num(min(seen))} to {num(max(seen))}" if len(seen) > 1 else num(first.numeric)
    first.status = IMPRECISE
    first.numeric = math.nan  # no number to show: the note says what the steps gave
    first.note = (
        f"no step measures this derivative to the tolerance: central differences give {measured_range} "
        f"(rounding in values of about {num(blur, 3)} blurs small steps; large ones measure a secant or "
        f"leave an op's domain)"
    )
    return first


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
    # What rounding after each node can blur: the sum over the nodes after it of |value * d root/d value|.
    after = [0.0] * (len(order) + 1)
    for j in range(len(order) - 1, -1, -1):
        weight = abs(order[j].data * order[j].grad)
        after[j] = after[j + 1] + (weight if math.isfinite(weight) else 0.0)
    rows = []
    for node in targets:
        position = names.position[node]
        analytic = node.grad if analytic_of is None else analytic_of[node]
        blur = after[position + 1]
        verdict = _central_difference(root, node, order, position, saved, relus, analytic, eps, atol, rtol, blur)
        note = _kink_note(names, verdict.kink, node) if verdict.status == KINK else verdict.note
        rows.append(
            make_row(names, consumers, node, analytic, verdict.numeric, verdict.status, "gradcheck", note, method="end-to-end")
        )
    return rows


def _central_difference(
    root: Value,
    node: Value,
    order: list[Value],
    position: int,
    saved: list[tuple[float, tuple[float, ...]]],
    relus: list[tuple[int, Value]],
    analytic: float,
    eps: float,
    atol: float,
    rtol: float,
    blur: float,
) -> _Verdict:
    """The verdict on ``analytic`` = d root/d node by central differences of the whole graph.

    Every node from ``position`` on (all that a nudge of ``node`` can change) is put back as saved.
    """
    x0 = node.data
    # Everything downstream of the node comes after it in the order, so replaying this tail is enough;
    # replay skips the tail's nodes that do not depend on the node.
    tail = order[position:]
    downstream_relus = [r for i, r in relus if i > position]
    base = [r.parents[0].data > 0.0 for r in downstream_relus]

    def difference(h: float) -> tuple[float, Value | None, float, float]:
        up, down = x0 + h, x0 - h
        try:
            f_up = _nudged(root, node, up, tail)
            crossed = _crossed_kink(downstream_relus, base)
            f_down = _nudged(root, node, down, tail)
            if crossed is None:
                crossed = _crossed_kink(downstream_relus, base)
        finally:  # replay is atomic: after a failed one only node.data was changed
            for j in range(position, len(order)):
                order[j].data, order[j].local_grads = saved[j]
        return (f_up - f_down) / (up - down), crossed, f_up, f_down

    return _settle(analytic, x0, eps, atol, rtol, difference, scale=blur)


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
    """One use of a node by a consumer: the stored local derivative, the measured one and how far off
    the measured one may be, and, when it could not be had, why (then the stored one stands in for it)."""

    __slots__ = ("consumer", "operand", "stored", "measured", "status", "note", "error")

    def __init__(
        self, consumer: Value, operand: int, stored: float, measured: float, status: str, note: str, error: float = 0.0
    ) -> None:
        self.consumer = consumer
        self.operand = operand
        self.stored = stored
        self.measured = measured
        self.status = status  # OK, KINK, EDGE or IMPRECISE
        self.note = note
        self.error = error

    @property
    def used(self) -> float:
        """The derivative the reference uses: the measured one, else the stored one."""
        return self.measured if self.status == OK else self.stored


def _measure(names: Names, node: Value, operand: int, eps: float, atol: float, rtol: float) -> _Measured:
    """d node/d (its operand ``operand``) by central differences of the node's op alone, judged against
    the stored local derivative as ``_settle`` does."""
    values = [p.data for p in node.parents]
    stored = node.local_grads[operand]
    x0 = values[operand]
    relu = node.op == "relu"

    def difference(h: float) -> tuple[float, object, float, float]:
        up, down = x0 + h, x0 - h
        try:
            values[operand] = up
            f_up = recompute(node, values)[0]
            values[operand] = down
            f_down = recompute(node, values)[0]
        finally:
            values[operand] = x0
        kink = node if relu and (up > 0.0) != (down > 0.0) else None
        return (f_up - f_down) / (up - down), kink, f_up, f_down

    where = f" in operand {operand + 1} of {names.name(node)}"
    verdict = _settle(stored, x0, eps, atol, rtol, difference, where)
    if verdict.status == KINK:
        return _Measured(node, operand, stored, verdict.numeric, KINK, _kink_note(names, node, node.parents[operand]))
    if verdict.status in (EDGE, IMPRECISE):
        note = f"{names.name(node)} = {names.definition(node)}, operand {operand + 1}: {verdict.note}"
        return _Measured(node, operand, stored, math.nan, verdict.status, note if verdict.status == IMPRECISE else verdict.note)
    return _Measured(node, operand, stored, verdict.numeric, OK, "", verdict.error)


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
    # How far off each reference may be: the measured derivatives' errors, carried by the chain rule.
    # Where terms cancel (x / x at x = 1e-8: 1e8 - 1e8), this can exceed the tolerance.
    spread = dict.fromkeys(order, 0.0)
    uses: dict[Value, list[_Measured]] = {node: [] for node in order}
    # A reference that rests on a derivative that could not be measured (a kink, a domain edge, no
    # precise step) is not an independent check: the first such reason is kept for each node it reaches.
    unverified: dict[Value, tuple[str, str]] = {}
    # The chain rule from the root down, in the order backward uses, with measured derivatives.
    for node in reversed(order):
        parents = node.parents
        if not parents:
            continue
        upstream = reference[node]
        reason = unverified.get(node)
        for i, parent in enumerate(parents):
            use = _measure(names, node, i, eps, atol, rtol)
            uses[parent].append(use)
            reference[parent] += upstream * use.used
            spread[parent] += abs(upstream) * use.error + spread[node] * abs(use.used)
            if parent not in unverified:
                if use.status != OK:
                    unverified[parent] = (use.status, use.note)
                elif reason is not None and use.measured != 0.0:
                    unverified[parent] = reason

    rows = []
    for node in targets:
        analytic = node.grad if analytic_of is None else analytic_of[node]
        numeric, error = reference[node], spread[node]
        if not error >= 0.0:  # NaN: unknown
            error = math.inf
        tolerance = atol + rtol * abs(numeric)
        agrees = close(analytic, numeric, atol, rtol)
        if node in unverified and (agrees or abs(analytic - numeric) <= tolerance + error):
            status, note = unverified[node]
        elif abs(analytic - numeric) > tolerance + error:
            status, note = FAIL, _wrong_partials(names, uses[node], atol, rtol)
        elif error > tolerance:
            status = IMPRECISE
            note = (
                f"the measured local derivatives give {num(numeric, 10)} only to within {num(error, 3)}, more than "
                f"the tolerance {num(tolerance, 3)}: terms of the chain rule cancel (a mode='end-to-end' check "
                f"measures this node directly)"
            )
            numeric = math.nan  # no number to show as the reference: the note gives the estimate and its error
        else:
            status, note = OK, ""
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
