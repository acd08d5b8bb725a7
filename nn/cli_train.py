"""``chainrule demo``, ``chainrule train`` and ``chainrule evaluate``: train a network on a bundled or
generated data set, save it, and evaluate a saved one.

Every file the commands will write (``--graph``, ``--plot``, ``--save``, ``--export-torch``) is checked
before training starts, so that a bad path fails at once and not after minutes of training
(``--export-torch`` also checks that torch is installed).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from autograd import Value
from autograd.check import gradcheck
from autograd.torch_bridge import TORCH_INSTALL

from .cli import UsageError, folder_takes_files, name_too_long, shorten
from .data import Standardizer, load_digits, load_iris, make_moons, make_spirals, train_test_split
from .functional import cross_entropy
from .module import ACTIVATIONS, MLP
from .saving import load, save
from .torch_bridge import TORCH_ACTIVATIONS
from .train import DEFAULT_LR, LOSSES, OPTIMIZERS, PLOT_INSTALL_HINT, evaluate, fit, plot_history

# The demo's settings. With seed 1 every model seed we tried reaches 100% test accuracy on this
# split from about epoch 10 on; accuracy on 30 test flowers depends on which flowers they are (other
# splits give 87% to 100%).
DEMO_SEED = 1
DEMO_EPOCHS = 40
DEMO_LR = 0.05
DEMO_BATCH_SIZE = 16
DEMO_GRAPH = "chainrule-demo-graph.svg"
# A training run whose mean loss on the first DIVERGENCE_PROBE training samples ends above
# DIVERGENCE_RISE times where it started has diverged.
DIVERGENCE_PROBE = 200
DIVERGENCE_RISE = 1.5


@dataclass(frozen=True)
class Preset:
    """A data set for ``chainrule train`` and the network and training settings it gets by default.

    ``load_data(name, seed)`` makes its samples; ``options`` are the generator's arguments (kept in a
    saved model so that ``evaluate`` makes the same points).
    """

    description: str
    noun: str  # what one sample is, in the printed lines
    hidden: tuple[int, ...]
    activation: str
    epochs: int
    lr: float  # for Adam; SGD gets DEFAULT_LR["sgd"]
    batch_size: int
    standardize: bool
    loss: str = "cross_entropy"
    one_output: bool = False
    options: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "iris": Preset(
        "the bundled iris flowers (150 x 4, 3 species)", "flowers",
        hidden=(8,), activation="sigmoid", epochs=100, lr=DEFAULT_LR["adam"], batch_size=16, standardize=True,
    ),
    "digits": Preset(
        "the bundled 8x8 handwritten digits (1,797 x 64, 10 classes)", "images",
        hidden=(32,), activation="tanh", epochs=5, lr=0.01, batch_size=32, standardize=True,
    ),
    "moons": Preset(
        "two interleaving half circles (make_moons, 100 points, noise 0.1) with micrograd's demo network "
        "2-16-16-1 and its hinge loss", "points",
        hidden=(16, 16), activation="relu", epochs=30, lr=0.02, batch_size=16, standardize=False,
        loss="hinge", one_output=True, options={"n_samples": 100, "noise": 0.1},
    ),
    "spirals": Preset(
        "two interleaved spiral arms (make_spirals, 100 points each, noise 0.05)", "points",
        hidden=(16, 16), activation="relu", epochs=40, lr=0.02, batch_size=16, standardize=False,
        options={"n_per_class": 100, "classes": 2, "noise": 0.05},
    ),
}


def load_data(name: str, seed: int, options: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The samples, labels and class names of data set ``name`` (generated ones from ``seed``)."""
    preset = PRESETS[name]
    options = preset.options if options is None else options
    if name == "iris":
        ds = load_iris()
        return ds.data, ds.target, ds.target_names
    if name == "digits":
        ds = load_digits()
        return ds.data, ds.target, ds.target_names
    if name == "moons":
        X, y = make_moons(options["n_samples"], noise=options["noise"], seed=seed)
        return X, y, ["upper moon", "lower moon"]
    X, y = make_spirals(options["n_per_class"], classes=options["classes"], noise=options["noise"], seed=seed)
    return X, y, [f"arm {k}" for k in range(options["classes"])]


