"""The engine's second design (issue 10): each problem found in the first engine, reproduced as a test
that failed on it, plus the compiled core's contract. Every test here runs in both engine modes (the
suite is run once compiled and once with CHAINRULE_PURE_PYTHON=1)."""

from __future__ import annotations

import asyncio
import copy
import gc
import math
import os
import pickle
import random
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import autograd
from autograd import Parameter, Value, check_toposort, replay, scope, topological_order, zero_grad
from autograd.engine import gradients

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str, stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter that imports chainrule from this checkout, in this engine mode;
    stdout and stderr as bytes."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], input=stdin, capture_output=True, env=environment, cwd=REPO, timeout=120
    )


# -- exact primitives ----------------------------------------------------------------------------------------
def test_subtraction_division_and_negation_are_bit_equal_to_float_arithmetic():
    rng = random.Random(10)
    for _ in range(5000):
        a = rng.uniform(-1e3, 1e3) * 10 ** rng.randint(-30, 30)
        b = rng.uniform(-1e3, 1e3) * 10 ** rng.randint(-30, 30)
        va, vb = Value(a), Value(b)
        assert (va - vb).data == a - b and (va / vb).data == a / b and (-va).data == -a
        assert (a - vb).data == a - b and (a / vb).data == a / b and (va - b).data == a - b
        assert (va + vb).data == a + b and (va * vb).data == a * b


def test_x_over_x_is_exactly_one_so_nothing_downstream_is_spurious():
    assert (Value(49.0) / 49).data == 1.0
    rng = random.Random(3)
    for _ in range(2000):
        x = Value(rng.uniform(0.01, 100.0))
        assert (x / x - 1).relu().data == 0.0 and (x / x).log().data == 0.0


def test_minus_negation_and_division_are_one_node_each_with_their_partials():
    a, b = Value(3.0, label="a"), Value(-4.0, label="b")
    for node, op, partials in [(a - b, "-", (1.0, -1.0)), (-a, "neg", (-1.0,)), (a / b, "/", (1 / -4.0, -(3 / -4.0) / -4.0))]:
        assert node.op == op and node.parents == ((a, b) if len(partials) == 2 else (a,))
        assert node.local_grads == partials
    one = Value(2.0) - 1
    assert len(topological_order(one)) == 3  # x, the constant 1 and one operation


# -- order without creation counters ------------------------------------------------------------------------
def test_a_graph_pickled_in_another_process_gets_the_right_gradient():
    # Made after 1,000 other Values in the first process, so a creation counter would sort these last.
    made = run_python(
        """
        import pickle, sys
        from autograd import Value
        junk = [Value(float(i)) for i in range(1000)]
        x = Value(2.0, label="x")
        sys.stdout.buffer.write(pickle.dumps((x, x * 3.0)))
        """
    )
    assert made.returncode == 0, made.stderr.decode()
    x, h = pickle.loads(made.stdout)
    assert h.parents[0] is x  # identity kept between the two pickled objects
    E = h.tanh()
    E.backward()
    assert x.grad == pytest.approx(3.0 * (1.0 - math.tanh(6.0) ** 2), rel=1e-12)  # 7.4e-05
    check_toposort(topological_order(E))
    x.data = 0.1
    assert replay(E) == pytest.approx(math.tanh(0.3), rel=1e-15)


def test_a_pickled_network_loaded_elsewhere_gradchecks_clean():
    import nn

    model = nn.MLP(3, [4, 2], activation="tanh", seed=1)
    done = run_python(
        """
        import pickle, sys
        from autograd import Value
        junk = [Value(1.0) for _ in range(5000)]
        model = pickle.loads(sys.stdin.buffer.read())
        import nn
        from autograd.check import gradcheck
        loss = nn.cross_entropy(model([Value(v) for v in (0.5, -1.0, 2.0)]), 1)
        loss.backward()
        report = gradcheck(loss)
        print(report.ok, len(report.failures), repr(loss.data))
        """,
        stdin=pickle.dumps(model),
    )
    assert done.returncode == 0, done.stderr.decode()
    ok, failures, value = done.stdout.decode().split()
    here = nn.cross_entropy(model([Value(v) for v in (0.5, -1.0, 2.0)]), 1)
    assert (ok, failures, float(value)) == ("True", "0", here.data)


