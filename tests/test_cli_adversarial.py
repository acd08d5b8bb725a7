"""Trying to break ``chainrule check`` / ``chainrule draw`` and the expression parser behind them.

Every case ends in a result or in one clear message with exit code 2: never a traceback, never a
hang, never code run. Most cases run through ``nn.cli.main`` in this process (fast); a few run the
command in a child process, as a user would, where only a real process shows the problem.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, topological_order
from autograd.expr import ExpressionError, parse_expression
from nn.cli import main

REPO = Path(__file__).parents[1]


@pytest.fixture(autouse=True)
def no_hang():
    """Fail, rather than hang, a case that takes more than 60 s (a parser stuck in a loop)."""

    def stop(signum, frame):  # noqa: ANN001
        raise TimeoutError("the case took more than 60 s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def run_main(args: list[str], capsys) -> tuple[int, str, str]:  # noqa: ANN001
    """(exit code, stdout, stderr) of ``chainrule *args`` run in this process."""
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(args: list[str], capsys, *fragments: str) -> str:  # noqa: ANN001
    """Run ``args``; assert exit code 2, nothing on stdout, one message naming every fragment."""
    code, out, err = run_main(args, capsys)
    assert code == 2, (code, out[-500:], err)
    assert out == "" and "Traceback" not in err
    message = err.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def grad_of(out: str, name: str) -> float:
    """The grad column of the row of the input ``name`` in a check table (#, node, "input", value, grad, ...)."""
    for line in out.splitlines():
        cells = line.split()
        if len(cells) > 5 and cells[0].isdigit() and cells[1] == name and cells[2] == "input":
            return float(cells[4])
    raise AssertionError(f"no row for {name}")


# ---------------------------------------------------------------------------------------------------
# big inputs work
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("terms", [1_000, 10_000])
def test_check_a_long_sum(terms, capsys):
    code, out, err = run_main(["check", " + ".join(["x"] * terms), "x=0.5"], capsys)
    assert code == 0, err
    assert "all agree" in out and grad_of(out, "x") == terms


def test_check_ten_thousand_unary_minuses(capsys):
    code, out, err = run_main(["check", "--", "-" * 10_000 + "x", "x=2"], capsys)
    assert code == 0, err
    assert "all agree" in out and grad_of(out, "x") == 1.0  # an even number of signs


def test_parser_takes_a_hundred_thousand_unary_minuses():
    root = parse_expression("-" * 100_001 + "x", {"x": 2.0})
    root.backward()
    assert root.data == -2.0 and root.parents  # built, not folded away
    assert topological_order(root)[0].grad == -1.0


@pytest.mark.parametrize(
    "text, value",
    [
        ("(" * 10_000 + "x" + ")" * 10_000, 0.5),
        ("tanh(" * 5_000 + "x" + ")" * 5_000, math.tanh(0.5)),  # computed below
        ("x" + " ** 1" * 10_000, 0.5),
    ],
)
def test_deep_nesting_works(text, value):
    root = parse_expression(text, {"x": 0.5})
    if text.startswith("tanh"):
        y = 0.5
        for _ in range(5_000):
            y = math.tanh(y)
        value = y
    assert root.data == pytest.approx(value, rel=1e-12)
    root.backward()


# ---------------------------------------------------------------------------------------------------
# numbers that do not fit, in words
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expression, fragment",
    [
        ("9**9**9**9 * x", "'9**9**9' is too large for a float"),
        ("x**10**400", "'10**400' is too large for a float"),
        ("x * 1e400", "the number 1e400 is too large for a float"),
        ("x * " + "9" * 400, "is too large for a float"),
        ("x * (1/0)", "'1/0' divides by zero"),
        ("x * (2 - 2)**-1", "'(2 - 2)**-1' divides by zero"),
        ("x * (-8)**(1/3)", "'(-8)**(1/3)' is not a real number"),
        ("x * 1e300 * 1e300", None),  # folds only numbers: x * 1e300 is a node, then * 1e300 overflows in the engine
    ],
)
def test_numbers_out_of_range_are_messages_in_words(expression, fragment, capsys):
    message = refused(["check", expression, "x=1"], capsys)
    assert "Numerical result" not in message and "(34," not in message
    if fragment:
        assert fragment in message
    else:
        assert "overflows" in message


