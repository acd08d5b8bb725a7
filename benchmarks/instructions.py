"""Instructions per W1 step, counted by callgrind: a measure of the engine's work that load does not disturb.

    python benchmarks/instructions.py              # chainrule (compiled) and the minimal engine, 3 steps
    python benchmarks/instructions.py --steps 5 --engines chainrule
    python benchmarks/instructions.py --steps 1 --engines chainrule-py   # the plain-Python engine
    python benchmarks/instructions.py --tiny       # 8 points, 1 step (the tests run it)

Each engine runs once in a child process under ``valgrind --tool=callgrind``: one untimed step
(imports, building, the first graph), then ``--steps`` more between two calls of ``os.getppid()``,
which callgrind is told to treat as markers (``--dump-before=getppid``: a profile is written at each).
The profile between the markers holds exactly those steps' instructions, so one step of
``benchmarks/limit.py``'s learner loop (``loss = step()``) is its total divided by ``--steps``, free of
start-up costs and of any difference between two processes. Instruction counts are repeatable for the
same binary and inputs whatever else the machine is doing (seconds are not: see ``limit.py`` for time).
Needs valgrind (``apt-get install valgrind``); the minimal engine needs Cython, as in ``limit.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

ENGINES = ("chainrule", "chainrule-py", "minimal engine")
DEFAULT = ("chainrule", "minimal engine")  # chainrule-py (the plain-Python engine) on request: it is slow under callgrind

_CHILD = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
import numpy as np
from benchmarks import limit, workloads
from benchmarks.engines import load_engines
name, points, steps = {name!r}, {points}, {steps}
if name == "minimal engine":
    engine = limit.minimal_engine_adapter(limit.build_minimal_engine(Path({build!r})))
else:
    engine = load_engines([name])[0][name]
X, y = workloads.two_moons(points, noise=0.1, seed=0)
init = workloads.init_mlp(2, (16, 16, 1), np.random.default_rng(0))
step = limit.graph_step(engine, init, X, y)
import os
loss = step()
os.getppid()  # marker: callgrind writes a profile here
for _ in range(steps):
    loss = step()
os.getppid()  # marker: the profile written here holds exactly the steps above
"""


def per_step(name: str, points: int, steps: int, build: Path) -> float:
    """Instructions of one step: those callgrind counts between the child's two markers, over ``steps``."""
    code = _CHILD.format(repo=str(REPO), name=name, points=points, steps=steps, build=str(build))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}",
             sys.executable, "-c", code],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, timeout=1800,
        )
        # out.1: start-up and the first step; out.2: the steps between the markers; out: the rest
        between = out.with_name("out.2")
        markers_only = between.exists() and not out.with_name("out.3").exists()  # no other getppid() call
        match = re.search(r"^summary:\s*(\d+)", between.read_text(), re.M) if markers_only else None
    if done.returncode != 0 or match is None:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{name}: the child under callgrind failed (exit {done.returncode}):\n{tail}")
    return int(match.group(1)) / steps


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/instructions.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="steps counted after the first (default 3)")
    parser.add_argument("--engines", default=",".join(DEFAULT),
                        help=f"comma-separated, from: {', '.join(ENGINES)} (default: {', '.join(DEFAULT)})")
    parser.add_argument("--tiny", action="store_true", help="8 points and 1 step: a smoke run")
    parser.add_argument("--build-dir", type=Path, default=REPO / "benchmarks" / "results" / "build",
                        help="where Cython builds the minimal engine (default benchmarks/results/build)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENGINES]
    if unknown or not names:
        parser.error(f"unknown engine {', '.join(unknown) or repr(args.engines)}; choose from {', '.join(ENGINES)}")
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    if shutil.which("valgrind") is None:
        print("benchmarks/instructions.py: needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    points, steps = (8, 1) if args.tiny else (100, args.steps)
    print(f"W1 learner loop, {points} points: instructions per step (callgrind, {steps} step(s) after the first)")
    print("| engine | instructions per step |")
    print("| --- | --: |")
    for name in names:
        try:
            print(f"| {name} | {per_step(name, points, steps, args.build_dir) / 1e6:.1f}M |", flush=True)
        except RuntimeError as exc:
            print(f"benchmarks/instructions.py: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
