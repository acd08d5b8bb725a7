"""``explain``: d root/d node written out as the chain rule computes it, with each local derivative's
formula, the numbers put in it, and the sum that backward evaluated.

The formulas of the primitives' local derivatives are known only to ``_formulas`` (and its tables,
below it): everything else reads the numbers stored in the graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..engine import Value, describe, topological_order
from .naming import Names, d, num, paren
from .report import require_value, staleness
from .staleness import StaleGraph


@dataclass(frozen=True, eq=False)
class ChainTerm:
    """One term ``d root/d consumer * d consumer/d node`` of the chain rule.

    Attributes:
        consumer: the node that uses ``node`` as an operand.
        operand: which operand (0 or 1) ``node`` is; ``x * x`` gives two terms.
        op: the consumer's op.
        upstream: ``consumer.grad``, d root/d consumer.
        local: the consumer's stored local derivative ``d consumer/d node``.
        formula: the local derivative's formula in the operands' names (``w``, ``1 - tanh(h)^2``).
        substituted: the same formula with the numbers put in.
        latex, latex_substituted: the two in LaTeX.
    """

    consumer: Value
    operand: int
    op: str
    upstream: float
    local: float
    formula: str
    substituted: str
    latex: str
    latex_substituted: str

    @property
    def value(self) -> float:
        """The term's number: ``upstream * local``."""
        return self.upstream * self.local


