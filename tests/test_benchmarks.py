"""The benchmark harness runs end to end at tiny sizes (so it cannot rot), and its builders are right.

No timing is asserted: only that every workload ran, agreed across engines and was recorded.
"""

from __future__ import annotations

import json
import math
import faulthandler
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from autograd import Value, topological_order
from benchmarks import workloads

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "benchmarks" / "run.py"


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(RUN), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    path = tmp_path_factory.mktemp("bench") / "results.json"
    done = _run("--tiny", "--json", str(path))
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done, json.loads(path.read_text())


def test_tiny_run_records_every_workload(tiny_run):
    done, data = tiny_run
    by_id = {w["id"]: w for w in data["workloads"]}
    assert set(by_id) == {"W1", "W2 N=200", "W2 N=2,000", "W3", "W4", "W5", "W6", "W7", "W8", "W9"}
    for workload_id in ("W1", "W2 N=200", "W2 N=2,000", "W3"):
        ours = by_id[workload_id]["results"]["chainrule"]
        assert ours["status"] == "ok", (workload_id, ours)
        assert ours["repeats"] == 1 and ours["ops"] > 0
        assert 0 < ours["min_s"] <= ours["median_s"] <= ours["max_s"]
        assert ours["forward_us_per_op"] > 0 and ours["backward_us_per_op"] > 0
        assert 0 <= ours["gc_fraction"] <= 1
    assert by_id["W2 N=2,000"]["results"]["chainrule"]["ops"] == 4_000
    assert by_id["W3"]["results"]["chainrule"]["ops"] == 2 * 1_000 - 1
    w4 = by_id["W4"]["results"]["chainrule"]
    assert w4["status"] == "ok" and w4["ops"] == 2_000 and w4["traced_bytes_per_op"] > 0
    for workload_id in ("W5", "W6", "W8"):  # they need nn and autograd.check; skipped with a reason otherwise
        ours = by_id[workload_id]["results"]["chainrule"]
        assert ours["status"] in ("ok", "skipped"), ours
        assert ours["status"] == "ok" or ours["note"]
    for workload_id in ("W5", "W8"):  # nn's epoch rebuilt by hand agrees before it is timed
        hand = by_id[workload_id]["results"]["chainrule-hand"]
        assert hand["status"] == "ok" and hand["ops"] > 0, hand
    w8 = by_id["W8"]["results"]["chainrule"]
    assert w8["full_epoch_images"] == 1438 and w8["full_epoch_s_estimate"] > w8["median_s"]
    w7 = by_id["W7"]["results"]  # Hessians, checked against central differences before timing
    assert w7["chainrule"]["status"] == "ok" and w7["chainrule"]["params"] == 10
    assert w7["chainrule"]["phases_median_s"]["hessian"] > 0
    assert w7["micrograd"]["status"] in ("n/a", "skipped") and w7["torch"]["status"] in ("ok", "skipped")
    assert by_id["W8"]["results"]["chainrule-py-hand"]["status"] in ("ok", "skipped")
    w9 = by_id["W9"]["results"]["chainrule"]  # the torch bridge; skipped with a reason without torch
    assert w9["status"] == "ok" or (w9["status"] == "skipped" and "torch" in w9["note"]), w9
    if w9["status"] == "ok":
        assert w9["compare_torch_ok"] and w9["differs"] == 0 and w9["graph_nodes"] == w9["ops"] == 202
        assert set(w9["phases_median_s"]) == {"to_torch", "compare_torch"}
    # The text report has the table, the machine and where chainrule stands.
    assert "| workload | engine |" in done.stdout
    assert "Machine:" in done.stdout and "Python:" in done.stdout
    assert "Targets (issue 10):" in done.stdout and "at most 120 bytes per node" in done.stdout
    # Both engine modes in the same run, and W1's plain-float floor computed the same loss.
    for workload_id in ("W1", "W2 N=200", "W3", "W4"):
        assert by_id[workload_id]["results"]["chainrule-py"]["status"] == "ok", workload_id
    assert by_id["W1"]["results"]["plain floats"]["status"] == "ok"
    assert by_id["W5"]["results"]["chainrule-py-hand"]["status"] in ("ok", "skipped")
    assert data["machine"]["python"].endswith(".".join(map(str, sys.version_info[:2])) + f".{sys.version_info[2]}")


