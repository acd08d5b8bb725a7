"""Formulas from the graph: a node's value and a derivative as sympy expressions of the leaves.

Needs sympy (``pip install "chainrule[symbolic]"``; the ``dev`` extra includes it).

    >>> from autograd import Value
    >>> from autograd.symbolic import expression, formula
    >>> x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    >>> h = (x * w + b).sigmoid()
    >>> h.label = "h"
    >>> E = -h.log()
    >>> expression(E)
    -log(sigmoid(b + w*x))
    >>> formula(E, w, using=[h])
    x*(h - 1)

How it works: this module knows no derivative. It is one more reader of the engine's op table
(``engine.OPS``): each primitive's value (the Value method of ``apply``) and its local derivatives
(``rule``, an expression written with the engine's own operations) are evaluated on ``_Formula``
objects, small wrappers of sympy expressions that offer the same operators and methods as a Value.
``formula`` then applies the chain rule, as ``backward`` does, from the root back to ``wrt``, summing
``adjoint * local`` with formulas in place of numbers, and tidies the result with a few bounded,
targeted rewrites (never sympy's general ``simplify``, which can run for minutes).

Names: a leaf is a ``sympy.Symbol`` named by its label; an unlabelled leaf, or one whose label another
leaf of the graph shares, is named ``#i``, its position in ``topological_order(root)`` (as the
checker names it). Constants (unlabelled or labelled, like softmax's ``-max(z)``) stay numbers: an
exact rational where the float is the float of a fraction with a denominator up to 1000 (0.5 is 1/2,
0.1 is 1/10), else a sympy Float holding the float's exact value. ``sigmoid`` is the function
``sigmoid`` (LaTeX ``\\sigma``), relu is ``Max(x, 0)``, and relu's slope is ``Heaviside(x, 0)``
(0 at 0, as the engine takes it).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Iterable, Mapping, Sequence, Union

try:
    import sympy
except ImportError as exc:  # pragma: no cover - exercised by a test that hides sympy
    raise ImportError(
        'autograd.symbolic needs sympy, which is not installed: pip install "chainrule[symbolic]"'
    ) from exc

from .engine import Value, _short, apply_rule, describe, evaluate_op, topological_order

__all__ = ["expression", "formula", "latex", "evaluate", "symbol_values", "gradient_values", "sigmoid"]

# Bounds on the tidying: above these sizes (sympy's count_ops) a rewrite is not tried, so that a big
# formula comes back unsimplified but correct instead of after minutes.
REWRITE_LIMIT = 5000  # operations: combining exponentials, multiplying out, substituting
EXPAND_LIMIT = 400  # terms: multiplying out stops where it would make more
# Formulas are evaluated with this many significant digits (a float has about 16).
DIGITS = 30
FACTOR_LIMIT = 150


class sigmoid(sympy.Function):  # noqa: N801 - named as the engine's method
    """The logistic function 1 / (1 + exp(-x)), kept as one function so that formulas read as written."""

    @classmethod
    def eval(cls, arg):  # noqa: D102 - sympy's hook: no automatic rewriting
        return None

    def fdiff(self, argindex: int = 1):  # noqa: D102 - sympy's hook
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sympy.exp(-arg))

    def _eval_evalf(self, prec):
        return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

    def _latex(self, printer):
        return r"\sigma\left(%s\right)" % printer._print(self.args[0])


def _number(x: float) -> sympy.Expr:
    """A constant of the graph as a sympy number: exact where the float is a small fraction's float."""
    if x.is_integer() and abs(x) < 2**53:
        return sympy.Integer(int(x))
    fraction = Fraction(x).limit_denominator(1000)
    if float(fraction) == x:
        return sympy.Rational(fraction.numerator, fraction.denominator)
    return sympy.Float(x, 17)


def _lift(x: object) -> sympy.Expr:
    if isinstance(x, _Formula):
        return x.expr
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return _number(float(x))
    raise TypeError(f"a formula cannot be combined with {type(x).__name__}: {_short(x)}")


