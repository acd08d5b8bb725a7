"""Tests of ``chainrule draw EXPR name=value ... -o FILE``: good runs, and bad input refused with exit code 2."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograd import topological_order
from autograd.expr import parse_expression
from nn.cli import main

REPO = Path(__file__).parents[1]
# The console script ``chainrule`` calls ``nn.cli:main``; run exactly that in a fresh interpreter.
CHAINRULE = [sys.executable, "-c", "import sys; from nn.cli import main; sys.exit(main())"]
SVG = "{http://www.w3.org/2000/svg}"


def shape_count(expression: str, **values: float) -> int:
    """The shapes a drawing of the expression has: a box per value and an ellipse per operation."""
    return sum(2 if node.parents else 1 for node in topological_order(parse_expression(expression, values)))


def chainrule(*args: str, cwd: Path, path: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": path}
    return subprocess.run([*CHAINRULE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_draw_writes_svg_without_dot_and_prints_value_and_gradients(tmp_path):
    empty = tmp_path / "empty-bin"  # a PATH with no Graphviz on it
    empty.mkdir()
    out = tmp_path / "g.svg"
    done = chainrule("draw", "log(exp(a) + exp(b)) - a", "a=1", "b=2", "-o", str(out), cwd=tmp_path, path=str(empty))
    assert done.returncode == 0, done.stderr
    value = math.log(math.e + math.e**2) - 1
    d_da = -(math.e**2) / (math.e + math.e**2)
    assert done.stdout.splitlines() == [
        f"log(exp(a) + exp(b)) - a = {value:.6g}",
        f"  d/da = {d_da:.6g}",
        f"  d/db = {-d_da:.6g}",
        f"wrote {out} ({shape_count('log(exp(a) + exp(b)) - a', a=1.0, b=2.0)} shapes)",
    ]
    texts = [t.text for t in ET.parse(out).getroot().iter(f"{SVG}text")]
    assert {"a", "b", "data 1", "data 2", f"grad {d_da:.4g}", "exp", "log", "grad 1"} <= set(texts)


def test_without_output_the_dot_text_is_printed(capsys):
    assert main(["draw", "x * x", "x=1e-5", "--local-grads"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph computation {")
    assert 'v0 [label="x|data 1e-05|grad 2e-05"' in out
    assert len(re.findall(r'v0 -> o1 \[[^\]]*label="1e-05"', out)) == 2  # d(x*x)/dx is x for each of the two operands


def test_digits_and_max_nodes_are_passed_on(capsys):
    assert main(["draw", "a / 3", "a=1", "--digits", "2"]) == 0
    assert "data 0.33" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["draw", "a / 3 + a * a", "a=1", "--max-nodes", "4"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    shapes = shape_count("a / 3 + a * a", a=1.0)
    assert "more than --max-nodes 4;" in err and f"--max-nodes {shapes}\n" in err and "max_nodes=" not in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["__import__('os').system('echo hacked')"], "is not allowed in an expression"),
        (["x.__class__", "x=1"], "is not allowed in an expression"),
        (["open('f')"], "is not allowed in an expression"),
        (["a +", "a=1"], "syntax error in 'a +'"),
        (["a * b", "a=1"], "no value given for b"),
        (["a", "a=1", "b=2"], "b given a value but not used"),
        (["a", "a=x"], "the value of a must be a number, got 'x'"),
        (["a", "a=nan"], "the value of a must be finite"),
        (["a", "a"], "expected name=value such as a=1.5, got 'a'"),
        (["a", "a=1", "a=2"], "a is given a value twice"),
        (["log(a)", "a=-1"], "log() needs a positive input, got -1.0 at node 'a'"),
        (["a", "a=1", "--digits", "0"], "digits must be an int from 1 to 17"),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_code_2(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["draw", *args])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_code_in_the_expression_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    done = chainrule(
        "draw", f"__import__('pathlib').Path({str(marker)!r}).touch()", "-o", str(tmp_path / "g.svg"),
        cwd=tmp_path, path=os.environ.get("PATH", ""),
    )
    assert done.returncode == 2
    assert "is not allowed in an expression" in done.stderr
    assert not marker.exists() and not (tmp_path / "g.svg").exists()


def test_a_format_that_needs_dot_says_what_to_install(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(SystemExit) as info:
        main(["draw", "a * 2", "a=1", "-o", str(tmp_path / "g.pdf")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "format 'pdf' needs the Graphviz program 'dot'" in err and "install" in err
    assert not (tmp_path / "g.pdf").exists()
    assert main(["draw", "a * 2", "a=1", "-o", str(tmp_path / "g.png")]) == 0  # PNG needs no dot
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")


def test_an_unwritable_output_path_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["draw", "a * 2", "a=1", "-o", str(tmp_path / "no-such-dir" / "g.dot")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "the directory" in err and "does not exist" in err


def test_small_cli_gaps_version_subcommand_usage_and_draws_exit_codes(capsys):
    """Issue 21: ``--version``; ``draw -x**2`` printed chainrule's usage instead of draw's; draw's help
    listed an exit code for a failed check though draw runs none."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and re.fullmatch(r"chainrule \d+\.\d+\S*\n", capsys.readouterr().out)
    with pytest.raises(SystemExit) as exit_info:
        main(["draw", "-x**2", "x=3"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("usage: chainrule draw ") and 'draw -- "-x**2"' in err
    with pytest.raises(SystemExit):
        main(["draw", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "exit codes: 0 done, 2 bad input or usage" in help_text and "check failed" not in help_text


def test_a_long_product_is_refused_at_once_with_how_to_show_less(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["draw", "*".join(["x"] * 600), "x=1.0001", "-o", str(tmp_path / "p.svg")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "too long to lay out" in err and "x ** n" in err
    assert not (tmp_path / "p.svg").exists()
