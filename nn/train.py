"""Training a classifier: ``fit`` with a progress bar, ``evaluate``, ``predict``, loss/accuracy plots
and decision regions.

Each sample's forward pass builds a fresh graph of ``Value`` nodes; a mini-batch's loss is the mean of
its samples' losses, and one ``backward()`` of it fills every parameter's ``.grad``.

Two kinds of classifier: a model with one output per class (``MLP(4, [8, 3])``: a list of logits,
softmax and ``cross_entropy``, the prediction is the largest logit), and a model with one output
(``MLP(2, [16, 16, 1])``: a single Value, two classes 0 and 1, the prediction is 1 where the output is
above 0), trained with ``binary_cross_entropy`` or micrograd's ``hinge`` loss.
"""

from __future__ import annotations

import contextlib
import gc
import numbers
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from autograd import Value

from .functional import binary_cross_entropy, cross_entropy, hinge
from .module import Module
from .optim import SGD, Adam, Optimizer
from .validation import Seed, float_matrix, make_rng

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
DEFAULT_LR: dict[str, float] = {"sgd": 0.1, "adam": 0.01}
"""The learning rate ``fit`` uses when given an optimizer by name and no ``lr``."""

PLOT_INSTALL_HINT = 'plotting needs matplotlib, which is an optional extra: pip install "chainrule[plot]"'

LOSSES: tuple[str, ...] = ("cross_entropy", "hinge")
"""The losses ``fit`` and ``evaluate`` know: "cross_entropy" (softmax cross entropy for a model with one
output per class, ``binary_cross_entropy`` for a one-output model) and "hinge" (micrograd's max-margin
loss, one-output models only)."""


@dataclass
class History:
    """What ``fit`` records, one entry per epoch.

    ``train_loss`` and ``train_accuracy`` are averaged over the epoch's mini-batches as they were
    trained (so they describe the model as it changed during the epoch, as Keras reports them);
    ``test_loss`` and ``test_accuracy`` are measured on the test data after each epoch, and stay
    empty when ``fit`` was given none. Losses are means over samples of the loss ``fit`` minimised
    (``loss``, cross entropy unless told otherwise); accuracies are fractions in [0, 1].
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    loss: str = "cross_entropy"

    @property
    def epochs(self) -> int:
        """The number of epochs recorded."""
        return len(self.train_loss)


def _rows(X: object, model: Module, caller: str) -> list[list[float]]:
    """``X`` as a list of rows of Python floats (cheap to turn into Values), checked against the model."""
    arr = float_matrix(X, caller)
    if len(arr) == 0:
        raise ValueError(f"{caller}: X must hold at least one sample, got shape {arr.shape}")
    nin = getattr(model, "nin", None)
    if nin is not None and arr.shape[1] != nin:
        raise ValueError(f"{caller}: X has {arr.shape[1]} features per sample but the model takes {nin} inputs")
    return arr.tolist()


def _labels(y: object, n: int, noutputs: int, caller: str) -> list[int]:
    nclasses = _classes(noutputs)
    outputs_text = "has one output (two classes)" if noutputs == 1 else f"has {noutputs} outputs"
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"{caller}: y must hold one class index per sample ({n}), got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{caller}: y must hold int class indices, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= nclasses:
        bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
        raise ValueError(f"{caller}: y holds class {bad}, but the model {outputs_text} (classes 0 to {nclasses - 1})")
    return arr.tolist()


def _outputs(model: Callable[[list[Value]], Value | Sequence[Value]], row: list[float]) -> list[Value]:
    """The model's outputs for one sample, always as a list (a one-output MLP returns a bare Value)."""
    out = model([Value(v) for v in row])
    return [out] if isinstance(out, Value) else list(out)


def _predicted_class(outputs: Sequence[Value]) -> int:
    """The index of the largest logit; for one output, 1 where it is above 0, else 0."""
    if len(outputs) == 1:
        return int(outputs[0].data > 0.0)
    best = 0
    for k in range(1, len(outputs)):
        if outputs[k].data > outputs[best].data:
            best = k
    return best


