"""Build a graph from an expression written as text, safely: ``"log(exp(a) + exp(b)) - a"``.

The text is parsed with Python's ``ast`` module and only a whitelist of node types is turned into
Values: numbers, names given values by the caller, ``+ - * / **``, unary minus and plus, and calls of
``exp log sigmoid tanh relu`` on one argument. Nothing is ever evaluated as Python code, so
``__import__('os')`` or ``x.__class__`` is an ``ExpressionError``, not an action.
"""

from __future__ import annotations

import ast
from typing import Mapping, Union

from .engine import Constant, Value

FUNCTIONS = ("exp", "log", "sigmoid", "tanh", "relu")
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


class ExpressionError(ValueError):
    """The expression text is not one that ``parse_expression`` accepts."""


def parse_expression(text: str, values: Mapping[str, Union[float, Value]]) -> Value:
    """The graph of ``text`` with each name bound to a leaf ``Value(values[name], label=name)``.

    ``values`` maps names to numbers (or to existing Values, which are used as they are). Each name
    becomes one leaf, shared by all its uses, so ``"x * x"`` has one ``x`` with two consumers.

    Raises:
        ExpressionError: a syntax error, a name with no value, a value for a name the expression does
            not use, or any construct outside the whitelist (attribute access, calls of anything but
            the five functions, subscripts, comparisons, ...).
        TypeError, ValueError, ArithmeticError: from the engine, for bad numbers or domain errors
            such as ``log(-1)``; their messages name the node.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"syntax error in {text!r}{where}: {exc.msg}") from None
    _check_whitelist(tree, text)
    used = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(FUNCTIONS))
    missing = [name for name in used if name not in values]
    if missing:
        raise ExpressionError(f"no value given for {', '.join(missing)}; pass them as name=value")
    unused = [name for name in values if name not in used]
    if unused:
        raise ExpressionError(f"{', '.join(unused)} given a value but not used in {text!r}")
    leaves = {
        name: value if isinstance(value, Value) else Value(value, label=name) for name, value in values.items()
    }
    result = _build(tree.body, leaves, text)
    if not isinstance(result, Value):  # an expression of numbers alone, such as "2 + 3"
        raise ExpressionError(f"{text!r} has no names, so there is nothing to differentiate")
    return result


def _build(node: ast.AST, leaves: dict[str, Value], text: str) -> Union[Value, float]:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)  # floats, so that "9**9**9" overflows at once instead of growing an int
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function: write {node.id}(...)")
        return leaves[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _build(node.left, leaves, text), _build(node.right, leaves, text)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _build(node.operand, leaves, text)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        if len(node.args) != 1 or node.keywords:
            raise ExpressionError(f"{node.func.id}() takes exactly one argument")
        arg = _build(node.args[0], leaves, text)
        if not isinstance(arg, Value):
            arg = Constant(arg)
        return getattr(arg, node.func.id)()
    raise _not_allowed(node, text)


_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.Load, ast.USub, ast.UAdd)
_ALLOWED += tuple(_BINARY)


def _check_whitelist(tree: ast.AST, text: str) -> None:
    """Refuse the whole expression if any part of it is outside the whitelist, before using any of it."""
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise _not_allowed(node, text)
        if isinstance(node, ast.Constant) and type(node.value) not in (int, float):
            raise _not_allowed(node, text)
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            raise _not_allowed(node, text)


def _not_allowed(node: ast.AST, text: str) -> ExpressionError:
    snippet = ast.get_source_segment(text.strip(), node) or type(node).__name__
    allowed = "numbers, names, + - * / **, unary minus, and " + ", ".join(f"{f}()" for f in FUNCTIONS)
    return ExpressionError(f"{snippet!r} is not allowed in an expression; only {allowed}")
