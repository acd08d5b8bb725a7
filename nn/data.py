"""Data: the bundled iris and digits data sets, two toy 2-D generators (moons, spirals), a stratified
train/test split and feature standardisation.

The iris copy in ``nn/data/iris.csv`` has the same 150 x 4 numbers, class order and feature names as
the copy scikit-learn ships (``sklearn.datasets.load_iris``), which follows Fisher's 1936 paper
(it differs from the UCI file in samples 35 and 38). ``nn/data/digits.csv.gz`` is byte for byte the
file scikit-learn ships for ``sklearn.datasets.load_digits``: the test set of UCI's optical
recognition of handwritten digits (see ``nn/data/README.md``). Neither needs a network or
scikit-learn.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import numbers
from dataclasses import dataclass
from importlib import resources

import numpy as np

from autograd.engine import as_finite_float

from .validation import Seed, float_matrix, make_rng

IRIS_FEATURE_NAMES: tuple[str, ...] = (
    "sepal length (cm)",
    "sepal width (cm)",
    "petal length (cm)",
    "petal width (cm)",
)
IRIS_TARGET_NAMES: tuple[str, ...] = ("setosa", "versicolor", "virginica")
IRIS_SOURCE = (
    "R. A. Fisher (1936), The use of multiple measurements in taxonomic problems, Annals of Eugenics 7(2); "
    "as in UCI's Iris data set (https://archive.ics.uci.edu/dataset/53) with samples 35 and 38 as in the "
    "paper, as scikit-learn ships it"
)
DIGITS_SOURCE = (
    "E. Alpaydin and C. Kaynak (1998), Optical Recognition of Handwritten Digits, UCI Machine Learning "
    "Repository (https://archive.ics.uci.edu/dataset/80): its test set (optdigits.tes), as scikit-learn "
    "ships it (sklearn/datasets/data/digits.csv.gz)"
)
UCI_LICENSE = "CC BY 4.0 (Creative Commons Attribution 4.0 International), as UCI licenses its data sets"

# sha256 of nn/data/digits.csv.gz, identical to scikit-learn's file; checked on every load.
DIGITS_FILE_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
DIGITS_SHAPE = (1797, 64)
DIGITS_FEATURE_NAMES: tuple[str, ...] = tuple(f"pixel_{row}_{col}" for row in range(8) for col in range(8))


@dataclass
class Dataset:
    """A data set as scikit-learn returns it.

    Attributes:
        data: the samples, a float array of shape ``(n_samples, n_features)``.
        target: each sample's class index, an int array of shape ``(n_samples,)``.
        feature_names: the name of each column of ``data``.
        target_names: the name of each class; ``target_names[target[i]]`` is sample ``i``'s class.
        source: where the data comes from (citation and address).
        license: the terms it may be used under.
        images: for image data (digits), ``data`` as an array of images (``(n, 8, 8)``), else None.
    """

    data: np.ndarray
    target: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    source: str = ""
    license: str = ""
    images: np.ndarray | None = None

    def __repr__(self) -> str:
        features = (
            f"{len(self.feature_names)} features" if len(self.feature_names) > 8 else f"features={self.feature_names}"
        )
        return f"Dataset({self.data.shape[0]} samples, {features}, classes={self.target_names})"


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
    return Dataset(X, y, list(IRIS_FEATURE_NAMES), list(IRIS_TARGET_NAMES), IRIS_SOURCE, UCI_LICENSE)


def load_digits(return_X_y: bool = False) -> Dataset | tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits: 1,797 images of 64 pixels, each an int from 0 (white) to 16
    (black), of the digits 0 to 9 (174 to 183 of each).

    Returns a ``Dataset`` with ``.data`` (1797 x 64 floats, the image rows one after the other, so
    ``data[i].reshape(8, 8)`` is image ``i``), ``.images`` (the same as a 1797 x 8 x 8 array),
    ``.target`` (the digit, 0 to 9), ``.feature_names`` ("pixel_0_0" ... "pixel_7_7", row then
    column), ``.target_names`` ("0" ... "9"), ``.source`` and ``.license`` (CC BY 4.0); or ``(X, y)``
    with ``return_X_y=True``. The numbers are those of ``sklearn.datasets.load_digits()``, from the
    same file, bundled with chainrule (no network). Each call returns new arrays.
    """
    raw = resources.files("nn").joinpath("data/digits.csv.gz").read_bytes()
    if hashlib.sha256(raw).hexdigest() != DIGITS_FILE_SHA256:
        raise RuntimeError("the bundled digits.csv.gz is damaged (its sha256 differs from scikit-learn's file)")
    table = np.loadtxt(io.StringIO(gzip.decompress(raw).decode("ascii")), delimiter=",")
    X, y = table[:, :-1], table[:, -1].astype(np.int64)
    if return_X_y:
        return X, y
    return Dataset(
        X, y, list(DIGITS_FEATURE_NAMES), [str(k) for k in range(10)], DIGITS_SOURCE, UCI_LICENSE,
        images=X.reshape(-1, 8, 8).copy(),
    )


