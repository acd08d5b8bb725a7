"""The machine description, the result tables (markdown, ready for the README) and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

from autograd._files import atomic_write

from .engines import Engine
from .workloads import EngineResult, WorkloadResult

NOISY = 1.3  # a row whose max/min exceeds this gets a noise mark


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _git_commit(repo: Path) -> str | None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True, text=True, timeout=10
        )
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def machine(repo: Path, engines: dict[str, Engine], skipped: dict[str, str]) -> dict[str, Any]:
    """What the numbers were measured on."""
    import numpy

    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": numpy.__version__,
        "engines": {name: engine.version for name, engine in engines.items()},
        "skipped_engines": skipped,
        "chainrule_commit": _git_commit(repo),
    }
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    return info


def describe_machine(info: dict[str, Any]) -> str:
    engines = ", ".join(f"{name} {version}" for name, version in info["engines"].items())
    cpus = f"{info['logical_cpus']} logical CPUs"
    if "usable_cpus" in info:
        cpus += f" ({info['usable_cpus']} usable)"
    lines = [
        f"Machine: {info['cpu']}, {cpus}; {info['platform']}",
        f"Python: {info['python']}; numpy {info['numpy']}; {engines}"
        + (f"; chainrule commit {info['chainrule_commit']}" if info.get("chainrule_commit") else ""),
    ]
    for name, reason in info["skipped_engines"].items():
        lines.append(f"{name}: skipped, {reason}")
    if "load_average_at_start" in info:
        lines.append(f"Load average at start: {' '.join(map(str, info['load_average_at_start']))}")
    return "\n".join(lines)


def _seconds(s: float) -> str:
    if s >= 10:
        return f"{s:.1f} s"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        ms = s * 1e3
        return f"{ms:.3g} ms" if ms < 100 else f"{ms:.0f} ms"
    return f"{s * 1e6:.3g} µs"


def _bytes(b: float) -> str:
    if abs(b) >= 1024**2:
        return f"{b / 1024**2:.1f} MiB"
    if abs(b) >= 1024:
        return f"{b / 1024:.1f} KiB"
    return f"{b:.0f} B"


def _us(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


TIME_HEADER = (
    "| workload | engine | repeats | median | min | max | fwd µs/op | bwd µs/op | GC | time ÷ chainrule's |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
)


def _is_noisy(result: EngineResult) -> bool:
    if len(result.samples) < 2:
        return False
    totals = [s.total for s in result.samples]
    return min(totals) > 0 and max(totals) / min(totals) > NOISY


def time_table(workloads: Sequence[WorkloadResult]) -> tuple[str, list[str]]:
    """The timing table, and the rows whose repeats spread more than ``NOISY``."""
    rows = list(TIME_HEADER)
    noisy = []
    for workload in workloads:
        ours = workload.results.get("chainrule")
        base = ours.median if ours is not None and ours.status == "ok" else None
        for name, result in workload.results.items():
            if result.status != "ok":
                text = result.status + (f": {result.note}" if result.note else "")
                rows.append(f"| {workload.id} | {name} | | {text} | | | | | | |")
                continue
            summary = result.summary()
            mark = ""
            if _is_noisy(result):
                mark = " †"
                noisy.append(f"{workload.id} {name} (max/min {summary['max_s'] / summary['min_s']:.2f})")
            ratio = f"{result.median / base:.2f}" if base else ""
            rows.append(
                f"| {workload.id} | {name} | {summary['repeats']} | {_seconds(summary['median_s'])}{mark} "
                f"| {_seconds(summary['min_s'])} | {_seconds(summary['max_s'])} "
                f"| {_us(summary.get('forward_us_per_op'))} | {_us(summary.get('backward_us_per_op'))} "
                f"| {summary['gc_fraction'] * 100:.0f}% | {ratio} |"
            )
    return "\n".join(rows), noisy


def memory_table(workload: WorkloadResult) -> str:
    rows = [
        "| engine | bytes/op (tracemalloc) | bytes/node (tracemalloc) | bytes/op (RSS) | W1 step peak (tracemalloc) | W1 step peak (RSS) |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name, result in workload.results.items():
        if result.status != "ok":
            rows.append(f"| {name} | {result.status}: {result.note} | | | | |")
            continue
        extra = result.extra
        python_only = name == "torch"  # tracemalloc misses torch's C++ allocations
        traced = "(Python objects only)" if python_only else f"{extra['traced_bytes_per_op']:.0f}"
        per_node = "" if python_only else f"{extra['traced_bytes_per_node']:.0f}"
        traced_peak = "(Python objects only)" if python_only else _bytes(extra["w1_step_traced_peak_bytes"])
        rss = f"{extra['rss_bytes_per_op']:.0f}" if "rss_bytes_per_op" in extra else "n/a"
        rss_peak = _bytes(extra["w1_step_rss_peak_bytes"]) if "w1_step_rss_peak_bytes" in extra else "n/a"
        rows.append(f"| {name} | {traced} | {per_node} | {rss} | {traced_peak} | {rss_peak} |")
    return "\n".join(rows)


def targets(workloads: Sequence[WorkloadResult]) -> list[str]:
    """Where chainrule stands against the engine issue's targets (issue 10), in this run."""
    by_id = {w.id: w for w in workloads}
    lines = []
    w1 = by_id.get("W1")
    if w1:
        goals = {"micrograd": 50, "torch": 25}
        for other, goal in goals.items():
            speedup = w1.speedups().get(other)
            if speedup is not None:
                verdict = "met" if speedup >= goal else "not met"
                lines.append(f"W1 at least {goal}x faster than {other}: {speedup:.1f}x ({verdict})")
        ours, floor = w1.results.get("chainrule"), w1.results.get("plain floats")
        if ours and floor and ours.status == floor.status == "ok":
            ratio = ours.median / floor.median
            lines.append(f"W1 within 4x of the plain-float floor: {ratio:.1f}x ({'met' if ratio <= 4 else 'not met'})")
    for w in workloads:
        if w.id.startswith("W2") and w.size.get("ops") == 1_000_000:
            ours = w.results.get("chainrule")
            if ours is not None and ours.status == "ok":
                verdict = "met" if ours.median <= 1.5 else "not met"
                lines.append(f"1,000,000-op chain, forward + backward, at most 1.5 s: {_seconds(ours.median)} ({verdict})")
        if w.id.startswith("W2") and w.size.get("N", 0) > 1_000:
            micro = w.results.get("micrograd")
            if micro is not None and micro.status == "fails":
                lines.append(f"micrograd at N={w.size['N']:,}: fails ({micro.note})")
    w4 = by_id.get("W4")
    if w4:
        ours, ref = w4.results.get("chainrule"), w4.results.get("micrograd")
        if ours and ours.status == "ok" and "traced_bytes_per_node" in ours.extra:
            per_node = ours.extra["traced_bytes_per_node"]
            lines.append(f"at most 120 bytes per node: {per_node:.0f} ({'met' if per_node <= 120 else 'not met'})")
        if ours and ref and ours.status == ref.status == "ok":
            ratio = ours.extra["traced_bytes_per_op"] / ref.extra["traced_bytes_per_op"]
            lines.append(f"memory per operation: {ratio:.2f} of micrograd's")
    return lines