def test_the_order_lists_an_expression_as_written_and_ignores_when_nodes_were_made():
    x, w, b = Value(1.0, label="x"), Value(2.0, label="w"), Value(3.0, label="b")
    y = x * w + b
    assert [n.label or n.op for n in topological_order(y)] == ["x", "w", "*", "b", "+"]
    late_leaf = Value(5.0, label="late")  # made after y's nodes, used below them
    z = late_leaf * y
    order = topological_order(z)
    check_toposort(order)
    assert order[0] is late_leaf and order[-1] is z


def test_a_walk_while_another_thread_walks_keeps_a_set_and_gives_the_same_order_and_grads():
    # The walk marks nodes; while another thread holds the marks (the lock), it keeps a set of seen
    # nodes instead. Both must list the same nodes in the same order, so backward's numbers agree.
    from autograd import engine

    rng = random.Random(3)
    leaves = [Value(rng.uniform(0.5, 2.0), label=f"x{i}") for i in range(6)]
    nodes = list(leaves)
    for _ in range(60):  # shared subexpressions, both operand orders, unary and binary ops
        a, b = rng.choice(nodes), rng.choice(nodes)
        nodes.append(rng.choice([a * b, a + b, (a - b).tanh(), a.sigmoid() * 0.5, -a]))
    root = sum(nodes[-10:], Value(0.0))
    by_marks = topological_order(root)
    root.backward()
    grads = [leaf.grad for leaf in leaves]
    zero_grad(root)
    with engine._walk_lock:  # as if another thread were walking
        by_set = topological_order(root)
        root.backward()
    assert [id(n) for n in by_set] == [id(n) for n in by_marks]
    check_toposort(by_set)
    assert [leaf.grad for leaf in leaves] == grads


# -- pickle and deepcopy of any depth ------------------------------------------------------------------------
def chain(n: int) -> tuple[Value, Value]:
    x = Value(0.5, label="x")
    y = x
    for _ in range(n):
        y = -y  # one operation a level, each depending on the one before
    return x, y


@pytest.mark.parametrize("copier", ["pickle", "deepcopy"])
def test_a_million_operation_chain_pickles_and_deep_copies(copier):
    n = 1_000_000 if autograd.COMPILED else 200_000  # plain Python: far past any recursion limit, faster
    x, y = chain(n)
    with scope("deep"):
        z = y * 2.0
    z.label = "z"
    z.backward()
    twin = pickle.loads(pickle.dumps(z)) if copier == "pickle" else copy.deepcopy(z)
    assert twin is not z and twin.data == z.data and twin.label == "z" and twin.scope == "deep"
    assert twin.op == "*" and twin.local_grads == z.local_grads
    order = topological_order(twin)
    assert len(order) == n + 3
    leaf = order[0]
    assert leaf.label == "x" and leaf.data == 0.5 and leaf.grad == x.grad == 2.0
    assert all(node.grad_pass == twin.grad_pass != 0 for node in order)
    del twin, order, leaf


def test_pickle_keeps_shared_nodes_shared_and_every_field():
    x = Parameter(1.5, label="x")
    with scope("L1"):
        h = (x * x).tanh()
    h.label = "h"
    E = h + x
    E.backward()
    x2, h2, E2 = pickle.loads(pickle.dumps([x, h, E]))
    assert type(x2) is Parameter and E2.parents == (h2, x2) and h2.parents[0].parents == (x2, x2)
    for old, new in zip(topological_order(E), topological_order(E2)):
        assert (new.data, new.grad, new.label, new.op, new.scope, new.local_grads) == (
            old.data, old.grad, old.label, old.op, old.scope, old.local_grads
        )
    assert E2.grad_pass == x2.grad_pass != 0
    copied = copy.deepcopy([x, E])
    assert copied[1].parents[1] is copied[0] and copied[0] is not x
    shallow = copy.copy(E)
    assert shallow is not E and shallow.parents == E.parents