class _Formula:
    """A sympy expression that answers to a Value's operators and methods, so that the op table's
    ``apply`` methods and ``rule`` functions can be evaluated on it."""

    __slots__ = ("expr",)

    def __init__(self, expr: sympy.Expr) -> None:
        self.expr = expr

    def __add__(self, other): return _Formula(self.expr + _lift(other))  # noqa: E704
    def __radd__(self, other): return _Formula(_lift(other) + self.expr)  # noqa: E704
    def __sub__(self, other): return _Formula(self.expr - _lift(other))  # noqa: E704
    def __rsub__(self, other): return _Formula(_lift(other) - self.expr)  # noqa: E704
    def __mul__(self, other): return _Formula(self.expr * _lift(other))  # noqa: E704
    def __rmul__(self, other): return _Formula(_lift(other) * self.expr)  # noqa: E704
    def __truediv__(self, other): return _Formula(self.expr / _lift(other))  # noqa: E704
    def __rtruediv__(self, other): return _Formula(_lift(other) / self.expr)  # noqa: E704
    def __pow__(self, other, modulo=None): return _Formula(self.expr ** _lift(other))  # noqa: E704
    def __rpow__(self, other, modulo=None): return _Formula(_lift(other) ** self.expr)  # noqa: E704
    def __neg__(self): return _Formula(-self.expr)  # noqa: E704
    def exp(self): return _Formula(sympy.exp(self.expr))  # noqa: E704
    def log(self): return _Formula(sympy.log(self.expr))  # noqa: E704
    def sigmoid(self): return _Formula(sigmoid(self.expr))  # noqa: E704
    def tanh(self): return _Formula(sympy.tanh(self.expr))  # noqa: E704
    def relu(self): return _Formula(sympy.Max(self.expr, 0))  # noqa: E704
    def step(self): return _Formula(sympy.Heaviside(self.expr, 0))  # noqa: E704 - relu's slope


