"""How long ``gradcheck`` takes as graphs grow, for each method, with the default options.

    python benchmarks/gradcheck_scaling.py            # the sizes of issue 13's targets (a minute or two)
    python benchmarks/gradcheck_scaling.py --tiny     # small sizes, a few seconds (the tests run this)

Graphs:

* chain: ``y = tanh(0.9 * y + 0.1)`` repeated, one long path (every node has one consumer);
* network: the mean cross-entropy of a mini-batch of iris flowers through ``MLP(4, [16, 16, 3])``
  (wide: every weight is used by every flower of the batch).

For each graph, the time of ``gradcheck(root)`` with the default options (``mode="auto"``, which picks
"local" for graphs this size) and, on smaller graphs, of ``mode="end-to-end"`` to show how it grows.
Each time is the median of ``--repeats`` runs, on a graph built and differentiated before the clock
starts. Issue 13's targets, with the default options on 2 cores: a 20,000-node chain in under 30 s,
a 10,000-node network loss in under 15 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograd import Value, topological_order  # noqa: E402
from autograd.check import gradcheck  # noqa: E402


def chain(nodes: int) -> Value:
    """A chain ``y = tanh(0.9 * y + 0.1)`` with about ``nodes`` nodes (constants included), run backward."""
    y = Value(0.3, label="x")
    for _ in range(max(1, nodes // 5)):  # each step makes 5 nodes: 2 constants, *, + and tanh
        y = (y * 0.9 + 0.1).tanh()
    y.backward()
    return y


def network(nodes: int) -> Value:
    """The mean cross-entropy of a batch of iris flowers through MLP(4, [16, 16, 3]), about ``nodes`` nodes."""
    import nn

    iris = nn.load_iris()
    model = nn.MLP(4, [16, 16, 3], activation="tanh", seed=0)
    X = nn.Standardizer().fit(iris.data).transform(iris.data)
    losses = []
    for i in range(len(X)):
        loss = nn.cross_entropy(model([Value(v) for v in X[i]]), int(iris.target[i]))
        losses.append(loss)
        if len(topological_order(sum(losses[1:], losses[0]))) >= nodes:
            break
    E = sum(losses[1:], losses[0]) * (1.0 / len(losses))
    E.backward()
    return E


def timed(build: Callable[[int], Value], size: int, mode: str, repeats: int) -> tuple[int, float, bool]:
    """(nodes, median seconds, report.ok) of ``gradcheck(root, mode=mode)``."""
    times = []
    ok = True
    nodes = 0
    for _ in range(repeats):
        root = build(size)
        nodes = len(topological_order(root))
        start = time.perf_counter()
        report = gradcheck(root, mode=mode)
        times.append(time.perf_counter() - start)
        ok = ok and report.ok and report.method == (mode if mode != "auto" else report.method)
    return nodes, statistics.median(times), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median; default 3)")
    args = parser.parse_args(argv)
    if args.tiny:
        plan = [("chain", chain, 300, "auto"), ("chain", chain, 300, "end-to-end"), ("network", network, 400, "auto")]
        repeats = 1
    else:
        plan = [
            ("chain", chain, 1_000, "end-to-end"),
            ("chain", chain, 2_000, "end-to-end"),
            ("chain", chain, 2_000, "auto"),
            ("chain", chain, 20_000, "auto"),
            ("network", network, 2_000, "end-to-end"),
            ("network", network, 2_000, "auto"),
            ("network", network, 10_000, "auto"),
        ]
        repeats = args.repeats
    print(f"{'graph':8} {'nodes':>7} {'mode':>11} {'method':>11} {'median s':>9}  ok")
    failed = False
    for name, build, size, mode in plan:
        nodes, seconds, ok = timed(build, size, mode, repeats)
        method = gradcheck(build(size), mode=mode).method
        print(f"{name:8} {nodes:7,} {mode:>11} {method:>11} {seconds:9.3f}  {ok}")
        failed = failed or not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
