"""W4: memory per operation node, and the peak memory of one W1 step, for each engine.

Every measurement runs in its own child process (``isolate``), started before any timing workload, so
that memory freed by an earlier measurement cannot be reused and hide the growth. Two measures:

* ``tracemalloc``: the bytes Python's allocator holds for the graph. Exact for chainrule and
  micrograd; for torch it sees only the Python wrappers, as tensors and autograd nodes are allocated
  in C++, so torch is compared by RSS.
* RSS (resident set size, from ``/proc/self/status``; Linux only): what the operating system gave the
  process. Coarser (allocator pages), but it sees every allocation. The peak is VmHWM after resetting
  it through ``/proc/self/clear_refs``.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import numpy as np

from .engines import ENGINE_NAMES, load_engines
from .isolate import ChildFailed, run_in_child
from .workloads import Config, EngineResult, WorkloadResult, deep_chain, init_mlp, make_params, svm_loss, two_moons


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def _rss_bytes() -> int | None:
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def _measure_chain(engine_name: str, ops: int) -> dict[str, Any]:
    """Bytes per operation node of the W2 chain with ``ops`` operations (constants included)."""
    engines, _ = load_engines([engine_name])
    engine = engines[engine_name]
    n = ops // 2
    out: dict[str, Any] = {}

    x = engine.param(0.5)
    gc.collect()
    rss0 = _rss_bytes()
    y = deep_chain(x, n)
    gc.collect()
    rss1 = _rss_bytes()
    out["ops"] = 2 * n  # not counted by walking: torch 2.13 can crash freeing a deep graph it walked
    y = None
    gc.collect()
    if rss0 is not None and rss1 is not None:
        out["rss_bytes"] = rss1 - rss0

    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    y = deep_chain(x, n)  # held until measured
    gc.collect()
    out["traced_bytes"] = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del y
    return out


def _measure_w1_peak(engine_name: str, cfg: Config) -> dict[str, Any]:
    """The extra memory at the peak of one W1 step (forward, backward, update), model and data already made."""
    engines, _ = load_engines([engine_name])
    engine = engines[engine_name]
    X, y = two_moons(cfg.w1_points, noise=0.1, seed=cfg.seed)
    layers, params = make_params(engine, init_mlp(2, cfg.w1_layers, np.random.default_rng(cfg.seed)))
    out: dict[str, Any] = {}

    def step() -> None:
        loss = svm_loss(engine, layers, params, X, y)
        engine.zero_grads(params)
        engine.backward(loss)
        engine.sgd_step(params, 0.05)

    gc.collect()
    if _reset_peak_rss():
        rss0 = _rss_bytes()
        step()
        peak = _status_kib("VmHWM")
        if rss0 is not None and peak is not None:
            out["rss_peak_bytes"] = peak * 1024 - rss0
    gc.collect()

    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    step()
    out["traced_peak_bytes"] = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return out


def run_w4(engine_names: list[str], skipped: dict[str, str], cfg: Config) -> WorkloadResult:
    """Memory per operation node of a ``cfg.w4_ops``-operation chain, and the peak of one W1 step."""
    results: dict[str, EngineResult] = {}
    for name in ENGINE_NAMES:
        if name in skipped:
            results[name] = EngineResult("skipped", skipped[name])
            continue
        if name not in engine_names:
            continue
        try:
            chain = run_in_child(_measure_chain, name, cfg.w4_ops)
            peak = run_in_child(_measure_w1_peak, name, cfg)
        except ChildFailed as exc:
            results[name] = EngineResult("fails", f"the measurement {exc}")
            continue
        ops = chain["ops"]
        extra: dict[str, Any] = {
            "traced_bytes_per_op": chain["traced_bytes"] / ops,
            # chainrule and micrograd make a node for each constant too: x, and per step 2 constants + 2 ops
            "traced_bytes_per_node": chain["traced_bytes"] / (2 * ops + 1),
            "w1_step_traced_peak_bytes": peak["traced_peak_bytes"],
        }
        if "rss_bytes" in chain:
            extra["rss_bytes_per_op"] = chain["rss_bytes"] / ops
        if "rss_peak_bytes" in peak:
            extra["w1_step_rss_peak_bytes"] = peak["rss_peak_bytes"]
        note = "tracemalloc sees only torch's Python objects: compare torch by RSS" if name == "torch" else ""
        results[name] = EngineResult("ok", note, ops=ops, extra=extra)
    ours = results.get("chainrule")
    ref = results.get("micrograd")
    notes = [
        f"graph: the W2 chain with {cfg.w4_ops:,} operations; per operation node, including the constant "
        "leaves each engine makes for 1.0001 and 0.0001; measured after forward, before backward",
        f"W1 peak: one step (forward, backward, update) of the W1 network on {cfg.w1_points} points, above "
        "the memory held before the step",
    ]
    if ours and ref and ours.status == ref.status == "ok":
        ratio = ours.extra["traced_bytes_per_op"] / ref.extra["traced_bytes_per_op"]
        notes.append(f"chainrule uses {ratio:.2f}x micrograd's memory per node (tracemalloc)")
    return WorkloadResult(
        "W4",
        f"memory per operation node ({cfg.w4_ops:,}-operation chain) and peak of one W1 step",
        {"ops": cfg.w4_ops, "w1_points": cfg.w1_points},
        results,
        notes,
    )
