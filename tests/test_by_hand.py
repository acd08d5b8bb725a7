"""Backpropagation by hand (issue 18, items 1-3): hand-set grads are marked and kept, micrograd's
lecture internals (``_prev``, ``_op``, ``_backward()``), and ``grade`` against closed forms."""

from __future__ import annotations

import copy
import math
import pickle

import pytest

import autograd
from autograd import Parameter, Value, replay, topological_order, zero_grad
from autograd.check import BackwardNeededError, GradientCheckError, compare, gradcheck, grade


def lecture():
    """micrograd's lecture graph: L = (a*b + c) * f."""
    a, b, c, f = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c"), Value(-2.0, label="f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    return a, b, c, d, e, f, L


def neuron():
    """The lecture's neuron: o = tanh(x1 w1 + x2 w2 + b)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    return (x1, x2, w1, w2, b), o


# -- 1. the marker ---------------------------------------------------------------------------------
def test_a_grad_written_by_the_user_is_marked_hand_set():
    a, b, c, d, e, f, L = lecture()
    assert (L.grad_source, L.grad_pass) == ("none", 0)
    f.grad = 4.0
    assert (f.grad_source, f.grad_pass, f.grad) == ("hand", -1, 4.0)
    L.backward()
    assert all(n.grad_source == "backward" and n.grad_pass == L.grad_pass > 0 for n in topological_order(L))


def test_backward_replaces_a_computed_nodes_hand_grad_and_a_leaf_adds_to_it():
    a, b, c, d, e, f, L = lecture()
    d.grad, f.grad = 100.0, 0.5  # a computed node and a leaf
    L.backward()
    assert d.grad == -2.0  # dL/dd = f
    assert f.grad == 0.5 + 4.0  # a leaf accumulates: the hand-set grad is its start


def test_zeroing_clears_the_marker_everywhere_zero_is_written():
    from nn import MLP, SGD

    a, b, c, d, e, f, L = lecture()
    for node in (a, d, L):
        node.grad = 3.0
    zero_grad(L)
    assert {n.grad_source for n in topological_order(L)} == {"none"}
    model = MLP(2, [2, 1])
    for p in model.parameters():
        p.grad = 1.0
    model.zero_grad()
    assert {p.grad_source for p in model.parameters()} == {"none"}
    opt = SGD(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = 1.0
    opt.zero_grad()
    assert {(p.grad, p.grad_source) for p in model.parameters()} == {(0.0, "none")}


def test_replay_forgets_backward_grads_but_keeps_hand_set_ones():
    a, b, c, d, e, f, L = lecture()
    L.backward()
    d.grad = -2.0
    a.data = 3.0
    replay(L)
    assert d.grad_source == "hand" and d.grad == -2.0
    assert L.grad_source == "none" and a.grad_source == "none"


def test_the_marker_survives_pickle_and_deepcopy():
    a, b, c, d, e, f, L = lecture()
    L.backward()
    d.grad = 5.0
    for twin in (pickle.loads(pickle.dumps(L)), copy.deepcopy(L)):
        sources = {n.label: n.grad_source for n in topological_order(twin)}
        assert sources["d"] == "hand" and sources["L"] == "backward" == sources["a"]
        assert gradcheck(twin).failures[0].name == "d"  # not called stale


def test_gradients_and_grad_change_no_marker():
    a, b, c, d, e, f, L = lecture()
    d.grad = 7.0
    autograd.engine.gradients(L, [a, d])
    autograd.grad(L, [a])
    assert (d.grad, d.grad_source, a.grad_source) == (7.0, "hand", "none")


def test_gradcheck_after_backward_checks_a_hand_set_grad_instead_of_refusing():
    a, b, c, d, e, f, L = lecture()
    L.backward()
    e.grad = 3.0  # wrong by hand
    report = gradcheck(L)
    assert report.stale is None
    assert [r.name for r in report.failures] == ["e"]
    assert "set by hand" in report["e"].note


def test_gradcheck_of_a_graph_differentiated_only_by_hand_points_to_grade():
    a, b, c, d, e, f, L = lecture()
    L.grad, d.grad = 1.0, -2.0
    with pytest.raises(BackwardNeededError, match=r"set by hand \(d, L\).*grade\(root\)"):
        gradcheck(L)


# -- 2. micrograd's internals ----------------------------------------------------------------------
def test_prev_and_op_read_as_in_micrograd():
    a, b, c, d, e, f, L = lecture()
    assert d._prev == {e, c} and d._op == "+"
    assert a._prev == set() and a._op == ""
    x = Value(3.0)
    assert (x * x)._prev == {x}
    assert (x**2)._op == "**2"


def test_backward_node_by_node_gives_exactly_what_backward_gives():
    _, o = neuron()
    expected = {}
    o.backward()
    for node in topological_order(o):
        expected[node] = node.grad
    zero_grad(o)
    o.grad = 1.0
    for node in reversed(topological_order(o)):
        node._backward()
    for node, grad in expected.items():
        assert node.grad == grad  # exactly, bit for bit
        assert node.grad_source == "hand"
    (x1, x2, w1, w2, b) = _
    assert w2.grad == 0.0 and abs(x2.grad - 0.5) < 1e-6 and abs(b.grad - 0.5) < 1e-6  # the lecture's numbers


def test_backward_node_by_node_on_shared_nodes():
    x = Value(1.5, label="x")
    y = (x * x + x.exp() * x).tanh() / (x + 2.0)
    y.backward()
    want = [n.grad for n in topological_order(y)]
    zero_grad(y)
    y.grad = 1.0
    for node in reversed(topological_order(y)):
        node._backward()
    assert [n.grad for n in topological_order(y)] == want


def test_a_leafs_backward_step_does_nothing():
    x = Value(2.0)
    x.grad = 3.0
    x._backward()
    assert x.grad == 3.0


@pytest.mark.parametrize("name, hint", [("_children", "_prev")])
def test_a_micrograd_name_chainrule_lacks_names_the_equivalent(name, hint):
    with pytest.raises(AttributeError, match=hint):
        getattr(Value(1.0), name)
    assert not hasattr(Value(1.0), name)


@pytest.mark.parametrize("make", [
    lambda a, b: Value(3.0, (a, b), "+"),
    lambda a, b: Value(3.0, (a, b)),
    lambda a, b: Value(3.0, _children=(a, b), _op="+"),
    lambda a, b: Value(3.0, label="c", _op="+"),
    lambda a, b: Parameter(3.0, {a, b}),
], ids=["positional", "children only", "keywords", "op keyword", "a set, on Parameter"])
def test_micrograds_constructor_says_how_chainrule_makes_nodes(make):
    # Both engines once gave their own compiler's message ("takes at most 2 positional arguments",
    # "unexpected keyword argument '_children'") or called the tuple a bad label.
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(TypeError, match=r"Value\(data, label=''\) takes a number and a label, got also .*"
                                        r"made by an operation \(c = a \+ b records a and b as c\._prev"):
        make(a, b)
    assert Value(3.0, "c").label == "c" and Value(3.0, label="c").op == ""  # the constructor itself is unchanged


def test_draw_dot_is_importable_under_the_lectures_name():
    from autograd.viz import draw_dot

    a, b, c, d, e, f, L = lecture()
    drawing = draw_dot(L)
    assert "rankdir=LR" in drawing.source


# -- 3. grade -------------------------------------------------------------------------------------------
def test_grade_the_lectures_numbers_right():
    a, b, c, d, e, f, L = lecture()
    L.grad, f.grad, d.grad, e.grad, c.grad, a.grad, b.grad = 1.0, 4.0, -2.0, -2.0, -2.0, 6.0, -4.0
    report = grade(L)
    assert report.ok and len(report.answered) == 7 and not report.unanswered
    assert [r.verdict for r in report] == ["right"] * 7


def test_grade_changes_nothing():
    a, b, c, d, e, f, L = lecture()
    d.grad = 3.0
    before = [(n.data, n.grad, n.grad_pass, n.local_grads) for n in topological_order(L)]
    grade(L)
    assert [(n.data, n.grad, n.grad_pass, n.local_grads) for n in topological_order(L)] == before


def test_grade_a_wrong_step_and_a_wrong_upstream():
    a, b, c, d, e, f, L = lecture()
    L.grad, d.grad, e.grad = 1.0, 3.0, 3.0  # d is wrong here (dL/dd = f = -2); e follows from d
    report = grade(L)
    assert not report.ok
    assert [r.name for r in report.failures] == ["e", "d"]
    assert {r.name for r in report.unanswered} == {"a", "b", "c", "f"}
    row_d, row_e = report["d"], report["e"]
    assert (row_d.analytic, row_d.numeric) == (3.0, -2.0)
    assert "∂L/∂d = ∂L/∂L · ∂L/∂d = 1 · f = 1 · (-2) = -2, you wrote 3" in row_d.note
    assert "mistake is in this step" in row_d.note
    assert "∂L/∂e = ∂L/∂d · ∂d/∂e = 3 · 1 = 3, you wrote 3" in row_e.note
    assert "mistake is upstream, at d (you wrote 3, true -2)" in row_e.note
    assert row_d.note in row_d.message() and "wrong" == row_d.verdict
    text = str(report)
    assert "WRONG" in text and "unanswered" in text and "2 of 4" not in text and "1 of 3" in text
    assert "<table" in report._repr_html_()
    with pytest.raises(GradientCheckError):
        grade(L, raise_exception=True)


def test_unanswered_rows_do_not_show_the_true_value():
    a, b, c, d, e, f, L = lecture()
    L.grad = 1.0
    report = grade(L)
    assert report.ok
    assert all(math.isnan(r.numeric) for r in report.unanswered)
    headers, body, _ = report._columns()
    true = headers.index("true")
    assert [cells[true] for cells in body] == ["-"] * 6 + ["1"]


def test_grade_against_closed_forms_neuron():
    (x1, x2, w1, w2, b), o = neuron()
    t = math.tanh(x1.data * w1.data + b.data)
    o.grad = 1.0
    w1.grad = x1.data * (1 - t * t)
    x1.grad = w1.data * (1 - t * t) * 1.0001  # off by 1e-4, relative
    b.grad = 1 - t * t
    report = grade(o)
    assert report["w1"].verdict == "right" and report["b"].verdict == "right"
    assert report["x1"].verdict == "wrong"
    assert grade(o, rtol=1e-3)["x1"].verdict == "right"


def test_grade_a_shared_node_sums_its_consumers():
    x = Value(3.0, label="x")
    y = x * x + 2.0 * x  # dy/dx = 2x + 2 = 8
    y.label = "y"
    y.grad = 1.0
    x.grad = 6.0  # forgot the second use
    row = grade(y)["x"]
    assert row.verdict == "wrong" and row.numeric == 8.0
    assert "+" in row.note and row.note.endswith("in this step")


def test_grade_of_a_stale_graph_says_replay():
    a, b, c, d, e, f, L = lecture()
    d.grad = -2.0
    a.data = 5.0
    report = grade(L)
    assert not report.ok and report.stale is not None
    assert "autograd.replay(root); grade(root)" in str(report)
    replay(L)
    assert grade(L).ok


def test_grade_with_a_wrong_root():
    a, b, c, d, e, f, L = lecture()
    L.grad = 2.0
    row = grade(L)["L"]
    assert row.verdict == "wrong" and "∂L/∂L = 1" in row.note


def test_compare_still_reads_backward_grads():
    a, b, c, d, e, f, L = lecture()
    L.backward()
    assert compare(L, {"a": 6.0}).ok


def test_parameters_are_graded_too():
    w = Parameter(2.0, label="w")
    y = w * w
    w.grad = 4.0
    assert grade(y)["w"].verdict == "right"


def test_gradcheck_table_marks_a_hand_set_grad():
    a, b, c, d, e, f, L = lecture()
    L.backward()
    e.grad = -2.0  # the right number, set by hand
    report = gradcheck(L)
    assert report.ok
    assert "-2 (by hand)" in str(report) and "(by hand)" in report._repr_html_()


def test_explain_never_shows_a_hand_set_grad_as_the_upstream_derivative():
    # After backward, the learner overwrites h.grad with a wrong number. explain(x) must still write
    # d y/d h as the chain rule's number (it once wrote 0.5 there, and a sum built on it), and say what
    # h.grad holds.
    from autograd.check import explain

    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    h = x * w
    h.label = "h"
    y = h.tanh()
    y.label = "y"
    y.backward()
    true_dy_dh, dy_dx = h.grad, x.grad
    assert true_dy_dh == pytest.approx(1.0 - math.tanh(-6.0) ** 2, rel=1e-12)
    h.grad = 0.5
    explanation = explain(x, y)
    (term,) = explanation.terms
    assert term.upstream == true_dy_dh and term.held == 0.5
    assert explanation.total == dy_dx and explanation.agrees
    text = str(explanation)
    assert "h.grad holds 0.5, set by hand" in text and "0.5 * w" not in text
    assert "h.grad holds 0.5" in explanation._repr_markdown_()
    # grads that the backward pass wrote are the upstream numbers themselves
    zero_grad(y)
    y.backward()
    assert explain(x, y).terms[0].held is None and explain(x, y).terms[0].upstream == h.grad
