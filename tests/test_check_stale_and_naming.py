"""The checker on stale graphs, its names for nodes, its formulas for the newer primitives, and that no
call keeps a graph alive."""

from __future__ import annotations

import gc
import math
import sys

import numpy as np
import pytest

import nn
from autograd import Value, replay, topological_order, zero_grad
from autograd.check import GradientCheckError, compare, explain, find_node, gradcheck
from autograd.check.naming import Names
from autograd.check.staleness import find_stale_grads
from autograd.expr import parse_expression

HAS_GRAD_PASS = hasattr(Value(0.0), "grad_pass")


def stale_product():
    """The issue's example: y = x * w, backward, then w changed by hand."""
    x, w = Value(1.0, label="x"), Value(3.0, label="w")
    y = x * w
    y.backward()
    w.data = 5.0
    return y, x, w


# ---------------------------------------------------------------------------------------------------
# stale values
# ---------------------------------------------------------------------------------------------------
def test_changed_value_is_reported_once_not_as_failures():
    y, x, w = stale_product()
    report = gradcheck(y)
    assert not report.ok and len(report) == 0 and report.failures == []
    assert report.stale is not None and report.stale.kind == "values" and report.stale.nodes == (y,)
    text = str(report)
    assert "FAIL" not in text and len(text.splitlines()) == 1
    assert "NOT CHECKED" in report.summary and "f = x * w holds 3, but x * w is 5 now" in text
    for step in ("autograd.replay(root)", "autograd.zero_grad(root)", "root.backward()"):
        assert step in text
    page = report._repr_html_()
    assert "<table" not in page and page.count("NOT CHECKED") == 1 and "x * w is 5 now" in page
    with pytest.raises(GradientCheckError, match="stale") as info:
        gradcheck(y, raise_exception=True)
    assert info.value.report.stale is not None
    # doing what it says makes the graph checkable, and right
    replay(y)
    zero_grad(y)
    y.backward()
    fresh = gradcheck(y)
    assert fresh.ok and fresh["x"].numeric == pytest.approx(5.0)


def test_compare_and_explain_say_the_graph_is_stale():
    y, x, w = stale_product()
    report = compare(y, {"x": 5.0})
    assert not report.ok and len(report) == 0 and "compare of f: NOT CHECKED" in str(report)
    explanation = explain(x, y)
    assert str(explanation).startswith("STALE GRAPH: the graph is stale")
    assert explanation._repr_markdown_().startswith("**Stale graph.**")
    replay(y)
    zero_grad(y)
    y.backward()
    assert explain(x, y).stale is None and compare(y, {"x": 5.0}).ok


def test_after_a_training_step_the_report_is_one_message():
    model = nn.MLP(2, [3, 2], activation="tanh", seed=0)
    loss = nn.cross_entropy(model([Value(0.5), Value(-1.0)]), 1)
    loss.backward()
    nn.SGD(model.parameters(), lr=0.1).step()
    report = gradcheck(loss)
    assert not report.ok and report.stale.kind == "values"
    parameters = set(model.parameters())
    made_from_parameters = {n for n in topological_order(loss) if any(p in parameters for p in n.parents)}
    assert set(report.stale.nodes) == made_from_parameters  # the first nodes after each change
    text = str(report)
    assert len(text.splitlines()) == 1 and f"{len(made_from_parameters)} computed nodes" in text
    assert text.count(" = ") >= 3 and "; ...)" in text  # the first three named, the rest counted
    assert not compare(loss, {p: 0.0 for p in model.parameters()}).ok


def test_a_changed_value_that_keeps_the_output_changes_the_local_derivatives():
    x, w = Value(2.0, label="x"), Value(0.0, label="w")
    y = x * w
    y.label = "y"
    y.backward()
    x.data = 3.0  # y is still 0, but dy/dw is now 3
    stale = gradcheck(y).stale
    assert stale is not None and "y = x * w holds local derivatives (0, 2) but its op gives (0, 3) now" in str(stale)


