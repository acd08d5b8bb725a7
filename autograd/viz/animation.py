"""Watch backpropagation happen: a step-through of the forward and the backward pass, ``animate(root)``.

The drawing is ``autograd.viz.picture``'s, as for ``autograd.viz.draw`` (the same in-process Graphviz, the same legend and
``collapse`` options). The steps:

* step 0: the leaves (inputs, parameters, constants) hold their values; every other value, and
  every gradient, reads ``?``;
* the forward pass, in topological order: one step per computed node, whose value appears, with the
  operation and the numbers it was computed from (``h = sigmoid(s) = sigmoid(-5) = 0.006693``);
* the backward pass, in reverse topological order: one step per node, highlighted with the arrows
  to its consumers; the caption writes out the chain rule's sum that forms its gradient,
  ``dE/dh = sum over the consumers c of dE/dc * dc/dh``, with the formulas and numbers of
  ``autograd.check.explain``, and the node's grad appears. Nodes the pass has not reached yet show
  ``grad ?``.

``Animation`` shows itself in Jupyter (classic Notebook, JupyterLab, VS Code) with controls (first,
previous, play/pause with a speed, next, last, a slider, the arrow keys) and ``save("backprop.html")``
writes one self-contained file that works offline: no kernel, no network, no ipywidgets.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Union

from . import render as _render
from . import viewer as _viewer
from ..check import BackwardNeededError, Explanation, explain
from ..engine import Value, describe, topological_order
from .picture import (
    DEFAULT_MAX_NODES,
    HAND,
    HAND_COLOUR,
    UNKNOWN,
    Drawing,
    GraphTooLargeError,
    _Builder,
    finish_svg,
    format_of,
    grad_by_hand,
    mark_hand,
    mark_unknown,
    plan,
)

__all__ = ["animate", "Animation", "Step", "DEFAULT_MAX_STEPS"]

DEFAULT_MAX_STEPS = 2000
"""The most steps ``animate`` makes unless told otherwise (a step per value, and one more per computed value)."""
_MAX_TERMS_SHOWN = 6
_SVG = "{http://www.w3.org/2000/svg}"

# What the highlights look like: the node of the step (orange), the nodes it reads from (blue), and
# the arrows along which its value or its gradient flows (orange).
CURRENT = "#e8590c"
SOURCE = "#1c7ed6"
STYLE = f"""
.cr-anim .cr-current polygon, .cr-anim .cr-current path, .cr-anim .cr-current ellipse,
.cr-anim .cr-current polyline {{ stroke: {CURRENT}; stroke-width: 4px; }}
.cr-anim .cr-source polygon, .cr-anim .cr-source path, .cr-anim .cr-source ellipse,
.cr-anim .cr-source polyline {{ stroke: {SOURCE}; stroke-width: 3px; }}
.cr-anim .cr-flow path {{ stroke: {CURRENT}; stroke-width: 3px; }}
.cr-anim .cr-flow polygon {{ stroke: {CURRENT}; fill: {CURRENT}; }}
.cr-anim .cr-unknown {{ fill: #9a9a9a; font-style: italic; }}
.cr-anim .cr-hand {{ fill: {HAND_COLOUR}; font-style: italic; }}
.cr-controls {{ display: flex; flex-wrap: wrap; align-items: center; gap: 4px; margin: 0 0 6px 0; }}
.cr-controls button, .cr-controls select {{ font: inherit; padding: 2px 9px; border: 1px solid #bbb;
  border-radius: 4px; background: #f6f6f6; color: #222; cursor: pointer; }}
.cr-controls button:hover {{ background: #e9e9e9; }}
.cr-controls input[type=range] {{ flex: 1 1 160px; min-width: 120px; }}
.cr-counter {{ color: #555; font-variant-numeric: tabular-nums; min-width: 8em; }}
.cr-caption {{ border-left: 4px solid {CURRENT}; background: #fff8f3; padding: 6px 10px; margin: 0 0 6px 0;
  min-height: 3.6em; line-height: 1.5; }}
.cr-caption .cr-what {{ color: #555; font-size: 12px; }}
.cr-caption .cr-math {{ font-family: Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }}
.cr-caption .cr-warn {{ color: #c00000; }}
"""

CONTROLS = (
    '<div class="cr-controls cr-needs-script" style="display:none">'
    '<button type="button" data-act="first" title="first step (Home)">|&#9664;</button>'
    '<button type="button" data-act="prev" title="previous step (&#8592;)">&#9664;</button>'
    '<button type="button" data-act="play" title="play or pause (space)">play</button>'
    '<button type="button" data-act="next" title="next step (&#8594;)">&#9654;</button>'
    '<button type="button" data-act="last" title="last step (End)">&#9654;|</button>'
    '<select data-act="speed" title="speed of play">'
    '<option value="1000">1 step/s</option><option value="500" selected>2 steps/s</option>'
    '<option value="200">5 steps/s</option><option value="80">12 steps/s</option></select>'
    '<input type="range" data-act="slider" min="0" max="{last}" value="{start}" aria-label="step">'
    '<span class="cr-counter"></span></div>'
)

# The step-through's script, run after ``crView`` (autograd.viz.viewer) with ``root``, ``view`` and ``D``
# (the steps) in scope. Every state is precomputed in Python; the script only shows step k.
SCRIPT = r"""
var texts = [];
root.querySelectorAll('[data-k]').forEach(function (el) { texts[+el.getAttribute('data-k')] = el; });
var caption = root.querySelector('.cr-caption'), slider = root.querySelector('[data-act=slider]');
var counter = root.querySelector('.cr-counter'), play = root.querySelector('[data-act=play]');
var speed = root.querySelector('[data-act=speed]'), last = D.steps.length - 1, k = -1, timer = null;
function all(sel) { return root.querySelectorAll(sel); }
function mark(names, attr, cls) {
  names.forEach(function (n) { all('[' + attr + '="' + n + '"]').forEach(function (el) { el.classList.add(cls); }); });
}
function show(to) {
  k = Math.max(0, Math.min(last, to));
  var step = D.steps[k];
  all('.cr-current, .cr-source, .cr-flow').forEach(function (el) { el.classList.remove('cr-current', 'cr-source', 'cr-flow'); });
  mark(step.c, 'data-name', 'cr-current'); mark(step.s, 'data-name', 'cr-source'); mark(step.e, 'data-edge', 'cr-flow');
  D.texts.forEach(function (variants, i) {
    var pick = variants[0];
    for (var j = 1; j < variants.length && variants[j][0] <= k; j++) pick = variants[j];
    var el = texts[i];
    if (!el) return;
    if (el.textContent !== pick[1]) el.textContent = pick[1];
    el.classList.toggle('cr-unknown', !!pick[2]);
    el.classList.toggle('cr-hand', !pick[2] && / \(by hand\)$/.test(pick[1]));
  });
  caption.innerHTML = step.h;
  slider.value = k;
  counter.textContent = 'step ' + k + ' of ' + last;
  root.setAttribute('data-step', k);
  if (step.c.length) view.reveal(root.querySelector('[data-name="' + step.c[0] + '"]'));
}
function stop() { if (timer) { clearInterval(timer); timer = null; } play.textContent = 'play'; }
function start() {
  if (k >= last) show(0);
  stop(); play.textContent = 'pause';
  timer = setInterval(function () { if (k >= last) stop(); else show(k + 1); }, +speed.value);
}
var acts = {
  first: function () { stop(); show(0); }, prev: function () { stop(); show(k - 1); },
  next: function () { stop(); show(k + 1); }, last: function () { stop(); show(last); },
  play: function () { if (timer) stop(); else start(); }
};
Object.keys(acts).forEach(function (name) {
  root.querySelector('[data-act=' + name + ']').addEventListener('click', acts[name]);
});
slider.addEventListener('input', function () { stop(); show(+slider.value); });
speed.addEventListener('change', function () { if (timer) start(); });
root.addEventListener('keydown', function (e) {
  if (e.ctrlKey || e.metaKey || e.altKey || e.target === speed) return;
  var key = {ArrowRight: 'next', ArrowDown: 'next', ArrowLeft: 'prev', ArrowUp: 'prev', Home: 'first',
             End: 'last', ' ': 'play'}[e.key];
  if (key) { acts[key](); e.preventDefault(); e.stopPropagation(); }
});
if (view.crowded()) view.zoom(1);  // a large graph: follow the steps at actual size ("fit" shows it all)
show(D.start);
"""


@dataclass(frozen=True)
class Step:
    """One step of an animation.

    Attributes:
        index: its place, 0 to ``len(animation) - 1``.
        kind: "start", "forward" or "backward".
        node: the node computed (forward) or whose gradient forms (backward); None for the start.
        text: the caption as plain text: what happens, with the numbers.
        explanation: for a backward step, ``explain(node, root)``: the terms of the chain rule's sum.
    """

    index: int
    kind: str
    node: Value | None
    text: str
    explanation: Explanation | None = None


class Animation:
    """A step-through of the forward and backward pass of one graph (made by ``animate``).

    ``len(animation)`` is the number of steps, ``animation.steps`` the ``Step`` objects. In Jupyter it
    shows itself with its controls; ``save("backprop.html")`` writes it as one self-contained file,
    and ``save("step.png", step=k)`` (or ``.svg``) one frame. ``svg(step)`` is a frame's SVG text.
    """

    def __init__(
        self,
        root: Value,
        drawing: Drawing,
        steps: list[Step],
        frames: list[dict],
        lines: list[tuple[str, str]],
        texts: list[list],
    ) -> None:
        self.root = root
        self.steps = steps
        self.drawing = drawing
        self._frames = frames  # per step: current shapes "c", sources "s", flowing arrows "e", caption HTML "h"
        self._line_keys = lines  # each line that changes: (the shape it is in, its text in the drawing)
        self._texts = texts  # per such line: [[from step, text, unknown], ...]
        self._svg: str | None = None

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return (
            f"<Animation of {describe(self.root)}: {len(self)} steps over {self.drawing.node_count} shapes; "
            ".save('backprop.html') writes it>"
        )

    # the drawing, with the variable lines marked
    def _base_svg(self) -> str:
        if self._svg is None:
            svg = ET.fromstring(self.drawing.svg())
            wanted = {(name, text): k for k, (name, text) in enumerate(self._line_keys)}
            for group in svg.iter(f"{_SVG}g"):
                name = group.get("data-name") or group.get("data-edge")
                if name is None:
                    continue
                for text in group.iter(f"{_SVG}text"):
                    k = wanted.get((name, text.text))
                    if k is not None:
                        text.set("data-k", str(k))
            self._svg = finish_svg(ET.tostring(svg, encoding="unicode"))
        return self._svg

    def _check_step(self, step: int | None, default: int) -> int:
        if step is None:
            return default
        if isinstance(step, bool) or not isinstance(step, int):
            raise TypeError(f"step must be an int, got {type(step).__name__}: {step!r}")
        if step < 0:
            step += len(self)
        if not 0 <= step < len(self):
            raise IndexError(f"step {step} is out of range: this animation has steps 0 to {len(self) - 1}")
        return step

    def svg(self, step: int | None = None) -> str:
        """The SVG of one frame (default: the last step), highlights and ``?``s drawn in."""
        return self._frame_svg(self._check_step(step, len(self) - 1), inline=True)

    def _frame_svg(self, k: int, inline: bool) -> str:
        """Step ``k``'s frame: highlights as stroke attributes (``inline``, for a stand-alone image) or
        as the CSS classes the step-through's script turns on and off."""
        svg = ET.fromstring(self._base_svg())
        frame = self._frames[k]
        looks = {"cr-current": (CURRENT, "4"), "cr-source": (SOURCE, "3"), "cr-flow": (CURRENT, "3")}
        for group in svg.iter(f"{_SVG}g"):
            name, edge = group.get("data-name"), group.get("data-edge")
            role = "cr-current" if name in frame["c"] else "cr-source" if name in frame["s"] else None
            if edge is not None and edge in frame["e"]:
                role = "cr-flow"
            if role and not inline:
                group.set("class", f"{group.get('class', '')} {role}")
            elif role:
                colour, width = looks[role]
                for shape in group.iter():
                    if shape.tag in (f"{_SVG}polygon", f"{_SVG}path", f"{_SVG}ellipse", f"{_SVG}polyline"):
                        shape.set("stroke", colour)
                        shape.set("stroke-width", width)
                        if role == "cr-flow" and shape.tag == f"{_SVG}polygon":
                            shape.set("fill", colour)
            for text in group.iter(f"{_SVG}text"):
                line = text.get("data-k")
                if line is None:
                    continue
                _, shown, unknown = _pick(self._texts[int(line)], k)
                text.text = shown
                if unknown and inline:
                    mark_unknown(text)
                elif unknown:
                    text.set("class", "cr-unknown")
                elif shown.endswith(HAND) and inline:
                    mark_hand(text)
                elif shown.endswith(HAND):
                    text.set("class", "cr-hand")
        return ET.tostring(svg, encoding="unicode")

    def html(self, step: int = 0) -> str:
        """The step-through as an HTML fragment (what Jupyter shows), opening at ``step``."""
        k = self._check_step(step, 0)
        data = {"start": k, "steps": self._frames, "texts": self._texts}
        last = len(self) - 1
        final = self._frames[last]["h"]
        note = (
            f"This is the last of {len(self)} steps. The step-through needs JavaScript: run the cell, trust "
            "the notebook, or save the animation to an .html file and open that."
        )
        return _viewer.frame_html(
            self._frame_svg(last, inline=False),
            kind="anim",
            body_before=f"<style>{STYLE}</style>{CONTROLS.format(last=last, start=k)}"
            f'<div class="cr-caption" aria-live="polite">{final}</div>',
            script=f"var view = crView(root); var D = {json.dumps(data)};\n{SCRIPT}",
            static_note=note,
        )

    def _repr_html_(self) -> str:
        return self.html()

    def save(self, path: Union[str, PathLike], step: int | None = None, format: str | None = None) -> Path:
        """Write the animation and return the path; the format comes from the suffix unless given.

        * ``.html`` (or ``.htm``): the whole step-through, one self-contained file that opens in any
          browser, offline (it opens at ``step``, default 0);
        * ``.svg`` or ``.png``: one frame, ``step`` (default: the last).
        """
        path = Path(path)
        format = format_of(path, format)
        if format in ("html", "htm"):
            title = f"backprop through {self.root.label or 'a graph'}: {len(self)} steps"
            content = _viewer.page(title, self.html(self._check_step(step, 0))).encode("utf-8")
        elif format == "svg":
            content = self.svg(step).encode("utf-8")
        elif format == "png":
            content = _render.svg_to_png(self.svg(step))
        else:
            raise ValueError(f"an animation saves as .html (all steps), .svg or .png (one frame), not {format!r}")
        path.write_bytes(content)
        return path


def _pick(variants: list, k: int) -> list:
    """The variant of a line shown at step ``k``: the last one that starts at or before it."""
    chosen = variants[0]
    for variant in variants[1:]:
        if variant[0] <= k:
            chosen = variant
    return chosen


def animate(
    root: Value,
    *,
    collapse: Union[int, str, None] = None,
    local_grads: bool = True,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_steps: int = DEFAULT_MAX_STEPS,
    digits: int = 4,
    rankdir: str = "LR",
) -> Animation:
    """A step-through of the forward and the backward pass of ``root``'s graph.

    Call ``root.backward()`` first: the animation replays that pass (it reads the graph and changes
    nothing). Step 0 shows the leaves' values; then each computed value appears, in topological order;
    then, from the root back, each node's gradient forms as the chain rule's sum over its consumers,
    with the numbers of ``autograd.check.explain``. Nodes not reached yet read ``?``. Unlabelled
    nodes are named ``#i``, their position in ``topological_order(root)`` (as in ``explain`` and
    ``gradcheck``); an unlabelled root is ``f``.

    Args:
        root: the output node; ``root.backward()`` must have run.
        collapse: as in ``draw``: 1 or "layer", 2 or "neuron" draws each scope at that depth as one box
            (the steps inside a box highlight the box, and its output lines fill in).
        local_grads: write each local derivative on its arrow (default True).
        max_nodes: refuse graphs that would draw more shapes than this (as ``draw``).
        max_steps: refuse graphs that need more steps than this (one per value and one more per
            computed value).
        digits: significant digits of the numbers (1 to 17).
        rankdir: "LR", "TB", "RL" or "BT", as in ``draw``.

    Returns:
        an ``Animation``: shows itself in Jupyter, ``.save("backprop.html")`` writes it.

    A leaf's grad set by hand after the backward pass shows its number marked ``(by hand)`` in violet,
    and its step says that it differs from the chain rule's sum. A computed node's grad set by hand is
    refused (its operands' steps would multiply by it, which backward did not): ``grade`` grades it.

    Raises:
        BackwardNeededError: ``root.backward()`` has not been called, or the graph is stale (values
            changed after backward, as after a training step; or grads another pass wrote), or a computed
            node's grad was set by hand: its steps would show false arithmetic, so the message says what
            to do (replay, then backward).
        GraphTooLargeError: too many shapes or steps; the message says how to show less.
        TypeError, ValueError: a bad argument, named in the message.
    """
    if not isinstance(root, Value):
        raise TypeError(f"animate() needs the Value whose graph to animate, got {type(root).__name__}: {root!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
    order = topological_order(root)
    computed = [node for node in order if node.parents]
    count = 1 + len(computed) + len(order)
    if count > max_steps:
        raise GraphTooLargeError(
            f"this graph has {len(order):,} values and would take {count:,} steps, more than max_steps={max_steps:,}; "
            "a step-through that long cannot be followed. Show less: animate the loss of one sample (or of a "
            "smaller network) instead of a batch, or draw the whole graph with draw(..., collapse='neuron'); "
            f"or raise the limit: animate(..., max_steps={count})"
        )
    try:
        stale = explain(root, root).stale  # the checker's detection of a stale graph
    except BackwardNeededError as exc:
        raise BackwardNeededError(
            f"animate() replays the backward pass that root.backward() computed, and there is none: call "
            f"root.backward() first ({exc})"
        ) from None
    if stale is not None:
        # Its steps would write equations that are false (``#2 = x * w = 2 * (-2.5) = -6``), so none is made.
        redo = "autograd.replay(root), then autograd.zero_grad(root); root.backward()" if stale.kind == "values" else (
            "autograd.zero_grad(root); root.backward()")
        raise BackwardNeededError(
            f"animate() cannot step through this graph: {stale.headline}. Its steps would show arithmetic that "
            f"is not true, so none is shown. Recompute it, then animate again: {redo}."
        )
    by_hand = [node for node in order if node.parents and grad_by_hand(node)]
    if by_hand:
        # Their operands' steps would multiply by the hand-set numbers, not by what backward used.
        shown = ", ".join(_Names(order, root)(node) for node in by_hand[:6]) + (", ..." if len(by_hand) > 6 else "")
        raise BackwardNeededError(
            f"animate() replays the backward pass, but the grads of computed nodes were set by hand after it "
            f"({shown}): the steps of their operands would multiply by those numbers, not by the ones backward "
            "used, and show arithmetic that is not backward's. autograd.check.grade(root) grades hand-set grads "
            "and draw(root) shows them; to step through the backward pass, call autograd.zero_grad(root); "
            "root.backward(). (Grads set by hand on leaves are shown, marked '(by hand)'.)"
        )
    names = _Names(order, root)
    builder = plan(root, local_grads=local_grads, check=None, collapse=collapse, max_nodes=max_nodes,
                   digits=digits, rankdir=rankdir, caller="animate", names=names.shown)  # fmt: skip
    return _Script(root, order, builder, names).animation()


class _Names:
    """The names a step-through uses: a node's label, else ``#i`` (its position in the topological
    order, as ``explain`` names it); an unlabelled constant reads as its number; an unlabelled root is
    ``f`` (``root`` if a node is labelled "f")."""

    def __init__(self, order: list[Value], root: Value) -> None:
        self.root = root
        self.root_name = root.label or ("root" if any(node.label == "f" for node in order) else "f")
        self.shown: dict[Value, str] = {}  # the names drawn on unlabelled nodes
        for i, node in enumerate(order):
            if node is root:
                self.shown[node] = self.root_name
            elif not node.label and node.role != "constant":
                self.shown[node] = f"#{i}"

    def __call__(self, node: Value) -> str:
        return node.label or self.shown.get(node) or _plain(node.data)


def _plain(x: float) -> str:
    return f"{x + 0.0:.6g}"


class _Script:
    """Works out every step of an animation: the captions, the highlights and the text of each line."""

    def __init__(self, root: Value, order: list[Value], builder: _Builder, names: _Names) -> None:
        self.root = root
        self.order = order
        self.builder = builder
        self.name = names
        self.edges = set(builder.edges)
        self.forward = [node for node in order if node.parents]
        self.backward = order[::-1]
        self.total = 1 + len(self.forward) + len(self.backward)
        self.fwd_step = {node: i for i, node in enumerate(self.forward, start=1)}
        self.bwd_step = {node: 1 + len(self.forward) + i for i, node in enumerate(self.backward)}
        self.consumers: dict[Value, list[Value]] = {}
        for node in order:
            for parent in dict.fromkeys(node.parents):
                self.consumers.setdefault(parent, []).append(node)

    def number(self, x: float) -> str:
        return self.builder._number(x)

    def partial(self, node: Value) -> str:
        """A node's name after a ∂: in parentheses unless it is one word (``∂E/∂(-max(z))``)."""
        name = self.name(node)
        return name if re.fullmatch(r"[#\w.]+", name) else f"({name})"

    def factor(self, x: float) -> str:
        """A number as a factor: in parentheses when negative."""
        text = self.number(x)
        return f"({text})" if text.startswith("-") else text

    # -- the drawing's shapes ---------------------------------------------------------------------------
    def op_shape(self, node: Value) -> str | None:
        return None if node in self.builder.boxes else f"o{self.builder.ids[node]}"

    def arrows_into(self, node: Value) -> list[str]:
        """The arrows that carry ``node``'s operands into it (and its operation's arrow to its value)."""
        unit, op = self.builder.unit(node), self.op_shape(node)
        pairs = [(self.builder.unit(p), op or unit) for p in node.parents] + ([(op, unit)] if op else [])
        return [f"{tail} {head}" for tail, head in dict.fromkeys(pairs) if (tail, head) in self.edges]

    # -- the steps --------------------------------------------------------------------------------------
    def animation(self) -> Animation:
        steps, frames = [], []
        for k in range(self.total):
            step, frame = self.step(k)
            steps.append(step)
            frames.append(frame)
        keys, texts = self.lines()
        return Animation(self.root, self.builder.drawing, steps, frames, keys, texts)

    def step(self, k: int) -> tuple[Step, dict]:
        head = f"Step {k} of {self.total - 1}"
        if k == 0:
            text = (
                "start: the leaves (inputs, parameters, constants) hold their values; every other value "
                "and every gradient is still ?. The forward pass comes first."
            )
            frame = {"c": [], "s": [], "e": []}
            return Step(0, "start", None, text), {**frame, "h": _caption(head, html.escape(text), [])}
        if k <= len(self.forward):
            return self.forward_step(k, head)
        return self.backward_step(k, head)

    def forward_step(self, k: int, head: str) -> tuple[Step, dict]:
        node = self.forward[k - 1]
        what = f"forward pass, value {k} of {len(self.forward)}: {self.name(node)} is computed"
        if node in self.builder.boxes:
            what += f" (inside {self.builder.boxes[node]})"
        definition = self.definition(node, self.name)
        numbers = self.definition(node, lambda p: self.number(p.data))
        math = f"{self.name(node)} = {definition}"
        if numbers != definition:
            math += f" = {numbers}"
        math += f" = {self.number(node.data)}"
        extra = ["The forward pass is done: backward starts at the root."] if k == len(self.forward) else []
        frame = {
            "c": _unique([self.builder.unit(node), self.op_shape(node)]),
            "s": _unique([self.builder.unit(p) for p in node.parents if self.builder.unit(p) != self.builder.unit(node)]),
            "e": self.arrows_into(node),
        }
        frame["h"] = _caption(head, html.escape(what), [html.escape(math)], extra)
        return Step(k, "forward", node, "\n".join([what, math, *extra])), frame

    def backward_step(self, k: int, head: str) -> tuple[Step, dict]:
        node = self.backward[k - 1 - len(self.forward)]
        position = k - len(self.forward)
        ex = explain(node, self.root)
        r, n = self.partial(self.root), self.partial(node)
        what = f"backward pass, gradient {position} of {len(self.backward)}: the gradient of {self.name(node)}"
        if node in self.builder.boxes:
            what += f" (inside {self.builder.boxes[node]})"
        lines, extra = [], []
        if ex.kind == "root":
            lines.append(f"∂{r}/∂{r} = 1: the backward pass starts at the root.")
        else:
            count = len(ex.terms)
            lines.append(
                f"∂{r}/∂{n} = sum over the consumers c of {n} of ∂{r}/∂c · ∂c/∂{n}   "
                f"({count} term{'s' if count != 1 else ''})"
            )
            for term in ex.terms[:_MAX_TERMS_SHOWN]:
                lines.append(self.term_line(term, r, n))
            if count > _MAX_TERMS_SHOWN:
                lines.append(f"… and {count - _MAX_TERMS_SHOWN} more terms")
            if 1 < count <= _MAX_TERMS_SHOWN:
                summed = " + ".join(self.factor(t.value) for t in ex.terms)
                lines.append(f"∂{r}/∂{n} = {summed} = {self.number(ex.total)}")
            else:
                lines.append(f"∂{r}/∂{n} = {self.number(ex.total)}")
            if ex.kind == "leaf":
                extra.append(f"{self.name(node)} is a leaf ({node.role}): the chain rule stops here.")
        if not ex.agrees and grad_by_hand(node):
            extra.append(
                f"! {self.name(node)}.grad holds {self.number(node.grad)}, set by hand after the backward pass; "
                f"the chain rule's sum is {self.number(ex.total)} (autograd.check.grade(root) grades hand-set grads)."
            )
        elif not ex.agrees:
            extra.append(
                f"! {self.name(node)}.grad holds {self.number(node.grad)}, not this sum: gradients from more than one backward "
                "pass (call zero_grad before backward), or changed since."
            )
        if k == self.total - 1:
            extra.append("Done: every gradient is computed.")
        consumer_units = _unique([self.builder.unit(c) for c in self.consumers.get(node, [])])
        unit = self.builder.unit(node)
        frame = {
            "c": [unit],
            "s": [u for u in consumer_units if u != unit],
            "e": [e for c in self.consumers.get(node, []) for e in self.arrows_into(c) if e.startswith(unit + " ")
                  or (e.split()[0] == self.op_shape(c) and unit != self.builder.unit(c))],
        }
        frame["e"] = _unique(frame["e"])
        body = [html.escape(line) for line in lines]
        frame["h"] = _caption(head, html.escape(what), body, [html.escape(e) for e in extra])
        return Step(k, "backward", node, "\n".join([what, *lines, *extra]), ex), frame

    def term_line(self, term, r: str, n: str) -> str:  # noqa: ANN001 (a ChainTerm)
        """``via h = sigmoid(s): ∂E/∂h · ∂h/∂s = (-149.4) · sigmoid(s) · (1 - sigmoid(s)) = ... = 0.9933``."""
        c = self.partial(term.consumer)
        upstream = self.factor(term.upstream)
        forms = [_group(_dots(term.formula))]
        for form in (_group(_dots(term.substituted)), self.factor(term.local)):
            if form not in forms:
                forms.append(form)
        products = " = ".join(f"{upstream} · {form}" for form in forms)
        return f"via {self.name(term.consumer)} = {self.definition(term.consumer, self.name)}: ∂{r}/∂{c} · ∂{c}/∂{n} = {products} = {self.number(term.value)}"

    @staticmethod
    def definition(node: Value, show) -> str:  # noqa: ANN001 (show: Value -> str)
        """How ``node`` is computed from its operands, each written by ``show``: ``x * w``, ``sigmoid(s)``;
        an operand that starts with a minus sign is put in parentheses where it stands beside an operator."""
        args = [show(p) for p in node.parents]
        wrapped = [f"({a})" if a.startswith("-") else a for a in args]
        op = node.op
        if op in ("+", "-", "*", "/") and len(args) == 2:
            return f"{wrapped[0]} {op} {wrapped[1]}"
        if op == "pow" and len(args) == 2:
            return f"{wrapped[0]} ** {wrapped[1]}"
        if op.startswith("**") and len(args) == 1:
            return f"{wrapped[0]}{op}"
        if op == "neg" and len(args) == 1:
            return f"-{wrapped[0]}"
        return f"{op}({', '.join(args)})"

    # -- the lines whose text changes ---------------------------------------------------------------------
    def lines(self) -> tuple[list[tuple[str, str]], list[list]]:
        """Each line that changes as the steps go: (shape name, its text in the drawing), and its variants."""
        keys, texts = [], []
        b = self.builder
        for node in self.order:
            if node in b.boxes:
                continue
            unit = b.unit(node)
            if node.parents:
                keys.append((unit, b.data_line(node)))
                texts.append([[0, f"data {UNKNOWN}", True], [self.fwd_step[node], b.data_line(node), False]])
            keys.append((unit, b.grad_line(node)))
            texts.append([[0, f"grad {UNKNOWN}", True], [self.bwd_step[node], b.grad_line(node), False]])
        if b.local_grads:  # a local derivative is computed with the value its operation makes
            for node in self.forward:
                if node in b.boxes:
                    continue
                op = self.op_shape(node)
                for parent, local in dict.fromkeys(zip(node.parents, node.local_grads)):
                    keys.append((f"{b.unit(parent)} {op}", b._number(local)))
                    texts.append([[0, UNKNOWN, True], [self.fwd_step[node], b._number(local), False]])
        for name in b.box_info:
            for node in b.box_outputs_shown(name):
                fwd = self.fwd_step.get(node, 0)
                variants = [[fwd, b.box_line(node, True, False), True], [self.bwd_step[node], b.box_line(node), False]]
                if fwd > 0:
                    variants.insert(0, [0, b.box_line(node, False, False), True])
                keys.append((b.box_ids[name], b.box_line(node)))
                texts.append(variants)
        return keys, texts


def _unique(items: list) -> list:
    return [item for item in dict.fromkeys(items) if item is not None]


def _dots(formula: str) -> str:
    """A formula of ``explain`` with its products written with a centred dot."""
    return formula.replace(" * ", " · ")


def _group(form: str) -> str:
    """Parenthesize a sum or difference, or a negative number, before it is multiplied."""
    if form.startswith("-"):
        return f"({form})"
    depth = 0
    for i, ch in enumerate(form):
        depth += ch in "([" and 1 or (ch in ")]" and -1 or 0)
        if depth == 0 and ch in "+-" and form[i - 1 : i] == " " and form[i + 1 : i + 2] == " ":
            return f"({form})"
    return form


def _caption(head: str, what: str, math: list[str], extra: list[str] = ()) -> str:  # type: ignore[assignment]
    parts = [f'<div class="cr-what">{html.escape(head)} · {what}</div>']
    parts += [f'<div class="cr-math">{line}</div>' for line in math]
    parts += [f'<div class="{"cr-warn" if e.startswith("!") else "cr-note"}">{e}</div>' for e in extra]
    return "".join(parts)

