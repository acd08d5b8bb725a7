"""Every ```python block of README.md runs as written, top to bottom, in one namespace, as a reader
who pastes them in order into one Python session would run them.

A block that needs an optional extra is marked by a comment line just above it, ``<!-- needs torch -->``
(the module it imports); where that module is not installed, the block is skipped and the test says so.
The ``dev`` extra installs every such module, so CI runs every block."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^(?:<!-- needs (\w+) -->\n)?```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[tuple[int, str]]:
    """(line number of the block's first line of code, code) of every ```python block."""
    return [(line, code) for line, code, _ in marked_blocks()]


def marked_blocks() -> list[tuple[int, str, str]]:
    """(line number, code, the module it needs or "") of every ```python block."""
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start(2)) + 1, match.group(2), match.group(1) or "")
        for match in BLOCK.finditer(text)
    ]


def test_the_readme_has_python_blocks():
    assert len(python_blocks()) >= 4


def test_every_python_block_runs_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # blocks may write files (a drawing)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    missing = []
    for line, code, needs in marked_blocks():
        if needs and importlib.util.find_spec(needs) is None:
            missing.append(f"line {line} (needs {needs})")
            continue
        # Compiled with the README's line numbers, so that a traceback points into README.md.
        compiled = compile("\n" * (line - 1) + code, str(README), "exec")
        try:
            exec(compiled, namespace)  # noqa: S102 - the README's own examples
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"README.md block at line {line} failed: {type(exc).__name__}: {exc}")
    out = capsys.readouterr().out
    # the checking examples print a gradcheck table and a compare table, both agreeing
    assert "NOT CHECKED" not in out and "FAIL" not in out
    assert "gradcheck of f:" in out and "compare of f:" in out and out.count("all agree") >= 2
    if missing:
        pytest.skip(f"every other block ran; skipped the README blocks at {', '.join(missing)}: not installed")
    assert "compare_torch of cross_entropy:" in out and "0 differ; all agree" in out
