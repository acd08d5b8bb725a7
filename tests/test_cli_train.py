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


def test_train_help_lists_every_option(capsys) -> None:
    from nn.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for option in ("--data", "--hidden", "--activation", "--epochs", "--lr", "--optimizer", "--momentum",
                   "--batch-size", "--loss", "--seed", "--plot", "--save"):
        assert option in out
    assert "{iris,digits,moons,spirals}" in out and "moons: 16 16 relu" in " ".join(out.split())
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    assert "MODEL" in capsys.readouterr().out


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
    # issue 17: .png is made in-process, as for draw -o; formats that need Graphviz say so
    (["demo", "--graph", "graph.txt"], "--graph: cannot write a .txt file; use one of: .svg, .png"),
    (["demo", "--graph", ""], "--graph: the file name is empty"),
    # issue 13: seeds, and output paths checked before any training
    (["train", "--seed", "-1"], "argument --seed: expected a whole number >= 0, got '-1'"),
    (["train", "--seed", "a"], "argument --seed: expected a whole number >= 0, got 'a'"),
    (["train", "--seed", "1.5"], "argument --seed: expected a whole number >= 0, got '1.5'"),
    (["demo", "--seed", "-1"], "argument --seed: expected a whole number >= 0, got '-1'"),
    (["demo", "--seed", "a"], "argument --seed: expected a whole number >= 0, got 'a'"),
    (["demo", "--seed", "1.5"], "argument --seed: expected a whole number >= 0, got '1.5'"),
    (["demo", "--graph", "/nonexistent/dir/g.svg"], "--graph: the directory '/nonexistent/dir' does not exist"),
    (["demo", "--graph", ".svg"], "--graph: '.svg' is only a suffix; give a file name such as graph.svg"),
    (["train", "--plot", "out/"], "--plot: 'out/' is a directory; give a file name such as curves.png"),
    (["train", "--plot", "tests"], "--plot: 'tests' is a directory"),
    (["train", "--plot", ".png"], "--plot: '.png' is only a suffix"),
    (["train", "--save", "/no/such/dir/model.json"], "--save: the directory '/no/such/dir' does not exist"),
    (["train", "--save", "tests/"], "--save: 'tests/' is a directory; give a file name such as model.json"),
    (["train", "--save", ".json"], "--save: '.json' is only a suffix; give a file name such as model.json"),
    (["train", "--data", "mnist"], "argument --data: invalid choice: 'mnist'"),
    (["train", "--data", "digits", "--loss", "hinge"], "--loss hinge needs two classes (a one-output network); digits has 10"),
    (["train", "--loss", "mse"], "argument --loss: invalid choice: 'mse'"),
    (["evaluate", "no-such-model.json"], "'no-such-model.json' does not exist"),
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


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no file can be made")
@pytest.mark.parametrize("option, path", [("--plot", "/proc/c.png"), ("--save", "/proc/model.json")])
def test_an_unwritable_output_file_fails_before_training(option: str, path: str, capsys) -> None:
    from nn.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", option, path])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert f"{option}: cannot write {path!r}" in err and out == ""


@pytest.mark.parametrize("index", [0, 2, 8, 14, 20, 30])
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


def test_plot_without_a_suffix_is_a_png_and_the_message_names_it(tmp_path: Path) -> None:
    result = chainrule("train", "--epochs", "1", "--no-progress", "--plot", str(tmp_path / "curves"))
    assert result.returncode == 0, result.stderr
    written = tmp_path / "curves.png"
    assert f"plot written to {written}\n" in result.stdout
    assert written.read_bytes()[:4] == b"\x89PNG" and not (tmp_path / "curves").exists()


def test_no_file_is_left_by_the_checks_when_training_fails_fast(tmp_path: Path) -> None:
    from nn.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--plot", str(tmp_path / "c.png"), "--save", str(tmp_path / "m.json"), "--momentum", "0.5"])
    assert list(tmp_path.iterdir()) == []


