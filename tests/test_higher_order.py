"""Higher-order gradients (``autograd.grad``, ``autograd.hessian``): closed forms to third order,
random graphs against central differences of the first derivative (and against PyTorch when it is
installed), the softmax cross-entropy Hessian, and the derivative graph as a graph like any other:
drawn, explained, replayed and gradchecked, while the original graph stays exactly as it was."""

from __future__ import annotations

import doctest
import math
import re
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import autograd
import nn
from autograd import Constant, Parameter, Value, grad, hessian, replay, scope, topological_order
from autograd.check import explain, find_node, gradcheck
from autograd.derivatives import derivative_label
from autograd.viz import draw


def nth_derivatives(f, x0: float, n: int) -> list[Value]:
    """[f, f', ..., f^(n)] at x0, each differentiated from the graph of the one before."""
    x = Value(x0, label="x")
    chain = [f(x)]
    for _ in range(n):
        chain.append(grad(chain[-1], [x], create_graph=True)[0])
    return chain


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


POINTS = [-2.5, -0.7, 0.0, 0.4, 1.9]


# -- closed forms --------------------------------------------------------------------------------------
@pytest.mark.parametrize("x0", POINTS)
def test_sigmoid_to_third_order(x0):
    _, d1, d2, d3 = nth_derivatives(Value.sigmoid, x0, 3)
    s = sig(x0)
    assert d1.data == pytest.approx(s * (1 - s), rel=1e-13, abs=1e-16)
    assert d2.data == pytest.approx(s * (1 - s) * (1 - 2 * s), rel=1e-12, abs=1e-16)
    assert d3.data == pytest.approx(s * (1 - s) * (1 - 6 * s + 6 * s * s), rel=1e-11, abs=1e-15)


@pytest.mark.parametrize("x0", POINTS)
def test_tanh_to_third_order(x0):
    _, d1, d2, d3 = nth_derivatives(Value.tanh, x0, 3)
    t = math.tanh(x0)
    assert d1.data == pytest.approx(1 - t * t, rel=1e-13)
    assert d2.data == pytest.approx(-2 * t * (1 - t * t), rel=1e-12, abs=1e-16)
    assert d3.data == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t), rel=1e-11, abs=1e-15)


@pytest.mark.parametrize("x0", [-1.3, 0.0, 0.8])
def test_exp_of_2x_to_fifth_order(x0):
    chain = nth_derivatives(lambda x: (2 * x).exp(), x0, 5)
    for n, node in enumerate(chain):
        assert node.data == pytest.approx(2**n * math.exp(2 * x0), rel=1e-13), n


@pytest.mark.parametrize("x0", [0.1, 1.0, 3.7])
def test_log_to_third_order(x0):
    _, d1, d2, d3 = nth_derivatives(Value.log, x0, 3)
    assert d1.data == pytest.approx(1 / x0, rel=1e-15)
    assert d2.data == pytest.approx(-1 / x0**2, rel=1e-14)
    assert d3.data == pytest.approx(2 / x0**3, rel=1e-14)


@pytest.mark.parametrize("k", [3.0, 2.5, -1.0, -0.5])
def test_constant_powers_to_third_order(k):
    x0 = 1.7
    chain = nth_derivatives(lambda x: x**k, x0, 3)
    expected = [x0**k, k * x0 ** (k - 1), k * (k - 1) * x0 ** (k - 2), k * (k - 1) * (k - 2) * x0 ** (k - 3)]
    for node, value in zip(chain, expected):
        assert node.data == pytest.approx(value, rel=1e-13)


@pytest.mark.parametrize("x0, b0", [(1.5, 2.2), (0.4, -1.3), (3.0, 0.5)])
def test_mixed_partial_of_a_power_with_a_value_exponent(x0, b0):
    # f = x**b: df/dx = b x^(b-1), df/db = x^b log x, d2f/dx db = x^(b-1) (1 + b log x)
    x, b = Value(x0, label="x"), Value(b0, label="b")
    f = x**b
    dfdx, dfdb = grad(f, [x, b], create_graph=True)
    mixed = x0 ** (b0 - 1) * (1 + b0 * math.log(x0))
    (via_x,) = grad(dfdx, [b])
    (via_b,) = grad(dfdb, [x])
    assert via_x.data == pytest.approx(mixed, rel=1e-13)
    assert via_b.data == pytest.approx(mixed, rel=1e-13)
    H = hessian(f, [x, b])
    expected = [[b0 * (b0 - 1) * x0 ** (b0 - 2), mixed], [mixed, x0**b0 * math.log(x0) ** 2]]
    np.testing.assert_allclose(H, expected, rtol=1e-13)


