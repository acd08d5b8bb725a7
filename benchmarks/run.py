"""Benchmark chainrule against micrograd and PyTorch (0-dim float64 tensors), in one process run.

    python benchmarks/run.py                 # every workload at full size, 5 repeats; JSON to benchmarks/results.json
    python benchmarks/run.py --tiny          # every workload at a tiny size, one repeat (CI's smoke run)
    python benchmarks/run.py --only W1,W4 --repeats 3 --json /tmp/bench.json
    python benchmarks/run.py --profile       # cProfile of chainrule on W1, top entries

Workloads: W1 micrograd's demo training step, W2 a deep chain (N = 10,000 and 1,000,000), W3 a wide
sum of 100,000 products, W4 memory per node and the peak of a W1 step, W5 one epoch of the iris
network, W6 gradcheck on one iris sample, W7 the Hessian of a small network's loss (10 parameters), W8 one
nn.fit epoch of the digits network (64-32-10), W9 the PyTorch bridge (to_torch + compare_torch) on one
iris sample's loss graph. micrograd and torch are optional: an engine that is not
installed is reported as skipped. The exit status is 1 if an engine's result disagreed with chainrule's.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Import chainrule (``autograd``, ``nn``) from this checkout, and the helpers as ``benchmarks.*``.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(REPO)
elif str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import memory, report, workloads  # noqa: E402
from benchmarks.engines import ENGINE_NAMES, load_engines  # noqa: E402
from benchmarks.workloads import GC_TIMER, Config  # noqa: E402

WORKLOAD_IDS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _names(choices: tuple[str, ...], what: str):
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            bad = ", ".join(unknown) if unknown else repr(text)
            raise argparse.ArgumentTypeError(f"unknown {what} {bad}; choose from {', '.join(choices)}")
        return names

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Benchmark chainrule against micrograd and PyTorch (0-dim float64 tensors).",
    )
    parser.add_argument("--tiny", action="store_true", help="tiny sizes and one repeat: a smoke run of a few seconds")
    parser.add_argument("--repeats", type=_positive, help="timed repeats per workload and engine (default 5; 1 with --tiny)")
    parser.add_argument(
        "--json",
        type=Path,
        help="where to write the results as JSON (default benchmarks/results.json; none with --tiny unless given)",
    )
    parser.add_argument(
        "--only", type=_names(WORKLOAD_IDS, "workload"), default=list(WORKLOAD_IDS), help="comma-separated workloads, e.g. W1,W4"
    )
    parser.add_argument(
        "--engines",
        type=_names(ENGINE_NAMES, "engine"),
        default=list(ENGINE_NAMES),
        help="comma-separated engines (chainrule is always run: it is the reference)",
    )
    parser.add_argument("--profile", action="store_true", help="only profile chainrule's W1 step with cProfile and print the top entries")
    return parser.parse_args(argv)


def profile_w1(cfg: Config, steps: int = 3, top: int = 20) -> str:
    """cProfile of ``steps`` chainrule W1 steps, sorted by own time."""
    import numpy as np

    engines, _ = load_engines(["chainrule"])
    engine = engines["chainrule"]
    X, y = workloads.two_moons(cfg.w1_points, noise=0.1, seed=cfg.seed)
    layers, params = workloads.make_params(engine, workloads.init_mlp(2, cfg.w1_layers, np.random.default_rng(cfg.seed)))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        loss = workloads.svm_loss(engine, layers, params, X, y)
        engine.zero_grads(params)
        engine.backward(loss)
        engine.sgd_step(params, 0.05)
    profiler.disable()
    out = io.StringIO()
    out.write(
        f"cProfile of {steps} chainrule W1 steps ({cfg.w1_points} points), garbage collector enabled. CPython's "
        "cyclic collector runs inside allocations, so its time is counted in the allocating call "
        "(object.__new__ in the engine's node constructor).\n"
    )
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repeats = args.repeats or (1 if args.tiny else 5)
    cfg = Config.tiny(repeats) if args.tiny else Config(repeats=repeats, big_repeats=min(repeats, 3))
    if args.profile:
        print(profile_w1(cfg))
        return 0

    names = ["chainrule", *(name for name in args.engines if name != "chainrule")]
    engines, skipped = load_engines(names)
    info = report.machine(REPO, engines, skipped)
    command = report.command_line()
    print(report.describe_machine(info), file=sys.stderr)

    # Freeze what the imports made (torch alone adds ~165,000 tracked objects), so that the collector's
    # work during timing is the workloads' own and does not depend on which engines are installed.
    gc.collect()
    gc.freeze()
    GC_TIMER.install()
    results = []
    # Memory first, while this process has allocated little; each measurement runs in a fresh child.
    steps = [
        ("W4", lambda: [memory.run_w4(list(engines), skipped, cfg)]),
        ("W1", lambda: [workloads.run_w1(engines, skipped, cfg)]),
        ("W2", lambda: workloads.run_w2(engines, skipped, cfg)),
        ("W3", lambda: [workloads.run_w3(engines, skipped, cfg)]),
        ("W5", lambda: [workloads.run_w5(engines, skipped, cfg)]),
        ("W6", lambda: [workloads.run_w6(engines, skipped, cfg)]),
        ("W7", lambda: [workloads.run_w7(engines, skipped, cfg)]),
        ("W8", lambda: [workloads.run_w8(engines, skipped, cfg)]),
        ("W9", lambda: [workloads.run_w9(engines, skipped, cfg)]),
    ]
    for workload_id, run in steps:
        if workload_id in args.only:
            print(f"running {workload_id} ...", end="", file=sys.stderr, flush=True)
            started = time.perf_counter()
            results.extend(run())
            print(f" {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    GC_TIMER.uninstall()
    if hasattr(os, "getloadavg"):
        info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]

    order = {workload_id: i for i, workload_id in enumerate(WORKLOAD_IDS)}
    results.sort(key=lambda w: (order[w.id.split()[0]], w.size.get("N", 0)))
    print(report.render(info, results, command))

    json_path = args.json if args.json is not None else (None if args.tiny else REPO / "benchmarks" / "results.json")
    if json_path is not None:
        config = {"tiny": args.tiny, **{k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items()}}
        try:
            report.write_json(json_path, info, config, results, command)  # a failed write keeps the last results
        except OSError as exc:
            print(f"benchmarks/run.py: the results above were not written to {json_path}: {exc}", file=sys.stderr)
            return 1
        print(f"\nJSON written to {json_path}", file=sys.stderr)

    mismatches = [f"{w.id} {name}: {r.note}" for w in results for name, r in w.results.items() if r.status == "mismatch"]
    for line in mismatches:
        print(f"MISMATCH {line}", file=sys.stderr)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