def test_a_value_where_the_op_now_fails():
    x = Value(2.0, label="x")
    y = x.log()
    y.backward()
    x.data = -1.0
    stale = gradcheck(y).stale
    assert stale is not None and "op now fails" in stale.headline and "log" in stale.headline


@pytest.mark.skipif(not HAS_GRAD_PASS, reason="the engine does not number its backward passes (grad_pass) yet")
def test_grads_from_another_roots_backward_are_reported_once():
    x, w = Value(0.5, label="x"), Value(-1.5, label="w")
    E = (x * w).tanh()
    E.label = "E"
    F = w * 3.0
    E.backward()
    F.backward()  # w.grad now holds dE/dw + dF/dw, written by F's pass
    report = gradcheck(E)
    assert not report.ok and report.stale.kind == "grads" and w in report.stale.nodes
    assert "last backward pass from E" in str(report) and "autograd.zero_grad(root); root.backward()" in str(report)
    assert compare(E, {"x": 1.0}).stale is not None
    zero_grad(E)
    E.backward()
    assert gradcheck(E).ok


class StandIn:
    """A node as the staleness check sees it: a label and, if the engine numbers passes, a grad_pass."""

    def __init__(self, **attributes: object) -> None:
        self.__dict__.update(attributes)


def test_grads_that_the_roots_last_pass_did_not_write_are_found_by_pass_number():
    """The rule behind the test above, on stand-in nodes, so that it runs with any engine: a node is
    stale when its grad_pass differs from the root's; without pass numbers nothing is found."""
    x, w, E = (StandIn(label=name, grad_pass=n) for name, n in (("x", 3), ("w", 4), ("E", 3)))
    stale = find_stale_grads(Names([x, w, E], E))
    assert stale is not None and stale.kind == "grads" and stale.nodes == (w,)
    assert "1 node holds a gradient that the last backward pass from E did not write (w)" in stale.headline
    assert "autograd.zero_grad(root); root.backward()" in stale.advice
    w.grad_pass = 3
    assert find_stale_grads(Names([x, w, E], E)) is None
    unnumbered = [StandIn(label=name) for name in "xwE"]
    assert find_stale_grads(Names(unnumbered, unnumbered[-1])) is None


def test_accumulated_leaf_grads_are_failures_with_a_hint_not_stale():
    """Two backward passes from the same root: every grad was written by this root's passes, so the
    graph is not stale; the leaves hold twice their gradient and say why."""
    x = Value(0.5, label="x")
    E = x.tanh() * 2
    E.backward()
    E.backward()
    report = gradcheck(E)
    assert report.stale is None and [row.node for row in report.failures if row.node is x] == [x]
    assert "2 times" in report["x"].message()


