"""``autograd.symbolic``: values and derivatives as formulas, from the op table's rules on sympy formulas."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sympy = pytest.importorskip("sympy")

import nn  # noqa: E402
from autograd import Parameter, Value, topological_order  # noqa: E402
from autograd.engine import OPS, gradients  # noqa: E402
from autograd.symbolic import evaluate, expression, formula, gradient_values, latex  # noqa: E402

from test_forward_mode import build, inputs, path_scale, snapshot, step  # noqa: E402

REPO = Path(__file__).parents[1]
SPECIES = ["p_setosa", "p_versicolor", "p_virginica"]


def iris_b3(observed: int):
    """Seed 001's setting: three raw outputs, b3 added to the setosa one, nn.softmax, CE = -log p_observed."""
    raw = [Value(v, label=f"z{i}") for i, v in enumerate([1.2, -0.3, 0.45], start=1)]
    b3 = Parameter(-2.5, label="b3")
    p = nn.softmax([raw[0] + b3, raw[1], raw[2]])
    for q, name in zip(p, SPECIES):
        q.label = name
    ce = -p[observed].log()
    ce.label = "CE"
    return ce, b3, p


@pytest.mark.parametrize("observed, expected", [(0, "p_setosa - 1"), (1, "p_setosa"), (2, "p_setosa")])
def test_seed_001_dce_db3_is_p_setosa_minus_1_for_a_setosa_and_p_setosa_otherwise(observed, expected):
    ce, b3, p = iris_b3(observed)
    found = formula(ce, b3, using=[p[0]])
    assert str(found) == expected
    assert found == sympy.sympify(expected)
    ce.backward()
    assert math.isclose(evaluate(found, ce, using=[p[0]]), b3.grad, rel_tol=1e-10)
    assert math.isclose(evaluate(formula(ce, b3), ce), b3.grad, rel_tol=1e-10)  # without using: in the leaves


def two_sigmoid_layers():
    """Seed 000's setting: two sigmoid layers (the second's outputs h1, h2), softmax outputs y1, y2, and
    cross entropy with target class 1 (E = -log y1)."""
    x = [Value(1.0, label="x1"), Value(0.5, label="x2"), Value(-1.5, label="x3")]
    hidden = nn.Layer(3, 4, activation="sigmoid", seed=0, name="L1")(x)
    second = nn.Layer(4, 2, activation="sigmoid", seed=1, name="L2")
    h = second(hidden)
    h[0].label, h[1].label = "h1", "h2"
    out = nn.Layer(2, 2, activation="linear", seed=2, name="L3")
    s = out(h)
    y = nn.softmax(s)
    y[0].label, y[1].label = "y1", "y2"
    E = -y[0].log()
    E.label = "E"
    return E, h, y, out, s


def test_seed_000_an_output_weight_is_h2_times_y_minus_t():
    E, h, y, out, s = two_sigmoid_layers()
    w_to_1, w_to_2 = out.neurons[0].w[1], out.neurons[1].w[1]  # from h2 to output 1 and to output 2
    to_1 = formula(E, w_to_1, using=[h[1], y[0]])
    to_2 = formula(E, w_to_2, using=[h[1], y[1]])
    assert str(to_1) == "h2*(y1 - 1)" and str(to_2) == "h2*y2"
    E.backward()
    assert math.isclose(evaluate(to_1, E, using=[h[1], y[0]]), w_to_1.grad, rel_tol=1e-10)
    assert math.isclose(evaluate(to_2, E, using=[h[1], y[1]]), w_to_2.grad, rel_tol=1e-10)


def test_a_using_node_outside_the_graph_is_recognised_by_its_definition():
    """nn.cross_entropy builds no probability node; a separate nn.softmax of the same logits names them."""
    E0, h, y, out, s = two_sigmoid_layers()
    E = nn.cross_entropy(s, 0)
    probabilities = nn.softmax(s)
    probabilities[0].label = "y1"
    found = formula(E, out.neurons[0].w[1], using=[h[1], probabilities[0]])
    assert str(found) == "h2*(y1 - 1)"


