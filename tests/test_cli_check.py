"""Tests of ``chainrule check EXPR name=value ...``, run as a separate process like a user would."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nn.cli_check import parse_values
from nn.cli import UsageError, main

REPO = Path(__file__).parents[1]


def chainrule(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "nn.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def table_rows(stdout: str) -> dict[str, list[str]]:
    """The table's rows by node name: the cells after the position column."""
    rows = {}
    for line in stdout.splitlines():
        cells = line.split()
        if cells and cells[0].isdigit():
            rows[cells[1]] = cells[2:]
    return rows


def test_good_expression_prints_table_and_exits_0():
    result = chainrule("check", "log(exp(a) + exp(b)) - a", "a=1", "b=2")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    # d/da (logsumexp - a) = softmax_a - 1, d/db = softmax_b
    p_a = math.exp(1) / (math.exp(1) + math.exp(2))
    assert float(rows["a"][2]) == pytest.approx(p_a - 1, rel=1e-5)  # the grad column, after definition and value
    assert float(rows["b"][2]) == pytest.approx(1 - p_a, rel=1e-5)
    assert set(rows) >= {"a", "b", "f"}
    assert all(cells[-1] == "ok" for cells in rows.values())
    assert "gradcheck of f:" in result.stdout and "all agree" in result.stdout
    assert result.stderr == ""


def test_explain_option_prints_chain_rule_sum():
    result = chainrule("check", "x * x + tanh(x)", "x=0.5", "--explain", "x")
    assert result.returncode == 0, result.stderr
    explanation = result.stdout.split("\n\n", 1)[1]
    assert explanation.startswith("df/dx = sum over the consumers")
    assert "operand 1" in explanation and "operand 2" in explanation and "tanh" in explanation
    expected = 2 * 0.5 + 1 - math.tanh(0.5) ** 2
    assert f"x.grad = {expected:.6g}: agrees" in explanation


def test_relu_kink_is_reported_but_exits_0():
    result = chainrule("check", "relu(x - 1) * 3", "x=1")
    assert result.returncode == 0, result.stderr
    assert table_rows(result.stdout)["x"][-1] == "nondifferentiable"


@pytest.mark.parametrize(
    "args, message",
    [
        (["x * y", "x=1"], "no value given for y"),
        (["__import__('os')"], "is not allowed in an expression"),
        (["x +", "x=1"], "syntax error"),
    ],
)
def test_bad_input_exits_2_with_message_and_prints_nothing(args, message):
    result = chainrule("check", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["x", "x=1", "z=2"], "z given a value but not used"),
        (["x.__class__", "x=1"], "is not allowed in an expression"),
        (["log(y)", "y=-1"], "log() needs a positive input"),
        (["exp(x)", "x=1000"], "overflows"),
        (["x", "x"], "expected name=value"),
        (["x", "x=abc"], "must be a number"),
        (["x", "x=nan"], "must be finite"),
        (["x", "x=1", "x=2"], "given a value twice"),
        (["x", "x=1", "--explain", "q"], "no node labelled 'q'"),
        (["x", "x=1", "--eps", "0"], "--eps must be"),
    ],
)
def test_bad_input_in_process(args, message, capsys):
    """The same handling through ``nn.cli.main`` in this process (faster than a process per case)."""
    with pytest.raises(SystemExit) as info:
        main(["check", *args])
    captured = capsys.readouterr()
    assert info.value.code == 2
    assert message in captured.err and captured.out == ""


def test_parse_values():
    assert parse_values(["x=0.5", " w = -2 "]) == {"x": 0.5, "w": -2.0}
    with pytest.raises(UsageError, match="valid name"):
        parse_values(["1x=2"])