def gc_shares(workloads: Sequence[WorkloadResult]) -> list[str]:
    w1 = next((w for w in workloads if w.id == "W1"), None)
    if w1 is None:
        return []
    parts = []
    for name, result in w1.results.items():
        if result.status == "ok":
            parts.append(f"{name} {result.summary()['gc_fraction'] * 100:.1f}%")
    return [f"Share of W1 step time spent in the cyclic garbage collector: {', '.join(parts)}"] if parts else []


def render(info: dict[str, Any], workloads: Sequence[WorkloadResult], command: str) -> str:
    """The whole text report: machine, command, timing table, memory table, notes and targets."""
    timed = [w for w in workloads if w.id != "W4"]
    memory = next((w for w in workloads if w.id == "W4"), None)
    out = [describe_machine(info), f"Command: {command}", ""]
    table, noisy = time_table(timed)
    out += [table, ""]
    out.append(
        "median/min/max: wall time of one unit (W1 one training step, W2/W3 forward + backward, W5 and W8 "
        "one epoch, W6 one gradcheck, W7 one forward + Hessian, W9 one to_torch + compare_torch); fwd/bwd µs/op: median phase time per operation node; GC: share of the time "
        "spent in CPython's cyclic garbage collector; time ÷ chainrule's: this engine's median over "
        "chainrule's, measured in this run."
    )
    if noisy:
        out.append(f"† noisy: max/min above {NOISY} for " + "; ".join(noisy) + ". Rerun on a quieter machine.")
    if "load_average_at_end" in info:
        out.append(f"Load average at end: {' '.join(map(str, info['load_average_at_end']))}")
    for w in timed:
        for note in w.notes:
            out.append(f"- {w.id}: {note}")
        for name, result in w.results.items():
            extra = result.extra
            if w.id == "W6" and result.status == "ok":
                per_node = result.median / result.ops * 1e6 if result.ops else float("nan")
                out.append(
                    f"- W6: {extra['nodes_checked']} nodes checked ({per_node:.0f} µs per node), "
                    f"gradcheck ok = {extra['gradcheck_ok']}"
                )
            if w.id == "W9" and result.status == "ok":
                out.append(
                    f"- W9: {extra['graph_nodes']} nodes replayed and compared: {extra['exact']} exact, "
                    f"{extra['close']} close, {extra['differs']} differ (compare_torch ok = {extra['compare_torch_ok']})"
                )
            if result.status == "fails" and "forward_s" in extra:
                out.append(f"- {w.id}: {name}'s forward took {_seconds(extra['forward_s'])} before backward failed")
    if memory is not None:
        out += ["", f"{memory.id}: {memory.title}", "", memory_table(memory), ""]
        out += [f"- {note}" for note in memory.notes]
    lines = targets(workloads) + gc_shares(workloads)
    if lines:
        out += ["", "Targets (issue 10):"] + [f"- {line}" for line in lines]
    return "\n".join(out)


def write_json(path: Path, info: dict[str, Any], config: dict[str, Any], workloads: Sequence[WorkloadResult], command: str) -> None:
    data = {
        "machine": info,
        "command": command,
        "config": config,
        "workloads": [w.to_json() for w in workloads],
        "targets": targets(workloads),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")  # a failed write keeps the last results


def command_line() -> str:
    return " ".join(["python", *sys.argv])