class _Symbols:
    """The symbols of a graph's leaves (and of the ``using`` nodes): names as the module says."""

    def __init__(self, root: Value, using: Sequence[Value] = (), held: bool = False) -> None:
        order = topological_order(root)
        extra: list[Value] = []
        seen = set(order)
        for node in using:  # a using node outside root's graph brings its own leaves
            for n in topological_order(node):
                if n not in seen:
                    seen.add(n)
                    extra.append(n)
        self.order = order + extra
        self.position = {node: i for i, node in enumerate(self.order)}
        named = [n for n in self.order if (n.is_leaf and n.role != "constant") or n in set(using)]
        counts: dict[str, int] = {}
        for n in named:
            if n.label:
                counts[n.label] = counts.get(n.label, 0) + 1
        self.symbol: dict[Value, sympy.Symbol] = {}
        taken: set[str] = set()
        for n in named:
            name = n.label if n.label and counts[n.label] == 1 else f"#{self.position[n]}"
            if name in taken:  # a label such as "#3" that another node's position name already has
                name = f"#{self.position[n]}"
            taken.add(name)
            self.symbol[n] = sympy.Symbol(name)
        self.node_of = {s: n for n, s in self.symbol.items()}
        # With ``held``, labelled constants (softmax's shift "-max(z)") are placeholders while a
        # formula is derived and tidied, so that they cancel exactly; ``numbers`` puts them back.
        # Constants with the same label and number share one (softmax's shift in two graphs of the same
        # logits), so that a using node from another graph matches.
        self.held: dict[Value, sympy.Dummy] = {}
        if held:
            shared: dict[tuple, sympy.Dummy] = {}
            for n in self.order:
                if n.is_leaf and n.role == "constant" and n.label:
                    key = (n.label, n.data)
                    self.held[n] = shared.setdefault(key, sympy.Dummy(n.label))

    def leaf(self, node: Value) -> sympy.Expr:
        symbol = self.symbol.get(node)
        if symbol is None:
            symbol = self.held.get(node)
        return symbol if symbol is not None else _number(node.data)

    def numbers(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with the held constants' numbers in place of their placeholders."""
        present = {d: _number(n.data) for n, d in self.held.items() if d in expr.free_symbols}
        return expr.subs(present) if present else expr


def _expressions(order: Iterable[Value], symbols: _Symbols, cut: Mapping[Value, sympy.Expr]) -> dict:
    """Each node's formula: a leaf's symbol or number, a node in ``cut`` its symbol there, every other
    node its primitive (from the op table) applied to its operands' formulas."""
    formulas: dict[Value, _Formula] = {}
    for node in order:
        if node in cut:
            formulas[node] = _Formula(cut[node])
        elif node.is_leaf:
            formulas[node] = _Formula(symbols.leaf(node))
        else:
            formulas[node] = _as_formula(evaluate_op(node, [formulas[p] for p in node.parents]))
    return formulas


def _as_formula(x: object) -> _Formula:
    return x if isinstance(x, _Formula) else _Formula(_lift(x))


def expression(node: Value) -> sympy.Expr:
    """``node``'s value as a formula of its graph's leaves (each a ``sympy.Symbol`` named by its label,
    see the module's documentation for names and constants), built by the op table's primitives."""
    _require(node, "expression", "node")
    symbols = _Symbols(node)
    return _expressions(symbols.order, symbols, {})[node].expr


def formula(root: Value, wrt: Value, *, using: Iterable[Value] = ()) -> sympy.Expr:
    """d root / d wrt as a formula, built by the chain rule from the op table's local derivatives.

    Args:
        root: the Value to differentiate.
        wrt: a leaf, or an intermediate node (held as an independent variable, as ``.grad`` takes it).
            0 if ``root`` does not depend on it.
        using: nodes whose labels should appear as symbols in place of their definitions, so that
            the formula reads as a derivation on paper does: ``formula(CE, b3, using=[p_setosa])`` is
            ``p_setosa - 1``. A using node inside root's graph stands for itself wherever the chain
            rule meets it; wherever its definition (in the leaves or in other using symbols) still
            appears after that, it is replaced by its symbol. It may also be a node outside root's
            graph built from the same leaves (a separate ``nn.softmax`` of the same logits).

    The result is tidied with bounded effort (see ``REWRITE_LIMIT``, ``EXPAND_LIMIT``, ``FACTOR_LIMIT``): expanded,
    the using nodes' definitions replaced by their symbols, factored; the shortest correct form
    found is returned, and a large formula comes back correct but unsimplified rather than late.
    Substitute the nodes' values with ``evaluate``.

    Raises:
        TypeError: root, wrt or a using node is not a Value.
    """
    _require(root, "formula", "root")
    _require(wrt, "formula", "wrt")
    using = list(dict.fromkeys(using))
    for i, node in enumerate(using):
        _require(node, "formula", f"using[{i}]")
    symbols = _Symbols(root, using, held=True)
    order = topological_order(root)
    in_graph = set(order)
    cut = {u: symbols.symbol[u] for u in using if u in in_graph and u is not wrt}
    formulas = _expressions(order, symbols, cut)
    result = _adjoints(root, order, formulas, [wrt]).get(wrt, sympy.Integer(0))
    return symbols.numbers(_tidy(result, _definitions(using, symbols, cut)))


def _adjoints(root: Value, order: list[Value], formulas: dict, targets: Sequence[Value]) -> dict:
    """d root / d node as a formula for the targets (and the nodes between them and the root): the
    chain rule of ``backward``, from the root back, with each local derivative the op table's rule
    evaluated on the operands' formulas."""
    depends = set(targets)  # only the nodes that depend on a target need an adjoint
    for node in order:
        if any(p in depends for p in node.parents):
            depends.add(node)
    adjoint: dict[Value, sympy.Expr] = {}
    if root not in depends:
        return adjoint
    adjoint[root] = sympy.Integer(1)
    for node in reversed(order):
        upstream = adjoint.get(node)
        if upstream is None or not node.parents:
            continue
        locals_ = apply_rule(node, [formulas[p] for p in node.parents], formulas[node])
        for parent, local in zip(node.parents, locals_):
            if parent in depends:
                term = upstream * _as_formula(local).expr
                adjoint[parent] = adjoint[parent] + term if parent in adjoint else term
    return adjoint


def gradient_values(root: Value, nodes: Sequence[Value]) -> dict[Value, float]:
    """d root / d node for each of ``nodes``, as numbers: the formulas of one symbolic chain-rule pass
    (no tidying), each evaluated at the nodes' current values with 30 significant digits. What the
    ``symbolic`` column of ``autograd.check.routes`` shows."""
    _require(root, "gradient_values", "root")
    symbols = _Symbols(root)
    order = topological_order(root)
    adjoint = _adjoints(root, order, _expressions(order, symbols, {}), list(nodes))
    values = {s: sympy.Float(n.data, DIGITS) for n, s in symbols.symbol.items()}
    return {node: _number_at(adjoint.get(node, sympy.Integer(0)), values) for node in nodes}


def _number_at(expr: sympy.Expr, values: dict) -> float:
    """``expr`` at ``values`` (symbol -> Float of ``DIGITS`` digits), as a float. The numbers are put
    in first (``xreplace``) and the result evaluated then: sympy's ``evalf(subs=...)`` takes seconds
    on formulas of a few hundred operations, this milliseconds."""
    number = sympy.sympify(expr).xreplace(values).evalf(DIGITS)
    try:
        result = float(number)
    except TypeError:
        raise ValueError(f"the formula does not give a real number here, it gives {number}") from None
    if not math.isfinite(result):
        raise ValueError(f"the formula gives {result} here, not a finite float")
    return result


def _definitions(using: list[Value], symbols: _Symbols, cut: Mapping[Value, sympy.Expr]) -> list:
    """(definition, symbol) for each using node, later nodes first: its definition in the other using
    symbols, and in the leaves alone."""
    pairs = []
    for u in sorted(using, key=lambda n: -symbols.position[n]):
        if u.is_leaf:
            continue
        operands = topological_order(u)
        others = {n: s for n, s in cut.items() if n is not u}
        in_symbols = _expressions(operands, symbols, others)[u].expr
        in_leaves = _expressions(operands, symbols, {})[u].expr
        for definition in dict.fromkeys((in_symbols, in_leaves)):
            pairs.append((definition, symbols.symbol[u]))
    return pairs


def _size(expr: sympy.Expr) -> int:
    return int(sympy.count_ops(expr))


def _tidy(expr: sympy.Expr, definitions: list) -> sympy.Expr:
    """The shortest of a few bounded rewrites of ``expr`` (all equal to it wherever the using symbols
    hold their nodes' values)."""
    candidates = [expr]
    current = expr
    if _size(current) <= REWRITE_LIMIT:
        # exp(a) * exp(-a) is not 1 until exponentials are combined (1/e^a is kept as e^-a)
        current = sympy.powsimp(current, combine="exp")
        candidates.append(current)
    if definitions:
        current = _substitute(current, definitions)
        candidates.append(current)
    if _size(current) <= REWRITE_LIMIT:
        expanded = _distribute(current)
        if expanded is not None:
            expanded = sympy.powsimp(expanded, combine="exp")
            current = _substitute(expanded, definitions) if definitions else expanded
            candidates.append(current)
    if _size(current) <= FACTOR_LIMIT:
        try:
            candidates.append(sympy.factor(current, deep=False))
        except (sympy.PolynomialError, NotImplementedError):  # pragma: no cover - sympy declines
            pass
    # the shortest; among equally short ones the most rewritten
    return min(reversed(candidates), key=_size)


def _distribute(expr: sympy.Expr) -> sympy.Expr | None:
    """Products multiplied out over the sums they hold as factors, in numerators only (sympy's
    ``expand`` multiplies out denominators too, which hides a using node's definition ``a / (b + c)``
    from ``subs``); None when that would make more than ``EXPAND_LIMIT`` terms."""
    if expr.is_Add:
        parts = [_distribute(term) for term in expr.args]
        return None if any(p is None for p in parts) else sympy.Add(*parts)
    if not expr.is_Mul:
        return expr
    terms = [sympy.Integer(1)]
    for factor in expr.args:
        if factor.is_Add:
            inner = _distribute(factor)
            if inner is None:
                return None
            choices = sympy.Add.make_args(inner)
        else:
            choices = (factor,)
        if len(terms) * len(choices) > EXPAND_LIMIT:
            return None
        terms = [t * c for t in terms for c in choices]
    return sympy.Add(*terms)


def _substitute(expr: sympy.Expr, definitions: list) -> sympy.Expr:
    for definition, symbol in definitions:
        expr = expr.subs(definition, symbol)
    return expr


def latex(expr: Union[sympy.Expr, Value], **settings) -> str:
    """LaTeX of a formula (or of a node's ``expression``), as sympy writes it; ``sigmoid`` is ``\\sigma``."""
    if isinstance(expr, Value):
        expr = expression(expr)
    return sympy.latex(expr, **settings)


def symbol_values(root: Value, using: Iterable[Value] = ()) -> dict:
    """{symbol: the node's current ``.data``} for every leaf of ``root``'s graph and each using node:
    what ``evaluate`` substitutes."""
    symbols = _Symbols(root, list(dict.fromkeys(using)))
    return {symbol: node.data for node, symbol in symbols.symbol.items()}


def evaluate(expr: sympy.Expr, root: Value, using: Iterable[Value] = ()) -> float:
    """The number a formula of ``root``'s graph gives at the nodes' current values (leaves and the using
    nodes, named as ``formula`` names them), computed with ``DIGITS`` significant digits and rounded
    to a float. A ValueError if a symbol names no such node or the result is not a finite real."""
    _require(root, "evaluate", "root")
    values = symbol_values(root, using)
    unknown = sorted(str(s) for s in expr.free_symbols if s not in values)
    if unknown:
        raise ValueError(
            f"evaluate(): the formula has symbols that name no leaf of the graph of {describe(root)} and no using "
            f"node: {', '.join(unknown)} (pass the nodes they stand for as using=[...])"
        )
    try:
        return _number_at(expr, {s: sympy.Float(v, DIGITS) for s, v in values.items()})
    except ValueError as exc:
        raise ValueError(f"evaluate(): {exc}") from None


def _require(node: object, function: str, argument: str) -> None:
    if not isinstance(node, Value):
        raise TypeError(f"{function}() needs a Value as {argument}, got {type(node).__name__}: {_short(node)}")

