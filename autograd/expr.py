"""Build a graph from an expression written as text, safely: ``"log(exp(a) + exp(b)) - a"``.

The grammar is a small part of Python's, with Python's precedence (``-x**2`` is ``-(x**2)``, ``**``
groups to the right, ``2**-x`` is allowed)::

    expression := term (("+" | "-") term)*
    term       := factor (("*" | "/") factor)*
    factor     := ("+" | "-") factor | power
    power      := atom ["**" factor]
    atom       := number | name | function "(" expression ")" | "(" expression ")"
    function   := exp | log | sigmoid | tanh | relu

Numbers are decimal (``2``, ``0.5``, ``.5``, ``1e-3``, ``1_000``); names are identifiers that the
caller gives values. The text is read by a parser of its own, in one pass with explicit stacks (no
recursion, so 100,000 nested minus signs or parentheses are as fine as 10,000 terms), into a list of
steps, and the steps are then carried out on Values. Nothing is ever evaluated as Python code:
``__import__('os')`` or ``x.__class__`` is an ``ExpressionError``, not an action.

Parts made of numbers alone are computed as floats when the graph is built (``x * (1/3)`` has one
constant, 0.333...); a number that overflows a float (``9**9**9``, ``1e400``), a division by zero or
a power that is not real is an ``ExpressionError`` that quotes the part of the text.
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass
from typing import Iterator, Mapping, Union

from .engine import Constant, Value

FUNCTIONS = ("exp", "log", "sigmoid", "tanh", "relu")
ALLOWED = "numbers, names, + - * / **, unary minus, parentheses and " + " ".join(f"{f}()" for f in FUNCTIONS)

_NUMBER = re.compile(r"(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?")
_NAME = re.compile(r"[^\W\d]\w*")
_SPACE = re.compile(r"\s+")
_SYMBOLS = ("**", "+", "-", "*", "/", "(", ")", ",")
# Binding strength and grouping of the operators: ** groups to the right and binds tighter than a
# sign on its left (-x**2 is -(x**2)); a sign binds tighter than * and /.
_BINARY_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}
_UNARY_PRECEDENCE = 3
# Characters people reach for that are not part of the grammar, and what to write instead (longest first).
_ADVICE = {
    "//": "'//' (floor division) has no derivative: write / for division",
    "==": "comparisons are not allowed in an expression",
    "!=": "comparisons are not allowed in an expression",
    "<": "comparisons are not allowed in an expression",
    ">": "comparisons are not allowed in an expression",
    "^": "'^' is not a power here (in Python it is bitwise xor): write x**2 for x squared",
    "=": "'=' is not allowed in an expression: give each name's value separately, as name=value",
    "'": "strings are not allowed in an expression",
    '"': "strings are not allowed in an expression",
    ".": "'.' (attribute access) is not allowed in an expression",
}
# The slips whose advice already says what to write instead.
_SELF_EXPLAINED = ("//", "^", "=")


class ExpressionError(ValueError):
    """The expression text is not one that ``parse_expression`` accepts; the message says where and why."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", a symbol such as "**", or "end"
    text: str
    column: int  # 0-based


@dataclass(frozen=True)
class _Step:
    """One step of the parsed expression, in the order it is carried out (postfix)."""

    kind: str  # "number", "name", "unary", "binary", "call", "group"
    text: str  # the number's text, the name, the operator or the function
    start: int  # where the step's part of the text begins (0-based), for messages
    end: int = -1  # where it ends (for "group": the closing parenthesis)


Operand = Union[Value, float]


def parse_expression(text: str, values: Mapping[str, Union[float, Value]]) -> Value:
    """The graph of ``text`` with each name bound to a leaf ``Value(values[name], label=name)``.

    ``values`` maps names to numbers (or to existing Values, which are used as they are). Each name
    becomes one leaf, shared by all its uses, so ``"x * x"`` has one ``x`` with two consumers.

    Raises:
        ExpressionError: the text does not follow the grammar (the message gives the column and,
            for common slips such as ``x^2`` or ``2x``, what to write instead); a name with no value;
            a value for a name the expression does not use; a part made of numbers alone that
            overflows a float, divides by zero or is not real. Syntax is checked before the names,
            and the names before anything is built.
        TypeError, ValueError, ArithmeticError: from the engine, for bad values or domain errors
            such as ``log(-1)``; their messages name the node.
    """
    if not isinstance(text, str):
        raise TypeError(f"the expression must be a str, got {type(text).__name__}: {text!r}")
    steps = _parse(text)
    used = list(dict.fromkeys(step.text for step in steps if step.kind == "name"))
    missing = [name for name in used if name not in values]
    if missing:
        raise ExpressionError(f"no value given for {', '.join(missing)}; pass them as name=value")
    unused = [name for name in values if name not in used]
    if unused:
        raise ExpressionError(f"{', '.join(unused)} given a value but not used in {_quote(text)}")
    leaves = {
        name: value if isinstance(value, Value) else Value(value, label=name)
        for name, value in values.items()
    }
    result = _evaluate(steps, leaves, text)
    if not isinstance(result, Value):  # an expression of numbers alone, such as "2 + 3"
        raise ExpressionError(f"{_quote(text)} has no names, so there is nothing to differentiate")
    return result