def test_quotient_second_derivatives():
    # f = x / y: f_xx = 0, f_xy = -1/y^2, f_yy = 2x/y^3
    x, y = Value(1.3), Value(-0.6)
    H = hessian(x / y, [x, y])
    np.testing.assert_allclose(H, [[0.0, -1 / 0.36], [-1 / 0.36, 2 * 1.3 / (-0.6) ** 3]], rtol=1e-14)


@pytest.mark.parametrize("x0", [-0.8, 0.0, 0.6])
def test_relu_second_derivative_is_zero(x0):
    x = Value(x0, label="x")
    r = x.relu()
    (d1,) = grad(r, [x], create_graph=True)
    assert d1.data == (1.0 if x0 > 0 else 0.0)  # the engine's slope, 0 at the kink
    assert d1.is_leaf  # a constant slope: no node depends on x
    (d2,) = grad(d1, [x])
    assert d2.data == 0.0
    # relu(x)^2 = x^2 for x > 0 and 0 for x < 0: its second derivative is 2 or 0
    assert hessian(r * r, [x])[0, 0] == (2.0 if x0 > 0 else 0.0)


# -- the op table's rules, which everything here differentiates ------------------------------------
ONE_NODE_PER_OP = {  # the op table's name: a node it makes
    "+": lambda: Value(2.0) + Value(-3.0),
    "-": lambda: Value(0.1) - Value(0.7),
    "*": lambda: Value(-0.37) * Value(1.9),
    "/": lambda: Value(0.3) / Value(0.7),
    "neg": lambda: -Value(-0.3),
    "**k": lambda: Value(1.7) ** -2.5,
    "pow": lambda: Value(7.3) ** Value(0.21),
    "exp": lambda: Value(1.5).exp(),
    "log": lambda: Value(0.1).log(),
    "sigmoid": lambda: Value(-3.0).sigmoid(),
    "tanh": lambda: Value(0.5).tanh(),
    "relu": lambda: Value(1.5).relu(),
}


@pytest.mark.parametrize("name", sorted(autograd.engine.OPS))
def test_each_rule_gives_the_stored_slopes_bit_for_bit_and_numbers_only_for_constant_ones(name):
    """Bit for bit (the same float arithmetic), so that first derivatives built from the rules equal
    backward's exactly; and a slope is a plain number (or a Constant the rule makes) only where it is
    constant, or its own derivative would be silently lost."""
    node = ONE_NODE_PER_OP[name]()
    rule = autograd.engine.local_rule(node)
    values = [r.data if isinstance(r, Value) else float(r) for r in rule]
    assert [v.hex() for v in values] == [g.hex() for g in node.local_grads]
    constant = [not isinstance(r, Value) or (isinstance(r, Constant) and r not in node.parents) for r in rule]
    assert all(constant) if name in ("+", "-", "neg", "relu") else not any(constant)


# -- random graphs ----------------------------------------------------------------------------------
UNARY = ["exp", "log", "sigmoid", "tanh", "relu", "square", "cube", "sqrt", "reciprocal", "neg", "scale"]
BINARY = ["+", "-", "*", "/", "pow"]
step = st.one_of(
    st.tuples(st.sampled_from(UNARY), st.integers(0, 10**6)),
    st.tuples(st.sampled_from(BINARY), st.integers(0, 10**6), st.integers(0, 10**6)),
)
points = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=3, max_size=3)

VALUES = SimpleNamespace(
    leaf=lambda x, i: Value(x, label=f"x{i}"),
    value=lambda node: node.data,
    **{name: getattr(Value, name) for name in ("exp", "log", "sigmoid", "tanh", "relu")},
)


