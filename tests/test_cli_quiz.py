"""Tests of ``chainrule quiz``: the page it writes (for an expression and for the iris network), that it
prints no answer, and bad input refused with one message and exit code 2, no traceback and no file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nn.cli import main
from autograd.viz.quiz import _decode

REPO = Path(__file__).parents[1]
CHAINRULE = [sys.executable, "-c", "import sys; from nn.cli import main; sys.exit(main())"]


def answers(page: str) -> tuple[list[dict], list[dict]]:
    data = json.loads(re.search(r"var D = (\{.*?\});\n", page).group(1))
    return data["q"], _decode(data["blob"], data["seed"])


def test_quiz_of_an_expression_without_dot(tmp_path):
    empty = tmp_path / "empty-bin"  # a PATH with no Graphviz on it
    empty.mkdir()
    out = tmp_path / "quiz.html"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": str(empty)}
    done = subprocess.run(
        [*CHAINRULE, "quiz", "(a*b + c) * f", "a=2", "b=-3", "c=10", "f=-2", "-o", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {out} (6 questions; open it in a browser)\n"  # no number that gives an answer away
    page = out.read_text(encoding="utf-8")
    public, secret = answers(page)
    assert {q["n"]: s["a"] for q, s in zip(public, secret)} == {"f": 4.0, "#4": -2.0, "c": -2.0, "#2": -2.0, "b": -4.0, "a": 6.0}
    assert page.startswith("<!DOCTYPE html>") and not re.search(r"(src|href)=\"(https?:)?//", page)


def test_ask_both_and_no_hints(tmp_path, capsys):
    out = tmp_path / "q.htm"
    assert main(["quiz", "tanh(w*x + b)", "w=-1.5", "x=0.5", "b=0.1", "--ask", "both", "--no-hints", "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out} (8 questions; open it in a browser)\n"  # 3 values, 5 gradients
    public, secret = answers(out.read_text(encoding="utf-8"))
    assert [q["k"] for q in public] == ["data"] * 3 + ["grad"] * 5 and all(s["h"] is None for s in secret)
    assert 'data-act="hint"' not in out.read_text(encoding="utf-8")


def test_the_iris_network(tmp_path, capsys):
    import nn
    from autograd import Value, topological_order
    from autograd.engine import gradients

    out = tmp_path / "quiz.html"
    assert main(["quiz", "--network", "iris", "--sample", "60", "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out} (19 questions; open it in a browser)\n"
    public, secret = answers(out.read_text(encoding="utf-8"))
    names = [q["n"] for q in public]
    assert names[:2] == ["log_sum_exp", "sum_exp"] and names[-4:] == ["x4", "x3", "x2", "x1"]
    assert {"L1.n1.a", "L1.n2.a", "L2.n1.z", "L2.n2.z", "L2.n3.z", "-max(z)"} <= set(names)
    # the same network built here: dE/ds = softmax(s) - onehot(t) for the logits s
    data = nn.load_iris()
    model = nn.MLP(4, [2, 3], activation="sigmoid", seed=0)
    s = model([Value(float(v)) for v in data.data[60]])
    z = [v.data for v in s]
    exps = [pow(2.718281828459045, v - max(z)) for v in z]
    p = [e / sum(exps) for e in exps]
    t = int(data.target[60])
    got = {q["n"]: a["a"] for q, a in zip(public, secret)}
    for k in range(3):
        assert got[f"L2.n{k + 1}.z"] == pytest.approx(p[k] - (k == t), rel=1e-9)
    E = nn.cross_entropy(s, t)
    order = topological_order(E)
    hidden = next(node for node in order if node.label == "L1.n1.a")
    assert got["L1.n1.a"] == dict(zip(order, gradients(E, order)))[hidden]


@pytest.mark.parametrize(
    "args, message",
    [
        (["__import__('os').system('echo hacked')", "-o", "a.html"], "is not allowed in an expression"),
        (["a * b", "a=1", "-o", "a.html"], "no value given for b"),
        (["log(a)", "a=-1", "-o", "a.html"], "log() needs a positive input, got -1.0 at node 'a'"),
        (["a", "a=1", "-o", "a.html"], "nothing to ask about"),
        (["a", "a=1", "--ask", "data", "-o", "a.html"], "nothing to ask about: no drawn node is computed"),
        (["a * 2", "a=1", "-o", "a.html", "--digits", "0"], "digits must be an int from 1 to 17"),
        (["a * 2", "a=1", "-o", "a.html", "--max-nodes", "2"], "max_nodes=2"),
        (["a * 2", "a=1", "-o", "a.svg"], "-o a.svg: cannot write a .svg file; use one of: .html, .htm"),
        (["a * 2", "a=1"], "the following arguments are required: -o/--output"),
        (["a * 2", "a=1", "--ask", "grads", "-o", "a.html"], "argument --ask: invalid choice: 'grads'"),
        (["-o", "a.html"], "give an expression"),
        (["a * 2", "a=1", "--network", "iris", "-o", "a.html"], "either EXPR (with its NAME=VALUE pairs) or --network"),
        (["--network", "mnist", "-o", "a.html"], "argument --network: invalid choice: 'mnist'"),
        (["--network", "iris", "--sample", "150", "-o", "a.html"], "--sample must be a flower from 0 to 149, got 150"),
        (["a * 2", "a=1", "--sample", "3", "-o", "a.html"], "--sample goes with --network"),
        (["-o", "a.html", "-x*x", "x=1"], "goes after --, which ends the options"),
    ],
)
def test_bad_input_is_one_clear_message_and_exit_code_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["quiz", *args])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == "" and "Traceback" not in captured.err
    assert not list(tmp_path.iterdir())


def test_the_output_path_is_checked_before_any_work(tmp_path, capsys):
    for bad, words in [(tmp_path / "missing" / "b.html", "missing"), (tmp_path, "that is a directory")]:
        with pytest.raises(SystemExit) as info:
            main(["quiz", "log(x)", "x=-1", "-o", str(bad)])  # log(-1) would fail, but the path is refused first
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert words in err and "log()" not in err


def test_an_expression_starting_with_minus_after_double_dash(tmp_path, capsys):
    out = tmp_path / "neg.html"
    assert main(["quiz", "-o", str(out), "--", "-x*x", "x=3"]) == 0
    public, secret = answers(out.read_text(encoding="utf-8"))
    assert [(q["n"], s["a"]) for q, s in zip(public, secret)] == [("#1", 3.0), ("x", -6.0)]  # (-x) * x
