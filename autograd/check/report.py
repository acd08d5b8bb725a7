"""The verdicts of ``gradcheck``, ``compare``, ``compare_torch`` and ``grade``: one ``CheckRow`` per node, gathered in a ``CheckReport``
that prints as a table (text, or HTML in Jupyter), and the argument checks the tools share."""

from __future__ import annotations

import html
import math
import numbers
import sys
from dataclasses import dataclass
from typing import Iterator, Union

from ..engine import HAND_SET, Value, describe, topological_order
from .naming import LabelError, Names, d, err, num
from .staleness import StaleGraph, find_replayed_grads, find_stale_grads, find_stale_values

# Row statuses. Only FAIL and DIFFERS make a row (and the report) not ok.
OK = "ok"
FAIL = "fail"
KINK = "nondifferentiable"
EDGE = "domain-edge"
IMPRECISE = "imprecise"
SKIPPED = (KINK, EDGE, IMPRECISE)
SHOWN_HAND = 6  # how many hand-set nodes a message names
UNANSWERED = "unanswered"  # grade: a node whose grad was not set by hand
# compare_torch's verdicts: the same value and gradient to the last bit, within tolerance, or not.
EXACT = "exact"
CLOSE = "close"
DIFFERS = "differs"
FAILED = (FAIL, DIFFERS)

# The smallest step that survives rounding: for eps below the float spacing at 1, x + eps * x == x.
EPS_MIN = sys.float_info.epsilon
# The largest: beyond it a central difference measures a secant, not a derivative.
EPS_MAX = 0.1


class GradientCheckError(AssertionError):
    """Raised by ``gradcheck`` and ``compare`` with ``raise_exception=True`` when a node disagrees or
    the graph is stale.

    An ``AssertionError``, so that it reads as a failed check in a test; ``.report`` holds the whole
    ``CheckReport`` and the message lists every failing row (or says why the graph is stale).
    """

    def __init__(self, message: str, report: CheckReport) -> None:
        super().__init__(message)
        self.report = report


class BackwardNeededError(RuntimeError):
    """The graph's gradients are not those of a backward pass from the root that was given."""