def _loss_function(loss: str, noutputs: int, caller: str) -> Callable[[Sequence[Value], int], Value]:
    """The per-sample loss for a model with ``noutputs`` outputs."""
    if loss not in LOSSES:
        raise ValueError(f"{caller}: unknown loss {loss!r}; choose one of {', '.join(map(repr, LOSSES))}")
    if noutputs == 1:
        if loss == "hinge":
            return lambda out, t: hinge(out[0], t)
        return lambda out, t: binary_cross_entropy(out[0], t)
    if loss == "hinge":
        raise ValueError(f"{caller}: the hinge loss needs a one-output model (its sign is the class); this one has {noutputs} outputs")
    return cross_entropy


def _classes(noutputs: int) -> int:
    """How many classes a model with ``noutputs`` outputs tells apart (a one-output model: two)."""
    return 2 if noutputs == 1 else noutputs


def _mean(values: list[Value]) -> Value:
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total * (1.0 / len(values))


def _make_optimizer(model: Module, optimizer: Optimizer | str, lr: float | None, momentum: float) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        if lr is not None or momentum != 0.0:
            raise ValueError("fit: give lr and momentum to the optimizer you pass, not to fit")
        return optimizer
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"fit: unknown optimizer {optimizer!r}; choose 'sgd', 'adam' or pass an Optimizer")
    if lr is None:
        lr = DEFAULT_LR[optimizer]
    if optimizer == "sgd":
        return SGD(model.parameters(), lr=lr, momentum=momentum)
    if momentum != 0.0:
        raise ValueError("fit: momentum applies to 'sgd' only (Adam has betas)")
    return Adam(model.parameters(), lr=lr)


def _progress_bar_class() -> tuple[type, bool]:
    """tqdm's notebook widget where it can be shown, its text bar everywhere else; and whether it is
    the widget.

    ``tqdm.auto`` picks the widget in any Jupyter kernel and, without ipywidgets installed, warns
    ("IProgress not found") before falling back to text; asking for ipywidgets first avoids that.
    """
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is None:
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm, tqdm.__module__.startswith("tqdm.notebook")


@contextlib.contextmanager
def _cyclic_gc_paused():
    """Switch off CPython's cyclic garbage collector for the block, and back on after it if it was on.

    A mini-batch's graph is tens of thousands of Values that stay alive until its backward pass; the
    cyclic collector, triggered by every 700 allocations, scans them again and again, and found nothing
    to collect: a graph's references only point from a node to its operands, so it has no cycles and
    is freed by reference counting as soon as the next batch replaces it. On a digits epoch (64-32-10,
    batches of 32) the scans took about 60 % of the time; evaluating one graph per sample, about
    40 %. ``timeit`` pauses the collector the same way.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _summary(history: History, seconds: float) -> str:
    """One line about a finished ``fit``: epochs, time, and the last epoch's numbers."""
    parts = [f"loss {history.train_loss[-1]:.4f}", f"accuracy {history.train_accuracy[-1]:.3f}"]
    if history.test_loss:
        parts += [f"test loss {history.test_loss[-1]:.4f}", f"test accuracy {history.test_accuracy[-1]:.3f}"]
    return f"fit: {history.epochs} epochs in {seconds:.1f} s; last epoch: {', '.join(parts)}"