# ---------------------------------------------------------------------------------------------------
# slips a person makes, each with a message that says what to write
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, fragments",
    [
        (["exp()", "x=1"], ["exp() takes exactly one argument, got none"]),
        (["exp(x, x)", "x=1"], ["exp() takes exactly one argument, got more"]),
        (["x^2", "x=1"], ["write x**2"]),
        (["2x", "x=1"], ["write 2 * x"]),
        (["x // 2", "x=1"], ["write / for division"]),
        (["x == 1", "x=1"], ["comparisons are not allowed"]),
        (["sin(x)", "x=1"], ["calling 'sin' is not allowed", "exp(), log()"]),
        (["exp", "x=1"], ["exp is a function: write exp(...)"]),
        (["(x + 1", "x=1"], ["'(' is never closed", "column 1"]),
        (["x + 1)", "x=1"], ["closes no '('", "column 6"]),
        (["x +", "x=1"], ["syntax error", "ends after '+'"]),
        (["x x", "x=1"], ["syntax error", "expected an operator"]),
        (["", "x=1"], ["the expression is empty"]),
        (["2 + 3"], ["has no names"]),
        (["lambda", "lambda=1"], ["Python keyword"]),
        (["x if x else 1", "x=1"], ["syntax error"]),
        (["x ∑ y", "x=1", "y=1"], ["'∑' is not allowed"]),
        (["1j * x", "x=1"], ["complex numbers are not allowed"]),
        (["x", "x=1e309"], ["must be finite"]),
        (["x", "x=1", "y=2"], ["y given a value but not used"]),
        (["log(x)", "x=0"], ["log() needs a positive input"]),
        (["x", "x=1", "--eps", "1e-17"], ["--eps must be between", "rounds back to x"]),
        (["x", "x=1", "--eps", "nan"], ["--eps must be"]),
        (["x", "x=1", "--atol", "-1"], ["--atol must be"]),
        (["x", "x=1", "--explain", "g"], ["--explain g", "no node labelled 'g'"]),
        (["-x", "x=3"], ["goes after --", 'chainrule check -- "-x"']),
        (["-(x+1)", "x=3"], ["goes after --"]),
    ],
)
def test_check_refuses_with_one_clear_message(args, fragments, capsys):
    refused(["check", *args], capsys, *fragments)


def test_a_long_expression_is_quoted_short_in_messages(capsys):
    expression = " + ".join(["x"] * 5_000) + " +"
    message = refused(["check", expression, "x=1"], capsys, "syntax error", f"column {len(expression) + 1}")
    assert len(message) < 400


def test_exp_without_argument_is_not_reported_as_an_unused_value(capsys):
    message = refused(["check", "exp()", "x=1"], capsys)
    assert "not used" not in message


def test_minus_expressions_work_after_double_dash(capsys):
    code, out, err = run_main(["check", "--", "-x", "x=3"], capsys)
    assert code == 0 and grad_of(out, "x") == -1.0
    code, out, err = run_main(["draw", "--", "-x", "x=3"], capsys)
    assert code == 0 and out.startswith("digraph")
    refused(["draw", "-x", "x=3"], capsys, "goes after --", 'chainrule draw -- "-x"')
    refused(["draw", "--", "-x", "x=3", "-o", "g.svg"], capsys, "options go before the expression")


def test_explain_the_unlabelled_root_by_the_name_the_table_gives_it(capsys):
    code, out, err = run_main(["check", "x * x", "x=3", "--explain", "f", "--explain", "x"], capsys)
    assert code == 0, err
    assert "\ndf/df = 1" in out and "df/dx = sum over the consumers" in out


def test_check_modes(capsys):
    for mode in ("end-to-end", "local"):
        code, out, err = run_main(["check", "tanh(x * w)", "x=0.5", "w=-1", "--mode", mode], capsys)
        assert code == 0 and f"({mode})" in out