@dataclass(frozen=True, eq=False)
class CheckRow:
    """One node's verdict.

    Attributes:
        node: the node checked.
        index: its position in ``topological_order(root)`` (``#index`` names an unlabelled node).
        name: its label, or ``#index``.
        definition: how it was made, such as ``h * w``, or its role for a leaf.
        value: its ``.data`` when checked.
        analytic: its ``.grad`` (d root / d node from backward; for ``grade`` the number you set by
            hand, NaN when unanswered).
        numeric: the reference: for ``gradcheck`` a central difference (see ``method``), for
            ``compare`` your number, for ``compare_torch`` torch's gradient, for ``grade`` the true
            d root / d node (NaN, hidden, when unanswered); NaN when it could not be computed (a
            domain edge) or not to the tolerance (imprecise: the note says what the steps gave).
        abs_err: ``|analytic - numeric|``.
        rel_err: ``abs_err / max(|analytic|, |numeric|)``, 0 when both are 0.
        status: "ok", "fail", "nondifferentiable" (a nudge crosses relu's kink), "domain-edge"
            (a nudge leaves the domain of an op, such as log of a value pushed below 0), "imprecise"
            (no step measures the derivative to the tolerance: rounding of large values blurs the
            small steps, and the large ones measure a secant); for ``grade`` "unanswered" (no grad
            set by hand); for ``compare_torch`` "exact" (value and gradient equal to the last bit),
            "close" (both within tolerance) or "differs".
        note: why a row was skipped, or what a local check found wrong; for a wrong ``grade`` row the
            hint (the chain-rule sum with your upstream numbers); "" otherwise.
        key: for ``compare``, the key the number was given by (``'w'``, ``[1, 0]``); "" for gradcheck.
        consumers: the names of the nodes that use this node, with their definitions.
        kind: "gradcheck", "compare" or "grade".
        root_name: the name of the root, for messages (``dE/dw``).
        method: for gradcheck, "end-to-end" or "local" (see ``gradcheck``); "" for compare.
        routes: for ``routes``, ``(route, number)`` for each route that ran, in the report's column
            order (NaN where a route has no number for this node); () for the other tools. Then
            ``analytic`` is the backward route's number and ``numeric`` the route that disagrees with
            it most.
        reference_value: for ``compare_torch``, torch's value of the node (NaN for the others).
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
    method: str = ""
    routes: tuple[tuple[str, float], ...] = ()
    reference_value: float = math.nan

    @property
    def value_err(self) -> float:
        """``|value - reference_value|``: for ``compare_torch``, how far torch's value is from ours."""
        return abs(self.value - self.reference_value)

    @property
    def max_diff(self) -> float:
        """The larger of the value's and the gradient's absolute differences (``compare_torch``)."""
        return max(self.value_err, self.abs_err)

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
        """False only for a failure ("fail", or "differs" for compare_torch); skipped rows
        (nondifferentiable, domain edge) and unanswered ones are ok."""
        return self.status not in FAILED

    @property
    def verdict(self) -> str:
        """For ``grade``: "right", "wrong" or "unanswered"; for ``compare_torch`` "exact", "close" or "differs";
        for the others "ok", "fail" or the skip status."""
        if self.kind == "grade":
            return {OK: "right", FAIL: "wrong"}.get(self.status, self.status)
        return self.status

    def message(self) -> str:
        """The row in words: names the node, its op, both numbers and its consumers."""
        what = f"op {self.op!r}" if self.op else f"{self.node.role} leaf"
        if self.name.startswith("#") and not self.label:
            where = f"node {self.name}"
        else:
            where = f"node {self.name!r} (#{self.index})"
        if self.op:
            where += f" = {self.definition}"
        where += f" ({what}, value {num(self.value)})"
        grad, reference = num(self.analytic, 10), num(self.numeric, 10)
        if self.kind == "compare_torch":
            # every digit (the shortest repr that reads back the same float): the difference may be in the last
            ours, theirs, grad, reference = (repr(float(x)) for x in (self.value, self.reference_value, self.analytic, self.numeric))
            differences = f"differences: value {err(self.value_err)}, grad {err(self.abs_err)}"
            users = "consumers: " + ("; ".join(self.consumers) if self.consumers else "none, it is the root")
            return (
                f"{where}: chainrule value {ours}, grad {grad}; torch value {theirs}, grad {reference} "
                f"({differences}); {users}"
            )
        if self.kind == "routes":
            others = [f"{route} {num(value, 10)}" for route, value in self.routes[1:] if value == value]
            numbers_ = f"backward gives {grad}, the other routes: {', '.join(others) or 'none ran'}"
        elif self.kind == "grade":
            if self.status == UNANSWERED:
                return f"{where}: unanswered ({self.note})"
            numbers_ = f"you set .grad = {grad}, the true ∂{_word(self.root_name)}/∂{_word(self.name)} is {reference}"
        elif self.kind == "compare":
            numbers_ = f"you expected {d(self.root_name, self.name)} = {reference} but .grad = {grad}"
        elif self.method == "local":
            numbers_ = f".grad = {grad} but the chain rule over central-difference local derivatives gives {reference}"
        else:
            numbers_ = f".grad = {grad} but the central difference gives {reference}"
        errors = f"abs err {err(self.abs_err)}, rel err {err(self.rel_err)}"
        users = "consumers: " + ("; ".join(self.consumers) if self.consumers else "none, it is the root")
        text = f"{where}: {numbers_} ({errors}); {users}"
        hint = self._accumulation_hint()
        if hint:
            text += f"; {hint}"
        if self.status in SKIPPED:
            text += f" [{self.status}: {self.note}]"
        elif self.note:
            text += f"; {self.note}"
        if self.kind == "compare" and self.status == FAIL:
            text += "; explain(node, root) writes out the chain-rule terms of .grad"
        return text

    def _accumulation_hint(self) -> str:
        """A leaf whose .grad is a whole multiple of the truth was probably backward-ed several times."""
        if self.status != FAIL or self.kind != "gradcheck" or self.op or not self.numeric:
            return ""
        ratio = self.analytic / self.numeric
        if round(ratio) >= 2 and abs(ratio - round(ratio)) < 1e-3:
            return (
                f".grad is {round(ratio)} times the reference: leaves accumulate gradients, "
                "so zero them (autograd.zero_grad(root)) before each backward()"
            )
        return ""


