"""Tests of autograd.check: gradcheck, compare and explain, checked against closed forms."""

from __future__ import annotations

import math
import sys
import random
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd.check.gradient_check as gradient_check_module
from autograd import Parameter, Value, topological_order, zero_grad
from autograd.check import (
    BackwardNeededError,
    GradientCheckError,
    LabelError,
    compare,
    explain,
    find_node,
    gradcheck,
)
from autograd.expr import parse_expression


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def snapshot(root: Value) -> list[tuple]:
    """Every node's value, local derivatives and gradient, bit for bit."""
    return [
        (bits(n.data), tuple(bits(g) for g in n.local_grads), bits(n.grad))
        for n in topological_order(root)
    ]


def neuron_graph():
    """E = -log(sigmoid(x*w + b)) + h*h with h = sigmoid(s): h is shared by two consumers."""
    x, w, b = Value(2.0, label="x"), Parameter(-0.5, "w"), Parameter(0.3, "b")
    s = x * w + b
    s.label = "s"
    h = s.sigmoid()
    h.label = "h"
    E = -h.log() + h * h
    E.label = "E"
    return E, x, w, b, s, h


def tiny_mlp(activation: str = "tanh", seed: int = 0, n_hidden: int = 8):
    """A 4-n_hidden-3 network's softmax cross-entropy loss for one sample, built from Values (~200 nodes)."""
    rng = random.Random(seed)
    x = [Value(rng.uniform(-1, 1), label=f"x{i}") for i in range(4)]
    hidden = []
    for j in range(n_hidden):
        z = Parameter(0.1, f"b1_{j}")
        for i in range(4):
            z = z + Parameter(rng.uniform(-1, 1), f"W1_{i}_{j}") * x[i]
        hidden.append(getattr(z, activation)())
    logits = []
    for k in range(3):
        z = Parameter(0.0, f"b2_{k}")
        for j in range(n_hidden):
            z = z + Parameter(rng.uniform(-1, 1), f"W2_{j}_{k}") * hidden[j]
        logits.append(z)
    exps = [z.exp() for z in logits]
    E = -(exps[1] / (exps[0] + exps[1] + exps[2])).log()
    E.label = "E"
    return E


EXPRESSIONS = [
    ("log(exp(a) + exp(b)) - a", {"a": 1.0, "b": 2.0}),
    ("tanh(x * w + b) * sigmoid(x * w + b)", {"x": 0.5, "w": -1.5, "b": 0.1}),
    ("x ** y + y ** 3 / x", {"x": 1.7, "y": 0.6}),
    ("relu(x - 1) * x + 2 ** x", {"x": 2.5}),
    ("exp(-x * x / 2) / (1 + x ** 0.5)", {"x": 0.8}),
    ("x * x * x", {"x": -1.3}),
]


# ---------------------------------------------------------------------------------------------------
# gradcheck: correct graphs pass
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, values", EXPRESSIONS)
def test_correct_expression_passes_every_node(text, values):
    E = parse_expression(text, values)
    E.backward()
    report = gradcheck(E)
    order = topological_order(E)
    assert report.ok and not report.failures
    assert [row.node for row in report] == order  # one row per node, creation order
    assert len(report) == len(order)
    for row in report:
        assert row.status == "ok"
        assert row.numeric == pytest.approx(row.node.grad, rel=1e-5, abs=1e-7)


def test_shared_subexpression_rows_match_closed_forms():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    report = gradcheck(E)
    assert report.ok
    sig = 1 / (1 + math.exp(-(2.0 * -0.5 + 0.3)))
    dE_dh = -1 / sig + 2 * sig  # h has two consumers: -log(h) and h*h
    dE_ds = dE_dh * sig * (1 - sig)
    assert report["h"].numeric == pytest.approx(dE_dh, rel=1e-7)
    assert report[s].numeric == pytest.approx(dE_ds, rel=1e-7)
    assert report["w"].numeric == pytest.approx(dE_ds * 2.0, rel=1e-7)
    assert report["x"].numeric == pytest.approx(dE_ds * -0.5, rel=1e-7)
    assert report["E"].numeric == pytest.approx(1.0, rel=1e-9)
    assert report.worst is not None and report.worst.rel_err < 1e-6