def build(xs, program, lib=VALUES, guard=assume) -> tuple[list, object]:
    """The leaves and the root of a random program over three inputs in which each step may use any
    earlier node (so nodes are shared). ``guard`` refuses points near a kink or an edge of a domain,
    where a central difference is unreliable. ``lib`` builds it with chainrule or with torch."""
    nodes = [lib.leaf(x, i) for i, x in enumerate(xs)]
    value = lib.value
    for op, *picks in program:
        a, *rest = [nodes[p % len(nodes)] for p in picks]
        va = value(a)
        if op == "exp":
            guard(va < 5)
            out = lib.exp(a)
        elif op == "log":
            guard(va > 0.2)
            out = lib.log(a)
        elif op == "relu":
            guard(abs(va) > 1e-2)
            out = lib.relu(a)
        elif op in ("sigmoid", "tanh"):
            out = getattr(lib, op)(a)
        elif op == "square":
            out = a**2
        elif op == "cube":
            out = a**3
        elif op == "sqrt":
            guard(va > 0.2)
            out = a**0.5
        elif op == "reciprocal":
            guard(abs(va) > 0.3)
            out = a**-1
        elif op == "neg":
            out = -a
        elif op == "scale":
            out = 1.5 - 0.5 * a
        else:
            b = rest[0]
            vb = value(b)
            if op == "/":
                guard(abs(vb) > 0.3)
                out = a / b
            elif op == "pow":
                guard(0.2 < va < 5 and abs(vb) < 3)
                out = a**b
            else:
                out = {"+": a + b, "-": a - b, "*": a * b}[op]
        guard(abs(value(out)) < 1e3)
        nodes.append(out)
    return nodes[:3], nodes[-1]


def second_derivatives_by_differences(root: Value, leaves: list[Value], j: int, h: float) -> np.ndarray:
    """d/d leaves[j] of the gradient of root with respect to every leaf, by central differences: the
    original graph replayed at leaves[j] +- h and differentiated by the engine's backward pass."""
    x0 = leaves[j].data
    sides = []
    try:
        for x in (x0 + h, x0 - h):
            leaves[j].data = x
            replay(root)
            sides.append(np.array(autograd.engine.gradients(root, leaves)))
    finally:
        leaves[j].data = x0
        replay(root)
    return (sides[0] - sides[1]) / (2 * h)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(xs=points, program=st.lists(step, min_size=1, max_size=10))
def test_random_graphs_second_derivatives_match_central_differences_of_the_first(xs, program):
    leaves, root = build(xs, program)
    H = hessian(root, leaves)
    for j, leaf in enumerate(leaves):
        column = second_derivatives_by_differences(root, leaves, j, 1e-5 * max(1.0, abs(leaf.data)))
        scale = max(1.0, float(np.abs(column).max()))
        np.testing.assert_allclose(H[:, j], column, rtol=1e-4, atol=1e-5 * scale, err_msg=f"column {j}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(xs=points, program=st.lists(step, min_size=1, max_size=10))
def test_random_graphs_first_derivatives_equal_backward(xs, program):
    leaves, root = build(xs, program)
    as_graph = grad(root, leaves, create_graph=True)
    as_numbers = grad(root, leaves)
    root.backward()
    for leaf, node, number in zip(leaves, as_graph, as_numbers):
        # the same chain rule, summed in the same order: the same floats
        assert node.data == leaf.grad and number.data == leaf.grad
        assert number.is_leaf and number.role == "constant"
    assert all(n.grad == 0.0 for n in as_graph)  # grad() wrote no gradient


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(xs=points, program=st.lists(step, min_size=1, max_size=10))
def test_the_derivative_graph_makes_no_product_by_one_and_no_sum_with_zero(xs, program):
    leaves, root = build(xs, program)
    results = grad(root, leaves, create_graph=True)
    original = set(topological_order(root))
    ones = 0
    for result in results:
        for node in topological_order(result):
            if node in original or node.is_leaf:
                continue
            constants = [p.data for p in node.parents if p.role == "constant"]
            if node.op == "*" and 1.0 in constants:
                ones += 1
                assert node in results, f"a product by 1 inside the derivative graph: {node!r}"
            assert not (node.op in ("+", "-") and 0.0 in constants), f"a sum with 0: {node!r}"
            assert node.scope == "df", node  # the root is unlabelled: "f"
    assert ones <= len(results)


# -- PyTorch, when installed ------------------------------------------------------------------------
def _torch():
    try:
        import torch
    except ImportError:
        pytest.skip("torch is not installed (it is optional)")
    return torch


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(xs=points, program=st.lists(step, min_size=1, max_size=10))
def test_random_graphs_hessians_match_torch_double_backward(xs, program):
    torch = _torch()
    leaves, root = build(xs, program)
    ours = hessian(root, leaves)
    lib = SimpleNamespace(
        leaf=lambda x, i: torch.tensor(x, dtype=torch.float64, requires_grad=True),
        value=lambda t: t.item(),
        exp=torch.exp, log=torch.log, sigmoid=torch.sigmoid, tanh=torch.tanh, relu=torch.relu,
    )
    t_leaves, t_root = build(xs, program, lib, guard=lambda ok: None)
    assert t_root.item() == pytest.approx(root.data, rel=1e-12, abs=1e-12)
    first = torch.autograd.grad(t_root, t_leaves, create_graph=True, allow_unused=True)
    theirs = np.zeros((3, 3))
    for i, g in enumerate(first):
        if g is not None and g.requires_grad:
            row = torch.autograd.grad(g, t_leaves, retain_graph=True, allow_unused=True)
            theirs[i] = [0.0 if r is None else r.item() for r in row]
    scale = max(1.0, float(np.abs(theirs).max()))
    # torch's backward of pow masks the exponent-0 case, so there its Hessian comes out asymmetric
    # (d2(a**b)/da db is 1 at a = 1, b = 0; torch gives 0 one way round): no reference then.
    assume(np.allclose(theirs, theirs.T, rtol=1e-9, atol=1e-12 * scale))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12 * scale)