class CheckReport:
    """The rows of a ``gradcheck``, ``compare`` or ``compare_torch``, in a table.

    Iterate over it for the rows (``CheckRow``); ``len(report)`` is the number of rows;
    ``report[i]``, ``report["w"]`` or ``report[node]`` picks one. ``str(report)`` is a plain-text
    table with the summary line under it; Jupyter shows an HTML table (failures in red, skipped rows
    in yellow).

    A stale graph (values changed since backward, or gradients from another root's backward) is not
    checked: the report then has no rows, ``.ok`` is False, ``.stale`` says which nodes are stale and
    what to do, and that one message is what the report shows.

    Attributes:
        kind: "gradcheck", "compare", "compare_torch" or "grade" (your hand-set grads against the true ones).
        root: the root the gradients are of.
        rows: the rows: in ``topological_order(root)`` for gradcheck and compare_torch, in the
            order given for compare.
        eps, atol, rtol: the settings used (``eps`` is None for compare and compare_torch). A row
            passes when ``abs_err <= atol + rtol * |numeric|`` (for compare_torch, and the same of the
            value against torch's).
        method: how gradcheck made its references: "end-to-end" or "local" (None for compare, or
            when the graph was stale).
        stale: a ``StaleGraph`` when the graph was not checked because it is stale, else None.
        routes: for ``routes``, the routes that ran, in column order (backward first).
        not_run: for ``routes``, each route that could not run, with the reason.
    """

    def __init__(
        self,
        kind: str,
        root: Value,
        root_name: str,
        rows: list[CheckRow],
        eps: float | None,
        atol: float,
        rtol: float,
        method: str | None = None,
        stale: StaleGraph | None = None,
        routes: tuple[str, ...] = (),
        not_run: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.root = root
        self.root_name = root_name
        self.rows = rows
        self.eps = eps
        self.atol = atol
        self.rtol = rtol
        self.method = method
        self.stale = stale
        self.routes = routes
        self.not_run = dict(not_run or {})

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
            shown = ", ".join(r.name for r in self.rows[:40]) + (" ..." if len(self.rows) > 40 else "")
            raise LabelError(f"{how} for {key!r} in this report; rows: {shown or 'none'}")
        return matches[0]

    @property
    def ok(self) -> bool:
        """True when the graph was checked and no row failed (skipped rows do not count against it)."""
        return self.stale is None and all(row.ok for row in self.rows)

    @property
    def max_diff(self) -> CheckRow | None:
        """For ``compare_torch``: the row whose value or gradient is furthest from torch's (None if no rows)."""
        return max(self.rows, key=lambda r: r.max_diff, default=None)

    @property
    def answered(self) -> list[CheckRow]:
        """For ``grade``: the rows of nodes whose grad you set by hand (right or wrong)."""
        return [row for row in self.rows if row.status != UNANSWERED]

    @property
    def unanswered(self) -> list[CheckRow]:
        """For ``grade``: the rows of nodes whose grad you did not set by hand."""
        return [row for row in self.rows if row.status == UNANSWERED]

    @property
    def failures(self) -> list[CheckRow]:
        """The failing rows."""
        return [row for row in self.rows if not row.ok]

    @property
    def skipped(self) -> list[CheckRow]:
        """Rows not judged: a nudge crossed relu's kink or left an op's domain, or no step was precise
        enough."""
        return [row for row in self.rows if row.status in SKIPPED]

    @property
    def worst(self) -> CheckRow | None:
        """The compared row with the largest relative error, among rows whose gradient is larger than
        ``atol`` (smaller ones are judged by absolute error, and their relative error says little)."""
        judged = [r for r in self.rows if r.status in (OK, FAIL) and max(abs(r.analytic), abs(r.numeric)) > self.atol]
        return max(judged, key=lambda r: r.rel_err, default=None)

    @property
    def summary(self) -> str:
        """One line: how many nodes, how many disagree or were skipped, the worst relative error."""
        if self.stale is not None:
            return f"{self.kind} of {self.root_name}: NOT CHECKED, {self.stale.headline}"
        n = len(self.rows)
        if self.kind == "compare_torch":
            return self._torch_summary()
        if self.kind == "grade":
            return self._grade_summary()
        if self.kind == "gradcheck":
            what = f"{n} node{'s' if n != 1 else ''} checked against central differences ({self.method})"
        elif self.kind == "routes":
            what = f"{n} node{'s' if n != 1 else ''}, {len(self.routes)} routes ({', '.join(self.routes)})"
        else:
            what = f"{n} hand-derived gradient{'s' if n != 1 else ''} compared"
        parts = [f"{self.kind} of {self.root_name}: {what}"]
        failed = len(self.failures)
        parts.append(f"{failed} FAILED" if failed else "all agree")
        for status, words in (
            (KINK, "at relu's kink"),
            (EDGE, "at a domain edge"),
            (IMPRECISE, "no central difference precise enough"),
        ):
            count = sum(row.status == status for row in self.rows)
            if count:
                parts.append(f"{count} skipped ({status}: {words})")
        worst = self.worst
        if worst is not None:
            parts.append(f"worst relative error {err(worst.rel_err)} at {worst.name}")
        else:
            parts.append("no gradient above atol to take a relative error of")
        for route, why in self.not_run.items():
            parts.append(f"{route} not run: {why}")
        return "; ".join(parts)

    def _torch_summary(self) -> str:
        n = len(self.rows)
        counts = {status: sum(row.status == status for row in self.rows) for status in (EXACT, CLOSE, DIFFERS)}
        parts = [
            f"{self.kind} of {self.root_name}: {n} node{'s' if n != 1 else ''} replayed in torch (float64): "
            f"{counts[EXACT]} exact, {counts[CLOSE]} close, {counts[DIFFERS]} differ{'s' if counts[DIFFERS] == 1 else ''}"
        ]
        parts.append(f"{counts[DIFFERS]} FAILED" if counts[DIFFERS] else "all agree")
        furthest = self.max_diff
        if furthest is not None and furthest.max_diff > 0:
            which = "value" if furthest.value_err >= furthest.abs_err else "grad"
            parts.append(f"max difference {err(furthest.max_diff)} ({which} of {furthest.name})")
        elif furthest is not None:
            parts.append("max difference 0")
        return "; ".join(parts)

    def _grade_summary(self) -> str:
        answered, wrong, unanswered = len(self.answered), len(self.failures), len(self.unanswered)
        head = f"grade of {self.root_name}: "
        if not answered:
            return head + (
                f"no gradient was set by hand, nothing to grade ({unanswered} unanswered); set v.grad = ... for "
                "the nodes you derived (or call c._backward() node by node), then grade again"
            )
        parts = [f"{answered - wrong} of {answered} hand-set gradient{'s' if answered != 1 else ''} right"]
        if wrong:
            parts.append(f"{wrong} WRONG ({', '.join(row.name for row in self.failures[:6])}{', ...' if wrong > 6 else ''})")
        if unanswered:
            shown = ", ".join(row.name for row in self.unanswered[:6]) + (", ..." if unanswered > 6 else "")
            parts.append(f"{unanswered} unanswered ({shown})")
        parts.append(f"tolerance: relative {self.rtol:g}, absolute {self.atol:g}")
        return head + "; ".join(parts)

    def failure_message(self) -> str:
        """Every failing row in words, and what usually causes it (or why the graph was not checked)."""
        if self.stale is not None:
            return f"{self.kind} of {self.root_name}: NOT CHECKED, {self.stale.advice}"
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
        if self.kind == "routes":
            return self._route_columns()
        if self.kind == "compare_torch":
            return self._torch_columns()
        reference = {"gradcheck": "numeric", "compare": "expected", "grade": "true"}[self.kind]
        grad_header = "your grad" if self.kind == "grade" else "grad"
        status_header = "verdict" if self.kind == "grade" else "status"
        headers = ["#", "node", "definition", "value", grad_header, reference, "abs err", "rel err", status_header]
        numeric_column = [True, False, False, True, True, True, True, True, False]
        # compare: show the keys as given when some were not just the node's label (array entries).
        given = self.kind == "compare" and any(row.key != repr(row.name) for row in self.rows)
        if given:
            headers.insert(2, "given as")
            numeric_column.insert(2, False)
        body = []
        for row in self.rows:
            definition = _clipped(row.definition)
            body.append(
                [
                    str(row.index),
                    row.name,
                    *([row.key] if given else []),
                    definition,
                    num(row.value),
                    num(row.analytic) + (" (by hand)" if self.kind != "grade" and _by_hand(row) else ""),
                    num(row.numeric),
                    err(row.abs_err),
                    err(row.rel_err),
                    _shown_status(row),
                ]
            )
        return headers, body, numeric_column

    def _route_columns(self) -> tuple[list[str], list[list[str]], list[bool]]:
        """``routes``: a column per route that ran (the worst relative error to backward after them)."""
        headers = ["#", "node", "definition", "value", *self.routes, "rel err", "status"]
        right = [True, False, False, True, *[True] * len(self.routes), True, False]
        body = []
        for row in self.rows:
            definition = _clipped(row.definition)
            numbers_ = dict(row.routes)
            body.append(
                [
                    str(row.index),
                    row.name,
                    definition,
                    num(row.value),
                    *[num(numbers_.get(route, math.nan), 10) for route in self.routes],
                    err(row.rel_err),
                    row.status.upper() if row.status == FAIL else row.status,
                ]
            )
        return headers, body, right

    def _torch_columns(self) -> tuple[list[str], list[list[str]], list[bool]]:
        headers = ["#", "node", "definition", "value", "torch value", "grad", "torch grad", "max diff", "verdict"]
        numeric_column = [True, False, False, True, True, True, True, True, False]
        body = []
        for row in self.rows:
            definition = _clipped(row.definition)
            body.append(
                [
                    str(row.index),
                    row.name,
                    definition,
                    num(row.value),
                    num(row.reference_value),
                    num(row.analytic) + (" (by hand)" if _by_hand(row) else ""),
                    num(row.numeric),
                    err(row.max_diff),
                    _shown_status(row),
                ]
            )
        return headers, body, numeric_column

    def __str__(self) -> str:
        if self.stale is not None:
            return self.failure_message()
        headers, body, right = self._columns()
        widths = [max(len(cell) for cell in column) for column in zip(headers, *body)]

        def line(cells: list[str]) -> str:
            return "  ".join(
                cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(cells, widths, right)
            ).rstrip()

        lines = [line(headers), line(["-" * w for w in widths])]
        lines += [line(cells) for cells in body]
        lines.append(self.summary)
        lines += [f"  {row.name}: {row.status}: {row.note}" for row in self.skipped]
        lines += ["  " + row.message() for row in self.failures]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<CheckReport {self.summary}>"

    def _repr_html_(self) -> str:
        if self.stale is not None:
            return (
                '<div class="chainrule-check chainrule-stale" style="border-left:4px solid #d08000;'
                'background:#fff3c4;padding:4px 8px">'
                f"<p><b>{html.escape(self.kind)} of {html.escape(self.root_name)}: NOT CHECKED</b>, "
                f"{html.escape(self.stale.advice)}</p></div>"
            )
        headers, body, right = self._columns()
        colour = {FAIL: "#f8d0d0", DIFFERS: "#f8d0d0", KINK: "#fff3c4", EDGE: "#fff3c4", IMPRECISE: "#fff3c4", UNANSWERED: "#f0f0f0"}
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
                f'<td style="text-align:{"right" if r else "left"};white-space:nowrap"><code>{html.escape(c)}</code></td>'
                for c, r in zip(cells, right)
            ]
            out.append("</tr>")
        out.append("</tbody></table>")
        out.append(f"<p>{html.escape(self.summary)}</p>")
        if self.failures:
            items = "".join(f"<li>{html.escape(row.message())}</li>" for row in self.failures)
            out.append(f"<ul>{items}</ul>")
        return "".join(out)


