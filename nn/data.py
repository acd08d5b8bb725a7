"""Data: the bundled iris data set, a stratified train/test split and feature standardisation.

The iris copy in ``nn/data/iris.csv`` has the same 150 x 4 numbers, class order and feature names as
the copy scikit-learn ships (``sklearn.datasets.load_iris``), which follows Fisher's 1936 paper
(it differs from the UCI file in samples 35 and 38). It needs no network and no scikit-learn.
"""

from __future__ import annotations

import csv
import io
import numbers
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .validation import Seed, float_matrix, make_rng

IRIS_FEATURE_NAMES: tuple[str, ...] = (
    "sepal length (cm)",
    "sepal width (cm)",
    "petal length (cm)",
    "petal width (cm)",
)
IRIS_TARGET_NAMES: tuple[str, ...] = ("setosa", "versicolor", "virginica")


@dataclass
class Dataset:
    """A data set as scikit-learn returns it.

    Attributes:
        data: the samples, a float array of shape ``(n_samples, n_features)``.
        target: each sample's class index, an int array of shape ``(n_samples,)``.
        feature_names: the name of each column of ``data``.
        target_names: the name of each class; ``target_names[target[i]]`` is sample ``i``'s class.
    """

    data: np.ndarray
    target: np.ndarray
    feature_names: list[str]
    target_names: list[str]

    def __repr__(self) -> str:
        return (
            f"Dataset({self.data.shape[0]} samples, features={self.feature_names}, "
            f"classes={self.target_names})"
        )


def load_iris(return_X_y: bool = False) -> Dataset | tuple[np.ndarray, np.ndarray]:
    """The iris data: 150 flowers, 4 measurements each, 50 of each of 3 species.

    Returns a ``Dataset`` with ``.data`` (150 x 4 floats, in cm), ``.target`` (0 = setosa,
    1 = versicolor, 2 = virginica), ``.feature_names`` and ``.target_names``; or ``(X, y)`` with
    ``return_X_y=True``. Each call returns new arrays.
    """
    text = resources.files("nn").joinpath("data/iris.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    expected = [*IRIS_FEATURE_NAMES, "species"]
    if header != expected or len(body) != 150:
        raise RuntimeError(f"the bundled iris.csv is damaged: header {header}, {len(body)} rows (expected 150)")
    X = np.array([[float(v) for v in row[:4]] for row in body])
    y = np.array([IRIS_TARGET_NAMES.index(row[4]) for row in body], dtype=np.int64)
    if return_X_y:
        return X, y
    return Dataset(X, y, list(IRIS_FEATURE_NAMES), list(IRIS_TARGET_NAMES))


def train_test_split(
    X: object, y: object, test_size: float = 0.2, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split samples into a training and a test set, stratified: each class is split in the same
    proportion, so both sets keep the class balance of the whole.

    From each class, ``round(test_size * n_class)`` samples (at least 1, and leaving at least 1 for
    training) are drawn at random for the test set; each set is then shuffled. The same ``seed``
    gives the same split.

    Args:
        X: the samples, an array-like of shape ``(n_samples, ...)``.
        y: their class labels (ints), shape ``(n_samples,)``.
        test_size: the fraction of each class held out, strictly between 0 and 1.
        seed: an int, a ``numpy.random.Generator`` or None.

    Returns:
        ``X_train, X_test, y_train, y_test`` (scikit-learn's order), new arrays.
    """
    X_arr = np.asarray(X)
    y_arr = np.asarray(y)
    if y_arr.ndim != 1:
        raise ValueError(f"y must be one label per sample (1-D), got shape {y_arr.shape}")
    n_rows = len(X_arr) if X_arr.ndim else 0
    if n_rows != len(y_arr):
        raise ValueError(f"X and y must have one row per sample: X has {n_rows} rows, y has {len(y_arr)} labels")
    if not isinstance(test_size, numbers.Real) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction strictly between 0 and 1, got {test_size!r}")
    rng = make_rng(seed, "train_test_split")
    train_idx: list[int] = []
    test_idx: list[int] = []
    for label in np.unique(y_arr):
        members = np.flatnonzero(y_arr == label)
        if len(members) < 2:
            raise ValueError(f"class {label.item()!r} has {len(members)} sample; a stratified split needs at least 2 per class")
        n_test = min(max(int(round(test_size * len(members))), 1), len(members) - 1)
        shuffled = rng.permutation(members)
        test_idx.extend(shuffled[:n_test].tolist())
        train_idx.extend(shuffled[n_test:].tolist())
    train = rng.permutation(train_idx)
    test = rng.permutation(test_idx)
    return X_arr[train], X_arr[test], y_arr[train], y_arr[test]


class Standardizer:
    """Rescale each feature to mean 0 and standard deviation 1, as ``(x - mean) / std``.

    Fit it on the training set only and apply the same ``mean``/``std`` to the test set, so nothing
    about the test set leaks into training::

        scaler = Standardizer().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    A feature that is constant in the training set gets ``std = 1`` (it is only centred).

    Attributes (after ``fit``):
        mean, std: per-feature arrays.
    """

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, X: object) -> Standardizer:
        """Learn each feature's mean and (population) standard deviation from ``X``; returns self."""
        arr = self._as_2d(X, "fit")
        if len(arr) == 0:
            raise ValueError("Standardizer.fit needs at least one sample")
        std = arr.std(axis=0)
        self.mean = arr.mean(axis=0)
        self.std = np.where(std > 0.0, std, 1.0)
        return self

    def transform(self, X: object) -> np.ndarray:
        """``(X - mean) / std`` as a new array."""
        if self.mean is None or self.std is None:
            raise RuntimeError("call Standardizer.fit(X_train) before transform")
        arr = self._as_2d(X, "transform")
        if arr.shape[1] != len(self.mean):
            raise ValueError(f"Standardizer was fitted on {len(self.mean)} features, got {arr.shape[1]}")
        return (arr - self.mean) / self.std

    def fit_transform(self, X: object) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    @staticmethod
    def _as_2d(X: object, caller: str) -> np.ndarray:
        return float_matrix(X, f"Standardizer.{caller}")