def fit(
    model: Module,
    X: object,
    y: object,
    *,
    epochs: int = 100,
    lr: float | None = None,
    optimizer: Optimizer | str = "adam",
    momentum: float = 0.0,
    batch_size: int = 16,
    seed: Seed = None,
    test_data: tuple[object, object] | None = None,
    progress: bool = True,
    loss: str = "cross_entropy",
) -> History:
    """Train a classifier on ``(X, y)`` with mini-batches; return its ``History``.

    Each epoch visits the samples in a new random order, in mini-batches of ``batch_size``; for each
    batch: ``zero_grad()``, the mean loss of the batch, ``backward()``, ``step()``.

    Args:
        model: a module that maps a list of input Values to a list of logits, one per class, or to a
            single Value for two classes (an ``MLP``; see the module docstring). Trained in place.
        X: the training samples, shape ``(n, nin)``. y: their class indices (ints), shape ``(n,)``;
            0 and 1 for a one-output model.
        epochs: the number of passes over the training data.
        lr: the learning rate, when ``optimizer`` is a name (default ``DEFAULT_LR[optimizer]``).
        optimizer: "sgd", "adam", or an ``Optimizer`` over ``model.parameters()`` (then set ``lr``
            and ``momentum`` on it, not here).
        momentum: SGD's momentum, when ``optimizer="sgd"``.
        batch_size: samples per update (the last batch of an epoch may be smaller).
        seed: the seed of the shuffling (the model's own seed sets its initial weights).
        test_data: ``(X_test, y_test)`` to measure after every epoch, or None.
        progress: show a progress bar (tqdm: a widget in notebooks that have ipywidgets, text
            elsewhere). With the widget, ``fit`` also prints one summary line at the end, since a
            widget does not survive a notebook's export to HTML; the text bar's last line stays.
        loss: "cross_entropy" (default) or "hinge" (one-output models; see ``LOSSES``).

    Every argument is checked before the first update, so a bad one leaves the model untouched.
    While it trains, ``fit`` pauses Python's cyclic garbage collector (``gc.disable()``, restored
    afterwards): the graphs it builds have no reference cycles, and the collector's repeated scans of
    a large mini-batch graph would otherwise take more time than the training itself.
    """
    for name, count in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(count, numbers.Integral) or isinstance(count, bool) or count < 1:
            raise ValueError(f"fit: {name} must be a positive int, got {count!r}")
    epochs, batch_size = int(epochs), int(batch_size)
    rows = _rows(X, model, "fit")
    noutputs = len(_outputs(model, rows[0]))
    loss_of = _loss_function(loss, noutputs, "fit")
    labels = _labels(y, len(rows), noutputs, "fit")
    test_rows: list[list[float]] | None = None
    if test_data is not None:
        if not isinstance(test_data, (tuple, list)) or len(test_data) != 2:
            raise ValueError("fit: test_data must be a pair (X_test, y_test)")
        test_rows = _rows(test_data[0], model, "fit (test_data)")
        test_labels = _labels(test_data[1], len(test_rows), noutputs, "fit (test_data)")
    opt = _make_optimizer(model, optimizer, lr, momentum)
    rng = make_rng(seed, "fit")

    tqdm, is_widget = _progress_bar_class()

    history = History(loss=loss)
    n = len(rows)
    started = time.perf_counter()
    with _cyclic_gc_paused():
        bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
        for _ in bar:
            order = rng.permutation(n).tolist()
            loss_sum = 0.0
            correct = 0
            for start in range(0, n, batch_size):
                losses = []
                for i in order[start : start + batch_size]:
                    outputs = _outputs(model, rows[i])
                    sample_loss = loss_of(outputs, labels[i])
                    losses.append(sample_loss)
                    loss_sum += sample_loss.data
                    correct += _predicted_class(outputs) == labels[i]
                batch_loss = _mean(losses)
                opt.zero_grad()
                batch_loss.backward()
                opt.step()
                # Free this batch's graph now, not when the next one has been built: its memory is then
                # reused at once (the engine's free list, warm caches) and two graphs never coexist.
                batch_loss = losses = outputs = sample_loss = None
            history.train_loss.append(loss_sum / n)
            history.train_accuracy.append(correct / n)
            status = {"loss": f"{loss_sum / n:.4f}", "acc": f"{correct / n:.3f}"}
            if test_rows is not None:
                test_loss, test_acc = _evaluate(model, test_rows, test_labels, loss_of)
                history.test_loss.append(test_loss)
                history.test_accuracy.append(test_acc)
                status["test_acc"] = f"{test_acc:.3f}"
            if progress:
                bar.set_postfix(status, refresh=False)
        bar.close()
    if progress and is_widget:
        print(_summary(history, time.perf_counter() - started))
    return history


