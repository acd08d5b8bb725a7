"""Tests of ``chainrule animate EXPR name=value ... -o FILE``: the file it writes, and bad input refused
with one message and exit code 2."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nn.cli import main

REPO = Path(__file__).parents[1]
CHAINRULE = [sys.executable, "-c", "import sys; from nn.cli import main; sys.exit(main())"]


def test_animate_writes_one_self_contained_page_without_dot(tmp_path):
    empty = tmp_path / "empty-bin"  # a PATH with no Graphviz on it
    empty.mkdir()
    out = tmp_path / "backprop.html"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": str(empty)}
    done = subprocess.run(
        [*CHAINRULE, "animate", "log(exp(a) + exp(b)) - a", "a=1", "b=2", "-o", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    value = math.log(math.e + math.e**2) - 1
    d_da = -(math.e**2) / (math.e + math.e**2)
    lines = done.stdout.splitlines()
    assert lines[:3] == [f"log(exp(a) + exp(b)) - a = {value:.6g}", f"  d/da = {d_da:.6g}", f"  d/db = {-d_da:.6g}"]
    steps = int(re.fullmatch(rf"wrote {re.escape(str(out))} \((\d+) steps; open it in a browser\)", lines[3])[1])
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and f"step 0 of {steps - 1}" not in page  # the counter is filled in by the script
    assert f'max="{steps - 1}"' in page and not re.search(r"(src|href)=\"(https?:)?//", page)


def test_one_frame_as_png_and_the_options(tmp_path, capsys):
    out = tmp_path / "frame.png"
    assert main(["animate", "x * x", "x=3", "-o", str(out), "--step", "2", "--no-local-grads", "--digits", "3"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {out} (one frame)"


@pytest.mark.parametrize(
    "args, message",
    [
        (["__import__('os').system('echo hacked')", "-o", "a.html"], "is not allowed in an expression"),
        (["a * b", "a=1", "-o", "a.html"], "no value given for b"),
        (["log(a)", "a=-1", "-o", "a.html"], "log() needs a positive input, got -1.0 at node 'a'"),
        (["a", "a=1", "-o", "a.html", "--digits", "0"], "digits must be an int from 1 to 17"),
        (["tanh(tanh(tanh(a)))", "a=1", "-o", "a.html", "--max-steps", "3"], "more than max_steps=3"),
        (["a * 2", "a=1", "-o", "a.jpg"], "-o a.jpg: cannot write a .jpg file; use one of: .html"),
        (["a * 2", "a=1", "-o", "a.svg", "--step", "99"], "step 99 is out of range"),
        (["a * 2", "a=1"], "the following arguments are required: -o/--output"),
    ],
)
def test_bad_input_is_one_clear_message_and_exit_code_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["animate", *args])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == "" and "Traceback" not in captured.err
    assert not list(tmp_path.iterdir())


def test_the_output_path_is_checked_before_any_work(tmp_path, capsys):
    from nn.cli import main

    for bad, words in [(tmp_path / "missing" / "b.html", "missing"), (tmp_path / "b.jpg", ".jpg")]:
        with pytest.raises(SystemExit) as info:
            main(["animate", "log(x)", "x=-1", "-o", str(bad)])  # log(-1) would fail, but the path is refused first
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert words in err and "log()" not in err


@pytest.mark.parametrize("suffix, magic", [("gif", b"GIF89a"), ("pdf", b"%PDF-")])
def test_animate_writes_a_gif_or_a_handout_pdf(suffix, magic, tmp_path, capsys):
    """The command line reaches Animation.save's GIF and PDF (made in-process with Pillow, no Graphviz)."""
    out = tmp_path / f"backprop.{suffix}"
    assert main(["animate", "x*w", "x=2", "w=-3", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(magic)
    assert f"wrote {out} (" in capsys.readouterr().out


def test_animate_gif_without_pillow_is_one_clear_line_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if Pillow were not installed
    with pytest.raises(SystemExit) as exit_info:
        main(["animate", "x*w", "x=2", "w=-3", "-o", str(tmp_path / "a.gif")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "needs Pillow" in err and "chainrule[export]" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
