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
  strings and older nodes, so no cycle can form (and no subclass can add attributes: Parameter and
  Constant are the only ones); and the memory of freed nodes is kept for new ones;
* ``@cython.cfunc`` on a few helpers (C functions when compiled), ``cython.declare`` on a few module
  flags and counters (C variables), and annotations such as ``x: cython.double`` or ``node: Value`` on
  local variables, which make the arithmetic and field access C. Plain Python ignores annotations of
  local variables;
* ``@cython.annotation_typing(False)`` where an argument's annotation should not become a compiled
  type check, so that the engine's own error message, naming the argument, is the one raised;
* compiled only, ``autograd/_freeing.pxd``: a few lines of C, cimported at the top and installed at the
  end, with which freeing a long chain does not recurse once per level in C;
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
import weakref
from array import array
from typing import Any, Callable, Optional, Union

try:
    import cython
except ImportError:  # Cython is needed only to build the compiled engine
    from autograd import _nocython as cython

if cython.compiled:
    from cython.cimports.autograd._freeing import chainrule_install_free
    from cython.cimports.libc.math import exp, floor, log, tanh
else:
    from math import exp, floor, log, tanh

COMPILED: bool = cython.compiled
"""True when this module runs as the compiled extension, False when it runs as plain Python."""

Number = Union[int, float]
Operand = Union["Value", int, float]

# The largest x for which exp(x) is a finite double.
EXP_MAX = math.log(2.0**1023 * (2.0 - 2.0**-52))

# From 2**53 on every float is an even integer, so k - 1.0 rounds to k or k - 2: a^(k-1) computed with
# it would have the wrong sign for a < 0 (``(-1.0) ** (1e300 - 1.0)`` is +1). There a ** k's slope is
# k * (a^k / a).
_EVEN_ONLY = cython.declare(cython.double, 9007199254740992.0)

_subclasses_closed = False  # until Parameter and Constant are made (see below Constant)

# ``backward`` stamps every node it writes a gradient to with the number of its pass (see grad_pass).
_pass_numbers = itertools.count(1)
HAND_SET: int = -1
"""``grad_pass`` of a grad set by hand (``v.grad = ...`` or ``c._backward()``)."""

# Backward passes run one at a time: two passes through shared nodes at once would each clear and add to
# the other's gradients. Every write of the engine to grads and grad passes holds this lock, and so does
# forward mode, which keeps its tangents in the field ``_saved`` where backward keeps the old grads.
_grad_lock = threading.Lock()


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


