"""Check gradients node by node: against central differences, against your own derivation, and explained.

After ``root.backward()`` every node of the graph holds ``.grad == d root / d node``. Three tools check
those numbers one node at a time, which is what someone deriving backpropagation by hand needs:

``gradcheck(root)``
    For every node, leaves and intermediate nodes alike, the derivative of the root with respect to
    that node by a central difference: the node's value is nudged by ``+h`` and ``-h`` and the graph
    is replayed downstream of it (``autograd.replay``), then every value is put back bit for bit.
``compare(root, expected)``
    Your hand-derived numbers, keyed by label or by node (or arrays of nodes against arrays of
    numbers, for a layer's weights), against ``.grad``.
``explain(node, root)``
    ``d root/d node`` as the chain rule computes it: one term ``d root/d c * d c/d node`` per consumer
    ``c``, with the consumer's op, the formula of its local derivative and the numbers.

Both ``gradcheck`` and ``compare`` return a ``CheckReport``: rows in a table (``print`` it, or let
Jupyter show its HTML), ``.ok``, ``.failures`` and a one-line ``.summary``.

    >>> from autograd import Value
    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> E = (x * w).tanh()
    >>> E.backward()
    >>> gradcheck(E).ok
    True
    >>> compare(E, {"x": -3 * (1 - math.tanh(-6.0) ** 2)}).ok
    True

Nodes without a label are named by their position in ``topological_order(root)``: ``#3`` is the
fourth node made. Constants are shown by their value in definitions (``x * 2``).
"""

from __future__ import annotations

import difflib
import html
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, Union

from .engine import Value, describe, topological_order
from .graph import replay

__all__ = [
    "gradcheck",
    "compare",
    "explain",
    "find_node",
    "CheckReport",
    "CheckRow",
    "Explanation",
    "ChainTerm",
    "GradientCheckError",
    "BackwardNeededError",
    "LabelError",
]

# Row statuses. Only FAIL makes a row (and the report) not ok.
OK = "ok"
FAIL = "fail"
KINK = "nondifferentiable"
EDGE = "domain-edge"


class GradientCheckError(AssertionError):
    """Raised by ``gradcheck`` and ``compare`` with ``raise_exception=True`` when a node disagrees.

    An ``AssertionError``, so that it reads as a failed check in a test; ``.report`` holds the whole
    ``CheckReport`` and the message lists every failing row.
    """

    def __init__(self, message: str, report: CheckReport) -> None:
        super().__init__(message)
        self.report = report


class BackwardNeededError(RuntimeError):
    """The graph's gradients are not those of a backward pass from the root that was given."""


class LabelError(KeyError):
    """A key of ``compare`` (or a name for ``find_node``) names no node, or names several.

    A ``KeyError`` whose message prints as written (``KeyError`` would show it in quotes).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# ---------------------------------------------------------------------------------------------------
# Naming nodes in tables, messages and derivations
# ---------------------------------------------------------------------------------------------------
class _Names:
    """Readable names for the nodes of one graph: the label, else ``#i`` (position in the order)."""

    def __init__(self, order: Sequence[Value], root: Value) -> None:
        self.order = order
        self.root = root
        self.position = {node: i for i, node in enumerate(order)}
        self.by_label: dict[str, list[Value]] = {}
        for node in order:
            if node.label:
                self.by_label.setdefault(node.label, []).append(node)
        # An unlabelled root is "f" (or "root", if a node is labelled "f"), as in df/dx.
        self._root_name = root.label or ("root" if any(node.label == "f" for node in order) else "f")

    def name(self, node: Value) -> str:
        if node is self.root:
            return self._root_name
        return node.label or f"#{self.position[node]}"

    def root_name(self) -> str:
        return self._root_name

    def operand(self, node: Value) -> str:
        """How a node reads as an operand: an unlabelled constant is its number."""
        if node.role == "constant" and not node.label:
            return _num(node.data)
        return self.name(node)

    def definition(self, node: Value) -> str:
        """``#5 = h * w``'s right-hand side: ``h * w``; a leaf's role ("input", "parameter", ...)."""
        if not node.parents:
            return node.role
        args = [self.operand(p) for p in node.parents]
        op = node.op
        if op in ("+", "*") and len(args) == 2:
            return f"{args[0]} {op} {args[1]}"
        if op == "pow" and len(args) == 2:
            return f"{args[0]} ** {args[1]}"
        if op.startswith("**") and len(args) == 1:
            return f"{args[0]}{op}"
        return f"{op}({', '.join(args)})"

    def consumers(self) -> dict[Value, list[Value]]:
        """Each node's consumers within this graph, in creation order, each listed once."""
        found: dict[Value, list[Value]] = {node: [] for node in self.order}
        for node in self.order:
            for parent in dict.fromkeys(node.parents):  # x * x consumes x once
                found[parent].append(node)
        return found


def _num(x: float, digits: int = 6) -> str:
    """A number with ``digits`` significant digits; small values keep their exponent (``3.2e-11``)."""
    if x != x:
        return "-"
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


def _err(x: float) -> str:
    return "-" if x != x else f"{x:.2g}"


def _paren(text: str) -> str:
    """Parenthesize a negative number written after an operator: ``0.5 * (-3)``."""
    return f"({text})" if text.startswith("-") else text