# ---------------------------------------------------------------------------------------------------
# draw's output file: checked before any work, named when written
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "output, fragments",
    [
        ("{tmp}/missing/g.svg", ["the directory", "does not exist"]),
        ("{tmp}", ["that is a directory", "give a file name"]),
        ("{tmp}/out/", ["that is a directory"]),
        ("{tmp}/.svg", ["all name and no suffix", "graph.svg"]),
        ("{tmp}/g", ["give the file a suffix"]),
        ("{tmp}/g.txt", ["cannot write a .txt file", ".svg"]),
        ("/proc/g.svg", ["cannot write in '/proc'"]),
        # issue 17: an empty name is not a directory; a name too long is one line, not a traceback
        ("", ["-o: the file name is empty"]),
        ("{tmp}/" + "a" * 300 + ".svg", ["too long"]),
        ("{tmp}/out.jpg", ["needs the Graphviz program 'dot'", ".svg or .png"]) if shutil.which("dot") is None else ("", ["empty"]),
    ],
)
def test_bad_output_paths_are_refused_before_any_work(output, fragments, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    target = output.format(tmp=tmp_path)
    # log(-1) would fail if the graph were built: the path's message comes first
    message = refused(["draw", "log(x)", "x=-1", "-o", target], capsys, *fragments)
    assert "log()" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_draw_names_the_file_it_wrote_and_counts_shapes_in_words(tmp_path, capsys):
    target = tmp_path / "one.dot"
    code, out, err = run_main(["draw", "x", "x=1", "-o", str(target)], capsys)
    assert code == 0, err
    assert out.splitlines()[-1] == f"wrote {target} (1 shape)" and target.read_text().startswith("digraph")


def test_draw_too_large_advises_the_option_not_the_keyword(capsys):
    expression = " + ".join(f"x * {i}" for i in range(1, 400))
    refused(["draw", expression, "x=1"], capsys, "more than --max-nodes 1500 (the default)", "raise the limit: --max-nodes ")
    refused(["draw", "x", "x=1", "--max-nodes", "0"], capsys, "--max-nodes must be a positive whole number")


# ---------------------------------------------------------------------------------------------------
# as a real process: no traceback when the reader of the output goes away
# ---------------------------------------------------------------------------------------------------
def test_output_piped_into_a_reader_that_stops_early_is_not_a_traceback():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "nn.cli", "check", " + ".join(f"x * {i}" for i in range(3000)), "x=1"]
    child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.readline()
    child.stdout.close()  # like `| head -1`
    err = child.stderr.read().decode()
    child.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err


# ---------------------------------------------------------------------------------------------------
# the parser against Python, and against random text
# ---------------------------------------------------------------------------------------------------
@st.composite
def expressions(draw, depth: int = 0) -> str:  # noqa: ANN001
    """Random expressions of the grammar, over u and v and small numbers."""
    if depth > 4 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["u", "v", "2", "0.5", "3", ".25", "1e-1"]))
    kind = draw(st.sampled_from(["binary", "binary", "unary", "call", "group"]))
    if kind == "binary":
        op = draw(st.sampled_from(["+", "-", "*", "/", "**"]))
        return f"{draw(expressions(depth + 1))} {op} {draw(expressions(depth + 1))}"
    if kind == "unary":
        return draw(st.sampled_from(["-", "+", "- "])) + draw(expressions(depth + 1))
    if kind == "call":
        return f"{draw(st.sampled_from(['exp', 'tanh', 'sigmoid']))}({draw(expressions(depth + 1))})"
    return f"({draw(expressions(depth + 1))})"


def _python(text: str, u: float, v: float) -> float:
    """The same text evaluated by Python on floats: the reference for precedence and grouping.

    Integer literals are read as floats, as the parser reads them: Python's exact integers would make
    ``3 ** 3 ** 3 ** 3`` a number of trillions of digits (the test once took over 20 GB)."""
    text = re.sub(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", lambda m: repr(float(m.group())), text)
    names = {
        "u": u, "v": v,
        "exp": math.exp, "tanh": math.tanh, "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
    }  # fmt: skip
    return eval(text, {"__builtins__": {}}, names)  # noqa: S307 - our own generated text, of the grammar above


@settings(max_examples=300, deadline=None)
@given(expressions())
def test_parser_agrees_with_python(text):
    u, v = 0.7, 1.3
    try:
        expected = _python(text, u, v)
    except (ArithmeticError, ValueError, TypeError):
        return  # overflow, division by zero, complex: the parser's own refusals are tested above
    if isinstance(expected, complex) or not math.isfinite(expected):
        return
    used = {name: value for name, value in (("u", u), ("v", v)) if name in text}
    try:
        result = parse_expression(text, used)
    except ExpressionError as exc:
        assert "has no names" in str(exc) or "not a real number" in str(exc) or "too large" in str(exc), text
        return
    except (ArithmeticError, ValueError):  # the engine refuses an overflow or a domain error Python let through
        return
    assert isinstance(result, Value)
    assert result.data == pytest.approx(expected, rel=1e-9, abs=1e-12), text


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="xy0123456789.e_+-*/()^%, !=<>'\"[]{}:;@~&|#\\\t\n", max_size=30))
def test_random_text_is_a_graph_or_a_clear_error(text):
    """Nothing but an ExpressionError (or an engine error naming a node) for any text; never a hang."""
    try:
        parse_expression(text, {name: 0.5 for name in ("x", "y") if name in text})
    except ExpressionError as exc:
        assert str(exc)
    except (ArithmeticError, ValueError) as exc:  # from the engine: log of a negative, an overflow
        assert "node" in str(exc) or "overflow" in str(exc)


