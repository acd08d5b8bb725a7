"""``compare``: your hand-derived gradients against ``.grad``, node by node."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Union

from ..engine import Value, as_finite_float, describe, topological_order
from .naming import Names
from .report import FAIL, OK, CheckReport, check_tolerances, close, finish, make_row, require_value, staleness


def compare(
    root: Value,
    expected: Union[Mapping[Any, Any], Iterable[tuple[Any, Any]]],
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
) -> CheckReport:
    """Compare hand-derived gradients d root/d node with ``.grad``, one row per entry.

    Call ``root.backward()`` first. ``expected`` maps keys to your numbers; a key is

    * a label (``"w"``), or ``"#i"`` for the node at position ``i`` of ``topological_order(root)``
      (the names ``gradcheck``'s table shows for unlabelled nodes);
    * a node (a ``Value``);
    * an array of nodes (a numpy object array, or nested lists or tuples of Values or labels) with an
      array of numbers of the same shape: a layer's weight matrix against your dE/dW, for instance.
      Since lists and arrays cannot be dictionary keys, pass pairs for those:
      ``compare(E, [(W, dE_dW), ("b", 0.25)])``. (A tuple of nodes works as a dictionary key.)

    A row passes when ``|grad - expected| <= atol + rtol * |expected|``: the default ``rtol`` lets
    you write your numbers to 4 significant digits.

    Returns:
        a ``CheckReport`` with one row per number, in the order given (arrays row by row); each row's
        ``.numeric`` is your number and ``.key`` the key it came from.

    Raises:
        LabelError (a KeyError): a label that no node has (the message lists the labels there are), or
            one that several nodes share (pass the node, or ``"#i"``, instead).
        ValueError: a node outside the graph, an array of numbers of another shape, a node given twice,
            an empty ``expected``.
        TypeError: a number that is not a real number.
        BackwardNeededError: ``root.backward()`` has not been called.
        GradientCheckError: with ``raise_exception=True``, when a number disagrees or the graph is
            stale.

    A stale graph (values changed since backward, or gradients from another root's backward; see
    ``autograd.check.staleness``) is not compared: the report says so once and is not ok.
    """
    require_value(root, "compare")
    check_tolerances(atol, rtol)
    order = topological_order(root)
    names = Names(order, root)
    items = expected.items() if isinstance(expected, Mapping) else expected
    pairs = list(items)
    entries: list[tuple[Value, float, str]] = []
    for number, pair in enumerate(pairs, start=1):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"compare() needs a mapping or (key, number) pairs, got the entry {pair!r}")
        entries += _entries(pair[0], pair[1], names, f"entry {number} " if len(pairs) > 1 else "")
    if not entries:
        raise ValueError("compare() got nothing to compare: expected is empty")
    seen: dict[Value, str] = {}
    for node, _, where in entries:
        if node in seen:
            raise ValueError(f"{describe(node)} is given twice, as {seen[node]} and as {where}")
        seen[node] = where
    stale = staleness(names, "compare")
    if stale is not None:
        return finish(CheckReport("compare", root, names.root_name(), [], None, atol, rtol, stale=stale), raise_exception)
    consumers = names.consumers()
    rows = []
    for node, number, where in entries:
        status = OK if close(node.grad, number, atol, rtol) else FAIL
        rows.append(make_row(names, consumers, node, node.grad, number, status, "compare", key=where))
    report = CheckReport("compare", root, names.root_name(), rows, None, atol, rtol)
    return finish(report, raise_exception)


def _entries(key: Any, number: Any, names: Names, prefix: str) -> list[tuple[Value, float, str]]:
    """``(node, expected number, how the key was written)`` for one key of ``compare``; ``prefix`` names
    the entry in front of an array index (``[0, 1]``, or ``entry 2 [0, 1]`` when there are several)."""
    if isinstance(key, (str, Value)):
        node = names.lookup(key)
        return [(node, _real(number, f"the number for {_key_text(key, names)}"), _key_text(key, names))]
    import numpy as np  # only for arrays of nodes; the engine itself does not need numpy

    try:
        keys = np.array(key, dtype=object)
    except ValueError as exc:
        raise ValueError(
            f"compare(): the key {key!r} is neither a label, a node nor a rectangular array: {exc}"
        ) from None
    if keys.ndim == 0:
        raise TypeError(
            f"compare() keys must be labels, nodes or arrays of them, got {type(key).__name__}: {key!r}"
        )
    try:
        values = np.asarray(number, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"the numbers for an array of {keys.size} nodes must be an array of numbers, got {number!r}"
        ) from None
    if values.shape != keys.shape:
        raise ValueError(
            f"compare(): an array of nodes of shape {keys.shape} needs numbers of the same shape, "
            f"got shape {values.shape}"
        )
    found = []
    for index in np.ndindex(keys.shape):
        element = keys[index]
        where = f"{prefix}[{', '.join(map(str, index))}]"
        if not isinstance(element, (str, Value)):
            kind = type(element).__name__
            raise TypeError(f"compare(): element {where} of an array key is {kind}, not a node or label")
        node = names.lookup(element)
        found.append((node, _real(values[index], f"the number for {where}"), where))
    return found


def _key_text(key: Union[str, Value], names: Names) -> str:
    return repr(key) if isinstance(key, str) else names.name(key) if key in names.position else describe(key)


def _real(x: Any, what: str) -> float:
    return as_finite_float(x, what)
