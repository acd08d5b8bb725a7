"""Training a classifier: ``fit`` with a progress bar, ``evaluate``, ``predict`` and loss/accuracy plots.

Each sample's forward pass builds a fresh graph of ``Value`` nodes; a mini-batch's loss is the mean of
its samples' cross-entropy losses, and one ``backward()`` of it fills every parameter's ``.grad``.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from autograd import Value

from .functional import cross_entropy
from .module import Module
from .optim import SGD, Adam, Optimizer
from .validation import Seed, float_matrix, make_rng

if TYPE_CHECKING:
    from matplotlib.figure import Figure


OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
DEFAULT_LR: dict[str, float] = {"sgd": 0.1, "adam": 0.01}
"""The learning rate ``fit`` uses when given an optimizer by name and no ``lr``."""

PLOT_INSTALL_HINT = 'plotting needs matplotlib, which is an optional extra: pip install "chainrule[plot]"'


@dataclass
class History:
    """What ``fit`` records, one entry per epoch.

    ``train_loss`` and ``train_accuracy`` are averaged over the epoch's mini-batches as they were
    trained (so they describe the model as it changed during the epoch, as Keras reports them);
    ``test_loss`` and ``test_accuracy`` are measured on the test data after each epoch, and stay
    empty when ``fit`` was given none. Losses are mean cross-entropies, accuracies fractions in [0, 1].
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

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


def _labels(y: object, n: int, nclasses: int, caller: str) -> list[int]:
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"{caller}: y must hold one class index per sample ({n}), got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{caller}: y must hold int class indices, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= nclasses:
        raise ValueError(
            f"{caller}: y holds class {int(arr.min()) if arr.min() < 0 else int(arr.max())}, but the model has "
            f"{nclasses} outputs (classes 0 to {nclasses - 1})"
        )
    return arr.tolist()


def _logits(model: Callable[[list[Value]], Sequence[Value]], row: list[float]) -> Sequence[Value]:
    return model([Value(v) for v in row])


def _argmax(logits: Sequence[Value]) -> int:
    best = 0
    for k in range(1, len(logits)):
        if logits[k].data > logits[best].data:
            best = k
    return best


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


def _progress_bar_class():
    """tqdm's notebook widget where it can be shown, its text bar everywhere else.

    ``tqdm.auto`` picks the widget in any Jupyter kernel and, without ipywidgets installed, warns
    ("IProgress not found") before falling back to text; asking for ipywidgets first avoids that.
    """
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is None:
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm


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
) -> History:
    """Train a classifier on ``(X, y)`` with mini-batches and cross-entropy loss; return its ``History``.

    Each epoch visits the samples in a new random order, in mini-batches of ``batch_size``; for each
    batch: ``zero_grad()``, the mean cross-entropy of the batch, ``backward()``, ``step()``.

    Args:
        model: a module that maps a list of input Values to a list of logits, one per class (an
            ``MLP``). It is trained in place.
        X: the training samples, shape ``(n, nin)``. y: their class indices (ints), shape ``(n,)``.
        epochs: the number of passes over the training data.
        lr: the learning rate, when ``optimizer`` is a name (default ``DEFAULT_LR[optimizer]``).
        optimizer: "sgd", "adam", or an ``Optimizer`` over ``model.parameters()`` (then set ``lr``
            and ``momentum`` on it, not here).
        momentum: SGD's momentum, when ``optimizer="sgd"``.
        batch_size: samples per update (the last batch of an epoch may be smaller).
        seed: the seed of the shuffling (the model's own seed sets its initial weights).
        test_data: ``(X_test, y_test)`` to measure after every epoch, or None.
        progress: show a progress bar (tqdm: a widget in notebooks that have ipywidgets, text elsewhere).

    Every argument is checked before the first update, so a bad one leaves the model untouched.
    """
    for name, count in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(count, numbers.Integral) or isinstance(count, bool) or count < 1:
            raise ValueError(f"fit: {name} must be a positive int, got {count!r}")
    epochs, batch_size = int(epochs), int(batch_size)
    rows = _rows(X, model, "fit")
    nclasses = len(_logits(model, rows[0]))
    labels = _labels(y, len(rows), nclasses, "fit")
    test_rows: list[list[float]] | None = None
    if test_data is not None:
        if not isinstance(test_data, (tuple, list)) or len(test_data) != 2:
            raise ValueError("fit: test_data must be a pair (X_test, y_test)")
        test_rows = _rows(test_data[0], model, "fit (test_data)")
        test_labels = _labels(test_data[1], len(test_rows), nclasses, "fit (test_data)")
    opt = _make_optimizer(model, optimizer, lr, momentum)
    rng = make_rng(seed, "fit")

    tqdm = _progress_bar_class()

    history = History()
    n = len(rows)
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    for _ in bar:
        order = rng.permutation(n).tolist()
        loss_sum = 0.0
        correct = 0
        for start in range(0, n, batch_size):
            losses = []
            for i in order[start : start + batch_size]:
                logits = _logits(model, rows[i])
                loss = cross_entropy(logits, labels[i])
                losses.append(loss)
                loss_sum += loss.data
                correct += _argmax(logits) == labels[i]
            batch_loss = _mean(losses)
            opt.zero_grad()
            batch_loss.backward()
            opt.step()
        history.train_loss.append(loss_sum / n)
        history.train_accuracy.append(correct / n)
        status = {"loss": f"{loss_sum / n:.4f}", "acc": f"{correct / n:.3f}"}
        if test_rows is not None:
            test_loss, test_acc = _evaluate(model, test_rows, test_labels)
            history.test_loss.append(test_loss)
            history.test_accuracy.append(test_acc)
            status["test_acc"] = f"{test_acc:.3f}"
        if progress:
            bar.set_postfix(status, refresh=False)
    bar.close()
    return history


