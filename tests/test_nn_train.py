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


# -- one-output classifiers (micrograd's moons) ---------------------------------------------------------------


@pytest.mark.parametrize("loss", ["hinge", "cross_entropy"])
def test_one_output_network_learns_the_moons(loss: str) -> None:
    X, y = nn.make_moons(100, noise=0.1, seed=0)
    X_train, X_test, y_train, y_test = nn.train_test_split(X, y, test_size=0.2, seed=0)
    model = nn.MLP(2, [8, 8, 1], activation="relu", seed=0)  # micrograd's demo network at half width
    history = nn.fit(model, X_train, y_train, epochs=25, lr=0.03, batch_size=8, seed=0, loss=loss,
                     test_data=(X_test, y_test), progress=False)
    assert history.loss == loss and history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.train_accuracy[-1] >= 0.95 and history.test_accuracy[-1] >= 0.9
    scores = np.array([model(row.tolist()).data for row in X_test])
    assert nn.predict(model, X_test).tolist() == (scores > 0).astype(int).tolist()
    test_loss, test_accuracy = nn.evaluate(model, X_test, y_test, loss=loss)
    assert test_accuracy == history.test_accuracy[-1] and test_loss == pytest.approx(history.test_loss[-1], rel=1e-14)


def test_evaluate_one_output_losses_by_hand() -> None:
    model = nn.MLP(1, [1], activation="linear", seed=0)
    model.set_weights([([[1.0]], [0.0])])  # the output is the input
    X, y = np.array([[2.0], [0.5], [-0.25]]), np.array([1, 0, 0])
    hinge_loss, accuracy = nn.evaluate(model, X, y, loss="hinge")
    assert hinge_loss == pytest.approx((0.0 + 1.5 + 0.75) / 3, rel=1e-15) and accuracy == pytest.approx(2 / 3)
    ce, _ = nn.evaluate(model, X, y)
    expected = np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(0.5)), np.log1p(np.exp(-0.25))])
    assert ce == pytest.approx(expected, rel=1e-14)
    assert nn.predict(model, X).tolist() == [1, 1, 0]


def test_loss_errors() -> None:
    X, y = np.zeros((4, 2)), np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match="unknown loss 'mse'; choose one of 'cross_entropy', 'hinge'"):
        nn.fit(nn.MLP(2, [3], seed=0), X, y, loss="mse", progress=False)
    with pytest.raises(ValueError, match="hinge loss needs a one-output model .* this one has 3 outputs"):
        nn.fit(nn.MLP(2, [3], seed=0), X, y, loss="hinge", progress=False)
    with pytest.raises(ValueError, match=r"y holds class 2, but the model has one output \(two classes\)"):
        nn.fit(nn.MLP(2, [1], seed=0), X, y, progress=False)
    with pytest.raises(ValueError, match="fit: seed must be a whole number >= 0, got -1"):
        nn.fit(nn.MLP(2, [3], seed=0), X, y, seed=-1, progress=False)


# -- progress in notebooks ---------------------------------------------------------------------------------------


def test_a_widget_bar_is_followed_by_a_summary_line_that_survives_export(iris_split, capsys, monkeypatch) -> None:
    """A notebook's widget bar is lost in an HTML export; fit then prints one plain line as well."""
    from tqdm.std import tqdm

    X_train, X_test, y_train, y_test = iris_split
    monkeypatch.setattr(nn.train, "_progress_bar_class", lambda: (tqdm, True))
    history = nn.fit(nn.MLP(4, [3], seed=0), X_train[:8], y_train[:8], epochs=2, test_data=(X_test, y_test))
    out = capsys.readouterr().out
    assert out.startswith("fit: 2 epochs in ") and out.count("\n") == 1
    assert f"loss {history.train_loss[-1]:.4f}, accuracy {history.train_accuracy[-1]:.3f}" in out
    assert f"test accuracy {history.test_accuracy[-1]:.3f}" in out
    monkeypatch.setattr(nn.train, "_progress_bar_class", lambda: (tqdm, False))
    nn.fit(nn.MLP(4, [3], seed=0), X_train[:8], y_train[:8], epochs=2)
    assert capsys.readouterr().out == ""  # a text bar keeps its own last line


def test_in_a_notebook_without_ipywidgets_fit_prints_one_line_and_nothing_red(iris_split, capsys, monkeypatch) -> None:
    """Issue 21: a text bar's updates became 16-25 red stderr lines in a notebook exported as run."""
    from tqdm.std import tqdm

    X_train, X_test, y_train, y_test = iris_split
    monkeypatch.setattr(nn.train, "_progress_bar_class", lambda: (tqdm, False))
    monkeypatch.setattr(nn.train, "_in_jupyter_kernel", lambda: True)
    history = nn.fit(nn.MLP(4, [3], seed=0), X_train[:8], y_train[:8], epochs=3)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.count("\n") == 1 and captured.out.startswith("fit: 3 epochs in ")
    assert f"loss {history.train_loss[-1]:.4f}" in captured.out