# ---------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CheckRow:
    """One node's verdict.

    Attributes:
        node: the node checked.
        index: its position in ``topological_order(root)`` (``#index`` names an unlabelled node).
        name: its label, or ``#index``.
        definition: how it was made, such as ``h * w``, or its role for a leaf.
        value: its ``.data`` when checked.
        analytic: its ``.grad`` (d root / d node from backward).
        numeric: the reference: the central difference for ``gradcheck``, your number for
            ``compare``; NaN when it could not be computed (a domain edge).
        abs_err: ``|analytic - numeric|``.
        rel_err: ``abs_err / max(|analytic|, |numeric|)``, 0 when both are 0.
        status: "ok", "fail", "nondifferentiable" (a nudge crosses relu's kink) or "domain-edge"
            (a nudge leaves the domain of an op, such as log of a value pushed below 0).
        note: why a row was skipped ("" otherwise).
        key: for ``compare``, the key the number was given by (``'w'``, ``[1, 0]``); "" for gradcheck.
        consumers: the names of the nodes that use this node, with their definitions.
        kind: "gradcheck" or "compare".
        root_name: the name of the root, for messages (``dE/dw``).
    """

    node: Value
    index: int
    name: str
    definition: str
    value: float
    analytic: float
    numeric: float
    abs_err: float
    rel_err: float
    status: str
    note: str
    key: str
    consumers: tuple[str, ...]
    kind: str
    root_name: str

    @property
    def label(self) -> str:
        """The node's label ("" if it has none)."""
        return self.node.label

    @property
    def op(self) -> str:
        """The node's op ("" for a leaf)."""
        return self.node.op

    @property
    def ok(self) -> bool:
        """False only for a failure; skipped rows (nondifferentiable, domain edge) are ok."""
        return self.status != FAIL

    def message(self) -> str:
        """The row in words: names the node, its op, both numbers and its consumers."""
        what = f"op {self.op!r}" if self.op else f"{self.node.role} leaf"
        if self.name.startswith("#") and not self.label:
            where = f"node {self.name}"
        else:
            where = f"node {self.name!r} (#{self.index})"
        if self.op:
            where += f" = {self.definition}"
        where += f" ({what}, value {_num(self.value)})"
        if self.kind == "compare":
            numbers_ = (
                f"you expected {_d(self.root_name, self.name)} = {_num(self.numeric, 10)} but .grad = "
                f"{_num(self.analytic, 10)}"
            )
        else:
            numbers_ = f".grad = {_num(self.analytic, 10)} but the central difference gives {_num(self.numeric, 10)}"
        errors = f"abs err {_err(self.abs_err)}, rel err {_err(self.rel_err)}"
        users = "consumers: " + ("; ".join(self.consumers) if self.consumers else "none, it is the root")
        text = f"{where}: {numbers_} ({errors}); {users}"
        hint = self._accumulation_hint()
        if hint:
            text += f"; {hint}"
        if self.status in (KINK, EDGE):
            text += f" [{self.status}: {self.note}]"
        elif self.kind == "compare" and self.status == FAIL:
            text += "; explain(node, root) writes out the chain-rule terms of .grad"
        return text

    def _accumulation_hint(self) -> str:
        """A leaf whose .grad is a whole multiple of the truth was probably backward-ed several times."""
        if self.status != FAIL or self.kind != "gradcheck" or self.op or self.numeric == 0.0:
            return ""
        ratio = self.analytic / self.numeric
        if round(ratio) >= 2 and abs(ratio - round(ratio)) < 1e-3:
            return (
                f".grad is {round(ratio)} times the central difference: leaves accumulate gradients, "
                "so zero them (autograd.zero_grad(root)) before each backward()"
            )
        return ""