# -- Hessians ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("logits, target", [([0.3, -1.2, 2.0, 0.5], 2), ([1.0, 1.0, 1.0], 0), ([-3.0, 4.0], 1)])
def test_softmax_cross_entropy_hessian_is_diag_p_minus_p_pT(logits, target):
    z = [Value(v, label=f"z{i + 1}") for i, v in enumerate(logits)]
    loss = nn.cross_entropy(z, target)
    H = hessian(loss, z)
    e = np.exp(np.array(logits) - max(logits))
    p = e / e.sum()
    np.testing.assert_allclose(H, np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15)
    assert np.linalg.eigvalsh(H).min() > -1e-12  # positive semidefinite: convex in the logits


def test_hessian_of_a_small_network_is_symmetric_and_matches_central_differences():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=3)
    params = model.parameters()
    data = [([0.5, -1.0], 0.3), ([-0.2, 0.8], -0.4), ([1.5, 0.1], 0.9)]
    loss = nn.mse([model([Value(a) for a in x]) for x, _ in data], [t for _, t in data])
    H = hessian(loss, params)
    assert H.shape == (len(params), len(params))
    assert np.abs(H - H.T).max() <= 1e-13 * np.abs(H).max()  # mixed partials along different paths agree
    for j in range(0, len(params), 3):
        column = second_derivatives_by_differences(loss, params, j, 1e-6)
        np.testing.assert_allclose(H[:, j], column, rtol=1e-5, atol=1e-8)


def test_hessian_accepts_a_single_value_and_inputs_the_root_ignores():
    x, y = Value(0.7), Value(2.0)
    assert hessian(x.exp(), x).tolist() == [[math.exp(0.7)]]
    H = hessian(x**3, [x, y])
    assert H.tolist() == [[6 * 0.7, 0.0], [0.0, 0.0]]


# -- the results ---------------------------------------------------------------------------------------
def test_results_are_labelled_from_the_root_and_input_names():
    x, w = Value(0.5, label="x"), Parameter(-1.0, label="w")
    E = (x * w).tanh()
    E.label = "E"
    dx, dw = grad(E, [x, w], create_graph=True)
    assert (dx.label, dw.label) == ("dE/dx", "dE/dw")
    (dxx,) = grad(dx, [x], create_graph=True)
    (dxxx,) = grad(dxx, x)
    (dxw,) = grad(dx, [w])
    assert (dxx.label, dxxx.label, dxw.label) == ("d²E/dx²", "d³E/dx³", "d(dE/dx)/dw")
    assert [r.label for r in grad(E, [x, w])] == ["dE/dx", "dE/dw"]