# -- argument types ----------------------------------------------------------------------------------------


def _whole_number(text: str, minimum: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1  # "1.5", "a": not a whole number
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1, "a positive whole number")


def _seed(text: str) -> int:
    return _whole_number(text, 0, "a whole number >= 0")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0.0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _fraction(text: str, *, closed_low: bool) -> float:
    interval = "[0, 1)" if closed_low else "(0, 1)"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text!r}") from None
    if not ((0.0 <= value if closed_low else 0.0 < value) and value < 1.0):
        raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text!r}")
    return value


def _momentum(text: str) -> float:
    return _fraction(text, closed_low=True)


def _test_size(text: str) -> float:
    return _fraction(text, closed_low=False)


def _percent(fraction: float) -> str:
    return f"{100.0 * fraction:.1f}%"


# -- output files, checked before any training ---------------------------------------------------------------


def writable_file(option: str, path: str, example: str, suffixes: tuple[str, ...] = ()) -> Path:
    """``path`` as a Path if a file can be written there, else a UsageError that says why.

    It must name a file in an existing directory: not a directory, and not one of ``suffixes`` alone
    (".svg" is a hidden file without a format, not an SVG), nor a name too long for the file system.
    The file must be creatable: it is opened for appending (an existing file is not changed) and, if
    it did not exist, removed again; and its folder must take a new file (files are written under a
    temporary name, then renamed over the target).
    """
    if not path:
        raise UsageError(f"{option}: the file name is empty; give one, such as {example}")
    target = Path(path)
    try:
        if path.endswith(("/", os.sep)) or target.is_dir():
            raise UsageError(f"{option}: {path!r} is a directory; give a file name such as {example}")
        if target.name.lower() in suffixes:
            raise UsageError(f"{option}: {path!r} is only a suffix; give a file name such as {example}")
        if not target.parent.is_dir():
            raise UsageError(f"{option}: the directory {str(target.parent)!r} does not exist")
        too_long = name_too_long(target)
        if too_long:
            raise UsageError(f"{option}: {shorten(path)!r}: {too_long}")
        existed = target.exists()
        try:
            with open(target, "ab"):
                pass
        except OSError as exc:
            raise UsageError(f"{option}: cannot write {path!r} ({exc.strerror or exc})") from None
        if not existed:
            target.unlink()
        if not existed or target.is_file():  # a regular file is written as a temporary file beside it
            problem = folder_takes_files(target.parent)
            if problem:
                raise UsageError(f"{option}: cannot write {path!r} (no new file can be made in its folder: {problem})")
    except OSError as exc:  # what the checks themselves meet (a path too long as a whole, a loop of links)
        raise UsageError(f"{option}: cannot write {shorten(path)!r} ({exc.strerror or exc})") from None
    return target