def _refuse_subclass(cls: type, **kwargs: Any) -> None:
    """``Value.__init_subclass__``: once Parameter and Constant are made, subclassing a node class is a
    TypeError that says why."""
    if _subclasses_closed:
        base = next(c for c in cls.__mro__[1:] if issubclass(c, Value))
        raise TypeError(
            f"class {cls.__name__} cannot subclass {base.__name__}: chainrule's nodes are not made "
            "to be extended (compiled, a node is a C struct whose references Python's garbage collector does "
            "not follow, so cycles through a subclass's attributes would never be freed); keep extra data "
            "beside the nodes, for example in a dict keyed by the Value"
        )


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
    micrograd's constructor form ``Value(data, _children, _op)`` is a TypeError that says so: a node
    with operands is made by an operation (``a + b``), never by the constructor.

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
    _saved: cython.double  # scratch: the old _grad while backward runs (to undo a failed pass); forward mode's tangent
    _mark: cython.long  # the walk that last visited the node (see topological_order)

    # Parameter and Constant are the only subclasses: a class statement deriving from any node class
    # is a TypeError (see _refuse_subclass). A class attribute, as Cython has no __init_subclass__ method.
    __init_subclass__ = classmethod(_refuse_subclass)

    @cython.annotation_typing(False)  # the checks below give clearer errors than the compiler's
    def __init__(self, data: Number, label: str = "", _op: object = None, *, _children: object = None) -> None:
        _require_self(self, "__init__")
        if _op is not None or _children is not None or isinstance(label, (tuple, set, list)):  # micrograd's form
            _refuse_micrograd_constructor(label, _op, _children)
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
        _require_self(self, "_backward")
        if self._a is None:
            return
        with _grad_lock:  # as every write of grads: one at a time with backward passes in other threads
            _local_step(self, self._grad)
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
        _require_self(self, "__repr__")
        label = f", label={self._label!r}" if self._label else ""
        op = f", op={self._opname!r}" if self._opname else ""
        return f"Value(data={self._data:.6g}, grad={self._grad:.6g}{label}{op})"

    def __float__(self) -> float:
        _require_self(self, "__float__")
        raise TypeError(
            f"a Value is not a float, and converting it would drop its gradient ({describe(self)}): use "
            "v.data for the number, or the Value's own methods (v.exp(), v.log(), v.tanh(), ...) instead of math's"
        )

    def __int__(self) -> int:
        _require_self(self, "__int__")
        return self.__float__()

    # -- the primitives ----------------------------------------------------------------------------------
    # Each computes its value and its local derivatives side by side. A plain number operand becomes a
    # Constant leaf; the reflected forms (``1 - x``) make that Constant and apply the same primitive.
    def __add__(self, other: Operand) -> Value:
        _require_self(self, "__add__")
        b: Value = other if isinstance(other, Value) else _operand(other, "+")
        if b is None:
            return NotImplemented
        return _node(self._data + b._data, "+", self, 1.0, b, 1.0)  # d(a+b)/da = 1, d(a+b)/db = 1

    def __sub__(self, other: Operand) -> Value:
        _require_self(self, "__sub__")
        b: Value = other if isinstance(other, Value) else _operand(other, "-")
        if b is None:
            return NotImplemented
        return _node(self._data - b._data, "-", self, 1.0, b, -1.0)  # d(a-b)/da = 1, d(a-b)/db = -1

    def __mul__(self, other: Operand) -> Value:
        _require_self(self, "__mul__")
        b: Value = other if isinstance(other, Value) else _operand(other, "*")
        if b is None:
            return NotImplemented
        x: cython.double = self._data
        y: cython.double = b._data
        return _node(x * y, "*", self, y, b, x)  # d(ab)/da = b, d(ab)/db = a

    def __truediv__(self, other: Operand) -> Value:
        _require_self(self, "__truediv__")
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
        _require_self(self, "__pow__")
        if modulo is not None:
            _refuse_modulus(modulo)
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
            if x == 0.0 or -_EVEN_ONLY < k < _EVEN_ONLY:
                slope = k * _pow_or_inf(x, k - 1.0)
            else:  # k - 1 is no float here: a^(k-1) = a^k / a
                slope = k * (out / x)
            if slope - slope != 0.0:
                raise OverflowError(f"the slope of a ** {k:g} at a = {x!r} is too large for a float, at {describe(self)}")
        return _node(out, power_op_name(k), self, slope, None, 0.0)

    def __radd__(self, other: Operand) -> Value:
        _require_self(self, "__radd__")
        a: Value = _operand(other, "+")
        return NotImplemented if a is None else a + self

    def __rsub__(self, other: Operand) -> Value:
        _require_self(self, "__rsub__")
        a: Value = _operand(other, "-")
        return NotImplemented if a is None else a - self

    def __rmul__(self, other: Operand) -> Value:
        _require_self(self, "__rmul__")
        a: Value = _operand(other, "*")
        return NotImplemented if a is None else a * self

    def __rtruediv__(self, other: Operand) -> Value:
        _require_self(self, "__rtruediv__")
        a: Value = _operand(other, "/")
        return NotImplemented if a is None else a / self

    def __rpow__(self, base: Operand, modulo: Any = None) -> Value:
        _require_self(self, "__rpow__")
        if modulo is not None:
            _refuse_modulus(modulo)
        a: Value = _operand(base, "**")
        return NotImplemented if a is None else _pow(a, self)

    def __neg__(self) -> Value:
        _require_self(self, "__neg__")
        return _node(-self._data, "neg", self, -1.0, None, 0.0)  # d(-a)/da = -1

    def exp(self) -> Value:
        _require_self(self, "exp")
        a: cython.double = self._data
        if a > EXP_MAX:
            raise OverflowError(f"exp() overflows a float for inputs above {EXP_MAX:.2f}: got {a!r} at {describe(self)}")
        e: cython.double = exp(a)
        return _node(e, "exp", self, e, None, 0.0)  # d e^a/da = e^a

    def log(self) -> Value:
        _require_self(self, "log")
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
        _require_self(self, "sigmoid")
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
        _require_self(self, "tanh")
        t: cython.double = tanh(self._data)
        return _node(t, "tanh", self, 1.0 - t * t, None, 0.0)  # d tanh(a)/da = 1 - tanh(a)^2

    def relu(self) -> Value:
        _require_self(self, "relu")
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
        _require_self(self, "backward")
        order: list = _walk(self)
        stamp: cython.long
        node: Value
        with _grad_lock:
            _chain_rule(order, self, True)
            stamp = next(_pass_numbers)
            for node in order:
                node._pass = stamp

    # -- copying and pickling: any depth, no recursion -----------------------------------------------
    def __copy__(self) -> Value:
        _require_self(self, "__copy__")
        twin: Value = _blank(type(self))
        _copy_fields(twin, self, self._a, self._b)
        return twin

    def __deepcopy__(self, memo: dict) -> Value:
        _require_self(self, "__deepcopy__")
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
        _require_self(self, "__reduce_ex__")
        # Pickling follows a node's operands, and the pickler would recurse once per level: too deep
        # for a long chain. So the first node pickled writes its whole graph as one flat table in
        # topological order (each node in it only as an empty shell, then every node's fields with its
        # operands as positions in the table), and the shells keep the identity of shared nodes.
        marked = _marked_shells()
        if marked is not None and self in marked:  # the pickler is writing the shells of a table
            marked.discard(self)
            return (copyreg.__newobj__, (type(self),)) if protocol >= 2 else (_blank, (type(self),))
        order = topological_order(self)
        end = _EndOfTable()
        return (_unpickle_graph, (_PICKLED_PASSES, type(self), _Shells(order, end), _table(order), end))


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
        _require_self(self, "__init__")
        # Checked here so that a bad operand's error names the operation it was given to.
        super().__init__(as_finite_float(data, f"the other operand of {op!r}" if op else "Constant(data)"))

    @property
    def role(self) -> str:
        return "constant"