# ---------------------------------------------------------------------------------------------------
# Reading the text
# ---------------------------------------------------------------------------------------------------
def _tokens(text: str) -> Iterator[_Token]:
    i, n = 0, len(text)
    while i < n:
        space = _SPACE.match(text, i)
        if space:
            i = space.end()
            continue
        number = _NUMBER.match(text, i)
        if number:
            after = number.end()
            if after < n and (text[after].isalnum() or text[after] == "_"):
                follow = _NAME.match(text, after)
                word = follow.group() if follow else text[after]
                if text[after] in "jJ" and (follow is None or len(word) == 1):
                    raise _error(text, after, "complex numbers are not allowed in an expression")
                raise _error(
                    text, after, f"a number is followed by {word!r}: write {number.group()} * {word} to multiply"
                )
            yield _Token("number", number.group(), i)
            i = after
            continue
        name = _NAME.match(text, i)
        if name:
            yield _Token("name", name.group(), i)
            i = name.end()
            continue
        for symbol in _SYMBOLS:
            if text.startswith(symbol, i):
                if symbol == "/" and text.startswith("//", i):
                    raise _unknown(text, i)
                yield _Token(symbol, symbol, i)
                i += len(symbol)
                break
        else:
            raise _unknown(text, i)
    yield _Token("end", "", n)


def _unknown(text: str, i: int) -> ExpressionError:
    found = next((slip for slip in _ADVICE if text.startswith(slip, i)), text[i])
    advice = _ADVICE.get(found, f"{found!r} is not allowed in an expression")
    return _error(text, i, advice if found in _SELF_EXPLAINED else f"{advice}; only {ALLOWED}")


def _parse(text: str) -> list[_Step]:
    """The steps of ``text`` in postfix order, or an ExpressionError at the first thing that is wrong.

    Shunting-yard: operators wait on a stack until one that binds less tightly (or the end of their
    group) arrives. Open groups wait there too, as "(" or a function's "exp(", so that a closing
    parenthesis knows what it closes. Stack entries are ``(kind, text, column, open column)``.
    """
    out: list[_Step] = []
    stack: list[tuple[str, str, int, int]] = []
    tokens = _tokens(text)
    expect_operand = True
    previous: _Token | None = None
    for token in tokens:
        kind = token.kind
        if expect_operand:
            if kind in ("number", "name") and token.text not in FUNCTIONS:
                if kind == "name":
                    _check_name(text, token)
                out.append(_Step(kind, token.text, token.column, token.column + len(token.text)))
                expect_operand = False
            elif kind == "name":  # a function: its "(" must follow
                opening = next(tokens)
                if opening.kind != "(":
                    raise _error(text, token.column, f"{token.text} is a function: write {token.text}(...)")
                stack.append(("call", token.text, token.column, opening.column))
                token = opening
            elif kind == "(":
                stack.append(("(", "(", token.column, token.column))
            elif kind in ("+", "-"):
                stack.append(("unary", kind, token.column, token.column))
            elif kind == ")" and previous is not None and previous.kind == "(" and stack[-1][0] == "call":
                raise _error(text, stack[-1][2], f"{stack[-1][1]}() takes exactly one argument, got none")
            else:
                raise _syntax(text, token, previous, "expected a number, a name or '('")
        elif kind in _BINARY_PRECEDENCE:
            _pop_operators(stack, out, _BINARY_PRECEDENCE[kind], right_grouping=kind == "**")
            stack.append(("binary", kind, token.column, token.column))
            expect_operand = True
        elif kind == ")":
            _pop_operators(stack, out, 0)
            if not stack:
                raise _error(text, token.column, "this ')' closes no '('")
            group, name, column, opening = stack.pop()
            if group == "call":
                out.append(_Step("call", name, column, token.column + 1))
            else:
                out.append(_Step("group", "(", opening, token.column + 1))
        elif kind == "end":
            _pop_operators(stack, out, 0)
            if stack:
                group, name, column, opening = stack[-1]
                raise _error(text, column, f"this {name + '(' if group == 'call' else '('!r} is never closed")
            return out
        elif kind == ",":
            inner = next((entry for entry in reversed(stack) if entry[0] in ("(", "call")), None)
            if inner is not None and inner[0] == "call":
                raise _error(text, token.column, f"{inner[1]}() takes exactly one argument, got more")
            raise _error(text, token.column, f"',' is not allowed here; only {ALLOWED}")
        elif kind == "(" and previous is not None and previous.kind == "name":
            callable_ = ", ".join(f"{f}()" for f in FUNCTIONS)
            product = "" if previous.text.startswith("_") else f" (write {previous.text} * (...) to multiply)"
            raise _error(
                text,
                previous.column,
                f"calling {previous.text!r} is not allowed in an expression; only {callable_} can be called{product}",
            )
        else:
            raise _syntax(text, token, previous, "expected an operator (+ - * / **) or ')'")
        previous = token
    raise AssertionError("the tokens always end with an 'end' token")  # pragma: no cover


