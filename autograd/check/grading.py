"""``grade``: your hand-set gradients against the true d root/d node, node by node, with a hint for each
wrong one.

Backpropagation by hand, as micrograd's lecture does it: set ``L.grad = 1.0``, then each node's grad
from its consumers' (``f.grad = 4.0``, ``d.grad = -2.0``, ...), or call ``c._backward()`` node by node.
``grade(L)`` compares every grad set by hand (``grad_source == "hand"``) with the true derivative,
computed by the chain rule without touching any ``.grad``, and says right or wrong. A wrong row's hint
writes the chain-rule sum for that node from the op table with *your own* upstream numbers, so it tells
whether the mistake is in this step or upstream::

    ∂L/∂d = ∂L/∂L · ∂L/∂d = 1 · f = 1 · (-2) = -2, you wrote 3

Nodes whose grad you did not set are listed as unanswered, not failed (their true values are not
shown, so you can still work them out).
"""

from __future__ import annotations

import math

from ..engine import Value, gradients, topological_order
from .explanation import _formulas
from .naming import Names, num
from .report import (
    FAIL, OK, UNANSWERED, CheckReport, _word, check_tolerances, close, finish, make_row, require_value,
)
from .staleness import StaleGraph, find_stale_values

RTOL = 1e-6
"""grade's default relative tolerance: your number is right when ``|yours - true| <= ATOL + RTOL * |true|``."""
ATOL = 1e-12
"""grade's default absolute tolerance (for true derivatives of 0, where a relative one says nothing)."""


def grade(root: Value, *, rtol: float = RTOL, atol: float = ATOL, raise_exception: bool = False) -> CheckReport:
    """Grade every gradient set by hand in ``root``'s graph against the true d root/d node.

    A grad counts as set by hand when you wrote it (``v.grad = 4.0``) or the lecture's local step did
    (``c._backward()``): ``v.grad_source == "hand"``. The true derivatives are computed with the same
    chain rule as ``root.backward()``, at the graph's current values, without touching any ``.grad``:
    grade changes nothing in the graph.

    Args:
        root: the output the gradients are of (its own grad, if you set it, should be 1).
        rtol, atol: your number is right when ``|yours - true| <= atol + rtol * |true|``; by default
            relative 1e-6 (write at least 7 significant digits, or use the numbers themselves).
        raise_exception: raise ``GradientCheckError`` if an answer is wrong (for tests and exercises).

    Returns:
        a ``CheckReport`` of kind "grade", one row per node in ``topological_order(root)``: each row's
        ``verdict`` is "right", "wrong" or "unanswered"; ``.analytic`` is your number (NaN when
        unanswered), ``.numeric`` the true one (NaN, hidden, when unanswered). A wrong row's ``note``
        (and ``message()``) holds the hint. ``.ok`` is True when every answered node is right;
        ``.answered`` and ``.unanswered`` list the rows. ``print`` it for a table, or let Jupyter show
        its HTML.

    If values were changed after the graph was built (a training step) and not replayed, the stored
    local derivatives belong to the old values: nothing is graded, and the report says to call
    ``autograd.replay(root)`` first (your hand-set grads stay).
    """
    require_value(root, "grade")
    check_tolerances(atol, rtol)
    order = topological_order(root)
    names = Names(order, root)
    stale = find_stale_values(names)
    if stale is not None:
        advice = (
            f"{stale.headline}. Values were changed after the graph was built, so its stored local derivatives "
            f"belong to the old values and there is no true gradient to grade against. Recompute the values, "
            f"then grade again: autograd.replay(root); grade(root) (root is {names.root_name()}; your hand-set "
            "grads stay as they are)."
        )
        report = CheckReport("grade", root, names.root_name(), [], None, atol, rtol,
                             stale=StaleGraph(stale.kind, stale.nodes, stale.headline, advice))  # fmt: skip
        return finish(report, raise_exception)
    truth = dict(zip(order, gradients(root, order)))
    consumers = names.consumers()
    rows = []
    for node in order:
        source = node.grad_source
        if source != "hand":
            why = "a backward pass wrote its grad, not you" if source == "backward" else "no grad set by hand"
            rows.append(make_row(names, consumers, node, math.nan, math.nan, UNANSWERED, "grade", note=why))
            continue
        yours, true = node.grad, truth[node]
        if close(yours, true, atol, rtol):
            rows.append(make_row(names, consumers, node, yours, true, OK, "grade"))
        else:
            hint = _hint(node, names, truth, atol, rtol)
            rows.append(make_row(names, consumers, node, yours, true, FAIL, "grade", note=hint))
    return finish(CheckReport("grade", root, names.root_name(), rows, None, atol, rtol), raise_exception)