class Explanation:
    """d root/d node as the chain rule's sum over the node's consumers; ``str()`` is plain text, and
    Jupyter shows Markdown with the equations in LaTeX (``latex()`` gives the equations alone).

    Attributes:
        node, root: the node explained and the root the derivative is of.
        kind: "root" (d root/d root = 1, nothing to sum), "leaf" or "operation".
        terms: the ``ChainTerm``s, consumers in the order of ``topological_order(root)``.
        total: the sum of the terms (1 for the root), added in the order backward adds them.
        grad: the node's ``.grad`` now.
        agrees: whether ``total`` matches ``grad`` (False when gradients are stale, accumulated over
            several backward passes, or tampered with).
        stale: a ``StaleGraph`` when the graph's values or gradients are stale (then the numbers are
            not the derivative at the current values), else None.
    """

    def __init__(
        self,
        node: Value,
        root: Value,
        terms: list[ChainTerm],
        total: float,
        names: Names,
        stale: StaleGraph | None = None,
    ) -> None:
        self.node = node
        self.stale = stale
        self.root = root
        self.terms = terms
        self.total = total
        self.grad = node.grad
        self.kind = "root" if node is root else ("leaf" if not node.parents else "operation")
        self.agrees = math.isclose(total, node.grad, rel_tol=1e-9, abs_tol=1e-12)
        self._names = names
        self._name = names.name(node)
        self._root = names.root_name()

    def _which(self, term: ChainTerm) -> str:
        """", operand 2" when the consumer uses the node more than once (``x * x``)."""
        return f", operand {term.operand + 1}" if term.consumer.parents.count(self.node) > 1 else ""

    def _consumer_text(self, term: ChainTerm) -> str:
        c = term.consumer
        return f"{self._names.name(c)} = {self._names.definition(c)}  (op {c.op!r}{self._which(term)})"

    def _note(self) -> str:
        if self.kind == "root":
            return f"{self._name} is the root: {d(self._root, self._root)} = 1, where backward starts."
        if self.kind == "leaf":
            return (
                f"{self._name} is a leaf ({self.node.role}): the chain rule stops here. A leaf's .grad accumulates "
                "over backward passes, so it equals this sum after one pass from zero."
            )
        return f"explain(c, root) expands a consumer's {d(self._root, 'c')} one step closer to the root."

    def _check(self) -> str:
        if self.agrees:
            return f"{self._name}.grad = {num(self.grad)}: agrees with the sum."
        return (
            f"{self._name}.grad = {num(self.grad)} DIFFERS from the sum {num(self.total)}: the gradients are stale "
            "(values changed since backward), accumulated over several backward passes, from another root, "
            "or changed by hand."
        )

    def __str__(self) -> str:
        text = self._text()
        return text if self.stale is None else f"STALE GRAPH: {self.stale.advice}\n{text}"

    def _text(self) -> str:
        r, n = self._root, self._name
        if self.kind == "root":
            return f"{d(r, n)} = 1\n  {self._note()}\n  {self._check()}"
        count = f"{len(self.terms)} term{'s' if len(self.terms) != 1 else ''}"
        lines = [f"{d(r, n)} = sum over the consumers c of {n} of {d(r, 'c')} * {d('c', n)}   ({count})"]
        for term in self.terms:
            c = self._names.name(term.consumer)
            upstream = paren(num(term.upstream))
            steps = [f"{d(r, c)} * {d(c, n)}", f"{upstream} * {_group(term.formula)}"]
            for form in (_group(term.substituted), paren(num(term.local))):
                if f"{upstream} * {form}" not in steps:
                    steps.append(f"{upstream} * {form}")
            lines.append(f"  via {self._consumer_text(term)}:")
            lines.append(f"      {' = '.join(steps)} = {num(term.value)}")
        if len(self.terms) > 1:
            summed = " + ".join(paren(num(t.value)) for t in self.terms)
            lines.append(f"  {d(r, n)} = {summed} = {num(self.total)}")
        else:
            lines.append(f"  {d(r, n)} = {num(self.total)}")
        lines.append(f"  {self._check()}")
        lines.append(f"  {self._note()}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Explanation {d(self._root, self._name)} = {num(self.total)} over {len(self.terms)} terms>"

    def latex(self) -> str:
        """The derivation as a LaTeX ``aligned`` block (no surrounding ``$$``)."""
        r, n = _latex_name(self._root), _latex_name(self._name)
        if self.kind == "root":
            return rf"\begin{{aligned}} {_partial(r, n)} &= 1 \end{{aligned}}"
        consumers = [_latex_name(self._names.name(t.consumer)) for t in self.terms]
        general = " + ".join(rf"{_partial(r, c)}\,{_partial(c, n)}" for c in consumers)
        symbolic = " + ".join(rf"{_latex_num(t.upstream)} \cdot {_latex_group(t.latex)}" for t in self.terms)
        numbers_ = " + ".join(rf"{_latex_num(t.upstream)} \cdot {_latex_num(t.local)}" for t in self.terms)
        lines = [rf"{_partial(r, n)} &= {general}"]
        for step in (symbolic, numbers_):  # a step that reads the same as the one before is left out
            if step != lines[-1].split("&= ", 1)[-1]:
                lines.append(rf"&= {step}")
        lines.append(rf"&= {_latex_num(self.total, paren=False)}")
        return r"\begin{aligned} " + r" \\ ".join(lines) + r" \end{aligned}"

    def _repr_markdown_(self) -> str:
        r, n = _latex_name(self._root), _latex_name(self._name)
        out = [f"$$ {self.latex()} $$", ""]
        for term in self.terms:
            c = _latex_name(self._names.name(term.consumer))
            steps = [term.latex]  # the formula, with the numbers put in, and its value: each once
            for step in (term.latex_substituted, _latex_num(term.local, paren=False)):
                if step not in steps:
                    steps.append(step)
            out.append(
                f"- via ${c} =$ `{self._names.definition(term.consumer)}` (op `{term.op}`{self._which(term)}): "
                rf"${_partial(c, n)} = {' = '.join(steps)}$ and "
                rf"${_partial(r, c)} = {_latex_num(term.upstream, paren=False)}$"
            )
        out += ["", _markdown_text(self._check()), "", _markdown_text(self._note())]
        if self.stale is not None:
            out = [f"**Stale graph.** {_markdown_text(self.stale.advice)}", ""] + out
        return "\n".join(out)


def _partial(top: str, bottom: str) -> str:
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def _markdown_text(text: str) -> str:
    """Plain text in Markdown: escape the characters Markdown would read as emphasis or headings."""
    for ch in ("\\", "*", "_", "#", "`", "$"):
        text = text.replace(ch, "\\" + ch)
    return text


def _latex_name(name: str) -> str:
    """A node name in math: one letter as is, ``x1`` as ``x_{1}``, ``#5`` as ``\\#5`` (it reads as in
    gradcheck's table), else upright."""
    if name.startswith("#") and name[1:].isdigit():
        return rf"\#{name[1:]}"
    if len(name) == 1 and name.isalpha():
        return name
    if len(name) > 1 and name[0].isalpha() and name[1:].isdigit():
        return f"{name[0]}_{{{name[1:]}}}"
    return r"\mathrm{" + "".join(_LATEX_SPECIAL.get(ch, ch) for ch in name) + "}"


_LATEX_SPECIAL = {
    "\\": r"\backslash{}", "_": r"\_", "#": r"\#", "%": r"\%", "&": r"\&",
    "$": r"\$", "{": r"\{", "}": r"\}", "^": r"\^{}", "~": r"\~{}",
}  # fmt: skip


def _latex_num(x: float, paren: bool = True) -> str:
    """A number in LaTeX (``3.2 \\times 10^{-11}``), in parentheses if negative and ``paren``."""
    text = num(x)
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return f"({text})" if paren and text.startswith("-") else text


def _latex_group(text: str) -> str:
    """Parenthesize a formula that is a sum or difference, so that it can be multiplied."""
    return f"\\left({text}\\right)" if _is_sum(text) else text


def _group(text: str) -> str:
    """Parenthesize a formula that is a sum or difference, or a negative number, before ``x * ``."""
    return f"({text})" if _is_sum(text) or text.startswith("-") else text


def _is_sum(text: str) -> bool:
    """Whether ``text`` has a `` + `` or `` - `` outside all brackets."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and ch in "+-" and text[i - 1 : i] == " " and text[i + 1 : i + 2] == " ":
            return True
    return False


# The local derivative of each primitive, d consumer/d operand, as a formula. Each entry is called with
# the operands a, b, the consumer's value out and the constant exponent k, all already written as
# text, either as names or as numbers, so one table gives both the formula and its numbers. The text
# formulas are in the syntax of ``autograd.expr`` (relu's aside), so the tests evaluate them.
Formula = Callable[[str, str, str, str], str]
_TEXT: dict[str, tuple[Formula, ...]] = {
    "+": (lambda a, b, out, k: "1", lambda a, b, out, k: "1"),
    "-": (lambda a, b, out, k: "1", lambda a, b, out, k: "-1"),
    "neg": (lambda a, b, out, k: "-1",),
    "*": (lambda a, b, out, k: b, lambda a, b, out, k: a),
    "/": (lambda a, b, out, k: f"1/{b}", lambda a, b, out, k: f"-{a}/{b}**2"),
    "**k": (lambda a, b, out, k: f"{k} * {a}" if _minus_one(k) == "1" else f"{k} * {a}**{paren(_minus_one(k))}",),
    "pow": (lambda a, b, out, k: f"{b} * {a}**({b} - 1)", lambda a, b, out, k: f"{out} * log({a})"),
    "exp": (lambda a, b, out, k: out,),
    "log": (lambda a, b, out, k: f"1/{a}",),
    "sigmoid": (lambda a, b, out, k: f"{out} * (1 - {out})",),
    "tanh": (lambda a, b, out, k: f"1 - {out}**2",),
    "relu": (lambda a, b, out, k: f"(1 if {a} > 0 else 0)",),
}
_LATEX: dict[str, tuple[Formula, ...]] = {
    "+": (lambda a, b, out, k: "1", lambda a, b, out, k: "1"),
    "-": (lambda a, b, out, k: "1", lambda a, b, out, k: "-1"),
    "neg": (lambda a, b, out, k: "-1",),
    "*": (lambda a, b, out, k: b, lambda a, b, out, k: a),
    "/": (lambda a, b, out, k: rf"\frac{{1}}{{{b}}}", lambda a, b, out, k: rf"-\frac{{{a}}}{{{b}^{{2}}}}"),
    "**k": (lambda a, b, out, k: rf"{k} \cdot {a}" if _minus_one(k) == "1" else rf"{k} \cdot {a}^{{{_minus_one(k)}}}",),
    "pow": (lambda a, b, out, k: rf"{b} \cdot {a}^{{{b} - 1}}", lambda a, b, out, k: rf"{out} \cdot \log {a}"),
    "exp": (lambda a, b, out, k: out,),
    "log": (lambda a, b, out, k: rf"\frac{{1}}{{{a}}}",),
    "sigmoid": (lambda a, b, out, k: rf"{out}\,(1 - {out})",),
    "tanh": (lambda a, b, out, k: rf"1 - {out}^{{2}}",),
    "relu": (lambda a, b, out, k: rf"\mathbb{{1}}[{a} > 0]",),
}
# How the consumer's value reads in the formula above, in terms of its operand a (and b).
_OUT_TEXT = {"exp": "exp({a})", "sigmoid": "sigmoid({a})", "tanh": "tanh({a})", "pow": "{a}**{b}"}
_OUT_LATEX = {"exp": "e^{{{a}}}", "sigmoid": r"\sigma({a})", "tanh": r"\tanh({a})", "pow": "{a}^{{{b}}}"}


def _minus_one(k: str) -> str:
    """``k - 1`` written as a number, for a ``k`` given as text."""
    return num(float(k) - 1.0)


def _formulas(consumer: Value, operand: int, names: Names) -> tuple[str, str, str, str]:
    """``(formula, substituted, latex, latex_substituted)`` of d consumer/d (its operand ``operand``)."""
    op = consumer.op
    key = "**k" if op.startswith("**") else op
    local = consumer.local_grads[operand]
    if key not in _TEXT or operand >= len(_TEXT[key]):  # an op this table does not know yet
        return "(stored local derivative)", num(local), r"\text{stored}", _latex_num(local)
    text_rule, latex_rule = _TEXT[key][operand], _LATEX[key][operand]
    k = op[2:] if key == "**k" else ""
    a = consumer.parents[0]
    b = consumer.parents[1] if len(consumer.parents) > 1 else None

    # the formula, in the operands' names
    a_text = names.operand(a)
    b_text = names.operand(b) if b is not None else ""
    a_tex, b_tex = _latex_operand(a_text), _latex_operand(b_text)
    formula = text_rule(a_text, b_text, _OUT_TEXT.get(key, "").format(a=a_text, b=b_text), k)
    latex = latex_rule(a_tex, b_tex, _OUT_LATEX.get(key, "").format(a=a_tex, b=b_tex), k)

    # the same, with the numbers put in
    b_value = b.data if b is not None else math.nan
    substituted = text_rule(paren(num(a.data)), paren(num(b_value)), paren(num(consumer.data)), k)
    latex_substituted = latex_rule(_latex_num(a.data), _latex_num(b_value), _latex_num(consumer.data), k)
    if key == "relu":
        verdict = "1" if local else "0"
        positive = a.data > 0
        text_relation, latex_relation = (">", ">") if positive else ("<=", r"\le")
        substituted = f"{verdict} (since {paren(num(a.data))} {text_relation} 0)"
        latex_substituted = rf"{verdict}\ (\text{{since }} {_latex_num(a.data)} {latex_relation} 0)"
    return formula, substituted, latex, latex_substituted


def _latex_operand(text: str) -> str:
    """An operand's name in LaTeX; a constant's number stays as it is."""
    if not text:
        return ""
    try:
        float(text)
    except ValueError:
        return _latex_name(text)
    return text


def explain(node: Value, root: Value) -> Explanation:
    """d root/d node written out as the chain rule computes it.

    ``d root/d node = sum over the consumers c of node of (d root/d c) * (d c/d node)``: one term per
    use of ``node`` (``x * x`` uses ``x`` twice, so two terms), each with the consumer's op, the
    formula of its local derivative (from a table of the primitives' derivatives), the numbers put in
    it, and ``c.grad``. The terms are added in the order backward adds them, so after one backward
    pass their sum equals ``node.grad``; the explanation says whether it does. For the root it says
    d root/d root = 1; for a leaf, that the chain rule stops there. If the graph is stale (values
    changed since backward; see ``autograd.check.staleness``) the explanation says so first.

    Args:
        node: the node whose gradient to explain.
        root: the output the gradient is of; call ``root.backward()`` first. It must be given:
            nodes do not record their consumers, so the root cannot be found from ``node``.

    Raises:
        ValueError: ``node`` is not in ``root``'s graph.
        BackwardNeededError: ``root.backward()`` has not been called.
    """
    if not isinstance(node, Value):
        raise TypeError(f"explain() needs a Value, got {type(node).__name__}: {node!r}")
    require_value(root, "explain")
    order = topological_order(root)
    names = Names(order, root)
    if node not in names.position:
        raise ValueError(f"{describe(node)} is not part of the graph of {describe(root)}")
    stale = staleness(names, "explain")
    terms = []
    for consumer in order:
        for i, parent in enumerate(consumer.parents):
            if parent is node:
                upstream, local = consumer.grad, consumer.local_grads[i]
                terms.append(ChainTerm(consumer, i, consumer.op, upstream, local, *_formulas(consumer, i, names)))
    if node is root:
        total = 1.0
    else:
        # Added in the order backward adds them (consumers from the last in the order, operands left
        # to right), so that after one backward pass the total is node.grad to the last bit.
        total = 0.0
        for term in sorted(terms, key=lambda t: names.position[t.consumer], reverse=True):
            total += term.local * term.upstream
    return Explanation(node, root, terms, total, names, stale)