# ---------------------------------------------------------------------------------------------------
# issue 17, item 14: cases that ended in a traceback; each is now one line and a non-zero exit
# ---------------------------------------------------------------------------------------------------
def chainrule(*args: str, **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003
    """``chainrule *args`` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "nn.cli", *args], capture_output=True, text=True, timeout=300, cwd=REPO, **kwargs
    )


def one_line(result: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    assert result.returncode == code, (result.returncode, result.stdout[-300:], result.stderr[-600:])
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def test_training_that_overflows_says_it_diverged_and_saves_nothing(tmp_path):
    target = tmp_path / "model.json"
    target.write_text("the previous model")
    result = chainrule("train", "--data", "moons", "--lr", "1e200", "--optimizer", "sgd", "--epochs", "2",
                       "--no-progress", "--save", str(target))
    one_line(result, 1, "training diverged", "overflow", "not saved", "smaller --lr")
    assert target.read_text() == "the previous model"


def test_training_whose_loss_rises_says_it_diverged(capsys):
    code, out, err = run_main(["train", "--data", "iris", "--optimizer", "sgd", "--lr", "40", "--epochs", "5",
                               "--no-progress"], capsys)
    assert code == 1 and "Traceback" not in err
    assert "training diverged: the mean loss on 120 training samples rose from" in err.strip().splitlines()[-1]


def test_save_to_dev_full_keeps_the_model_elsewhere_and_says_where():
    result = chainrule("train", "--data", "iris", "--epochs", "2", "--no-progress", "--save", "/dev/full")
    line = one_line(result, 1, "cannot write /dev/full (No space left on device)", "saved to", "instead")
    kept = Path(line.split("saved to ", 1)[1].split(" instead", 1)[0])
    try:
        assert json.loads(kept.read_text())["format"] == "chainrule.nn.MLP"
        assert chainrule("evaluate", str(kept)).returncode == 0  # the model is whole, with its data set
    finally:
        kept.unlink()
    assert os.path.exists("/dev/full") and not Path("/dev/full").is_file()


def test_draw_with_standard_output_closed():
    closed = subprocess.run(
        [sys.executable, "-m", "nn.cli", "draw", "x*x", "x=2"], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, timeout=300, cwd=REPO, preexec_fn=lambda: os.close(1),
    )
    assert closed.returncode == 2 and "Traceback" not in closed.stderr
    assert "standard output is closed" in closed.stderr.strip().splitlines()[-1]


def _edited_model(tmp_path: Path, change) -> Path:  # noqa: ANN001
    """A model saved by ``chainrule train --save``, then changed by hand."""
    base = tmp_path / "base.json"
    if not base.exists():
        assert chainrule("train", "--data", "iris", "--epochs", "1", "--no-progress", "--save", str(base)).returncode == 0
    text = change(base.read_text(), json.loads(base.read_text()))
    path = tmp_path / "edited.json"
    path.write_text(text)
    return path


def _metadata(**fields):
    def change(text, document):  # noqa: ANN001
        for key, value in fields.items():
            if key in ("mean", "std"):
                document["metadata"]["standardize"][key] = value
            else:
                document["metadata"][key] = value
        return json.dumps(document)

    return change


@pytest.mark.parametrize(
    "change, fragments",
    [
        (lambda t, d: t.replace(json.dumps(d["parameters"]["L1.n1.w1"]), "1" + "0" * 400, 1),
         ["parameter L1.n1.w1 must be a finite float, got an int too large for a float"]),
        (lambda t, d: t.replace('"nin": 4', '"nin": 1' + "0" * 400, 1), ["make a network of about 10^400 parameters"]),
        (lambda t, d: "[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
        (_metadata(std=[1e-320] * 4), ["standardisation", "too large for a float"]),
        (_metadata(mean=[1e308] * 4), ["standardisation", "too large for a float"]),
        (_metadata(std=[[1.0]] * 4), ["its standardisation is not 4 means and 4 positive deviations"]),
        (_metadata(seed=[1]), ["its split cannot be made again"]),
        (_metadata(data=["iris"]), ["its data set must be a name such as 'iris'"]),
        (lambda t, d: t.replace(json.dumps(d["parameters"]["L1.n1.w1"]), "[0.5]", 1),
         ["parameter L1.n1.w1 must be a real number"]),
    ],
)
def test_evaluate_on_hand_edited_files(tmp_path, capsys, change, fragments):
    path = _edited_model(tmp_path, change)
    refused(["evaluate", str(path)], capsys, str(path), *fragments)
