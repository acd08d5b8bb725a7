"""nn.train: a seeded training run, what fit records, its checks, evaluate/predict and the plot."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import nn
from autograd import Value


@pytest.fixture(scope="module")
def iris_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = nn.load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = nn.train_test_split(X, y, test_size=0.2, seed=1)
    scaler = nn.Standardizer().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def test_seeded_training_run_exceeds_90_percent(iris_split) -> None:
    X_train, X_test, y_train, y_test = iris_split
    model = nn.MLP(4, [8, 3], activation="sigmoid", seed=1)
    history = nn.fit(
        model, X_train, y_train, epochs=12, optimizer="adam", lr=0.05, batch_size=16, seed=1,
        test_data=(X_test, y_test), progress=False,
    )
    train_loss, train_accuracy = nn.evaluate(model, X_train, y_train)
    test_loss, test_accuracy = nn.evaluate(model, X_test, y_test)
    assert train_accuracy > 0.9 and test_accuracy > 0.9  # chance is 1/3
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.epochs == 12 and len(history.test_accuracy) == 12
    assert history.test_accuracy[-1] == test_accuracy and history.test_loss[-1] == pytest.approx(test_loss, rel=1e-15)


def test_fit_is_reproducible(iris_split) -> None:
    X_train, _, y_train, _ = iris_split
    runs = []
    for _ in range(2):
        model = nn.MLP(4, [3, 3], seed=0)
        history = nn.fit(model, X_train[:30], y_train[:30], epochs=2, batch_size=8, seed=5, progress=False)
        runs.append((history.train_loss, [p.data for p in model.parameters()]))
    assert runs[0] == runs[1]


def test_one_full_batch_epoch_is_one_gradient_descent_step(iris_split) -> None:
    """With batch_size = n, an epoch of SGD is p -= lr * d(mean loss)/dp, computed here by hand."""
    X_train, _, y_train, _ = iris_split
    X, y = X_train[:20], y_train[:20]
    model, twin = nn.MLP(4, [5, 3], seed=3), nn.MLP(4, [5, 3], seed=3)
    nn.fit(model, X, y, epochs=1, optimizer=nn.SGD(model.parameters(), lr=0.5), batch_size=20, seed=0, progress=False)
    losses = [nn.cross_entropy(twin([Value(v) for v in row]), int(label)) for row, label in zip(X, y)]
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    (total * (1 / 20)).backward()
    expected = [p.data - 0.5 * p.grad for p in twin.parameters()]
    assert [p.data for p in model.parameters()] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_history_without_test_data(iris_split) -> None:
    X_train, _, y_train, _ = iris_split
    history = nn.fit(nn.MLP(4, [3], seed=0), X_train[:16], y_train[:16], epochs=3, progress=False)
    assert history.epochs == 3 and history.test_loss == [] and history.test_accuracy == []
    assert all(0.0 <= a <= 1.0 for a in history.train_accuracy)


def test_progress_bar_can_be_turned_off(iris_split, capsys) -> None:
    X_train, _, y_train, _ = iris_split
    nn.fit(nn.MLP(4, [3], seed=0), X_train[:8], y_train[:8], epochs=2, progress=True)
    assert "training" in capsys.readouterr().err
    nn.fit(nn.MLP(4, [3], seed=0), X_train[:8], y_train[:8], epochs=2, progress=False)
    assert capsys.readouterr().err == ""


def test_bad_arguments_leave_the_model_untouched(iris_split) -> None:
    X_train, _, y_train, _ = iris_split
    model = nn.MLP(4, [3, 3], seed=0)
    before = [p.data for p in model.parameters()]
    bad_y = y_train.copy()
    bad_y[-1] = 3
    with pytest.raises(ValueError, match="y holds class 3, but the model has 3 outputs"):
        nn.fit(model, X_train, bad_y, epochs=1, progress=False)
    with pytest.raises(TypeError, match="int class indices"):
        nn.fit(model, X_train, y_train.astype(float), epochs=1, progress=False)
    with pytest.raises(ValueError, match="X has 3 features per sample but the model takes 4 inputs"):
        nn.fit(model, X_train[:, :3], y_train, epochs=1, progress=False)
    with pytest.raises(ValueError, match="one class index per sample"):
        nn.fit(model, X_train, y_train[:-1], epochs=1, progress=False)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        nn.fit(model, X_train, y_train, optimizer="rmsprop", progress=False)
    with pytest.raises(ValueError, match="give lr and momentum to the optimizer"):
        nn.fit(model, X_train, y_train, optimizer=nn.SGD(model.parameters(), lr=0.1), lr=0.1, progress=False)
    with pytest.raises(ValueError, match="momentum applies to 'sgd' only"):
        nn.fit(model, X_train, y_train, optimizer="adam", momentum=0.9, progress=False)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        nn.fit(model, X_train, y_train, epochs=0, progress=False)
    with pytest.raises(ValueError, match="test_data must be a pair"):
        nn.fit(model, X_train, y_train, test_data=X_train, progress=False)
    assert [p.data for p in model.parameters()] == before
    assert all(p.grad == 0.0 for p in model.parameters())


def test_evaluate_and_predict_agree_with_the_functions() -> None:
    model = nn.MLP(2, [2], activation="linear", seed=0)
    model.set_weights([([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])])  # logits = x
    X = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    y = np.array([0, 0, 0])
    assert nn.predict(model, X).tolist() == [0, 1, 0]
    loss, accuracy = nn.evaluate(model, X, y)
    assert accuracy == pytest.approx(2 / 3)
    expected = np.mean([np.log(np.exp(row).sum()) - row[0] for row in X])
    assert loss == pytest.approx(expected, rel=1e-14)


def test_plot_history_writes_a_png(tmp_path) -> None:
    history = nn.History([1.0, 0.5], [0.5, 0.8], [1.1, 0.7], [0.4, 0.7])
    path = tmp_path / "curves.png"
    fig = nn.plot_history(history, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [ax.get_title() for ax in fig.axes] == ["loss (mean cross-entropy)", "accuracy"]
    assert [line.get_label() for line in fig.axes[0].lines] == ["train", "test"]
    assert fig.axes[1].lines[1].get_ydata().tolist() == [0.4, 0.7]


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[plot\]"'):
        nn.plot_history(nn.History([1.0], [0.5]))
