"""The timed workloads W1, W2, W3, W5, W6, W7, W8 and W9 (W4, memory, is in ``memory``).

Each graph is built by one function that takes an ``Engine`` (see ``engines``), so chainrule,
micrograd and PyTorch build the same operations in the same order. Before a workload is timed, every
engine's result (the loss or output value, a few gradients, the number of operations) is compared with
chainrule's, and chainrule's with a closed form where one exists; an engine that disagrees is reported
as a mismatch and not timed.

Timing: ``time.perf_counter`` around each phase, ``gc.collect()`` before each repeat, and the cyclic
garbage collector left enabled while timing, for every engine: it is part of what a user waits for.
The seconds the collector ran are measured with ``gc.callbacks`` (``GC_TIMER``).
"""

from __future__ import annotations

import gc
import math
import statistics
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Callable, Sequence

import numpy as np

from .engines import ENGINE_NAMES, Engine, Node
from .isolate import ChildFailed, run_in_child

# ---------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------


class GcTimer:
    """Seconds spent in CPython's cyclic garbage collector, summed from ``gc.callbacks`` start/stop events."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = perf_counter()
        else:
            self.seconds += perf_counter() - self._started
            self.collections += 1

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def uninstall(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)


GC_TIMER = GcTimer()


@dataclass
class Sample:
    """One timed repeat: seconds per phase, and the seconds the cyclic GC ran during the repeat."""

    phases: dict[str, float]
    gc_seconds: float

    @property
    def total(self) -> float:
        return sum(self.phases.values())


@dataclass
class EngineResult:
    """One engine on one workload.

    ``status`` is "ok" (timed), "fails" (the engine raised, e.g. micrograd's RecursionError),
    "mismatch" (a different result than chainrule: not timed), "skipped" (not available) or "n/a"
    (the engine cannot express the workload). ``ops`` is the number of operation nodes the timed
    unit builds (per step, graph or epoch), used for microseconds per op.
    """

    status: str
    note: str = ""
    ops: int | None = None
    samples: list[Sample] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Median, min and max of the repeat totals; per-phase medians; microseconds per op; GC share."""
        out: dict[str, Any] = {"status": self.status}
        if self.note:
            out["note"] = self.note
        if self.ops is not None:
            out["ops"] = self.ops
        if self.samples:
            totals = [s.total for s in self.samples]
            out["repeats"] = len(totals)
            out["median_s"] = statistics.median(totals)
            out["min_s"] = min(totals)
            out["max_s"] = max(totals)
            out["phases_median_s"] = {
                name: statistics.median(s.phases[name] for s in self.samples) for name in self.samples[0].phases
            }
            out["samples"] = [{"phases_s": s.phases, "gc_s": s.gc_seconds} for s in self.samples]
            out["gc_fraction"] = sum(s.gc_seconds for s in self.samples) / sum(totals)
            if self.ops:
                for phase, key in (("forward", "forward_us_per_op"), ("backward", "backward_us_per_op")):
                    if phase in out["phases_median_s"]:
                        out[key] = out["phases_median_s"][phase] / self.ops * 1e6
        out.update(self.extra)
        return out

    @property
    def median(self) -> float | None:
        return statistics.median(s.total for s in self.samples) if self.samples else None


@dataclass
class WorkloadResult:
    """One workload: what it is, its size, and every engine's result."""

    id: str
    title: str
    size: dict[str, Any]
    results: dict[str, EngineResult]
    notes: list[str] = field(default_factory=list)

    def speedups(self) -> dict[str, float]:
        """How many times faster chainrule's median is than each other engine's (same run)."""
        ours = self.results.get("chainrule")
        if ours is None or ours.status != "ok" or not ours.median:
            return {}
        return {
            name: result.median / ours.median
            for name, result in self.results.items()
            if name != "chainrule" and result.status == "ok" and result.median
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "size": self.size,
            "results": {name: result.summary() for name, result in self.results.items()},
            "chainrule_speedup": self.speedups(),
            "notes": self.notes,
        }


@dataclass
class Config:
    """Workload sizes and repeat counts (``tiny()`` for CI's smoke run)."""

    repeats: int = 5
    big_repeats: int = 3  # W2 at its largest N (chainrule); the other engines run it once
    w1_points: int = 100
    w1_layers: tuple[int, ...] = (16, 16, 1)
    w1_steps: int = 2  # training steps per repeat, back to back, so each releases the previous graph
    w2_sizes: tuple[int, ...] = (10_000, 500_000)  # 500,000 steps are 1,000,000 operations
    w3_products: int = 100_000
    w4_ops: int = 100_000
    w5_samples: int = 150
    w7_points: int = 16
    w8_samples: int = 320  # training images in W8's epoch (the CLI's split has 1,438)
    w8_batch_size: int = 32
    seed: int = 0

    @classmethod
    def tiny(cls, repeats: int = 1) -> Config:
        return cls(
            repeats=repeats,
            big_repeats=repeats,
            w1_points=8,
            w1_steps=1,
            w2_sizes=(200, 2_000),
            w3_products=1_000,
            w4_ops=2_000,
            w5_samples=5,
            w7_points=3,
            w8_samples=8,
            w8_batch_size=4,
        )


class Mismatch(Exception):
    """An engine's result differs from the reference."""


def _close(a: float, b: float, rtol: float, atol: float = 0.0) -> bool:
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def _compare(reference: dict[str, float], got: dict[str, float], rtol: float, atol: float = 0.0) -> None:
    for key, expected in reference.items():
        if not _close(got[key], expected, rtol, atol):
            raise Mismatch(f"{key}: {got[key]!r}, expected {expected!r} (rtol {rtol:g})")


# ---------------------------------------------------------------------------------------------------
# Builders: one per graph, for every engine
# ---------------------------------------------------------------------------------------------------

Layers = list[list[tuple[list[Node], Node]]]


def chain_sum(terms: Sequence[Node]) -> Node:
    """``terms[0] + terms[1] + ...``, left to right (a chain of additions, like Python's ``sum``)."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def pairwise_sum(terms: Sequence[Node]) -> Node:
    """The sum of ``terms`` as a balanced tree of additions: ``len(terms) - 1`` additions, depth log2(n)."""
    level = list(terms)
    while len(level) > 1:
        pairs = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            pairs.append(level[-1])
        level = pairs
    return level[0]


def init_mlp(n_in: int, sizes: Sequence[int], rng: np.random.Generator) -> list[list[tuple[list[float], float]]]:
    """micrograd's initialisation: weights uniform in [-1, 1], biases 0; one (weights, bias) per neuron."""
    layers = []
    fan_in = n_in
    for n_out in sizes:
        layers.append([([float(w) for w in rng.uniform(-1.0, 1.0, fan_in)], 0.0) for _ in range(n_out)])
        fan_in = n_out
    return layers


def make_params(engine: Engine, init: list[list[tuple[list[float], float]]]) -> tuple[Layers, list[Node]]:
    """The MLP's parameters as ``engine`` leaves, by layer and neuron, and the flat list (weights, then bias)."""
    layers: Layers = []
    flat: list[Node] = []
    for layer in init:
        neurons = []
        for weights, bias in layer:
            w = [engine.param(v) for v in weights]
            b = engine.param(bias)
            neurons.append((w, b))
            flat.extend(w)
            flat.append(b)
        layers.append(neurons)
    return layers, flat


def mlp(layers: Layers, inputs: Sequence[Node], hidden: str) -> list[Node]:
    """The MLP on one input: each neuron is ``b + w1 x1 + w2 x2 + ...`` (micrograd's order), then
    ``relu``, ``tanh`` or ``sigmoid`` on hidden layers; the last layer is linear."""
    h = list(inputs)
    last = len(layers) - 1
    for i, layer in enumerate(layers):
        out = []
        for weights, bias in layer:
            act = bias
            for w, x in zip(weights, h):
                act = act + w * x
            if i < last:
                act = act.relu() if hidden == "relu" else act.tanh() if hidden == "tanh" else act.sigmoid()
            out.append(act)
        h = out
    return h


def two_moons(n: int, noise: float, seed: int) -> tuple[list[list[float]], list[float]]:
    """Two interleaved half circles with Gaussian noise (as in micrograd's demo); labels -1 and +1."""
    rng = np.random.default_rng(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = np.linspace(0.0, math.pi, n_outer)
    t_inner = np.linspace(0.0, math.pi, n_inner)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = np.column_stack([1.0 - np.cos(t_inner), 0.5 - np.sin(t_inner)])
    points = np.vstack([outer, inner]) + rng.normal(0.0, noise, size=(n, 2))
    labels = np.array([-1.0] * n_outer + [1.0] * n_inner)
    order = rng.permutation(n)
    return points[order].tolist(), labels[order].tolist()


def svm_loss(engine: Engine, layers: Layers, params: Sequence[Node], X: Sequence[Sequence[float]], y: Sequence[float]) -> Node:
    """micrograd's demo loss: mean(relu(1 - y * score)) + 1e-4 * sum(p * p), inputs made fresh as leaves."""
    losses = []
    for row, label in zip(X, y):
        inputs = [engine.leaf(v) for v in row]
        (score,) = mlp(layers, inputs, "relu")
        losses.append((1 + (-label) * score).relu())
    data_loss = chain_sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * chain_sum([p * p for p in params])
    return data_loss + reg_loss


def svm_loss_floats(init: list[list[tuple[list[float], float]]], X: Sequence[Sequence[float]], y: Sequence[float]) -> float:
    """``svm_loss`` with plain Python floats and no graph, operation for operation: the floor, what the
    interpreter needs for W1's arithmetic alone (no gradient)."""
    losses = []
    last = len(init) - 1
    for row, label in zip(X, y):
        h = list(row)
        for i, layer in enumerate(init):
            out = []
            for weights, bias in layer:
                act = bias
                for w, x in zip(weights, h):
                    act = act + w * x
                if i < last:
                    act = act if act > 0.0 else 0.0
                out.append(act)
            h = out
        margin = 1 + (-label) * h[0]
        losses.append(margin if margin > 0.0 else 0.0)
    data_loss = chain_sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * chain_sum([p * p for layer in init for weights, bias in layer for p in (*weights, bias)])
    return data_loss + reg_loss


def deep_chain(x: Node, n: int) -> Node:
    """``x -> x * 1.0001 + 0.0001``, ``n`` times: 2n operations, each depending on the one before."""
    y = x
    for _ in range(n):
        y = y * 1.0001 + 0.0001
    return y


def deep_chain_closed_form(x0: float, n: int) -> tuple[float, float]:
    """The chain's value and d value / d x: a^n x0 + b (a^n - 1) / (a - 1), and a^n."""
    a, b = 1.0001, 0.0001
    an = a**n
    return an * x0 + b * (an - 1.0) / (a - 1.0), an


def wide_sum(a: Sequence[Node], b: Sequence[Node]) -> Node:
    """``sum(a_i * b_i)``, the products added as a balanced tree (a wide, shallow graph)."""
    return pairwise_sum([ai * bi for ai, bi in zip(a, b)])


def softmax_cross_entropy(logits: Sequence[Node], target: int, value: Callable[[Node], float]) -> Node:
    """-log softmax(logits)[target] as ``log(sum(exp(l - m))) + m - l[target]``, with m the largest logit."""
    m = max(value(logit) for logit in logits)
    log_sum = chain_sum([(logit - m).exp() for logit in logits]).log()
    return log_sum + m - logits[target]


# ---------------------------------------------------------------------------------------------------
# Helpers for the timing loops
# ---------------------------------------------------------------------------------------------------


def _start(skipped: dict[str, str]) -> dict[str, EngineResult]:
    """A workload's result table, started with the engines that could not be loaded."""
    return {engine: EngineResult("skipped", reason) for engine, reason in skipped.items()}


def _leaf_snapshot(engine: Engine, root: Node, params: Sequence[Node], picks: Sequence[int]) -> dict[str, float]:
    out = {"loss": engine.value(root)}
    for i in picks:
        out[f"grad[{i}]"] = engine.grad(params[i])
    return out


def _picks(n: int) -> list[int]:
    return sorted({0, 1, n // 3, n // 2, n - 2, n - 1})


# ---------------------------------------------------------------------------------------------------
# W1: micrograd's demo step
# ---------------------------------------------------------------------------------------------------

FLOOR = "plain floats"
"""W1's extra row: the same loss computed with Python floats, forward only (see ``svm_loss_floats``)."""


def _float_floor(init: list, X: Sequence[Sequence[float]], y: Sequence[float], reference: dict[str, float] | None, ops: int, cfg: Config) -> EngineResult:
    value = svm_loss_floats(init, X, y)
    if reference is not None and not _close(value, reference["loss"], 1e-12):
        return EngineResult("mismatch", f"loss {value!r}, chainrule's {reference['loss']!r}")
    result = EngineResult("ok", "the same arithmetic on plain floats, forward only: no graph, no gradient", ops=ops)
    for _ in range(cfg.repeats):
        gc.collect()
        gc0 = GC_TIMER.seconds
        t0 = perf_counter()
        for _ in range(cfg.w1_steps):
            svm_loss_floats(init, X, y)
        seconds = (perf_counter() - t0) / cfg.w1_steps
        result.samples.append(Sample({"forward": seconds}, (GC_TIMER.seconds - gc0) / cfg.w1_steps))
    return result



def run_w1(engines: dict[str, Engine], skipped: dict[str, str], cfg: Config) -> WorkloadResult:
    """Forward, backward and an SGD update of micrograd's two-moons MLP, ``cfg.w1_steps`` steps a repeat."""
    sizes = (2, *cfg.w1_layers)
    X, y = two_moons(cfg.w1_points, noise=0.1, seed=cfg.seed)
    init = init_mlp(2, cfg.w1_layers, np.random.default_rng(cfg.seed))
    lr = 0.05
    results = _start(skipped)

    # Check: every engine's loss, operation count and gradients against chainrule's. Only the models
    # are kept; each graph is dropped at once, so that no engine's graph is alive (and scanned by the
    # garbage collector) while another engine is timed.
    models = {}
    reference: dict[str, float] | None = None
    ref_ops = 0
    for name, engine in engines.items():
        layers, params = make_params(engine, init)
        loss = svm_loss(engine, layers, params, X, y)
        engine.zero_grads(params)
        engine.backward(loss)
        got = _leaf_snapshot(engine, loss, params, _picks(len(params)))
        ops = engine.count_ops(loss)
        loss = None
        gc.collect()
        try:
            if reference is None:
                reference, ref_ops = got, ops
            elif ops != ref_ops:
                raise Mismatch(f"{ops} operations, chainrule has {ref_ops}")
            else:
                _compare(reference, got, rtol=1e-9, atol=1e-12)
        except Mismatch as exc:
            results[name] = EngineResult("mismatch", str(exc), ops)
            continue
        models[name] = (layers, params, ops)

    for name, (layers, params, ops) in models.items():
        engine = engines[name]
        result = EngineResult("ok", ops=ops, extra={"params": len(params), "steps_per_repeat": cfg.w1_steps})
        # An untimed step first, so that the first timed step has a previous graph to let go of.
        graph = svm_loss(engine, layers, params, X, y)
        engine.zero_grads(params)
        engine.backward(graph)
        engine.sgd_step(params, lr)
        for _ in range(cfg.repeats):
            phases = {"release": 0.0, "forward": 0.0, "backward": 0.0, "update": 0.0}
            gc.collect()
            gc0 = GC_TIMER.seconds
            for _ in range(cfg.w1_steps):
                t0 = perf_counter()
                graph = None  # the previous step's graph goes, as in a training loop
                t1 = perf_counter()
                graph = svm_loss(engine, layers, params, X, y)
                t2 = perf_counter()
                engine.zero_grads(params)
                engine.backward(graph)
                t3 = perf_counter()
                engine.sgd_step(params, lr)
                t4 = perf_counter()
                phases["release"] += t1 - t0
                phases["forward"] += t2 - t1
                phases["backward"] += t3 - t2
                phases["update"] += t4 - t3
            gc_seconds = GC_TIMER.seconds - gc0
            steps = cfg.w1_steps
            result.samples.append(Sample({k: v / steps for k, v in phases.items()}, gc_seconds / steps))
        graph = None
        results[name] = result
        gc.collect()
    results[FLOOR] = _float_floor(init, X, y, reference, ref_ops, cfg)
    return WorkloadResult(
        "W1",
        "micrograd demo step: MLP 2-16-16-1 on two moons, SVM loss + L2, forward + backward + SGD",
        {"points": cfg.w1_points, "layers": list(sizes), "steps_per_repeat": cfg.w1_steps},
        _ordered(results),
        [
            "one step = release of the previous step's graph + forward (input leaves made fresh) + "
            "zero grads and backward + SGD update; time per step",
        ],
    )


def _ordered(results: dict[str, EngineResult]) -> dict[str, EngineResult]:
    """Rows in the order chainrule, micrograd, torch, then any other (e.g. "chainrule-hand")."""
    rank = {name: i for i, name in enumerate(ENGINE_NAMES)}
    return dict(sorted(results.items(), key=lambda item: rank.get(item[0], len(rank))))


# ---------------------------------------------------------------------------------------------------
# W2: a deep chain
# ---------------------------------------------------------------------------------------------------


def run_w2(engines: dict[str, Engine], skipped: dict[str, str], cfg: Config) -> list[WorkloadResult]:
    """x -> x * 1.0001 + 0.0001, N times, then backward, for each N in ``cfg.w2_sizes``.

    Each engine and N runs in a child process: a graph of millions of nodes stays out of this process,
    and an engine that crashes on a deep graph is reported instead of ending the run.
    """
    failed_at: dict[str, int] = {}
    out = []
    largest = max(cfg.w2_sizes)
    for n in sorted(cfg.w2_sizes):
        big = n == largest and len(cfg.w2_sizes) > 1
        results = _start(skipped)
        for name in engines:
            if name in failed_at:
                results[name] = EngineResult("fails", f"not run: it already failed at N={failed_at[name]:,}")
                continue
            repeats = cfg.repeats if not big else (cfg.big_repeats if name == "chainrule" else 1)
            try:
                outcome = run_in_child(_deep_chain_runs, name, n, repeats, not big)
            except ChildFailed as exc:
                outcome = {"status": "fails", "note": f"the run {exc}"}
            result = EngineResult(outcome["status"], outcome.get("note", ""), 2 * n, outcome.get("samples", []))
            if "forward_s" in outcome:
                result.extra["forward_s"] = outcome["forward_s"]
            if result.status == "fails":
                failed_at[name] = n
            results[name] = result
        notes = ["checked against the closed form a^N x0 + b (a^N - 1)/(a - 1) and d/dx = a^N"]
        if big and cfg.big_repeats > 1:
            notes.append(f"at N={n:,} chainrule runs {cfg.big_repeats} repeats, the other engines one (CPU budget)")
        out.append(
            WorkloadResult(
                f"W2 N={n:,}",
                f"deep chain x -> x*1.0001 + 0.0001, N={n:,} ({2 * n:,} ops), forward + backward",
                {"N": n, "ops": 2 * n},
                _ordered(results),
                notes,
            )
        )
    return out


def _deep_chain_runs(engine_name: str, n: int, repeats: int, warm_up: bool) -> dict[str, Any]:
    """W2 for one engine and one N (in a child process): the timed samples, or why the engine failed."""
    from .engines import load_engines

    engine = load_engines([engine_name])[0][engine_name]
    GC_TIMER.install()  # already there in a forked child; a spawned one starts without it
    x0 = 0.5
    value, slope = deep_chain_closed_form(x0, n)
    expected = {"value": value, "dvalue/dx": slope}
    samples = []
    for i in range(repeats + warm_up):
        x = engine.param(x0)
        gc.collect()
        gc0 = GC_TIMER.seconds
        t0 = perf_counter()
        y = deep_chain(x, n)
        t1 = perf_counter()
        try:
            engine.backward(y)
        except RecursionError:
            return {"status": "fails", "note": "RecursionError in backward (its graph walk recurses)", "forward_s": t1 - t0}
        t2 = perf_counter()
        gc_seconds = GC_TIMER.seconds - gc0
        try:
            _compare(expected, {"value": engine.value(y), "dvalue/dx": engine.grad(x)}, rtol=1e-8)
        except Mismatch as exc:
            return {"status": "mismatch", "note": str(exc)}
        y = x = None  # freed here, so that a crash while freeing is caught as a failure
        if not (warm_up and i == 0):
            samples.append(Sample({"forward": t1 - t0, "backward": t2 - t1}, gc_seconds))
    return {"status": "ok", "samples": samples}


# ---------------------------------------------------------------------------------------------------
# W3: a wide graph
# ---------------------------------------------------------------------------------------------------


def run_w3(engines: dict[str, Engine], skipped: dict[str, str], cfg: Config) -> WorkloadResult:
    """sum(a_i * b_i) over ``cfg.w3_products`` pairs of leaves, added as a balanced tree, then backward."""
    n = cfg.w3_products
    rng = np.random.default_rng(cfg.seed + 3)
    a_vals = rng.uniform(-1.0, 1.0, n).tolist()
    b_vals = rng.uniform(-1.0, 1.0, n).tolist()
    exact = math.fsum(x * y for x, y in zip(a_vals, b_vals))
    scale = math.fsum(abs(x * y) for x, y in zip(a_vals, b_vals))
    picks = _picks(n)
    results = _start(skipped)
    for name, engine in engines.items():
        result = EngineResult("ok", ops=2 * n - 1)

        def run_once() -> tuple[Sample, Node, list[Node]]:
            a = [engine.param(v) for v in a_vals]
            b = [engine.param(v) for v in b_vals]
            gc.collect()
            gc0 = GC_TIMER.seconds
            t0 = perf_counter()
            s = wide_sum(a, b)
            t1 = perf_counter()
            engine.backward(s)
            t2 = perf_counter()
            return Sample({"forward": t1 - t0, "backward": t2 - t1}, GC_TIMER.seconds - gc0), s, a

        try:
            _, s, a = run_once()  # untimed warm-up and check
            ops = engine.count_ops(s)
            if ops != 2 * n - 1:
                raise Mismatch(f"{ops} operations, expected {2 * n - 1}")
            if abs(engine.value(s) - exact) > 1e-12 * scale:
                raise Mismatch(f"sum {engine.value(s)!r}, exact {exact!r}")
            for i in picks:  # d sum / d a_i = b_i exactly: every local derivative on the way is 1.0
                if engine.grad(a[i]) != b_vals[i]:
                    raise Mismatch(f"d sum/d a[{i}] = {engine.grad(a[i])!r}, expected b[{i}] = {b_vals[i]!r}")
        except Mismatch as exc:
            results[name] = EngineResult("mismatch", str(exc))
            continue
        s = a = None
        for _ in range(cfg.repeats):
            sample, s, a = run_once()
            result.samples.append(sample)
            s = a = None
        results[name] = result
        gc.collect()
    return WorkloadResult(
        "W3",
        f"wide: sum of {n:,} products (balanced tree of additions), forward + backward",
        {"products": n, "ops": 2 * n - 1},
        _ordered(results),
        [
            "leaves are made before the clock starts; the products are added pairwise, so the graph is "
            "wide and about log2(N) deep (a left-to-right sum would be a second deep chain)"
        ],
    )


# ---------------------------------------------------------------------------------------------------
# W5: one epoch of the iris network; W6: gradcheck on one iris sample
# ---------------------------------------------------------------------------------------------------

# How nn.MLP's ``parameters()`` may be laid out; the first that reproduces nn's loss is used to build
# the same network by hand (for torch, and for chainrule without nn).
_LAYOUTS = ("neuron: weights then bias", "neuron: bias then weights", "layer: all weights then all biases")


def _unflatten(flat: Sequence[Any], n_in: int, sizes: Sequence[int], layout: str) -> list[list[tuple[list[Any], Any]]]:
    """``flat`` (nn's ``parameters()`` values) as layers of (weights, bias) per neuron, read in ``layout``."""
    layers = []
    pos = 0
    fan_in = n_in
    for n_out in sizes:
        count = n_out * (fan_in + 1)
        chunk = list(flat[pos : pos + count])
        pos += count
        if layout == _LAYOUTS[0]:
            neurons = [(chunk[j * (fan_in + 1) : j * (fan_in + 1) + fan_in], chunk[j * (fan_in + 1) + fan_in]) for j in range(n_out)]
        elif layout == _LAYOUTS[1]:
            neurons = [(chunk[j * (fan_in + 1) + 1 : (j + 1) * (fan_in + 1)], chunk[j * (fan_in + 1)]) for j in range(n_out)]
        else:
            neurons = [(chunk[j * fan_in : (j + 1) * fan_in], chunk[n_out * fan_in + j]) for j in range(n_out)]
        layers.append(neurons)
        fan_in = n_out
    if pos != len(flat):
        shape = "-".join(str(n) for n in [n_in, *sizes])
        raise Mismatch(f"nn.MLP has {len(flat)} parameters, a {shape} MLP needs {pos}")
    return layers


HandInit = list[list[tuple[list[float], float]]]


def _hand_epoch(
    engine: Engine,
    init: HandInit,
    X: Sequence[Sequence[float]],
    T: Sequence[int],
    lr: float,
    timed: bool,
    hidden: str = "sigmoid",
    batch_size: int = 1,
) -> tuple[dict[str, float], list[float], list[float], int | None]:
    """One epoch of SGD on the hand-built network, in mini-batches of ``batch_size`` samples taken in
    order (1: per-sample SGD on each sample's loss; more: on the batch's mean loss, as ``nn.fit``
    builds it). Returns phase seconds and, unless ``timed``, the per-sample losses, the final
    parameters and the operations of the first batch's graph."""
    layers, params = make_params(engine, init)
    phases = {"forward": 0.0, "backward": 0.0, "update": 0.0}
    losses = []
    ops = None
    for start in range(0, len(X), batch_size):
        t0 = perf_counter()
        sample_losses = [
            softmax_cross_entropy(mlp(layers, [engine.leaf(v) for v in x], hidden), t, engine.value)
            for x, t in zip(X[start : start + batch_size], T[start : start + batch_size])
        ]
        loss = sample_losses[0] if batch_size == 1 else chain_sum(sample_losses) * (1.0 / len(sample_losses))
        t1 = perf_counter()
        engine.zero_grads(params)
        engine.backward(loss)
        t2 = perf_counter()
        engine.sgd_step(params, lr)
        t3 = perf_counter()
        phases["forward"] += t1 - t0
        phases["backward"] += t2 - t1
        phases["update"] += t3 - t2
        if not timed:
            losses.extend(engine.value(v) for v in sample_losses)
            if ops is None:
                ops = engine.count_ops(loss)
    return phases, losses, [engine.value(p) for p in params], ops


def _hand_rows(
    engines: dict[str, Engine],
    results: dict[str, EngineResult],
    notes: list[str],
    shape: tuple[int, list[int]],
    initial: list[float],
    nn_final: list[float],
    epoch: Callable[[Engine, HandInit, bool], tuple[dict[str, float], list[float], list[float], int | None]],
    agree: Callable[[list[float], list[float], list[float]], None],
    repeats: int,
    units: int,
) -> None:
    """The rows "torch", "chainrule-hand" (and "chainrule-py-hand"): nn's network built by hand,
    checked, then timed.

    nn's initial parameters are laid out by each of ``_LAYOUTS`` in turn until chainrule's hand-built
    epoch reproduces nn's (``agree(hand losses, nn's final parameters in hand order, hand final)``
    raises Mismatch otherwise); every engine then runs that network, and is timed only if it agrees
    too. ``units`` is the number of graphs (samples or batches) an epoch builds, for the op count.
    """
    n_in, sizes = shape
    hand_init = hand_final = None
    layout_errors = []
    for layout in _LAYOUTS:
        try:
            init = _unflatten(initial, n_in, sizes, layout)
            positions = _flat(_unflatten(range(len(initial)), n_in, sizes, layout))  # nn's index, in our order
            final = [nn_final[i] for i in positions]
            _, losses, hand, _ = epoch(engines["chainrule"], init, False)
            agree(losses, final, hand)
        except Mismatch as exc:
            layout_errors.append(f"{layout}: {exc}")
            continue
        hand_init, hand_final = init, final
        notes.append(f"the hand-built network (torch, chainrule-hand) takes nn's initial parameters ({layout})")
        break

    # "chainrule-py" (the engine as plain Python beside the compiled one) where that engine is loaded
    for name, label in (("torch", "torch"), ("chainrule", "chainrule-hand"), ("chainrule-py", "chainrule-py-hand")):
        if name not in engines:
            continue
        engine = engines[name]
        if hand_init is None or hand_final is None:
            reason = "; ".join(layout_errors)
            results[label] = EngineResult("mismatch", f"could not rebuild nn's network by hand ({reason})")
            continue
        _, losses, hand, ops = epoch(engine, hand_init, False)
        try:
            agree(losses, hand_final, hand)
        except Mismatch as exc:
            results[label] = EngineResult("mismatch", str(exc), ops)
            continue
        results[label] = _repeat_epochs(
            lambda: epoch(engine, hand_init, True)[0],
            repeats,
            ops * units,
            "the same network built by hand (workloads.mlp + softmax_cross_entropy)",
        )


def run_w5(engines: dict[str, Engine], skipped: dict[str, str], cfg: Config) -> WorkloadResult:
    """One epoch (per-sample SGD, lr 0.1) of ``nn.MLP(4, [8, 3], activation="sigmoid")`` with cross entropy."""
    n = cfg.w5_samples
    title = f"iris 4-8-3 sigmoid/softmax, cross entropy, one epoch of per-sample SGD ({n} samples)"
    size = {"samples": n, "layers": [4, 8, 3]}
    try:
        from nn import MLP, SGD, cross_entropy, load_iris
    except ImportError as exc:
        reason = f"nn is not available ({exc})"
        results = {name: EngineResult("skipped", reason) for name in (*engines, *skipped)}
        return WorkloadResult("W5", title, size, results)
    from autograd import Value

    iris = load_iris()
    order = np.random.default_rng(cfg.seed + 5).permutation(len(iris.target))[:n]
    X = [[float(v) for v in iris.data[i]] for i in order]
    T = [int(iris.target[i]) for i in order]
    lr = 0.1

    def nn_epoch(timed: bool):
        model = MLP(4, [8, 3], activation="sigmoid", seed=0)
        params = model.parameters()
        initial = [float(p.data) for p in params]
        optimizer = SGD(params, lr=lr)
        phases = {"forward": 0.0, "backward": 0.0, "update": 0.0}
        losses = []
        ops = None
        for x, t in zip(X, T):
            t0 = perf_counter()
            loss = cross_entropy(model([Value(v) for v in x]), t)
            t1 = perf_counter()
            optimizer.zero_grad()
            loss.backward()
            t2 = perf_counter()
            optimizer.step()
            t3 = perf_counter()
            phases["forward"] += t1 - t0
            phases["backward"] += t2 - t1
            phases["update"] += t3 - t2
            if not timed:
                losses.append(float(loss.data))
                if ops is None:
                    ops = engines["chainrule"].count_ops(loss)
        return phases, losses, [float(p.data) for p in params], ops, initial

    results: dict[str, EngineResult] = {}
    notes = ["per-sample SGD in a fixed shuffled order; inputs made fresh as leaves each step"]
    _, ref_losses, nn_final, nn_ops, initial = nn_epoch(timed=False)
    results["chainrule"] = _repeat_epochs(
        lambda: nn_epoch(timed=True)[0], cfg.repeats, nn_ops * n, "nn.MLP + nn.cross_entropy + nn.SGD"
    )

    if "micrograd" in engines:
        results["micrograd"] = EngineResult("n/a", "micrograd 0.1.0 has no exp/log/sigmoid")
    # The same network by hand, from nn's initial parameters, for torch and for chainrule without nn.
    _hand_rows(
        engines, results, notes, (4, [8, 3]), initial, nn_final,
        epoch=lambda engine, init, timed: _hand_epoch(engine, init, X, T, lr, timed),
        agree=lambda losses, final, hand: _compare_epoch(ref_losses, final, losses, hand),
        repeats=cfg.repeats, units=n,
    )
    notes.append("before timing, every engine's per-sample losses and final parameters agree with nn's")
    return WorkloadResult("W5", title, size, _ordered(results), notes)


def _flat(layers: list[list[tuple[list[Any], Any]]]) -> list[Any]:
    """Parameters in ``make_params`` order: by layer, by neuron, weights then bias."""
    return [v for layer in layers for weights, bias in layer for v in (*weights, bias)]


def _compare_epoch(ref_losses: list[float], ref_final: list[float], losses: list[float], final: list[float]) -> None:
    _compare({f"loss[{i}]": v for i, v in enumerate(ref_losses)}, {f"loss[{i}]": v for i, v in enumerate(losses)}, 1e-9, 1e-12)
    _compare({f"param[{i}]": v for i, v in enumerate(ref_final)}, {f"param[{i}]": v for i, v in enumerate(final)}, 1e-9, 1e-12)


def _repeat_epochs(epoch: Callable[[], dict[str, float]], repeats: int, ops: int | None, note: str) -> EngineResult:
    result = EngineResult("ok", note, ops=ops)
    for _ in range(repeats):
        gc.collect()
        gc0 = GC_TIMER.seconds
        phases = epoch()
        result.samples.append(Sample(phases, GC_TIMER.seconds - gc0))
    gc.collect()
    return result


def iris_sample_loss(MLP, cross_entropy, load_iris) -> Callable[[], Any]:
    """``build()`` for W6 and W9: the cross-entropy loss of a fresh 4-8-3 sigmoid MLP (seed 0) on the
    first iris sample, after backward (the checkers compare against its grads); never timed. nn's
    names are passed in, as the callers import nn only where it is installed."""
    from autograd import Value

    iris = load_iris()
    x = [float(v) for v in iris.data[0]]
    t = int(iris.target[0])

    def build() -> Any:
        model = MLP(4, [8, 3], activation="sigmoid", seed=0)
        loss = cross_entropy(model([Value(v) for v in x]), t)
        loss.backward()
        return loss

    return build


def run_w6(engines: dict[str, Engine], skipped: dict[str, str], cfg: Config) -> WorkloadResult:
    """``autograd.check.gradcheck`` on the loss graph of one iris sample (every node checked)."""
    title = "gradcheck on one iris sample's loss graph (all nodes)"
    try:
        from autograd.check import gradcheck
        from nn import MLP, cross_entropy, load_iris
    except ImportError as exc:
        reason = f"needs nn and autograd.check ({exc})"
        return WorkloadResult("W6", title, {}, {"chainrule": EngineResult("skipped", reason)})
    from autograd import topological_order

    build = iris_sample_loss(MLP, cross_entropy, load_iris)
    result = EngineResult("ok", "chainrule only: the other engines have no per-node checker")
    loss = build()
    before = float(loss.data)
    report = gradcheck(loss)  # untimed warm-up, and the report's facts
    result.ops = len(report)
    result.extra.update(
        {"nodes_checked": len(report), "gradcheck_ok": bool(report.ok), "graph_nodes": len(topological_order(loss))}
    )
    if float(loss.data) != before:
        result.extra["warning"] = f"gradcheck changed the loss value from {before!r} to {float(loss.data)!r}"
    for _ in range(cfg.repeats):
        loss = build()
        gc.collect()
        gc0 = GC_TIMER.seconds
        t0 = perf_counter()
        gradcheck(loss)
        t1 = perf_counter()
        result.samples.append(Sample({"check": t1 - t0}, GC_TIMER.seconds - gc0))
    results = {"chainrule": result}
    if "micrograd" in engines:
        results["micrograd"] = EngineResult("n/a", "no gradient checker (and no exp/log)")
    if "torch" in engines:
        results["torch"] = EngineResult("n/a", "torch.autograd.gradcheck checks a function's inputs, not every node")
    for name, reason in skipped.items():
        results.setdefault(name, EngineResult("skipped", reason))
    return WorkloadResult("W6", title, {"sample": 0}, _ordered(results), [])


def run_w9(engines: dict[str, Engine], skipped: dict[str, str], cfg: Config) -> WorkloadResult:
    """The PyTorch bridge on one iris sample's loss graph (4-8-3): ``autograd.to_torch`` (the replay
    in torch float64) and ``autograd.check.compare_torch`` (replay, torch's backward, one row per node)."""
    title = "to_torch + compare_torch on one iris sample's loss graph (4-8-3)"
    try:
        import torch  # noqa: F401  (only to know whether the bridge can run)

        from autograd import to_torch
        from autograd.check import compare_torch
        from nn import MLP, cross_entropy, load_iris
    except ImportError as exc:
        reason = f"needs torch, nn and autograd.check ({exc})"
        return WorkloadResult("W9", title, {}, {"chainrule": EngineResult("skipped", reason)})
    from autograd import topological_order

    build = iris_sample_loss(MLP, cross_entropy, load_iris)
    result = EngineResult("ok", "chainrule's bridge to torch (float64): the replay, then the node-by-node comparison")
    loss = build()
    report = compare_torch(loss)  # untimed warm-up, and the report's facts
    result.ops = len(report)
    verdicts = {status: sum(row.status == status for row in report) for status in ("exact", "close", "differs")}
    result.extra.update({"graph_nodes": len(topological_order(loss)), "compare_torch_ok": bool(report.ok), **verdicts})
    for _ in range(cfg.repeats):
        loss = build()
        gc.collect()
        gc0 = GC_TIMER.seconds
        t0 = perf_counter()
        to_torch(loss)
        t1 = perf_counter()
        compare_torch(loss)
        t2 = perf_counter()
        result.samples.append(Sample({"to_torch": t1 - t0, "compare_torch": t2 - t1}, GC_TIMER.seconds - gc0))
    # the other engines have no bridge to compare: torch is the reference here, not a competitor
    return WorkloadResult("W9", title, {"sample": 0}, {"chainrule": result}, [])


# ---------------------------------------------------------------------------------------------------
# W7: the Hessian of a small network's loss
# ---------------------------------------------------------------------------------------------------


def curve_fit_loss(engine: Engine, layers: Layers, X: Sequence[float], Y: Sequence[float]) -> Node:
    """The mean squared error of a 1-input MLP (sigmoid hidden layer) on the points (X, Y)."""
    squares = []
    for x, y in zip(X, Y):
        (out,) = mlp(layers, [engine.leaf(x)], "sigmoid")
        residual = out - y
        squares.append(residual * residual)
    return chain_sum(squares) * (1.0 / len(squares))


def _hessian_by_differences(
    engine: Engine, init: list, X: Sequence[float], Y: Sequence[float], h: float = 1e-6
) -> list[list[float]]:
    """Central differences of ``engine``'s gradient, one parameter nudged at a time: an independent check."""
    def gradient(flat: list[float]) -> list[float]:
        layers, params = make_params(engine, _unflatten(flat, 1, [len(init[0]), 1], _LAYOUTS[0]))
        loss = curve_fit_loss(engine, layers, X, Y)
        engine.zero_grads(params)
        engine.backward(loss)
        return [engine.grad(p) for p in params]

    flat = _flat(init)
    columns = []
    for j in range(len(flat)):
        up, down = list(flat), list(flat)
        up[j] += h
        down[j] -= h
        columns.append([(a - b) / (2 * h) for a, b in zip(gradient(up), gradient(down))])
    return [list(row) for row in zip(*columns)]  # H[i][j] = d(dL/dp_i)/dp_j


def run_w7(engines: dict[str, Engine], skipped: dict[str, str], cfg: Config) -> WorkloadResult:
    """Forward, then the full Hessian of the loss of a 1-3-1 sigmoid network (10 parameters)."""
    n = cfg.w7_points
    rng = np.random.default_rng(cfg.seed + 7)
    # 1 input -> 3 sigmoid units -> 1 linear output: 3 x (w, b) + (3 w, b) = 10 parameters
    hidden = [([float(rng.uniform(-2, 2))], float(rng.uniform(-1, 1))) for _ in range(3)]
    output = ([float(w) for w in rng.uniform(-2, 2, 3)], float(rng.uniform(-1, 1)))
    init = [hidden, [output]]
    X = np.linspace(-2.0, 2.0, n).tolist()
    Y = [math.sin(1.5 * x) for x in X]
    title = f"Hessian of a 1-3-1 sigmoid network's mean squared error on {n} points (10 parameters)"
    results = _start(skipped)
    reference = _hessian_by_differences(engines["chainrule"], init, X, Y)
    scale = max(abs(v) for row in reference for v in row)
    for name, engine in engines.items():
        if engine.hessian is None:
            results[name] = EngineResult("n/a", "no higher-order gradients")
            continue

        def run_once() -> tuple[Sample, list[list[float]], int]:
            layers, params = make_params(engine, init)
            gc.collect()
            gc0 = GC_TIMER.seconds
            t0 = perf_counter()
            loss = curve_fit_loss(engine, layers, X, Y)
            t1 = perf_counter()
            matrix = engine.hessian(loss, params)
            t2 = perf_counter()
            sample = Sample({"forward": t1 - t0, "hessian": t2 - t1}, GC_TIMER.seconds - gc0)
            return sample, matrix, engine.count_ops(loss)

        try:
            _, matrix, ops = run_once()  # untimed warm-up and check
            _compare(
                {f"H[{i}][{j}]": v for i, row in enumerate(reference) for j, v in enumerate(row)},
                {f"H[{i}][{j}]": v for i, row in enumerate(matrix) for j, v in enumerate(row)},
                rtol=1e-5,
                atol=1e-7 * scale,
            )
        except Mismatch as exc:
            results[name] = EngineResult("mismatch", str(exc))
            continue
        except NotImplementedError as exc:  # the adapter says this engine cannot do it
            results[name] = EngineResult("n/a", str(exc))
            continue
        except Exception as exc:  # an engine that fails is reported, not the end of the run
            results[name] = EngineResult("fails", f"{type(exc).__name__}: {exc}")
            continue
        result = EngineResult("ok", ops=ops, extra={"params": len(matrix)})
        for _ in range(cfg.repeats):
            result.samples.append(run_once()[0])
        results[name] = result
        gc.collect()
    notes = [
        "chainrule: autograd.hessian (the gradient as a graph, then one backward pass through each entry); "
        "torch: torch.autograd.grad(create_graph=True), then one torch.autograd.grad per entry; before "
        "timing, each engine's Hessian is checked against central differences of chainrule's backward gradient",
    ]
    return WorkloadResult("W7", title, {"points": n, "params": 10}, _ordered(results), notes)


# ---------------------------------------------------------------------------------------------------
# W8: one epoch of the digits network through nn.fit
# ---------------------------------------------------------------------------------------------------


def run_w8(engines: dict[str, Engine], skipped: dict[str, str], cfg: Config) -> WorkloadResult:
    """One epoch of ``nn.fit`` on the digits: ``nn.MLP(64, [32, 10], activation="tanh")`` (the network
    of ``chainrule train --data digits``), mini-batch SGD on the mean cross entropy.

    The images are the first ``cfg.w8_samples`` of the command line's standardised training split;
    SGD (lr 0.1) rather than the command line's Adam, so that every engine runs the same update.
    """
    n, batch = cfg.w8_samples, cfg.w8_batch_size
    sizes = [32, 10]
    title = f"digits 64-32-10 tanh/softmax, one nn.fit epoch, mini-batches of {batch}, SGD ({n} images)"
    size = {"samples": n, "batch_size": batch, "layers": [64, *sizes]}
    try:
        from nn import MLP, SGD, Standardizer, fit, load_digits, train_test_split
    except ImportError as exc:
        reason = f"nn is not available ({exc})"
        results = {name: EngineResult("skipped", reason) for name in (*engines, *skipped)}
        return WorkloadResult("W8", title, size, results)

    X_all, y_all = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X_all, y_all, test_size=0.2, seed=0)
    X_train = Standardizer().fit(X_train).transform(X_train)
    X_fit, y_fit = X_train[:n], y_train[:n]
    lr = 0.1
    # fit visits the samples in the order of its own shuffle (seed), batch by batch; the hand-built
    # epoch follows the same order.
    order = np.random.default_rng(cfg.seed).permutation(n)
    X = [[float(v) for v in X_fit[i]] for i in order]
    T = [int(y_fit[i]) for i in order]

    def nn_epoch() -> tuple[dict[str, float], float, list[float], list[float]]:
        model = MLP(64, sizes, activation="tanh", seed=0)
        params = model.parameters()
        initial = [float(p.data) for p in params]
        t0 = perf_counter()
        history = fit(model, X_fit, y_fit, epochs=1, optimizer=SGD(params, lr=lr), batch_size=batch, seed=cfg.seed, progress=False)
        t1 = perf_counter()
        return {"epoch": t1 - t0}, history.train_loss[0], [float(p.data) for p in params], initial

    results: dict[str, EngineResult] = {}
    notes = [
        f"nn.fit(epochs=1, optimizer=SGD(lr={lr:g}), batch_size={batch}) as a whole (shuffle, forward, "
        "backward, update, accuracy); the hand-built rows follow fit's shuffled order",
        "nn.fit pauses CPython's cyclic garbage collector while it trains; the hand-built rows leave it on, "
        "as the other workloads do",
    ]
    _, ref_mean_loss, nn_final, initial = nn_epoch()
    results["chainrule"] = _repeat_epochs(lambda: nn_epoch()[0], cfg.repeats, None, "nn.MLP + nn.fit + nn.SGD")
    if "micrograd" in engines:
        results["micrograd"] = EngineResult("n/a", "micrograd 0.1.0 has no exp/log/tanh")

    def agree(losses: list[float], final: list[float], hand: list[float]) -> None:
        _compare({"mean loss": ref_mean_loss}, {"mean loss": sum(losses) / len(losses)}, 1e-9, 1e-12)
        _compare({f"param[{i}]": v for i, v in enumerate(final)}, {f"param[{i}]": v for i, v in enumerate(hand)}, 1e-9, 1e-12)

    _hand_rows(
        engines, results, notes, (64, sizes), initial, nn_final,
        epoch=lambda engine, init, timed: _hand_epoch(engine, init, X, T, lr, timed, "tanh", batch),
        agree=agree, repeats=cfg.repeats, units=-(-n // batch),
    )
    notes.append("before timing, every engine's mean loss over the epoch and final parameters agree with nn.fit's")
    ours = results["chainrule"]
    if ours.median:
        full = len(X_train)
        estimate = ours.median * full / n
        ours.extra.update({"full_epoch_images": full, "full_epoch_s_estimate": estimate})
        notes.append(
            f"a full epoch of the {full:,} training images would take about {estimate:.1f} s with nn.fit "
            f"(this run's median, scaled from {n} images)"
        )
    return WorkloadResult("W8", title, size, _ordered(results), notes)
