"""Checks of the arguments that several of nn's functions take: seeds and tables of numbers.

Each check turns a bad argument into an error that names the function, the argument, what was given
and what is expected, instead of numpy's own words about its internals.
"""

from __future__ import annotations

import numbers
from typing import Union

import numpy as np

Seed = Union[int, np.random.Generator, None]
"""A seed of randomness: a whole number >= 0 (same seed, same result), a ``numpy.random.Generator``
(to share one stream of randomness), or None (fresh randomness)."""


def make_rng(seed: object, caller: str) -> np.random.Generator:
    """The random generator for ``seed`` (see ``Seed``); a TypeError or ValueError naming ``caller``."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"{caller}: seed must be a whole number >= 0, got {seed!r}")
        return np.random.default_rng(int(seed))
    raise TypeError(
        f"{caller}: seed must be a whole number >= 0, a numpy.random.Generator or None, "
        f"got {type(seed).__name__}: {seed!r}"
    )


def float_matrix(X: object, caller: str, name: str = "X") -> np.ndarray:
    """``X`` as a 2-D float array (samples x features), or a ValueError that says what is wrong with
    it: a value that is not a number (where), rows of different lengths (which), not 2-D, not finite."""
    try:
        arr = np.asarray(X, dtype=float)
    except OverflowError:
        raise ValueError(f"{caller}: {name} holds an int too large for a float") from None
    except (TypeError, ValueError):
        raise ValueError(f"{caller}: {name} must be a 2-D array of numbers (samples x features); {_what_is_wrong(X)}") from None
    if arr.ndim != 2:
        raise ValueError(f"{caller}: {name} must be a 2-D array (samples x features), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        row, column = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{caller}: {name} must be finite, but row {row} column {column} is {arr[row, column]}")
    return arr


def _what_is_wrong(X: object) -> str:
    """Why ``X`` is not a table of numbers, found by looking at it row by row."""
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        return f"got {type(X).__name__}: {X!r:.60}"
    rows = list(X)  # type: ignore[call-overload]
    lengths = []
    for i, row in enumerate(rows):
        values = [row] if isinstance(row, (str, bytes)) or not hasattr(row, "__len__") else list(row)
        for j, value in enumerate(values):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                return f"row {i} holds {type(value).__name__} {value!r:.40} at column {j}, not a number"
        lengths.append(len(values))
    if len(set(lengths)) > 1:
        first = lengths[0]
        i = next(i for i, n in enumerate(lengths) if n != first)
        return f"its rows have different lengths: row 0 has {first} values, row {i} has {lengths[i]}"
    return f"numpy cannot read it as a table of numbers (got {type(X).__name__})"
