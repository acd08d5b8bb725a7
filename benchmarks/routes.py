"""Forward mode and formulas: how long they take beside backward.

    python benchmarks/routes.py            # the 1,000,000-operation chain, the seed graphs (about half a minute)
    python benchmarks/routes.py --tiny     # small sizes, a few seconds (the tests run this)
    python benchmarks/routes.py --json /tmp/routes.json

* **forward vs backward**: W2's deep chain (``y = y * 1.0001 + 0.0001``, N times: 2N operations),
  ``autograd.forward_grad(y, x)`` against ``y.backward()`` on the same graph, each after a
  ``gc.collect()``, interleaved round by round; both start with the one walk (``topological_order``).
  Issue 19's target: forward within 2x of backward at 1,000,000 operations.
* **formula on the seed graphs**: ``autograd.symbolic.formula`` for seed 001's dCE/db3 (iris, three
  outputs, softmax, ``using=[p_setosa]``) and seed 000's output weights (two sigmoid layers,
  ``using=[h2, y_k]``). Target: under a second each.

Each time is the median of ``--repeats`` rounds (thread CPU time and wall time). Every result is
checked before it is reported: forward and backward against the chain's closed form, the formulas
against the text the derivation on paper gives.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import autograd  # noqa: E402
from autograd import Parameter, Value, forward_grad  # noqa: E402


def timed(work: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, thread CPU seconds, result) of one call, after a garbage collection."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.thread_time()
    result = work()
    return time.perf_counter() - wall, time.thread_time() - cpu, result


def chain_rounds(n: int, repeats: int) -> dict:
    """forward_grad and backward on a chain of 2n operations, interleaved; checked against a^n."""
    x = Value(0.5, label="x")
    y = x
    for _ in range(n):
        y = y * 1.0001 + 0.0001
    exact = 1.0001**n
    times: dict[str, list[tuple[float, float]]] = {"forward_grad": [], "backward": []}
    for round_ in range(repeats):
        for name in ("forward_grad", "backward") if round_ % 2 == 0 else ("backward", "forward_grad"):
            if name == "forward_grad":
                wall, cpu, got = timed(lambda: forward_grad(y, x))
            else:
                x.grad = 0.0
                wall, cpu, _ = timed(y.backward)
                got = x.grad
            if not math.isclose(got, exact, rel_tol=1e-9):
                raise AssertionError(f"{name} gives {got} on the chain, the closed form {exact}")
            times[name].append((wall, cpu))
    result = {name: _medians(samples) for name, samples in times.items()}
    result["ratio (cpu)"] = result["forward_grad"]["cpu_s"] / result["backward"]["cpu_s"]
    result["ratio (wall)"] = result["forward_grad"]["wall_s"] / result["backward"]["wall_s"]
    result["operations"] = 2 * n
    return result


def _medians(samples: list[tuple[float, float]]) -> dict:
    return {"wall_s": statistics.median(w for w, _ in samples), "cpu_s": statistics.median(c for _, c in samples)}


def seed_001(observed: int) -> tuple[Value, Value, list]:
    import nn

    raw = [Value(v, label=f"z{i}") for i, v in enumerate([1.2, -0.3, 0.45], start=1)]
    b3 = Parameter(-2.5, label="b3")
    p = nn.softmax([raw[0] + b3, raw[1], raw[2]])
    for q, name in zip(p, ["p_setosa", "p_versicolor", "p_virginica"]):
        q.label = name
    return -p[observed].log(), b3, p


def seed_000() -> tuple[Value, list, list, object]:
    import nn

    x = [Value(1.0, label="x1"), Value(0.5, label="x2"), Value(-1.5, label="x3")]
    h = nn.Layer(4, 2, activation="sigmoid", seed=1, name="L2")(nn.Layer(3, 4, activation="sigmoid", seed=0, name="L1")(x))
    h[0].label, h[1].label = "h1", "h2"
    out = nn.Layer(2, 2, activation="linear", seed=2, name="L3")
    y = nn.softmax(out(h))
    y[0].label, y[1].label = "y1", "y2"
    return -y[0].log(), h, y, out


def formula_rounds(repeats: int) -> dict:
    from autograd.symbolic import formula

    cases = []
    for observed, expected in ((0, "p_setosa - 1"), (1, "p_setosa")):
        ce, b3, p = seed_001(observed)
        cases.append((f"seed 001 dCE/db3, observed class {observed + 1}", lambda ce=ce, b3=b3, p=p: formula(ce, b3, using=[p[0]]), expected))
    E, h, y, out = seed_000()
    for k, expected in ((0, "h2*(y1 - 1)"), (1, "h2*y2")):
        w = out.neurons[k].w[1]
        cases.append((f"seed 000 dE/dw (h2 to output {k + 1})", lambda w=w, k=k: formula(E, w, using=[h[1], y[k]]), expected))
    found = {}
    for name, work, expected in cases:
        samples = []
        for _ in range(repeats):
            wall, cpu, got = timed(work)
            if str(got) != expected:
                raise AssertionError(f"{name}: formula gives {got}, the derivation {expected}")
            samples.append((wall, cpu))
        found[name] = {"formula": expected, **_medians(samples)}
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/routes.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a 2,000-operation chain and one repeat")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 5; 1 with --tiny)")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.tiny else 5)
    n = 1_000 if args.tiny else 500_000
    engine = "compiled" if autograd.COMPILED else "plain Python"
    chain = chain_rounds(n, repeats)
    formulas = formula_rounds(repeats)
    print(f"chainrule engine: {engine}; median of {repeats} round(s), thread CPU time (wall time)")
    print(f"chain of {2 * n:,} operations:")
    for name in ("forward_grad", "backward"):
        print(f"  {name:13} {chain[name]['cpu_s'] * 1e3:9.1f} ms  ({chain[name]['wall_s'] * 1e3:.1f} ms)")
    print(f"  forward_grad / backward: {chain['ratio (cpu)']:.2f}x ({chain['ratio (wall)']:.2f}x)  [target: within 2x]")
    print("formula on the seed graphs:  [target: under a second each]")
    for name, row in formulas.items():
        print(f"  {name:42} {row['formula']:14} {row['cpu_s'] * 1e3:7.1f} ms  ({row['wall_s'] * 1e3:.1f} ms)")
    if args.json:
        args.json.write_text(json.dumps({"engine": engine, "repeats": repeats, "chain": chain, "formula": formulas}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