# Value, Parameter and Constant are all the node classes there are: the garbage collector cannot see a
# compiled node's references (@cython.no_gc), which is safe only as long as no class adds attributes that
# could close a cycle. So a class statement that subclasses any of them is a TypeError, in both engines.
_subclasses_closed = True


# -- the power with a Value exponent (shared by ``a ** b`` and ``2 ** b``) -------------------------------
@cython.cfunc
def _pow(a: Value, b: Value) -> Value:
    """``a ** b`` with a Value exponent (op "pow")."""
    x: cython.double = a._data
    y: cython.double = b._data
    if x <= 0.0:
        raise ValueError(f"a ** b with a Value exponent needs a positive base a, got a = {x!r} at {describe(a)}")
    out: cython.double = _float_pow(x, y, a)
    # d(a^b)/da = b a^(b-1) (exactly 0 for b = 0, though a^(b-1) may overflow), d(a^b)/db = a^b log(a)
    da: cython.double = 0.0 if y == 0.0 else y * _pow_or_inf(x, y - 1.0)
    return _node(out, "pow", a, _slope(da, "pow", a, b), b, _slope(out * log(x), "pow", a, b))


def _refuse_modulus(modulo: object) -> None:
    """``pow(a, b, m)`` with a Value among ``a``, ``b``: a TypeError, as it is for floats."""
    raise TypeError(
        f"pow() with a modulus is not defined for a Value (nor for a float), got the modulus "
        f"{type(modulo).__name__}: {_short(modulo)} (write a ** b, without a modulus)"
    )


