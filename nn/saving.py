"""Saving a trained ``MLP`` to a JSON file and loading it back.

The file is plain JSON that a person can read::

    {
      "format": "chainrule.nn.MLP",
      "version": 1,
      "nin": 2,
      "nouts": [16, 16, 1],
      "activation": "relu",
      "parameters": {"L1.n1.w1": 0.4329, "L1.n1.w2": -1.0517, "L1.n1.b": 0.0, ...},
      "metadata": {...}
    }

``nin``, ``nouts`` and ``activation`` are the arguments of ``MLP(nin, nouts, activation)``;
``parameters`` holds every weight and bias by its label (``state_dict()``), written with Python's
shortest exact float repr, so that ``load`` gives back the same numbers bit for bit and the loaded
model computes identical outputs. ``metadata`` is optional: anything JSON can hold, for the caller
(the command line keeps the data set and the standardisation there).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import sys
from pathlib import Path
from typing import Any, Mapping

from autograd._files import atomic_write

from .module import MLP, check_activation, check_weight, mlp_parameter_count, mlp_parameter_labels

FORMAT = "chainrule.nn.MLP"
VERSION = 1
_KEYS = ("format", "version", "nin", "nouts", "activation", "parameters")


def save(
    model: MLP, path: str | os.PathLike[str], *, metadata: Mapping[str, Any] | None = None
) -> Path:
    """Write ``model`` to ``path`` as JSON (see the module docstring); return the path.

    Args:
        model: an ``MLP``.
        path: the file to write (replaced if it exists).
        metadata: optional JSON-serialisable information to keep with the model (a dict), returned by
            ``load(path, with_metadata=True)``.

    The file is written only after everything is checked, and atomically
    (``autograd._files.atomic_write``: a temporary file in the same folder, flushed and fsynced, then
    renamed over ``path``): an error, a full disk or an interruption leaves no stray file and an
    existing file at ``path`` as it was. A device or pipe (``/dev/stdout``) is written in place.

    Raises:
        TypeError: ``model`` is not an MLP, or ``metadata`` is not JSON-serialisable.
        ValueError: a parameter is NaN or infinite (JSON has no such numbers).
        OSError: the file cannot be written (the message names it); an existing one is unchanged.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"save() writes an nn.MLP, got {type(model).__name__}")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"save(): metadata must be a dict, got {type(metadata).__name__}")
    state = model.state_dict()
    for label, value in state.items():
        if not math.isfinite(value):
            raise ValueError(f"save(): parameter {label} is {value}; JSON cannot hold it and the model cannot be reloaded")
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "nin": model.nin,
        "nouts": list(model.nouts),
        "activation": model.activation,
        "parameters": state,
    }
    if metadata is not None:
        document["metadata"] = dict(metadata)
    try:
        text = json.dumps(document, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save(): metadata cannot be written as JSON: {exc}") from None
    return atomic_write(path, text + "\n")


def load(path: str | os.PathLike[str], *, with_metadata: bool = False) -> MLP | tuple[MLP, dict[str, Any]]:
    """The model saved at ``path``: a new ``MLP`` with the saved sizes, activation and parameters.

    With ``with_metadata=True``, returns ``(model, metadata)`` (an empty dict if none was saved).

    Everything in the file is checked before anything is built: the sizes must be the ones its
    parameters fill (a 114-byte file that claims a 5000 x 5000 layer is refused at once, without
    building 25 million parameters), and every parameter must be there, with a finite number.

    Raises:
        ValueError: the file is empty, truncated or not JSON, nested too deeply, has another format or
            version, its sizes or activation are invalid or do not fit its parameters, a parameter is
            missing, extra, not a number, NaN, infinite or too large for a float (a number too large
            for a float anywhere in the file is refused). The message names the file and the problem.
            Nothing is returned half loaded.
        OSError: the file cannot be read (FileNotFoundError if it does not exist).
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{where}: not a chainrule model file (not UTF-8 text)") from None
    if not text.strip():
        raise ValueError(f"{where}: the file is empty, not a saved model")
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        hint = " (the file looks truncated)" if truncated else ""
        raise ValueError(f"{where}: not valid JSON{hint}: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except _NotANumber as exc:
        raise ValueError(f"{where}: the file holds {exc.args[0]}, which is not a valid weight or size") from None
    except RecursionError:
        raise ValueError(f"{where}: the JSON is nested too deeply to be a saved model") from None
    model = _model_from(document, where)
    if with_metadata:
        metadata = document.get("metadata", {})
        if not isinstance(metadata, dict):
            raise ValueError(f"{where}: 'metadata' must be a JSON object, got {type(metadata).__name__}")
        return model, metadata
    return model


class _NotANumber(Exception):
    pass


# Python turns at most this many digits into an int (sys.get_int_max_str_digits(), 4300 by default); a
# longer one is refused while reading. Shorter ones too large for a float are refused where they are
# used, with their name (a weight, a size).
_MAX_INT_DIGITS = 4000


def _reject_constant(name: str) -> float:
    """``json.loads`` reads NaN, Infinity and -Infinity (not JSON, but Python writes them); refuse."""
    raise _NotANumber(name)


def _parse_int(text: str) -> int:
    """An int of the file; one too long for Python to read is refused, saying so."""
    digits = len(text.lstrip("-"))
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
    if digits > (min(limit, _MAX_INT_DIGITS) if limit else _MAX_INT_DIGITS):
        raise _NotANumber(f"an integer of {digits:,} digits (far too large for a float)")
    return int(text)


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _model_from(document: object, where: str) -> MLP:
    """Check every field against the others, then build the model and load its parameters (all or nothing)."""
    if not isinstance(document, dict):
        raise ValueError(f"{where}: a saved model is a JSON object, got a JSON {type(document).__name__}")
    if document.get("format") != FORMAT:
        raise ValueError(f"{where}: not a chainrule model file (format {_cut(repr(document.get('format')))}, expected {FORMAT!r})")
    missing = [key for key in _KEYS if key not in document]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(map(repr, missing))}")
    version = document["version"]
    if version != VERSION or isinstance(version, bool):
        raise ValueError(f"{where}: format version {_cut(repr(version))} is not supported (this chainrule reads version {VERSION})")
    nin, nouts = document["nin"], document["nouts"]
    if not _is_size(nin):
        raise ValueError(f"{where}: 'nin' must be a positive int, got {_cut(repr(nin))}")
    if not isinstance(nouts, list) or not nouts or not all(_is_size(n) for n in nouts):
        raise ValueError(f"{where}: 'nouts' must be a non-empty list of positive ints (layer sizes), got {_cut(repr(nouts))}")
    activation = document["activation"]
    try:
        check_activation(activation)
    except ValueError as exc:
        raise ValueError(f"{where}: {_cut(str(exc), 200)}") from None
    parameters = document["parameters"]
    if not isinstance(parameters, dict):
        raise ValueError(f"{where}: 'parameters' must be a JSON object of label: number, got {type(parameters).__name__}")
    # The sizes against the parameters, before building anything: their count, then their labels.
    # Listing the labels the sizes call for costs as much as the file's own (or 10,000) at most.
    count = mlp_parameter_count(nin, nouts)
    held = len(parameters)
    if count > 2 * held + 10_000:
        raise ValueError(
            f"{where}: its sizes ({_sizes(nin, nouts)}) make a network of {_number(count)} parameters, but the "
            f"file holds {held:,}; the sizes or the parameters were changed"
        )
    labels = list(mlp_parameter_labels(nin, nouts))
    absent = [label for label in labels if label not in parameters]
    if absent or count != held:
        expected = set(labels)
        extra = [key for key in parameters if key not in expected]
        raise ValueError(
            f"{where}: the parameters do not fit {_sizes(nin, nouts)} ({count:,} parameters; the file holds "
            f"{held:,}): missing {_some(absent)}; unexpected {_some(extra)}"
        )
    try:
        values = {label: check_weight(parameters[label], label) for label in labels}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    model = MLP(nin, nouts, activation=activation, seed=0)
    model.load_state_dict(values)
    return model


def _is_size(n: object) -> bool:
    return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1


def _number(n: int) -> str:
    """``12,345``, or ``about 10^400`` for a number too long to be worth writing out."""
    return f"{n:,}" if n < 10**15 else f"about 10^{int(n.bit_length() * 0.30103)}"


def _sizes(nin: int, nouts: list[int]) -> str:
    """``MLP 2 -> 16 -> 1``, shortened for many layers or huge sizes."""
    shown = [_number(n) for n in [nin, *nouts[:6]]]
    more = f" -> ... ({len(nouts)} layers)" if len(nouts) > 6 else ""
    return f"MLP {' -> '.join(shown)}{more}"


def _some(names: list[str], limit: int = 5) -> str:
    """``'a', 'b'`` or ``'a', 'b', ... (12 in all)``, or "none"."""
    if not names:
        return "none"
    shown = ", ".join(repr(_cut(name)) for name in names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names):,} in all)"
