"""Every operation, one catalog row each: forward value, analytic gradient, central difference.

Adding an op to the engine means adding a row here: its function on Values, the same function on
floats, and its derivatives written by hand.
"""

from __future__ import annotations

import math
from typing import Callable

import pytest

from autograd import Value, replay


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# name, f(Values), f(floats), hand-written partial derivatives (floats -> tuple), input points
CATALOG: list[tuple[str, Callable, Callable, Callable, list[tuple[float, ...]]]] = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, lambda a, b: (1.0, 1.0), [(2.0, -3.0), (0.5, 0.25)]),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, lambda a, b: (b, a), [(2.0, -3.0), (-0.5, 4.0)]),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, lambda a, b: (1.0, -1.0), [(2.0, -3.0), (1.5, 1.5)]),
    ("div", lambda a, b: a / b, lambda a, b: a / b, lambda a, b: (1 / b, -a / b**2), [(2.0, -3.0), (1.0, 0.5)]),
    ("neg", lambda a: -a, lambda a: -a, lambda a: (-1.0,), [(2.0,), (-0.3,)]),
    ("square", lambda a: a**2, lambda a: a**2, lambda a: (2 * a,), [(3.0,), (-1.5,)]),
    ("cube", lambda a: a**3, lambda a: a**3, lambda a: (3 * a**2,), [(-2.0,), (0.7,)]),
    ("reciprocal", lambda a: a**-1, lambda a: a**-1, lambda a: (-(a**-2),), [(2.0,), (-0.5,)]),
    ("sqrt", lambda a: a**0.5, lambda a: a**0.5, lambda a: (0.5 * a**-0.5,), [(4.0,), (0.3,)]),
    ("pow0", lambda a: a**0, lambda a: 1.0, lambda a: (0.0,), [(4.0,), (-2.0,)]),
    ("pow", lambda a, b: a**b, lambda a, b: a**b, lambda a, b: (b * a ** (b - 1), a**b * math.log(a)), [(2.0, 3.0), (0.5, -1.5)]),
    ("rpow", lambda b: 2.0**b, lambda b: 2.0**b, lambda b: (2.0**b * math.log(2.0),), [(3.0,), (-0.5,)]),
    ("exp", lambda a: a.exp(), math.exp, lambda a: (math.exp(a),), [(0.0,), (1.5,), (-2.0,)]),
    ("log", lambda a: a.log(), math.log, lambda a: (1 / a,), [(1.0,), (0.1,), (7.0,)]),
    ("sigmoid", lambda a: a.sigmoid(), sig, lambda a: (sig(a) * (1 - sig(a)),), [(0.0,), (2.0,), (-3.0,)]),
    ("tanh", lambda a: a.tanh(), math.tanh, lambda a: (1 - math.tanh(a) ** 2,), [(0.0,), (0.5,), (-2.0,)]),
    ("relu", lambda a: a.relu(), lambda a: max(a, 0.0), lambda a: (1.0 if a > 0 else 0.0,), [(1.5,), (-0.5,)]),
    ("radd", lambda a: 3 + a, lambda a: 3 + a, lambda a: (1.0,), [(1.0,)]),
    ("rsub", lambda a: 3 - a, lambda a: 3 - a, lambda a: (-1.0,), [(1.0,)]),
    ("rmul", lambda a: 3 * a, lambda a: 3 * a, lambda a: (3.0,), [(1.0,)]),
    ("rdiv", lambda a: 3 / a, lambda a: 3 / a, lambda a: (-3 / a**2,), [(2.0,)]),
]

ROWS = [pytest.param(f, g, d, x, id=f"{name}{x}") for name, f, g, d, xs in CATALOG for x in xs]


def central_difference(g: Callable, x: tuple[float, ...], i: int, h: float = 1e-6) -> float:
    up, down = list(x), list(x)
    up[i] += h
    down[i] -= h
    return (g(*up) - g(*down)) / (2 * h)


