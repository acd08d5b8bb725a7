"""gradcheck's two methods (end-to-end and local) and how "auto" picks between them; its step size.

Speed is measured by ``benchmarks/gradcheck_scaling.py``, not here: these tests check what each
method finds, on graphs small enough to be quick.
"""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import given, settings

import autograd.check.report as report_module
from autograd import Value, topological_order, zero_grad
from autograd.check import AUTO_BUDGET, gradcheck
from autograd.expr import parse_expression
from test_check import EXPRESSIONS, neuron_graph, random_graphs, snapshot, tiny_mlp

BOTH = ["end-to-end", "local"]


def chain(steps: int) -> tuple[Value, Value]:
    """``y = tanh(0.9 y + 0.1)`` ``steps`` times from x = 0.3: (root, x), run backward."""
    x = Value(0.3, label="x")
    y = x
    for _ in range(steps):
        y = (y * 0.9 + 0.1).tanh()
    y.backward()
    return y, x


@pytest.mark.parametrize("mode", BOTH)
@pytest.mark.parametrize("text, values", EXPRESSIONS)
def test_both_methods_pass_correct_graphs_and_change_nothing(text, values, mode):
    E = parse_expression(text, values)
    E.backward()
    before = snapshot(E)
    report = gradcheck(E, mode=mode)
    assert report.ok, report.failure_message()
    assert report.method == mode and f"({mode})" in report.summary
    assert [row.node for row in report] == topological_order(E)
    for row in report:
        assert row.status == "ok" and row.method == mode
        assert row.numeric == pytest.approx(row.node.grad, rel=1e-5, abs=1e-7)
    assert snapshot(E) == before


def test_local_reference_is_the_closed_form():
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    report = gradcheck(E, mode="local")
    sig = 1 / (1 + math.exp(-(2.0 * -0.5 + 0.3)))
    dE_dh = -1 / sig + 2 * sig
    dE_ds = dE_dh * sig * (1 - sig)
    assert report["h"].numeric == pytest.approx(dE_dh, rel=1e-8)
    assert report["s"].numeric == pytest.approx(dE_ds, rel=1e-8)
    assert report["w"].numeric == pytest.approx(dE_ds * 2.0, rel=1e-8)
    assert report["E"].numeric == 1.0


@pytest.mark.parametrize("mode", BOTH)
def test_a_wrong_grad_blames_that_node_only(mode):
    E, x, w, b, s, h = neuron_graph()
    E.backward()
    h.grad += 0.25  # the nodes before h keep their right gradients
    report = gradcheck(E, mode=mode)
    assert [row.node for row in report.failures] == [h]
    assert report["h"].numeric == pytest.approx(h.grad - 0.25, rel=1e-7)
    assert "'h'" in report.failures[0].message()


def test_local_names_a_wrong_local_derivative(monkeypatch):
    """An op whose stored derivative is wrong (as if the engine had a bug): the node whose grad went
    wrong fails, and its row names the consumer whose derivative disagrees with its op."""
    E, x, w, b, s, h = neuron_graph()
    right = h.local_grads[0]
    h.local_grads = (right * 1.5,)  # d sigmoid(s)/ds, stored wrong
    zero_grad(E)
    E.backward()
    # The staleness check would report the stored derivative as out of date; an engine bug would not
    # be (its op and its recomputation would agree), so leave that check out here.
    monkeypatch.setattr(report_module, "find_stale_values", lambda names: None)
    report = gradcheck(E, mode="local")
    failed = {row.node for row in report.failures}
    assert s in failed and h not in failed  # s.grad = h.grad * (wrong d h/d s)
    assert failed <= set(topological_order(s))  # s and what it depends on; nothing after h
    note = report["s"].note
    assert "wrong local derivative" in note and "h = sigmoid(s)" in note
    assert f"{right * 1.5:.10g}" in note and f"{right:.6g}"[:6] in note


def test_local_marks_rows_through_a_relu_kink_and_still_finds_bugs():
    x, w = Value(2.0, label="x"), Value(0.0, label="w")
    r = (x * w).relu()  # relu's input is exactly 0
    E = r * 3 + x
    E.label = "E"
    E.backward()
    report = gradcheck(E, mode="local")
    assert report.ok
    assert report["w"].status == "nondifferentiable" and "relu" in report["w"].note
    assert report["x"].status == "ok"  # d(x*w)/dx = w = 0: x's derivative does not go through the kink
    assert report["x"].numeric == pytest.approx(1.0)
    w.grad = 5.0
    assert [row.node for row in gradcheck(E, mode="local").failures] == [w]  # a kink does not hide a bug