def test_outside_a_notebook_the_bar_is_text() -> None:
    assert not nn.train._in_jupyter_kernel()
    tqdm_class, is_widget = nn.train._progress_bar_class()
    assert not is_widget and not tqdm_class.__module__.startswith("tqdm.notebook")


# -- decision regions -------------------------------------------------------------------------------------------------


def test_decision_regions_colour_the_plane_by_the_prediction(tmp_path) -> None:
    model = nn.MLP(2, [1], activation="linear", seed=0)
    model.set_weights([([[1.0], [0.0]], [0.0])])  # class 1 right of x1 = 0
    X, y = np.array([[-1.0, 0.0], [1.0, 1.0], [0.5, -1.0]]), np.array([0, 1, 1])
    path = tmp_path / "regions.png"
    fig = nn.plot_decision_regions(model, X, y, path, resolution=41)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.collections import PathCollection

    (ax,) = fig.axes
    assert ax.get_title() == "decision regions"
    grid_x = np.linspace(-1.2, 1.2, 41)
    classes = nn.train._grid_classes(model, np.column_stack([grid_x, np.zeros(41)]))
    assert classes.tolist() == (grid_x > 0).astype(int).tolist()
    # the points drawn are the samples, one scatter per class
    offsets = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    assert sorted(map(tuple, offsets.tolist())) == sorted(map(tuple, X.tolist()))


def test_grid_classes_agree_with_predict() -> None:
    X, y = nn.make_spirals(20, classes=3, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 3], activation="tanh", seed=2)
    grid = np.random.default_rng(1).uniform(-1.5, 1.5, size=(60, 2))
    assert nn.train._grid_classes(model, grid).tolist() == nn.predict(model, grid).tolist()


def test_plot_history_adds_the_regions_of_a_2d_model(tmp_path) -> None:
    X, y = nn.make_moons(40, noise=0.1, seed=0)
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    history = nn.fit(model, X, y, epochs=2, loss="hinge", progress=False)
    fig = nn.plot_history(history, tmp_path / "all.png", model=model, data=(X, y), test_data=(X[:5], y[:5]))
    assert [ax.get_title() for ax in fig.axes] == ["loss (mean hinge)", "accuracy", "decision regions (x = test samples)"]
    with pytest.raises(ValueError, match="give both model and data"):
        nn.plot_history(history, model=model)
    with pytest.raises(ValueError, match="decision regions need samples of 2 features, got 3"):
        nn.plot_decision_regions(nn.MLP(3, [1], seed=0), np.zeros((2, 3)), np.array([0, 1]))


# -- the cyclic garbage collector is paused while fit trains, and restored ------------------------------------


def test_fit_pauses_the_cyclic_gc_and_restores_it(iris_split, monkeypatch) -> None:
    import gc

    X_train, _, y_train, _ = iris_split
    seen = []
    original_step = nn.Adam.step

    def step(self) -> None:
        seen.append(gc.isenabled())
        original_step(self)

    monkeypatch.setattr(nn.Adam, "step", step)
    assert gc.isenabled()
    nn.fit(nn.MLP(4, [3], seed=0), X_train[:8], y_train[:8], epochs=1, batch_size=4, progress=False)
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:
        nn.fit(nn.MLP(4, [3], seed=0), X_train[:8], y_train[:8], epochs=1, progress=False)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_gc_is_restored_when_training_fails(iris_split) -> None:
    import gc

    X_train, _, y_train, _ = iris_split
    model = nn.MLP(4, [3], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    optimizer.step = lambda: (_ for _ in ()).throw(KeyboardInterrupt)  # the user stops training
    with pytest.raises(KeyboardInterrupt):
        nn.fit(model, X_train, y_train, epochs=3, optimizer=optimizer, progress=False)
    assert gc.isenabled()


def test_a_graph_is_freed_without_the_cyclic_gc() -> None:
    """What makes pausing the collector safe: a loss graph has no reference cycles."""
    import gc

    model = nn.MLP(3, [4, 2], seed=0)
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            loss = nn.cross_entropy(model([Value(0.5), Value(-1.0), Value(2.0)]), 1)
            loss.backward()
        del loss
        assert gc.collect() == 0  # nothing was left for the collector: reference counting freed it all
    finally:
        gc.enable()


def test_evaluate_and_predict_pause_the_gc_too(iris_split, monkeypatch) -> None:
    import gc

    X_train, _, y_train, _ = iris_split
    seen = []
    original = nn.train._predicted_class
    monkeypatch.setattr(nn.train, "_predicted_class", lambda outputs: seen.append(gc.isenabled()) or original(outputs))
    model = nn.MLP(4, [3], seed=0)
    nn.predict(model, X_train[:5])
    nn.evaluate(model, X_train[:5], y_train[:5])
    assert seen == [False] * 10 and gc.isenabled()