def test_reference_engines_agree_or_are_skipped(tiny_run):
    _, data = tiny_run
    installed = data["machine"]["engines"]
    by_id = {w["id"]: w for w in data["workloads"]}
    for name in ("micrograd", "torch"):
        for workload_id in ("W1", "W2 N=200", "W3", "W4"):
            status = by_id[workload_id]["results"][name]["status"]
            assert status == ("ok" if name in installed else "skipped"), (name, workload_id, status)
    if "micrograd" in installed:
        # micrograd's recursive topological sort cannot get through a 4,000-node chain.
        failed = by_id["W2 N=2,000"]["results"]["micrograd"]
        assert failed["status"] == "fails" and "RecursionError" in failed["note"]
        assert by_id["W1"]["chainrule_speedup"]["micrograd"] > 0


def test_bad_options_are_usage_errors():
    for args, message in ((["--repeats", "0"], "at least 1"), (["--only", "W10"], "unknown workload W10")):
        done = _run(*args, timeout=60)
        assert done.returncode == 2 and message in done.stderr, done.stderr


# -- the builders ------------------------------------------------------------------------------------


def test_deep_chain_matches_its_closed_form():
    x = Value(0.5)
    y = workloads.deep_chain(x, 1_000)
    y.backward()
    value, slope = workloads.deep_chain_closed_form(0.5, 1_000)
    assert math.isclose(y.data, value, rel_tol=1e-12)
    assert math.isclose(x.grad, slope, rel_tol=1e-12)
    assert sum(1 for node in topological_order(y) if node.parents) == 2_000


def test_pairwise_sum_is_a_shallow_tree_with_the_exact_sum():
    leaves = [Value(float(i)) for i in range(1, 1_001)]
    total = workloads.pairwise_sum(leaves)
    assert total.data == 1_000 * 1_001 / 2
    ops = [node for node in topological_order(total) if node.parents]
    assert len(ops) == 999

    depth: dict[Value, int] = {}
    for node in topological_order(total):
        depth[node] = 1 + max((depth[p] for p in node.parents), default=-1)
    assert depth[total] == math.ceil(math.log2(1_000))


def test_two_moons_is_seeded_and_balanced():
    X, y = workloads.two_moons(100, noise=0.1, seed=0)
    assert (X, y) == workloads.two_moons(100, noise=0.1, seed=0)
    assert len(X) == 100 and all(len(row) == 2 for row in X)
    assert sorted(set(y)) == [-1.0, 1.0] and y.count(1.0) == 50


def test_parameter_layouts_place_every_parameter_once():
    n = 4 * 8 + 8 + 8 * 3 + 3
    for layout in workloads._LAYOUTS:
        positions = workloads._flat(workloads._unflatten(range(n), 4, [8, 3], layout))
        assert sorted(positions) == list(range(n)), layout
    # weights then bias: neuron j of layer 1 holds its 4 weights and then its bias
    first = workloads._unflatten(range(n), 4, [8, 3], workloads._LAYOUTS[0])[0][1]
    assert first == ([5, 6, 7, 8], 9)


# -- isolation of crashing measurements -----------------------------------------------------------------


def _crash() -> None:
    faulthandler.disable()  # a deliberate crash: no fatal-error dump in the test log
    os.kill(os.getpid(), signal.SIGSEGV)


def _raise() -> None:
    raise ValueError("bad input 42")


def test_child_process_reports_result_exception_and_crash():
    from benchmarks.isolate import ChildFailed, run_in_child

    assert run_in_child(pow, 2, 10) == 1024
    with pytest.raises(ChildFailed, match="ValueError: bad input 42"):
        run_in_child(_raise)
    if hasattr(signal, "SIGSEGV") and os.name == "posix":
        with pytest.raises(ChildFailed, match=r"crashed \(SIGSEGV\)"):
            run_in_child(_crash)


# -- the limit benchmark (issue 22): chainrule against the minimal engine and hand-derived floats -------


