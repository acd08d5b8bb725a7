"""``quiz(root)``: backpropagation as an exercise, on a page that grades every node as you go.

The page shows the graph (``autograd.viz.picture``'s drawing, the same as ``draw``) with the numbers
that are asked for hidden, and a list of questions beside it, one answer box per node:

* ``ask="grad"``: d root/d node for every drawn node except the root (and except the plain numbers
  of an expression, unlabelled constants);
* ``ask="data"``: the value of every computed node (the leaves' values are given);
* ``ask="both"``: both, the values first.

Type a number and press Enter: the box says at once whether it is right (the node's line in the graph
then shows the number with a check mark) or wrong. "hint" shows the node's local rule from the op
table (the chain rule's sum over the node's consumers, each consumer's local derivative written out
by ``autograd.check.explain``'s formulas, with the numbers it needs; numbers still to be found are
named, not given); "show answer" reveals one node (not counted). A score "k of n right" follows.
Questions can be answered in any order; Tab moves between boxes; verdicts are words and symbols
(✓ right, ✗ wrong, ○ shown), not colour alone.

The true numbers come from the graph's values and ``autograd.engine.gradients`` (no ``.grad`` is
read or written, so ``backward()`` need not have run); a graph whose values are stale (changed after
it was built, as after a training step) is refused with the checker's message. The answers are in
the page only encoded (not as text a reader sees before asking for them); a determined student can
decode them, as with any answer sheet sent along with the exercise.

Contract for tests and for teachers' own tooling: each answer box is ``<input data-node="NAME"
data-ask="grad|data">``, NAME being the node's label, or ``#i`` (its position in
``topological_order(root)``, as in ``explain`` and ``gradcheck``; also for a label that several nodes
share), or the name of an unlabelled root (``f``). After a check, every element with that
``data-node`` (and ``data-ask``) carries ``data-verdict="right"`` or ``"wrong"`` (``"shown"`` after
"show answer"): the list item, the box, and the node's group in the drawing.
"""

from __future__ import annotations

import base64
import html
import json
import math
import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from numbers import Real
from os import PathLike
from pathlib import Path
from typing import Iterable, Sequence, Union

from .._files import atomic_write
from ..check.explanation import _formulas
from ..check.grading import ATOL, RTOL
from ..check.naming import Names, num, paren
from ..check.report import check_tolerances
from ..check.staleness import find_stale_values
from ..engine import Value, gradients, op_entry, topological_order
from . import viewer as _viewer
from .picture import DEFAULT_MAX_NODES, UNKNOWN, _Builder, finish_svg, format_of, plan

__all__ = ["quiz", "Quiz", "Question", "ASKS"]

ASKS = ("grad", "data", "both")
"""What a quiz can ask for: every gradient, every computed value, or both."""
RIGHT, WRONG, SHOWN = "\u2713", "\u2717", "\u25cb"  # ✓ ✗ ○
_SVG = "{http://www.w3.org/2000/svg}"
_XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"
_REF = re.compile("\x00(\\d+)\x00")  # a number the learner has to find, inside a hint's text
_NUMBER = re.compile(r"^-?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$")


@dataclass(frozen=True, eq=False)
class Question:
    """One answer box of a quiz.

    Attributes:
        index: its place in ``Quiz.questions`` (the order of the list on the page).
        node: the node asked about.
        name: what ``data-node`` says: the node's label, ``#i``, or the unlabelled root's name.
        kind: "grad" (d root/d node) or "data" (the node's value).
        answer: the true number.
        text: the answer as the drawing writes it (``digits`` significant digits).
        prompt: the question as the page writes it: ``∂L/∂d`` or ``d = e + c``.
        hint: the hint as plain text, every number filled in (the page names the numbers still to
            be found instead); None when the quiz has no hints.
    """

    index: int
    node: Value
    name: str
    kind: str
    answer: float
    text: str
    prompt: str
    hint: str | None