# -- making nodes -------------------------------------------------------------------------------------------
@cython.cfunc
@cython.inline
def _node(data: cython.double, op: str, a: Value, da: cython.double, b: Optional[Value], db: cython.double) -> Value:
    """The node ``op(a)`` or ``op(a, b)`` with value ``data`` and partials ``da``, ``db`` (finite).

    An overflow to inf is an error, never a node."""
    if data - data != 0.0:
        _refuse_overflow(op, data, a, b)
    node: Value = Value.__new__(Value)
    node._data = data
    node._opname = op
    node._label = ""
    node._a = a
    node._da = da
    node._b = b
    node._db = db
    node._scope = _scope_name() if _scopes_used else ""
    node._grad = 0.0
    node._pass = 0
    node._saved = 0.0
    node._mark = 0
    return node


# The two rare paths of _node (an overflow, a scope) are functions of their own, so that compiled, _node
# stays small enough for the C compiler to inline it into each operator.
@cython.cfunc
@cython.exceptval(-1)
def _refuse_overflow(op: str, data: cython.double, a: Value, b: Optional[Value]) -> cython.int:
    raise OverflowError(f"{op!r} overflows a float: got {data} from {_operands(a, b)}")


@cython.cfunc
def _scope_name() -> str:
    """The current scope's name: compiled, a C function, so that _node stays small; plain Python calls
    the context variable's own method instead (below), without a Python frame."""
    return _scope_path.get()


if not cython.compiled:
    _scope_name = _scope_path.get  # noqa: F811


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
    c._scope = _scope_name() if _scopes_used else ""
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
    """A label as a plain ``str``: any str is taken (numpy's ``np.str_`` too), and stored as a plain str."""
    if type(label) is str:
        return label
    if not isinstance(label, str):
        raise TypeError(f"a Value's label must be a str, got {type(label).__name__}: {_short(label)}")
    return str.__str__(label)  # the same characters as a plain str


def _refuse_micrograd_constructor(label: object, op: object, children: object) -> None:
    """micrograd's constructor ``Value(data, _children, _op)`` (or its keywords): a TypeError that says
    what chainrule's constructor takes and where a node's operands come from."""
    given = [f"{type(x).__name__}: {_short(x)}" for x in (label, op) if x is not None and not isinstance(x, str)]
    given += [f"{name}={_short(x)}" for name, x in (("_op", op), ("_children", children)) if x is not None]
    raise TypeError(
        f"Value(data, label='') takes a number and a label, got also {', '.join(dict.fromkeys(given))}. A Value "
        "made by hand is a leaf; a node with operands is made by an operation (c = a + b records a and b as "
        "c._prev and '+' as c._op), not by micrograd's constructor Value(data, _children, _op)"
    )


def _short(x: object) -> str:
    try:
        text = repr(x)
    except ValueError:  # an int longer than Python converts to text (sys.get_int_max_str_digits())
        return f"an int of about {int(x.bit_length() * 0.30103) + 1} digits"
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


@cython.annotation_typing(False)  # the check below gives the same message in both engines
def describe(node: Value) -> str:
    """A short name for a node in messages: ``node 'h2' (op '+', data=0.5)``."""
    _require_value(node, "describe", "node")
    name = f"node {node.label!r}" if node.label else "an unlabelled node"
    kind = f"op {node.op!r}" if not node.is_leaf else f"{node.role} leaf"
    return f"{name} ({kind}, data={node.data:.6g})"


def _operands(a: Value, b: Optional[Value]) -> str:
    return describe(a) if b is None else f"{describe(a)} and {describe(b)}"


def _require_value(node: object, function: str, argument: str = "root") -> None:
    if not isinstance(node, Value):
        raise TypeError(f"{function}() needs a Value as {argument}, got {type(node).__name__}: {_short(node)}")