class CheckReport:
    """The rows of a ``gradcheck`` or ``compare``, in a table.

    Iterate over it for the rows (``CheckRow``); ``len(report)`` is the number of rows;
    ``report[i]``, ``report["w"]`` or ``report[node]`` picks one. ``str(report)`` is a plain-text
    table with the summary line under it; Jupyter shows an HTML table (failures in red, skipped rows
    in yellow).

    Attributes:
        kind: "gradcheck" or "compare".
        root: the root the gradients are of.
        rows: the rows: topological (creation) order for gradcheck, the order given for compare.
        eps, atol, rtol: the settings used (``eps`` is None for compare). A row passes when
            ``abs_err <= atol + rtol * |numeric|``.
    """

    def __init__(
        self, kind: str, root: Value, root_name: str, rows: list[CheckRow], eps: float | None, atol: float, rtol: float
    ) -> None:
        self.kind = kind
        self.root = root
        self.root_name = root_name
        self.rows = rows
        self.eps = eps
        self.atol = atol
        self.rtol = rtol

    def __iter__(self) -> Iterator[CheckRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: Union[int, str, Value]) -> CheckRow:
        if isinstance(key, numbers.Integral):
            return self.rows[int(key)]
        matches = [row for row in self.rows if (row.node is key if isinstance(key, Value) else row.name == key)]
        if len(matches) != 1:
            how = "no row" if not matches else f"{len(matches)} rows"
            raise LabelError(f"{how} for {key!r} in this report; rows: {', '.join(r.name for r in self.rows)}")
        return matches[0]

    @property
    def ok(self) -> bool:
        """True when no row failed (skipped rows do not count against it)."""
        return all(row.ok for row in self.rows)

    @property
    def failures(self) -> list[CheckRow]:
        """The failing rows."""
        return [row for row in self.rows if not row.ok]

    @property
    def skipped(self) -> list[CheckRow]:
        """Rows not judged: a nudge crossed relu's kink or left an op's domain."""
        return [row for row in self.rows if row.status in (KINK, EDGE)]

    @property
    def worst(self) -> CheckRow | None:
        """The compared row with the largest relative error, among rows whose gradient is larger than
        ``atol`` (smaller ones are judged by absolute error, and their relative error says little)."""
        judged = [r for r in self.rows if r.status in (OK, FAIL) and max(abs(r.analytic), abs(r.numeric)) > self.atol]
        return max(judged, key=lambda r: r.rel_err, default=None)

    @property
    def summary(self) -> str:
        """One line: how many nodes, how many disagree or were skipped, the worst relative error."""
        n = len(self.rows)
        if self.kind == "gradcheck":
            what = f"{n} node{'s' if n != 1 else ''} checked against central differences"
        else:
            what = f"{n} hand-derived gradient{'s' if n != 1 else ''} compared"
        parts = [f"{self.kind} of {self.root_name}: {what}"]
        failed = len(self.failures)
        parts.append(f"{failed} FAILED" if failed else "all agree")
        for status, words in ((KINK, "at relu's kink"), (EDGE, "at a domain edge")):
            count = sum(row.status == status for row in self.rows)
            if count:
                parts.append(f"{count} skipped ({status}: {words})")
        worst = self.worst
        if worst is not None:
            parts.append(f"worst relative error {_err(worst.rel_err)} at {worst.name}")
        else:
            parts.append("no gradient above atol to take a relative error of")
        return "; ".join(parts)

    def failure_message(self) -> str:
        """Every failing row in words, and what usually causes it."""
        lines = [self.summary]
        lines += ["  " + row.message() for row in self.failures]
        if self.kind == "gradcheck":
            lines.append(
                "  If the graph is right, check that backward() ran once from this root after the values "
                "last changed (autograd.zero_grad(root); root.backward())."
            )
        return "\n".join(lines)

    # -- display ------------------------------------------------------------------------------------
    def _columns(self) -> tuple[list[str], list[list[str]], list[bool]]:
        reference = "numeric" if self.kind == "gradcheck" else "expected"
        headers = ["#", "node", "definition", "value", "grad", reference, "abs err", "rel err", "status"]
        numeric_column = [True, False, False, True, True, True, True, True, False]
        # compare: show the keys as given when some were not just the node's label (array entries).
        given = self.kind == "compare" and any(row.key != repr(row.name) for row in self.rows)
        if given:
            headers.insert(2, "given as")
            numeric_column.insert(2, False)
        body = []
        for row in self.rows:
            definition = row.definition if len(row.definition) <= 28 else row.definition[:27] + "…"
            body.append(
                [
                    str(row.index),
                    row.name,
                    *([row.key] if given else []),
                    definition,
                    _num(row.value),
                    _num(row.analytic),
                    _num(row.numeric),
                    _err(row.abs_err),
                    _err(row.rel_err),
                    row.status.upper() if row.status == FAIL else row.status,
                ]
            )
        return headers, body, numeric_column

    def __str__(self) -> str:
        headers, body, right = self._columns()
        widths = [max(len(cell) for cell in column) for column in zip(headers, *body)]

        def line(cells: list[str]) -> str:
            return "  ".join(
                cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(cells, widths, right)
            ).rstrip()

        lines = [line(headers), line(["-" * w for w in widths])]
        lines += [line(cells) for cells in body]
        lines.append(self.summary)
        notes = [f"  {row.name}: {row.status}: {row.note}" for row in self.rows if row.status in (KINK, EDGE)]
        lines += notes
        lines += ["  " + row.message() for row in self.failures]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<CheckReport {self.summary}>"

    def _repr_html_(self) -> str:
        headers, body, right = self._columns()
        colour = {FAIL: "#f8d0d0", KINK: "#fff3c4", EDGE: "#fff3c4"}
        out = ['<table class="chainrule-check">', "<thead><tr>"]
        out += [
            f'<th style="text-align:{"right" if r else "left"}">{html.escape(h)}</th>' for h, r in zip(headers, right)
        ]
        out.append("</tr></thead><tbody>")
        for row, cells in zip(self.rows, body):
            style = f' style="background:{colour[row.status]}"' if row.status in colour else ""
            title = f' title="{html.escape(row.note)}"' if row.note else ""
            out.append(f"<tr{style}{title}>")
            out += [
                f'<td style="text-align:{"right" if r else "left"}"><code>{html.escape(c)}</code></td>'
                for c, r in zip(cells, right)
            ]
            out.append("</tr>")
        out.append("</tbody></table>")
        out.append(f"<p>{html.escape(self.summary)}</p>")
        if self.failures:
            items = "".join(f"<li>{html.escape(row.message())}</li>" for row in self.failures)
            out.append(f"<ul>{items}</ul>")
        return "".join(out)


# ---------------------------------------------------------------------------------------------------
# Shared checks of the arguments
# ---------------------------------------------------------------------------------------------------
# The root checked or explained last, so that ``explain(h)`` can find h's root (nodes do not record
# their consumers, so the root cannot be found from h itself).
_last_root: Value | None = None


def _require_value(root: object, function: str) -> Value:
    if not isinstance(root, Value):
        raise TypeError(f"{function}() needs the root Value of a graph, got {type(root).__name__}: {root!r}")
    return root


def _require_backward(root: Value, function: str) -> None:
    """The gradients must come from ``root.backward()``; the signal used is ``root.grad == 1``.

    ``backward`` sets the root's grad to exactly 1, and nothing else does: a graph never backward-ed
    has 0 there, and a backward from another node leaves d(that node)/d(root). Gradients made stale
    by later changes of ``.data`` cannot be told from wrong ones cheaply; gradcheck reports them as
    failures, with a hint.
    """
    if root.grad != 1.0:
        raise BackwardNeededError(
            f"{function}() needs the gradients of a backward pass from this root, but {describe(root)} has "
            f"grad {_num(root.grad)}, not 1 (after root.backward() it is exactly 1; a backward from another "
            "node leaves d(that node)/d(root) here). Call root.backward() first, after autograd.zero_grad(root) "
            "if leaves hold gradients from earlier passes."
        )


def _tolerances(atol: float, rtol: float, eps: float | None = None) -> None:
    for name, value in (("atol", atol), ("rtol", rtol)) + ((("eps", eps),) if eps is not None else ()):
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if eps is not None and not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")


def _row(
    names: _Names,
    consumers: dict[Value, list[Value]],
    node: Value,
    analytic: float,
    numeric: float,
    status: str,
    kind: str,
    note: str = "",
    key: str = "",
) -> CheckRow:
    abs_err = abs(analytic - numeric)
    scale = max(abs(analytic), abs(numeric))
    rel_err = abs_err / scale if scale > 0 else abs_err  # NaN stays NaN; 0 when both are 0
    users = tuple(f"{names.name(c)} = {names.definition(c)} (op {c.op!r})" for c in consumers[node])
    return CheckRow(
        node=node,
        index=names.position[node],
        name=names.name(node),
        definition=names.definition(node),
        value=node.data,
        analytic=analytic,
        numeric=numeric,
        abs_err=abs_err,
        rel_err=rel_err,
        status=status,
        note=note,
        key=key,
        consumers=users,
        kind=kind,
        root_name=names.root_name(),
    )


