"""What ``pip install .`` ships: every package of the source tree, and the data files nn reads.

The tests themselves import chainrule from the checkout, so a package missing from pyproject.toml would
pass them and fail only for a user (or the demo) with a non-editable install."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def listed_packages() -> set[str]:
    text = (REPO / "pyproject.toml").read_text()
    match = re.search(r"^packages\s*=\s*\[([^\]]*)\]", text, re.MULTILINE)
    assert match, "pyproject.toml lists no packages under [tool.setuptools]"
    return set(re.findall(r'"([^"]+)"', match.group(1)))


def test_every_package_in_the_tree_is_listed_for_installation():
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in ("autograd", "nn")
        for init in (REPO / top).rglob("__init__.py")
    }
    assert found == listed_packages()


def test_every_data_file_nn_reads_is_package_data():
    section = (REPO / "pyproject.toml").read_text().split("[tool.setuptools.package-data]", 1)[1]
    line = re.search(r"^nn\s*=\s*\[([^\]]*)\]", section, re.MULTILINE)
    assert line, "pyproject.toml gives nn no package data"
    patterns = re.findall(r'"([^"]+)"', line.group(1))
    shipped = {path for pattern in patterns for path in (REPO / "nn").glob(pattern)}
    assert {p for p in (REPO / "nn" / "data").iterdir() if p.is_file()} <= shipped


def test_the_engine_runs_as_plain_python_without_cython_installed():
    """Uncompiled, engine.py imports ``cython`` only for its decorators; without Cython the stand-ins in
    autograd/_nocython.py serve (the dev extra installs Cython, so this hides it)."""
    code = (
        "import sys; sys.modules['cython'] = None\n"
        "import autograd\n"
        "assert not autograd.COMPILED\n"
        "x = autograd.Value(2.0); y = (x * x).tanh(); y.backward()\n"
        "print(repr(x.grad))\n"
    )
    env = {**os.environ, "CHAINRULE_PURE_PYTHON": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    t = math.tanh(4.0)
    assert float(done.stdout) == 4.0 * (1.0 - t * t)  # d tanh(x*x)/dx = 2x (1 - tanh(x^2)^2) at x = 2