@cython.cfunc
@cython.inline
@cython.exceptval(-1)
def _require_self(node: object, method: str) -> cython.int:
    """The first line of every method of Value: a method called through the class on something that
    is not a Value (``Value.exp(3)``, ``Value.sigmoid(True)``) is a TypeError naming the method and the
    argument. Compiled, such a call would otherwise read the object's memory as a node's fields.
    (Inline, so that a method called on a Value pays one type comparison.)"""
    if isinstance(node, Value):
        return 0
    _refuse_non_value(node, method)
    return -1


def _refuse_non_value(node: object, method: str) -> None:
    raise TypeError(
        f"Value.{method}() must be called on a Value, got {type(node).__name__}: {_short(node)} "
        f"(to use a number, make it a leaf first: Value(x).{method}(...))"
    )


@cython.cfunc
def _chain_rule(order: list, root: Value, accumulate_leaves: cython.bint) -> cython.void:
    """d root / d node into every node's ``_grad``, for ``order = topological_order(root)``.

    Computed nodes start from 0; leaves add to what they hold if ``accumulate_leaves``, else start
    from 0 too. Every old grad is kept in ``_saved``: if a gradient is not finite, all are put back and
    a FloatingPointError names the node. So are they if the pass is interrupted (Ctrl-C, which plain
    Python can raise between any two lines; compiled, the loops run to their end before it is raised):
    a half-done pass would leave grads that look computed and are not."""
    node: Value
    g: cython.double
    saved: cython.Py_ssize_t = 0  # the nodes of order[:saved] hold their old grad in _saved
    try:
        for node in order:
            node._saved = node._grad
            saved += 1
            if node._a is not None or not accumulate_leaves:
                node._grad = 0.0
        root._grad += 1.0  # 0 + 1 for a computed root, whose grad was just cleared
        for node in reversed(order):
            g = node._grad
            if g - g != 0.0:  # inf or nan
                raise FloatingPointError(
                    f"backward: the gradient at {describe(node)} is {g}, not a finite float (it overflowed); "
                    "every grad was left as it was"
                )
            if node._a is not None:
                _local_step(node, g)
    except BaseException:
        for i in range(saved):
            _restore_grad(order[i])
        raise


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)  # it cannot raise: compiled callers need not ask after each node
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
    with _grad_lock:
        for node in nodes:
            node._grad = 0.0
            node._pass = 0


def forget_grad_passes(nodes) -> None:
    """Mark every node's grad as not computed by any backward pass (grad_pass 0), keeping the number:
    ``replay`` does so when the values the grads belong to have changed. A grad set by hand stays set by
    hand (it is the user's answer; ``autograd.check.grade`` checks it at the current values)."""
    node: Value
    with _grad_lock:
        for node in nodes:
            if node._pass != HAND_SET:
                node._pass = 0


def gradients(root, inputs) -> list:
    """d root / d input for each of ``inputs`` (Values), as floats, without changing any node: every
    ``grad`` and ``grad_pass`` is as it was afterwards, also when the chain rule fails (a
    FloatingPointError, as in ``backward``). An input that ``root`` does not depend on gets 0.

    The same chain rule as ``root.backward()``, at the same cost plus one loop to put the grads back.
    """
    _require_value(root, "gradients")
    x: Value
    node: Value
    inputs = list(inputs)
    for i, item in enumerate(inputs):
        _require_value(item, "gradients", f"inputs[{i}]")
    order: list = topological_order(root)
    held: list = []
    result: list = []
    with _grad_lock:
        for x in inputs:
            held.append(x._grad)
        try:
            for x in inputs:
                x._grad = math.nan  # stays NaN only where the chain rule does not reach (not in root's graph)
            _chain_rule(order, root, False)  # if it fails, it puts back what it found: the NaN too
            try:
                for x in inputs:
                    result.append(0.0 if x._grad != x._grad else x._grad)
            finally:  # also if interrupted while reading the results
                for node in order:
                    _restore_grad(node)
        finally:  # the inputs' own grads, whether the chain rule succeeded or failed
            for i in range(len(inputs) - 1, -1, -1):
                x = inputs[i]
                x._grad = held[i]
    return result