def test_mlp_loss_graph_passes():
    E = tiny_mlp("tanh")
    E.backward()
    report = gradcheck(E)
    assert report.ok, report.failure_message()
    assert len(report) == len(topological_order(E)) > 190
    assert "all agree" in report.summary and f"{len(report)} nodes" in report.summary


def test_values_and_local_grads_restored_bit_for_bit():
    E = tiny_mlp("relu", seed=3)
    E.backward()
    before = snapshot(E)
    gradcheck(E)
    assert snapshot(E) == before


def test_values_restored_when_interrupted(monkeypatch):
    E, *_ = neuron_graph()
    E.backward()
    before = snapshot(E)
    calls = []
    real_replay = gradient_check_module.replay

    def interrupting_replay(*args, **kwargs):
        calls.append(1)
        result = real_replay(*args, **kwargs)
        if len(calls) == 7:
            raise KeyboardInterrupt  # after the graph was changed by a nudge
        return result

    monkeypatch.setattr(gradient_check_module, "replay", interrupting_replay)
    with pytest.raises(KeyboardInterrupt):
        gradcheck(E, mode="end-to-end")
    assert snapshot(E) == before


def test_nodes_argument_checks_only_those():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    report = gradcheck(E, nodes=[h, "w"])
    assert [row.node for row in report] == [w, h]  # topological order, not the order given


# ---------------------------------------------------------------------------------------------------
# gradcheck: wrong gradients are reported by name
# ---------------------------------------------------------------------------------------------------
def test_tampered_grad_is_reported_by_name():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    true_grad = h.grad
    h.grad += 0.25
    report = gradcheck(E)
    assert not report.ok
    assert [row.node for row in report.failures] == [h]
    row = report.failures[0]
    assert row.status == "fail" and not row.ok
    assert row.analytic == true_grad + 0.25
    assert row.numeric == pytest.approx(true_grad, rel=1e-6)
    message = row.message()
    assert "'h'" in message and "sigmoid" in message
    assert f"{row.analytic:.10g}" in message and f"{row.numeric:.10g}" in message
    assert "= sigmoid(s)" in message
    # both consumers of h are named: log(h) and h * h
    assert "log(h)" in message and "h * h" in message
    assert "FAIL" in str(report) and "1 FAILED" in report.summary


def test_tampered_unlabelled_node_is_named_by_position_and_op():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    product = s.parents[0]  # the unlabelled x * w
    product.grad *= -1
    report = gradcheck(E)
    (row,) = report.failures
    index = topological_order(E).index(product)
    assert row.node is product and row.name == f"#{index}"
    assert f"#{index}" in row.message() and "op '*'" in row.message() and "x * w" in row.message()


def test_raise_exception_names_the_node():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    w.grad = 123.0
    with pytest.raises(GradientCheckError) as info:
        gradcheck(E, raise_exception=True)
    assert isinstance(info.value, AssertionError)
    assert "'w'" in str(info.value) and "123" in str(info.value)
    assert info.value.report.failures[0].node is w
    h.grad = h.grad  # a passing graph does not raise
    w.grad = 0.0
    zero_grad(E)
    E.backward()
    assert gradcheck(E, raise_exception=True).ok


def test_backward_twice_gives_accumulation_hint():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    E.backward()  # leaves now hold twice their gradient
    report = gradcheck(E)
    failed = {row.node for row in report.failures}
    assert failed == {x, w, b} | {n for n in topological_order(E) if n.role == "constant" and n.grad != 0}
    assert "2 times" in report[w].message() and "zero_grad" in report[w].message()