class Quiz:
    """An exercise page for one graph (made by ``quiz``).

    ``quiz.questions`` lists the ``Question`` objects (with the answers, for a teacher); in Jupyter and
    VS Code the quiz shows itself as the page, and ``save("quiz.html")`` writes it as one
    self-contained file that works offline. ``is_right(question, "0.25")`` tells what the page would
    say about a typed answer.
    """

    def __init__(self, root: Value, ask: str, questions: list[Question], svg: str, public: dict, secret: list,
                 rtol: float, atol: float, digits: int, root_name: str) -> None:  # fmt: skip
        self.root = root
        self.ask = ask
        self.questions = questions
        self.rtol = rtol
        self.atol = atol
        self.digits = digits
        self._svg = svg
        self._public = public
        self._secret = secret
        self._root_name = root_name

    def __len__(self) -> int:
        return len(self.questions)

    def __repr__(self) -> str:
        return f"<Quiz of {len(self)} questions ({self.ask}) on the graph of {self._root_name}; .save('quiz.html') writes it>"

    def question(self, name: Union[str, Value], kind: str | None = None) -> Question:
        """The question about a node (given as itself or by its ``data-node`` name) and ``kind``
        (needed only when both its value and its gradient are asked)."""
        found = [q for q in self.questions if (q.node is name or q.name == name) and kind in (None, q.kind)]
        if len(found) != 1:
            what = "no question" if not found else "two questions (pass kind='data' or 'grad')"
            raise KeyError(f"{what} about {name!r}" + (f" ({kind})" if kind else ""))
        return found[0]

    def is_right(self, question: Union[Question, str, Value], typed: str) -> bool:
        """What the page says about ``typed`` (the text of the box) for a question: right when it is
        within ``atol + rtol * |answer|`` of the answer (as ``autograd.check`` compares), or when it
        is the answer correctly rounded to the digits typed, at least ``digits`` significant digits.
        A text that is not a number is neither (ValueError)."""
        q = question if isinstance(question, Question) else self.question(question)
        return is_right(typed, q.answer, self.rtol, self.atol, self.digits)

    @property
    def rule(self) -> str:
        """The rule for a right answer, as the page states it."""
        return (
            f"An answer is right when it is within {_g(self.atol)} + {_g(self.rtol)} × |true value| of the true "
            f"value, or is the true value rounded to the digits you typed (at least {self.digits} significant digits)."
        )

    def html(self) -> str:
        """The quiz as an HTML fragment (what Jupyter shows)."""
        key = random.getrandbits(32) or 1
        data = dict(self._public, seed=key, blob=_encode(self._secret, key))
        what = {"grad": "the gradient", "data": "the value", "both": "the value and the gradient"}[self.ask]
        n = len(self.questions)
        head = (
            f'<style>{STYLE}</style><div class="cr-quiz-head">'
            f"<div><b>Quiz</b>: find {what} of {'each' if n > 1 else 'the'} node marked ?, "
            f"in any order: type a number and press Enter; Tab moves to the next box.</div>"
            f'<div class="cr-rule">{html.escape(self.rule)} '
            f"Marks: {RIGHT} right, {WRONG} wrong, {SHOWN} shown by “show answer” (not counted).</div>"
            f'<div class="cr-score" role="status" aria-live="polite">0 of {n} right</div></div>'
        )
        items = "".join(self._item(q) for q in self.questions)
        listing = f'<ol class="cr-questions" aria-label="questions">{items}</ol>'
        note = "The quiz needs JavaScript: run the cell, trust the notebook, or save it to an .html file and open that."
        return _viewer.frame_html(
            self._svg,
            kind="quiz",
            body_before=head,
            body_after=listing,
            script=f"var view = crView(root); var D = {json.dumps(data)};\n{SCRIPT}",
            static_note=note,
        )

    def _item(self, q: Question) -> str:
        attrs = f'data-node="{html.escape(q.name)}" data-ask="{q.kind}" data-q="{q.index}"'
        hint_button = '<button type="button" data-act="hint" aria-expanded="false">hint</button>' if q.hint is not None else ""
        hint_box = '<div class="cr-hint-box" hidden></div>' if q.hint is not None else ""
        return (
            f'<li class="cr-q" {attrs}><label class="cr-prompt"><span>{html.escape(q.prompt)} =</span> '
            f'<input type="text" {attrs} inputmode="decimal" autocomplete="off" spellcheck="false" '
            f'aria-label="{html.escape(q.prompt)}"></label>'
            f'<span class="cr-verdict" aria-live="polite"></span>'
            f'<span class="cr-buttons">{hint_button}<button type="button" data-act="show">show answer</button></span>'
            f"{hint_box}</li>"
        )

    def _repr_html_(self) -> str:
        return self.html()

    def save(self, path: Union[str, PathLike], format: str | None = None) -> Path:
        """Write the quiz as one self-contained ``.html`` page (works offline) and return the path.

        The file is written atomically: to a temporary file in the same folder, then moved over
        ``path``, so a failed write leaves an existing file as it was.
        """
        path = Path(path)
        format = format_of(path, format)
        if format not in ("html", "htm"):
            raise ValueError(f"a quiz saves as an .html page, not {format!r}")
        title = f"quiz: {len(self)} questions on the graph of {self._root_name}"
        _atomic_write(path, _viewer.page(title, self.html()).encode("utf-8"))
        return path


