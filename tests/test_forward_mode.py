"""Forward mode (``autograd.forward_grad``, ``jvp``, ``forward_grads``): the same derivatives as backward,
by one tangent sweep from the inputs, without touching any ``.grad``."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, forward_grad, forward_grads, jvp, topological_order
from autograd.engine import gradients

UNARY = ["exp", "log", "sigmoid", "tanh", "relu", "square", "neg", "recip"]
BINARY = ["+", "-", "*", "/"]
step = st.one_of(
    st.tuples(st.sampled_from(UNARY), st.integers(0, 10**6)),
    st.tuples(st.sampled_from(BINARY), st.integers(0, 10**6), st.integers(0, 10**6)),
)
inputs = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=3, max_size=3)


def build(xs: list[float], program: list[tuple]) -> list[Value]:
    """A random program over three inputs whose steps may reuse any earlier node (shared nodes)."""
    nodes = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    for op, *picks in program:
        a, *rest = [nodes[p % len(nodes)] for p in picks]
        if op == "exp":
            assume(a.data < 20)
            out = a.exp()
        elif op == "log":
            assume(a.data > 0.1)
            out = a.log()
        elif op == "recip":
            assume(abs(a.data) > 0.2)
            out = a**-1
        elif op == "square":
            out = a**2
        elif op == "neg":
            out = -a
        elif op in ("sigmoid", "tanh", "relu"):
            out = getattr(a, op)()
        else:
            b = rest[0]
            if op == "/":
                assume(abs(b.data) > 0.2)
            out = {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__}[op](b)
        assume(abs(out.data) < 1e4)
        nodes.append(out)
    return nodes


def path_scale(root: Value) -> dict:
    """For each node, the sum over paths to the root of |product of local derivatives|: the size of
    the terms the chain rule adds, which bounds the rounding error of any order of adding them."""
    scale = dict.fromkeys(topological_order(root), 0.0)
    scale[root] = 1.0
    for node in reversed(topological_order(root)):
        for parent, local in zip(node.parents, node.local_grads):
            scale[parent] += abs(local) * scale[node]
    return scale


def snapshot(root: Value) -> list:
    return [(n.data, n.grad, n.grad_pass, n.local_grads) for n in topological_order(root)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(xs=inputs, program=st.lists(step, min_size=1, max_size=14))
def test_random_graphs_forward_equals_backward_at_every_node(xs, program):
    nodes = build(xs, program)
    root = nodes[-1]
    order = topological_order(root)
    before = snapshot(root)
    reverse = dict(zip(order, gradients(root, order)))
    scale = path_scale(root)
    for node in order:
        got = forward_grad(root, node)
        assert abs(got - reverse[node]) <= 1e-13 * scale[node], (node, got, reverse[node])
    assert snapshot(root) == before  # no grad, value or partial touched


def test_forward_grads_gives_every_tangent_and_the_root_is_forward_grad():
    x, w = Value(0.5, label="x"), Value(-1.5, label="w")
    s = x * w
    h = s.tanh()
    E = h * h
    tangents = forward_grads(E, x)
    assert list(tangents) == topological_order(E)
    assert tangents[x] == 1.0 and tangents[w] == 0.0
    assert tangents[s] == w.data
    assert math.isclose(tangents[h], w.data * (1 - h.data**2), rel_tol=1e-15)
    assert tangents[E] == forward_grad(E, x)
    assert math.isclose(tangents[E], 2 * h.data * (1 - h.data**2) * w.data, rel_tol=1e-14)


def test_an_intermediate_node_is_held_as_an_independent_variable_as_grad_takes_it():
    x = Value(3.0, label="x")
    h = x * 2.0
    root = x * h  # d root / d h with x held: x; through x as well: 4x
    root.backward()
    assert forward_grad(root, h) == h.grad == 3.0
    assert forward_grad(root, x) == x.grad == 12.0


def test_jvp_is_the_directional_derivative():
    x, y = Value(0.3, label="x"), Value(-0.8, label="y")
    f = (x * y).exp() + y.sigmoid()
    f.backward()
    assert math.isclose(jvp(f, {x: 2.0, y: -0.5}), 2.0 * x.grad - 0.5 * y.grad, rel_tol=1e-14)
    assert jvp(f, {x: 1.0}) == forward_grad(f, x)
    assert jvp(f, {}) == 0.0


def test_an_input_the_root_does_not_use_gives_0():
    x, other = Value(1.0), Value(2.0)
    assert forward_grad(x.exp(), other) == 0.0
    assert forward_grad(x, x) == 1.0  # a leaf root


def test_a_million_operation_chain_in_linear_time_and_no_recursion():
    x = Value(0.5, label="x")
    y = x
    n = 500_000 if autograd.COMPILED else 100_000
    for _ in range(n):
        y = y * 1.0001 + 0.0001
    assert math.isclose(forward_grad(y, x), 1.0001**n, rel_tol=1e-9)


def test_an_overflowing_tangent_names_the_node_and_changes_nothing():
    x = Value(1e-300, label="x")
    y = x * 1e300  # value 1, tangent 1e300
    z = y * 1e300  # value 1e300 (finite), tangent 1e600: not a float
    z.label = "z"
    before = snapshot(z)
    with pytest.raises(FloatingPointError, match="forward mode: the tangent at node 'z'"):
        forward_grad(z, x)
    assert snapshot(z) == before


def test_bad_arguments_are_named():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"forward_grad\(\) needs a Value as wrt, got float"):
        forward_grad(x, 1.0)
    with pytest.raises(TypeError, match=r"jvp\(\) needs tangents as a mapping"):
        jvp(x, [1.0])
    with pytest.raises(ValueError, match="must be finite"):
        jvp(x, {x: math.nan})
    with pytest.raises(TypeError, match=r"forward_grads\(\) needs a Value as root"):
        forward_grads("E", x)


def test_a_failed_backward_after_forward_mode_still_puts_every_grad_back():
    """Forward mode keeps its tangents in the field where backward keeps the grads it may have to put back."""
    x = Value(1e-300, label="x")
    z = x * 1e300 * 1e300  # d z / d x = 1e600: backward overflows
    x.grad = 5.0
    assert forward_grad(x * 2.0, x) == 2.0  # the tangents land in the shared field
    with pytest.raises(FloatingPointError):
        z.backward()
    assert x.grad == 5.0
    assert [n.grad for n in topological_order(z)] == [5.0, 0.0, 0.0, 0.0, 0.0]
