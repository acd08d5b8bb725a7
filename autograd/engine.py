"""``Value``: one float in a computation graph, and the chain rule over that graph.

Every primitive operation on Values (``+ * **``, ``exp log sigmoid tanh relu``) makes a new node that
records its operands (``parents``, in operand order) and the partial derivative of its value with
respect to each operand (``local_grads``). Each primitive below computes the two side by side, so its
derivative can be checked against a textbook in one glance. ``backward`` applies the chain rule with
those stored numbers in one loop; nothing else in the package knows a derivative. Subtraction,
division and negation are composites of the primitives and carry no derivative code.
"""

from __future__ import annotations

import math
import numbers
from itertools import count
from operator import attrgetter
from typing import Callable, Union

Number = Union[int, float]
Operand = Union["Value", int, float]

# The largest x for which exp(x) is a finite double.
EXP_MAX = math.log(2.0**1023 * (2.0 - 2.0**-52))

# Nodes are numbered as they are made. A node's parents exist before it does, so sorting by this
# number is a topological order, and it is the order in which the user wrote the expression.
_next_id = count().__next__
# The scope new nodes are created in (see ``scope``); nn uses it to group a neuron's nodes.
_current_scope = ""
_new = object.__new__


class Value:
    """A scalar node of a computation graph.

    ``Value(data, label="")`` makes a leaf. ``data`` is any finite real number (int, float, numpy real
    scalar) and is stored as a Python float.

    Attributes:
        data: the value (writable: optimizers write it; ``autograd.replay`` recomputes the nodes that
            depend on it).
        grad: d root / d self after ``root.backward()``; 0.0 until a backward pass reaches it.
        label: a name for drawings, reports and error messages (writable).
        op: the primitive that made this node ("+", "*", "**2", "pow", "exp", "log", "sigmoid",
            "tanh", "relu"), or "" for a leaf.
        parents: the operand nodes, in operand order (``x * x`` lists ``x`` twice).
        local_grads: d self / d parent for each parent, in the same order.
        scope: the name of the ``scope`` the node was made in ("" outside any).

    Values hash by identity and do not define ``==``, so they can be dictionary keys and set members.
    """

    # Every primitive has one or two operands, so a node keeps them, and its partial derivatives with
    # respect to them, in four fixed slots (a, b, d self/da, d self/db) rather than in two tuples: the
    # tuples were two more objects per node for the cyclic garbage collector to scan, and that scanning
    # was the largest single cost of building a big graph (see the engine notes in the README).
    __slots__ = ("data", "grad", "label", "op", "_a", "_b", "_da", "_db", "scope", "_id")

    data: float
    grad: float
    label: str
    op: str
    scope: str

    def __init__(self, data: Number, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}: {label!r}")
        self.data = _as_float(data, "Value(data)")
        self.grad = 0.0
        self.label = label
        self.op = ""
        self._a = self._b = None
        self._da = self._db = 0.0
        self.scope = _current_scope
        self._id = _next_id()

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands, in operand order: () for a leaf, (a,) or (a, b)."""
        if self._a is None:
            return ()
        return (self._a,) if self._b is None else (self._a, self._b)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """d self / d operand for each operand, in operand order."""
        if self._a is None:
            return ()
        return (self._da,) if self._b is None else (self._da, self._db)

    @local_grads.setter
    def local_grads(self, partials: tuple[float, ...]) -> None:
        # Only replay and the gradient checker write these, to store recomputed or saved partials.
        if len(partials) != len(self.parents):
            raise ValueError(f"{describe(self)} has {len(self.parents)} operands, got {len(partials)} partials")
        if partials:
            self._da = partials[0]
            if len(partials) == 2:
                self._db = partials[1]

    @property
    def is_leaf(self) -> bool:
        """True for a node with no parents: an input, a parameter or a constant."""
        return self._a is None

    @property
    def role(self) -> str:
        """"input", "parameter" or "constant" for a leaf; "operation" for a computed node."""
        return "input" if self._a is None else "operation"

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self.op else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label}{op})"

    def __float__(self) -> float:
        return self.data

    # -- primitives: the forward value and the local derivatives, side by side ---------------------
    def __add__(self, other: Operand) -> Value:
        if not isinstance(other, Value):
            other = Constant(other, "+")
        return _result(self.data + other.data, "+", self, 1.0, other, 1.0)  # d(a+b)/da = d(a+b)/db = 1

    def __mul__(self, other: Operand) -> Value:
        if not isinstance(other, Value):
            other = Constant(other, "*")
        a, b = self.data, other.data
        return _result(a * b, "*", self, b, other, a)  # d(ab)/da = b, d(ab)/db = a

    def __pow__(self, exponent: Operand) -> Value:
        a = self.data
        if isinstance(exponent, Value):
            b = exponent.data
            if a <= 0.0:
                raise ValueError(
                    f"a ** b with a Value exponent needs a positive base a, got a = {a!r} at {describe(self)}"
                )
            out = _float_pow(a, b, self)
            # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b log(a)
            return _result(out, "pow", self, b * _float_pow(a, b - 1.0, self), exponent, out * math.log(a))
        k = _as_float(exponent, "the exponent of **")
        if a == 0.0 and k < 0.0:
            raise ZeroDivisionError(f"0 ** {k:g} divides by zero, at {describe(self)}")
        if a < 0.0 and not k.is_integer():
            raise ValueError(f"a negative number to a fractional power is not real: ({a!r}) ** {k:g}, at {describe(self)}")
        if a == 0.0 and 0.0 < k < 1.0:
            raise ZeroDivisionError(f"the slope of a ** {k:g} is infinite at a = 0, at {describe(self)}")
        slope = k * _float_pow(a, k - 1.0, self) if k != 0.0 else 0.0
        return _result(_float_pow(a, k, self), power_op_name(k), self, slope)  # d(a^k)/da = k a^(k-1)

    def exp(self) -> Value:
        a = self.data
        if a > EXP_MAX:
            raise OverflowError(f"exp() overflows a float for inputs above {EXP_MAX:.2f}: got {a!r} at {describe(self)}")
        e = math.exp(a)
        return _result(e, "exp", self, e)  # d e^a/da = e^a

    def log(self) -> Value:
        a = self.data
        if a <= 0.0:
            raise ValueError(f"log() needs a positive input, got {a!r} at {describe(self)}")
        return _result(math.log(a), "log", self, 1.0 / a)  # d log(a)/da = 1/a

    def sigmoid(self) -> Value:
        a = self.data
        # Two equal forms, each taking exp of a number <= 0, so no input overflows.
        if a >= 0.0:
            s = 1.0 / (1.0 + math.exp(-a))
        else:
            e = math.exp(a)
            s = e / (1.0 + e)
        return _result(s, "sigmoid", self, s * (1.0 - s))  # d sigma(a)/da = sigma(a)(1 - sigma(a))

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return _result(t, "tanh", self, 1.0 - t * t)  # d tanh(a)/da = 1 - tanh(a)^2

    def relu(self) -> Value:
        a = self.data
        # d relu(a)/da = 1 for a > 0, else 0 (at the kink a = 0 we take 0, as PyTorch does)
        return _result(a, "relu", self, 1.0) if a > 0.0 else _result(0.0, "relu", self, 0.0)

    # -- composites: built from the primitives, so they need no derivative code --------------------
    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Operand) -> Value:
        if not isinstance(other, Value):
            other = Constant(other, "-")
        return self + (-other)

    def __truediv__(self, other: Operand) -> Value:
        if not isinstance(other, Value):
            other = Constant(other, "/")
        return self * other**-1

    def __radd__(self, other: Number) -> Value:
        return Constant(other, "+") + self

    def __rmul__(self, other: Number) -> Value:
        return Constant(other, "*") * self

    def __rsub__(self, other: Number) -> Value:
        return Constant(other, "-") + (-self)

    def __rtruediv__(self, other: Number) -> Value:
        return Constant(other, "/") * self**-1

    def __rpow__(self, base: Number) -> Value:
        return Constant(base, "**") ** self

    # -- the chain rule ------------------------------------------------------------------------------
    def backward(self) -> None:
        """Fill ``.grad`` of every node this one depends on with d self / d node.

        * This node's grad becomes 1.
        * Every computed (non-leaf) node reached gets exactly d self / d node from this pass: its old
          grad is discarded first.
        * Leaves (inputs, parameters, constants) *accumulate*: this pass's d self / d leaf is added to
          what they hold, as in PyTorch, so a training loop zeroes them between steps
          (``autograd.zero_grad`` or an optimizer's ``zero_grad``).

        If a gradient overflows to a non-finite float, a FloatingPointError names the node and every
        leaf's grad is put back as it was before the call.
        """
        order = topological_order(self)
        saved = []
        for node in order:
            if node._a is None:
                saved.append((node, node.grad))
            else:
                node.grad = 0.0
        self.grad = 1.0
        # The chain rule, written once: a node's gradient flows to each of its operands, times the
        # partial derivative recorded when the node was made.
        for node in reversed(order):
            g = node.grad
            if g - g != 0.0:  # inf or nan
                for leaf, grad in saved:
                    leaf.grad = grad
                raise FloatingPointError(
                    f"backward: the gradient at {describe(node)} is {g}, not a finite float "
                    "(it overflowed); leaf gradients were left as they were"
                )
            a = node._a
            if a is not None:
                a.grad += node._da * g
                b = node._b
                if b is not None:
                    b.grad += node._db * g


class Parameter(Value):
    """A leaf that an optimizer trains (a weight or a bias). Arithmetic is exactly as for ``Value``;
    drawings and reports show parameters apart from inputs."""

    __slots__ = ()

    @property
    def role(self) -> str:
        return "parameter"


class Constant(Value):
    """A plain number used as an operand (the ``2`` in ``x * 2``), lifted into the graph as a leaf."""

    __slots__ = ()

    def __init__(self, data: Number, op: str = "") -> None:
        # Checked here so that a bad operand's error names the operation it was given to.
        super().__init__(_as_float(data, f"the other operand of {op!r}" if op else "Constant(data)"))

    @property
    def role(self) -> str:
        return "constant"


def _result(data: float, op: str, a: Value, da: float, b: Value | None = None, db: float = 0.0) -> Value:
    """The node ``op(a)`` or ``op(a, b)`` with value ``data`` and partials ``da``, ``db``.

    An overflow to inf is an error, never a node."""
    if data - data != 0.0:
        raise OverflowError(f"{op!r} overflows a float: got {data} from {_operands((a,) if b is None else (a, b))}")
    node = _new(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node.op = op
    node._a = a
    node._da = da
    node._b = b
    node._db = db
    node.scope = _current_scope
    node._id = _next_id()
    return node


def _as_float(x: object, what: str) -> float:
    """``x`` as a finite Python float, or a TypeError/ValueError that says what ``what`` got."""
    if type(x) is float or type(x) is int:
        value = float(x)
    elif isinstance(x, numbers.Real) and not isinstance(x, bool):
        value = float(x)  # numpy real scalars, fractions
    else:
        raise TypeError(
            f"{what} must be a real number (int, float or numpy real scalar), got {type(x).__name__}: {x!r}"
        )
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value}")
    return value


def _float_pow(a: float, b: float, node: Value) -> float:
    try:
        return a**b
    except OverflowError:
        raise OverflowError(f"{a!r} ** {b!r} overflows a float, at {describe(node)}") from None


def power_op_name(k: float) -> str:
    """The op name of ``a ** k`` for a constant ``k``: "**2", "**-1", "**0.5" (``float`` reads ``k`` back
    exactly from what follows the "**")."""
    return f"**{int(k)}" if k.is_integer() and abs(k) < 2**53 else f"**{k!r}"


def describe(node: Value) -> str:
    """A short name for a node in messages: ``node 'h2' (op '+', data=0.5)``."""
    name = f"node {node.label!r}" if node.label else "an unlabelled node"
    kind = f"op {node.op!r}" if node._a is not None else f"{node.role} leaf"
    return f"{name} ({kind}, data={node.data:.6g})"


def _operands(parents: tuple[Value, ...]) -> str:
    return " and ".join(describe(p) for p in parents)


_creation_order = attrgetter("_id")


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, ``root`` included, each once, inputs first.

    Each node comes after all of its parents (nodes are listed in the order they were made), so
    iterating forwards evaluates the graph and iterating backwards applies the chain rule. The walk
    uses an explicit stack, so a chain of a million operations needs no change to the recursion
    limit. ``backward``, ``replay``, the drawing and the gradient checker all use this one walk.
    """
    seen = {root}
    stack = [root]
    add, push, pop = seen.add, stack.append, stack.pop
    while stack:
        node = pop()
        a = node._a
        if a is not None:
            if a not in seen:
                add(a)
                push(a)
            b = node._b
            if b is not None and b not in seen:
                add(b)
                push(b)
    return sorted(seen, key=_creation_order)


class scope:
    """Tag every node created inside the ``with`` block with ``name`` (nested scopes join with ".").

    nn uses it so that drawings can group a neuron's or a layer's nodes::

        with scope("L1"):
            with scope("n2"):
                y = (w * x + b).sigmoid()   # y.scope == "L1.n2"

    A small class rather than a generator-based context manager: nn enters it for every neuron on
    every forward pass, and ``@contextmanager`` cost about 2.8 us an entry against 0.5 us for this.
    """

    __slots__ = ("name", "_outer")

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> str:
        global _current_scope
        self._outer = _current_scope
        _current_scope = f"{self._outer}.{self.name}" if self._outer else self.name
        return _current_scope

    def __exit__(self, *exc_info: object) -> None:
        global _current_scope
        _current_scope = self._outer


def _replay_power(op: str) -> Callable[[Value], Value]:
    k = float(op[2:])
    return lambda a: a**k


# How each kind of node is made again from (new) operands: by the very method that made it.
_MAKERS: dict[str, Callable[..., Value]] = {
    "+": Value.__add__,
    "*": Value.__mul__,
    "pow": Value.__pow__,
    "exp": Value.exp,
    "log": Value.log,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
}

PRIMITIVE_OPS: tuple[str, ...] = tuple(_MAKERS) + ("**k",)
"""The names of the primitives ("**k" stands for "**2", "**-1", ...)."""


def recompute(node: Value, operand_values: list[float]) -> tuple[float, tuple[float, ...]]:
    """Run ``node``'s primitive again on ``operand_values``: its new value and local derivatives.

    The node is not changed. A primitive that fails raises its usual error.
    """
    operands = []
    for parent, value in zip(node.parents, operand_values):
        tmp = Value(value, parent.label)
        operands.append(tmp)
    maker = _MAKERS.get(node.op) or _replay_power(node.op)
    fresh = maker(*operands)
    return fresh.data, fresh.local_grads

