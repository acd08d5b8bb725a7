"""``chainrule demo`` and ``chainrule train`` through a subprocess, as a user runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def chainrule(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "nn.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def percent(label: str, stdout: str) -> float:
    match = re.search(rf"^{label}:\s+([0-9.]+)%$", stdout, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{stdout}"
    return float(match.group(1))


def test_help_lists_the_commands() -> None:
    result = chainrule("--help")
    assert result.returncode == 0
    assert "demo" in result.stdout and "train" in result.stdout


@pytest.mark.parametrize("command", ["demo", "train"])
def test_subcommand_help(command: str) -> None:
    result = chainrule(command, "--help")
    assert result.returncode == 0
    assert "--no-progress" in result.stdout and "--epochs" in result.stdout


def test_train_help_lists_every_option() -> None:
    out = chainrule("train", "--help").stdout
    for option in ("--hidden", "--activation", "--epochs", "--lr", "--optimizer", "--momentum", "--batch-size", "--seed", "--plot"):
        assert option in out


BAD_OPTIONS = [
    (["train", "--epochs", "0"], "argument --epochs: expected a positive whole number, got '0'"),
    (["train", "--hidden", "8", "x"], "argument --hidden: expected a positive whole number, got 'x'"),
    (["train", "--activation", "softmax"], "argument --activation: invalid choice: 'softmax'"),
    (["train", "--optimizer", "rmsprop"], "argument --optimizer: invalid choice: 'rmsprop'"),
    (["train", "--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
    (["train", "--lr", "nan"], "argument --lr: expected a positive number, got 'nan'"),
    (["train", "--momentum", "1.5"], "argument --momentum: expected a number in [0, 1), got '1.5'"),
    (["train", "--test-size", "0"], "argument --test-size: expected a number in (0, 1), got '0'"),
    (["train", "--momentum", "0.9"], "--momentum applies to --optimizer sgd only"),
    (["train", "--plot", "/no/such/dir/curves.png"], "--plot: the directory '/no/such/dir' does not exist"),
    (["train", "--plot", "curves.xyz"], "--plot: cannot write a .xyz file"),
    (["demo", "--epochs", "many"], "argument --epochs: expected a positive whole number, got 'many'"),
    (["demo", "--bogus"], "unrecognized arguments: --bogus"),
    (["demo", "--graph", "graph.png"], "--graph: write an .svg (or .dot) file, got 'graph.png'"),
]


@pytest.mark.parametrize("args, message", BAD_OPTIONS)
def test_bad_options_exit_2_with_a_message(args: list[str], message: str, capsys) -> None:
    """In-process through ``nn.cli.main`` (fast); the subprocess test below runs a few of them."""
    from nn.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert message in err
    assert out == ""  # nothing ran


@pytest.mark.parametrize("index", [0, 2, 8])
def test_bad_options_through_a_subprocess(index: int) -> None:
    args, message = BAD_OPTIONS[index]
    result = chainrule(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_demo_reaches_96_percent_test_accuracy_checks_and_draws_one_sample(tmp_path: Path) -> None:
    graph = tmp_path / "graph.svg"
    result = chainrule("demo", "--no-progress", "--graph", str(graph))
    assert result.returncode == 0, result.stderr
    assert re.search(r"^gradcheck of cross_entropy: \d+ nodes checked .*; all agree;", result.stdout, re.MULTILINE)
    assert graph.read_text().lstrip().startswith("<?xml") and "cross_entropy" in graph.read_text()
    assert percent("test accuracy", result.stdout) >= 96.0
    assert percent("train accuracy", result.stdout) >= 96.0
    assert re.search(r"^final loss:\s+0\.\d+ \(train\)", result.stdout, re.MULTILINE)
    assert "120 training and 30 test flowers" in result.stdout
    assert result.stderr == ""


def test_demo_shows_a_progress_bar() -> None:
    result = chainrule("demo", "--epochs", "2", "--no-graph")
    assert result.returncode == 0, result.stderr
    assert "training" in result.stderr and "2/2" in result.stderr
    assert 0.0 <= percent("test accuracy", result.stdout) <= 100.0


def test_train_with_options_and_plot(tmp_path: Path) -> None:
    plot = tmp_path / "curves.png"
    result = chainrule(
        "train", "--hidden", "5", "4", "--activation", "tanh", "--epochs", "3", "--optimizer", "sgd",
        "--lr", "0.2", "--momentum", "0.5", "--batch-size", "8", "--seed", "3", "--no-progress", "--plot", str(plot),
    )
    assert result.returncode == 0, result.stderr
    assert "MLP(4 -> 5 -> 4 -> 3, activation='tanh'), 64 parameters" in result.stdout
    assert "sgd lr 0.2, momentum 0.5, batch size 8, seed 3" in result.stdout
    assert 0.0 <= percent("test accuracy", result.stdout) <= 100.0
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_train_without_hidden_layers_is_softmax_regression() -> None:
    result = chainrule("train", "--hidden", "--epochs", "2", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "MLP(4 -> 3, activation='sigmoid'), 15 parameters" in result.stdout
