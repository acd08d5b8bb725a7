"""``Value``: one float in a computation graph, the table of its primitive operations, and the chain rule.

Every primitive operation on Values makes a new node that records its operands (``parents``, in operand
order) and the partial derivative of its value with respect to each operand (``local_grads``). Each
primitive below computes the two side by side, so its derivative can be checked against a textbook in
one glance, and gets exactly the value Python's float arithmetic gives for the same numbers. ``OPS``,
at the end of the file, is the op table: for each primitive its name, its operands, the method that
computes it, the formula of its value and of its local derivatives (text and LaTeX, for ``explain``)
and the same derivatives as an expression of Values (for higher-order gradients). ``backward`` applies
the chain rule with the stored numbers in one loop; replay, drawing, explanations and checks read the
op table; nothing else knows a derivative.

One file, two engines. This file is ordinary Python, and it is also the source of chainrule's compiled
engine: when ``pip install`` finds a C compiler, Cython compiles this very file in its "pure Python
mode" (see ``setup.py``). The only concessions to the compiler are:

* ``@cython.cclass``, ``@cython.no_gc`` and ``@cython.freelist`` on ``Value``: compiled, a node is a C
  struct of the fields listed in ``__slots__`` (declared by the annotations just below them); it is not
  tracked by Python's cyclic garbage collector, which is safe because a node only refers to floats,
  strings and older nodes, so no cycle can form; and the memory of freed nodes is kept for new ones;
* ``@cython.cfunc`` on a few helpers (C functions when compiled), ``cython.declare`` on a few module
  flags and counters (C variables), and annotations such as ``x: cython.double`` or ``node: Value`` on
  local variables, which make the arithmetic and field access C. Plain Python ignores annotations of
  local variables;
* ``@cython.annotation_typing(False)`` where an argument's annotation should not become a compiled
  type check, so that the engine's own error message, naming the argument, is the one raised;
* ``Value.__dealloc__``, which only the compiled engine calls: it frees a long chain without recursing
  once per level in C;
* C's ``exp``, ``log``, ``tanh`` and ``pow`` when compiled, ``math``'s (the same C functions, so the
  same results) when not.

``autograd.COMPILED`` says which engine runs; ``CHAINRULE_PURE_PYTHON=1`` forces this file to run as
plain Python even where the compiled engine is installed.
"""

from __future__ import annotations

import contextvars
import copyreg
import itertools
import math
import numbers
import threading
from array import array
from typing import Any, Callable, Optional, Union

try:
    import cython
except ImportError:  # Cython is needed only to build the compiled engine
    from autograd import _nocython as cython

if cython.compiled:
    from cython.cimports.libc.math import exp, floor, log, tanh
else:
    from math import exp, floor, log, tanh

COMPILED: bool = cython.compiled
"""True when this module runs as the compiled extension, False when it runs as plain Python."""

Number = Union[int, float]
Operand = Union["Value", int, float]

# The largest x for which exp(x) is a finite double.
EXP_MAX = math.log(2.0**1023 * (2.0 - 2.0**-52))

# ``backward`` stamps every node it writes a gradient to with the number of its pass (see grad_pass).
_pass_numbers = itertools.count(1)
HAND_SET: int = -1
"""``grad_pass`` of a grad set by hand (``v.grad = ...`` or ``c._backward()``)."""


# -- scopes: which block of a model a node was made in ---------------------------------------------------
# Each thread and each asyncio task has its own context, so it has its own current scope.
_scope_path: contextvars.ContextVar = contextvars.ContextVar("chainrule_scope_path", default="")
_scope_stack: contextvars.ContextVar = contextvars.ContextVar("chainrule_scope_stack", default=())
# Until the first ``scope`` is entered, every node's scope is "" and nodes need not look it up.
_scopes_used = cython.declare(cython.bint, False)


@cython.cfunc
@cython.inline
def _current_scope() -> str:
    return _scope_path.get() if _scopes_used else ""