def test_moons_reproduces_micrograds_demo_network_plots_regions_and_saves(tmp_path: Path) -> None:
    plot, saved = tmp_path / "moons.png", tmp_path / "moons.json"
    result = chainrule("train", "--data", "moons", "--no-progress", "--plot", str(plot), "--save", str(saved))
    assert result.returncode == 0, result.stderr
    assert "MLP(2 -> 16 -> 16 -> 1, activation='relu'), 337 parameters, hinge loss" in result.stdout
    assert "training: 80 points (20 held out), 30 epochs, adam lr 0.02, batch size 16, seed 0" in result.stdout
    assert percent("train accuracy", result.stdout) >= 95.0 and percent("test accuracy", result.stdout) >= 95.0
    assert plot.read_bytes()[:4] == b"\x89PNG" and f"plot written to {plot}" in result.stdout
    assert f"model saved to {saved}" in result.stdout
    import nn

    model, metadata = nn.load(saved, with_metadata=True)
    assert repr(model) == "MLP(2 -> 16 -> 16 -> 1, activation='relu')"
    assert metadata["data"] == "moons" and metadata["seed"] == 0 and metadata["loss"] == "hinge"

    evaluated = chainrule("evaluate", str(saved))
    assert evaluated.returncode == 0, evaluated.stderr
    match = re.search(r"^test accuracy:\s+([0-9.]+)% of 20 held-out points \(split seed 0\)", evaluated.stdout, re.MULTILINE)
    assert match and float(match.group(1)) == percent("test accuracy", result.stdout)
    assert re.search(r"^all points:\s+[0-9.]+% of 100, mean loss", evaluated.stdout, re.MULTILINE)


def test_digits_and_spirals_get_their_own_networks() -> None:
    digits = chainrule("train", "--data", "digits", "--hidden", "8", "--epochs", "1", "--no-progress")
    assert digits.returncode == 0, digits.stderr
    assert "MLP(64 -> 8 -> 10, activation='tanh'), 610 parameters, softmax + cross-entropy loss" in digits.stdout
    assert "training: 1438 images (359 held out), 1 epoch, adam lr 0.01, batch size 32" in digits.stdout
    assert percent("test accuracy", digits.stdout) >= 70.0  # one pass of a small network; chance is 10%
    spirals = chainrule("train", "--data", "spirals", "--epochs", "1", "--no-progress")
    assert spirals.returncode == 0, spirals.stderr
    assert "MLP(2 -> 16 -> 16 -> 2, activation='relu'), 354 parameters" in spirals.stdout


def test_evaluate_needs_a_data_set_it_can_feed(tmp_path: Path, capsys) -> None:
    import nn
    from nn.cli import main

    bare = nn.save(nn.MLP(2, [3, 1], seed=0), tmp_path / "bare.json")  # saved from Python: no metadata
    for args, message in [
        ([str(bare)], "does not say which data it was trained on; give --data (iris, digits, moons, spirals)"),
        ([str(bare), "--data", "digits"], "the model takes 2 inputs, but digits samples have 64 features"),
        ([str(bare), "--data", "spirals"], None),
    ]:
        if message is None:
            assert main(["evaluate", *args]) == 0
            assert re.search(r"^all points:\s+[0-9.]+% of 200", capsys.readouterr().out, re.MULTILINE)
            continue
        with pytest.raises(SystemExit) as exit_info:
            main(["evaluate", *args])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text(bare.read_text()[:40])
    with pytest.raises(SystemExit):
        main(["evaluate", str(broken)])
    assert f"{broken}: not valid JSON (the file looks truncated)" in capsys.readouterr().err


def test_evaluate_refuses_damaged_metadata_without_a_traceback(tmp_path: Path, capsys) -> None:
    import json

    import nn
    from nn.cli import main

    good = {"data": "iris", "seed": 0, "test_size": 0.2, "loss": "cross_entropy", "data_options": {},
            "standardize": {"mean": [0.0] * 4, "std": [1.0] * 4}}
    for change, message in [
        ({"standardize": {"mean": [0.0] * 3, "std": [1.0] * 3}}, "its standardisation is not 4 means and 4 positive deviations"),
        ({"standardize": "yes"}, "its standardisation is not 4 means"),
        ({"loss": "hinge"}, "its loss 'hinge' does not fit a model of 3 output(s)"),
        ({"test_size": 2}, "its split cannot be made again"),
        ({"data": "weather"}, "was trained on 'weather', which this chainrule does not know"),
    ]:
        path = nn.save(nn.MLP(4, [3], seed=0), tmp_path / "m.json", metadata={**good, **change})
        with pytest.raises(SystemExit) as exit_info:
            main(["evaluate", str(path)])
        out, err = capsys.readouterr()
        assert exit_info.value.code == 2 and message in err and out == "", (change, err)
    path = nn.save(nn.MLP(4, [3], seed=0), tmp_path / "m.json", metadata=good)
    assert main(["evaluate", str(path)]) == 0
    assert "of 30 held-out flowers (split seed 0)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["evaluate", str(path), "--data", "digits"])
    assert "the model takes 4 inputs, but digits samples have 64 features" in capsys.readouterr().err
    one_output = nn.save(nn.MLP(4, [1], seed=0), tmp_path / "m1.json")
    with pytest.raises(SystemExit):
        main(["evaluate", str(one_output), "--data", "iris"])
    assert "the model has 1 output(s) but iris has 3 classes" in capsys.readouterr().err