def _factor(x: float) -> str:
    text = num(x)
    return f"({text})" if text.startswith("-") else text


def _hint(node: Value, names: Names, truth: dict[Value, float], atol: float, rtol: float) -> str:
    """The chain-rule sum for ``node`` with the learner's own upstream grads, and where the mistake is."""
    r, n = _word(names.root_name()), _word(names.name(node))
    yours = node.grad
    if node is names.root:
        return f"∂{r}/∂{r} = 1: the root's gradient with respect to itself is 1 (backpropagation starts there)"
    general, symbolic, numeric, total = [], [], [], 0.0
    wrong_upstream, unset_upstream = [], []
    terms = []
    for consumer in names.order:
        for i, parent in enumerate(consumer.parents):
            if parent is node:
                terms.append((consumer, i))
    # Added in the order backward adds them (consumers from the last in the order), as explain does.
    for consumer, i in sorted(terms, key=lambda t: names.position[t[0]], reverse=True):
        total += consumer.local_grads[i] * _upstream(consumer, truth)
    for consumer, i in terms:
        c = _word(names.name(consumer))
        upstream = _upstream(consumer, truth)
        formula, _, _, _ = _formulas(consumer, i, names)
        general.append(f"∂{r}/∂{c} · ∂{c}/∂{n}")
        symbolic.append(f"{_factor(upstream)} · {_group(formula)}")
        numeric.append(f"{_factor(upstream)} · {_factor(consumer.local_grads[i])}")
        if consumer.grad_source != "hand":
            unset_upstream.append(names.name(consumer))
        elif not close(consumer.grad, truth[consumer], atol, rtol):
            wrong_upstream.append(f"{names.name(consumer)} (you wrote {num(consumer.grad)}, true {num(truth[consumer])})")
    steps = [" + ".join(general), " + ".join(symbolic)]
    if " + ".join(numeric) not in steps:
        steps.append(" + ".join(numeric))
    text = f"∂{r}/∂{n} = {' = '.join(steps)} = {num(total)}, you wrote {num(yours)}"
    if unset_upstream:
        text += f" (upstream grads you did not set, {', '.join(unset_upstream)}, are put in with their true values)"
    if wrong_upstream and close(yours, total, atol, rtol):
        text += (
            f": this step follows from your upstream numbers, so the mistake is upstream, at "
            f"{'; '.join(wrong_upstream)}"
        )
    elif wrong_upstream:
        text += f": an upstream number is wrong too: {'; '.join(wrong_upstream)}"
    else:
        text += ": your upstream numbers are right, so the mistake is in this step"
    return text


def _upstream(consumer: Value, truth: dict[Value, float]) -> float:
    """The learner's d root/d consumer if they set it, else the true one."""
    return consumer.grad if consumer.grad_source == "hand" else truth[consumer]


def _group(formula: str) -> str:
    """A local derivative's formula as a factor: parenthesized if a sum or a negative number."""
    formula = formula.replace(" * ", " · ")
    if formula.startswith("-"):
        return f"({formula})"
    depth = 0
    for i, ch in enumerate(formula):
        depth += 1 if ch in "([" else -1 if ch in ")]" else 0
        if depth == 0 and ch in "+-" and formula[i - 1 : i] == " " and formula[i + 1 : i + 2] == " ":
            return f"({formula})"
    return formula
