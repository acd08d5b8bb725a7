"""nn.data: the bundled iris copy, the stratified split and standardisation."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import nn

# sha256 of the arrays of scikit-learn 1.9.1's load_iris(): data as C-ordered float64, target as int64.
SKLEARN_IRIS_DATA_SHA256 = "012f498fe9c8b3b34212c3c5d98e1f03f2f79931cd49349beb1bad64dcf164a7"
SKLEARN_IRIS_TARGET_SHA256 = "734737f11162991213afc3a96aa5e8823b2d9cdcfb8992df1e85a0bae44b2395"


def sha256(arr: np.ndarray, dtype: type) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr, dtype=dtype).tobytes()).hexdigest()


def test_iris_is_identical_to_scikit_learns_copy() -> None:
    ds = nn.load_iris()
    assert ds.data.shape == (150, 4) and ds.data.dtype == np.float64
    assert ds.target.shape == (150,) and ds.target.dtype.kind == "i"
    assert sha256(ds.data, np.float64) == SKLEARN_IRIS_DATA_SHA256
    assert sha256(ds.target, np.int64) == SKLEARN_IRIS_TARGET_SHA256
    assert ds.feature_names == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    assert ds.target_names == ["setosa", "versicolor", "virginica"]


def test_iris_class_counts_and_known_rows() -> None:
    ds = nn.load_iris()
    assert np.bincount(ds.target).tolist() == [50, 50, 50]
    assert ds.data[0].tolist() == [5.1, 3.5, 1.4, 0.2] and ds.target_names[ds.target[0]] == "setosa"
    assert ds.data[50].tolist() == [7.0, 3.2, 4.7, 1.4] and ds.target_names[ds.target[50]] == "versicolor"
    assert ds.data[149].tolist() == [5.9, 3.0, 5.1, 1.8] and ds.target_names[ds.target[149]] == "virginica"
    # samples 35 and 38 as in Fisher's paper (the UCI file has 4.9,3.1,1.5,0.1 and 4.9,3.1,1.5,0.1)
    assert ds.data[34].tolist() == [4.9, 3.1, 1.5, 0.2]
    assert ds.data[37].tolist() == [4.9, 3.6, 1.4, 0.1]
    assert ds.target.tolist() == [0] * 50 + [1] * 50 + [2] * 50


def test_return_X_y_and_fresh_arrays() -> None:
    X, y = nn.load_iris(return_X_y=True)
    X[0, 0] = -1.0
    y[0] = 2
    ds = nn.load_iris()
    assert ds.data[0, 0] == 5.1 and ds.target[0] == 0


# -- the split ---------------------------------------------------------------------------------------------


def test_split_is_stratified_disjoint_and_complete() -> None:
    X, y = nn.load_iris(return_X_y=True)
    ids = np.arange(150)
    id_train, id_test, y_train, y_test = nn.train_test_split(ids, y, test_size=0.2, seed=0)
    assert (len(id_train), len(id_test)) == (120, 30)
    assert np.bincount(y_train).tolist() == [40, 40, 40]
    assert np.bincount(y_test).tolist() == [10, 10, 10]
    assert sorted(id_train.tolist() + id_test.tolist()) == list(range(150))
    np.testing.assert_array_equal(y[id_train], y_train)  # rows and labels stay paired
    np.testing.assert_array_equal(y[id_test], y_test)
    assert y_train[:40].tolist() != sorted(y_train[:40].tolist())  # shuffled, not class by class


def test_split_seeds() -> None:
    X, y = nn.load_iris(return_X_y=True)
    a, b, c = (nn.train_test_split(X, y, seed=s)[1] for s in (3, 3, 4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_split_keeps_at_least_one_sample_per_class_on_each_side() -> None:
    y = np.array([0, 0, 0, 1, 1])
    X_train, X_test, y_train, y_test = nn.train_test_split(np.arange(5), y, test_size=0.1, seed=0)
    assert sorted(y_test.tolist()) == [0, 1] and sorted(y_train.tolist()) == [0, 0, 1]


def test_split_errors() -> None:
    with pytest.raises(ValueError, match="X has 3 rows, y has 2 labels"):
        nn.train_test_split(np.zeros((3, 2)), [0, 1], seed=0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        nn.train_test_split(np.zeros((4, 2)), [0, 0, 1, 1], test_size=1.0)
    with pytest.raises(ValueError, match="class 1 has 1 sample"):
        nn.train_test_split(np.zeros((3, 2)), [0, 0, 1], seed=0)


# -- standardisation ----------------------------------------------------------------------------------


def test_standardizer_closed_form() -> None:
    scaler = nn.Standardizer().fit([[1.0, 10.0], [3.0, 10.0]])
    assert scaler.mean.tolist() == [2.0, 10.0]
    assert scaler.std.tolist() == [1.0, 1.0]  # the constant column gets std 1
    assert scaler.transform([[5.0, 12.0]]).tolist() == [[3.0, 2.0]]  # the training set's mean and std


def test_standardized_iris_has_mean_0_and_std_1() -> None:
    X, _ = nn.load_iris(return_X_y=True)
    Z = nn.Standardizer().fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-14)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-14)


def test_standardizer_errors() -> None:
    with pytest.raises(RuntimeError, match="before transform"):
        nn.Standardizer().transform([[1.0]])
    scaler = nn.Standardizer().fit([[1.0, 2.0]])
    with pytest.raises(ValueError, match="fitted on 2 features, got 3"):
        scaler.transform([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="2-D"):
        nn.Standardizer().fit([1.0, 2.0])


# -- digits ---------------------------------------------------------------------------------------------------

# sha256 of nn/data/digits.csv.gz, byte for byte scikit-learn 1.9.1's sklearn/datasets/data/digits.csv.gz.
DIGITS_FILE_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
# sha256 of the arrays of scikit-learn 1.9.1's load_digits(): data as C-ordered float64, target as int64.
SKLEARN_DIGITS_DATA_SHA256 = "20def7f70a702f0af9732fbba4375e147a7d54fe70d8c45569b8e7c1c7010c10"
SKLEARN_DIGITS_TARGET_SHA256 = "a3c91c262eddcf7ba8f0e37507c30284493c9b20412ffe4af30d536401f7ba21"


def test_the_bundled_digits_file_is_scikit_learns() -> None:
    from importlib import resources

    raw = resources.files("nn").joinpath("data/digits.csv.gz").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == DIGITS_FILE_SHA256
    assert nn.data.DIGITS_FILE_SHA256 == DIGITS_FILE_SHA256


def test_digits_are_identical_to_scikit_learns_copy() -> None:
    ds = nn.load_digits()
    assert ds.data.shape == (1797, 64) and ds.data.dtype == np.float64
    assert ds.target.shape == (1797,) and ds.target.dtype == np.int64
    assert sha256(ds.data, np.float64) == SKLEARN_DIGITS_DATA_SHA256
    assert sha256(ds.target, np.int64) == SKLEARN_DIGITS_TARGET_SHA256
    assert np.bincount(ds.target).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert ds.data.min() == 0 and ds.data.max() == 16 and np.array_equal(ds.data, ds.data.round())
    assert ds.images.shape == (1797, 8, 8) and np.array_equal(ds.images[5], ds.data[5].reshape(8, 8))
    assert ds.feature_names[:2] == ["pixel_0_0", "pixel_0_1"] and ds.feature_names[63] == "pixel_7_7"
    assert ds.target_names == [str(k) for k in range(10)]
    # the first image is a 0: a ring of ink around an empty middle
    assert ds.target[0] == 0 and ds.images[0][3:5, 3:5].max() == 0 and ds.images[0][3:5, [1, 6]].min() >= 4
    assert "Optical Recognition of Handwritten Digits" in ds.source and "CC BY 4.0" in ds.license
    assert "1797 samples, 64 features" in repr(ds)


def test_digits_return_X_y_and_fresh_arrays() -> None:
    X, y = nn.load_digits(return_X_y=True)
    X[0, 0] = 99.0
    ds = nn.load_digits()
    assert ds.data[0, 0] == 0.0 and ds.images[0, 0, 0] == 0.0
    assert "CC BY 4.0" in nn.load_iris().license and "Fisher" in nn.load_iris().source


def test_a_damaged_digits_file_is_refused(monkeypatch) -> None:
    from importlib import resources

    class Damaged:
        def joinpath(self, name: str):
            return self

        def read_bytes(self) -> bytes:
            return b"not the digits"

    monkeypatch.setattr(resources, "files", lambda package: Damaged())
    with pytest.raises(RuntimeError, match="digits.csv.gz is damaged"):
        nn.load_digits()


# -- moons and spirals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 7, 100, 101])
def test_moons_without_noise_lie_exactly_on_scikit_learns_half_circles(n: int) -> None:
    X, y = nn.make_moons(n, noise=0.0)
    n_outer, n_inner = n // 2, n - n // 2
    t_outer, t_inner = np.linspace(0, np.pi, n_outer), np.linspace(0, np.pi, n_inner)
    assert X.shape == (n, 2) and y.tolist() == [0] * n_outer + [1] * n_inner
    np.testing.assert_array_equal(X[:n_outer], np.column_stack([np.cos(t_outer), np.sin(t_outer)]))
    np.testing.assert_array_equal(X[n_outer:], np.column_stack([1 - np.cos(t_inner), 1 - np.sin(t_inner) - 0.5]))
    # on the circles: radius 1 around (0, 0) and around (1, 0.5), upper and lower halves
    np.testing.assert_allclose(np.hypot(*X[:n_outer].T), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.hypot(X[n_outer:, 0] - 1, X[n_outer:, 1] - 0.5), 1.0, rtol=1e-15)
    assert X[:n_outer, 1].min() >= 0.0 and X[n_outer:, 1].max() <= 0.5


def test_moons_noise_is_seeded_gaussian() -> None:
    clean, _ = nn.make_moons(2000)
    a, y = nn.make_moons(2000, noise=0.1, seed=3)
    b, _ = nn.make_moons(2000, noise=0.1, seed=3)
    c, _ = nn.make_moons(2000, noise=0.1, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    offsets = a - clean
    assert abs(offsets.mean()) < 0.01 and abs(offsets.std() - 0.1) < 0.005
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [1000, 1000]


@pytest.mark.parametrize("classes", [2, 3])
def test_spirals_without_noise_lie_on_their_arms(classes: int) -> None:
    X, y = nn.make_spirals(50, classes=classes)
    assert X.shape == (50 * classes, 2) and np.bincount(y).tolist() == [50] * classes
    radius = np.hypot(*X.T)
    np.testing.assert_allclose(radius, np.tile(np.arange(1, 51) / 50, classes), rtol=1e-14)
    angle = np.arctan2(X[:, 1], X[:, 0])
    expected = 2 * np.pi * (y / classes + radius)
    turns = (angle - expected) / (2 * np.pi)
    np.testing.assert_allclose(turns, np.round(turns), atol=1e-12)  # the same angle up to whole turns
    # arm k is arm 0 turned by k / classes of a circle
    c, s = np.cos(2 * np.pi / classes), np.sin(2 * np.pi / classes)
    np.testing.assert_allclose(X[y == 1], X[y == 0] @ np.array([[c, s], [-s, c]]), atol=1e-14)


def test_spirals_noise_is_seeded() -> None:
    a, _ = nn.make_spirals(30, classes=3, noise=0.2, seed=0)
    b, _ = nn.make_spirals(30, classes=3, noise=0.2, seed=0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, nn.make_spirals(30, classes=3)[0])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: nn.make_moons(-5), ValueError, r"make_moons: n_samples must be an int >= 2, got -5"),
        (lambda: nn.make_moons(1), ValueError, r"n_samples must be an int >= 2, got 1"),
        (lambda: nn.make_moons(10.0), ValueError, r"n_samples must be an int >= 2, got 10.0"),
        (lambda: nn.make_moons(10, noise=-0.1), ValueError, r"make_moons: noise must be a finite number >= 0"),
        (lambda: nn.make_moons(10, noise=float("nan")), ValueError, r"noise must be a finite number >= 0"),
        (lambda: nn.make_moons(10, seed=-1), ValueError, r"make_moons: seed must be a whole number >= 0, got -1"),
        (lambda: nn.make_moons(10, seed=1.5), TypeError, r"make_moons: seed must be a whole number >= 0, .* got float: 1.5"),
        (lambda: nn.make_moons(10, seed="a"), TypeError, r"seed must be a whole number >= 0"),
        (lambda: nn.make_spirals(0), ValueError, r"make_spirals: n_per_class must be an int >= 1, got 0"),
        (lambda: nn.make_spirals(10, classes=1), ValueError, r"make_spirals: classes must be an int >= 2, got 1"),
        (lambda: nn.make_spirals(10, noise=-1), ValueError, r"make_spirals: noise must be"),
        (lambda: nn.make_spirals(10, seed=-3), ValueError, r"make_spirals: seed must be a whole number >= 0, got -3"),
        (lambda: nn.train_test_split(np.zeros((4, 1)), [0, 0, 1, 1], seed=-1), ValueError, r"train_test_split: seed"),
    ],
)
def test_generator_errors_are_clear(call, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_a_numpy_generator_is_a_valid_seed() -> None:
    X1, _ = nn.make_moons(20, noise=0.1, seed=np.random.default_rng(5))
    X2, _ = nn.make_moons(20, noise=0.1, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(X1, X2)
    X3, _ = nn.make_moons(20, noise=0.1, seed=np.int64(5))
    np.testing.assert_array_equal(X1, X3)  # an int seed and the Generator made from it agree
