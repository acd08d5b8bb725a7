"""Higher-order gradients: the derivative of a graph, built as another graph of Values.

``grad(root, inputs)`` gives d root / d input for each input. With ``create_graph=True`` each result is
a node of a new graph, connected to the original one, so it can be differentiated again (to any
order), drawn, explained, replayed and gradchecked like any graph::

    >>> from autograd import Value, grad
    >>> x = Value(0.5, label="x")
    >>> s = x.sigmoid()
    >>> s.label = "s"
    >>> (ds,) = grad(s, [x], create_graph=True)    # s (1 - s), as nodes that depend on x
    >>> ds.label
    'ds/dx'
    >>> (d2s,) = grad(ds, [x])                       # s (1 - s)(1 - 2s)
    >>> d2s.label, round(d2s.data, 6)
    ('d²s/dx²', -0.057557)

``hessian(root, inputs)`` is the matrix of second derivatives, as a numpy array.

How the derivative graph is built: reverse accumulation, exactly as ``backward`` does it, but with a
Value in place of each float. Each node's adjoint ``dE/dnode`` is a Value; walking the graph from the
root back to the inputs, every node passes ``adjoint[node] * local`` to each operand, where ``local``
is the operand's local derivative as an expression of Values, taken from the engine's op table
(``autograd.engine.local_rule``, which evaluates ``OPS[op].rule``). This module knows no derivative
of its own.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Optional, Union

from .engine import Constant, Value, _short, describe, gradients, local_rule, scope, topological_order

if TYPE_CHECKING:
    import numpy

__all__ = ["grad", "hessian", "derivative_label"]

Adjoint = Union[Value, float]
"""An adjoint while it is built: a Value, or a plain number while it is still a constant (the root's 1)."""


# -- the public functions ------------------------------------------------------------------------------
def grad(root: Value, inputs: Union[Value, Iterable[Value]], *, create_graph: bool = False) -> list[Value]:
    """d root / d input for each of ``inputs``: a list with one Value per input, in order.

    It neither reads nor writes any ``.grad``, and it changes nothing of ``root``'s graph (no node's
    data, grad, grad_pass, label or local derivatives). An input that ``root`` does not depend on
    gets 0.

    Args:
        root: the Value to differentiate.
        inputs: a Value or a sequence of Values (leaves or intermediate nodes; a result for each,
            also for a single Value).
        create_graph: False (the default): the results are ``Constant`` leaves holding the numbers,
            at the cost of one backward pass. True: the results are nodes of a new graph, built from
            the op table's derivative rules and connected to the original nodes, so they can be
            differentiated again with ``grad``, drawn, explained (after ``result.backward()``),
            replayed after changing an input's ``.data``, and gradchecked.

    Each result is labelled ``dE/dx`` from the root's label and the input's; repeated derivatives by
    one input read ``d²E/dx²``. An unlabelled root is "f". An unlabelled input is ``#i`` in a
    derivative graph, its position in ``topological_order(root)`` as ``autograd.check`` names nodes,
    and ``inputs[i]``, its place in the call, for numbers (naming it ``#i`` would take a second walk
    of the graph, as long as the backward pass itself) and for an input outside the root's graph.

    The derivative graph (``create_graph=True``):

    * Its new nodes are made inside ``autograd.scope("dE")`` (d of the root's name), so a drawing frames
      them apart from the original graph's nodes, which they use as operands.
    * Every adjoint is summed in the order ``backward`` sums gradients: consumers from the root back
      (reverse ``topological_order``), each consumer's operands left to right, each contribution
      ``adjoint[consumer] * local``. So every result's value equals the ``.grad`` that
      ``root.backward()`` would give (``==``; at most the sign of a zero differs).
    * Only what is needed is built, and every value stays exact: a product by a constant 1 (from
      ``+``, ``-``, and the root's own adjoint 1) is not made; a local derivative of -1 (``-``,
      ``neg``) subtracts instead of multiplying by -1; a contribution of a constant 0 (relu's slope
      where its input is <= 0) is left out; a node whose operands do not depend on any input is not
      differentiated. Constant slopes that the rules make (relu's 0 or 1) act as numbers, so relu's
      second derivative is 0.
    * Each result is a node of its own, labelled: where it would be the adjoint of another input as
      well, or a node of the original graph (d e^x/dx is e^x itself), it is that node times 1; a
      constant derivative is a ``Constant`` leaf. Adjoints of labelled intermediate nodes are
      labelled too (``dE/dh``), so the drawing reads as the backward pass written out.
    * Replaying it is exact as long as no relu's input changes sign (its slope is a constant 0 or 1
      chosen when the derivative graph was built).

    Raises:
        TypeError: ``root`` or an input is not a Value (the message names the argument), or
            ``create_graph`` is not a bool.
        ValueError: ``inputs`` is empty.
        ArithmeticError, ValueError: a derivative rule fails while the derivative graph is built (for
            example ``x ** 1.5`` at x = 0, whose second derivative is infinite); the message names the
            node, and nothing of the original graph has changed.
        FloatingPointError: a gradient overflows to inf (``create_graph=False``, as in ``backward``);
            every ``.grad`` is as it was before the call.
    """
    inputs = _check_arguments(root, inputs, "grad")
    if create_graph not in (True, False):
        got = f"{type(create_graph).__name__}: {_short(create_graph)}"
        raise TypeError(f"grad() needs create_graph to be True or False, got {got}")
    if not create_graph:
        names = _Names(root)  # no second walk of the graph to name unlabelled inputs: inputs[i]
        numbers = gradients(root, inputs)
        return [_constant(number, names.derivative(x, i)) for i, (x, number) in enumerate(zip(inputs, numbers))]
    return _derivative_graph(root, inputs)


def hessian(root: Value, inputs: Union[Value, Iterable[Value]]) -> "numpy.ndarray":
    """The matrix of second derivatives ``H[i, j] = d² root / d inputs[i] d inputs[j]``, n x n floats.

    Built on ``grad``: the first derivatives as a graph (``create_graph=True``), then one backward
    pass through each of them. ``H[i, j]`` and ``H[j, i]`` are computed along different paths, so the
    matrix is symmetric up to rounding (it is not symmetrized). Changes nothing of ``root``'s graph,
    also when it fails.

    Raises: as ``grad`` (FloatingPointError where a second derivative overflows).
    """
    import numpy as np

    inputs = _check_arguments(root, inputs, "hessian")
    first = grad(root, inputs, create_graph=True)
    matrix = np.empty((len(inputs), len(inputs)))
    for i, derivative in enumerate(first):
        matrix[i, :] = gradients(derivative, inputs)
    return matrix


# -- the derivative graph ---------------------------------------------------------------------------
def _derivative_graph(root: Value, inputs: list[Value]) -> list[Value]:
    order = topological_order(root)
    names = _Names(root, order)
    wanted = set(inputs)
    # The nodes that depend on an input: only they need an adjoint.
    relevant: set = set()
    for node in order:
        if node in wanted or any(p in relevant for p in node.parents):
            relevant.add(node)
    original = set(order)
    adjoint: dict = {root: 1.0}
    with scope(names.scope()):
        # The chain rule, as in backward: from the root back to the inputs.
        for node in reversed(order):
            upstream = adjoint.get(node)
            if upstream is None or not any(p in relevant for p in node.parents):
                continue
            try:
                locals_ = local_rule(node)
                for parent, local in zip(node.parents, locals_):
                    if parent in relevant:
                        _accumulate(adjoint, parent, upstream, local, original)
            except (ArithmeticError, ValueError) as exc:
                raise type(exc)(
                    f"grad(create_graph=True) could not build the derivative through {describe(node)}: {exc}; "
                    "nothing of the original graph was changed"
                ) from None
        results = _results(inputs, adjoint, original, names)
    _label_intermediates(order, adjoint, original, set(results), names, wanted)
    return results


def _accumulate(adjoint: dict, parent: Value, upstream: Adjoint, local: object, original: set) -> None:
    """``adjoint[parent] += upstream * local``, making no node that is not needed."""
    if isinstance(upstream, float) and upstream == 0.0:
        return  # the consumer's adjoint is a number that came to 0 (contributions cancelled): nothing flows
    number = _as_number(local, original)
    sign = 1.0
    if number is not None:
        if number == 0.0:
            return  # a constant 0: nothing flows (relu where its input is <= 0, a ** 0)
        if isinstance(upstream, float):
            term: Adjoint = upstream * number
        elif number in (1.0, -1.0):
            term, sign = upstream, number  # no product by +-1: add or subtract upstream itself
        else:
            term = upstream * number
    elif isinstance(upstream, float):
        if upstream in (1.0, -1.0):
            term, sign = local, upstream
        else:
            term = upstream * local
    else:
        term = upstream * local
    held = adjoint.get(parent)
    if held is None or (isinstance(held, float) and held == 0.0):  # nothing yet, or numbers that cancelled
        adjoint[parent] = term if sign > 0 else -term
    else:
        adjoint[parent] = held + term if sign > 0 else held - term


def _as_number(local: object, original: set) -> Optional[float]:
    """A local derivative as a float if it is a constant the rule gave (a number, or a Constant leaf the
    rule made, like relu's slope); None if it is a node that may depend on something.

    A Constant of the original graph stays a node: a user may change its ``.data`` and replay."""
    if isinstance(local, Value):
        return local.data if local.is_leaf and local not in original else None
    return float(local)


def _results(inputs: list[Value], adjoint: dict, original: set, names: _Names) -> list[Value]:
    """One labelled node per input: its adjoint, or a node of its own where the adjoint is not ours alone."""
    results: list[Value] = []
    taken: set = set()
    for i, x in enumerate(inputs):
        held = adjoint.get(x)
        if held is None or isinstance(held, float):
            result = _constant(0.0 if held is None else held, names.derivative(x, i))
        else:
            result = held * 1.0 if held in original or held in taken else held
            result.label = names.derivative(x, i)
        taken.add(result)
        results.append(result)
    return results


def _label_intermediates(
    order: list[Value], adjoint: dict, original: set, taken: set, names: _Names, wanted: set
) -> None:
    """Label ``dE/dh`` the adjoint of each labelled intermediate node ``h``, where it is a new node that
    no result or other node names."""
    for node in reversed(order):
        held = adjoint.get(node)
        if not node.label or node in wanted or not isinstance(held, Value):
            continue
        if held in original or held in taken or held.label:
            continue
        held.label = names.derivative(node, -1)
        taken.add(held)


def _constant(number: float, label: str) -> Value:
    result = Constant(number)
    result.label = label
    return result


# -- names ---------------------------------------------------------------------------------------------
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
# "dE/dx", "d²E/dx²", "d³(dE/dy)/dx³": a derivative's label, repeated n times by one variable.
_REPEATED = re.compile(r"d(?P<n>[⁰¹²³⁴⁵⁶⁷⁸⁹]*)(?P<f>.+)/d(?P<x>.+?)(?P=n)")
_PLAIN = re.compile(r"[\w#.']+")


def derivative_label(of: str, wrt: str) -> str:
    """The label of d ``of`` / d ``wrt``: "dE/dx"; "d²E/dx²" when ``of`` is "dE/dx"; "d(dE/dx)/dy".

    A name with spaces, operators or a slash is put in parentheses: "d(total CE)/db3".
    """
    return _label(_REPEATED.fullmatch(of), f"d{_grouped(of)}/d", wrt)


def _label(repeated: Optional[re.Match], prefix: str, wrt: str) -> str:
    """``derivative_label`` with the parts that depend only on ``of`` worked out already."""
    if repeated and repeated["x"] == wrt:
        n = int(repeated["n"].translate(_DIGITS) or 1) + 1
        power = str(n).translate(_SUPERSCRIPTS)
        return f"d{power}{repeated['f']}/d{wrt}{power}"
    return prefix + _grouped(wrt)


def _grouped(name: str) -> str:
    return name if _PLAIN.fullmatch(name) else f"({name})"


class _Names:
    """Names of a root and its nodes in derivative labels: the label, else "f" for the root, and for an
    unlabelled node ``#i``, its position in ``topological_order(root)`` (as ``autograd.check`` names
    it), when that order is at hand (``order``), else ``inputs[i]``, its place in the call."""

    def __init__(self, root: Value, order: Optional[list[Value]] = None) -> None:
        self.root = root
        self.order = order
        self._position: Optional[dict] = None
        of = self.root_name()
        self._repeated = _REPEATED.fullmatch(of)  # the root's label, read once for all the inputs
        self._prefix = f"d{_grouped(of)}/d"

    def root_name(self) -> str:
        return self.root.label or "f"

    def name(self, node: Value, index: int) -> str:
        if node is self.root:
            return self.root_name()
        if node.label:
            return node.label
        if self.order is not None:
            if self._position is None:
                self._position = {n: i for i, n in enumerate(self.order)}
            position = self._position.get(node)
            if position is not None:
                return f"#{position}"
        return f"inputs[{index}]"

    def derivative(self, node: Value, index: int) -> str:
        return _label(self._repeated, self._prefix, self.name(node, index))

    def scope(self) -> str:
        """The scope of the derivative graph's new nodes: "dE" (a "." would nest scopes, so it becomes "·")."""
        return f"d{_grouped(self.root_name())}".replace(".", "·")


# -- arguments -------------------------------------------------------------------------------------------
def _check_arguments(root: object, inputs: object, function: str) -> list[Value]:
    if not isinstance(root, Value):
        raise TypeError(f"{function}() needs a Value as root, got {type(root).__name__}: {_short(root)}")
    if isinstance(inputs, Value):
        return [inputs]
    try:
        listed = list(inputs)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"{function}() needs inputs to be a Value or a sequence of Values, "
            f"got {type(inputs).__name__}: {_short(inputs)}"
        ) from None
    if not listed:
        raise ValueError(f"{function}() needs at least one input: inputs is empty")
    for i, item in enumerate(listed):
        if not isinstance(item, Value):
            hint = " (flatten an array of Values first, e.g. W.ravel())" if hasattr(item, "ravel") else ""
            raise TypeError(
                f"{function}() needs inputs to be Values, "
                f"but inputs[{i}] is {type(item).__name__}: {_short(item)}{hint}"
            )
    return listed