def is_right(typed: str, answer: float, rtol: float, atol: float, digits: int) -> bool:
    """The page's rule (its script does the same): see ``Quiz.is_right``."""
    text = _clean(typed)
    match = _NUMBER.match(text)
    if not text or match is None or not (match.group(1) or match.group(2)):
        raise ValueError(f"not a number: {typed!r}")
    value = float(text)
    error = abs(value - answer)
    if error <= atol + rtol * abs(answer):
        return True
    whole, fraction, exponent = match.group(1) or "", match.group(2) or "", int(match.group(3) or 0)
    significant = len((whole + fraction).lstrip("0"))
    return significant >= digits and error <= 0.5 * 10.0 ** (exponent - len(fraction)) * (1 + 1e-9)


def _clean(typed: str) -> str:
    """A typed number as the page reads it: spaces around it, a leading +, and the minus sign − allowed."""
    text = str(typed).strip().replace("\u2212", "-")
    return text[1:] if text.startswith("+") else text


def _g(x: float) -> str:
    return f"{x:g}"


def _encode(payload: object, key: int) -> str:
    """``payload`` as JSON, each byte XORed with a xorshift32 stream seeded by ``key``, in base64 (the
    page's script decodes it the same way)."""
    data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    out = bytearray(len(data))
    x = key & 0xFFFFFFFF
    for i, byte in enumerate(data):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = byte ^ (x & 0xFF)
    return base64.b64encode(bytes(out)).decode("ascii")


def _decode(text: str, key: int) -> object:
    """The inverse of ``_encode`` (for tests; XOR with the same stream)."""
    data = base64.b64decode(text)
    out = bytearray(len(data))
    x = key & 0xFFFFFFFF
    for i, byte in enumerate(data):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = byte ^ (x & 0xFF)
    return json.loads(out.decode("utf-8"))


