"""Bad input gives a clear error that names the problem and the node, and loses nothing."""

from __future__ import annotations

import math

import pytest

from autograd import Value, replay, topological_order, zero_grad


@pytest.mark.parametrize("bad", ["1.0", None, 1 + 2j, [1.0], object(), True], ids=repr)
def test_non_numbers_are_type_errors_that_say_what_was_given(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_are_value_errors(bad):
    with pytest.raises(ValueError, match="finite"):
        Value(bad)


def test_bad_operands_and_exponents():
    x = Value(1.0, "x")
    with pytest.raises(TypeError, match="str"):
        x + "2"
    with pytest.raises(TypeError, match="str"):
        x * "2"
    with pytest.raises(TypeError, match="exponent"):
        x ** "2"
    with pytest.raises(ValueError, match="finite"):
        x * math.inf


def graph():
    """A small graph and a snapshot of every node's data, grad and parents."""
    x = Value(0.5, label="x")
    h = (x * 2.0 - 1.0).tanh()
    h.label = "h2"
    out = h * 3.0 + x
    out.backward()
    snapshot = [(n, n.data, n.grad, n.parents, n.local_grads) for n in topological_order(out)]
    return x, h, out, snapshot


def assert_unchanged(out, snapshot):
    assert [(n, n.data, n.grad, n.parents, n.local_grads) for n in topological_order(out)] == snapshot
    zero_grad(out)
    out.backward()  # still works, with the same numbers
    assert [(n.data, n.grad) for n in topological_order(out)] == [(d, g) for _, d, g, _, _ in snapshot]


@pytest.mark.parametrize(
    "bad_op, error, words",
    [
        (lambda h: (h - 1.0).log(), ValueError, ["log() needs a positive input", "-1"]),
        (lambda h: h.log(), ValueError, ["log() needs a positive input", "'h2'"]),
        (lambda h: (h + 1000.0).exp(), OverflowError, ["exp()", "1000"]),
        (lambda h: h / 0.0, ZeroDivisionError, ["division by zero"]),
        (lambda h: (h * 0.0) ** -2, ZeroDivisionError, ["0 ** -2"]),
        (lambda h: (h - 1.0) ** 0.5, ValueError, ["fractional power"]),
        (lambda h: (h - 1.0) ** Value(2.0), ValueError, ["positive base"]),
        (lambda h: (h + 1e300) * 1e300, OverflowError, ["overflows"]),
        (lambda h: Value(1e308) + 1e308, OverflowError, ["overflows"]),
        (lambda h: (h + 100.0) ** 1000, OverflowError, ["overflows"]),
    ],
    ids=["log-neg", "log-zero-labelled", "exp-overflow", "div-zero", "zero-neg-power", "neg-frac-power",
         "pow-neg-base", "mul-overflow", "add-overflow", "pow-overflow"],
)
def test_domain_errors_are_clear_and_lose_nothing(bad_op, error, words):
    x, h, out, snapshot = graph()
    if "h2" in words[-1]:
        h.data = 0.0  # make log(h) hit zero exactly
        replay(out)
        snapshot = [(n, n.data, n.grad, n.parents, n.local_grads) for n in topological_order(out)]
    with pytest.raises(error) as info:
        bad_op(h)
    for word in words:
        assert word in str(info.value)
    assert_unchanged(out, snapshot)


def test_log_error_names_the_node_and_its_op():
    h = Value(-1.0, label="h2") + 0.0
    h.label = "h2"
    with pytest.raises(ValueError, match=r"log\(\) needs a positive input, got -1.0 at node 'h2' \(op '\+'"):
        h.log()


def test_sigmoid_is_stable_for_any_finite_input():
    for a in (-1000.0, -745.0, -50.0, 0.0, 50.0, 1000.0, 1e308, -1e308):
        x = Value(a)
        s = x.sigmoid()
        s.backward()
        assert 0.0 <= s.data <= 1.0
        assert math.isfinite(x.grad)
    low = Value(-1000.0).sigmoid()
    assert low.data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(-30.0).sigmoid().data == pytest.approx(1 / (1 + math.exp(30.0)), rel=1e-14)


def test_tanh_is_stable_for_large_inputs():
    x = Value(-1000.0)
    t = x.tanh()
    t.backward()
    assert t.data == -1.0 and x.grad == 0.0


def test_gradient_overflow_is_reported_and_leaf_grads_restored():
    a = Value(1e-300, label="a")
    z = a.log() * 1e10  # finite forward (about -6.9e12), but dz/da = 1e10 / 1e-300 overflows
    a.grad = 0.25
    with pytest.raises(FloatingPointError, match="node 'a'.*not a finite float"):
        z.backward()
    assert a.grad == 0.25