def _close(analytic: float, reference: float, atol: float, rtol: float) -> bool:
    return abs(analytic - reference) <= atol + rtol * abs(reference)  # False for NaN


def _finish(report: CheckReport, raise_exception: bool) -> CheckReport:
    if raise_exception and not report.ok:
        raise GradientCheckError(report.failure_message(), report)
    return report


# ---------------------------------------------------------------------------------------------------
# gradcheck
# ---------------------------------------------------------------------------------------------------
def gradcheck(
    root: Value,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
    nodes: Iterable[Union[Value, str]] | None = None,
) -> CheckReport:
    """Check every node's ``.grad`` against a central difference of the root.

    Call ``root.backward()`` first. For each node ``n`` (leaves, constants and intermediate nodes
    alike) with value ``x``, the step is ``h = eps * max(1, |x|)`` (relative for large values, so the
    nudge is never lost to rounding; absolute below 1). ``n`` is set to ``x + h`` and ``x - h``, the
    graph downstream of ``n`` is replayed (``autograd.replay(root, changed=[n])``: ``n`` keeps the
    nudged value even if it is an intermediate node), and the reference is
    ``(root(x + h) - root(x - h)) / ((x + h) - (x - h))``. Afterwards every node's value and local
    derivatives are put back exactly as they were (bit for bit), also if the check is interrupted.

    A row passes when ``|grad - numeric| <= atol + rtol * |numeric|``. Two kinds of rows are skipped
    (status set, ``.ok`` stays True) when they disagree:

    * "nondifferentiable": a nudge moves the input of a relu across 0 (its kink), where the engine
      takes relu's slope to be 0 and a central difference averages the two sides;
    * "domain-edge": a nudge leaves an op's domain (log of a value pushed to <= 0, an overflow), so
      the central difference does not exist; a smaller step ``eps * |x|`` is tried first.

    Args:
        root: the output whose gradients ``root.backward()`` computed.
        eps: relative step (see above).
        atol, rtol: absolute and relative tolerance.
        raise_exception: raise ``GradientCheckError`` (an AssertionError) naming every failing node
            instead of returning a report with failures.
        nodes: check only these nodes (Values or labels); all nodes of the graph if None.

    Returns:
        a ``CheckReport`` with one row per node, in topological (creation) order.

    Raises:
        BackwardNeededError: ``root.grad`` is not 1, so ``root.backward()`` has not been called
            (see ``_require_backward`` for the signal used).
    """
    global _last_root
    _require_value(root, "gradcheck")
    _tolerances(atol, rtol, eps)
    order = topological_order(root)
    _require_backward(root, "gradcheck")
    names = _Names(order, root)
    consumers = names.consumers()
    targets = order if nodes is None else _select(nodes, names)
    _last_root = root

    # Each node's central difference restores, from this copy, every value a replay may have changed.
    saved = [(node.data, node.local_grads) for node in order]
    relus = [(names.position[n], n) for n in order if n.op == "relu"]
    rows = []
    for node in targets:
        numeric, crossed, domain_error = _central_difference(root, node, order, names.position[node], saved, eps, relus)
        analytic = node.grad
        if domain_error is not None:
            status, note = EDGE, domain_error
        elif _close(analytic, numeric, atol, rtol):
            status, note = OK, ""
        elif crossed is not None:
            status = KINK
            note = (
                f"a nudge of {names.name(node)} moves the input of relu node {names.name(crossed)} across 0 "
                f"(input {_num(crossed.parents[0].data)}), where relu has no derivative"
            )
        else:
            status, note = FAIL, ""
        rows.append(_row(names, consumers, node, analytic, numeric, status, "gradcheck", note=note))
    report = CheckReport("gradcheck", root, names.root_name(), rows, eps, atol, rtol)
    return _finish(report, raise_exception)


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
    steps = [eps * max(1.0, abs(x0))]
    if 0.0 < abs(x0) < 1.0:
        steps.append(eps * abs(x0))  # a smaller step, in case the first one crosses a domain edge
    # Everything downstream of the node comes after it in the order, so replaying this tail is enough;
    # replay skips the tail's nodes that do not depend on the node.
    tail = order[position:]
    downstream_relus = [r for i, r in relus if i > position]
    base = [r.parents[0].data > 0.0 for r in downstream_relus]
    error = ""
    for h in steps:
        up, down = x0 + h, x0 - h
        try:
            f_up = _nudged(root, node, up, tail)
            crossed = _crossed_kink(downstream_relus, base)
            f_down = _nudged(root, node, down, tail)
            if crossed is None:
                crossed = _crossed_kink(downstream_relus, base)
        except (ArithmeticError, ValueError) as exc:  # replay is atomic: only node.data was changed
            error = f"a step of {_num(h, 3)} from {_num(x0)}: {exc}"
            continue
        finally:
            for j in range(position, len(order)):
                order[j].data, order[j].local_grads = saved[j]
        return (f_up - f_down) / (up - down), crossed, None
    return math.nan, None, error


def _nudged(root: Value, node: Value, value: float, order: list[Value]) -> float:
    node.data = value
    return replay(root, changed=(node,), order=order)


def _crossed_kink(relus: list[Value], base: list[bool]) -> Value | None:
    for relu, was_positive in zip(relus, base):
        if (relu.parents[0].data > 0.0) != was_positive:
            return relu
    return None


def _select(nodes: Iterable[Union[Value, str]], names: _Names) -> list[Value]:
    """The given nodes (or labels), in topological order, each once."""
    chosen = set()
    for key in nodes:
        if not isinstance(key, (str, Value)):
            raise TypeError(f"nodes must be Values or labels, got {type(key).__name__}: {key!r}")
        chosen.add(_lookup(key, names))
    return [node for node in names.order if node in chosen]