def _word(name: str) -> str:
    """A node's name after a ∂, as grade's hints write it: in parentheses unless it is one word."""
    return name if all(ch.isalnum() or ch in "#_." for ch in name) else f"({name})"


def _clipped(definition: str, width: int = 28) -> str:
    """A node's definition in a table column: at most ``width`` characters, cut with an ellipsis."""
    return definition if len(definition) <= width else definition[: width - 1] + "…"


def _by_hand(row: CheckRow) -> bool:
    """Whether the row's grad was set by hand (gradcheck and compare mark it in the grad column)."""
    return getattr(row.node, "grad_source", "") == "hand"


def _shown_status(row: CheckRow) -> str:
    """A row's status in the table: failures in capitals; grade's rows say right, WRONG or unanswered."""
    shown = row.verdict
    return shown.upper() if row.status in FAILED else shown


# ---------------------------------------------------------------------------------------------------
# What gradcheck and compare share
# ---------------------------------------------------------------------------------------------------
def require_value(root: object, function: str) -> Value:
    if not isinstance(root, Value):
        raise TypeError(f"{function}() needs the root Value of a graph, got {type(root).__name__}: {root!r}")
    return root


def require_backward(root: Value, function: str) -> None:
    """The gradients must come from ``root.backward()``.

    ``backward`` sets the root's grad to exactly 1, and nothing else does: a graph never backward-ed
    has 0 there, and a backward from another node leaves d(that node)/d(root). Where the engine
    numbers its backward passes (``grad_pass``), a root whose grad no pass wrote (0) is refused too.
    """
    never = getattr(root, "grad_pass", None) in (0, HAND_SET)
    if root.grad != 1.0 or never:
        held = f"grad {num(root.grad)}, not 1" if root.grad != 1.0 else "a grad that no backward pass wrote"
        order = topological_order(root)
        by_hand = [f"{n.label or f'#{i}'}" for i, n in enumerate(order) if getattr(n, "grad_source", "") == "hand"]
        if by_hand:
            shown = ", ".join(by_hand[:SHOWN_HAND])
            raise BackwardNeededError(
                f"{function}() checks the gradients of a backward pass from this root, and there is none: "
                f"{describe(root)} has {held}. {len(by_hand)} grad{'s' if len(by_hand) != 1 else ''} of this graph "
                f"{'were' if len(by_hand) != 1 else 'was'} set by hand ({shown}{', ...' if len(by_hand) > SHOWN_HAND else ''}): "
                "autograd.check.grade(root) grades those against the true derivatives, with hints. To check the "
                "engine's own gradients, call root.backward() (after autograd.zero_grad(root): leaves add to what "
                "they hold)."
            )
        raise BackwardNeededError(
            f"{function}() needs the gradients of a backward pass from this root, but {describe(root)} has "
            f"{held} (after root.backward() it is exactly 1; a backward from another node leaves "
            "d(that node)/d(root) here). Call root.backward() first, after autograd.zero_grad(root) if leaves "
            "hold gradients from earlier passes."
        )


