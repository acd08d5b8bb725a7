"""How far is chainrule from the limit of its design? W1, micrograd's demo step, against two references.

    python benchmarks/limit.py                  # 15 rounds of 5 steps per engine
    python benchmarks/limit.py --rounds 30 --steps 3 --json /tmp/limit.json
    python benchmarks/limit.py --from-step 0    # the first steps of training instead of its steady state
    python benchmarks/limit.py --tiny           # a smoke run of a few seconds (the tests run it)

The step is written as a learner's loop writes it, ``loss = step()``: build the loss (MLP 2-16-16-1 on
100 two-moons points, SVM loss + L2), zero the grads, backward, SGD; the previous step's graph is still
alive while the next one is built, and freeing it is part of the step. The rows:

* ``chainrule`` (compiled) and ``chainrule-py`` (the same ``engine.py`` as plain Python, loaded beside
  it in this process);
* ``minimal engine``: a LIMIT ESTIMATE, not a competitor. ``benchmarks/minimal_engine.pyx`` is the
  least a compiled scalar node can be (two doubles, two operand pointers, two partials, a walk mark; no
  checks, no labels, no undo), built here on demand with Cython; never part of the package;
* ``hand-derived floats``: the same forward, the backward derived by hand, and the SGD update, on plain
  Python floats: no graph at all.

Every round starts each engine from the same parameters, by default those after 50 steps of training
(``--from-step``), so that every round times the same work: training's steady state, where the
hand-derived step skips most points' backward pass (their margin is met); ``--from-step 0`` times the
first steps instead, where it skips few and is about 1.5x slower. Every engine's parameters after one
step from there must agree with chainrule's (relative 1e-9) before anything is timed. Timing
interleaves the engines round by round, rotating which goes first, so that a change in the machine's
load hits every engine alike; each round times ``--steps`` steps of each engine with the wall clock
and with this thread's CPU time. The report gives per-step medians and, for each ratio, the
median of the per-round ratios (each round's two numbers were measured a moment apart) with their
range. Nothing here is a test of speed: the tests only run it at a tiny size.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from autograd._files import atomic_write  # noqa: E402
from benchmarks import workloads  # noqa: E402
from benchmarks.engines import Engine, load_engines  # noqa: E402

LR = 0.05
REG = 1e-4
TARGETS = (("chainrule", "minimal engine", 1.2), ("chainrule", "hand-derived floats", 1.8))
"""Issue 22's goals: chainrule's time at most this many times the reference's."""


# -- the minimal engine ---------------------------------------------------------------------------------
def build_minimal_engine(build_dir: Path) -> Any:
    """Compile ``minimal_engine.pyx`` with Cython (cached in ``build_dir``) and import it.

    An ImportError that says what to install when Cython or a C compiler is missing."""
    try:
        import pyximport
    except ImportError as exc:
        raise ImportError(f"the minimal engine is compiled on demand with Cython: pip install Cython ({exc})") from None
    build_dir.mkdir(parents=True, exist_ok=True)
    here = str(Path(__file__).resolve().parent)
    importers = pyximport.install(build_dir=str(build_dir), language_level=3, inplace=False)
    sys.path.insert(0, here)
    try:
        import minimal_engine
    finally:
        sys.path.remove(here)
        pyximport.uninstall(*importers)
    return minimal_engine