# ---------------------------------------------------------------------------------------------------
# gradcheck: kinks and domain edges are not failures
# ---------------------------------------------------------------------------------------------------
def test_relu_kink_is_nondifferentiable_not_failure():
    x, w = Value(2.0, label="x"), Value(0.0, label="w")
    r = (x * w).relu()  # relu's input is exactly 0
    E = r * 3 + x
    E.label = "E"
    E.backward()
    report = gradcheck(E)
    assert report.ok
    assert report["w"].status == "nondifferentiable" and report["w"].ok
    # engine: relu'(0) = 0, so dE/dw = 0; central difference: (6h - 0) / 2h = 3 (mean of the two slopes)
    assert report["w"].analytic == 0.0 and report["w"].numeric == pytest.approx(3.0)
    assert "relu" in report["w"].note and report["w"] in report.skipped
    assert report["x"].status == "ok"  # x's nudge moves x*w = 0 * x: no crossing
    assert "nondifferentiable" in report.summary


def test_relu_away_from_kink_is_checked_normally():
    x = Value(0.5, label="x")
    E = (x - 0.2).relu() * x
    E.backward()
    report = gradcheck(E)
    assert report.ok and all(row.status == "ok" for row in report)
    assert report["x"].numeric == pytest.approx(2 * 0.5 - 0.2, rel=1e-7)
    x.grad = 5.0
    assert [row.node for row in gradcheck(E).failures] == [x]  # a kink elsewhere does not hide a bug


def test_domain_edge_is_marked_not_failure_and_values_restored():
    a, b = Value(0.0, label="a"), Value(1e-300, label="b")
    E = (a + b).log()  # every step from a = 0 that survives rounding (down to 1e-46) takes log below 0
    E.backward()
    before = snapshot(E)
    report = gradcheck(E)
    assert report.ok
    assert report["a"].status == "domain-edge" and math.isnan(report["a"].numeric)
    assert "log" in report["a"].note
    # b's value is small, so steps relative to it are tried and succeed
    assert report["b"].status == "ok" and report["b"].numeric == pytest.approx(1e300, rel=1e-4)
    assert snapshot(E) == before


def test_a_step_that_leaves_the_domain_is_followed_by_smaller_ones():
    a, b = Value(0.0, label="a"), Value(1e-9, label="b")
    E = (a + b).log()  # a step of 1e-6 from a takes log below 0; 1e-10 and 1e-11 do not
    E.backward()
    before = snapshot(E)
    report = gradcheck(E, mode="end-to-end")
    assert report.ok and all(row.status == "ok" for row in report)
    assert report["a"].numeric == pytest.approx(1e9, rel=1e-4) and report["b"].numeric == pytest.approx(1e9, rel=1e-4)
    assert snapshot(E) == before


def test_exp_overflow_is_domain_edge():
    x = Value(math.log(sys.float_info.max), label="x")  # exp of anything above x overflows a float
    E = x.exp()
    E.backward()
    row = gradcheck(E)["x"]
    assert row.status == "domain-edge" and "overflow" in row.note


# ---------------------------------------------------------------------------------------------------
# gradcheck: before backward, bad arguments
# ---------------------------------------------------------------------------------------------------
def test_before_backward_is_a_clear_error():
    E, *_ = neuron_graph()
    before = snapshot(E)
    for function in (gradcheck, lambda root: compare(root, {"w": 1.0})):
        with pytest.raises(BackwardNeededError, match=r"backward\(\) first"):
            function(E)
    assert snapshot(E) == before


def test_backward_from_another_root_is_refused():
    E, x, w, b, s, h = neuron_graph()
    E.backward()  # h.grad is dE/dh, not 1
    with pytest.raises(BackwardNeededError, match="another node"):
        gradcheck(h)
    zero_grad(E)
    with pytest.raises(BackwardNeededError):
        gradcheck(E)


def test_bad_arguments():
    E, *_ = neuron_graph()
    E.backward()
    with pytest.raises(TypeError, match="root Value"):
        gradcheck(3.0)
    with pytest.raises(ValueError, match="eps"):
        gradcheck(E, eps=0.0)
    with pytest.raises(ValueError, match="atol"):
        gradcheck(E, atol=-1)
    with pytest.raises(LabelError, match="nope"):
        gradcheck(E, nodes=["nope"])
    with pytest.raises(ValueError, match="not part of the graph"):
        gradcheck(E, nodes=[Value(1.0)])