def staleness(names: Names, function: str) -> StaleGraph | None:
    """Whether the graph is fit to check, in the order that makes the advice right: stale values
    first (they need a replay before anything else), then gradients that a replay made out of date
    (a backward ran, then the values moved), then whether backward ran from this root at all (a
    BackwardNeededError if not), then stale gradients. None for a graph fit to check."""
    stale = find_stale_values(names) or find_replayed_grads(names)
    if stale is None:
        require_backward(names.root, function)
        stale = find_stale_grads(names)
    return stale


def check_tolerances(atol: float, rtol: float) -> None:
    for name, value in (("atol", atol), ("rtol", rtol)):
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def check_eps(eps: float) -> float:
    """``eps`` as a float in ``[EPS_MIN, EPS_MAX]``, else a ValueError that says why."""
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not math.isfinite(eps):
        raise ValueError(f"eps must be a finite number, got {eps!r}")
    if not EPS_MIN <= eps <= EPS_MAX:
        why = (
            f"below {EPS_MIN:.2g} a step x + eps * max(1, |x|) rounds back to x, so there is no difference to take"
            if eps < EPS_MIN
            else f"above {EPS_MAX:g} a central difference measures a secant, not a derivative"
        )
        raise ValueError(f"eps must be between {EPS_MIN:.2g} and {EPS_MAX:g} (default 1e-6), got {eps!r}: {why}")
    return float(eps)


def make_row(
    names: Names,
    consumers: dict[Value, list[Value]],
    node: Value,
    analytic: float,
    numeric: float,
    status: str,
    kind: str,
    note: str = "",
    key: str = "",
    method: str = "",
    reference_value: float = math.nan,
) -> CheckRow:
    abs_err = abs(analytic - numeric)
    scale = max(abs(analytic), abs(numeric))
    rel_err = abs_err / scale if scale > 0 else abs_err  # NaN stays NaN; 0 when both are 0
    users = tuple(f"{names.name(c)} = {names.definition(c)} (op {c.op!r})" for c in consumers[node])
    if kind == "gradcheck" and not note and getattr(node, "grad_source", "") == "hand":
        note = "its grad was set by hand after the backward pass (autograd.check.grade(root) grades hand-set grads)"
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
        method=method,
        reference_value=reference_value,
    )


def close(analytic: float, reference: float, atol: float, rtol: float) -> bool:
    return abs(analytic - reference) <= atol + rtol * abs(reference)  # False for NaN


def finish(report: CheckReport, raise_exception: bool) -> CheckReport:
    if raise_exception and not report.ok:
        raise GradientCheckError(report.failure_message(), report)
    return report