def minimal_engine_adapter(module: Any) -> Engine:
    """The minimal engine behind the harness's ``Engine`` interface (see ``benchmarks.engines``)."""
    Node = module.Node

    def zero_grads(params: list) -> None:
        for p in params:
            p.grad = 0.0

    def sgd_step(params: list, lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad

    return Engine(
        name="minimal engine",
        version="limit estimate (benchmarks/minimal_engine.pyx)",
        leaf=Node,
        param=Node,
        backward=lambda root: root.backward(),
        value=lambda node: node.data,
        grad=lambda node: node.grad,
        zero_grads=zero_grads,
        sgd_step=sgd_step,
        count_ops=lambda root: root.count_ops(),
        has_exp_log=False,
    )


# -- the hand-derived step on plain floats --------------------------------------------------------------
def float_network(init: list) -> list:
    """The network as nested lists that a step updates in place: layers of neurons ``[weights, bias]``."""
    return [[[list(weights), bias] for weights, bias in layer] for layer in init]


def float_step(net: list, X: list, y: list, lr: float = LR) -> float:
    """One W1 step on plain floats: the loss of ``workloads.svm_loss``, its gradient derived by hand
    (backpropagation written out), and the SGD update, in place. Returns the loss before the update.

    loss = (1/n) sum_i relu(1 - y_i s_i) + REG sum_p p^2, with s_i the network's score. Where the
    margin is positive, d loss / d s_i = -y_i / n; back through each linear layer (d z / d w = input,
    d z / d input = w) and each hidden relu (slope 1 where z > 0, else 0); the L2 term adds 2 REG p.
    """
    n = len(X)
    last = len(net) - 1
    grads = [[[0.0] * len(weights), 0.0] for layer in net for weights, _ in layer]
    starts = []
    count = 0
    for layer in net:
        starts.append(count)
        count += len(layer)
    total = 0.0
    scale = 1.0 / n
    for row, label in zip(X, y):
        inputs = [row]
        sums = []
        h = row
        for i, layer in enumerate(net):
            zs = []
            out = []
            for weights, bias in layer:
                z = bias
                for w, x in zip(weights, h):
                    z = z + w * x
                zs.append(z)
                out.append(z if i == last or z > 0.0 else 0.0)
            sums.append(zs)
            inputs.append(out)
            h = out
        margin = 1 + (-label) * h[0]
        if margin <= 0.0:
            continue
        total = total + margin
        delta = [-label * scale]
        for i in range(last, -1, -1):
            if i < last:
                delta = [d if z > 0.0 else 0.0 for d, z in zip(delta, sums[i])]
            below = inputs[i]
            back = [0.0] * len(below) if i > 0 else None
            for k, ((weights, _), d) in enumerate(zip(net[i], delta)):
                g = grads[starts[i] + k]
                g[1] += d
                gw = g[0]
                for j, x in enumerate(below):
                    gw[j] += d * x
                    if back is not None:
                        back[j] += d * weights[j]
            delta = back
    reg = 0.0
    for layer in net:
        for weights, bias in layer:
            for w in weights:
                reg = reg + w * w
            reg = reg + bias * bias
    loss = total * scale + REG * reg
    k = 0
    for layer in net:
        for neuron in layer:
            weights = neuron[0]
            gw, gb = grads[k]
            for j in range(len(weights)):
                weights[j] -= lr * (gw[j] + 2.0 * REG * weights[j])
            neuron[1] -= lr * (gb + 2.0 * REG * neuron[1])
            k += 1
    return loss


# -- the harness ----------------------------------------------------------------------------------------
@dataclass
class Row:
    """One engine's W1 step: a function that runs one step and returns the loss, and its timings."""

    name: str
    step: Callable[[], Any]
    restart: Callable[[], None]  # puts the network back to the parameters every round starts from (untimed)
    note: str = ""
    wall: list = field(default_factory=list)  # seconds per step, one entry per round
    cpu: list = field(default_factory=list)


def graph_step(engine: Engine, init: list, X: list, y: list) -> Callable[[], Any]:
    """``step()`` for a graph engine: build the loss, zero the grads, backward, SGD; returns the loss."""
    layers, params = workloads.make_params(engine, init)

    def step() -> Any:
        loss = workloads.svm_loss(engine, layers, params, X, y)
        engine.zero_grads(params)
        engine.backward(loss)
        engine.sgd_step(params, LR)
        return loss

    step.params = params  # type: ignore[attr-defined]
    return step


def initial_values(init: list) -> list:
    """The parameters of ``init`` in ``make_params``'s flat order (each neuron's weights, then its bias)."""
    return [p for layer in init for weights, bias in layer for p in (*weights, bias)]


def trained(init: list, X: list, y: list, steps: int) -> list:
    """The parameters after ``steps`` steps of training from ``init`` (by the hand-derived step, which
    agrees with every engine), in ``init``'s shape: where each round of timing starts."""
    net = float_network(init)
    for _ in range(steps):
        float_step(net, X, y)
    return net


def graph_row(name: str, engine: Engine, init: list, X: list, y: list) -> Row:
    """A graph engine's row: its step, and a restart that writes ``init``'s values into its parameters."""
    step = graph_step(engine, init, X, y)
    start = initial_values(init)

    def restart() -> None:
        for p, value in zip(step.params, start):  # type: ignore[attr-defined]
            p.data = value

    return Row(name, step, restart)


def float_row(init: list, X: list, y: list) -> Row:
    """The hand-derived step's row: its step on a network of floats, and a restart to ``init``."""
    net = float_network(init)

    def restart() -> None:
        net[:] = float_network(init)

    return Row("hand-derived floats", lambda: float_step(net, X, y), restart)


def check_agreement(rows: list, init: list, X: list, y: list) -> None:
    """One step of each engine from the same start must give chainrule's loss and updated parameters."""
    reference = None
    for row in rows:
        if row.name == "hand-derived floats":
            net = float_network(init)
            loss = float_step(net, X, y)
            after = initial_values(net)
        else:
            fresh = graph_step(ENGINES_BY_NAME[row.name], init, X, y)
            loss = fresh().data
            after = [p.data for p in fresh.params]  # type: ignore[attr-defined]
        got = [loss, *after]
        if reference is None:
            reference = got
            continue
        worst = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(got, reference))
        if len(got) != len(reference) or worst > 1e-9:
            raise SystemExit(f"{row.name} disagrees with chainrule after one step (largest relative difference {worst:.3g})")


ENGINES_BY_NAME: dict = {}