def _evaluate(
    model: Module, rows: list[list[float]], labels: list[int], loss_of: Callable[[Sequence[Value], int], Value]
) -> tuple[float, float]:
    loss_sum = 0.0
    correct = 0
    for row, label in zip(rows, labels):
        outputs = _outputs(model, row)
        loss_sum += loss_of(outputs, label).data
        correct += _predicted_class(outputs) == label
        outputs = None  # this sample's graph goes before the next is built
    return loss_sum / len(rows), correct / len(rows)


def evaluate(model: Module, X: object, y: object, loss: str = "cross_entropy") -> tuple[float, float]:
    """The model's mean loss and its accuracy (a fraction) on ``(X, y)``.

    ``loss`` as in ``fit``: cross entropy by default (binary cross entropy for a one-output model),
    or "hinge". Like ``fit``, it pauses the cyclic garbage collector while it runs.
    """
    rows = _rows(X, model, "evaluate")
    noutputs = len(_outputs(model, rows[0]))
    loss_of = _loss_function(loss, noutputs, "evaluate")
    labels = _labels(y, len(rows), noutputs, "evaluate")
    with _cyclic_gc_paused():
        return _evaluate(model, rows, labels, loss_of)


def predict(model: Module, X: object) -> np.ndarray:
    """The predicted class of each sample (an int array): the index of its largest logit, or for a
    one-output model 1 where the output is above 0 and 0 elsewhere. Pauses the cyclic garbage
    collector while it runs, as ``fit`` does."""
    rows = _rows(X, model, "predict")
    with _cyclic_gc_paused():
        return np.array([_predicted_class(_outputs(model, row)) for row in rows], dtype=np.int64)


def _figure_class() -> type:
    try:
        from matplotlib.figure import Figure  # noqa: F811 (the import for type checkers is not run)
    except ImportError:
        raise ImportError(PLOT_INSTALL_HINT) from None
    return Figure