# ---------------------------------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------------------------------
def compare(
    root: Value,
    expected: Union[Mapping[Any, Any], Iterable[tuple[Any, Any]]],
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
) -> CheckReport:
    """Compare hand-derived gradients d root/d node with ``.grad``, one row per entry.

    Call ``root.backward()`` first. ``expected`` maps keys to your numbers; a key is

    * a label (``"w"``), or ``"#i"`` for the node at position ``i`` of ``topological_order(root)``
      (the names ``gradcheck``'s table shows for unlabelled nodes);
    * a node (a ``Value``);
    * an array of nodes (a numpy object array, or nested lists or tuples of Values or labels) with an
      array of numbers of the same shape: a layer's weight matrix against your dE/dW, for instance.
      Since lists and arrays cannot be dictionary keys, pass pairs for those:
      ``compare(E, [(W, dE_dW), ("b", 0.25)])``. (A tuple of nodes works as a dictionary key.)

    A row passes when ``|grad - expected| <= atol + rtol * |expected|``: the default ``rtol`` lets
    you write your numbers to 4 significant digits.

    Returns:
        a ``CheckReport`` with one row per number, in the order given (arrays row by row); each row's
        ``.numeric`` is your number and ``.key`` the key it came from.

    Raises:
        LabelError (a KeyError): a label that no node has (the message lists the labels there are), or
            one that several nodes share (pass the node, or ``"#i"``, instead).
        ValueError: a node outside the graph, an array of numbers of another shape, a node given twice,
            an empty ``expected``.
        TypeError: a number that is not a real number.
        BackwardNeededError: ``root.backward()`` has not been called.
        GradientCheckError: with ``raise_exception=True``, when a number disagrees.
    """
    global _last_root
    _require_value(root, "compare")
    _tolerances(atol, rtol)
    order = topological_order(root)
    _require_backward(root, "compare")
    names = _Names(order, root)
    consumers = names.consumers()
    items = expected.items() if isinstance(expected, Mapping) else expected
    pairs = list(items)
    entries: list[tuple[Value, float, str]] = []
    for number, pair in enumerate(pairs, start=1):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"compare() needs a mapping or (key, number) pairs, got the entry {pair!r}")
        entries += _entries(pair[0], pair[1], names, f"entry {number} " if len(pairs) > 1 else "")
    if not entries:
        raise ValueError("compare() got nothing to compare: expected is empty")
    seen: dict[Value, str] = {}
    for node, _, where in entries:
        if node in seen:
            raise ValueError(f"{describe(node)} is given twice, as {seen[node]} and as {where}")
        seen[node] = where
    _last_root = root
    rows = []
    for node, number, where in entries:
        status = OK if _close(node.grad, number, atol, rtol) else FAIL
        rows.append(_row(names, consumers, node, node.grad, number, status, "compare", key=where))
    report = CheckReport("compare", root, names.root_name(), rows, None, atol, rtol)
    return _finish(report, raise_exception)


def _entries(key: Any, number: Any, names: _Names, prefix: str) -> list[tuple[Value, float, str]]:
    """``(node, expected number, how the key was written)`` for one key of ``compare``; ``prefix`` names
    the entry in front of an array index (``[0, 1]``, or ``entry 2 [0, 1]`` when there are several)."""
    if isinstance(key, (str, Value)):
        node = _lookup(key, names)
        return [(node, _real(number, f"the number for {_key_text(key, names)}"), _key_text(key, names))]
    import numpy as np  # only for arrays of nodes; the engine itself does not need numpy

    try:
        keys = np.array(key, dtype=object)
    except ValueError as exc:
        raise ValueError(
            f"compare(): the key {key!r} is neither a label, a node nor a rectangular array: {exc}"
        ) from None
    if keys.ndim == 0:
        raise TypeError(
            f"compare() keys must be labels, nodes or arrays of them, got {type(key).__name__}: {key!r}"
        )
    try:
        values = np.asarray(number, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"the numbers for an array of {keys.size} nodes must be an array of numbers, got {number!r}"
        ) from None
    if values.shape != keys.shape:
        raise ValueError(
            f"compare(): an array of nodes of shape {keys.shape} needs numbers of the same shape, "
            f"got shape {values.shape}"
        )
    found = []
    for index in np.ndindex(keys.shape):
        element = keys[index]
        where = f"{prefix}[{', '.join(map(str, index))}]"
        if not isinstance(element, (str, Value)):
            kind = type(element).__name__
            raise TypeError(f"compare(): element {where} of an array key is {kind}, not a node or label")
        node = _lookup(element, names)
        found.append((node, _real(values[index], f"the number for {where}"), where))
    return found


def _key_text(key: Union[str, Value], names: _Names) -> str:
    return repr(key) if isinstance(key, str) else names.name(key) if key in names.position else describe(key)


def _real(x: Any, what: str) -> float:
    if not isinstance(x, numbers.Real) or isinstance(x, bool):
        raise TypeError(f"{what} must be a real number, got {type(x).__name__}: {x!r}")
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value}")
    return value


def _lookup(key: Union[str, Value], names: _Names) -> Value:
    if isinstance(key, Value):
        if key not in names.position:
            raise ValueError(f"{describe(key)} is not part of the graph of {describe(names.root)}")
        return key
    return _find(key, names)


def find_node(root: Value, name: str) -> Value:
    """The one node of ``root``'s graph labelled ``name``, or at position ``i`` for ``"#i"``.

    Raises:
        LabelError: no node has that label (the message lists the labels there are, closest first),
            or several do (pass the node itself, or its ``"#i"`` from gradcheck's table).
    """
    if not isinstance(name, str):
        raise TypeError(f"a node name must be a str, got {type(name).__name__}: {name!r}")
    return _find(name, _Names(topological_order(_require_value(root, "find_node")), root))


