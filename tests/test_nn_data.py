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