def tangent_sweep(order: list, seeds: dict, every: cython.bint) -> tuple:
    """Forward mode's chain rule, written once: one sweep over ``order`` (a topological order, inputs
    first) carrying each node's tangent, d node / d (the seeded direction).

    A node in ``seeds`` has the tangent given there (an input, or an intermediate node held as an
    independent variable, as ``.grad`` treats it); every other leaf has 0; every computed node has the
    sum over its operands of (its stored local derivative for that operand) x (the operand's tangent):
    the same partials ``backward`` multiplies by, taken in the other direction. No ``grad`` is read or
    written. Returns ``(tangent of order[-1], tangents)``, where ``tangents`` maps every node of
    ``order`` to its tangent if ``every``, else is None.

    A tangent that overflows is a FloatingPointError naming the node.
    """
    with _grad_lock:  # the tangents live in the nodes' scratch field, which backward also uses
        return _sweep(order, seeds, every)


@cython.cfunc
def _sweep(order: list, seeds: dict, every: cython.bint) -> tuple:
    node: Value
    a: Value
    b: Value
    only: Value = None  # the one seeded node, compared by identity (no dict lookup per node)
    only_tangent: cython.double = 0.0
    t: cython.double = 0.0
    seeded: cython.bint
    tangents: dict = {} if every else None
    if len(seeds) == 1:
        for key, value in seeds.items():
            only = key
            only_tangent = value
    for node in order:
        if only is not None:
            seeded = node is only
            if seeded:
                t = only_tangent
        else:
            given = seeds.get(node)
            seeded = given is not None
            if seeded:
                t = given
        if not seeded:
            a = node._a
            if a is None:
                t = 0.0
            else:
                t = node._da * a._saved
                b = node._b
                if b is not None:
                    t += node._db * b._saved
                if t - t != 0.0:
                    raise FloatingPointError(
                        f"forward mode: the tangent at {describe(node)} is {t}, not a finite float (it overflowed)"
                    )
        node._saved = t
        if every:
            tangents[node] = t
    return t, tangents



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
    return _walk(root)


# Walks mark the nodes they visit, which is faster than a set of seen nodes; one walk at a time may
# do so (the lock), and a walk that finds the lock taken keeps a set instead.
_walk_lock = threading.Lock()
_walks = cython.declare(cython.long, 0)


@cython.cfunc
def _walk(root: Value) -> list:
    """``topological_order(root)``: the one walk (``backward`` calls it directly).

    The current node is kept in ``node`` and the stack holds the computed nodes waiting below it for
    their operands, so a node is pushed only when the walk goes down into one of its operands."""
    if not _walk_lock.acquire(False):
        return _walk_by_set(root)  # another thread is walking: leave the nodes' marks to it
    global _walks
    try:
        _walks += 1
        walk: cython.long = _walks  # a node is seen in this walk when its _mark is this number
        order: list = []
        stack: list = []
        node: Value = root
        a: Value
        b: Value
        root._mark = walk
        while True:
            a = node._a
            if a is not None and a._mark != walk:
                a._mark = walk
                if a._a is not None:  # list a's operands first
                    stack.append(node)
                    node = a
                    continue
                order.append(a)  # a leaf has no operands to wait for
            b = node._b
            if b is not None and b._mark != walk:
                b._mark = walk
                if b._a is not None:
                    stack.append(node)
                    node = b
                    continue
                order.append(b)
            order.append(node)  # all its operands are listed
            if not stack:
                return order
            node = stack.pop()
    finally:
        _walk_lock.release()