def interleave(rows: list, rounds: int, steps: int) -> None:
    """Time ``steps`` steps of every row in each round, rotating the order round by round.

    In each round a row starts again from the same parameters, so that every round times the same
    steps of training: the hand-derived step skips the backward pass of points whose margin is already
    met, so its work shrinks as training goes on (by a third over the first 25 steps), while the graph
    engines' work stays the same; without the restart, late rounds would time less work than early
    ones. It runs one untimed step (so the timed steps have a previous graph to let go of, as in a
    training loop), then ``steps`` timed ones; its last graph is dropped untimed, so that no engine's
    graph is alive while another engine is timed."""
    for r in range(rounds):
        k = r % len(rows)
        for row in rows[k:] + rows[:k]:
            row.restart()
            gc.collect()
            loss = row.step()
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            for _ in range(steps):
                loss = row.step()
            wall1, cpu1 = time.perf_counter(), time.thread_time()
            loss = None  # noqa: F841 (dropped untimed)
            row.wall.append((wall1 - wall0) / steps)
            row.cpu.append((cpu1 - cpu0) / steps)


def ratio(a: Row, b: Row, clock: str) -> tuple:
    """(median, lowest, highest) of a's time over b's, round by round."""
    pairs = [x / y for x, y in zip(getattr(a, clock), getattr(b, clock))]
    return statistics.median(pairs), min(pairs), max(pairs)


def report(rows: list, rounds: int, steps: int, from_step: int) -> tuple[str, dict]:
    by_name = {row.name: row for row in rows}
    lines = [
        f"W1 as a learner's loop (loss = step()), {rounds} rounds x {steps} steps per engine from step {from_step} "
        "of training, interleaved; "
        f"Python {platform.python_version()}, {platform.machine()}",
        "",
        "| engine | wall per step (median) | thread CPU per step (median) |",
        "| --- | --: | --: |",
    ]
    data: dict = {"rounds": rounds, "steps": steps, "from_step": from_step, "engines": {}, "ratios": {}}
    for row in rows:
        wall, cpu = statistics.median(row.wall), statistics.median(row.cpu)
        lines.append(f"| {row.name}{' (' + row.note + ')' if row.note else ''} | {wall * 1e3:.2f} ms | {cpu * 1e3:.2f} ms |")
        data["engines"][row.name] = {"wall_s": row.wall, "cpu_s": row.cpu, "wall_median_s": wall, "cpu_median_s": cpu}
    lines += ["", "| ratio (median of per-round ratios, range) | wall | thread CPU | goal |", "| --- | --: | --: | --: |"]
    pairs = [(a, b) for a in ("chainrule", "chainrule-py") for b in ("minimal engine", "hand-derived floats")]
    goals = {(a, b): goal for a, b, goal in TARGETS}
    for a, b in pairs:
        if a not in by_name or b not in by_name:
            continue
        cells = []
        for clock in ("wall", "cpu"):
            median, low, high = ratio(by_name[a], by_name[b], clock)
            cells.append(f"{median:.2f}x ({low:.2f}-{high:.2f})")
            data["ratios"][f"{a} / {b} ({clock})"] = {"median": median, "min": low, "max": high}
        goal = goals.get((a, b))
        lines.append(f"| {a} / {b} | {cells[0]} | {cells[1]} | {'at most ' + format(goal, 'g') + 'x' if goal else ''} |")
    return "\n".join(lines), data


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/limit.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of interleaved timing (default 15)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per engine and round (default 5)")
    parser.add_argument("--from-step", type=int, default=50,
                        help="every round starts from the parameters after this many steps of training (default "
                             "50: training's steady state; 0: its first steps, where the hand-derived step has "
                             "the most to do)")
    parser.add_argument("--tiny", action="store_true", help="8 points, 2 rounds of 1 step: a smoke run")
    parser.add_argument("--json", type=Path, help="also write the per-round timings as JSON here")
    parser.add_argument("--build-dir", type=Path, default=REPO / "benchmarks" / "results" / "build",
                        help="where Cython builds the minimal engine (default benchmarks/results/build)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.steps < 1 or args.from_step < 0:
        parser.error("--rounds and --steps must be at least 1, --from-step at least 0")
    points, rounds, steps = (8, 2, 1) if args.tiny else (100, args.rounds, args.steps)

    X, y = workloads.two_moons(points, noise=0.1, seed=0)
    init = trained(workloads.init_mlp(2, (16, 16, 1), np.random.default_rng(0)), X, y, 0 if args.tiny else args.from_step)
    engines, skipped = load_engines(["chainrule", "chainrule-py"])
    try:
        engines["minimal engine"] = minimal_engine_adapter(build_minimal_engine(args.build_dir))
    except ImportError as exc:
        print(f"benchmarks/limit.py: {exc}", file=sys.stderr)
        return 2
    ENGINES_BY_NAME.update(engines)
    rows = [graph_row(name, engine, init, X, y) for name, engine in engines.items()]
    rows.append(float_row(init, X, y))
    rows[0].note = "compiled" if "compiled" in engines["chainrule"].version else "plain Python: no compiled engine"
    rows[1].note = "plain Python"
    rows[2].note = "limit estimate"
    check_agreement(rows, init, X, y)
    interleave(rows, rounds, steps)
    text, data = report(rows, rounds, steps, 0 if args.tiny else args.from_step)
    print(text)
    if args.json is not None:
        try:
            atomic_write(args.json, json.dumps(data, indent=1))  # a failed write keeps the last results
        except OSError as exc:
            print(f"benchmarks/limit.py: the results above were not written to {args.json}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