def test_expression_names_leaves_by_label_and_keeps_constants_exact():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    unlabelled = Value(0.7)
    e = (x * w + 0.5).sigmoid() * 0.1 + unlabelled * 1.0001 - x ** 2.0
    found = expression(e)
    names = {str(s) for s in found.free_symbols}
    position = topological_order(e).index(unlabelled)
    assert names == {"x", "w", f"#{position}"}
    assert sympy.Rational(1, 2) in found.atoms(sympy.Rational) and sympy.Rational(1, 10) in found.atoms(sympy.Rational)
    assert any(isinstance(a, sympy.Float) and float(a) == 1.0001 for a in found.atoms(sympy.Float))
    assert math.isclose(evaluate(found, e), e.data, rel_tol=1e-14)
    assert r"\sigma\left(" in latex(found)


def test_leaves_that_share_a_label_get_position_names_so_they_stay_apart():
    a, b = Value(1.0, label="x"), Value(2.0, label="x")
    root = a * b
    order = topological_order(root)
    assert {str(s) for s in expression(root).free_symbols} == {f"#{order.index(a)}", f"#{order.index(b)}"}
    root.backward()
    assert evaluate(formula(root, a), root) == a.grad == 2.0


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_formula_evaluates_to_its_stored_partials(name):
    """One line per primitive: the symbolic derivative, read from the same rule, gives the engine's slopes."""
    makers = {
        "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
        "neg": lambda a, b: -a, "**k": lambda a, b: a**-2.5, "pow": lambda a, b: a**b, "exp": lambda a, b: a.exp(),
        "log": lambda a, b: a.log(), "sigmoid": lambda a, b: a.sigmoid(), "tanh": lambda a, b: a.tanh(),
        "relu": lambda a, b: a.relu(),
    }
    a, b = Value(1.7, label="a"), Value(0.3, label="b")
    node = makers[name](a, b)
    for parent, local in zip(node.parents, node.local_grads):
        assert math.isclose(evaluate(formula(node, parent), node), local, rel_tol=1e-13)
    assert math.isclose(evaluate(expression(node), node), node.data, rel_tol=1e-14)


def test_relu_slope_is_a_step_that_is_0_at_0():
    x = Value(0.0, label="x")
    r = (x * 2.0).relu()
    assert formula(r, x).has(sympy.Heaviside)
    assert evaluate(formula(r, x), r) == 0.0
    x.data = 0.5
    assert evaluate(formula(r, x), r) == 2.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(xs=inputs, program=st.lists(step, min_size=1, max_size=10))
def test_random_graphs_formulas_give_the_grads(xs, program):
    nodes = build(xs, program)
    root = nodes[-1]
    order = topological_order(root)
    before = snapshot(root)
    grads = dict(zip(order, gradients(root, order)))
    scale = path_scale(root)
    for node in [*nodes[:3], order[len(order) // 2]]:
        if node not in grads:
            assert formula(root, node) == 0
            continue
        found = evaluate(formula(root, node), root)
        assert abs(found - grads[node]) <= 1e-10 * max(abs(grads[node]), scale[node]), (node, found, grads[node])
    values = gradient_values(root, order)
    for node in order:
        assert abs(values[node] - grads[node]) <= 1e-10 * max(abs(grads[node]), scale[node])
    assert snapshot(root) == before


def test_a_twenty_operation_expression_gives_a_formula():
    x, w, b = Value(0.4, label="x"), Value(-1.2, label="w"), Value(0.3, label="b")
    h = x
    for _ in range(5):
        h = (h * w + b).tanh() * 0.5  # 4 operations each
    h.backward()
    found = formula(h, w)
    assert math.isclose(evaluate(found, h), w.grad, rel_tol=1e-10)


def test_bad_arguments_are_named():
    x = Value(1.0, label="x")
    with pytest.raises(TypeError, match=r"formula\(\) needs a Value as wrt"):
        formula(x.exp(), "x")
    with pytest.raises(TypeError, match=r"formula\(\) needs a Value as using\[0\]"):
        formula(x.exp(), x, using=["h"])
    other = Value(2.0, label="other")
    with pytest.raises(ValueError, match="other"):
        evaluate(sympy.Symbol("other") * 2, x.exp())


def test_importing_without_sympy_says_what_to_install():
    code = "import sys; sys.modules['sympy'] = None\ntry:\n import autograd.symbolic\nexcept ImportError as e:\n print(e)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert 'pip install "chainrule[symbolic]"' in result.stdout, result.stderr