def _pop_operators(stack: list[tuple[str, str, int, int]], out: list[_Step], precedence: int, right_grouping: bool = False) -> None:
    """Move to ``out`` the waiting operators that bind at least as tightly as one of ``precedence``
    (more tightly, for ``**``, which groups to the right), down to the innermost open group."""
    while stack and stack[-1][0] in ("unary", "binary"):
        kind, op, column, _ = stack[-1]
        top = _UNARY_PRECEDENCE if kind == "unary" else _BINARY_PRECEDENCE[op]
        if top < precedence or (top == precedence and right_grouping):
            return
        stack.pop()
        out.append(_Step(kind, op, column))


def _check_name(text: str, token: _Token) -> None:
    if keyword.iskeyword(token.text):
        raise _error(text, token.column, f"{token.text!r} is a Python keyword, not allowed in an expression; only {ALLOWED}")


# ---------------------------------------------------------------------------------------------------
# Building the graph
# ---------------------------------------------------------------------------------------------------
_BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}
FLOAT_MAX = 1.7976931348623157e308


def _evaluate(steps: list[_Step], leaves: dict[str, Value], text: str) -> Operand:
    """Carry out the steps with a stack of ``(operand, start, end)``; the spans quote the text in messages."""
    stack: list[tuple[Operand, int, int]] = []
    for step in steps:
        kind = step.kind
        if kind == "number":
            stack.append((_number(step, text), step.start, step.end))
        elif kind == "name":
            stack.append((leaves[step.text], step.start, step.end))
        elif kind == "group":
            stack[-1] = (stack[-1][0], step.start, step.end)
        elif kind == "unary":
            operand, _, end = stack.pop()
            stack.append((-operand if step.text == "-" else operand, step.start, end))
        elif kind == "call":
            operand, _, _ = stack.pop()
            if not isinstance(operand, Value):
                operand = Constant(operand)
            stack.append((getattr(operand, step.text)(), step.start, step.end))
        else:
            b, _, end = stack.pop()
            a, start, _ = stack.pop()
            if isinstance(a, Value) or isinstance(b, Value):
                result = _BINARY[step.text](a, b)
            else:
                result = _fold(step.text, a, b, text[start:end])
            stack.append((result, start, end))
    return stack[-1][0]


def _number(step: _Step, text: str) -> float:
    value = float(step.text)
    if math.isinf(value):
        raise _error(text, step.start, f"the number {_shorten(step.text)} is too large for a float (largest about 1.8e308)")
    return value


def _fold(op: str, a: float, b: float, part: str) -> float:
    """``a op b`` for two numbers, as Python's float arithmetic gives it, or an ExpressionError in words."""
    try:
        result = _BINARY[op](a, b)
    except ZeroDivisionError:
        raise ExpressionError(f"{_shorten(part)!r} divides by zero") from None
    except OverflowError:
        raise ExpressionError(f"{_shorten(part)!r} is too large for a float (largest about 1.8e308)") from None
    if isinstance(result, complex):
        raise ExpressionError(f"{_shorten(part)!r} is not a real number (a negative number to a fractional power)")
    if math.isinf(result):
        raise ExpressionError(f"{_shorten(part)!r} is too large for a float (largest about 1.8e308)")
    return result


# ---------------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------------
_SHOWN = 60


def _shorten(part: str) -> str:
    return part if len(part) <= _SHOWN else part[: _SHOWN - 3] + "..."


def _quote(text: str, column: int | None = None) -> str:
    """The text in quotes, or, for a long one, the part around ``column``."""
    if len(text) <= _SHOWN:
        return repr(text)
    if column is None:
        return repr(text[: _SHOWN - 3] + "...")
    start = max(0, column - _SHOWN // 2)
    piece = text[start : start + _SHOWN]
    return ("..." if start else "") + repr(piece) + ("..." if start + _SHOWN < len(text) else "")


def _error(text: str, column: int, what: str) -> ExpressionError:
    return ExpressionError(f"{what} (at column {column + 1} of {_quote(text, column)})")


def _syntax(text: str, token: _Token, previous: _Token | None, expected: str) -> ExpressionError:
    where = f"syntax error in {_quote(text, token.column)} at column {token.column + 1}"
    if token.kind == "end":
        if previous is None:
            return ExpressionError("the expression is empty")
        return ExpressionError(f"{where}: the expression ends after {previous.text!r}; {expected}")
    return ExpressionError(f"{where}: {expected}, got {token.text!r}")