@cython.no_gc
@cython.freelist(4096)
@cython.cclass
class Value:
    """A scalar node of a computation graph.

    ``Value(data, label="")`` makes a leaf. ``data`` is any finite real number (int, float, numpy real
    scalar) and is stored as a Python float.

    Attributes:
        data: the value (writable, and always a finite float: optimizers write it; ``autograd.replay``
            recomputes the nodes that depend on it).
        grad: d root / d self after ``root.backward()``; 0.0 until a backward pass reaches it or you set
            it (writable: a grad you write is marked as set by hand, see ``grad_source``).
        label: a name for drawings, reports and error messages (writable, a str).
        op: the primitive that made this node (``+ - * / neg **k pow exp log sigmoid tanh relu``, where
            a constant power reads "**2", "**-1", ...), or "" for a leaf.
        parents: the operand nodes, in operand order (``x * x`` lists ``x`` twice).
        local_grads: d self / d parent for each parent, in the same order.
        scope: the name of the ``scope`` the node was made in ("" outside any).
        grad_pass: 0 if no backward pass has written ``grad`` (since the node was made or zeroed by
            ``autograd.zero_grad``), else the number of the pass that last did; after
            ``root.backward()`` every node of root's graph has ``grad_pass == root.grad_pass``.
            -1 (``HAND_SET``) when the grad was set by hand: written as ``v.grad = ...`` or by the
            lecture's local step ``c._backward()`` (see ``grad_source``).
        grad_source: where ``grad`` came from, in words: "backward" (a backward pass wrote it),
            "hand" (you wrote it: ``v.grad = 4.0`` or ``c._backward()``; drawings show it as
            ``grad 4 (by hand)`` and ``autograd.check.grade`` checks it) or "none" (nothing has: a
            new node, or zeroed by ``zero_grad``, an optimizer's ``zero_grad`` or
            ``autograd.zero_grad``). A hand-set grad stays hand-set until a backward pass or a zeroing
            writes the node: a computed node's is then replaced; a leaf's is the start that backward
            adds to, as leaves accumulate (``p.grad = 0.0; loss.backward()`` gives the backward grad).

    Lecture compatibility (micrograd, "neural networks: zero to hero", lecture 1): ``v._prev`` is the
    set of operand nodes, ``v._op`` the op's name and ``v._backward()`` the local chain-rule step
    (each operand's grad += local derivative * ``v.grad``); ``autograd.viz.draw_dot(root)`` draws.

    Values hash by identity and do not define ``==``, so they can be dictionary keys and set members.
    A Value is not a float: ``float(v)`` and ``math.exp(v)`` raise a TypeError (they would silently
    drop the gradient); use ``v.data`` for the number and ``v.exp()`` to stay in the graph.
    """

    # Every primitive has one or two operands, so a node keeps them, and its partial derivatives with
    # respect to them, in four fixed fields (a, b, d self/da, d self/db) rather than in two tuples.
    __slots__ = ("_data", "_grad", "_a", "_b", "_da", "_db", "_opname", "_label", "_scope", "_pass", "_saved", "_mark")
    _data: cython.double
    _grad: cython.double
    _a: Value
    _b: Value
    _da: cython.double
    _db: cython.double
    _opname: str  # the op's name (``op``; ``_op`` is micrograd's name for it)
    _label: str
    _scope: str
    _pass: cython.long  # the backward pass that last wrote _grad (0: none)
    _saved: cython.double  # _grad as it was before the running backward pass, to undo a failed one
    _mark: cython.long  # the walk that last visited the node (see topological_order)

    @cython.annotation_typing(False)  # the checks below give clearer errors than the compiler's
    def __init__(self, data: Number, label: str = "") -> None:
        self._data = as_finite_float(data, "Value(data)")
        self._label = _as_label(label)
        self._grad = 0.0
        self._a = None
        self._b = None
        self._da = 0.0
        self._db = 0.0
        self._opname = ""
        self._scope = _current_scope()
        self._pass = 0
        self._saved = 0.0
        self._mark = 0

    # -- attributes ----------------------------------------------------------------------------------
    @property
    def data(self) -> float:
        return self._data

    @data.setter
    def data(self, value: Number) -> None:
        self._data = _finite_field(value, self, "data")

    @property
    def grad(self) -> float:
        return self._grad

    @grad.setter
    def grad(self, value: Number) -> None:
        # Only users write grads through this setter (the engine writes _grad), so the grad is marked as
        # set by hand; zero_grad and backward pass mark it otherwise.
        self._grad = _finite_field(value, self, "grad")
        self._pass = HAND_SET

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, value) -> None:  # untyped, so that _as_label's message, not the compiler's, explains
        self._label = _as_label(value)

    @property
    def op(self) -> str:
        return self._opname

    @property
    def scope(self) -> str:
        return self._scope

    @property
    def grad_pass(self) -> int:
        return self._pass

    @property
    def grad_source(self) -> str:
        """"backward" (a backward pass wrote ``grad``), "hand" (you did) or "none" (nothing has)."""
        if self._pass > 0:
            return "backward"
        return "hand" if self._pass == HAND_SET else "none"

    # -- micrograd's names (lecture compatibility) ------------------------------------------------
    @property
    def _prev(self) -> set:
        """micrograd's name: the set of operand nodes (``parents`` keeps them in order, repeats too)."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """micrograd's name for ``op``: the op's name, "" for a leaf."""
        return self._opname

    def _backward(self) -> None:
        """micrograd's local step of the chain rule: each operand's grad += d self/d operand * self.grad.

        Call it on every node in reverse topological order after ``root.grad = 1.0`` (on a graph whose
        grads are 0) and every grad is what ``root.backward()`` gives. The step is the one ``backward``
        applies to each node; the operands' grads count as set by hand (``grad_source`` "hand"), as the
        lecture's learner is doing backpropagation by hand. A leaf has no operands: nothing happens.
        """
        g: cython.double = self._grad
        if self._a is None:
            return
        _local_step(self, g)
        self._a._pass = HAND_SET
        if self._b is not None:
            self._b._pass = HAND_SET

    @property
    def _children(self) -> set:
        raise AttributeError(
            "Value has no attribute '_children': micrograd's constructor argument is kept as v._prev (the set "
            "of operand nodes); chainrule's v.parents gives them in operand order"
        )

    @property
    def parents(self) -> tuple:
        """The operands, in operand order: () for a leaf, (a,) or (a, b)."""
        if self._a is None:
            return ()
        if self._b is None:
            return (self._a,)
        return (self._a, self._b)

    @property
    def local_grads(self) -> tuple:
        """d self / d operand for each operand, in operand order."""
        if self._a is None:
            return ()
        if self._b is None:
            return (self._da,)
        return (self._da, self._db)

    @local_grads.setter
    def local_grads(self, partials: tuple) -> None:
        # Only replay and the gradient checker write these, to store recomputed or saved partials.
        partials = tuple(partials)
        if len(partials) != len(self.parents):
            raise ValueError(f"{describe(self)} has {len(self.parents)} operands, got {len(partials)} partials")
        values = [as_finite_float(p, f"a local derivative of {describe(self)}") for p in partials]
        if values:
            self._da = values[0]
            if len(values) == 2:
                self._db = values[1]

    @property
    def is_leaf(self) -> bool:
        """True for a node with no parents: an input, a parameter or a constant."""
        return self._a is None

    @property
    def role(self) -> str:
        """"input", "parameter" or "constant" for a leaf; "operation" for a computed node."""
        return "input" if self._a is None else "operation"

    def __repr__(self) -> str:
        label = f", label={self._label!r}" if self._label else ""
        op = f", op={self._opname!r}" if self._opname else ""
        return f"Value(data={self._data:.6g}, grad={self._grad:.6g}{label}{op})"

    def __float__(self) -> float:
        raise TypeError(
            f"a Value is not a float, and converting it would drop its gradient ({describe(self)}): use "
            "v.data for the number, or the Value's own methods (v.exp(), v.log(), v.tanh(), ...) instead of math's"
        )

    def __int__(self) -> int:
        return self.__float__()

    # -- the primitives ----------------------------------------------------------------------------------
    # Each computes its value and its local derivatives side by side. A plain number operand becomes a
    # Constant leaf; the reflected forms (``1 - x``) make that Constant and apply the same primitive.
    def __add__(self, other: Operand) -> Value:
        b: Value = other if isinstance(other, Value) else _operand(other, "+")
        if b is None:
            return NotImplemented
        return _node(self._data + b._data, "+", self, 1.0, b, 1.0)  # d(a+b)/da = 1, d(a+b)/db = 1

    def __sub__(self, other: Operand) -> Value:
        b: Value = other if isinstance(other, Value) else _operand(other, "-")
        if b is None:
            return NotImplemented
        return _node(self._data - b._data, "-", self, 1.0, b, -1.0)  # d(a-b)/da = 1, d(a-b)/db = -1

    def __mul__(self, other: Operand) -> Value:
        b: Value = other if isinstance(other, Value) else _operand(other, "*")
        if b is None:
            return NotImplemented
        x: cython.double = self._data
        y: cython.double = b._data
        return _node(x * y, "*", self, y, b, x)  # d(ab)/da = b, d(ab)/db = a

    def __truediv__(self, other: Operand) -> Value:
        b: Value = other if isinstance(other, Value) else _operand(other, "/")
        if b is None:
            return NotImplemented
        x: cython.double = self._data
        y: cython.double = b._data
        if y == 0.0:
            raise ZeroDivisionError(f"division by zero: {x!r} / 0, the divisor is {describe(b)}")
        out: cython.double = x / y
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -(a/b)/b
        return _node(out, "/", self, _slope(1.0 / y, "/", self, b), b, _slope(-out / y, "/", self, b))

    def __pow__(self, exponent: Operand, modulo: Any = None) -> Value:
        if isinstance(exponent, Value):
            return _pow(self, exponent)
        k: cython.double = as_finite_float(exponent, "the exponent of **")  # a constant power, op "**k"
        x: cython.double = self._data
        if x == 0.0 and k < 0.0:
            raise ZeroDivisionError(f"0 ** {k:g} divides by zero, at {describe(self)}")
        if x < 0.0 and floor(k) != k:
            raise ValueError(f"a negative number to a fractional power is not real: ({x!r}) ** {k:g}, at {describe(self)}")
        if x == 0.0 and 0.0 < k < 1.0:
            raise ZeroDivisionError(f"the slope of a ** {k:g} is infinite at a = 0, at {describe(self)}")
        out: cython.double = _float_pow(x, k, self)
        slope: cython.double = 0.0  # d(a^k)/da = k a^(k-1)
        if k != 0.0:
            slope = k * _pow_or_inf(x, k - 1.0)
            if slope - slope != 0.0:
                raise OverflowError(f"the slope of a ** {k:g} at a = {x!r} is too large for a float, at {describe(self)}")
        return _node(out, power_op_name(k), self, slope, None, 0.0)

    def __radd__(self, other: Operand) -> Value:
        a: Value = _operand(other, "+")
        return NotImplemented if a is None else a + self

    def __rsub__(self, other: Operand) -> Value:
        a: Value = _operand(other, "-")
        return NotImplemented if a is None else a - self

    def __rmul__(self, other: Operand) -> Value:
        a: Value = _operand(other, "*")
        return NotImplemented if a is None else a * self

    def __rtruediv__(self, other: Operand) -> Value:
        a: Value = _operand(other, "/")
        return NotImplemented if a is None else a / self

    def __rpow__(self, base: Operand, modulo: Any = None) -> Value:
        a: Value = _operand(base, "**")
        return NotImplemented if a is None else _pow(a, self)

    def __neg__(self) -> Value:
        return _node(-self._data, "neg", self, -1.0, None, 0.0)  # d(-a)/da = -1

    def exp(self) -> Value:
        a: cython.double = self._data
        if a > EXP_MAX:
            raise OverflowError(f"exp() overflows a float for inputs above {EXP_MAX:.2f}: got {a!r} at {describe(self)}")
        e: cython.double = exp(a)
        return _node(e, "exp", self, e, None, 0.0)  # d e^a/da = e^a

    def log(self) -> Value:
        a: cython.double = self._data
        if a <= 0.0:
            raise ValueError(f"log() needs a positive input, got {a!r} at {describe(self)}")
        slope: cython.double = 1.0 / a  # d log(a)/da = 1/a
        if slope - slope != 0.0:
            raise OverflowError(
                f"log() of {a!r} has a slope 1/a too large for a float (a is too close to 0), at {describe(self)}"
            )
        return _node(log(a), "log", self, slope, None, 0.0)

    def sigmoid(self) -> Value:
        a: cython.double = self._data
        s: cython.double
        e: cython.double
        # Two equal forms, each taking exp of a number <= 0, so no input overflows.
        if a >= 0.0:
            s = 1.0 / (1.0 + exp(-a))
        else:
            e = exp(a)
            s = e / (1.0 + e)
        return _node(s, "sigmoid", self, s * (1.0 - s), None, 0.0)  # d sigma(a)/da = sigma(a)(1 - sigma(a))

    def tanh(self) -> Value:
        t: cython.double = tanh(self._data)
        return _node(t, "tanh", self, 1.0 - t * t, None, 0.0)  # d tanh(a)/da = 1 - tanh(a)^2

    def relu(self) -> Value:
        a: cython.double = self._data
        # d relu(a)/da = 1 for a > 0, else 0 (at the kink a = 0 we take 0, as PyTorch does)
        if a > 0.0:
            return _node(a, "relu", self, 1.0, None, 0.0)
        return _node(0.0, "relu", self, 0.0, None, 0.0)

    # -- the chain rule ------------------------------------------------------------------------------
    def backward(self) -> None:
        """Fill ``.grad`` of every node this one depends on with d self / d node.

        * This node's grad becomes 1 (a leaf root, like every leaf, adds 1 to what it holds).
        * Every computed (non-leaf) node reached gets exactly d self / d node from this pass: its old
          grad is discarded first.
        * Leaves (inputs, parameters, constants) *accumulate*: this pass's d self / d leaf is added to
          what they hold, as in PyTorch, so a training loop zeroes them between steps
          (``autograd.zero_grad`` or an optimizer's ``zero_grad``). A grad set by hand on a leaf is such
          a start too: ``p.grad = 0.0; loss.backward()`` leaves d loss/d p in ``p.grad``.
        * Every node reached gets ``grad_pass == self.grad_pass``, a number new to this pass, and
          ``grad_source`` "backward" (a grad set by hand before is no longer marked so).

        If a gradient overflows to a non-finite float, a FloatingPointError names the node and every
        grad of the graph, leaves and computed nodes alike, is put back as it was before the call.
        """
        order: list = topological_order(self)
        _chain_rule(order, self, True)
        stamp: cython.long = next(_pass_numbers)
        node: Value
        for node in order:
            node._pass = stamp

    # -- copying and pickling: any depth, no recursion -----------------------------------------------
    def __copy__(self) -> Value:
        twin: Value = _blank(type(self))
        _copy_fields(twin, self, self._a, self._b)
        return twin

    def __deepcopy__(self, memo: dict) -> Value:
        node: Value
        twin: Value
        for node in topological_order(self):
            if id(node) not in memo:
                twin = _blank(type(node))
                a = memo[id(node._a)] if node._a is not None else None
                b = memo[id(node._b)] if node._b is not None else None
                _copy_fields(twin, node, a, b)
                memo[id(node)] = twin
        return memo[id(self)]

    def __reduce_ex__(self, protocol: int) -> tuple:
        # Pickling follows a node's operands, and the pickler would recurse once per level: too deep
        # for a long chain. So the first node pickled writes its whole graph as one flat table in
        # topological order (each node in it only as an empty shell, then every node's fields with its
        # operands as positions in the table), and the shells keep the identity of shared nodes.
        members = getattr(_pickling, "members", None)
        if members is not None and self in members:
            return (copyreg.__newobj__, (type(self),)) if protocol >= 2 else (_blank, (type(self),))
        order = topological_order(self)
        table = _table(order)
        _pickling.members = set(order)
        return (_restore_graph, (order, table, _EndOfTable()))

    def __dealloc__(self) -> None:
        # Compiled only (plain Python never calls it). Freeing a node frees its operands, and C
        # recurses once per level: a long chain would overflow the C stack. So below a depth of 200
        # operands are freed deeper down; past it they go to a list, which the outermost free drains.
        global _freeing_depth
        if self._a is None or _releasing is None:  # a leaf, or the interpreter is shutting down
            return
        if _freeing_depth >= 200:
            _releasing.append(self._a)
            self._a = None
            if self._b is not None:
                _releasing.append(self._b)
                self._b = None
            return
        _freeing_depth += 1
        self._a = None  # may free the operand, and its operands, ...
        self._b = None
        if _freeing_depth == 1:
            while _releasing:
                _releasing.pop()  # the last reference: frees the node here, one level deep
        _freeing_depth -= 1


@cython.no_gc
@cython.cclass
class Parameter(Value):
    """A leaf that an optimizer trains (a weight or a bias). Arithmetic is exactly as for ``Value``;
    drawings and reports show parameters apart from inputs."""

    __slots__ = ()

    @property
    def role(self) -> str:
        return "parameter"


@cython.no_gc
@cython.cclass
class Constant(Value):
    """A plain number used as an operand (the ``2`` in ``x * 2``), lifted into the graph as a leaf."""

    __slots__ = ()

    @cython.annotation_typing(False)
    def __init__(self, data: Number, op: str = "") -> None:
        # Checked here so that a bad operand's error names the operation it was given to.
        super().__init__(as_finite_float(data, f"the other operand of {op!r}" if op else "Constant(data)"))

    @property
    def role(self) -> str:
        return "constant"


# -- the power with a Value exponent (shared by ``a ** b`` and ``2 ** b``) -------------------------------
@cython.cfunc
def _pow(a: Value, b: Value) -> Value:
    """``a ** b`` with a Value exponent (op "pow")."""
    x: cython.double = a._data
    y: cython.double = b._data
    if x <= 0.0:
        raise ValueError(f"a ** b with a Value exponent needs a positive base a, got a = {x!r} at {describe(a)}")
    out: cython.double = _float_pow(x, y, a)
    # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b log(a)
    da: cython.double = y * _pow_or_inf(x, y - 1.0)
    return _node(out, "pow", a, _slope(da, "pow", a, b), b, _slope(out * log(x), "pow", a, b))


# -- making nodes -------------------------------------------------------------------------------------------
@cython.cfunc
@cython.inline
def _node(data: cython.double, op: str, a: Value, da: cython.double, b: Optional[Value], db: cython.double) -> Value:
    """The node ``op(a)`` or ``op(a, b)`` with value ``data`` and partials ``da``, ``db`` (finite).

    An overflow to inf is an error, never a node."""
    if data - data != 0.0:
        raise OverflowError(f"{op!r} overflows a float: got {data} from {_operands(a, b)}")
    node: Value = Value.__new__(Value)
    node._data = data
    node._opname = op
    node._label = ""
    node._a = a
    node._da = da
    node._b = b
    node._db = db
    node._scope = _scope_path.get() if _scopes_used else ""
    node._grad = 0.0
    node._pass = 0
    node._saved = 0.0
    node._mark = 0
    return node


@cython.cfunc
def _operand(x: object, op: str) -> Value:
    """``x`` as a node: itself if it is a Value, a Constant leaf if it is a real number; None for a numpy
    array (the operator then returns NotImplemented, so numpy applies it element by element); a
    TypeError for anything else."""
    c: Value
    value: cython.double
    if isinstance(x, Value):
        return x
    t = type(x)
    if t is float:
        value = x
        if value - value != 0.0:
            raise ValueError(f"the other operand of {op!r} must be finite, got {value}")
    elif t is int or (isinstance(x, numbers.Real) and t is not bool):
        value = as_finite_float(x, f"the other operand of {op!r}")
    elif hasattr(x, "__array_ufunc__"):
        return None  # a numpy array: numpy applies the operation to each element
    else:
        raise TypeError(
            f"the other operand of {op!r} must be a Value or a real number (int, float or numpy real scalar), "
            f"got {t.__name__}: {_short(x)}"
        )
    c = Constant.__new__(Constant)
    c._data = value
    c._grad = 0.0
    c._opname = ""
    c._label = ""
    c._a = None
    c._da = 0.0
    c._b = None
    c._db = 0.0
    c._scope = _scope_path.get() if _scopes_used else ""
    c._pass = 0
    c._saved = 0.0
    c._mark = 0
    return c


@cython.cfunc
def _slope(value: cython.double, op: str, a: Value, b: Optional[Value]) -> cython.double:
    """A local derivative, which must be finite: an infinite one is refused when the node is made."""
    if value - value != 0.0:
        raise OverflowError(
            f"a local derivative of {op!r} is too large for a float at {_operands(a, b)} "
            "(an operand is too close to 0)"
        )
    return value


@cython.cfunc
def _float_pow(a: cython.double, b: cython.double, node: Value) -> cython.double:
    """``a ** b``, which must be finite: an OverflowError that quotes the numbers written."""
    out: cython.double = _pow_or_inf(a, b)
    if out - out != 0.0:
        raise OverflowError(f"{a!r} ** {b!r} overflows a float, at {describe(node)}")
    return out


@cython.cfunc
def _pow_or_inf(a: cython.double, b: cython.double) -> cython.double:
    """``a ** b``, or inf where it overflows (C returns inf there; plain Python raises)."""
    try:
        return a**b
    except OverflowError:
        return math.inf


def as_finite_float(x: object, what: str) -> float:
    """``x`` as a finite Python float, or a TypeError/ValueError that says what ``what`` got (the
    engine's one check of a number; the checker and nn use it for numbers users give them)."""
    t = type(x)
    if t is float:
        value = x
    elif (t is int or isinstance(x, numbers.Real)) and t is not bool:
        try:
            value = float(x)  # numpy real scalars, fractions, ints
        except OverflowError:
            raise ValueError(f"{what} must be a finite float, got an int too large for a float ({_short(x)})") from None
    else:
        raise TypeError(
            f"{what} must be a real number (int, float or numpy real scalar), got {type(x).__name__}: {_short(x)}"
        )
    if value - value != 0.0:
        raise ValueError(f"{what} must be finite, got {value}")
    return value


@cython.cfunc
def _finite_field(value: object, node: Value, field: str) -> cython.double:
    """A value written to ``node.data`` or ``node.grad``: a finite float, or an error naming the node."""
    if type(value) is float and value - value == 0.0:  # the usual case, without building a message
        return value
    return as_finite_float(value, f"the {field} of {describe(node)}")


def _as_label(label: object) -> str:
    if not isinstance(label, str):
        raise TypeError(f"a Value's label must be a str, got {type(label).__name__}: {_short(label)}")
    return label


def _short(x: object) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:40] + f"... ({len(text)} characters)"


_power_names: dict = {}


def power_op_name(k) -> str:
    """The op name of ``a ** k`` for a constant ``k``: "**2", "**-1", "**0.5" (``float`` reads ``k`` back
    exactly from what follows the "**")."""
    name = _power_names.get(k)
    if name is None:
        name = f"**{int(k)}" if k.is_integer() and abs(k) < 2**53 else f"**{k!r}"
        if len(_power_names) < 4096:
            _power_names[k] = name
    return name


def describe(node: Value) -> str:
    """A short name for a node in messages: ``node 'h2' (op '+', data=0.5)``."""
    name = f"node {node.label!r}" if node.label else "an unlabelled node"
    kind = f"op {node.op!r}" if not node.is_leaf else f"{node.role} leaf"
    return f"{name} ({kind}, data={node.data:.6g})"


def _operands(a: Value, b: Optional[Value]) -> str:
    return describe(a) if b is None else f"{describe(a)} and {describe(b)}"


def _require_value(node: object, function: str, argument: str = "root") -> None:
    if not isinstance(node, Value):
        raise TypeError(f"{function}() needs a Value as {argument}, got {type(node).__name__}: {_short(node)}")


@cython.cfunc
def _chain_rule(order: list, root: Value, accumulate_leaves: cython.bint) -> cython.void:
    """d root / d node into every node's ``_grad``, for ``order = topological_order(root)``.

    Computed nodes start from 0; leaves add to what they hold if ``accumulate_leaves``, else start
    from 0 too. Every old grad is kept in ``_saved``: if a gradient is not finite, all are put back and
    a FloatingPointError names the node."""
    node: Value
    g: cython.double
    for node in order:
        node._saved = node._grad
        if node._a is not None or not accumulate_leaves:
            node._grad = 0.0
    root._grad += 1.0  # 0 + 1 for a computed root, whose grad was just cleared
    for node in reversed(order):
        g = node._grad
        if g - g != 0.0:  # inf or nan
            for node2 in order:
                _restore_grad(node2)
            raise FloatingPointError(
                f"backward: the gradient at {describe(node)} is {g}, not a finite float (it overflowed); "
                "every grad was left as it was"
            )
        if node._a is not None:
            _local_step(node, g)


@cython.cfunc
@cython.inline
def _local_step(node: Value, g: cython.double) -> cython.void:
    """The chain rule, written once: a node's gradient ``g`` flows to each of its operands, times the
    partial derivative recorded when the node was made. ``backward`` applies it to every node, from
    the root back; micrograd's ``node._backward()`` applies it to one."""
    a: Value = node._a
    b: Value = node._b
    a._grad += node._da * g
    if b is not None:
        b._grad += node._db * g


@cython.cfunc
def _restore_grad(node: Value) -> cython.void:
    node._grad = node._saved


def clear_grads(nodes) -> None:
    """Set every node's grad to 0.0 and mark it as not computed by any backward pass (grad_pass 0)."""
    node: Value
    for node in nodes:
        node._grad = 0.0
        node._pass = 0


def forget_grad_passes(nodes) -> None:
    """Mark every node's grad as not computed by any backward pass (grad_pass 0), keeping the number:
    ``replay`` does so when the values the grads belong to have changed. A grad set by hand stays set by
    hand (it is the user's answer; ``autograd.check.grade`` checks it at the current values)."""
    node: Value
    for node in nodes:
        if node._pass != HAND_SET:
            node._pass = 0


def gradients(root, inputs) -> list:
    """d root / d input for each of ``inputs`` (Values), as floats, without changing any node: every
    ``grad`` and ``grad_pass`` is as it was afterwards. An input that ``root`` does not depend on gets 0.

    The same chain rule as ``root.backward()``, at the same cost plus one loop to put the grads back.
    """
    _require_value(root, "gradients")
    x: Value
    node: Value
    inputs = list(inputs)
    for i, item in enumerate(inputs):
        _require_value(item, "gradients", f"inputs[{i}]")
    held: list = []
    for x in inputs:
        held.append(x._grad)
        x._grad = math.nan  # stays NaN only where the chain rule does not reach (not in root's graph)
    order: list = topological_order(root)
    _chain_rule(order, root, False)
    result: list = []
    for x in inputs:
        result.append(0.0 if x._grad != x._grad else x._grad)
    for node in order:
        _restore_grad(node)
    for i in range(len(inputs) - 1, -1, -1):
        x = inputs[i]
        x._grad = held[i]
    return result


# -- the one walk ------------------------------------------------------------------------------------------
def topological_order(root) -> list:
    """Every node ``root`` depends on, ``root`` included, each once, inputs first.

    Each node comes after all of its operands, so iterating forwards evaluates the graph and iterating
    backwards applies the chain rule. It is a depth-first walk that lists a node when all its operands
    are listed, taking operands in order, so an expression's nodes come in the order they are written
    (``x * w + b``: x, w, x*w, b, +). The order depends only on the graph, not on when or where the
    nodes were made (so pickled, copied and mixed graphs are ordered right). The walk uses an explicit
    stack, so a chain of a million operations needs no change to the recursion limit. ``backward``,
    ``replay``, the drawing and the gradient checker all use this one walk.
    """
    _require_value(root, "topological_order")
    if not _walk_lock.acquire(False):
        return _order_by_set(root)  # another thread is walking: leave the nodes' marks to it
    global _walks
    try:
        _walks += 1
        walk: cython.long = _walks  # a node is seen in this walk when its _mark is this number
        order: list = []
        stack: list = [root]
        node: Value = root
        a: Value
        b: Value
        node._mark = walk
        while stack:
            node = stack[-1]
            a = node._a
            if a is not None and a._mark != walk:
                a._mark = walk
                if a._a is not None:
                    stack.append(a)
                    continue
                order.append(a)  # a leaf has no operands to wait for
            b = node._b
            if b is not None and b._mark != walk:
                b._mark = walk
                if b._a is not None:
                    stack.append(b)
                    continue
                order.append(b)
            stack.pop()
            order.append(node)
        return order
    finally:
        _walk_lock.release()


# Walks mark the nodes they visit, which is faster than a set of seen nodes; one walk at a time may
# do so (the lock), and a walk that finds the lock taken keeps a set instead.
_walk_lock = threading.Lock()
_walks = cython.declare(cython.long, 0)


def _order_by_set(root: Value) -> list:
    """``topological_order`` with a set of seen nodes instead of marks (the same walk otherwise)."""
    order: list = []
    seen: set = {root}
    stack: list = [root]
    node: Value
    a: Value
    b: Value
    while stack:
        node = stack[-1]
        a = node._a
        if a is not None and a not in seen:
            seen.add(a)
            if a._a is not None:
                stack.append(a)
                continue
            order.append(a)
        b = node._b
        if b is not None and b not in seen:
            seen.add(b)
            if b._a is not None:
                stack.append(b)
                continue
            order.append(b)
        stack.pop()
        order.append(node)
    return order


# -- scope ---------------------------------------------------------------------------------------------------
class scope:
    """Tag every node created inside the ``with`` block with ``name`` (nested scopes join with ".").

    nn uses it so that drawings can group a neuron's or a layer's nodes::

        with scope("L1"):
            with scope("n2"):
                y = (w * x + b).sigmoid()   # y.scope == "L1.n2"

    The current scope belongs to the running thread and asyncio task (a ``contextvars`` variable), so
    code building graphs in parallel never labels another's nodes. Leaving a block always removes
    exactly what entering it added, even if one scope object is entered twice or blocks are left out
    of order.
    """

    __slots__ = ("name",)

    @cython.annotation_typing(False)
    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a scope's name must be a non-empty str, got {type(name).__name__}: {_short(name)}")
        self.name = name

    def __enter__(self) -> str:
        global _scopes_used
        _scopes_used = True
        return _set_scopes(_scope_stack.get() + (self,))

    def __exit__(self, *exc_info: object) -> None:
        stack = _scope_stack.get()
        for i in range(len(stack) - 1, -1, -1):  # this object's innermost entry, wherever it is
            if stack[i] is self:
                _set_scopes(stack[:i] + stack[i + 1 :])
                return


def _set_scopes(stack: tuple) -> str:
    path = ".".join(s.name for s in stack)
    _scope_stack.set(stack)
    _scope_path.set(path)
    return path


# -- copies and pickles ------------------------------------------------------------------------------------
_pickling = threading.local()


def _blank(cls: type) -> Value:
    """An empty node of class ``cls``, to be filled by ``_copy_fields`` or ``_restore_graph``."""
    return cls.__new__(cls)


@cython.cfunc
def _copy_fields(twin: Value, node: Value, a: Optional[Value], b: Optional[Value]) -> cython.void:
    twin._data = node._data
    twin._grad = node._grad
    twin._opname = node._opname
    twin._label = node._label
    twin._a = a
    twin._da = node._da
    twin._b = b
    twin._db = node._db
    twin._scope = node._scope
    twin._pass = node._pass
    twin._saved = 0.0
    twin._mark = 0


def _table(order: list) -> tuple:
    """The fields of the nodes in ``order``, column by column (numbers packed in arrays), with each
    operand given as its position in ``order`` (-1 for none)."""
    position: dict = {node: i for i, node in enumerate(order)}
    node: Value
    data: list = []
    grad: list = []
    da: list = []
    db: list = []
    a: list = []
    b: list = []
    passes: list = []
    ops: list = []
    labels: list = []
    scopes: list = []
    for node in order:
        data.append(node._data)
        grad.append(node._grad)
        da.append(node._da)
        db.append(node._db)
        a.append(position[node._a] if node._a is not None else -1)
        b.append(position[node._b] if node._b is not None else -1)
        passes.append(node._pass)
        ops.append(node._opname)
        labels.append(node._label)
        scopes.append(node._scope)
    doubles = [array("d", column) for column in (data, grad, da, db)]
    integers = [array("q", column) for column in (a, b, passes)]
    return (*doubles, *integers, ops, labels, scopes)


def _restore_graph(nodes: list, table: tuple, end: object) -> Value:
    """Fill the shells of a pickled graph from its table; return its root (the last node)."""
    data, grad, da, db, a, b, passes, ops, labels, scopes = table
    # Pass numbers count the backward passes of the process that pickled the graph; here they get new
    # numbers, so that nodes written by one pass still share one number and no other pass has it.
    renumbered: dict = {0: 0, HAND_SET: HAND_SET}
    shell: Value
    i: cython.Py_ssize_t
    for i in range(len(nodes)):
        shell = nodes[i]
        shell._data = as_finite_float(data[i], "a pickled Value's data")
        shell._grad = grad[i]
        shell._opname = ops[i]
        shell._label = _as_label(labels[i])
        shell._a = nodes[a[i]] if a[i] >= 0 else None
        shell._da = da[i]
        shell._b = nodes[b[i]] if b[i] >= 0 else None
        shell._db = db[i]
        shell._scope = scopes[i]
        if passes[i] not in renumbered:
            renumbered[passes[i]] = next(_pass_numbers)
        shell._pass = renumbered[passes[i]]
        shell._saved = 0.0
        shell._mark = 0
    return nodes[-1]


class _EndOfTable:
    """Pickled right after a graph's table: the pickler calls its ``__reduce__``, which marks the end
    of the table, so that Values pickled later are pickled whole again."""

    def __reduce__(self) -> tuple:
        _pickling.members = None
        return (_EndOfTable, ())


# Compiled only: operands of freed nodes waiting to be released (see Value.__dealloc__).
_releasing = cython.declare(list, [])
_freeing_depth = cython.declare(cython.long, 0)


# -- the op table ---------------------------------------------------------------------------------------------
class Op:
    """Everything chainrule knows about one primitive, in one place.

    Attributes:
        name: the node's ``op`` ("*", "exp"; "**k" for every constant power, whose nodes say "**2").
        arity: the number of operands (1 or 2).
        apply: makes the node from Value operands (for "**k": ``apply(a, k)``); this is the method
            that computes the value and the local derivatives side by side.
        text, latex: the node's value as a formula in its operands ``{a}``, ``{b}`` (and ``{k}``).
        d_text, d_latex: d node / d operand for each operand, as formulas in ``{a}``, ``{b}``, ``{out}``
            (the node's value), ``{k}`` and ``{k1}`` (k - 1). The text is in the syntax of
            ``autograd.expr`` (relu's aside).
        rule: the same local derivatives as an expression of Values: ``rule(a, b, out)`` or
            ``rule(a, out)`` (``rule(a, out, k)`` for "**k") returns one Value or number per operand.
            Built from primitives, it can be differentiated again (higher-order gradients).
    """

    __slots__ = ("name", "arity", "apply", "text", "latex", "d_text", "d_latex", "rule")

    def __init__(
        self, name: str, arity: int, apply: Callable, text: str, latex: str,
        d_text: tuple, d_latex: tuple, rule: Callable,
    ) -> None:
        self.name, self.arity, self.apply, self.text, self.latex = name, arity, apply, text, latex
        self.d_text, self.d_latex, self.rule = d_text, d_latex, rule

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


def _power_slope(a: Value, k: float) -> Union[Value, float]:
    """d(a^k)/da = k a^(k-1) as an expression of Values. For k = 0, 1 and 2 it is written 0, 1 and
    ``2 * a``: the same numbers, without the nodes ``a**0`` and ``a**1`` the general form would make."""
    if k == 0.0 or k == 1.0:
        return k
    return k * a if k == 2.0 else k * a ** (k - 1.0)


def _step(a: Value) -> Value:
    """relu's slope as a node: the constant 1 where a > 0, else 0 (its own derivative is 0)."""
    return Constant(1.0 if a.data > 0.0 else 0.0)


OPS: dict = {op.name: op for op in [
    Op("+", 2, Value.__add__, "{a} + {b}", "{a} + {b}",
       ("1", "1"), ("1", "1"),
       lambda a, b, out: (1.0, 1.0)),
    Op("-", 2, Value.__sub__, "{a} - {b}", "{a} - {b}",
       ("1", "-1"), ("1", "-1"),
       lambda a, b, out: (1.0, -1.0)),
    Op("*", 2, Value.__mul__, "{a} * {b}", r"{a} \cdot {b}",
       ("{b}", "{a}"), ("{b}", "{a}"),
       lambda a, b, out: (b, a)),
    Op("/", 2, Value.__truediv__, "{a} / {b}", r"\frac{{{a}}}{{{b}}}",
       ("1 / {b}", "-{a} / {b}**2"), (r"\frac{{1}}{{{b}}}", r"-\frac{{{a}}}{{{b}^{{2}}}}"),
       lambda a, b, out: (1.0 / b, -out / b)),
    Op("neg", 1, Value.__neg__, "-{a}", "-{a}",
       ("-1",), ("-1",),
       lambda a, out: (-1.0,)),
    Op("**k", 1, Value.__pow__, "{a}**{k}", "{a}^{{{k}}}",
       ("{k} * {a}**{k1}",), (r"{k} \cdot {a}^{{{k1}}}",),
       lambda a, out, k: (_power_slope(a, k),)),
    Op("pow", 2, Value.__pow__, "{a}**{b}", "{a}^{{{b}}}",
       ("{b} * {a}**({b} - 1)", "{out} * log({a})"), (r"{b} \cdot {a}^{{{b} - 1}}", r"{out} \cdot \log {a}"),
       lambda a, b, out: (b * a ** (b - 1.0), out * a.log())),
    Op("exp", 1, Value.exp, "exp({a})", "e^{{{a}}}",
       ("{out}",), ("{out}",),
       lambda a, out: (out,)),
    Op("log", 1, Value.log, "log({a})", r"\log {a}",
       ("1 / {a}",), (r"\frac{{1}}{{{a}}}",),
       lambda a, out: (1.0 / a,)),
    Op("sigmoid", 1, Value.sigmoid, "sigmoid({a})", r"\sigma({a})",
       ("{out} * (1 - {out})",), (r"{out}\,(1 - {out})",),
       lambda a, out: (out * (1.0 - out),)),
    Op("tanh", 1, Value.tanh, "tanh({a})", r"\tanh({a})",
       ("1 - {out}**2",), (r"1 - {out}^{{2}}",),
       lambda a, out: (1.0 - out * out,)),
    Op("relu", 1, Value.relu, "relu({a})", r"\mathrm{{relu}}({a})",
       ("(1 if {a} > 0 else 0)",), (r"\mathbb{{1}}[{a} > 0]",),
       lambda a, out: (_step(a),)),
]}

PRIMITIVE_OPS: tuple = tuple(OPS)
"""The names of the primitives ("**k" stands for "**2", "**-1", ...)."""


def op_entry(node: Value) -> tuple:
    """``(Op, k)`` for the primitive that made ``node``: k is the exponent of a constant power, else None.
    A KeyError for a leaf."""
    op = node.op
    if op.startswith("**"):
        return OPS["**k"], float(op[2:])
    return OPS[op], None


def recompute(node: Value, operand_values) -> tuple:
    """Run ``node``'s primitive again on ``operand_values``: its new value and local derivatives.

    The node is not changed. A primitive that fails raises its usual error."""
    entry, k = op_entry(node)
    operands = [Value(value, parent.label) for parent, value in zip(node.parents, operand_values)]
    fresh = entry.apply(*operands) if k is None else entry.apply(operands[0], k)
    return fresh.data, fresh.local_grads


def local_rule(node: Value) -> tuple:
    """d node / d operand for each operand of ``node``, as Values built from the op table's rule
    (numbers for constant slopes). Differentiable again: the basis of higher-order gradients."""
    entry, k = op_entry(node)
    args = node.parents + (node,)
    return entry.rule(*args) if k is None else entry.rule(*args, k)