def _walk_by_set(root: Value) -> list:
    """``_walk`` with a set of seen nodes instead of marks (the same walk otherwise)."""
    order: list = []
    stack: list = []
    seen: set = {root}
    node: Value = root
    a: Value
    b: Value
    while True:
        a = node._a
        if a is not None and a not in seen:
            seen.add(a)
            if a._a is not None:
                stack.append(node)
                node = a
                continue
            order.append(a)
        b = node._b
        if b is not None and b not in seen:
            seen.add(b)
            if b._a is not None:
                stack.append(node)
                node = b
                continue
            order.append(b)
        order.append(node)
        if not stack:
            return order
        node = stack.pop()


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

    A limit: a generator runs in its caller's context, so one that yields inside a ``with scope(...)``
    block leaves that scope on while it is suspended, and the nodes its caller makes between two
    ``next()`` calls get the generator's scope; the scope ends when the generator resumes and leaves
    the block (or is closed). Leave the block before yielding. nn never yields inside a scope (a test
    reads its source to make sure).
    """

    __slots__ = ("name",)

    @cython.annotation_typing(False)
    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a scope's name must be a non-empty str, got {type(name).__name__}: {_short(name)}")
        self.name = str.__str__(name)  # a plain str, also for a subclass such as np.str_

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
# While the pickler writes the shells of a table (see _Shells), ``_pickling.shells`` holds the nodes it
# has been handed to write as shells, and a weak reference to the table's end; at any other time None.
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


class _Shells:
    """The nodes of a graph being pickled but its root, in topological order; loads as a plain list of
    empty nodes of the same classes (``_restore_graph`` fills them from the table).

    The pickler asks its ``__reduce__`` for the list's items and writes each some time after it gets
    it (pickle's list batching reads up to 1,000 items ahead), so each item is marked, as it is handed
    over, as to be written as a shell (``_pickling.shells``). The marks belong to this one pickle: a
    node's ``__reduce_ex__`` takes its own off, the table's end (``_EndOfTable``, pickled right after
    the table) drops them, a later table replaces them, and they are ignored once the table's end no
    longer exists, which is when the pickler has given the pickle up. ``__reduce_ex__`` called outside
    a pickle marks nothing, and a graph's root is never marked (the table's loader makes it)."""

    __slots__ = ("order", "end")

    def __init__(self, order: list, end: _EndOfTable) -> None:
        self.order = order
        self.end = weakref.ref(end)  # weak: only the pickle in progress keeps the end alive

    def __reduce__(self) -> tuple:
        return (list, (), None, _handed_to_pickler(self.order, self.end))


def _handed_to_pickler(order: list, end: weakref.ref):
    """Every node of ``order`` but the last (the root), each marked as a shell before the pickler gets it."""
    marked: set = set()
    _pickling.shells = (marked, end)
    for i in range(len(order) - 1):
        marked.add(order[i])
        yield order[i]


def _marked_shells() -> Optional[set]:
    """The nodes the pickler is to write as shells, or None when it is writing no table."""
    state = getattr(_pickling, "shells", None)
    if state is None:
        return None
    if state[1]() is None:  # that pickle was given up: its table will never end
        _pickling.shells = None
        return None
    return state[0]


class _PassNumbering:
    """The new backward-pass numbers of one unpickled stream. Pass numbers count the passes of the
    process that pickled the graphs; at load each gets a number new to this process, the same for
    every graph in the stream (graphs pickled together share their nodes' passes, as with deepcopy).
    Every pickled graph refers to the one ``_PICKLED_PASSES``, so a stream holds it once and its
    load makes one ``_PassNumbering`` for all the stream's graphs."""

    __slots__ = ("renumbered",)

    def __init__(self) -> None:
        self.renumbered: dict = {0: 0, HAND_SET: HAND_SET}  # "none" and "set by hand" keep their meaning

    def __reduce__(self) -> tuple:
        return (_PassNumbering, ())


_PICKLED_PASSES = _PassNumbering()


def _unpickle_graph(numbering: _PassNumbering, root_class: type, nodes: list, table: tuple, end: object) -> Value:
    """A pickled graph: its root, made here, and the other nodes, filled from the table."""
    nodes.append(_blank(root_class))
    return _restore_graph(nodes, table, None, numbering.renumbered)


def _restore_graph(nodes: list, table: tuple, end: object = None, renumbered: Optional[dict] = None) -> Value:
    """Fill the shells of a pickled graph from its table; return its root (the last node). Streams
    written before _unpickle_graph call it directly, each graph with pass numbers of its own."""
    data, grad, da, db, a, b, passes, ops, labels, scopes = table
    # Pass numbers count the backward passes of the process that pickled the graph; here they get new
    # numbers, so that nodes written by one pass still share one number and no other pass has it.
    if renumbered is None:
        renumbered = {0: 0, HAND_SET: HAND_SET}
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
    """Pickled right after a graph's table: the pickler calls its ``__reduce__``, which drops the marks
    of the table's shells (see _Shells), so that Values pickled later are pickled whole again."""

    def __reduce__(self) -> tuple:
        state = getattr(_pickling, "shells", None)
        if state is not None and state[1]() is self:
            _pickling.shells = None
        return (_EndOfTable, ())


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


@cython.annotation_typing(False)  # the rules are also evaluated on formulas (autograd.symbolic)
def _power_slope(a: Value, out: Value, k: float) -> Union[Value, float]:
    """d(a^k)/da = k a^(k-1) as an expression of Values, computed as ``a ** k`` computes its slope. For
    k = 0, 1 and 2 it is written 0, 1 and ``2 * a``: the same numbers, without the nodes ``a**0`` and
    ``a**1`` the general form would make. For |k| >= 2**53, where k - 1 is no float, it is
    ``k * (out / a)`` (refused at a = 0 as a division by zero)."""
    if k == 0.0 or k == 1.0:
        return k
    if k == 2.0:
        return k * a
    if -_EVEN_ONLY < k < _EVEN_ONLY:
        return k * a ** (k - 1.0)
    return k * (out / a)


def _step(a):
    """relu's slope as a node: the constant 1 where a > 0, else 0 (its own derivative is 0). The rules
    are also evaluated on other things than Values (``autograd.symbolic`` passes formulas): those
    give their own step function, ``a.step()``."""
    if isinstance(a, Value):
        return Constant(1.0 if a.data > 0.0 else 0.0)
    return a.step()


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
       lambda a, out, k: (_power_slope(a, out, k),)),
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
    return apply_rule(node, node.parents, node)


