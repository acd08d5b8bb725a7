"""Backward semantics, shared operands, deep graphs, the walk, replay and the known micrograd example."""

from __future__ import annotations

import math
import sys

import pytest

from autograd import Constant, Parameter, Value, check_toposort, replay, scope, topological_order, zero_grad


def test_issue_example_every_gradient_in_closed_form():
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    s = x * w + b
    h = s.sigmoid()
    E = -h.log()
    E.backward()
    sig = 1 / (1 + math.exp(5.0))
    # E = -log(sigmoid(s)); dE/dh = -1/h; dE/ds = -(1 - h); dE/dx = dE/ds * w; dE/dw = dE/ds * x
    assert h.grad == pytest.approx(-1 / sig, rel=1e-12)
    assert s.grad == pytest.approx(-(1 - sig), rel=1e-12)
    assert x.grad == pytest.approx(-(1 - sig) * -3.0, rel=1e-12)
    assert w.grad == pytest.approx(-(1 - sig) * 2.0, rel=1e-12)
    assert b.grad == pytest.approx(-(1 - sig), rel=1e-12)
    assert E.grad == 1.0


def test_micrograd_sanity_check_published_values():
    # The expression from micrograd's test_sanity_check / README, with its published results.
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert g.data == pytest.approx(24.7041, abs=5e-5)
    assert a.grad == pytest.approx(138.8338, abs=5e-5)
    assert b.grad == pytest.approx(645.5773, abs=5e-5)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda x: x * x, lambda v: 2 * v),
        (lambda x: x - x, lambda v: 0.0),
        (lambda x: x / x, lambda v: 0.0),
        (lambda x: x + x + x, lambda v: 3.0),
        (lambda x: x * x * x, lambda v: 3 * v * v),
        (lambda x: (x * 2.0) * (x + 1.0), lambda v: 4 * v + 2.0),  # a diamond: x feeds both factors
    ],
    ids=["x*x", "x-x", "x/x", "x+x+x", "x*x*x", "diamond"],
)
def test_shared_operands_are_exact(make, expected):
    x = Value(1.7)
    make(x).backward()
    assert x.grad == pytest.approx(expected(1.7), abs=1e-12)


def test_x_times_x_lists_x_twice():
    x = Value(3.0)
    y = x * x
    assert y.parents == (x, x)


def test_intermediate_grads_are_fresh_and_leaves_accumulate():
    x = Value(3.0, label="x")
    h = x * x
    y = h * 2.0
    y.backward()
    assert (h.grad, x.grad) == (2.0, 12.0)
    y.backward()  # a second pass: h is recomputed, not doubled; x accumulates like in PyTorch
    assert (h.grad, x.grad) == (2.0, 24.0)
    zero_grad(y)
    assert (y.grad, h.grad, x.grad) == (0.0, 0.0, 0.0)
    y.backward()
    assert x.grad == 12.0


def test_backward_from_an_inner_node_then_the_root_is_not_stale():
    x = Value(2.0)
    h = x.exp()
    y = h * 3.0
    h.backward()  # h's own pass sets h.grad = 1
    zero_grad(y)
    y.backward()
    assert h.grad == 3.0
    assert x.grad == pytest.approx(3 * math.exp(2.0))


def test_backward_of_a_leaf():
    x = Value(5.0)
    x.backward()
    assert x.grad == 1.0


def test_deep_chain_of_a_million_ops_without_recursion():
    assert sys.getrecursionlimit() <= 10_000
    x, c, d = Value(1.0, label="x"), Value(1.0000001), Value(0.0)
    y = x
    for _ in range(500_000):
        y = y * c + d  # two ops a step: 1,000,000 ops
    y.backward()
    assert y.data == pytest.approx(1.0000001**500_000, rel=1e-9)
    assert x.grad == pytest.approx(1.0000001**500_000, rel=1e-9)
    c_n = 1.0000001**500_000
    assert d.grad == pytest.approx((c_n - 1) / (1.0000001 - 1), rel=1e-6)  # sum of c^k, k < N


def test_topological_order_parents_first_and_each_node_once():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert len(order) == len(set(order)) == 5  # a, b, c, d, e: c is used twice but listed once
    check_toposort(order)
    assert order[-1] is e


def test_check_toposort_rejects_a_bad_order():
    a = Value(1.0)
    b = a.exp()
    with pytest.raises(AssertionError, match="parent"):
        check_toposort([b, a])


def test_replay_only_downstream_of_changed_nodes_and_keeps_hand_set_values():
    x, y = Value(1.0), Value(2.0)
    h = x * y
    out = h + y.exp()
    h.data = 10.0  # nudge an intermediate node, as the gradient checker does
    assert replay(out, changed=[h]) == pytest.approx(10.0 + math.exp(2.0))
    assert h.data == 10.0


def test_replay_failure_changes_nothing():
    x = Value(2.0, label="x")
    h = x - 1.0
    out = h.log() * 3.0
    before = [n.data for n in topological_order(out)]
    x.data = 0.5  # h becomes -0.5: log fails
    with pytest.raises(ValueError, match="log"):
        replay(out)
    x.data = 2.0
    assert [n.data for n in topological_order(out)] == before
    out.backward()
    assert x.grad == pytest.approx(3.0)


def test_roles_and_scopes():
    w = Parameter(0.5, "w")
    x = Value(2.0, "x")
    with scope("L1"):
        with scope("n2"):
            y = w * x + 1.0
    assert w.role == "parameter" and x.role == "input" and y.role == "operation"
    assert y.parents[1].role == "constant" and isinstance(y.parents[1], Constant)
    assert y.scope == "L1.n2" and y.parents[0].scope == "L1.n2" and x.scope == ""
    (w * x).backward()
    assert w.grad == 2.0


def test_values_hash_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert len({a, b}) == 2 and a != b


def test_numpy_scalars_are_accepted():
    np = pytest.importorskip("numpy")
    v = Value(np.float32(1.5)) * np.float64(2.0) + np.int64(1)
    assert type(v.data) is float and v.data == 4.0