def plot_history(
    history: History,
    path: str | os.PathLike[str] | None = None,
    *,
    model: Module | None = None,
    data: tuple[object, object] | None = None,
    test_data: tuple[object, object] | None = None,
) -> Figure:
    """Loss and accuracy curves per epoch (train, and test if recorded), side by side; for a model of
    two inputs, optionally its decision regions in a third panel.

    Returns a ``matplotlib.figure.Figure``: a notebook shows it inline when it is a cell's result.
    With ``path``, the figure is also written there (PNG unless the suffix says otherwise). The
    figure is made without ``pyplot``, so no window opens and no global figure state is kept.

    Args:
        history: what ``fit`` returned.
        path: where to write the figure, or None.
        model, data, test_data: a trained model of 2 inputs and its ``(X, y)`` training samples (and
            optionally the test samples): adds ``plot_decision_regions(model, *data, ...)`` as a
            third panel.

    Raises:
        ImportError: matplotlib is not installed (``pip install "chainrule[plot]"``).
    """
    Figure = _figure_class()
    if history.epochs == 0:
        raise ValueError("plot_history: the history is empty (no epoch was recorded)")
    if (model is None) != (data is None):
        raise ValueError("plot_history: give both model and data=(X, y) to draw decision regions, or neither")
    regions = None if model is None else _region_inputs(model, data, test_data, "plot_history")
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, history.epochs + 1)
    fig = Figure(figsize=(15 if regions else 10, 4), layout="constrained")
    axes = fig.subplots(1, 3 if regions else 2)
    ax_loss, ax_acc = axes[0], axes[1]
    style = {"marker": "o"} if history.epochs <= 20 else {}  # a few epochs: show where the points are
    ax_loss.plot(epochs, history.train_loss, label="train", **style)
    ax_acc.plot(epochs, history.train_accuracy, label="train", **style)
    if history.test_loss:
        ax_loss.plot(epochs, history.test_loss, label="test", **style)
        ax_acc.plot(epochs, history.test_accuracy, label="test", **style)
    loss_name = "mean cross-entropy" if history.loss == "cross_entropy" else f"mean {history.loss}"
    ax_loss.set(title=f"loss ({loss_name})", xlabel="epoch", ylabel="loss")
    ax_acc.set(title="accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0.0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.grid(alpha=0.3)
        ax.legend()
    if regions:
        _draw_regions(axes[2], model, *regions)
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def plot_decision_regions(
    model: Module,
    X: object,
    y: object,
    path: str | os.PathLike[str] | None = None,
    *,
    test_data: tuple[object, object] | None = None,
    resolution: int = 200,
    ax: object = None,
) -> Figure:
    """The plane coloured by the class a two-input model predicts at each point, with the samples on
    top (circles; crosses for ``test_data``).

    The colours come from a ``resolution x resolution`` grid over the samples' extent (with a margin),
    predicted with ``model.forward_numpy`` (numpy, no graph; an ``MLP`` has it) or else with
    ``predict`` (a graph per grid point: slow). Returns the Figure (with ``path`` also written
    there); with ``ax``, a matplotlib Axes, it draws into that instead and returns its figure.
    """
    Figure = _figure_class()
    X_arr, y_arr, test = _region_inputs(model, (X, y), test_data, "plot_decision_regions")
    if not isinstance(resolution, numbers.Integral) or isinstance(resolution, bool) or resolution < 2:
        raise ValueError(f"plot_decision_regions: resolution must be an int >= 2, got {resolution!r}")
    if ax is None:
        fig = Figure(figsize=(6, 5), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    _draw_regions(ax, model, X_arr, y_arr, test, int(resolution))
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def _region_inputs(
    model: Module, data: tuple[object, object], test_data: tuple[object, object] | None, caller: str
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """The checked ``(X, y, test)`` of a decision-region plot: 2-D samples and int labels."""
    pairs = [("data", data), ("test_data", test_data)]
    checked = []
    for name, pair in pairs:
        if pair is None:
            checked.append(None)
            continue
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"{caller}: {name} must be a pair (X, y)")
        X_arr = np.asarray(_rows(pair[0], model, caller), dtype=float)
        if X_arr.shape[1] != 2:
            raise ValueError(f"{caller}: decision regions need samples of 2 features, got {X_arr.shape[1]}")
        y_arr = np.asarray(pair[1])
        if y_arr.shape != (len(X_arr),) or y_arr.dtype.kind not in "iu":
            raise ValueError(f"{caller}: {name} needs one int class per sample, got shape {y_arr.shape} of {y_arr.dtype}")
        checked.append((X_arr, y_arr))
    (X_arr, y_arr), test = checked
    return X_arr, y_arr, test


def _grid_classes(model: Module, points: np.ndarray) -> np.ndarray:
    forward = getattr(model, "forward_numpy", None)
    if forward is None:
        return predict(model, points)
    out = forward(points)
    return (out[:, 0] > 0.0).astype(np.int64) if out.shape[1] == 1 else out.argmax(axis=1)


def _draw_regions(
    ax: object,
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    resolution: int = 200,
) -> None:
    everything = X if test is None else np.vstack([X, test[0]])
    low, high = everything.min(axis=0), everything.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1e-9)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    classes = _grid_classes(model, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    nclasses = int(max(classes.max(), y.max(), -1 if test is None else test[1].max())) + 1
    colours = [f"C{k % 10}" for k in range(nclasses)]
    ax.contourf(gx, gy, classes, levels=np.arange(nclasses + 1) - 0.5, colors=colours, alpha=0.25)
    for k in range(nclasses):
        ax.scatter(*X[y == k].T, s=14, color=colours[k], edgecolor="k", linewidth=0.3, label=f"class {k}")
        if test is not None:
            ax.scatter(*test[0][test[1] == k].T, s=24, color=colours[k], marker="x")
    title = "decision regions" + (" (x = test samples)" if test is not None else "")
    ax.set(title=title, xlabel="x1", ylabel="x2")
    ax.legend(loc="best", fontsize="small")