def _atomic_write(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` with ``autograd._files.atomic_write``, the one way chainrule writes
    a file (a temporary file in the same folder, flushed, synced, moved over ``path``; on failure
    ``path`` is untouched and nothing is left; a device is written in place)."""
    atomic_write(path, content)


# -- the drawing, with room for the answers -----------------------------------------------------------
class _QuizBuilder(_Builder):
    """The drawing's builder, writing each asked number as the widest thing it may show (the number
    and a mark), so that the layout has room for it; the page then replaces it by ``?``."""

    shown_grads: bool = True  # whether numbers not asked for show their gradient
    hidden: dict = {}  # (node, kind) -> the text laid out in the number's place

    def _field(self, node: Value, kind: str) -> str:
        laid_out = self.hidden.get((node, kind))
        if laid_out is not None:
            return laid_out
        if kind == "data":
            return self._number(node.data)
        if not self.shown_grads or (node.role == "constant" and not node.label):
            return UNKNOWN
        return self._number(self.true_grads[node])

    def data_line(self, node: Value) -> str:
        return f"data {self._field(node, 'data')}"

    def grad_line(self, node: Value) -> str:
        return f"grad {self._field(node, 'grad')}"

    def box_line(self, node: Value, data: bool = True, grad: bool = True) -> str:
        return f"{self.name(node)}: data {self._field(node, 'data')}, grad {self._field(node, 'grad')}"


def quiz(
    root: Value,
    *,
    ask: str = "grad",
    hints: bool = True,
    nodes: Iterable[Union[str, Value]] | None = None,
    collapse: Union[int, str, None] = None,
    local_grads: bool = False,
    rtol: float = RTOL,
    atol: float = ATOL,
    digits: int = 4,
    max_nodes: int = DEFAULT_MAX_NODES,
    rankdir: str = "LR",
) -> Quiz:
    """An exercise page for ``root``'s graph: the asked numbers hidden, an answer box per node.

    Needs only the graph's values (no ``backward()``): the true gradients come from
    ``autograd.engine.gradients``, which reads and writes no ``.grad``. The quiz changes nothing in
    the graph. See the module's documentation for the page and its contract (``data-node``,
    ``data-verdict``).

    Args:
        root: the output node; its gradients are d root/d node.
        ask: "grad" (every drawn node's gradient except the root's; unlabelled constants, the plain
            numbers of an expression, are not asked), "data" (every computed node's value) or "both".
        hints: give each question a "hint" button: the local rule from the op table, with the
            numbers it needs.
        nodes: ask only about these nodes (Values or names: labels or ``#i``); default every drawn one.
        collapse: as in ``draw``: each scope at this depth is one box; its nodes are not asked about,
            except the outputs the box shows.
        local_grads: write each local derivative on its arrow (only with ``ask="grad"``: the numbers
            would give values away).
        rtol, atol: a typed answer is right within ``atol + rtol * |true value|`` (as
            ``autograd.check.grade`` grades, with its defaults: relative 1e-6, absolute 1e-12), or when it is the true value rounded to the digits typed, at least ``digits``
            significant digits. The page states the rule.
        digits: significant digits of the numbers drawn (1 to 17), and the fewest digits an answer
            may be rounded to.
        max_nodes, rankdir: as in ``draw``.

    Returns:
        a ``Quiz``: shows itself in Jupyter and VS Code; ``.save("quiz.html")`` writes the page.

    Raises:
        ValueError: a stale graph (the checker's message: values changed after the graph was built;
            ``autograd.replay(root)`` recomputes them), nothing to ask, a node in ``nodes`` that is not
            drawn (inside a collapsed box), or a bad argument.
        GraphTooLargeError: too many shapes to draw (as ``draw``).
        TypeError: ``root`` is not a Value.
    """
    if not isinstance(root, Value):
        raise TypeError(f"quiz() needs the Value whose graph to ask about, got {type(root).__name__}: {root!r}")
    if ask not in ASKS:
        raise ValueError(f"ask must be one of {', '.join(map(repr, ASKS))}, got {ask!r}")
    if not isinstance(hints, bool):
        raise TypeError(f"hints must be True or False, got {hints!r}")
    check_tolerances(atol, rtol)
    if local_grads and ask != "grad":
        raise ValueError(f"local_grads=True would write on the arrows numbers that give the values away; use it with ask='grad' (ask is {ask!r})")
    order = topological_order(root)
    names = Names(order, root)
    stale = find_stale_values(names)
    if stale is not None:
        raise ValueError(f"quiz() cannot ask about a stale graph: {stale.advice}")
    shown = {node: names.name(node) for node in order if not node.label and node.role != "constant"}
    shown[root] = names.root_name()
    builder = plan(root, local_grads=local_grads, check=None, collapse=collapse, max_nodes=max_nodes,
                   digits=digits, rankdir=rankdir, caller="quiz", names=shown)  # fmt: skip
    true_grads = dict(zip(order, gradients(root, order)))
    drawn = _drawn(builder)
    asked = _asked(order, drawn, names, nodes)

    kinds = ("data", "grad") if ask == "both" else (ask,)
    pairs = []
    if "data" in kinds:
        pairs += [(node, "data") for node in order if node in asked and node.parents]
    if "grad" in kinds:
        pairs += [(node, "grad") for node in reversed(order) if node in asked and _grad_askable(node, root)]
    if not pairs:
        raise ValueError(
            f"quiz(): nothing to ask about: {'no drawn node is computed' if ask == 'data' else 'no drawn node other than the root'}"
            + (" among the nodes given" if nodes is not None else "")
        )

    qb = _QuizBuilder(builder.root, builder.order, builder.boxes, builder.checks, builder.local_grads,
                      builder.digits, builder.rankdir, builder.names)  # fmt: skip
    qb.true_grads = true_grads
    qb.shown_grads = ask != "data"
    index = {pair: i for i, pair in enumerate(pairs)}
    qb.hidden = {}
    answers = []
    for node, kind in pairs:
        answer = node.data if kind == "data" else true_grads[node]
        answers.append((answer, qb._number(answer)))
        qb.hidden[(node, kind)] = f"{answers[-1][1]} {RIGHT}"
    qb.build()

    root_name = names.root_name()
    unique = _unique_names(order, names)
    questions: list[Question] = []
    hint_templates = []
    for i, (node, kind) in enumerate(pairs):
        name = unique[node]
        prompt = f"∂{_part(root_name)}/∂{_part(name)}" if kind == "grad" else name
        if hints:
            template = _grad_hint(node, names, root, true_grads, index, drawn) if kind == "grad" else _data_hint(node, names, index)
        else:
            template = None
        hint_templates.append(template)
        plain = None if template is None else _fill(template, [a[1] for a in answers])
        questions.append(Question(i, node, name, kind, answers[i][0], answers[i][1], prompt, plain))

    svg, lines = _finish(qb, pairs, index, unique)
    public = {
        "q": [{"n": q.name, "k": q.kind, "u": qb.unit(q.node), "f": _fallback(q)} for q in questions],
        "lines": lines,
        "rtol": rtol,
        "atol": atol,
        "digits": digits,
    }
    secret = [{"a": q.answer, "t": q.text, "h": _segments(t) if t is not None else None} for q, t in zip(questions, hint_templates)]
    return Quiz(root, ask, questions, svg, public, secret, rtol, atol, digits, root_name)


def _part(name: str) -> str:
    """A node's name after ∂: in parentheses unless it is one word."""
    return name if re.fullmatch(r"[#\w.]+", name) else f"({name})"


def _fallback(q: Question) -> str:
    """How a hint names this question's number while it is not found yet."""
    return q.prompt if q.kind == "grad" else q.name


def _grad_askable(node: Value, root: Value) -> bool:
    return node is not root and not (node.role == "constant" and not node.label)


def _drawn(builder: _Builder) -> dict[Value, str]:
    """The nodes whose numbers the drawing shows, and the scope of the box each is shown in ("" for
    a node drawn on its own)."""
    drawn = {node: "" for node in builder.order if node not in builder.boxes}
    for name in builder.box_info:
        for node in builder.box_outputs_shown(name):
            drawn[node] = name
    return drawn


def _asked(order: Sequence[Value], drawn: dict[Value, str], names: Names, nodes: Iterable | None) -> set[Value]:
    if nodes is None:
        return set(drawn)
    if isinstance(nodes, (str, Value)):
        nodes = [nodes]
    asked = set()
    for key in nodes:
        if not isinstance(key, (str, Value)):
            raise TypeError(f"nodes must be Values or names (labels or '#i'), got {type(key).__name__}: {key!r}")
        node = names.lookup(key)
        if node not in drawn:
            raise ValueError(
                f"quiz(): {names.name(node)} is inside a collapsed box ({node.scope}) and not drawn; ask about the box's "
                "outputs, or draw it (a smaller collapse, or None)"
            )
        asked.add(node)
    return asked


def _unique_names(order: Sequence[Value], names: Names) -> dict[Value, str]:
    """Each node's ``data-node``: its name, or ``#i`` where several nodes share its label."""
    return {
        node: f"#{names.position[node]}" if node.label and len(names.by_label[node.label]) > 1 and node is not names.root
        else names.name(node)
        for node in order
    }  # fmt: skip


# -- hints: the op table's rules, with references to numbers still to be found ----------------------
def _ref(index: dict, node: Value, kind: str) -> str | None:
    i = index.get((node, kind))
    return None if i is None else f"\x00{i}\x00"


def _value(index: dict, node: Value) -> str:
    """A node's value in a hint: a reference when the learner is asked for it, else the number."""
    return _ref(index, node, "data") or paren(num(node.data))


def _data_hint(node: Value, names: Names, index: dict) -> str:
    entry, k = op_entry(node)
    operands = dict(zip("ab", (_value(index, p) for p in node.parents)))
    numbers = entry.text.format(**operands, k=num(k) if k is not None else "")
    return f"{names.name(node)} = {names.definition(node)}   (op {node.op!r}, from the op table)\n= {numbers}"


def _grad_hint(node: Value, names: Names, root: Value, grads: dict, index: dict, drawn: dict) -> str:
    r, n = _part(names.root_name()), _part(names.name(node))
    terms = [(c, i) for c in names.order for i, p in enumerate(c.parents) if p is node]
    chain = " + ".join(f"∂{r}/∂{_part(names.name(c))} · ∂{_part(names.name(c))}/∂{n}" for c, _ in terms)
    lines = [f"chain rule, one term per use of {names.name(node)}: ∂{r}/∂{n} = {chain}"]
    products = []
    for consumer, operand in terms:
        c = _part(names.name(consumer))
        formula, substituted, _, _ = _formulas(consumer, operand, names, number=lambda v: _value(index, v))
        steps = [formula] + ([substituted] if substituted != formula else [])
        local = consumer.local_grads[operand]
        secret = "\x00" in substituted
        if not secret and num(local) not in steps and paren(num(local)) not in steps:
            steps.append(num(local))
        which = f", operand {operand + 1}" if consumer.parents.count(node) > 1 else ""
        where = f", inside {consumer.scope}" if consumer not in drawn else ""
        lines.append(
            f"via {names.name(consumer)} = {names.definition(consumer)} (op {consumer.op!r}{which}{where}): "
            f"∂{c}/∂{n} = {' = '.join(steps)}"
        )
        if consumer is root:
            upstream = "1"
        else:
            upstream = _ref(index, consumer, "grad") or paren(num(grads[consumer]))
        products.append(f"{upstream} · {_group(paren(num(local)) if not secret else substituted)}")
    lines.append(f"∂{r}/∂{n} = {' + '.join(products)}")
    return "\n".join(lines)


def _group(text: str) -> str:
    return f"({text})" if (" + " in text or " - " in text) and not text.startswith("(") else text


def _segments(template: str) -> list:
    """A template as the page's script reads it: text, and question indices where a number goes."""
    parts = _REF.split(template)
    return [int(part) if i % 2 else part for i, part in enumerate(parts) if part or i % 2]


def _fill(template: str, texts: list[str]) -> str:
    """A template with every number filled in (the plain hint of ``Question.hint``)."""
    return _REF.sub(lambda m: paren(texts[int(m.group(1))]), template)


# -- the SVG of the page ------------------------------------------------------------------------------
def _finish(qb: _QuizBuilder, pairs: list, index: dict, unique: dict) -> tuple[str, list]:
    """The drawing's SVG with every asked number replaced by ``?`` and no tooltip that tells a value;
    each text line holding asked numbers gets ``data-line`` (its template in the returned list)."""
    svg = ET.fromstring(qb.drawing.svg())
    wanted: dict[tuple[str, str], list] = {}
    for node, kind in pairs:
        unit = qb.unit(node)
        if node in qb.boxes:
            text = qb.box_line(node)
            template = [f"{qb.name(node)}: data "]
            for field in ("data", "grad"):
                i = index.get((node, field))
                shown = qb._field(node, field)
                if i is None:
                    template[-1] += shown
                else:
                    template.append(i)
                    template.append("")
                if field == "data":
                    template[-1] += ", grad "
            wanted[(unit, text)] = [t for t in template if t != ""]
        else:
            text = qb.data_line(node) if kind == "data" else qb.grad_line(node)
            wanted[(unit, text)] = [f"{kind} ", index[(node, kind)]]
    names_of = {qb.unit(node): unique[node] for node, _ in pairs}
    lines: list = []
    for group in svg.iter(f"{_SVG}g"):
        name = group.get("data-name")
        for anchor in group.iter(f"{_SVG}a"):  # graphviz's tooltips: they name nodes by their data
            anchor.attrib.pop(_XLINK_TITLE, None)
            anchor.attrib.pop("title", None)
        if name is None:
            continue
        if name in names_of and not name.startswith("b"):
            group.set("data-node", names_of[name])
        for text in group.iter(f"{_SVG}text"):
            template = wanted.get((name, text.text))
            if template is None:
                continue
            text.set("data-line", str(len(lines)))
            text.set("class", "cr-unknown")
            text.text = "".join(UNKNOWN if isinstance(t, int) else t for t in template)
            for attribute in ("fill", "font-style"):
                text.attrib.pop(attribute, None)
            lines.append(template)
    return finish_svg(ET.tostring(svg, encoding="unicode")), lines


STYLE = """
.cr-quiz { display: grid; grid-template-columns: minmax(0, 1fr) minmax(300px, 34%);
  grid-template-rows: auto auto 1fr auto; align-items: start; column-gap: 12px; }
.cr-quiz > style, .cr-quiz > script { display: none; }
.cr-quiz > .cr-quiz-head, .cr-quiz > .cr-static-note { grid-column: 1 / -1; }
.cr-quiz > .cr-bar, .cr-quiz > .cr-frame { grid-column: 1; }
.cr-quiz > .cr-questions { grid-column: 2; grid-row: 2 / span 2; }
@media (max-width: 760px) {
  .cr-quiz { grid-template-columns: minmax(0, 1fr); }
  .cr-quiz > .cr-questions { grid-column: 1; grid-row: auto; }
}
.cr-quiz-head { margin: 0 0 6px 0; line-height: 1.45; }
.cr-quiz-head .cr-rule { color: #555; font-size: 12px; }
.cr-score { font-weight: bold; margin-top: 2px; }
.cr-view.cr-quiz ol.cr-questions { list-style: none; margin: 0; padding: 0 4px 0 0; max-height: 80vh; overflow: auto;
  border-top: 1px solid #e0e0e0; }
.cr-view.cr-quiz li.cr-q { margin: 0; padding: 5px 2px; border-bottom: 1px solid #eee; }
.cr-q.cr-focus { background: #fff4e6; }
.cr-prompt span { font-family: Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.cr-q input { font: inherit; width: 8.5em; padding: 1px 4px; border: 1px solid #999; border-radius: 3px; }
.cr-q input:focus { outline: 2px solid #e8590c; outline-offset: 0; }
.cr-q input[readonly] { background: #f1f1f1; color: #555; }
.cr-verdict { display: inline-block; min-width: 5.5em; margin-left: 4px; font-weight: bold; }
.cr-verdict:empty { min-width: 0; margin: 0; }
.cr-q[data-verdict=right] .cr-verdict { color: #1b6e2c; }
.cr-q[data-verdict=wrong] .cr-verdict { color: #b00020; }
.cr-q[data-verdict=shown] .cr-verdict { color: #555; font-weight: normal; }
.cr-note { color: #555; font-size: 12px; margin-left: 4px; }
.cr-buttons { white-space: nowrap; }
.cr-buttons button { font: inherit; font-size: 12px; padding: 0 6px; margin-left: 3px; border: 1px solid #bbb;
  border-radius: 4px; background: #f6f6f6; color: #222; cursor: pointer; }
.cr-hint-box { margin: 4px 0 2px 0; padding: 4px 8px; border-left: 3px solid #1c7ed6; background: #f3f8fd;
  font-family: Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; white-space: pre-wrap; }
.cr-quiz text.cr-unknown { fill: #9a9a9a; font-style: italic; }
.cr-quiz text.cr-right { fill: #1b6e2c; font-weight: bold; font-style: normal; }
.cr-quiz text.cr-wrong { fill: #b00020; font-weight: bold; font-style: normal; }
.cr-quiz text.cr-shown { fill: #444; font-style: normal; }
.cr-quiz .cr-current polygon, .cr-quiz .cr-current path { stroke: #e8590c; stroke-width: 4px; }
.cr-quiz g[data-node] { cursor: pointer; }
"""

# The page's script, run after ``crView`` (autograd.viz.viewer) with ``root``, ``view`` and ``D`` in
# scope. D holds what is public (names, the lines of the drawing, the rule) and ``blob``, the answers
# and hints, decoded here (see ``_encode``).
SCRIPT = r"""
function decode(text, seed) {
  var raw = atob(text), bytes = new Uint8Array(raw.length), x = seed >>> 0;
  for (var i = 0; i < raw.length; i++) {
    x = (x ^ (x << 13)) >>> 0; x = (x ^ (x >>> 17)) >>> 0; x = (x ^ (x << 5)) >>> 0;
    bytes[i] = raw.charCodeAt(i) ^ (x & 255);
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}
var S = decode(D.blob, D.seed), n = D.q.length, state = D.q.map(function () { return ''; });
var MARK = {right: ' \u2713', wrong: ' \u2717', shown: ' \u25cb'};
var lines = [];
root.querySelectorAll('[data-line]').forEach(function (el) { lines[+el.getAttribute('data-line')] = el; });
var items = [], inputs = [];
root.querySelectorAll('li.cr-q').forEach(function (li) { var i = +li.getAttribute('data-q'); items[i] = li; inputs[i] = li.querySelector('input'); });
var score = root.querySelector('.cr-score');
function known(i) { return state[i] === 'right' || state[i] === 'shown'; }
function paren(t) { return t.charAt(0) === '-' ? '(' + t + ')' : t; }
function field(i) {
  if (known(i)) return S[i].t + MARK[state[i]];
  return state[i] === 'wrong' ? '?' + MARK.wrong : '?';
}
function drawLines() {
  D.lines.forEach(function (segments, j) {
    var el = lines[j];
    if (!el) return;
    var numbers = segments.filter(function (s) { return typeof s === 'number'; });
    function any(st) { return numbers.some(function (s) { return state[s] === st; }); }
    el.textContent = segments.map(function (s) { return typeof s === 'number' ? field(s) : s; }).join('');
    el.setAttribute('class', any('wrong') ? 'cr-wrong' : any('') ? 'cr-unknown' : any('shown') ? 'cr-shown' : 'cr-right');
  });
}
function hintText(i) {
  var missing = [];
  var text = S[i].h.map(function (s) {
    if (typeof s !== 'number') return s;
    if (known(s)) return paren(S[s].t);
    if (missing.indexOf(D.q[s].f) < 0) missing.push(D.q[s].f);
    return D.q[s].f;
  }).join('');
  if (missing.length) text += '\nStill to find: ' + missing.join(', ') + ' (answer ' + (missing.length > 1 ? 'them' : 'it') + ' first, or show the answer).';
  return text;
}
function drawHints() {
  items.forEach(function (li, i) { var h = li.querySelector('.cr-hint-box'); if (h && !h.hidden) h.textContent = hintText(i); });
}
function verdictOf(i, verdict, words) {
  var name = D.q[i].n, kind = D.q[i].k;
  items[i].setAttribute('data-verdict', verdict); inputs[i].setAttribute('data-verdict', verdict);
  root.querySelectorAll('g[data-node]').forEach(function (g) {
    if (g.getAttribute('data-node') === name) g.setAttribute('data-verdict', verdict);
  });
  items[i].querySelector('.cr-verdict').textContent = words;
}
function tally() {
  var right = state.filter(function (s) { return s === 'right'; }).length;
  var shown = state.filter(function (s) { return s === 'shown'; }).length;
  score.textContent = right + ' of ' + n + ' right' + (shown ? ', ' + shown + ' shown' : '') + (right === n ? ': all done!' : '');
  root.setAttribute('data-score', right);
}
function parse(text) {
  var t = text.trim().replace(/\u2212/g, '-').replace(/^\+/, '');
  var m = /^-?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(t);
  if (!t || !m || !(m[1] || m[2])) return null;
  return {value: Number(t), whole: m[1] || '', fraction: m[2] || '', exponent: +(m[3] || 0)};
}
function isRight(p, answer) {
  var error = Math.abs(p.value - answer);
  if (error <= D.atol + D.rtol * Math.abs(answer)) return true;
  var significant = (p.whole + p.fraction).replace(/^0+/, '').length;
  return significant >= D.digits && error <= 0.5 * Math.pow(10, p.exponent - p.fraction.length) * (1 + 1e-9);
}
function next(i) {
  for (var k = 1; k <= n; k++) { var j = (i + k) % n; if (!known(j)) return j; }
  return -1;
}
function check(i) {
  if (state[i] === 'shown') return;
  var p = parse(inputs[i].value);
  if (!p) {
    items[i].querySelector('.cr-verdict').textContent = inputs[i].value.trim() ? 'not a number: type one, such as -0.25' : '';
    return;
  }
  var right = isRight(p, S[i].a);
  state[i] = right ? 'right' : 'wrong';
  verdictOf(i, state[i], right ? '\u2713 right' : '\u2717 wrong');
  drawLines(); drawHints(); tally();
  if (right) { var j = next(i); if (j >= 0) inputs[j].focus(); } else inputs[i].select();
}
function show(i) {
  state[i] = 'shown'; inputs[i].value = S[i].t; inputs[i].readOnly = true;
  verdictOf(i, 'shown', '\u25cb shown');
  drawLines(); drawHints(); tally();
}
function focusNode(i) {
  root.querySelectorAll('.cr-current').forEach(function (el) { el.classList.remove('cr-current'); });
  items.forEach(function (li) { li.classList.remove('cr-focus'); });
  items[i].classList.add('cr-focus');
  var g = root.querySelector('[data-name="' + D.q[i].u + '"]');
  if (g) { g.classList.add('cr-current'); view.reveal(g); }
}
items.forEach(function (li, i) {
  inputs[i].addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { check(i); e.preventDefault(); }
    e.stopPropagation();  // typing + - 0 in a box is not a zoom
  });
  inputs[i].addEventListener('focus', function () { focusNode(i); });
  li.querySelector('[data-act=show]').addEventListener('click', function () { show(i); });
  var h = li.querySelector('[data-act=hint]');
  if (h) h.addEventListener('click', function () {
    var box = li.querySelector('.cr-hint-box'); box.hidden = !box.hidden;
    h.setAttribute('aria-expanded', String(!box.hidden)); drawHints();
  });
});
root.querySelectorAll('g[data-name]').forEach(function (g) {
  var unit = g.getAttribute('data-name');
  g.addEventListener('click', function () {
    for (var i = 0; i < n; i++) if (D.q[i].u === unit && !known(i)) { inputs[i].focus(); return; }
    for (var i = 0; i < n; i++) if (D.q[i].u === unit) { inputs[i].focus(); return; }
  });
});
if (view.crowded()) {  // a network: readable at actual size, starting where the first question is
  view.zoom(1);
  view.reveal(root.querySelector('[data-name="' + D.q[0].u + '"]'));
}
tally();
"""