# ---------------------------------------------------------------------------------------------------
# the report's table
# ---------------------------------------------------------------------------------------------------
def test_table_is_aligned_and_keeps_small_numbers():
    x = Value(3.0, label="x")
    E = x * 1e-12 + x.tanh()
    E.label = "E"
    E.backward()
    report = gradcheck(E, atol=1e-14)
    lines = str(report).splitlines()
    header, rows = lines[0], lines[2 : 2 + len(report)]
    assert header.split()[:3] == ["#", "node", "definition"]
    status_at = header.index("status")
    assert all(line[status_at:].startswith(("ok", "FAIL")) for line in rows)
    assert len(rows) == len(topological_order(E))
    constant_row = rows[report[1].index]
    assert "1e-12" in constant_row  # the constant's value and dE/dconstant = x = 3 would be shown
    grad_column_end = header.index("grad") + len("grad")
    grads = [line[:grad_column_end].split()[-1] for line in rows]  # right-aligned under "grad"
    assert grads[0] == f"{x.grad:.6g}"
    assert lines[2 + len(report)] == report.summary
    assert report.summary.startswith("gradcheck of E: ")


def test_html_table_escapes_and_marks_failures():
    x = Value(1.0, label="<b>x</b>")
    E = x * x
    E.backward()
    x.grad = 0.0
    page = gradcheck(E)._repr_html_()
    assert page.startswith("<table") and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x" not in page
    assert page.count("<tr") == 1 + len(topological_order(E))
    assert "#f8d0d0" in page  # the failing row is coloured


def test_report_lookup():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    report = gradcheck(E)
    assert report["w"].node is w and report[w].node is w and report[0].node is x
    assert report["w"].label == "w" and report["s"].op == "+"
    with pytest.raises(LabelError, match="no row"):
        report["nope"]


# ---------------------------------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------------------------------
def test_compare_accepts_right_and_catches_wrong_hand_derivation():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    sig = h.data
    dE_ds = (-1 / sig + 2 * sig) * sig * (1 - sig)
    right = compare(E, {"w": dE_ds * x.data, "b": dE_ds, s: dE_ds})
    assert right.ok and [row.node for row in right] == [w, b, s]
    # forgetting sigmoid's derivative, a classic slip
    wrong = compare(E, {"w": (-1 / sig + 2 * sig) * x.data, "b": dE_ds})
    assert not wrong.ok
    (row,) = wrong.failures
    assert row.node is w and row.numeric == (-1 / sig + 2 * sig) * x.data and row.analytic == w.grad
    message = row.message()
    assert "'w'" in message and "you expected dE/dw" in message and "explain" in message
    with pytest.raises(GradientCheckError, match="'w'"):
        compare(E, {"w": 0.0}, raise_exception=True)


def test_compare_rounded_paper_numbers_pass_with_default_tolerance():
    x = Value(0.5, label="x")
    E = x.tanh()
    E.backward()
    assert compare(E, {"x": 0.7864}).ok  # 1 - tanh(0.5)^2 = 0.786448...
    assert not compare(E, {"x": 0.78}).ok


def test_compare_unknown_label_lists_labels():
    E, *_ = neuron_graph()
    E.backward()
    with pytest.raises(KeyError) as info:
        compare(E, {"ww": 1.0})
    message = str(info.value)
    assert isinstance(info.value, LabelError)
    assert "'ww'" in message and "did you mean 'w'" in message
    for label in ("E", "b", "h", "s", "w", "x"):
        assert label in message


def test_compare_shared_label_is_an_error_suggesting_the_node():
    a, b = Value(1.0, label="w"), Value(2.0, label="w")
    E = a * b
    E.backward()
    with pytest.raises(LabelError, match="used by 2 nodes") as info:
        compare(E, {"w": 2.0})
    assert "pass the node" in str(info.value)
    assert compare(E, {a: 2.0, b: 1.0}).ok
    assert compare(E, {"#1": 1.0}).ok  # by position, as the table shows it


