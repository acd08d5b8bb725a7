"""``autograd.check.routes`` and ``chainrule check --routes``: every route to d root / d node in one table."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import nn
from autograd import Value, topological_order
from autograd.check import ROUTES, GradientCheckError, routes

from test_cli_check import chainrule, table_rows


def has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def snapshot(root: Value) -> list:
    return [(n.data, n.grad, n.grad_pass, n.local_grads) for n in topological_order(root)]


def test_every_route_agrees_on_a_small_expression_and_nothing_changes():
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    E = -(x * w + b).sigmoid().log()
    before = snapshot(E)  # no backward needed: routes reads and writes no .grad
    report = routes(E)
    assert snapshot(E) == before
    assert report.ok and report.kind == "routes"
    assert [row.name for row in report] == ["x", "w", "b"]
    expected = ("backward", "forward", "central difference") + (("symbolic",) if has("sympy") else ())
    assert report.routes[: len(expected)] == expected
    h = 1 / (1 + math.exp(5.0))  # sigmoid(-5); dE/ds = h - 1
    for row, local in zip(report, (w.data, x.data, 1.0)):
        numbers = dict(row.routes)
        assert math.isclose(numbers["backward"], (h - 1) * local, rel_tol=1e-14)
        for route in report.routes:
            assert math.isclose(numbers[route], numbers["backward"], rel_tol=1e-6), route
    text = str(report)
    for route in report.routes:
        assert route in text.splitlines()[0]


def test_routes_that_cannot_run_say_why():
    x = Value(0.5, label="x")
    report = routes(x.tanh())
    for route in ROUTES:
        assert (route in report.routes) != (route in report.not_run)
    if not has("torch"):
        assert report.not_run["torch"] == "torch is not installed"
    assert report.not_run["by hand"] == "no grad of these nodes was set by hand"
    for route, why in report.not_run.items():
        assert f"{route} not run: {why}" in report.summary


@pytest.mark.skipif(not has("sympy"), reason="needs sympy")
def test_without_sympy_the_symbolic_column_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "autograd.symbolic", None)
    report = routes(Value(0.5, label="x").exp())
    assert report.not_run["symbolic"] == 'sympy is not installed (pip install "chainrule[symbolic]")'
    assert report.ok


def test_the_iris_network_by_every_route():
    ds = nn.load_iris()
    model = nn.MLP(4, [8, 3], activation="sigmoid", seed=0)
    loss = nn.cross_entropy(model([Value(v, label=f"x{i}") for i, v in enumerate(ds.data[0], 1)]), int(ds.target[0]))
    report = routes(loss)
    assert report.ok, report.failure_message()
    leaves = [n for n in topological_order(loss) if n.is_leaf]
    assert len(report) == len(leaves)
    loss.backward()
    for row in report:
        assert dict(row.routes)["backward"] == row.node.grad  # the same chain rule as backward


def test_chosen_nodes_by_label_and_an_intermediate_node():
    x = Value(3.0, label="x")
    h = x * 2.0
    h.label = "h"
    root = x * h
    report = routes(root, nodes=["h", x])
    assert [row.name for row in report] == ["x", "h"]
    assert dict(report["h"].routes)["forward"] == 3.0 and dict(report["x"].routes)["forward"] == 12.0


def test_a_nudge_across_relus_kink_is_not_judged():
    x, y = Value(0.0, label="x"), Value(2.0, label="y")
    report = routes(x.relu() * y)
    assert report.ok and report["x"].status == "nondifferentiable"


def test_a_stale_graph_is_not_checked():
    x = Value(1.0, label="x")
    E = x.exp()
    x.data = 2.0  # changed without replay
    report = routes(E)
    assert not report.ok and report.stale is not None and len(report) == 0
    with pytest.raises(GradientCheckError):
        routes(E, raise_exception=True)


def test_a_route_that_disagrees_fails_the_row_and_names_the_route(monkeypatch):
    import importlib

    module = importlib.import_module("autograd.check.routes")

    monkeypatch.setattr(module, "forward_grad", lambda root, node: 123.0)
    x = Value(0.5, label="x")
    report = routes(x * x)
    assert not report.ok
    assert report["x"].status == "fail" and "forward" in report["x"].note
    assert "backward gives 1" in report["x"].message() and "forward 123" in report["x"].message()


def test_bad_arguments():
    with pytest.raises(TypeError, match="routes"):
        routes(1.0)
    x = Value(1.0, label="x")
    with pytest.raises(TypeError, match="single str"):
        routes(x.exp(), nodes="x")
    with pytest.raises(ValueError, match="eps"):
        routes(x.exp(), eps=1.0)


def test_cli_check_routes_prints_the_table():
    result = chainrule("check", "log(exp(a) + exp(b)) - a", "a=1", "b=2", "--routes")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert set(rows) == {"a", "b"}
    softmax_a = math.exp(1) / (math.exp(1) + math.exp(2))
    backward, forward = float(rows["a"][2]), float(rows["a"][3])
    assert math.isclose(backward, softmax_a - 1, rel_tol=1e-9) and math.isclose(forward, softmax_a - 1, rel_tol=1e-9)
    assert "central difference" in result.stdout and "routes of f" in result.stdout
    assert "Traceback" not in result.stderr


def test_grads_set_by_hand_are_a_route_right_and_wrong():
    """The lecture's way: set each grad by hand, then see it beside every other route."""
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    y = x * w
    y.label = "y"
    x.grad = -3.0  # right: dy/dx = w
    report = routes(y)
    assert "by hand" in report.routes and report.ok
    assert dict(report["x"].routes)["by hand"] == -3.0 and math.isnan(dict(report["w"].routes)["by hand"])
    w.grad = 5.0  # wrong: dy/dw = x = 2
    report = routes(y)
    assert not report.ok and report["w"].status == "fail" and "by hand" in report["w"].note
    assert x.grad == -3.0 and w.grad == 5.0  # routes wrote no grad