def _find(name: str, names: _Names) -> Value:
    matches = names.by_label.get(name, [])
    if len(matches) == 1:
        return matches[0]
    if matches:
        positions = [f"#{names.position[m]}" for m in matches]
        raise LabelError(
            f"the label {name!r} is used by {len(matches)} nodes ({', '.join(positions)}); pass the node "
            f"itself (or its position, such as {positions[0]!r}) to say which one"
        )
    order = names.order
    if name.startswith("#") and name[1:].isdigit() and int(name[1:]) < len(order):
        return order[int(name[1:])]
    labels = sorted(names.by_label)
    if not labels:
        there = "no node of this graph has a label; use '#i' (the position in gradcheck's table) or the node"
    else:
        close = difflib.get_close_matches(name, labels, n=3)
        shown = labels if len(labels) <= 40 else labels[:40] + [f"... ({len(labels) - 40} more)"]
        suggestion = f"did you mean {', '.join(map(repr, close))}? " if close else ""
        there = f"{suggestion}labels in this graph: {', '.join(shown)}"
    raise LabelError(f"no node labelled {name!r} in the graph of {describe(names.root)}; {there}")


# ---------------------------------------------------------------------------------------------------
# explain
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ChainTerm:
    """One term ``d root/d consumer * d consumer/d node`` of the chain rule.

    Attributes:
        consumer: the node that uses ``node`` as an operand.
        operand: which operand (0 or 1) ``node`` is; ``x * x`` gives two terms.
        op: the consumer's op.
        upstream: ``consumer.grad``, d root/d consumer.
        local: the consumer's stored local derivative ``d consumer/d node``.
        formula: the local derivative's formula in the operands' names (``w``, ``1 - tanh(h)^2``).
        substituted: the same formula with the numbers put in.
        latex, latex_substituted: the two in LaTeX.
    """

    consumer: Value
    operand: int
    op: str
    upstream: float
    local: float
    formula: str
    substituted: str
    latex: str
    latex_substituted: str

    @property
    def value(self) -> float:
        """The term's number: ``upstream * local``."""
        return self.upstream * self.local


