"""gradcheck's step: a correct gradient at any finite input in an op's domain is never a failure.

The first step is ``eps * max(1, |x|)``; at a value such as 1e-5 under ``log`` it measures a secant
(0.3 % off), and at 1e-8 under ``1/x`` it crosses 0. Smaller (or, where rounding of a large value
swamps it, larger) steps follow until two neighbours settle the verdict, so these tests sweep every
primitive over values from 1e-8 to 1e8 of either sign, with the gradient right (never a failure) and
wrong (always a failure), in both methods.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from autograd import Value
from autograd.check import gradcheck

MODES = ("end-to-end", "local")
MAGNITUDES = [sign * 10.0**e for e in range(-8, 9) for sign in (1.0, -1.0)]

UNARY = {
    "log": lambda x: x.log(),
    "1/x": lambda x: 1 / x,
    "x**-2": lambda x: x**-2,
    "x**0.5": lambda x: x**0.5,
    "x**1.5": lambda x: x**1.5,
    "x**3": lambda x: x**3,
    "exp": lambda x: x.exp(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "neg": lambda x: -x,
    "x*x": lambda x: x * x,
    "2**x": lambda x: Value(2.0) ** x,
    "x**v": lambda x: x ** Value(1.5),
    # the graph downstream changes on another scale than the value's
    "(x+1000)**2": lambda x: (x + 1000) ** 2,
    "log(x+1)": lambda x: (x + 1).log(),
    "(x+1e4)-1e4": lambda x: (x + 1e4) - 1e4,
}
BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}


def _graphs(build, values):
    """The leaves and root of ``build`` at ``values``, after backward; None outside the op's domain."""
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    try:
        root = build(*leaves)
        root.backward()
    except (ArithmeticError, ValueError):
        return None
    return leaves, root


def _sweep(build, points, mode):
    """(rows that failed with the right gradient, leaves whose wrong gradient was not failed)."""
    wrongly_failed, missed = [], []
    for values in points:
        graph = _graphs(build, values)
        if graph is None:
            continue
        leaves, root = graph
        report = gradcheck(root, mode=mode)
        wrongly_failed += [(values, row.name, row.analytic, row.numeric) for row in report.failures]
        for leaf in leaves:
            right = leaf.grad
            if abs(right) < 1e-2:  # below atol + rtol * |grad| a wrong one can be within tolerance
                continue
            for wrong in (right * 1.01, -right):
                leaf.grad = wrong
                row = gradcheck(root, mode=mode, nodes=[leaf]).rows[0]
                leaf.grad = right
                if row.status != "fail":
                    missed.append((values, leaf.label, right, wrong, row.status, row.numeric))
    return wrongly_failed, missed


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(UNARY))
def test_every_unary_op_from_1e_minus_8_to_1e8(name, mode):
    wrongly_failed, missed = _sweep(UNARY[name], [(v,) for v in MAGNITUDES], mode)
    assert wrongly_failed == [] and missed == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(BINARY))
def test_every_binary_op_with_operands_of_any_size(name, mode):
    values = [sign * 10.0**e for e in range(-8, 9, 4) for sign in (1.0, -1.0)] + [0.5, -2.0, 3.0]
    points = [(a, b) for a in values for b in values]
    wrongly_failed, missed = _sweep(BINARY[name], points, mode)
    assert wrongly_failed == [] and missed == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name,build", [("log", UNARY["log"]), ("1/x", UNARY["1/x"]), ("x**-2", UNARY["x**-2"]), ("x**0.5", UNARY["x**0.5"])])
def test_the_reported_cases_pass_with_the_right_number(name, build, mode):
    for x in (1e-5, 1e-8):
        leaf = Value(x, label="x")
        root = build(leaf)
        root.backward()
        row = gradcheck(root, mode=mode)["x"]
        assert row.status == "ok", (name, x, row)
        assert row.numeric == pytest.approx(leaf.grad, rel=1e-5)  # the settled step's number, not the secant


def test_a_wrong_gradient_that_matches_the_first_steps_secant_still_fails():
    x = Value(1e-5, label="x")
    E = x.log()
    E.backward()
    # the first step (1e-6 beside 1e-5) gives 100335, 0.34 % above the true 1e5
    x.grad = 100335.34773107617
    row = gradcheck(E, mode="end-to-end")["x"]
    assert row.status == "fail" and row.numeric == pytest.approx(1e5, rel=1e-6)


def test_rounding_of_a_large_value_is_not_blamed_on_the_gradient():
    x = Value(1e-8, label="x")
    E = x + 1e8  # a step of 1e-6 is rounded to a multiple of 1.5e-8 in the sum: 0.16 % off
    E.backward()
    for mode in MODES:
        row = gradcheck(E, mode=mode)["x"]
        assert row.status == "ok" and row.numeric == pytest.approx(1.0, rel=1e-5)


def test_a_derivative_no_step_can_measure_is_imprecise_not_failed():
    # d sigmoid(x)/dx = 0.25 on top of 6.8e13, whose rounding (0.016) swamps every step below about 0.3,
    # while steps above it measure a secant of the sigmoid
    x = Value(-0.023854173173184126, label="x")
    E = x.sigmoid() + 67673689240792.4
    E.backward()
    report = gradcheck(E, mode="end-to-end")
    row = report["x"]
    assert report.ok and row.status == "imprecise" and "rounding" in row.note
    assert "imprecise" in report.summary and row in report.skipped
    # a wrong gradient cannot be told from the right one here either: the row says so, it does not pass
    x.grad = -5.0
    assert gradcheck(E, mode="end-to-end")["x"].status == "imprecise"


def test_local_method_cancelling_terms_are_imprecise_where_end_to_end_is_exact():
    x = Value(1e-8, label="x")
    E = x / x  # d/dx = 1e8 - 1e8 = 0, each term measured to about 1e-4 of 1e8
    E.backward()
    assert gradcheck(E, mode="end-to-end")["x"].status == "ok"
    row = gradcheck(E, mode="local")["x"]
    assert row.status == "imprecise" and "cancel" in row.note
    x.grad = 1e6  # far outside what the measured terms allow
    assert gradcheck(E, mode="local")["x"].status == "fail"


@pytest.mark.parametrize("x", ["0.00001", "1e-300"])
def test_cli_check_of_log_at_a_small_value_exits_0(x):
    result = subprocess.run(
        [sys.executable, "-m", "nn.cli", "check", "log(x)", f"x={x}"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout


def test_steps_near_zero_never_cross_into_a_wrong_number():
    # at 1e-8 the first step (1e-6) crosses 0: 1/x's secant there is +1e12 where the slope is -1e16
    x = Value(1e-8, label="x")
    E = 1 / x
    E.backward()
    row = gradcheck(E, mode="end-to-end")["x"]
    assert row.status == "ok" and row.numeric == pytest.approx(-1e16, rel=1e-5)
    assert math.copysign(1.0, row.numeric) == -1.0