def test_compare_matrix_of_nodes_against_matrix_of_numbers():
    xs, ys = [0.5, -1.0, 2.0], [1.5, 0.25]
    W = np.array([[Parameter(0.1 * (i + j), f"W{i}{j}") for j in range(2)] for i in range(3)], dtype=object)
    E = sum((W[i, j] * xs[i] * ys[j] for i in range(3) for j in range(2)), Value(0.0))
    E.backward()
    report = compare(E, [(W, np.outer(xs, ys))])  # dE/dW = x y^T
    assert report.ok and len(report) == 6
    assert report[3].key == "[1, 1]" and report[3].node is W[1, 1]
    wrong = compare(E, [(W, np.outer(xs, ys) * [[1, 1], [1, -1], [1, 1]])])
    assert [row.node for row in wrong.failures] == [W[1, 1]]
    lists = compare(E, [(W[1:].tolist(), np.outer(xs, ys)[1:].tolist()), ("W00", xs[0] * ys[0] + 1)])
    assert [row.key for row in lists.failures] == ["'W00'"]
    assert [row.key for row in lists][:2] == ["entry 1 [0, 0]", "entry 1 [0, 1]"]
    assert "given as" in str(lists)


def test_compare_bad_entries():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    with pytest.raises(ValueError, match="shape"):
        compare(E, [((x, w), [1.0, 2.0, 3.0])])
    with pytest.raises(ValueError, match="not part of the graph"):
        compare(E, {Value(1.0): 1.0})
    with pytest.raises(TypeError, match="real number"):
        compare(E, {"w": "0.5"})
    with pytest.raises(ValueError, match="twice"):
        compare(E, [("w", 1.0), (w, 1.0)])
    with pytest.raises(ValueError, match="empty"):
        compare(E, {})
    with pytest.raises(TypeError, match="keys"):
        compare(E, {3: 1.0})


# ---------------------------------------------------------------------------------------------------
# explain
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [neuron_graph, lambda: (tiny_mlp("sigmoid", seed=1, n_hidden=3),)])
def test_explain_terms_sum_to_grad_for_every_node(build):
    E = build()[0]
    E.backward()
    for node in topological_order(E):
        explanation = explain(node, E)
        if node is E:
            assert explanation.kind == "root" and explanation.total == 1.0 and not explanation.terms
            continue
        assert explanation.total == node.grad  # added in backward's order: bit for bit
        exact_sum = math.fsum(t.upstream * t.local for t in explanation.terms)
        assert exact_sum == pytest.approx(node.grad, rel=1e-12, abs=1e-15)
        for term in explanation.terms:
            assert term.upstream == term.consumer.grad
            assert term.local == term.consumer.local_grads[term.operand]
            assert term.consumer.parents[term.operand] is node
        assert explanation.agrees and "agrees" in str(explanation)


def test_explain_x_times_x_has_two_terms():
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    y.backward()
    explanation = explain(x, y)
    assert [t.operand for t in explanation.terms] == [0, 1]
    assert [t.value for t in explanation.terms] == [3.0, 3.0] and explanation.total == 6.0 == x.grad
    text = str(explanation)
    assert "operand 1" in text and "operand 2" in text and "dy/dx = 3 + 3 = 6" in text
    assert "leaf" in text


def test_explain_formulas_evaluate_to_the_stored_local_derivatives():
    """Each op's formula, read back with the expression parser, gives the engine's local derivative."""
    a, b = Value(1.7, label="a"), Value(0.6, label="b")
    consumers = [a + b, a * b, a**2, a**-1, a**0.5, a**b, 2**a, a.exp(), a.log(), a.sigmoid(), a.tanh()]
    for c in consumers:
        c.backward()
        for node in dict.fromkeys(c.parents):
            if node.role == "constant":
                continue
            (term,) = explain(node, c).terms
            if term.formula == "1":
                assert term.local == 1.0
                continue
            names_in_formula = term.formula.replace("tanh", "").replace("sigmoid", "")
            used = {name: value for name, value in {"a": 1.7, "b": 0.6}.items() if name in names_in_formula}
            formula_value = parse_expression(term.formula, used).data
            assert formula_value == pytest.approx(term.local, rel=1e-12), (c.op, term.formula)
            assert "\\" in term.latex or term.latex.isalnum() or "^" in term.latex