# -- scopes -----------------------------------------------------------------------------------------------------
def test_threads_building_in_their_own_scopes_never_mix():
    results: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def build(name: str) -> None:
        start.wait()
        seen = []
        with scope(name):
            x = Value(1.0)
            for _ in range(2000):
                x = x * 1.0
                seen.append(x.scope)
        results[name] = seen

    threads = [threading.Thread(target=build, args=(name,)) for name in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["A"] == ["A"] * 2000 and results["B"] == ["B"] * 2000
    assert Value(1.0).scope == ""  # nothing left behind


def test_asyncio_tasks_have_their_own_scope():
    async def build(name: str) -> list[str]:
        with scope(name):
            scopes = []
            for _ in range(5):
                scopes.append((Value(1.0) * 2).scope)
                await asyncio.sleep(0)
            return scopes

    async def both() -> list[list[str]]:
        return await asyncio.gather(build("A"), build("B"))

    assert asyncio.run(both()) == [["A"] * 5, ["B"] * 5]


def test_a_scope_entered_twice_or_left_out_of_order_leaks_nothing():
    outer, inner = scope("L1"), scope("n1")
    with outer:
        with outer:
            assert Value(1.0).scope == "L1.L1"
        assert Value(1.0).scope == "L1"
    assert Value(1.0).scope == ""
    outer.__enter__()
    inner.__enter__()
    assert Value(1.0).scope == "L1.n1"
    outer.__exit__(None, None, None)  # out of order
    assert Value(1.0).scope == "n1"
    inner.__exit__(None, None, None)
    assert Value(1.0).scope == ""


@pytest.mark.parametrize("bad", [5, "", None, b"L1"])
def test_a_scope_name_must_be_a_non_empty_str(bad):
    with pytest.raises(TypeError, match="non-empty str"):
        scope(bad)


# -- no non-finite local derivative, errors quote what was written ----------------------------------------------
def test_a_slope_that_overflows_is_refused_when_the_node_is_made():
    x = Value(1e-310, label="tiny")
    with pytest.raises(OverflowError, match=r"log\(\) of 1e-310 .*'tiny'"):
        x.log()
    with pytest.raises(OverflowError) as info:
        Value(1e-103, label="u") ** -2.99
    assert "-2.99" in str(info.value) and "3.99" not in str(info.value) and "'u'" in str(info.value)
    with pytest.raises(OverflowError, match="local derivative of '/'"):
        Value(1.0) / Value(1e-310)


def test_every_stored_local_derivative_is_finite():
    rng = random.Random(5)
    for _ in range(3000):
        a = rng.choice([1e-300, 1e-200, 1e-20, 0.5, 3.0, 1e20, 1e200]) * rng.choice([1, -1])
        b = rng.choice([1e-300, 1e-150, 0.25, 7.0, 1e150, 1e300]) * rng.choice([1, -1])
        for make in (lambda: Value(a) / Value(b), lambda: Value(abs(a)) ** b, lambda: Value(abs(a)).log(),
                     lambda: Value(a) ** 3, lambda: Value(abs(a)) ** -0.5, lambda: Value(abs(a)) ** Value(b)):
            try:
                node = make()
            except (ArithmeticError, ValueError):
                continue
            assert all(math.isfinite(d) for d in node.local_grads) and math.isfinite(node.data)


def test_a_failed_backward_leaves_every_grad_as_it_was():
    x = Value(1e-300, label="x")
    y = x.log()
    z = y * 1e10
    u = y * 2.0
    u.backward()
    before = {node: (node.grad, node.grad_pass) for node in topological_order(z)}
    before[u] = (u.grad, u.grad_pass)
    with pytest.raises(FloatingPointError, match="not a finite float"):
        z.backward()  # dz/dx = 1e10 / 1e-300 overflows
    for node, state in before.items():
        assert (node.grad, node.grad_pass) == state, node


# -- no silent loss of a gradient -----------------------------------------------------------------------------
def test_converting_a_value_to_a_float_is_a_type_error_that_says_what_to_do():
    v = Value(0.5, label="v")
    for convert in (float, math.exp, np.float64, int):
        with pytest.raises(TypeError, match=r"v\.data.*v\.exp\(\)"):
            convert(v)


def test_numpy_scalars_on_the_left_give_values():
    v = Value(2.0, label="v")
    for scalar in (np.float64(3.0), np.float32(3.0), np.int64(3)):
        for result, expected in [(scalar * v, 6.0), (scalar + v, 5.0), (scalar - v, 1.0), (scalar / v, 1.5)]:
            assert isinstance(result, Value) and result.data == expected and v in result.parents


def test_object_arrays_of_values_keep_working():
    W = np.array([[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]], dtype=object)
    x = np.array([Value(0.5), Value(-1.0)], dtype=object)
    z = W @ x
    assert [zi.data for zi in z] == [-1.5, -2.5]
    total = np.sum(np.tanh(z)) + np.sum(np.exp(x)) + np.sum(x * 2.0) + np.sum(2.0 * x)
    total.backward()
    t0, t1 = math.tanh(-1.5), math.tanh(-2.5)
    assert W[0, 0].grad == pytest.approx((1 - t0**2) * 0.5, rel=1e-12)
    assert x[1].grad == pytest.approx((1 - t0**2) * 2 + (1 - t1**2) * 4 + math.exp(-1.0) + 4.0, rel=1e-12)


# -- clear errors, nothing lost (from issue 13's list) ---------------------------------------------------------
def test_bad_data_labels_and_roots_are_clear_errors():
    with pytest.raises(ValueError, match="too large for a float"):
        Value(10**400)
    v = Value(1.0, label="v")
    with pytest.raises(ValueError, match="node 'v'.*finite"):
        v.data = math.nan
    with pytest.raises(TypeError, match="label must be a str"):
        v.label = 3
    assert (v.data, v.label) == (1.0, "v")
    for function in (topological_order, zero_grad, replay):
        with pytest.raises(TypeError, match="needs a Value"):
            function(3.0)
    with pytest.raises(TypeError, match="other operand of '\\+'"):
        v + "2"


def test_replay_refuses_a_changed_node_from_another_graph():
    x = Value(1.0, label="x")
    E = x * 2.0
    stranger = Value(5.0, label="stranger")
    with pytest.raises(ValueError, match="'stranger'.* is not part of the graph"):
        replay(E, changed=[stranger])


def test_backward_from_a_leaf_accumulates_like_every_leaf():
    x = Value(3.0)
    x.grad = 2.0
    x.backward()
    assert x.grad == 3.0


def test_zero_grad_marks_grads_as_not_computed():
    x = Value(2.0)
    y = x * x
    assert y.grad_pass == 0
    y.backward()
    assert y.grad_pass == x.grad_pass != 0
    zero_grad(y)
    assert (x.grad, x.grad_pass, y.grad_pass) == (0.0, 0, 0)


def test_gradients_reads_and_writes_no_grad():
    x, w, other = Value(2.0), Value(-3.0), Value(9.0)
    x.grad = 7.0
    y = (x * w).tanh() + x * x
    assert gradients(y, [x, w, other]) == pytest.approx([4 + (1 - math.tanh(-6) ** 2) * -3, (1 - math.tanh(-6) ** 2) * 2, 0.0])
    assert (x.grad, w.grad, y.grad_pass) == (7.0, 0.0, 0)


# -- the compiled core ---------------------------------------------------------------------------------------
def test_the_mode_flag_and_the_variable_that_forces_plain_python():
    forced = run_python("import autograd; print(autograd.COMPILED)", CHAINRULE_PURE_PYTHON="1")
    assert forced.returncode == 0 and forced.stdout.strip() == b"False" and forced.stderr == b""
    if os.environ.get("CHAINRULE_PURE_PYTHON") == "1":
        assert autograd.COMPILED is False


@pytest.mark.skipif(os.environ.get("CHAINRULE_PURE_PYTHON") == "1", reason="the suite runs in plain Python on purpose")
def test_the_compiled_engine_is_built_where_a_c_compiler_exists():
    if shutil.which(sysconfig.get_config_var("CC").split()[0] if sysconfig.get_config_var("CC") else "cc") is None:
        pytest.skip("no C compiler here, so the plain-Python engine is expected")
    assert autograd.COMPILED, (
        "the compiled engine is not built: install with `pip install -e .` (or `python setup.py build_ext "
        "--inplace` in a checkout) so that the tests run against it"
    )
    assert not gc.is_tracked(Value(1.0)) and not gc.is_tracked(Value(1.0) * 2.0) and not gc.is_tracked(Parameter(1.0))


def test_long_graphs_are_freed_on_a_small_c_stack_and_the_error_being_handled_survives():
    # Freeing a node frees its operands: compiled, C would recurse once per level of a chain (a crash on
    # a small stack). Each graph is freed in a thread with a 512 KiB stack, twice: once while an
    # exception is being handled, which freeing must leave as it was (Cython's __dealloc__ saved and
    # restored it at a third of the cost of freeing a node; chainrule's deallocator runs no Python).
    done = run_python("""
        import sys, threading
        from autograd import Value
        def chain():
            x, c, d = Value(1.0), Value(1.0000001), Value(0.0)
            y = x
            for _ in range(300_000):
                y = y * c + d
            return y
        def both_operands_deep():
            u, v = Value(1.0), Value(2.0)
            for _ in range(200_000):
                u, v = (u + v) * 0.5, u - v * 0.5
            return u
        def free(make):
            graph = make()
            del graph
            try:
                raise KeyError("kept")
            except KeyError:
                graph = make()
                del graph
                print(make.__name__, repr(sys.exc_info()[1]))
        threading.stack_size(512 * 1024)
        for make in (chain, both_operands_deep):
            worker = threading.Thread(target=free, args=(make,))
            worker.start()
            worker.join()
        print("done")
    """)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().split("\n") == ["chain KeyError('kept')", "both_operands_deep KeyError('kept')", "done", ""]


def test_without_the_compiled_engine_one_line_says_how_to_get_it(tmp_path):
    package = tmp_path / "autograd"
    shutil.copytree(REPO / "autograd", package, ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "*.c"))
    code = "import autograd; print(autograd.COMPILED)"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("CHAINRULE_PURE_PYTHON", None)
    env.pop("CHAINRULE_QUIET", None)
    loud = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert loud.stdout.strip() == "False"
    assert len(loud.stderr.splitlines()) == 1 and "compiled engine is not installed" in loud.stderr
    assert "CHAINRULE_QUIET=1" in loud.stderr
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, "CHAINRULE_QUIET": "1"}, cwd=tmp_path)
    assert quiet.stdout.strip() == "False" and quiet.stderr == ""


def test_replay_that_moves_values_marks_the_grads_as_not_computed():
    from autograd.check import GradientCheckError, compare, explain, gradcheck

    x, w = Value(1.0, label="x"), Value(3.0, label="w")
    y = x * w
    y.backward()
    replay(y)  # nothing moved: the grads still belong to these values
    assert y.grad_pass == x.grad_pass != 0
    w.data = 5.0
    replay(y)
    assert (y.grad_pass, x.grad_pass, w.grad_pass) == (0, 0, 0) and x.grad == 3.0  # kept, but not current
    # said once, with what to do (not a wall of FAIL rows, nor an error): the README's promise
    report = gradcheck(y)
    assert not report.ok and report.rows == [] and report.stale is not None and report.stale.kind == "grads"
    assert "replay recomputed its values after backward()" in str(report) and "root.backward()" in str(report)
    assert not compare(y, {"x": 5.0}).ok and explain(x, y).stale is not None
    with pytest.raises(GradientCheckError, match="NOT CHECKED"):
        gradcheck(y, raise_exception=True)
    zero_grad(y)  # the leaves hold the old pass's gradients, which backward would add to
    y.backward()
    assert gradcheck(y).ok