def _evaluate(model: Module, rows: list[list[float]], labels: list[int]) -> tuple[float, float]:
    loss_sum = 0.0
    correct = 0
    for row, label in zip(rows, labels):
        logits = _logits(model, row)
        loss_sum += cross_entropy(logits, label).data
        correct += _argmax(logits) == label
    return loss_sum / len(rows), correct / len(rows)


def evaluate(model: Module, X: object, y: object) -> tuple[float, float]:
    """The model's mean cross-entropy loss and its accuracy (a fraction) on ``(X, y)``."""
    rows = _rows(X, model, "evaluate")
    nclasses = len(_logits(model, rows[0]))
    return _evaluate(model, rows, _labels(y, len(rows), nclasses, "evaluate"))


def predict(model: Module, X: object) -> np.ndarray:
    """The predicted class of each sample: the index of its largest logit (an int array)."""
    return np.array([_argmax(_logits(model, row)) for row in _rows(X, model, "predict")], dtype=np.int64)


def plot_history(history: History, path: str | os.PathLike[str] | None = None) -> Figure:
    """Loss and accuracy curves per epoch (train, and test if recorded), side by side.

    Returns a ``matplotlib.figure.Figure``: a notebook shows it inline when it is a cell's result.
    With ``path``, the figure is also written there (PNG unless the suffix says otherwise). The
    figure is made without ``pyplot``, so no window opens and no global figure state is kept.

    Raises:
        ImportError: matplotlib is not installed (``pip install "chainrule[plot]"``).
    """
    try:
        from matplotlib.figure import Figure  # noqa: F811 (the import for type checkers is not run)
    except ImportError:
        raise ImportError(PLOT_INSTALL_HINT) from None
    if history.epochs == 0:
        raise ValueError("plot_history: the history is empty (no epoch was recorded)")
    epochs = range(1, history.epochs + 1)
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(epochs, history.train_loss, label="train")
    ax_acc.plot(epochs, history.train_accuracy, label="train")
    if history.test_loss:
        ax_loss.plot(epochs, history.test_loss, label="test")
        ax_acc.plot(epochs, history.test_accuracy, label="test")
    ax_loss.set(title="loss (mean cross-entropy)", xlabel="epoch", ylabel="loss")
    ax_acc.set(title="accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0.0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