def test_explain_relu_formula_and_root_and_leaf_notes():
    x = Value(-0.5, label="x")
    r = x.relu()
    E = r + x * 2
    E.label = "E"
    E.backward()
    explanation = explain(x, E)
    relu_term = explanation.terms[0]
    assert relu_term.local == 0.0 and "1 if x > 0 else 0" in relu_term.formula
    assert relu_term.substituted == "(1 if (-0.5) > 0 else 0)"  # the op table's formula, numbers put in
    assert explanation.total == x.grad == 2.0
    root = explain(E, E)
    assert "root" in str(root) and "dE/dE = 1" in str(root)
    assert "leaf (input)" in str(explanation)


def test_explain_markdown_has_math():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    markdown = explain(s, E)._repr_markdown_()
    assert markdown.startswith("$$") and r"\frac{\partial E}{\partial s}" in markdown
    assert r"\sigma(s)" in markdown and "op `sigmoid`" in markdown
    assert explain(s, E).latex().startswith(r"\begin{aligned}")
    a = Value(2.0, label="w_1")
    y = a * 3
    y.backward()
    latex = explain(a, y).latex()
    assert r"\mathrm{w\_1}" in latex and r"\frac{\partial f}" in latex  # escaped label; unlabelled root f


def test_explain_needs_the_root_of_a_graph_that_holds_the_node():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    gradcheck(E)
    with pytest.raises(TypeError, match="root"):
        explain(h)  # nodes do not know their consumers, and nothing remembers the last root
    assert explain(h, E).root is E
    with pytest.raises(ValueError, match="not part of the graph"):
        explain(Value(1.0), E)
    with pytest.raises(TypeError, match="root Value"):
        explain(h, "E")


def test_explain_flags_stale_gradients():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    E.backward()  # leaves accumulate: w.grad is twice the chain-rule sum
    explanation = explain(w, E)
    assert not explanation.agrees and explanation.total * 2 == pytest.approx(w.grad)
    assert "DIFFERS" in str(explanation)


def test_explain_before_backward_is_an_error():
    E, x, *_ = neuron_graph()
    with pytest.raises(BackwardNeededError):
        explain(x, E)


def test_find_node():
    E, x, w, b, s, h = neuron_graph()
    assert find_node(E, "s") is s and find_node(E, "#0") is x
    with pytest.raises(LabelError, match="labels in this graph"):
        find_node(E, "q")


# ---------------------------------------------------------------------------------------------------
# random expressions
# ---------------------------------------------------------------------------------------------------
UNARY = [
    lambda v: v.tanh(),
    lambda v: v.sigmoid(),
    lambda v: v.relu() + v * 0.1,
    lambda v: v.tanh().exp(),
    lambda v: v.sigmoid().log(),
    lambda v: v * v,
    lambda v: (v * v + 1) ** 0.5,
]
BINARY = [
    lambda p, q: p + q,
    lambda p, q: p * q,
    lambda p, q: p - q,
    lambda p, q: p / (q.sigmoid() + 0.5),
]


@st.composite
def random_graphs(draw):
    leaves = [Value(draw(st.floats(-2, 2)), label=f"v{i}") for i in range(3)]
    pool = list(leaves)
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            pool.append(draw(st.sampled_from(UNARY))(draw(st.sampled_from(pool))))
        else:
            pool.append(draw(st.sampled_from(BINARY))(draw(st.sampled_from(pool)), draw(st.sampled_from(pool))))
    return pool[-1] + pool[len(leaves)] * 0.5  # reuse an early node: shared subexpressions


@settings(max_examples=40, deadline=None)
@given(random_graphs())
def test_random_graphs_pass_and_are_restored(root):
    root.backward()
    before = snapshot(root)
    report = gradcheck(root)
    assert report.ok, report.failure_message()
    assert snapshot(root) == before
    for node in topological_order(root)[:3]:
        if node is not root:
            assert explain(node, root).total == pytest.approx(node.grad, rel=1e-12, abs=1e-15)


def test_explain_latex_never_repeats_a_step():
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    s = x + y
    s.label = "s"
    E = s * s
    E.backward()
    steps = [step.strip() for step in explain(x, E).latex().split(r"\\")]
    assert len(steps) == len(set(steps)), steps
    assert steps[-1].startswith("&= 10")