def test_unlabelled_nodes_are_named_as_the_checker_names_them():
    x, y = Value(0.5), Value(2.0)
    f = (x * y).exp() + x
    dx, dy = grad(f, [x, y], create_graph=True)
    for node, result in ((x, dx), (y, dy)):
        assert result.label.startswith("df/d#")
        assert find_node(f, result.label.split("/d", 1)[1]) is node
    # numbers are named without walking the graph again: by their place in the call
    assert [r.label for r in grad(f, [y, x])] == ["df/d(inputs[0])", "df/d(inputs[1])"]
    stranger = Value(3.0)
    assert grad(f, [x, stranger], create_graph=True)[1].label == "df/d(inputs[1])"


def test_derivative_labels():
    assert derivative_label("E", "x") == "dE/dx"
    assert derivative_label("dE/dx", "x") == "d²E/dx²"
    assert derivative_label("d⁹E/dx⁹", "x") == "d¹⁰E/dx¹⁰"
    assert derivative_label("d²E/dx²", "y") == "d(d²E/dx²)/dy"
    assert derivative_label("total CE", "L2.n1.b") == "d(total CE)/dL2.n1.b"


def test_each_result_is_a_node_of_its_own():
    a, b, w = Value(0.3, label="a"), Value(-0.1, label="b"), Value(2.0, label="w")
    t = (a + b).tanh()  # dt/da and dt/db are the same adjoint
    da, db = grad(t, [a, b], create_graph=True)
    assert da is not db and da.data == db.data and (da.label, db.label) == ("df/da", "df/db")
    p = a * w  # dp/da is w itself, a node of the original graph: w keeps its label
    (dpa,) = grad(p, [a], create_graph=True)
    assert dpa is not w and dpa.data == w.data and w.label == "w" and dpa.label == "df/da"
    e = a.exp()
    (dea,) = grad(e, [a], create_graph=True)  # d e^a/da = e^a, the root itself
    assert dea is not e and dea.data == e.data and e.label == ""
    twice = grad(e, [a, a], create_graph=True)
    assert twice[0] is not twice[1] and twice[0].data == twice[1].data


def test_constant_derivatives_are_constant_leaves():
    x, y = Value(0.3, label="x"), Value(-0.1, label="y")
    s = x - y + 2.0
    dx, dy = grad(s, [x, y], create_graph=True)
    assert (dx.data, dy.data) == (1.0, -1.0)
    assert isinstance(dx, Constant) and isinstance(dy, Constant)
    (zero,) = grad(s, [Value(4.0)], create_graph=True)
    assert isinstance(zero, Constant) and zero.data == 0.0


def test_derivative_nodes_are_made_in_a_scope_named_after_the_root():
    x = Value(0.5, label="x")
    with scope("model"):
        E = x.sigmoid() * 3.0
    E.label = "E"
    (d,) = grad(E, [x], create_graph=True)
    original = set(topological_order(E))
    new = [n for n in topological_order(d) if n not in original]
    assert new and all(n.scope == "dE" for n in new)
    assert all(n.scope == "model" for n in original if n is not x)
    E.label = "L2.n1.out"  # a "." would nest scopes
    (d,) = grad(E, [x], create_graph=True)
    assert d.scope == "dL2·n1·out"


def test_intermediate_adjoints_are_labelled_when_their_node_is():
    x = Value(0.5, label="x")
    h = (x * 3.0).tanh()
    h.label = "h"
    E = h * h
    E.label = "E"
    (d,) = grad(E, [x], create_graph=True)
    labelled = {n.label: n for n in topological_order(d) if n.label}
    assert labelled["dE/dh"].data == pytest.approx(2 * h.data, rel=1e-15)


# -- the original graph is left alone ------------------------------------------------------------------
def snapshot(root: Value) -> list[tuple]:
    return [
        (n, n.data, n.grad, n.grad_pass, n.label, n.op, n.scope, n.local_grads, n.parents)
        for n in topological_order(root)
    ]