def test_local_domain_edge():
    x = Value(math.log(sys.float_info.max), label="x")  # exp of anything above x overflows a float
    E = x.exp()
    E.backward()
    row = gradcheck(E, mode="local")["x"]
    assert row.status == "domain-edge" and "overflow" in row.note


def test_local_step_smaller_than_a_small_operand():
    a, b = Value(0.0, label="a"), Value(1e-9, label="b")
    E = (a + b).log()  # a step of 1e-6 takes a + b below 0; the relative one (1e-15) does not
    E.backward()
    report = gradcheck(E, mode="local")
    assert report.ok and report["a"].status == "ok" and report["a"].numeric == pytest.approx(1e9, rel=1e-4)


def test_auto_picks_end_to_end_for_small_graphs_and_local_for_large():
    small, _ = chain(20)
    assert gradcheck(small).method == "end-to-end"
    large, x = chain(120)  # 601 nodes: replaying after every node costs about 180,000 evaluations
    n = len(topological_order(large))
    assert n * n / 2 > AUTO_BUDGET
    report = gradcheck(large)
    assert report.method == "local" and report.ok and len(report) == n
    # d y/dx along the chain, by the chain rule on floats
    y, slope = 0.3, 1.0
    for _ in range(120):
        y = math.tanh(0.9 * y + 0.1)
        slope *= 0.9 * (1 - y * y)
    assert report["x"].numeric == pytest.approx(slope, rel=1e-6)
    assert gradcheck(large, nodes=[x]).method == "end-to-end"  # one node costs one replay


def test_mode_is_checked():
    E, *_ = neuron_graph()
    E.backward()
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'end-to-end', 'local'"):
        gradcheck(E, mode="fast")


@pytest.mark.parametrize("eps", [0.0, -1e-6, 1e-17, 1e-20, 0.5, math.inf, math.nan])
def test_eps_outside_the_useful_range_is_a_clear_error(eps):
    E, *_ = neuron_graph()
    E.backward()
    with pytest.raises(ValueError, match="eps must be"):
        gradcheck(E, eps=eps)


@pytest.mark.parametrize("mode", BOTH)
def test_smallest_eps_allowed_gives_numbers_not_errors(mode):
    x = Value(1.0, label="x")
    E = x * 2
    E.backward()
    report = gradcheck(E, eps=2.3e-16, rtol=0.5, mode=mode)
    assert all(math.isfinite(row.numeric) for row in report)


def test_nodes_must_be_a_list_not_a_string():
    E, *_ = neuron_graph()
    E.backward()
    with pytest.raises(TypeError, match=r"nodes=\['xw'\]"):
        gradcheck(E, nodes="xw")
    with pytest.raises(TypeError, match="list of Values or labels"):
        gradcheck(E, nodes=3)


def test_mlp_local_agrees_with_end_to_end():
    E = tiny_mlp("sigmoid", seed=2)
    E.backward()
    local, end_to_end = gradcheck(E, mode="local"), gradcheck(E, mode="end-to-end")
    assert local.ok and end_to_end.ok
    for a, b in zip(local, end_to_end):
        assert a.node is b.node
        assert a.numeric == pytest.approx(b.numeric, rel=1e-5, abs=1e-8)


@settings(max_examples=30, deadline=None)
@given(random_graphs())
def test_random_graphs_pass_locally(root):
    root.backward()
    before = snapshot(root)
    report = gradcheck(root, mode="local")
    assert report.ok, report.failure_message()
    assert snapshot(root) == before


def test_the_scaling_benchmark_runs_at_tiny_size(capsys):
    """``benchmarks/gradcheck_scaling.py --tiny`` runs (so that it cannot rot); its times are not judged."""
    from benchmarks import gradcheck_scaling

    assert gradcheck_scaling.main(["--tiny"]) == 0
    out = capsys.readouterr().out
    assert "end-to-end" in out and "local" in out