class Explanation:
    """d root/d node as the chain rule's sum over the node's consumers; ``str()`` is plain text, and
    Jupyter shows Markdown with the equations in LaTeX (``latex()`` gives the equations alone).

    Attributes:
        node, root: the node explained and the root the derivative is of.
        kind: "root" (d root/d root = 1, nothing to sum), "leaf" or "operation".
        terms: the ``ChainTerm``s, consumers in creation order.
        total: the sum of the terms (1 for the root), added in the order backward adds them.
        grad: the node's ``.grad`` now.
        agrees: whether ``total`` matches ``grad`` (False when gradients are stale, accumulated over
            several backward passes, or tampered with).
    """

    def __init__(self, node: Value, root: Value, terms: list[ChainTerm], total: float, names: _Names) -> None:
        self.node = node
        self.root = root
        self.terms = terms
        self.total = total
        self.grad = node.grad
        self.kind = "root" if node is root else ("leaf" if not node.parents else "operation")
        self.agrees = math.isclose(total, node.grad, rel_tol=1e-9, abs_tol=1e-12)
        self._names = names
        self._name = names.name(node)
        self._root = names.root_name()

    def _which(self, term: ChainTerm) -> str:
        """", operand 2" when the consumer uses the node more than once (``x * x``)."""
        return f", operand {term.operand + 1}" if term.consumer.parents.count(self.node) > 1 else ""

    def _consumer_text(self, term: ChainTerm) -> str:
        c = term.consumer
        return f"{self._names.name(c)} = {self._names.definition(c)}  (op {c.op!r}{self._which(term)})"

    def _note(self) -> str:
        if self.kind == "root":
            return f"{self._name} is the root: {_d(self._root, self._root)} = 1, where backward starts."
        if self.kind == "leaf":
            return (
                f"{self._name} is a leaf ({self.node.role}): the chain rule stops here. A leaf's .grad accumulates "
                "over backward passes, so it equals this sum after one pass from zero."
            )
        return f"explain(c) expands a consumer's {_d(self._root, 'c')} one step closer to the root."

    def _check(self) -> str:
        if self.agrees:
            return f"{self._name}.grad = {_num(self.grad)}: agrees with the sum."
        return (
            f"{self._name}.grad = {_num(self.grad)} DIFFERS from the sum {_num(self.total)}: the gradients are stale "
            "(values changed since backward), accumulated over several backward passes, from another root, "
            "or changed by hand."
        )

    def __str__(self) -> str:
        r, n = self._root, self._name
        if self.kind == "root":
            return f"{_d(r, n)} = 1\n  {self._note()}\n  {self._check()}"
        count = f"{len(self.terms)} term{'s' if len(self.terms) != 1 else ''}"
        lines = [f"{_d(r, n)} = sum over the consumers c of {n} of {_d(r, 'c')} * {_d('c', n)}   ({count})"]
        for term in self.terms:
            c = self._names.name(term.consumer)
            upstream = _paren(_num(term.upstream))
            steps = [f"{_d(r, c)} * {_d(c, n)}", f"{upstream} * {_group(term.formula)}"]
            for form in (_group(term.substituted), _paren(_num(term.local))):
                if f"{upstream} * {form}" not in steps:
                    steps.append(f"{upstream} * {form}")
            lines.append(f"  via {self._consumer_text(term)}:")
            lines.append(f"      {' = '.join(steps)} = {_num(term.value)}")
        if len(self.terms) > 1:
            summed = " + ".join(_paren(_num(t.value)) for t in self.terms)
            lines.append(f"  {_d(r, n)} = {summed} = {_num(self.total)}")
        else:
            lines.append(f"  {_d(r, n)} = {_num(self.total)}")
        lines.append(f"  {self._check()}")
        lines.append(f"  {self._note()}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Explanation {_d(self._root, self._name)} = {_num(self.total)} over {len(self.terms)} terms>"

    def latex(self) -> str:
        """The derivation as a LaTeX ``aligned`` block (no surrounding ``$$``)."""
        r, n = _latex_name(self._root), _latex_name(self._name)
        if self.kind == "root":
            return rf"\begin{{aligned}} {_partial(r, n)} &= 1 \end{{aligned}}"
        consumers = [_latex_name(self._names.name(t.consumer)) for t in self.terms]
        general = " + ".join(rf"{_partial(r, c)}\,{_partial(c, n)}" for c in consumers)
        symbolic = " + ".join(rf"{_latex_num(t.upstream)} \cdot {_latex_group(t.latex)}" for t in self.terms)
        numbers_ = " + ".join(rf"{_latex_num(t.upstream)} \cdot {_latex_num(t.local)}" for t in self.terms)
        lines = [rf"{_partial(r, n)} &= {general}"]
        for step in (symbolic, numbers_):  # a step that reads the same as the one before is left out
            if step != lines[-1].split("&= ", 1)[-1]:
                lines.append(rf"&= {step}")
        lines.append(rf"&= {_latex_num(self.total, paren=False)}")
        return r"\begin{aligned} " + r" \\ ".join(lines) + r" \end{aligned}"

    def _repr_markdown_(self) -> str:
        r, n = _latex_name(self._root), _latex_name(self._name)
        out = [f"$$ {self.latex()} $$", ""]
        for term in self.terms:
            c = _latex_name(self._names.name(term.consumer))
            steps = [term.latex]  # the formula, with the numbers put in, and its value: each once
            for step in (term.latex_substituted, _latex_num(term.local, paren=False)):
                if step not in steps:
                    steps.append(step)
            out.append(
                f"- via ${c} =$ `{self._names.definition(term.consumer)}` (op `{term.op}`{self._which(term)}): "
                rf"${_partial(c, n)} = {' = '.join(steps)}$ and "
                rf"${_partial(r, c)} = {_latex_num(term.upstream, paren=False)}$"
            )
        out += ["", _markdown_text(self._check()), "", _markdown_text(self._note())]
        if any(name.startswith("#") for name in [self._name] + [self._names.name(t.consumer) for t in self.terms]):
            out += ["", r"(An unlabelled node is $v_i$ here and \#i in gradcheck's table.)"]
        return "\n".join(out)


def _d(top: str, bottom: str) -> str:
    """``dE/dh`` in text; a name that is not a plain identifier is put in parentheses: ``dE/d(#5)``."""

    def part(name: str) -> str:
        return name if name.isidentifier() else f"({name})"

    return f"d{part(top)}/d{part(bottom)}"


def _partial(top: str, bottom: str) -> str:
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def _markdown_text(text: str) -> str:
    """Plain text in Markdown: escape the characters Markdown would read as emphasis or headings."""
    for ch in ("\\", "*", "_", "#", "`", "$"):
        text = text.replace(ch, "\\" + ch)
    return text


def _latex_name(name: str) -> str:
    """A node name in math: one letter as is, ``x1`` as ``x_{1}``, ``#5`` as ``v_{5}``, else upright."""
    if name.startswith("#") and name[1:].isdigit():
        return f"v_{{{name[1:]}}}"
    if len(name) == 1 and name.isalpha():
        return name
    if len(name) > 1 and name[0].isalpha() and name[1:].isdigit():
        return f"{name[0]}_{{{name[1:]}}}"
    return r"\mathrm{" + "".join(_LATEX_SPECIAL.get(ch, ch) for ch in name) + "}"


_LATEX_SPECIAL = {
    "\\": r"\backslash{}", "_": r"\_", "#": r"\#", "%": r"\%", "&": r"\&",
    "$": r"\$", "{": r"\{", "}": r"\}", "^": r"\^{}", "~": r"\~{}",
}  # fmt: skip


def _latex_num(x: float, paren: bool = True) -> str:
    """A number in LaTeX (``3.2 \\times 10^{-11}``), in parentheses if negative and ``paren``."""
    text = _num(x)
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return f"({text})" if paren and text.startswith("-") else text


def _latex_group(text: str) -> str:
    """Parenthesize a formula that is a sum or difference, so that it can be multiplied."""
    return f"\\left({text}\\right)" if _is_sum(text) else text


def _group(text: str) -> str:
    """Parenthesize a formula that is a sum or difference, or a negative number, before ``x * ``."""
    return f"({text})" if _is_sum(text) or text.startswith("-") else text


def _is_sum(text: str) -> bool:
    """Whether ``text`` has a `` + `` or `` - `` outside all brackets."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and ch in "+-" and text[i - 1 : i] == " " and text[i + 1 : i + 2] == " ":
            return True
    return False


# The local derivative of each primitive, d consumer/d operand, as a formula. Each entry is called with
# the operands a, b, the consumer's value out and the constant exponent k, all already written as
# text, either as names or as numbers, so one table gives both the formula and its numbers. The text
# formulas are in the syntax of ``autograd.expr`` (relu's aside), so the tests evaluate them.
Formula = Callable[[str, str, str, str], str]
_TEXT: dict[str, tuple[Formula, ...]] = {
    "+": (lambda a, b, out, k: "1", lambda a, b, out, k: "1"),
    "*": (lambda a, b, out, k: b, lambda a, b, out, k: a),
    "**k": (lambda a, b, out, k: f"{k} * {a}" if _minus_one(k) == "1" else f"{k} * {a}**{_paren(_minus_one(k))}",),
    "pow": (lambda a, b, out, k: f"{b} * {a}**({b} - 1)", lambda a, b, out, k: f"{out} * log({a})"),
    "exp": (lambda a, b, out, k: out,),
    "log": (lambda a, b, out, k: f"1/{a}",),
    "sigmoid": (lambda a, b, out, k: f"{out} * (1 - {out})",),
    "tanh": (lambda a, b, out, k: f"1 - {out}**2",),
    "relu": (lambda a, b, out, k: f"(1 if {a} > 0 else 0)",),
}
_LATEX: dict[str, tuple[Formula, ...]] = {
    "+": (lambda a, b, out, k: "1", lambda a, b, out, k: "1"),
    "*": (lambda a, b, out, k: b, lambda a, b, out, k: a),
    "**k": (lambda a, b, out, k: rf"{k} \cdot {a}" if _minus_one(k) == "1" else rf"{k} \cdot {a}^{{{_minus_one(k)}}}",),
    "pow": (lambda a, b, out, k: rf"{b} \cdot {a}^{{{b} - 1}}", lambda a, b, out, k: rf"{out} \cdot \log {a}"),
    "exp": (lambda a, b, out, k: out,),
    "log": (lambda a, b, out, k: rf"\frac{{1}}{{{a}}}",),
    "sigmoid": (lambda a, b, out, k: rf"{out}\,(1 - {out})",),
    "tanh": (lambda a, b, out, k: rf"1 - {out}^{{2}}",),
    "relu": (lambda a, b, out, k: rf"\mathbb{{1}}[{a} > 0]",),
}
# How the consumer's value reads in the formula above, in terms of its operand a (and b).
_OUT_TEXT = {"exp": "exp({a})", "sigmoid": "sigmoid({a})", "tanh": "tanh({a})", "pow": "{a}**{b}"}
_OUT_LATEX = {"exp": "e^{{{a}}}", "sigmoid": r"\sigma({a})", "tanh": r"\tanh({a})", "pow": "{a}^{{{b}}}"}


def _minus_one(k: str) -> str:
    """``k - 1`` written as a number, for a ``k`` given as text."""
    return _num(float(k) - 1.0)


def _formulas(consumer: Value, operand: int, names: _Names) -> tuple[str, str, str, str]:
    """``(formula, substituted, latex, latex_substituted)`` of d consumer/d (its operand ``operand``)."""
    op = consumer.op
    key = "**k" if op.startswith("**") else op
    local = consumer.local_grads[operand]
    if key not in _TEXT or operand >= len(_TEXT[key]):  # an op this table does not know yet
        return "(stored local derivative)", _num(local), r"\text{stored}", _latex_num(local)
    text_rule, latex_rule = _TEXT[key][operand], _LATEX[key][operand]
    k = op[2:] if key == "**k" else ""
    a = consumer.parents[0]
    b = consumer.parents[1] if len(consumer.parents) > 1 else None

    # the formula, in the operands' names
    a_text = names.operand(a)
    b_text = names.operand(b) if b is not None else ""
    a_tex, b_tex = _latex_operand(a_text), _latex_operand(b_text)
    formula = text_rule(a_text, b_text, _OUT_TEXT.get(key, "").format(a=a_text, b=b_text), k)
    latex = latex_rule(a_tex, b_tex, _OUT_LATEX.get(key, "").format(a=a_tex, b=b_tex), k)

    # the same, with the numbers put in
    b_value = b.data if b is not None else math.nan
    substituted = text_rule(_paren(_num(a.data)), _paren(_num(b_value)), _paren(_num(consumer.data)), k)
    latex_substituted = latex_rule(_latex_num(a.data), _latex_num(b_value), _latex_num(consumer.data), k)
    if key == "relu":
        verdict = "1" if local else "0"
        positive = a.data > 0
        text_relation, latex_relation = (">", ">") if positive else ("<=", r"\le")
        substituted = f"{verdict} (since {_paren(_num(a.data))} {text_relation} 0)"
        latex_substituted = rf"{verdict}\ (\text{{since }} {_latex_num(a.data)} {latex_relation} 0)"
    return formula, substituted, latex, latex_substituted


def _latex_operand(text: str) -> str:
    """An operand's name in LaTeX; a constant's number stays as it is."""
    if not text:
        return ""
    try:
        float(text)
    except ValueError:
        return _latex_name(text)
    return text


def explain(node: Value, root: Value | None = None) -> Explanation:
    """d root/d node written out as the chain rule computes it.

    ``d root/d node = sum over the consumers c of node of (d root/d c) * (d c/d node)``: one term per
    use of ``node`` (``x * x`` uses ``x`` twice, so two terms), each with the consumer's op, the
    formula of its local derivative (from a table of the primitives' derivatives), the numbers put in
    it, and ``c.grad``. The terms are added in the order backward adds them, so after one backward
    pass their sum equals ``node.grad``; the explanation says whether it does. For the root it says
    d root/d root = 1; for a leaf, that the chain rule stops there.

    Args:
        node: the node whose gradient to explain.
        root: the output the gradient is of; call ``root.backward()`` first. If None, the root last
            given to ``gradcheck``, ``compare`` or ``explain`` is used when ``node`` is in its graph
            (nodes do not record their consumers, so the root cannot be found from ``node``);
            otherwise pass it.

    Raises:
        ValueError: no root given and none remembered whose graph holds ``node``; or ``node`` is not
            in ``root``'s graph.
        BackwardNeededError: ``root.backward()`` has not been called.
    """
    global _last_root
    if not isinstance(node, Value):
        raise TypeError(f"explain() needs a Value, got {type(node).__name__}: {node!r}")
    if root is None:
        if _last_root is not None and node in set(topological_order(_last_root)):
            root = _last_root
        else:
            raise ValueError(
                f"explain() needs to know which root's gradient to explain for {describe(node)}: pass it, as in "
                "explain(node, root=E) (nodes do not record their consumers, so the root cannot be found from the node)"
            )
    _require_value(root, "explain")
    order = topological_order(root)
    names = _Names(order, root)
    if node not in names.position:
        raise ValueError(f"{describe(node)} is not part of the graph of {describe(root)}")
    _require_backward(root, "explain")
    _last_root = root
    terms = []
    for consumer in order:
        for i, parent in enumerate(consumer.parents):
            if parent is node:
                upstream, local = consumer.grad, consumer.local_grads[i]
                terms.append(ChainTerm(consumer, i, consumer.op, upstream, local, *_formulas(consumer, i, names)))
    if node is root:
        total = 1.0
    else:
        # Added in the order backward adds them (consumers from the last made, operands left to
        # right), so that after one backward pass the total is node.grad to the last bit.
        total = 0.0
        for term in sorted(terms, key=lambda t: names.position[t.consumer], reverse=True):
            total += term.local * term.upstream
    return Explanation(node, root, terms, total, names)