# ---------------------------------------------------------------------------------------------------
# nothing keeps a graph alive
# ---------------------------------------------------------------------------------------------------
CALLS = {
    "gradcheck end-to-end": lambda E: gradcheck(E, mode="end-to-end"),
    "gradcheck local": lambda E: gradcheck(E, mode="local"),
    "compare": lambda E: compare(E, {"x": 1.0}),
    "explain": lambda E: explain(E.parents[0], E),
    "find_node": lambda E: find_node(E, "x"),
    "stale gradcheck": lambda E: (setattr(find_node(E, "x"), "data", 0.7), gradcheck(E)),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_no_call_keeps_the_graph_alive(call):
    # A node class takes no weak references and cannot be subclassed, so count references instead: after
    # the call and its result are gone, nothing may hold any node of the graph.
    x = Value(0.5, label="x")
    E = (x * 2.0 + 1.0).tanh()
    E.backward()
    nodes = topological_order(E)
    before = [sys.getrefcount(node) for node in nodes]
    result = call(E)
    del result
    gc.collect()
    assert [sys.getrefcount(node) for node in nodes] == before


# ---------------------------------------------------------------------------------------------------
# one name per node, everywhere
# ---------------------------------------------------------------------------------------------------
def test_unlabelled_nodes_have_the_same_name_in_tables_explanations_and_latex():
    x = Value(0.5, label="x")
    s = x * 2.0
    E = s.tanh() + s
    E.backward()
    position = topological_order(E).index(s)
    name = f"#{position}"
    assert gradcheck(E)[s].name == name
    explanation = explain(x, E)
    assert f"via {name} = x * 2" in str(explanation)
    assert rf"\partial \#{position}" in explanation.latex() and "v_{" not in explanation.latex()
    assert explain(s, E).latex().count(rf"\#{position}") >= 1
    assert find_node(E, name) is s and compare(E, {name: s.grad}).ok


def test_an_unlabelled_root_is_f_and_can_be_looked_up_by_that_name():
    x = Value(0.5, label="x")
    E = x * x
    E.backward()
    report = gradcheck(E)
    assert report[E].name == "f" and report.summary.startswith("gradcheck of f:")
    assert find_node(E, "f") is E and compare(E, {"f": 1.0}).ok
    assert str(explain(E, E)).startswith("df/df = 1")
    taken = Value(1.0, label="f") * x  # a node labelled f: the root is called "root"
    taken.backward()
    assert gradcheck(taken)[taken].name == "root" and find_node(taken, "root") is taken
    both = (Value(1.0, label="f") + Value(2.0, label="root")) * x
    both.backward()
    index = topological_order(both).index(both)
    assert gradcheck(both)[both].name == f"#{index}" and find_node(both, f"#{index}") is both


# ---------------------------------------------------------------------------------------------------
# formulas of the newer primitives (a - b, -a, a / b as single nodes)
# ---------------------------------------------------------------------------------------------------
def made_with(op: str, a: Value, b: Value | None = None) -> Value:
    """The node ``op`` of a (and b), from the engine when it has that primitive; otherwise a node of
    the same shape given the primitive's name, value and partials by hand, so that explain's formula
    for it can be checked before the engine makes it."""
    native = {"-": lambda: a - b, "neg": lambda: -a, "/": lambda: a / b}[op]()
    if native.op == op:
        return native
    x, y = a.data, b.data if b is not None else math.nan
    value, partials = {
        "-": (x - y, (1.0, -1.0)),
        "neg": (-x, (-1.0,)),
        "/": (x / y, (1.0 / y, -x / y**2)),
    }[op]
    node = a + b if b is not None else a.exp()
    node.op = op
    node.data = value
    node.local_grads = partials
    return node


def evaluate(formula: str, values: dict[str, float]) -> float:
    """A formula in the expression syntax, with the given names' values (a formula of numbers alone
    is given an unused name, as the parser wants at least one)."""
    used = {name: v for name, v in values.items() if name in formula}
    return parse_expression(formula, used).data if used else parse_expression(f"0 * z + ({formula})", {"z": 0.0}).data


@pytest.mark.parametrize(
    "op, definition, derivatives",
    [
        ("-", "a - b", [1.0, -1.0]),
        ("neg", "-a", [-1.0]),
        ("/", "a / b", [1 / -0.8, -1.7 / 0.64]),
    ],
)
def test_formulas_of_subtraction_negation_and_division(op, definition, derivatives):
    a, b = Value(1.7, label="a"), Value(-0.8, label="b")
    c = made_with(op, a, b if op != "neg" else None)
    c.label = "c"
    c.backward()
    assert Names(topological_order(c), c).definition(c) == definition
    for operand, (node, expected) in enumerate(zip(c.parents, derivatives)):
        (term,) = explain(node, c).terms
        assert term.operand == operand
        assert evaluate(term.formula, {"a": 1.7, "b": -0.8}) == pytest.approx(expected, rel=1e-12), term.formula
        assert evaluate(term.substituted, {}) == pytest.approx(expected, rel=1e-5), term.substituted
        assert term.latex != r"\text{stored}"
    if op == "/":
        assert explain(b, c).terms[0].latex == r"-\frac{a}{b^{2}}"
        assert np.isclose(evaluate(explain(b, c).terms[0].substituted, {}), -1.7 / 0.64)