def _check_count(n: object, what: str, minimum: int) -> int:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {n!r}")
    return int(n)


def _check_noise(noise: object, caller: str) -> float:
    try:
        value = as_finite_float(noise, "noise")  # TypeError, or ValueError for NaN, inf, an int too large
    except (TypeError, ValueError):
        value = math.nan
    if not value >= 0.0:
        try:
            shown = repr(noise)
        except ValueError:  # an int longer than Python writes out
            shown = "an int far too large"
        shown = shown if len(shown) <= 60 else shown[:40] + "..."
        raise ValueError(f"{caller}: noise must be a finite number >= 0 (the standard deviation), got {shown}")
    return value


def make_moons(n_samples: int = 100, noise: float = 0.0, seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, the data of micrograd's demo; the points of scikit-learn's
    ``make_moons(n_samples, shuffle=False, noise=noise)``.

    Class 0 is the upper half of the unit circle, ``(cos t, sin t)``; class 1 the lower half circle
    ``(1 - cos t, 1 - sin t - 0.5)`` (centre ``(1, 0.5)``), each with ``t`` evenly spaced from 0 to pi:
    ``n_samples // 2`` points of class 0 first, then the rest of class 1. ``noise`` is the standard
    deviation of Gaussian noise added to every coordinate; with ``noise=0`` the points lie exactly on
    the circles. The same ``seed`` gives the same points.

    Returns:
        ``X`` (``n_samples x 2`` floats) and ``y`` (int class indices 0 and 1).
    """
    n = _check_count(n_samples, "make_moons: n_samples", 2)
    sd = _check_noise(noise, "make_moons")
    rng = make_rng(seed, "make_moons")
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = np.linspace(0.0, np.pi, n_outer)
    t_inner = np.linspace(0.0, np.pi, n_inner)
    # the same expressions as scikit-learn, so that the points agree to the last bit
    x = np.append(np.cos(t_outer), 1 - np.cos(t_inner))
    y = np.append(np.sin(t_outer), 1 - np.sin(t_inner) - 0.5)
    X = np.column_stack([x, y])
    if sd > 0.0:
        X += rng.normal(scale=sd, size=X.shape)
    labels = np.concatenate([np.zeros(n_outer, dtype=np.int64), np.ones(n_inner, dtype=np.int64)])
    return X, labels


def make_spirals(
    n_per_class: int = 100, classes: int = 2, noise: float = 0.0, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class, each turning once around the origin.

    Point ``i`` (from 1 to ``n``) of arm ``k`` sits at radius ``r = i / n`` and angle
    ``2 pi (k / classes + r)``: ``(r cos angle, r sin angle)``. The arms are rotated copies of each
    other and never meet. ``noise`` is the standard deviation of Gaussian noise added to every
    coordinate (0.1 already makes the outer turns overlap); with ``noise=0`` the points lie exactly on
    the arms. The same ``seed`` gives the same points. The classes come one after the other.

    Args:
        n_per_class: points per arm, at least 1.
        classes: the number of arms (2 or 3 are the usual; at least 2).

    Returns:
        ``X`` (``n_per_class * classes x 2`` floats) and ``y`` (int class indices).
    """
    n = _check_count(n_per_class, "make_spirals: n_per_class", 1)
    k = _check_count(classes, "make_spirals: classes", 2)
    sd = _check_noise(noise, "make_spirals")
    rng = make_rng(seed, "make_spirals")
    radius = np.arange(1, n + 1) / n
    arms = []
    for arm in range(k):
        angle = 2.0 * np.pi * (arm / k + radius)
        arms.append(np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]))
    X = np.vstack(arms)
    if sd > 0.0:
        X += rng.normal(scale=sd, size=X.shape)
    return X, np.repeat(np.arange(k, dtype=np.int64), n)


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