def test_hand_derived_float_step_is_chainrules_step():
    """The hand-written backward of benchmarks/limit.py gives chainrule's loss and updated parameters."""
    import numpy as np

    from benchmarks import limit
    from benchmarks.engines import load_engines

    X, y = workloads.two_moons(12, noise=0.1, seed=3)
    init = workloads.init_mlp(2, (16, 16, 1), np.random.default_rng(3))
    engines, _ = load_engines(["chainrule"])
    step = limit.graph_step(engines["chainrule"], init, X, y)
    net = limit.float_network(init)
    for _ in range(3):  # three steps: the second and third start from updated parameters
        expected = step().data
        got = limit.float_step(net, X, y)
        assert math.isclose(got, expected, rel_tol=1e-12)
        after = [p for layer in net for weights, bias in layer for p in (*weights, bias)]
        assert len(after) == len(step.params)
        for a, p in zip(after, step.params):
            assert math.isclose(a, p.data, rel_tol=1e-9, abs_tol=1e-15)


def test_limit_benchmark_runs_and_all_engines_agree(tmp_path):
    pytest.importorskip("pyximport", reason="the minimal engine is built with Cython (in the dev extra)")
    out = tmp_path / "limit.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "limit.py"), "--tiny", "--json", str(out), "--build-dir", str(tmp_path / "build")],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert set(data["engines"]) == {"chainrule", "chainrule-py", "minimal engine", "hand-derived floats"}
    assert all(len(e["wall_s"]) == 2 and all(t > 0 for t in e["cpu_s"] + e["wall_s"]) for e in data["engines"].values())
    assert "chainrule / minimal engine (wall)" in data["ratios"]
    assert "| chainrule / hand-derived floats |" in done.stdout


def test_every_round_of_the_limit_benchmark_times_the_same_steps():
    # The hand-derived step skips the points whose margin is met, so its work fell as rounds went on
    # while the graph engines' did not; each round now restarts every engine from the same parameters.
    import numpy as np

    from benchmarks import limit
    from benchmarks.engines import load_engines

    X, y = workloads.two_moons(12, noise=0.1, seed=3)
    start = limit.trained(workloads.init_mlp(2, (16, 16, 1), np.random.default_rng(3)), X, y, 5)
    engines, _ = load_engines(["chainrule"])
    for row in (limit.graph_row("chainrule", engines["chainrule"], start, X, y), limit.float_row(start, X, y)):
        losses = []
        for _ in range(2):  # two rounds of three steps
            row.restart()
            losses.append([float(getattr(loss, "data", loss)) for loss in (row.step(), row.step(), row.step())])
        assert losses[0] == losses[1] and losses[0][0] != losses[0][2], row.name


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_failed_json_write_is_one_line_and_keeps_the_printed_results(tmp_path):
    pytest.importorskip("pyximport", reason="the minimal engine is built with Cython (in the dev extra)")
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "limit.py"), "--tiny", "--json", "/dev/full", "--build-dir", str(tmp_path / "build")],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 1 and "| chainrule / minimal engine |" in done.stdout
    assert done.stderr.strip().splitlines() == [
        "benchmarks/limit.py: the results above were not written to /dev/full: [Errno 28] No space left on device"
    ]
    assert Path("/dev/full").is_char_device()


def test_routes_benchmark_runs_and_checks_its_results(tmp_path):
    """benchmarks/routes.py (forward_grad against backward, formula on the seed graphs) at toy size."""
    pytest.importorskip("sympy")
    out = tmp_path / "routes.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "routes.py"), "--tiny", "--json", str(out)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["chain"]["operations"] == 2_000 and data["chain"]["forward_grad"]["wall_s"] > 0
    assert [row["formula"] for row in data["formula"].values()] == ["p_setosa - 1", "p_setosa", "h2*(y1 - 1)", "h2*y2"]


def test_instruction_counts_run_under_callgrind(tmp_path):
    """benchmarks/instructions.py counts a W1 step's instructions (load-independent), at a tiny size."""
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (apt-get install valgrind)")
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "instructions.py"), "--tiny", "--engines", "chainrule"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    row = re.search(r"\| chainrule \| ([\d.]+)M \|", done.stdout)
    assert row and float(row.group(1)) > 0.1, done.stdout  # 8 points: a step is about a million instructions or more
