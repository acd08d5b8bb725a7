"""The op table's differentiable rules, one catalog row per primitive: for every entry of ``OPS``, the
local derivatives its ``rule`` builds from Values are the very floats the primitive stored when it made
the node (bit for bit: both do the same float arithmetic), and they agree with a central difference
of the primitive itself. Higher-order gradients rest on this: they differentiate the rules again.

Adding an op to the engine means adding a row here."""

from __future__ import annotations

import math
from typing import Callable

import pytest

from autograd import Constant, Value
from autograd.engine import OPS, local_rule, op_entry

# the op table's name, the primitive applied to Values, points (one float per operand)
CATALOG: list[tuple[str, Callable, list[tuple[float, ...]]]] = [
    ("+", lambda a, b: a + b, [(2.0, -3.0), (0.1, 0.7)]),
    ("-", lambda a, b: a - b, [(2.0, -3.0), (0.1, 0.7)]),
    ("*", lambda a, b: a * b, [(2.0, -3.0), (-0.37, 1.9)]),
    ("/", lambda a, b: a / b, [(2.0, -3.0), (0.3, 0.7), (-1.1, 49.0)]),
    ("neg", lambda a: -a, [(2.0,), (-0.3,)]),
    ("**k", lambda a: a**2, [(3.0,), (-1.5,)]),
    ("**k", lambda a: a**3, [(-2.0,), (0.7,)]),
    ("**k", lambda a: a**-1, [(2.0,), (-0.3,)]),
    ("**k", lambda a: a**0.5, [(4.0,), (0.3,)]),
    ("**k", lambda a: a**-2.5, [(1.7,)]),
    ("**k", lambda a: a**0, [(4.0,), (-2.0,)]),
    ("pow", lambda a, b: a**b, [(2.0, 3.0), (0.5, -1.5), (7.3, 0.21)]),
    ("exp", Value.exp, [(0.0,), (1.5,), (-2.0,)]),
    ("log", Value.log, [(1.0,), (0.1,), (7.0,)]),
    ("sigmoid", Value.sigmoid, [(0.0,), (2.0,), (-3.0,), (40.0,)]),
    ("tanh", Value.tanh, [(0.0,), (0.5,), (-2.0,)]),
    ("relu", Value.relu, [(1.5,), (-0.5,), (0.0,)]),
]
ROWS = [pytest.param(name, f, x, id=f"{name}{x}") for name, f, xs in CATALOG for x in xs]


def test_every_op_has_a_catalog_row():
    assert {name for name, _, _ in CATALOG} == set(OPS)


@pytest.mark.parametrize("name, f, x", ROWS)
def test_rule_builds_the_stored_local_derivatives_bit_for_bit(name, f, x):
    node = f(*[Value(v) for v in x])
    entry, _ = op_entry(node)
    assert entry is OPS[name] and entry.arity == len(x) == len(node.parents)
    rule = local_rule(node)
    assert len(rule) == len(node.parents)
    for i, (local, stored) in enumerate(zip(rule, node.local_grads)):
        value = local.data if isinstance(local, Value) else float(local)
        assert value.hex() == stored.hex(), f"operand {i}: rule {value!r}, stored {stored!r}"


@pytest.mark.parametrize("name, f, x", ROWS)
def test_rule_matches_a_central_difference_of_the_primitive(name, f, x):
    node = f(*[Value(v) for v in x])
    for i, local in enumerate(local_rule(node)):
        if name == "relu" and x[0] == 0.0:
            continue  # the kink: no derivative to approximate (the engine takes 0)
        h = 1e-6 * max(1.0, abs(x[i]))
        up, down = list(x), list(x)
        up[i] += h
        down[i] -= h
        numeric = (f(*map(Value, up)).data - f(*map(Value, down)).data) / (2 * h)
        value = local.data if isinstance(local, Value) else float(local)
        assert value == pytest.approx(numeric, rel=1e-6, abs=1e-9), f"operand {i}"


@pytest.mark.parametrize("name, f, x", ROWS)
def test_only_constant_slopes_are_numbers(name, f, x):
    """A number (or a Constant the rule makes) says that a slope is constant, so that its own derivative
    is 0; every other slope must be a Value computed from the node's operands, or higher derivatives
    would be silently lost."""
    node = f(*[Value(v) for v in x])
    constant = [
        not isinstance(local, Value) or (isinstance(local, Constant) and local not in node.parents)
        for local in local_rule(node)
    ]
    if name in ("+", "-", "neg", "relu") or node.op == "**0":
        assert all(constant)
    else:
        assert not any(constant)


def test_the_rule_of_a_constant_power_reads_the_exponent_from_the_node():
    x = Value(1.3)
    for k in (2.0, -1.0, 0.5, 1e-3, 7.25):
        node = x**k
        entry, exponent = op_entry(node)
        assert entry is OPS["**k"] and exponent == k
