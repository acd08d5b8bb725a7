"""Property-based: random expression graphs with shared sub-expressions against central differences.

Each example builds a random program over three inputs in which every step may reuse any earlier
node (so nodes are shared and diamonds appear), then checks d root / d node for every leaf and every
intermediate node against a central difference taken by nudging that node and replaying the graph.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autograd import Value, replay, topological_order

UNARY = ["exp", "log", "sigmoid", "tanh", "relu", "square", "neg"]
BINARY = ["+", "-", "*", "/"]

step = st.one_of(
    st.tuples(st.sampled_from(UNARY), st.integers(0, 10**6)),
    st.tuples(st.sampled_from(BINARY), st.integers(0, 10**6), st.integers(0, 10**6)),
)
inputs = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=3, max_size=3)


def build(xs: list[float], program: list[tuple]) -> list[Value]:
    """Run the program; refuse (with hypothesis.assume) points where a finite difference is unreliable."""
    nodes = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    for op, *picks in program:
        a, *rest = [nodes[p % len(nodes)] for p in picks]
        if op == "exp":
            assume(a.data < 20)
            nodes.append(a.exp())
        elif op == "log":
            assume(a.data > 0.1)
            nodes.append(a.log())
        elif op == "relu":
            assume(abs(a.data) > 1e-3)  # away from the kink
            nodes.append(a.relu())
        elif op == "square":
            nodes.append(a**2)
        elif op == "neg":
            nodes.append(-a)
        elif op in ("sigmoid", "tanh"):
            nodes.append(getattr(a, op)())
        else:
            b = rest[0]
            if op == "/":
                assume(abs(b.data) > 0.2)
            nodes.append({"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b)
        assume(abs(nodes[-1].data) < 1e4)
    return nodes


def numeric_derivative(root: Value, node: Value, order: list[Value], h: float = 1e-6) -> float:
    x0 = node.data
    node.data = x0 + h
    up = replay(root, changed=[node], order=order)
    node.data = x0 - h
    down = replay(root, changed=[node], order=order)
    node.data = x0
    replay(root, changed=[node], order=order)
    return (up - down) / (2 * h)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(xs=inputs, program=st.lists(step, min_size=1, max_size=12))
def test_random_graphs_match_central_differences_at_every_node(xs, program):
    nodes = build(xs, program)
    root = nodes[-1]
    root.backward()
    order = topological_order(root)
    for node in order:
        if node is root:
            continue
        numeric = numeric_derivative(root, node, order)
        assert node.grad == pytest.approx(numeric, rel=1e-4, abs=1e-5), f"at {node!r}"


@settings(max_examples=40, deadline=None)
@given(xs=inputs, program=st.lists(step, min_size=1, max_size=12))
def test_backward_twice_gives_the_same_intermediate_grads(xs, program):
    try:
        nodes = build(xs, program)
    except (ValueError, ArithmeticError):
        assume(False)
    root = nodes[-1]
    root.backward()
    first = [n.grad for n in topological_order(root) if n.parents]
    root.backward()
    assert [n.grad for n in topological_order(root) if n.parents] == first
    assert all(math.isfinite(g) for g in first)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(xs=inputs, program=st.lists(step, min_size=1, max_size=12))
def test_backward_node_by_node_is_backward_bit_for_bit(xs, program):
    """micrograd's lecture loop, ``_backward()`` on every node from the root back after ``root.grad = 1``,
    is the same chain rule as ``backward()``: the same numbers to the last bit, and grade calls them right."""
    from autograd import zero_grad
    from autograd.check import grade

    nodes = build(xs, program)
    root = nodes[-1]
    root.backward()
    order = topological_order(root)
    want = [n.grad for n in order]
    zero_grad(root)
    root.grad = 1.0
    for node in reversed(order):
        node._backward()
    assert [n.grad for n in order] == want
    assert grade(root).ok
