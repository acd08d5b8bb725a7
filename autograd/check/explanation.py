"""``explain``: d root/d node written out as the chain rule computes it, with each local derivative's
formula, the numbers put in it, and the sum that backward evaluated.

The formulas of the primitives' local derivatives are known only to ``_formulas`` (and its tables,
below it): everything else reads the numbers stored in the graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..engine import Value, describe, gradients, op_entry, topological_order
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
        upstream: d root/d consumer: ``consumer.grad`` as root's backward pass wrote it. Where that pass
            did not write it (set by hand, zeroed, or from a pass from another root), the chain rule's
            value instead (``autograd.engine.gradients``), so that no number shown as a derivative is
            one that is not: ``held`` then says what ``consumer.grad`` holds.
        local: the consumer's stored local derivative ``d consumer/d node``.
        formula: the local derivative's formula in the operands' names (``w``, ``1 - tanh(h)^2``).
        substituted: the same formula with the numbers put in.
        latex, latex_substituted: the two in LaTeX.
        held: ``consumer.grad`` when it is not ``upstream`` (see there), else None.
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
    held: float | None = None

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

    def _held(self, term: ChainTerm) -> str:
        """Why a term's upstream is not its consumer's .grad, and what that grad holds."""
        c = self._names.name(term.consumer)
        why = "set by hand" if term.consumer.grad_source == "hand" else "not written by this root's backward pass"
        return f"{c}.grad holds {num(term.held)}, {why}; {d(self._root, c)} above is the chain rule's"

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
            if term.held is not None:
                lines.append(f"      ({self._held(term)})")
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
                + (f" ({_markdown_text(self._held(term))})" if term.held is not None else "")
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



def _formulas(
    consumer: Value, operand: int, names: Names, number: Callable[[Value], str] | None = None
) -> tuple[str, str, str, str]:
    """``(formula, substituted, latex, latex_substituted)`` of d consumer/d (its operand ``operand``),
    read from the op table (``autograd.engine.OPS``): the formula in the operands' names, where the
    consumer's own value reads as its expression (``tanh(h)``), and the same with the numbers put in.

    ``number(node)`` writes a node's value in ``substituted`` (default: the number, in parentheses if
    negative); the quiz page puts a placeholder there for a value the learner has yet to find."""
    entry, k = op_entry(consumer)
    text, latex = entry.d_text[operand], entry.d_latex[operand]
    if k is not None and k - 1.0 == 1.0:  # a ** 2: write 2 * a, not 2 * a**1
        text, latex = text.replace("**{k1}", ""), latex.replace("^{{{k1}}}", "")
    parents = consumer.parents
    names_text = [names.operand(p) for p in parents]
    names_latex = [_latex_operand(t) for t in names_text]
    k_fields = {} if k is None else {"k": num(k), "k1": paren(num(k - 1.0))}

    def fields(operands: list[str], out: str) -> dict[str, str]:
        return {**dict(zip("ab", operands)), "out": out, **k_fields}

    in_names = fields(names_text, entry.text.format(**fields(names_text, "")))
    in_latex = fields(names_latex, entry.latex.format(**fields(names_latex, "")))
    number = number or (lambda node: paren(num(node.data)))
    numbers = fields([number(p) for p in parents], number(consumer))
    numbers_latex = fields([_latex_num(p.data) for p in parents], _latex_num(consumer.data))
    return text.format(**in_names), text.format(**numbers), latex.format(**in_latex), latex.format(**numbers_latex)


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
    formula of its local derivative (from the op table, ``autograd.engine.OPS``), the numbers put in
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
    consumers = [c for c in order if any(p is node for p in c.parents)]
    # A consumer's grad is d root/d consumer only if root's backward pass wrote it; any other (a grad set
    # by hand after it, a zeroed one) is replaced by the chain rule's number, and shown beside it.
    unwritten = [c for c in consumers if c.grad_pass != root.grad_pass]
    true_upstream = dict(zip(unwritten, gradients(root, unwritten))) if unwritten else {}
    terms = []
    for consumer in consumers:
        for i, parent in enumerate(consumer.parents):
            if parent is node:
                held = consumer.grad if consumer in true_upstream else None
                upstream, local = true_upstream.get(consumer, consumer.grad), consumer.local_grads[i]
                terms.append(
                    ChainTerm(consumer, i, consumer.op, upstream, local, *_formulas(consumer, i, names), held=held)
                )
    if node is root:
        total = 1.0
    else:
        # Added in the order backward adds them (consumers from the last in the order, operands left
        # to right), so that after one backward pass the total is node.grad to the last bit.
        total = 0.0
        for term in sorted(terms, key=lambda t: names.position[t.consumer], reverse=True):
            total += term.local * term.upstream
    return Explanation(node, root, terms, total, names, stale)