def evaluate_op(node: Value, operands) -> Any:  # operands: a sequence (untyped: a tuple or a list)
    """``node``'s primitive applied to ``operands``, which need not be Values: anything with the
    operators and methods the primitives are written with (``+ - * / ** neg exp log sigmoid tanh
    relu``) will do, such as the formulas of ``autograd.symbolic``. The op table's ``apply`` is the
    Value method of that name, so this calls the method of the same name on the first operand."""
    entry, k = op_entry(node)
    method = getattr(operands[0], entry.apply.__name__)
    if k is not None:
        return method(k)
    return method(*operands[1:])


def apply_rule(node: Value, operands, out: Any) -> tuple:  # operands: a sequence (tuple or list)
    """The op table's derivative rule of ``node``'s primitive evaluated on ``operands`` and ``out`` (its
    value), which need not be Values (see ``evaluate_op``): d node / d operand for each operand."""
    entry, k = op_entry(node)
    return entry.rule(*operands, out) if k is None else entry.rule(*operands, out, k)


# -- freeing nodes (compiled) ---------------------------------------------------------------------------------
if cython.compiled:
    # Freeing a node frees its operands: C would recurse once per level of a long chain, so the node
    # classes get a deallocator that does not (autograd/_freeing.pxd). Plain Python's objects need none.
    _x, _y = Value(1.0), Value(2.0)
    if chainrule_install_free(_x * _y, _x, _y, (Value, Parameter, Constant)) != 0:
        raise ImportError(
            "chainrule's compiled engine could not find where a node keeps its operands; reinstall "
            "chainrule, or set CHAINRULE_PURE_PYTHON=1 to run the plain-Python engine"
        )
    del _x, _y