def test_nothing_of_the_original_graph_changes():
    x, w = Value(0.5, label="x"), Parameter(-1.2, label="w")
    h = (x * w).sigmoid()
    h.label = "h"
    E = (h * x + 1.0).log() * 2.0 + w**3
    E.label = "E"
    E.backward()
    before = snapshot(E)
    assert any(n.grad != 0.0 for n in topological_order(E)) and E.grad_pass > 0
    grad(E, [x, w])
    first = grad(E, [x, w, h], create_graph=True)
    grad(first[0], [x, w], create_graph=True)
    hessian(E, [x, w])
    assert snapshot(E) == before


def test_a_failing_rule_names_the_node_and_changes_nothing():
    x = Value(0.0, label="x")
    y = x**1.5  # its slope 1.5 x^0.5 is 0 at x = 0, but that slope's own slope is infinite
    y.label = "y"
    E = y * 2.0
    E.backward()
    before = snapshot(E)
    with pytest.raises(ZeroDivisionError, match=r"derivative through node 'y' \(op '\*\*1.5'.*nothing of the original"):
        grad(E, [x], create_graph=True)
    assert snapshot(E) == before
    assert grad(E, [x])[0].data == 0.0  # the numbers alone are fine


# -- bad input --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("function", [grad, hessian])
def test_bad_arguments_are_named(function):
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"needs a Value as root, got float"):
        function(1.0, [x])
    with pytest.raises(TypeError, match=r"inputs\[1\] is float"):
        function(x * 2, [x, 2.0])
    with pytest.raises(TypeError, match=r"inputs to be a Value or a sequence of Values, got int"):
        function(x * 2, 3)
    with pytest.raises(ValueError, match="at least one input"):
        function(x * 2, [])
    W = np.array([[Value(1.0), Value(2.0)]], dtype=object)
    with pytest.raises(TypeError, match=r"ravel"):
        function(x * 2, W)


def test_create_graph_must_be_a_bool():
    x = Value(1.0)
    with pytest.raises(TypeError, match="create_graph"):
        grad(x * 2, [x], create_graph="yes")
    assert grad(x * 2, [x], create_graph=np.True_)[0].data == 2.0


# -- the derivative graph is a graph like any other -------------------------------------------------------
def sigmoid_derivative(x0: float) -> tuple[Value, Value]:
    x = Value(x0, label="x")
    s = x.sigmoid()
    s.label = "s"
    (ds,) = grad(s, [x], create_graph=True)
    return x, ds


def test_the_derivative_graph_can_be_drawn():
    _, ds = sigmoid_derivative(0.5)
    ds.backward()
    drawing = draw(ds)
    assert "ds/dx" in drawing.source
    assert re.search(r"subgraph cluster_\d+ \{\s*graph \[[^]]*label=ds ", drawing.source)  # the new nodes' frame
    svg = drawing.svg()
    assert "ds/dx" in svg and svg.lstrip().startswith("<")


def test_the_derivative_graph_can_be_explained():
    x, ds = sigmoid_derivative(0.5)
    ds.backward()
    s = sig(0.5)
    assert x.grad == pytest.approx(s * (1 - s) * (1 - 2 * s), rel=1e-14)
    explanation = explain(x, ds)
    assert explanation.total == x.grad
    assert "ds/dx" in str(explanation)


def test_the_derivative_graph_replays_at_a_new_point():
    x, ds = sigmoid_derivative(0.5)
    for x1 in (-1.0, 2.0):
        x.data = x1
        assert replay(ds) == pytest.approx(sig(x1) * (1 - sig(x1)), rel=1e-14)


def test_the_derivative_graph_passes_gradcheck():
    x, w = Value(0.4, label="x"), Value(-0.9, label="w")
    E = (x * w).tanh() * (x + 1.0).log() + (w / x).exp()
    E.label = "E"
    dx, dw = grad(E, [x, w], create_graph=True)
    for d in (dx, dw):
        autograd.zero_grad(d)  # the two graphs share leaves, which accumulate gradients
        d.backward()
        report = gradcheck(d)
        assert report.ok, report.failure_message()
        assert len(report) == len(topological_order(d))


def test_the_module_example_runs():
    import autograd.derivatives

    result = doctest.testmod(autograd.derivatives)
    assert result.attempted > 0 and result.failed == 0