@pytest.mark.parametrize("f, g, d, x", ROWS)
def test_forward_value(f, g, d, x):
    out = f(*[Value(v) for v in x])
    assert out.data == pytest.approx(g(*x), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("f, g, d, x", ROWS)
def test_gradient_matches_hand_derivative_and_central_difference(f, g, d, x):
    leaves = [Value(v) for v in x]
    out = f(*leaves)
    out.backward()
    expected = d(*x)
    for i, leaf in enumerate(leaves):
        assert leaf.grad == pytest.approx(expected[i], rel=1e-12, abs=1e-12)
        assert leaf.grad == pytest.approx(central_difference(g, x, i), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("f, g, d, x", ROWS)
def test_replay_recomputes_value_and_gradient_at_a_new_point(f, g, d, x):
    leaves = [Value(v) for v in x]
    out = f(*leaves)
    moved = tuple(v * 1.1 + 0.05 for v in x)
    for leaf, v in zip(leaves, moved):
        leaf.data = v
    assert replay(out) == pytest.approx(g(*moved), rel=1e-12)
    out.backward()
    for i, leaf in enumerate(leaves):
        assert leaf.grad == pytest.approx(d(*moved)[i], rel=1e-12, abs=1e-12)


def test_primitives_record_their_op_names():
    a, b = Value(2.0), Value(3.0)
    made = {
        "+": a + b, "*": a * b, "**2": a**2, "**-1": a**-1, "**0.5": a**0.5, "pow": a**b,
        "exp": a.exp(), "log": a.log(), "sigmoid": a.sigmoid(), "tanh": a.tanh(), "relu": a.relu(),
    }
    for op, node in made.items():
        assert node.op == op
    assert a.op == "" and a.is_leaf and a.role == "input"


def test_local_grads_are_the_partials_in_operand_order():
    a, b = Value(2.0), Value(5.0)
    product = a * b
    assert product.parents == (a, b)
    assert product.local_grads == (5.0, 2.0)
    assert (a**3).local_grads == (12.0,)


# -- the op table: each entry's number, formula and differentiable rule agree ---------------------------------
from autograd.engine import OPS, op_entry  # noqa: E402
from autograd.expr import parse_expression  # noqa: E402

# Points for every entry of the op table (operand values; the exponent k for "**k"). A new op needs a
# row here, and test_every_op_has_points fails until it has one.
OP_POINTS: dict[str, list[tuple]] = {
    "+": [(2.0, -3.0), (0.5, 0.25)],
    "-": [(2.0, -3.0), (1.5, 1.5)],
    "*": [(2.0, -3.0), (-0.5, 4.0)],
    "/": [(2.0, -3.0), (1.0, 0.5), (-7.0, 3.0)],
    "neg": [(2.0,), (-0.3,)],
    "**k": [(3.0, 2.0), (-1.5, 3.0), (2.0, -1.0), (4.0, 0.5), (0.7, 0.0), (2.5, 1.0)],
    "pow": [(2.0, 3.0), (0.5, -1.5)],
    "exp": [(0.0,), (1.5,), (-2.0,)],
    "log": [(1.0,), (0.1,), (7.0,)],
    "sigmoid": [(0.0,), (2.0,), (-3.0,)],
    "tanh": [(0.0,), (0.5,), (-2.0,)],
    "relu": [(1.5,), (-0.5,)],
}


def test_every_op_has_points():
    assert set(OP_POINTS) == set(OPS)


def _made(name: str, point: tuple) -> tuple[Value, list[Value], float | None]:
    op = OPS[name]
    if name == "**k":
        a, k = Value(point[0], label="a"), point[1]
        return op.apply(a, k), [a], k
    operands = [Value(v, label=n) for v, n in zip(point, "ab")]
    return op.apply(*operands), operands, None


def _formula_values(op, node: Value, operands: list[Value], k: float | None) -> list[float]:
    """Each d_text formula with the numbers put in, evaluated by chainrule's own expression parser."""
    fields = {name: f"({v.data!r})" for name, v in zip("ab", operands)}  # in brackets, as explain writes them
    fields["out"] = f"({node.data!r})"
    if k is not None:
        fields.update(k=f"({k!r})", k1=f"({k - 1.0!r})")
    out = []
    for text in op.d_text:
        filled = text.format(**fields)
        if " if " in filled:  # relu's slope is an indicator, outside the expression language
            out.append(1.0 if operands[0].data > 0 else 0.0)
        else:
            value = parse_expression(f"({filled}) + 0 * z", {"z": 0.0})  # a Value even for a constant
            out.append(value.data)
    return out


@pytest.mark.parametrize("name, point", [(name, p) for name, points in OP_POINTS.items() for p in points])
def test_number_formula_and_rule_agree(name, point):
    op = OPS[name]
    node, operands, k = _made(name, point)
    assert op_entry(node) == (op, k) and len(operands) == op.arity
    stored = node.local_grads
    # the number against a central difference of the forward value
    for i, operand in enumerate(operands):
        def f(v: float) -> float:
            args = [o.data for o in operands]
            args[i] = v
            fresh, _, _ = _made(name, tuple(args) + ((k,) if k is not None else ()))
            return fresh.data
        h = 1e-6 * max(1.0, abs(operand.data))
        assert stored[i] == pytest.approx((f(operand.data + h) - f(operand.data - h)) / (2 * h), rel=1e-6, abs=1e-8)
    # the formula explain shows, evaluated with the numbers put in
    assert _formula_values(op, node, operands, k) == pytest.approx(stored, rel=1e-14, abs=1e-300)
    # the differentiable rule, on Values
    args = [*operands, node] + ([k] if k is not None else [])
    ruled = [r.data if isinstance(r, Value) else float(r) for r in op.rule(*args)]
    assert ruled == pytest.approx(stored, rel=1e-14, abs=1e-300)
    # the LaTeX formulas fill in with the same fields
    latex_fields = {"a": "a", "b": "b", "out": "y", "k": "2", "k1": "1"}
    assert all(t.format(**latex_fields).count("{") == t.format(**latex_fields).count("}") for t in op.d_latex)
    assert op.text.format(**latex_fields) and op.latex.format(**latex_fields)
