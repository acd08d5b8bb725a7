"""Without torch, chainrule imports and runs as before, and every bridge function says what to install.

torch is made unimportable by putting None in ``sys.modules["torch"]`` (Python's own way of blocking an
import), so these tests run whether torch is installed or not.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import autograd
import nn
from autograd import Value
from autograd.check import compare_torch

ROOT = Path(__file__).resolve().parents[1]
HINT = 'pip install "chainrule[torch]"'


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)


def _graph() -> Value:
    x, w = Value(0.5, "x"), Value(-1.5, "w")
    root = (x * w).tanh()
    root.backward()
    return root


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda tmp: nn.to_torch(nn.MLP(2, [3, 2], seed=0)), id="nn.to_torch"),
        pytest.param(lambda tmp: nn.from_torch(object()), id="nn.from_torch"),
        pytest.param(lambda tmp: nn.save_torch(nn.MLP(2, [3, 2], seed=0), tmp / "m.pt"), id="nn.save_torch"),
        pytest.param(lambda tmp: autograd.to_torch(_graph()), id="autograd.to_torch"),
        pytest.param(lambda tmp: compare_torch(_graph()), id="compare_torch"),
    ],
)
def test_each_bridge_function_says_what_to_install(no_torch: None, call, tmp_path: Path) -> None:
    with pytest.raises(ImportError, match=r'needs PyTorch.*pip install "chainrule\[torch\]"'):
        call(tmp_path)
    assert not (tmp_path / "m.pt").exists()


def test_export_torch_is_refused_before_training(no_torch: None, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from nn.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "1", "--no-progress", "--export-torch", str(tmp_path / "m.pt")])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "training:" not in captured.out  # refused before any work
    assert "--export-torch needs PyTorch, which is not installed (" in captured.err
    assert f"install it with: {HINT}" in captured.err
    assert "Traceback" not in captured.err
    assert list(tmp_path.iterdir()) == []


def test_importing_chainrule_does_not_import_torch() -> None:
    code = (
        "import sys, autograd, autograd.check, autograd.torch_bridge, nn, nn.cli_train, nn.torch_bridge; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
