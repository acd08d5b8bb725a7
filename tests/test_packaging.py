"""What ``pip install .`` ships: every package of the source tree, and the data files nn reads.

The tests themselves import chainrule from the checkout, so a package missing from pyproject.toml would
pass them and fail only for a user (or the demo) with a non-editable install."""

from __future__ import annotations

import re
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