def _plot_file(path: str) -> Path:
    """The file ``--plot`` will write: matplotlib's format for the suffix, PNG (and ".png") without one."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"--plot: {PLOT_INSTALL_HINT}")
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    target = writable_file("--plot", path, "curves.png", tuple(f".{name}" for name in formats))
    suffix = target.suffix.lstrip(".").lower()
    if not suffix:
        # matplotlib would add ".png" itself; add it here so that the message names the real file
        return writable_file("--plot", path + ".png", "curves.png")
    if suffix not in formats:
        raise UsageError(f"--plot: cannot write a .{suffix} file; use one of: {', '.join(sorted(formats))}")
    return target


def _graph_file(path: str) -> Path:
    """The file ``--graph`` will write, with the formats and rules of ``chainrule draw -o``: .svg and
    .png are made in-process everywhere, .dot/.gv are the DOT text, .pdf and the others need the
    system Graphviz (checked here, before training)."""
    from autograd.viz import render

    from .cli_draw import FORMATS, TEXT_FORMATS

    target = writable_file("--graph", path, "graph.svg", tuple(f".{name}" for name in FORMATS))
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UsageError(f"--graph: cannot write a .{suffix or '(no suffix)'} file; use one of: .{', .'.join(FORMATS)}")
    if suffix not in ("svg", "png", *TEXT_FORMATS):
        try:
            render.choose_renderer(suffix)
        except render.RenderError as exc:
            raise UsageError(f"--graph {path}: {exc}") from None
    return target


# -- the subcommands ------------------------------------------------------------------------------------------


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo``, ``train`` and ``evaluate`` subcommands."""
    demo = subparsers.add_parser(
        "demo",
        help="train a 4-8-3 sigmoid/softmax network on the bundled iris data",
        description=(
            "Train a 4-8-3 network (sigmoid hidden layer, softmax output, cross-entropy loss, Adam) on "
            "the bundled iris data, with a stratified 80/20 train/test split, and print the accuracy "
            "and the final loss."
        ),
    )
    demo.add_argument("--epochs", type=_positive_int, default=DEMO_EPOCHS, help=f"passes over the data (default {DEMO_EPOCHS})")
    demo.add_argument("--seed", type=_seed, default=DEMO_SEED, help=f"seed of the split, the weights and the shuffling (default {DEMO_SEED})")
    demo.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    demo.add_argument(
        "--graph", default=DEMO_GRAPH, metavar="PATH",
        help=f"where to write the drawing of one test flower's loss graph, .svg or .png (default {DEMO_GRAPH})",
    )
    demo.add_argument("--no-graph", action="store_true", help="do not draw the graph")
    demo.set_defaults(run=run_demo, subcommand_parser=demo)

    presets = "; ".join(
        f"{name}: {' '.join(map(str, p.hidden))} {p.activation}, {p.epochs} epochs, lr {p.lr:g}, batch {p.batch_size}"
        + (f", {p.loss} loss" if p.loss != "cross_entropy" else "")
        for name, p in PRESETS.items()
    )
    train = subparsers.add_parser(
        "train",
        help="train an MLP on iris, digits, moons or spirals with chosen settings",
        description=(
            "Train a multilayer perceptron on a data set (stratified train/test split; iris and digits "
            "standardised with the training set's mean and deviation) and print its accuracy. Each data "
            f"set has its own default network and settings ({presets}); any option overrides them."
        ),
    )
    train.add_argument("--data", choices=tuple(PRESETS), default="iris", help="the data set (default iris)")
    train.add_argument(
        "--hidden", type=_positive_int, nargs="*", default=None, metavar="N",
        help="hidden layer sizes, e.g. --hidden 8 8; give none for no hidden layer (default: per data set)",
    )
    train.add_argument("--activation", choices=ACTIVATIONS, default=None, help="hidden activation (default: per data set)")
    train.add_argument("--epochs", type=_positive_int, default=None, help="passes over the data (default: per data set)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="default adam")
    train.add_argument(
        "--lr", type=_positive_float, default=None,
        help=f"learning rate (default: adam per data set, sgd {DEFAULT_LR['sgd']:g})",
    )
    train.add_argument("--momentum", type=_momentum, default=0.0, help="SGD momentum in [0, 1) (default 0)")
    train.add_argument("--batch-size", type=_positive_int, default=None, help="samples per update (default: per data set)")
    train.add_argument(
        "--loss", choices=LOSSES, default=None,
        help="cross_entropy, or hinge for a one-output network (default: hinge for moons, else cross_entropy)",
    )
    train.add_argument("--test-size", type=_test_size, default=0.2, help="fraction held out for testing (default 0.2)")
    train.add_argument("--seed", type=_seed, default=0, help="seed of the data, the split, the weights and the shuffling (default 0)")
    train.add_argument(
        "--plot", metavar="PATH", default=None,
        help="write loss and accuracy curves (and for 2-D data the decision regions) to PATH (PNG; needs matplotlib)",
    )
    train.add_argument("--save", metavar="PATH", default=None, help="save the trained model as JSON (load with nn.load or chainrule evaluate)")
    train.add_argument(
        "--export-torch", metavar="PATH", default=None,
        help="save the trained network as a PyTorch state_dict (torch.save), for nn.to_torch's Sequential of "
        'Linear and activation layers (needs pip install "chainrule[torch]")',
    )
    train.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    train.set_defaults(run=run_train, subcommand_parser=train)

    ev = subparsers.add_parser(
        "evaluate",
        help="evaluate a model saved by train --save (or nn.save) on a data set",
        description=(
            "Load a model saved as JSON and print its loss and accuracy. A model saved by "
            "'chainrule train --save' remembers its data set, split and standardisation: it is "
            "evaluated on the held-out test samples it never trained on, and on all samples."
        ),
    )
    ev.add_argument("model", metavar="MODEL", help="the saved model (.json)")
    ev.add_argument("--data", choices=tuple(PRESETS), default=None, help="the data set (default: the one the model was trained on)")
    ev.set_defaults(run=run_evaluate, subcommand_parser=ev)


def run_demo(args: argparse.Namespace) -> int:
    """The demo, one small step at a time."""
    seed = args.seed
    graph = None if args.no_graph else _graph_file(args.graph)

    # Step 1: the bundled iris data, split 80/20 with every species in the same proportion in both sets.
    iris = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(iris.data, iris.target, test_size=0.2, seed=seed)
    print(f"iris: {len(X_train)} training and {len(X_test)} test flowers, {len(iris.feature_names)} features, "
          f"classes {', '.join(iris.target_names)}")

    # Step 2: standardise each feature with the training set's mean and standard deviation.
    scaler = Standardizer().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    # Step 3: a 4-8-3 network: 8 sigmoid neurons, then 3 linear outputs (the logits of the softmax).
    model = MLP(4, [8, 3], activation="sigmoid", seed=seed)
    print(f"model: {model}, {len(model.parameters())} parameters, softmax + cross-entropy loss")

    # Step 4: train with Adam on mini-batches.
    print(f"training: {args.epochs} epochs, Adam lr={DEMO_LR:g}, batch size {DEMO_BATCH_SIZE}, seed {seed}")
    start = time.perf_counter()
    fit(
        model, X_train, y_train,
        epochs=args.epochs, optimizer="adam", lr=DEMO_LR, batch_size=DEMO_BATCH_SIZE, seed=seed,
        test_data=(X_test, y_test), progress=not args.no_progress,
    )
    seconds = time.perf_counter() - start

    # Step 5: how well the trained network does.
    _print_results(model, X_train, y_train, X_test, y_test, seconds)

    # Step 6: one test flower's loss graph: every node's gradient against a central difference.
    loss = cross_entropy(model([Value(v) for v in X_test[0]]), int(y_test[0]))
    model.zero_grad()  # the parameters still hold the last training step's gradients
    loss.backward()
    report = gradcheck(loss)
    print(report.summary)

    # Step 7: the drawing of that graph, a frame per layer and per neuron.
    if graph is not None:
        from autograd.viz import draw

        written = draw(loss).save(graph)
        print(f"graph of that loss ({len(report)} nodes) drawn to {written}")
    return 0 if report.ok else 1


def _print_results(model: MLP, X_train, y_train, X_test, y_test, seconds: float, loss: str = "cross_entropy") -> None:
    """The lines the demo and train both end with: time, accuracies and losses."""
    train_loss, train_accuracy = evaluate(model, X_train, y_train, loss=loss)
    test_loss, test_accuracy = evaluate(model, X_test, y_test, loss=loss)
    print(f"trained in {seconds:.1f} s")
    print(f"train accuracy: {_percent(train_accuracy)}")
    print(f"test accuracy:  {_percent(test_accuracy)}")
    loss_name = "cross-entropy" if loss == "cross_entropy" else loss
    print(f"final loss:     {train_loss:.4f} (train), {test_loss:.4f} (test), mean {loss_name}")


def _split(name: str, seed: int, test_size: float, options: dict[str, Any] | None = None):
    """Data set ``name`` split into training and test samples, as train made them; and the class names."""
    X, y, classes = load_data(name, seed, options)
    return (*train_test_split(X, y, test_size=test_size, seed=seed), classes)


def run_train(args: argparse.Namespace) -> int:
    """Train an MLP on the chosen data set with the options given; print the results."""
    preset = PRESETS[args.data]
    hidden = list(preset.hidden) if args.hidden is None else args.hidden
    activation = args.activation or preset.activation
    epochs = args.epochs or preset.epochs
    batch_size = args.batch_size or preset.batch_size
    lr = args.lr if args.lr is not None else (preset.lr if args.optimizer == "adam" else DEFAULT_LR["sgd"])
    loss = args.loss or preset.loss
    # micrograd's moons network has one output whatever the loss; the hinge loss needs one output
    one_output = preset.one_output or loss == "hinge"
    if args.momentum != 0.0 and args.optimizer != "sgd":
        raise UsageError("--momentum applies to --optimizer sgd only")
    plot = None if args.plot is None else _plot_file(args.plot)
    model_file = None if args.save is None else writable_file("--save", args.save, "model.json", (".json",))
    torch_file = None if args.export_torch is None else _torch_file(args.export_torch)

    X_train, X_test, y_train, y_test, classes = _split(args.data, args.seed, args.test_size)
    nclasses = len(classes)
    if loss == "hinge" and nclasses != 2:
        raise UsageError(f"--loss hinge needs two classes (a one-output network); {args.data} has {nclasses}")
    scaler = Standardizer().fit(X_train) if preset.standardize else None
    if scaler is not None:
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    nin = X_train.shape[1]
    model = MLP(nin, [*hidden, 1 if one_output else nclasses], activation=activation, seed=args.seed)
    momentum = f", momentum {args.momentum:g}" if args.optimizer == "sgd" else ""
    print(f"{args.data}: {preset.description}")
    print(f"model: {model}, {len(model.parameters())} parameters, {_loss_text(loss, one_output)}")
    print(f"training: {len(X_train)} {preset.noun} ({len(X_test)} held out), {epochs} epoch{'s' * (epochs != 1)}, "
          f"{args.optimizer} lr {lr:g}{momentum}, batch size {batch_size}, seed {args.seed}")

    # The mean loss on a few training samples before and after: a run that ends well above where it
    # started has diverged (too large a learning rate), even if no number overflowed.
    probe = (X_train[:DIVERGENCE_PROBE], y_train[:DIVERGENCE_PROBE])
    initial_loss = evaluate(model, *probe, loss=loss)[0]
    start = time.perf_counter()
    try:
        history = fit(
            model, X_train, y_train,
            epochs=epochs, optimizer=args.optimizer, lr=lr, momentum=args.momentum, batch_size=batch_size,
            seed=args.seed, test_data=(X_test, y_test), progress=not args.no_progress, loss=loss,
        )
    except (ArithmeticError, ValueError) as exc:  # the engine or the optimizer refused a number that overflowed
        return _diverged(f"a number overflowed ({_first_line(exc)})", lr, model_file)
    seconds = time.perf_counter() - start
    rise = _loss_rose(initial_loss, evaluate(model, *probe, loss=loss)[0], len(probe[0]))
    if rise:
        _print_results(model, X_train, y_train, X_test, y_test, seconds, loss)
        return _diverged(rise, lr, model_file)

    _print_results(model, X_train, y_train, X_test, y_test, seconds, loss)
    status = 0
    if model_file is not None:  # first the model, which took the training to make
        metadata = {
            "data": args.data, "seed": args.seed, "test_size": args.test_size, "loss": loss,
            "data_options": preset.options,
            "standardize": None if scaler is None else {"mean": scaler.mean.tolist(), "std": scaler.std.tolist()},
        }
        status = _save_model(model, model_file, metadata)
    if torch_file is not None:
        status = max(status, _export_torch(model, torch_file, scaled=scaler is not None, saved=model_file))
    if plot is not None:
        regions = {"model": model, "data": (X_train, y_train), "test_data": (X_test, y_test)} if nin == 2 else {}
        try:
            plot_history(history, plot, **regions)
        except OSError as exc:
            _complain(f"cannot write the plot {plot} ({exc.strerror or exc}); an existing file there is unchanged")
            return 1
        print(f"plot written to {plot}")
    return status


def _complain(message: str) -> None:
    """One line on standard error, as ``chainrule train: message``."""
    print(f"chainrule train: {message}", file=sys.stderr)


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _loss_rose(before: float, after: float, samples: int) -> str:
    """Why a finished training diverged (its mean loss on ``samples`` training samples ended well
    above where it started), or ""."""
    if not after <= DIVERGENCE_RISE * before + 1e-12:
        return f"the mean loss on {samples} training samples rose from {before:.4g} before training to {after:.4g}"
    return ""


def _diverged(why: str, lr: float, model_file: Path | None) -> int:
    kept = f"; the model was not saved (the file {model_file} is unchanged)" if model_file is not None else ""
    _complain(f"training diverged: {why}{kept}. Try a smaller --lr (this run used {lr:g}).")
    return 1


def _save_model(model: MLP, model_file: Path, metadata: dict[str, Any]) -> int:
    """Save the trained model; if ``model_file`` cannot be written now (a full disk), keep it in a new
    file in the temporary folder instead and say where. 0 if saved where asked, else 1."""
    try:
        save(model, model_file, metadata=metadata)
    except OSError as exc:
        why = exc.strerror or str(exc)
        try:
            fd, name = tempfile.mkstemp(prefix="chainrule-model-", suffix=".json")
            os.close(fd)
            save(model, name, metadata=metadata)
        except OSError as again:
            _complain(
                f"cannot write {model_file} ({why}), and the model could not be kept anywhere else either "
                f"({again.strerror or again}); it is lost. An existing file at {model_file} is unchanged."
            )
            return 1
        _complain(
            f"cannot write {model_file} ({why}); the trained model was saved to {name} instead "
            f"(evaluate it with: chainrule evaluate {name}). An existing file at {model_file} is unchanged."
        )
        return 1
    print(f"model saved to {model_file} (evaluate it with: chainrule evaluate {model_file})")
    return 0


def _torch_file(path: str) -> Path:
    """The file ``--export-torch`` will write, checked (with torch's presence) before training."""
    try:
        import torch  # noqa: F401  (imported now, so that a missing or broken torch stops us before training)
    except ImportError as exc:
        raise UsageError(
            f"--export-torch needs PyTorch, which is not installed ({exc}); install it with: {TORCH_INSTALL}"
        ) from None
    return writable_file("--export-torch", path, "model.pt", (".pt", ".pth"))


def _export_torch(model: MLP, path: Path, *, scaled: bool, saved: Path | None) -> int:
    """Write the trained network's torch state_dict and say how to load it: 0, or 1 if it could not be
    written (a full disk: the path was checked before training), said in one line."""
    from .torch_bridge import save_torch

    try:
        save_torch(model, path)
    except OSError as exc:
        _complain(f"--export-torch: cannot write {str(path)!r} ({exc.strerror or exc}); an existing file there is unchanged")
        return 1
    layers = ", ".join(
        f"Linear({layer.nin}, {layer.nout})" + (f", {TORCH_ACTIVATIONS[model.activation]}()" if k < len(model.layers) else "")
        for k, layer in enumerate(model.layers, start=1)
    )
    print(f"torch state_dict (float64) written to {path}, for torch.nn.Sequential({layers}):")
    print(f"  module = nn.to_torch(nn.MLP({model.nin}, {model.nouts}, activation={model.activation!r}))")
    print(f"  module.load_state_dict(torch.load({str(path)!r}))")
    if scaled:
        where = f"are in {saved}'s metadata" if saved is not None else "are kept by --save model.json"
        print(f"  it takes standardised inputs, as in training (the training set's mean and deviation {where})")
    return 0


def _loss_text(loss: str, one_output: bool) -> str:
    if loss == "hinge":
        return "hinge loss (micrograd's max-margin loss), class 1 where the output is above 0"
    return "binary cross-entropy of the output" if one_output else "softmax + cross-entropy loss"


def run_evaluate(args: argparse.Namespace) -> int:
    """Load a saved model and print its loss and accuracy on a data set."""
    try:
        model, metadata = load(args.model, with_metadata=True)
    except FileNotFoundError:
        raise UsageError(f"{args.model!r} does not exist") from None
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    trained_on = metadata.get("data")
    if trained_on is not None and not isinstance(trained_on, str):
        raise UsageError(f"{args.model}: its data set must be a name such as 'iris', got {shorten(repr(trained_on))}")
    name = args.data or trained_on
    if name is None:
        raise UsageError(f"{args.model} does not say which data it was trained on; give --data ({', '.join(PRESETS)})")
    if name not in PRESETS:
        raise UsageError(f"{args.model} was trained on {name!r}, which this chainrule does not know; give --data")
    same_data = name == trained_on
    seed = metadata.get("seed", 0) if same_data else 0
    options = metadata.get("data_options") if same_data else None
    try:
        X, y, classes = load_data(name, seed, options)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{args.model}: its data options {shorten(repr(options))} are not usable ({shorten(str(exc), 200)})") from None
    if X.shape[1] != model.nin:
        raise UsageError(f"the model takes {model.nin} inputs, but {name} samples have {X.shape[1]} features")
    outputs = model.nouts[-1]
    if len(classes) > (2 if outputs == 1 else outputs):
        raise UsageError(f"the model has {outputs} output(s) but {name} has {len(classes)} classes")
    loss = metadata.get("loss", "cross_entropy")
    if loss not in LOSSES or (loss == "hinge" and outputs != 1):
        raise UsageError(f"{args.model}: its loss {loss!r} does not fit a model of {outputs} output(s)")
    transform = _saved_standardisation(args.model, metadata.get("standardize") if same_data else None, model.nin)
    held_out = None
    if same_data and "test_size" in metadata:
        try:
            _, X_test, _, y_test = train_test_split(X, y, test_size=metadata["test_size"], seed=seed)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{args.model}: its split cannot be made again ({exc})") from None
        held_out = (X_test, y_test)
    noun = PRESETS[name].noun
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        standardised = transform(X)
    if not np.all(np.isfinite(standardised)):
        raise UsageError(
            f"{args.model}: its standardisation (mean, std) turns the {noun} into numbers too large for a float; "
            "the file was changed by hand"
        )
    print(f"model: {model}, {len(model.parameters())} parameters, from {args.model}")
    try:
        if held_out is not None:
            X_test, y_test = held_out
            test_loss, test_accuracy = evaluate(model, transform(X_test), y_test, loss=loss)
            print(f"test accuracy:  {_percent(test_accuracy)} of {len(X_test)} held-out {noun} "
                  f"(split seed {seed}), mean loss {test_loss:.4f}")
        all_loss, all_accuracy = evaluate(model, standardised, y, loss=loss)
    except (ArithmeticError, ValueError) as exc:  # the engine refused a number (an overflow) naming the node
        raise UsageError(f"{args.model}: the model cannot be evaluated on {name}: {_first_line(exc)}") from None
    print(f"{'all ' + noun + ':':<15} {_percent(all_accuracy)} of {len(X)}, mean loss {all_loss:.4f}")
    return 0


def _saved_standardisation(where: str, scaling: object, nin: int) -> Callable[[np.ndarray], np.ndarray]:
    """The ``(X - mean) / std`` that train recorded in a saved model's metadata (or no change)."""
    if scaling is None:
        return lambda A: A
    try:
        mean = np.asarray(scaling["mean"], dtype=float)  # type: ignore[index]
        std = np.asarray(scaling["std"], dtype=float)  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        mean = std = np.zeros(0)
    if mean.shape != (nin,) or std.shape != (nin,) or not (np.all(np.isfinite(mean)) and np.all(std > 0)):
        raise UsageError(f"{where}: its standardisation is not {nin} means and {nin} positive deviations")
    return lambda A: (A - mean) / std
