"""The one place that turns a computation graph into a laid-out picture: ``plan`` and ``Drawing``.

Every picture of a graph reads this module: the static drawing (``autograd.viz.drawing.draw``), the
step-through (``autograd.viz.animation``) and the other pages of ``autograd.viz``. ``plan`` decides
what is drawn (collapsed scopes, checks, the size limit) and builds the Graphviz DOT text with stable
node names; ``Drawing`` lays it out and renders it. This package is the only part of chainrule that
imports ``graphviz``; the engine works without it. The DOT text is built with the ``graphviz`` package
and turned into an image by ``autograd.viz.render``: the system ``dot`` program when it is installed,
otherwise Graphviz compiled to WebAssembly, in-process, so that ``pip install`` alone is enough to see
a graph in Jupyter. PNG is made from the SVG by a rasterizer installed from PyPI (``resvg-py``), so it
needs no system Graphviz either.

How a drawing stays readable at the size of a network:

* the network's inputs (the unscoped inputs that feed scoped nodes) stand on one rank, in the natural
  order of their labels (x1, x2, ..., x10); collapsed boxes that sit side by side in a frame keep the
  natural order of their scopes (L1.n1 above L1.n2 above L1.n10), so two drawings of the same graph
  agree, whatever order the nodes were made in;
* an arrow from one top-level scope into another is at least two ranks long, so that the layers of a
  network follow each other from left to right instead of climbing a staircase;
* frame titles are drawn last, on a white halo, so arrows pass under them;
* in Jupyter a drawing fits the cell's width, with buttons to zoom and a drag to pan
  (``autograd.viz.viewer``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from numbers import Integral
from os import PathLike
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

import graphviz

from . import render as _render
from . import viewer as _viewer
from .._files import atomic_write
from ..check.naming import Names, num
from ..check.staleness import StaleGraph, find_stale_values
from ..engine import Value, describe, topological_order

DEFAULT_MAX_NODES = 1500
QUICK_LAYOUT_COST = 1_200
"""Above this ``layout_cost`` a drawing is laid out quickly: Graphviz's crossing reduction and network
simplex get a small budget (``mclimit``, ``nslimit``), which makes a 100-factor product take under a
second instead of over a minute; arrows may cross more. ``Drawing.layout`` says which was used."""
MAX_LAYOUT_COST = 100_000
"""Above this ``layout_cost`` drawing is refused at once (GraphTooLargeError): even the quick layout
would take many seconds (a 600-factor product, 359,401, took 16 s quick and did not finish in 13
minutes in full)."""
_QUICK_LAYOUT = {"mclimit": "0.1", "nslimit": "1", "nslimit1": "1"}
COLLAPSE_NAMES = {"layer": 1, "neuron": 2}
"""Names for ``collapse`` depths, for scopes named as nn names them: ``"L1.n2"`` is neuron n2 of layer L1."""

# The picture's vocabulary; the legend in ``draw``'s docstring describes these.
FILL = {
    "input": "#cfe2ff",  # light blue
    "parameter": "#ffe08a",  # amber
    "constant": "#eeeeee",  # light grey
    "operation": "#ffffff",  # white
}
ROOT_FILL = "#c3f0c8"  # light green
OP_FILL = "#e8e8e8"
BOX_FILL = "#e6e0f8"  # lavender
FAILED_FILL = "#ffc9c9"
RED = "#c00000"
GREY = "#666666"
UNKNOWN_GREY = "#9a9a9a"
"""The colour of a gradient that no backward pass has computed ("grad ?")."""
UNKNOWN = "?"
"""What a drawing shows in place of a number that is not computed yet: ``grad ?``."""
HAND = "(by hand)"
"""What follows a grad set by hand (``grad_source == "hand"``): ``grad 4 (by hand)``."""
HAND_COLOUR = "#6a1fb0"
"""The colour of a grad set by hand (violet, italic)."""
STALE_COLOUR = "#c2410c"
"""The colour of the out-of-date warning and of the nodes that no longer match their operands (dark orange)."""
FONT = "Helvetica"
_RANKDIRS = ("LR", "TB", "RL", "BT")
_MAX_OUTPUTS_SHOWN = 3
_SVG = "{http://www.w3.org/2000/svg}"
ET.register_namespace("", "http://www.w3.org/2000/svg")
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")


class GraphTooLargeError(ValueError):
    """The graph has more nodes to draw than ``max_nodes``; the message says how to draw less."""


class LayoutTooSlowError(GraphTooLargeError):
    """The graph has few enough shapes, but Graphviz would take too long to lay it out (its
    ``layout_cost`` is above ``MAX_LAYOUT_COST``); the message says how to draw less."""


def grad_computed(node: Value) -> bool:
    """Whether a backward pass has written ``node.grad`` (False: the grad is drawn as "grad ?").

    Reads the engine's ``grad_pass`` (0 until a backward pass reaches the node); an engine without it
    cannot tell, and every grad counts as computed.
    """
    return getattr(node, "grad_pass", None) != 0


def grad_by_hand(node: Value) -> bool:
    """Whether ``node.grad`` was set by hand (``v.grad = ...`` or ``c._backward()``): drawn ``grad 4 (by hand)``."""
    return getattr(node, "grad_source", None) == "hand"


class Drawing:
    """A drawn computation graph: DOT text that renders to SVG, PNG (and pdf, ... with a system Graphviz).

    In Jupyter a Drawing shows itself as HTML: the SVG, fitted to the cell's width, with buttons to
    zoom and a drag to pan. ``.graph`` is the ``graphviz.Digraph``, for anyone who wants to restyle it
    before rendering. Its node names are stable: ``v<i>`` is the value ``topological_order(root)[i]``,
    ``o<i>`` the operation that made it, ``b<j>`` a collapsed scope's box, and scope frames are the
    subgraphs ``cluster_<k>``.

    Attributes:
        graph: the ``graphviz.Digraph`` the drawing is made of.
        node_count: how many shapes are drawn (values, operations and collapsed boxes).
        layout: "full", or "quick" for a graph whose ``layout_cost`` is above ``QUICK_LAYOUT_COST``
            (Graphviz then spends less effort on uncrossing arrows).
    """

    def __init__(self, graph: graphviz.Digraph, node_count: int, layout: str = "full") -> None:
        self.graph = graph
        self.node_count = node_count
        self.layout = layout
        self._svg_cache: tuple[str, str] | None = None  # (source, svg) of the last SVG render

    @property
    def source(self) -> str:
        """The DOT text of the drawing."""
        return self.graph.source

    def render(self, format: str = "svg", renderer: str = "auto") -> bytes:
        """The drawing as an image in ``format``: "svg" and "png" work everywhere; "pdf" and the other
        Graphviz formats need a system Graphviz.

        ``renderer`` is "auto" (system ``dot`` if on PATH, else the built-in WebAssembly Graphviz),
        "system" or "wasm"; it lays the graph out (PNG is then rasterized from the SVG). Raises
        ``autograd.viz.render.RenderError`` if the format cannot be made; the message says what to install.
        """
        if format == "svg":
            return self.svg(renderer).encode("utf-8")
        if format == "png":
            return _render.svg_to_png(self.svg(renderer))
        return _render.render(self.source, format=format, renderer=renderer)

    def svg(self, renderer: str = "auto") -> str:
        """The drawing as SVG text (cached: showing it again does not lay it out again).

        The SVG is Graphviz's, with frame titles moved on top of the arrows and grads not computed
        yet in grey.
        """
        source = self.source
        if self._svg_cache is None or self._svg_cache[0] != source:
            raw = _render.render(source, format="svg", renderer=renderer).decode("utf-8")
            self._svg_cache = (source, finish_svg(raw))
        return self._svg_cache[1]

    def save(self, path: Union[str, PathLike], format: str | None = None, renderer: str = "auto") -> Path:
        """Write the drawing to ``path`` and return the path.

        The format comes from the file's suffix unless ``format`` is given: ``.svg`` and ``.png`` work
        everywhere (PNG at twice the SVG's size, for sharp text), ``.pdf`` and the other Graphviz
        formats need the system ``dot``, ``.dot`` or ``.gv`` writes the DOT text itself. The image is
        made before the file is opened, so a format that cannot be made leaves no file behind, and the
        file is written atomically (``autograd._files.atomic_write``): a failed write (a full disk)
        leaves an existing file as it was.
        """
        path = Path(path)
        format = format_of(path, format)
        content = self.source.encode("utf-8") if format in ("dot", "gv") else self.render(format, renderer)
        return atomic_write(path, content)

    def _repr_html_(self) -> str:
        """Jupyter shows a Drawing as its SVG in a frame that fits the cell (zoom and pan)."""
        return _viewer.frame_html(self.svg())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Every form a notebook keeps: the HTML frame (zoom and pan, for Jupyter), the bare SVG (for
        viewers that drop HTML or scripts: GitHub, nbviewer, VS Code's own frames, exports) and text."""
        svg = self.svg()
        return {"text/html": _viewer.frame_html(svg), "image/svg+xml": svg, "text/plain": repr(self)}

    def __repr__(self) -> str:
        return f"<Drawing of {self.node_count} nodes: .source is the DOT text, .save(path) writes it>"


def format_of(path: Path, format: str | None) -> str:
    """``format`` if given, else the suffix of ``path`` (``.PNG`` -> "png"); a ValueError if there is none."""
    if format is not None:
        return format
    suffix = path.suffix.lower().lstrip(".")
    if not suffix:
        raise ValueError(f"cannot tell the format of {str(path)!r}: give it a suffix such as .svg, or pass format=")
    return suffix


# -- what gets drawn --------------------------------------------------------------------------------
def plan(
    root: Value,
    *,
    local_grads: bool,
    check: Iterable[Any] | None,
    collapse: Union[int, str, None],
    max_nodes: int,
    digits: int,
    rankdir: str,
    caller: str,
    names: dict[Value, str] | None = None,
) -> "_Builder":
    """Check the arguments, size the drawing and build it; the builder knows which shape shows which node.

    ``names`` gives a name to show on a node that has no label (the animation shows ``#i``).
    """
    if not isinstance(root, Value):
        raise TypeError(f"{caller}() needs the Value whose graph to draw, got {type(root).__name__}: {root!r}")
    depth = _collapse_depth(collapse)
    _check_int("max_nodes", max_nodes, 1)
    _check_int("digits", digits, 1, 17)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")

    order = topological_order(root)
    boxes = _box_names(order, depth)
    count = _drawn_count(order, boxes)
    if count > max_nodes:
        raise GraphTooLargeError(_too_large_message(order, count, max_nodes, depth, caller))
    checks = _index_report(check, order) if check is not None else {}
    # The checker's own detection: values changed after the graph was computed (a training step).
    stale = find_stale_values(Names(order, root))
    builder = _Builder(root, order, boxes, checks, local_grads, digits, rankdir, names or {}, stale)
    builder.build()
    cost = layout_cost(count, builder.edges)
    if cost > MAX_LAYOUT_COST:
        raise LayoutTooSlowError(_slow_layout_message(order, count, cost, depth, caller))
    if cost > QUICK_LAYOUT_COST:
        builder.graph.attr(**_QUICK_LAYOUT)
        builder.drawing.layout = "quick"
    return builder


def _slow_layout_message(order: Sequence[Value], count: int, cost: int, depth: int, caller: str) -> str:
    """Why a graph is refused for its layout cost, and how to show less."""
    users: dict[Value, int] = {}
    for node in order:
        for parent in dict.fromkeys(node.parents):
            users[parent] = users.get(parent, 0) + 1
    busiest = max(users, key=users.get) if users else None  # type: ignore[arg-type]
    lines = [
        f"this graph would take Graphviz too long to lay out: {count:,} shapes, but arrows that run past "
        f"many steps (layout cost {cost:,}, more than {MAX_LAYOUT_COST:,}); nothing was drawn. Show less:",
    ]
    if busiest is not None and users[busiest] > 10:
        lines.append(
            f"  * {describe(busiest)} is used by {users[busiest]:,} operations along the graph: a repeated product "
            "x * x * ... * x is x ** n, one node"
        )
    lines.append("  * draw a shorter expression, or an intermediate node's graph instead of the whole")
    if depth == 0 and any(node.scope for node in order):
        lines.append(f"  * collapse scopes into boxes: {caller}(..., collapse=1)")
    elif depth == 0:
        lines.append(f"  * build parts inside autograd.scope(...) blocks and draw with {caller}(..., collapse=1)")
    return "\n".join(lines)


def layout_cost(shapes: int, edges: Iterable[tuple[str, str]]) -> int:
    """An estimate of Graphviz's work to lay out a drawing: its shapes plus the bends of its arrows.

    ``dot`` puts every shape on a rank (its longest path from a source, here in drawn arrows) and
    turns an arrow that spans k ranks into a chain of k - 1 invisible nodes, which the crossing
    reduction and the placement then move one by one (a leaf is put just before its first use, as
    dot's ranking does). A product ``x * x * ... * x`` of n factors has
    only 2n shapes but about n**2 such nodes (x feeds every factor, from rank 0 to rank 2n), which is
    why 100 factors took over a minute to lay out and 600 did not finish.
    """
    rank: dict[str, int] = {}
    into: dict[str, list[str]] = {}
    waiting: dict[str, int] = {}
    for tail, head in edges:
        into.setdefault(tail, []).append(head)
        waiting[head] = waiting.get(head, 0) + 1
        waiting.setdefault(tail, 0)
    sources = [name for name, n in waiting.items() if n == 0]
    ready = list(sources)
    while ready:  # longest path from a source, in topological order of the drawn arrows
        name = ready.pop()
        for head in into.get(name, ()):
            rank[head] = max(rank.get(head, 0), rank.get(name, 0) + 1)
            waiting[head] -= 1
            if waiting[head] == 0:
                ready.append(head)
    for name in sources:  # dot pulls a leaf up to the rank before its first use
        rank[name] = min(rank.get(head, 0) for head in into[name]) - 1
    bends = sum(max(0, rank.get(head, 0) - rank.get(tail, 0) - 1) for tail, head in edges)
    return shapes + bends


def _collapse_depth(collapse: Union[int, str, None]) -> int:
    """``collapse`` as a scope depth (0 = collapse nothing)."""
    if collapse is None:
        return 0
    if isinstance(collapse, str):
        if collapse not in COLLAPSE_NAMES:
            names = ", ".join(repr(n) for n in COLLAPSE_NAMES)
            raise ValueError(f"collapse must be a scope depth (1, 2, ...), {names} or None, got {collapse!r}")
        return COLLAPSE_NAMES[collapse]
    _check_int("collapse", collapse, 1)
    return int(collapse)


def _check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an int {bounds}, got {value!r}")


def _box_names(order: Sequence[Value], depth: int) -> dict[Value, str]:
    """For each node that is collapsed, the scope of its box (its scope cut to ``depth`` parts)."""
    if depth == 0:
        return {}
    cut: dict[str, str | None] = {}  # scope -> its box's scope, or None when it is shallower than depth
    boxes = {}
    for node in order:
        scope = node.scope
        if not scope:
            continue
        if scope not in cut:
            parts = scope.split(".")
            cut[scope] = ".".join(parts[:depth]) if len(parts) >= depth else None
        box = cut[scope]
        if box is not None:
            boxes[node] = box
    return boxes


def _drawn_count(order: Sequence[Value], boxes: dict[Value, str]) -> int:
    """Shapes drawn: a box per collapsed scope; a value per other node, plus an operation if computed."""
    count = len(set(boxes.values()))
    for node in order:
        if node not in boxes:
            count += 2 if node.parents else 1
    return count


def _too_large_message(order: Sequence[Value], count: int, max_nodes: int, depth: int, caller: str = "draw") -> str:
    values = len(order)
    lines = [
        f"this graph has {values:,} values and would draw {count:,} shapes, more than max_nodes={max_nodes:,}; "
        "Graphviz would take a long time and the picture would not be readable. Draw less:",
        "  * draw the loss of one sample (or a small batch) instead of the whole data set",
    ]
    deepest = max((node.scope.count(".") + 1 for node in order if node.scope), default=0)
    if deepest:
        names = {d: n for n, d in COLLAPSE_NAMES.items()}
        options = []
        for d in range(1, deepest + 1):
            if d == depth:
                continue
            shown = f"collapse={d}" + (f" or collapse={names[d]!r}" if d in names else "")
            options.append(f"{shown} draws {_drawn_count(order, _box_names(order, d)):,} shapes")
        if options:
            lines.append("  * collapse scopes (layers, neurons) into one box each: " + "; ".join(options))
    else:
        lines.append("  * build the network's nodes inside autograd.scope(...) blocks, then draw with collapse=1")
    lines.append(f"  * or raise the limit: {caller}(..., max_nodes={count})")
    return "\n".join(lines)


def _index_report(report: Iterable[Any], order: Sequence[Value]) -> dict[Value, list[Any]]:
    """The rows of a gradient-check report, by node; every row must be about a node of this graph."""
    in_graph = set(order)
    try:
        rows = iter(report)
    except TypeError:
        what = type(report).__name__
        raise TypeError(f"check must be a gradient-check report (an iterable of rows), got {what}") from None
    by_node: dict[Value, list[Any]] = {}
    for i, row in enumerate(rows):
        missing = [name for name in ("node", "ok", "analytic", "numeric") if not hasattr(row, name)]
        if missing:
            raise TypeError(
                f"check row {i} ({type(row).__name__}) has no {', '.join(missing)}; "
                "rows of a gradient-check report have .node, .ok, .analytic, .numeric and .status"
            )
        node = row.node
        if node not in in_graph:
            what = describe(node) if isinstance(node, Value) else repr(node)
            raise ValueError(f"check row {i} is about {what}, which is not in the graph being drawn")
        by_node.setdefault(node, []).append(row)
    return by_node


def _failed(rows: Sequence[Any]) -> list[Any]:
    """The rows whose check failed (``ok`` is false)."""
    return [row for row in rows if not row.ok]


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that reads runs of digits as numbers: "L1.n2" < "L1.n10", "x2" < "x10"."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def _top_scope(scope: str) -> str:
    return scope.partition(".")[0]


# -- building the DOT -------------------------------------------------------------------------------
@dataclass
class _BoxInfo:
    """What a collapsed scope's box shows."""

    name: str
    nodes: int = 0
    outputs: list[Value] = field(default_factory=list)
    failed: list[tuple[Value, Any]] = field(default_factory=list)
    has_root: bool = False
    stale: int = 0  # how many of its nodes are out of date
    hand: int = 0  # how many of its nodes hold a grad set by hand


class _Builder:
    """Builds the ``graphviz.Digraph`` for ``draw`` from the already-sized plan.

    After ``build()`` it also tells which drawn shape shows a node (``unit``), which text lines show
    its numbers (``data_line``, ``grad_line``, ``box_line``), and the arrows as (tail, head) pairs:
    what ``autograd.viz.animation`` needs to bring a drawing to life.
    """

    def __init__(
        self,
        root: Value,
        order: Sequence[Value],
        boxes: dict[Value, str],
        checks: dict[Value, list[Any]],
        local_grads: bool,
        digits: int,
        rankdir: str,
        names: dict[Value, str],
        stale: StaleGraph | None = None,
    ) -> None:
        self.root = root
        self.stale = stale
        # what each out-of-date node's op gives now, from its operands' current values
        self.now: dict[Value, str] = {}
        if stale is not None:
            for node in stale.nodes:
                self.now[node] = _value_now(node)
        self.order = order
        self.boxes = boxes
        self.checks = checks
        self.local_grads = local_grads
        self.digits = digits
        self.rankdir = rankdir
        self.names = names
        self.ids = {node: i for i, node in enumerate(order)}
        # Record fields stack top to bottom when the graph runs left to right; braces turn them.
        self.vertical_fields = rankdir in ("LR", "RL")
        self.graph = graphviz.Digraph(
            name="computation",
            graph_attr={"rankdir": rankdir, "fontname": FONT, "nodesep": "0.25", "ranksep": "0.35"},
            node_attr={"fontname": FONT, "fontsize": "11"},
            edge_attr={"fontname": FONT, "fontsize": "9", "arrowsize": "0.7"},
        )
        self.clusters: dict[str, graphviz.Digraph] = {}  # scope -> its frame
        self.box_ids: dict[str, str] = {}  # collapsed scope -> its box's DOT name
        self.box_info: dict[str, _BoxInfo] = {}
        self.edges: list[tuple[str, str]] = []  # every arrow drawn, (tail, head), once per pair
        self.drawing = Drawing(self.graph, 0)

    def build(self) -> graphviz.Digraph:
        self.box_info = self._box_info()
        self.box_ids = {name: f"b{i}" for i, name in enumerate(sorted(self.box_info, key=natural_key))}
        for node in self.order:
            if node in self.boxes:
                continue
            place = self._frame(node.scope)
            i = self.ids[node]
            place.node(f"v{i}", graphviz.nohtml(self._value_label(node)), _attributes=self._value_style(node))
            if node.parents:
                place.node(
                    f"o{i}",
                    graphviz.nohtml(_escape(node.op)),
                    _attributes={
                        "shape": "ellipse",
                        "style": "filled",
                        "fillcolor": OP_FILL,
                        "fontsize": "10",
                        "margin": "0.02",
                        "height": "0.3",
                        "class": "op",
                        "tooltip": _escape(f"op {node.op!r} making {describe(node)}"),
                    },
                )
        for name in sorted(self.box_info, key=natural_key):
            info = self.box_info[name]
            parent_scope = name.rpartition(".")[0]
            label = graphviz.nohtml(self._box_label(info))
            self._frame(parent_scope).node(self.box_ids[name], label, _attributes=self._box_style(info))
        self._keep_order()
        self._close_frames()
        self._edges()
        if self.stale is not None:
            self._stale_banner()
        self.drawing.node_count = _drawn_count(self.order, self.boxes)
        return self.graph

    def _stale_banner(self) -> None:
        """The warning over a graph whose values no longer follow from each other (set last, so that no
        frame inherits it as its title)."""
        n = len(self.stale.nodes)
        these = f"The {n} nodes marked 'out of date' no longer match their" if n != 1 else (
            "The node marked 'out of date' no longer matches its")
        lines = [
            "OUT OF DATE: values were changed after this graph was computed (as a training step does), so the",
            "numbers drawn no longer follow from each other, and the grads belong to the old values.",
            f"{these} operands' values. To draw true numbers:",
            "autograd.replay(root), then autograd.zero_grad(root); root.backward().",
        ]
        label = "".join(_escape(line) + "\\l" for line in lines)  # \l: a left-aligned line
        self.graph.attr(label=graphviz.nohtml(label), labelloc="t", labeljust="l", fontcolor=STALE_COLOUR,
                        fontsize="12")  # fmt: skip

    def unit(self, node: Value) -> str:
        """The drawn shape a node's value is shown in: its own value node or its scope's box."""
        box = self.boxes.get(node)
        return self.box_ids[box] if box is not None else f"v{self.ids[node]}"

    @property
    def grad_label(self) -> str:
        """How a local derivative sits on its arrow: always a "label", for which Graphviz makes room
        in the layout (it doubles the ranks, so a network's drawing is wider). An "xlabel" is placed
        after the layout, where it lands on boxes and other labels: in the iris network 57 of 248
        sat on a box (``0.4203`` beside ``data 2.379`` read as one number)."""
        return "label"

    def _edges(self) -> None:
        into_boxes: dict[tuple[str, str], int] = {}  # (tail, box) -> how many arrows it stands for
        drawn: dict[tuple[str, str], None] = {}
        for node in self.order:
            if not node.parents:
                continue
            box = self.boxes.get(node)
            i = self.ids[node]
            for parent, local in zip(node.parents, node.local_grads):
                tail = self.unit(parent)
                if box is not None:
                    if self.boxes.get(parent) != box:
                        key = (tail, self.box_ids[box])
                        into_boxes[key] = into_boxes.get(key, 0) + 1
                    continue
                attributes = self._stretch(parent, node)
                if self.local_grads:
                    attributes["fontcolor"] = GREY
                    attributes[self.grad_label] = self._number(local)
                self.graph.edge(tail, f"o{i}", _attributes=attributes)
                drawn[(tail, f"o{i}")] = None
            if box is None:
                self.graph.edge(f"o{i}", f"v{i}")
                drawn[(f"o{i}", f"v{i}")] = None
        for (tail, head), n in into_boxes.items():
            self.graph.edge(tail, head, label=f"×{n}" if n > 1 else None, _attributes={"fontcolor": GREY})
            drawn[(tail, head)] = None
        self.edges = list(drawn)

    @staticmethod
    def _stretch(parent: Value, node: Value) -> dict[str, str]:
        """An arrow from one top-level scope into an operation of another spans two ranks, so that the
        head's scope starts right of the whole tail scope, with room for its own leaves (the weights of
        the next layer): the layers of a network then follow each other instead of forming a staircase.
        (Arrows into collapsed boxes need no room: stretching them only sends them on detours.)"""
        tail, head = _top_scope(parent.scope), _top_scope(node.scope)
        return {"minlen": "2"} if tail and head and tail != head else {}

    # keeping the order of inputs and of sibling boxes
    def _keep_order(self) -> None:
        """Chain, with invisible arrows in ``rank=same`` groups, what must stand in a fixed order.

        * The network's inputs (unscoped input leaves that feed scoped nodes), in label order.
        * Sibling collapsed boxes (same frame) at the same depth in the graph, in scope order (boxes at
          different depths depend on one another and are not chained).
        """
        groups: list[tuple[str, list[str]]] = []  # (scope of the frame, chained DOT names in order)
        feeds_a_scope = {parent for node in self.order if node.scope for parent in node.parents}
        inputs = [
            node
            for node in self.order
            if node.role == "input" and not node.scope and node not in self.boxes and node in feeds_a_scope
        ]
        if len(inputs) > 1:
            labelled = sorted((n for n in inputs if n.label), key=lambda n: natural_key(n.label))
            groups.append(("", [self.unit(n) for n in labelled + [n for n in inputs if not n.label]]))
        depth = self._depths()
        siblings: dict[tuple[str, int], list[str]] = {}
        for name in sorted(self.box_info, key=natural_key):
            box_id = self.box_ids[name]
            siblings.setdefault((name.rpartition(".")[0], depth[box_id]), []).append(box_id)
        groups += [(scope, ids) for (scope, _), ids in siblings.items() if len(ids) > 1]
        if not groups:
            return
        self.graph.attr(remincross="false")  # the final pass of crossing reduction breaks the chains
        top_first, framed_top_first = _flat_edge_direction(self.rankdir)
        for scope, names in groups:
            if (framed_top_first if scope else top_first) is False:
                names = names[::-1]
            with self._frame(scope).subgraph() as same:
                same.attr(rank="same")
                same.edge_attr.update(style="invis")
                same.edges(list(zip(names, names[1:])))


    def _depths(self) -> dict[str, int]:
        """The longest path (in drawn arrows) from a source to each drawn shape."""
        depth: dict[str, int] = {}
        for node in self.order:
            unit = self.unit(node)
            d = depth.get(unit, 0)
            for parent in node.parents:
                tail = self.unit(parent)
                if tail != unit:
                    d = max(d, depth.get(tail, 0) + (1 if unit.startswith("b") else 2))
            depth[unit] = d
        return depth

    # frames (graphviz clusters), one per scope that holds a drawn node or box
    def _frame(self, scope: str) -> graphviz.Digraph:
        """The frame of ``scope`` (made on first use, with the frames of the scopes around it)."""
        if not scope:
            return self.graph
        if scope not in self.clusters:
            parts = scope.split(".")
            for n in range(1, len(parts) + 1):
                self._new_frame(".".join(parts[:n]))
        return self.clusters[scope]

    def _new_frame(self, scope: str) -> None:
        if scope not in self.clusters:
            self.clusters[scope] = graphviz.Digraph(
                name=f"cluster_{len(self.clusters)}",
                graph_attr={
                    "label": graphviz.nohtml(_escape(scope)),
                    "style": "dashed,rounded",
                    "color": "#888888",
                    "fontcolor": "#555555",
                    "fontsize": "10",
                    "labeljust": "l",
                },
            )

    def _close_frames(self) -> None:
        """Put each frame into its enclosing one, innermost first (``subgraph`` copies what is there);
        siblings go in the natural order of their names, which is where Graphviz starts its layout."""
        for scope in sorted(self.clusters, key=lambda s: (-s.count("."), natural_key(s))):
            parent = scope.rpartition(".")[0]
            (self.clusters[parent] if parent else self.graph).subgraph(self.clusters[scope])

    # values
    def _number(self, x: float) -> str:
        return f"{x + 0.0:.{self.digits}g}"  # + 0.0 turns -0.0 into 0.0

    def data_line(self, node: Value) -> str:
        return f"data {self._number(node.data)}"

    def grad_line(self, node: Value) -> str:
        if grad_by_hand(node):
            return f"grad {self._number(node.grad)} {HAND}"
        return f"grad {self._number(node.grad)}" if grad_computed(node) else f"grad {UNKNOWN}"

    def box_line(self, node: Value, data: bool = True, grad: bool = True) -> str:
        """The line of a box's output: ``L1.n1.a: data 0.232, grad 0.07779`` (``?`` for what is hidden,
        ``grad 4 (by hand)`` for a grad set by hand)."""
        shown_data = self._number(node.data) if data else UNKNOWN
        shown_grad = self._number(node.grad) if grad and grad_computed(node) else UNKNOWN
        if grad and grad_by_hand(node):
            shown_grad += f" {HAND}"
        return f"{self.name(node)}: data {shown_data}, grad {shown_grad}"

    def name(self, node: Value) -> str:
        """What a node is called in a box: its label, else its given name, else its op, else its role."""
        return node.label or self.names.get(node) or node.op or node.role

    def _value_label(self, node: Value) -> str:
        """A record label: one field per line (label, data, grad, check results)."""
        fields = []
        title = node.label or self.names.get(node)
        if title:
            fields.append(title)
        fields.append(self.data_line(node))
        fields.append(self.grad_line(node))
        for row in self.checks.get(node, ()):
            fields.extend(self._check_lines(row))
        if node in self.now:
            fields.append(f"out of date: {self.now[node]}")
        text = "|".join(_record_field(f) for f in fields)
        return text if self.vertical_fields else "{" + text + "}"

    def _check_lines(self, row: Any) -> list[str]:
        status = str(getattr(row, "status", ""))
        if getattr(row, "kind", "") == "grade":  # your hand-set grad against the true one
            if status == "unanswered":
                return []
            return ["right"] if row.ok else ["WRONG", f"true {self._any(row.numeric)}"]
        if getattr(row, "kind", "") == "compare_torch":  # our value and grad against torch's replay
            if row.ok:
                return [f"torch: {status}"]
            return ["DIFFERS FROM TORCH", f"torch data {self._any(row.reference_value)}", f"torch grad {self._any(row.numeric)}"]
        if not row.ok:
            why = f" ({status})" if status not in ("", "fail") else ""
            return [f"CHECK FAILED{why}", f"analytic {self._any(row.analytic)}", f"numeric {self._any(row.numeric)}"]
        if status in ("", "ok"):
            return ["check ok"]
        return [f"check: {status}"]

    def _any(self, x: object) -> str:
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            return self._number(float(x))
        return str(x)

    def _value_style(self, node: Value) -> dict[str, str]:
        role = node.role
        classes = [role]
        tooltip = describe(node)
        if grad_by_hand(node):
            tooltip += "; grad set by hand (grad_source 'hand'), not by a backward pass"
        elif not grad_computed(node):
            tooltip += "; grad not computed yet: no backward pass has reached this node"
        if node in self.now:
            tooltip += f"; OUT OF DATE: {self.now[node]}"
        style = {
            "shape": "Mrecord",
            "style": "filled,dashed" if role == "constant" else "filled",
            "fillcolor": FILL.get(role, "#ffffff"),
            "tooltip": _escape(tooltip),
        }
        if node is self.root:
            classes.append("root")
            style.update(fillcolor=ROOT_FILL, penwidth="3")
        if _failed(self.checks.get(node, ())):
            classes.append("failed")
            style.update(fillcolor=FAILED_FILL, color=RED, fontcolor=RED, penwidth="2.5")
        if node in self.now:
            classes.append("stale")
            style.update(color=STALE_COLOUR, penwidth="2.5", style=style["style"] + ",dashed")
        style["class"] = " ".join(classes)
        return style

    # collapsed scopes
    def _box_info(self) -> dict[str, _BoxInfo]:
        info: dict[str, _BoxInfo] = {}
        handed_out: set[Value] = set()
        for node in self.order:
            box = self.boxes.get(node)
            if box is not None:
                entry = info.setdefault(box, _BoxInfo(box))
                entry.nodes += 1
                for row in _failed(self.checks.get(node, ())):
                    entry.failed.append((node, row))
                if node is self.root:
                    entry.has_root = True
                    handed_out.add(node)
                if node in self.now:
                    entry.stale += 1
                if grad_by_hand(node):
                    entry.hand += 1
            for parent in node.parents:
                if parent in self.boxes and self.boxes[parent] != box:
                    handed_out.add(parent)
        outputs = [node for node in self.order if node in handed_out]
        for node in sorted(outputs, key=lambda n: natural_key(n.label) if n.label else ("~",)):
            info[self.boxes[node]].outputs.append(node)  # labelled outputs first, in label order
        return info

    def box_outputs_shown(self, name: str) -> list[Value]:
        """The outputs whose line a collapsed box shows."""
        return self.box_info[name].outputs[:_MAX_OUTPUTS_SHOWN]

    def _box_label(self, info: _BoxInfo) -> str:
        lines = [info.name, f"{info.nodes} nodes"]
        for node in info.outputs[:_MAX_OUTPUTS_SHOWN]:
            lines.append(self.box_line(node))
        if len(info.outputs) > _MAX_OUTPUTS_SHOWN:
            lines.append(f"(+{len(info.outputs) - _MAX_OUTPUTS_SHOWN} more outputs)")
        if info.hand:
            lines.append(f"{info.hand} grad{'s' if info.hand != 1 else ''} set {HAND}")
        if info.stale:
            lines.append(f"{info.stale} node{'s' if info.stale != 1 else ''} out of date")
        if info.failed:
            lines.append(f"{len(info.failed)} FAILED CHECK{'S' if len(info.failed) != 1 else ''}")
            for node, row in info.failed[:_MAX_OUTPUTS_SHOWN]:
                lines.append(f"{_name(node)}: analytic {self._any(row.analytic)}, numeric {self._any(row.numeric)}")
        return "\\n".join(_escape(line) for line in lines)

    def _box_style(self, info: _BoxInfo) -> dict[str, str]:
        classes = ["box"]
        style = {
            "shape": "box3d",
            "style": "filled",
            "fillcolor": BOX_FILL,
            "margin": "0.15,0.06",
            "tooltip": _escape(f"scope {info.name}: {info.nodes} nodes"),
        }
        if info.has_root:
            classes.append("root")
            style.update(penwidth="3")
        if info.failed:
            classes.append("failed")
            style.update(fillcolor=FAILED_FILL, color=RED, fontcolor=RED, penwidth="2.5")
        if info.stale:
            classes.append("stale")
            style.update(color=STALE_COLOUR, penwidth="2.5", style="filled,dashed")
        style["class"] = " ".join(classes)
        return style


def _value_now(node: Value) -> str:
    """What an out-of-date node's op gives from its operands' current values: ``now -5``, or why it fails."""
    from ..engine import recompute

    try:
        value, _ = recompute(node, [p.data for p in node.parents])
    except (ArithmeticError, ValueError):
        return "its op fails at its operands' values now"
    return f"now {num(value, 4)}"


def _name(node: Value) -> str:
    """What a node is called in a box: its label, else its op, else its role."""
    return node.label or node.op or node.role


def _escape(text: str) -> str:
    """``text`` for a DOT label or tooltip, which reads backslashes as escapes (``\\n``, ``\\N``, ...)."""
    return text.replace("\\", "\\\\")


def _record_field(text: str) -> str:
    """``text`` as one field of a record label, where ``{ } | < >`` are structure unless escaped."""
    text = _escape(text)
    for char in "{}|<>":
        text = text.replace(char, "\\" + char)
    return text


# -- Graphviz's direction of invisible ordering arrows ------------------------------------------------
_PROBE = """digraph probe {{
  rankdir={rankdir} remincross=false
  s -> p; s -> q; s -> r; s -> t
  {{rank=same; p -> q [style=invis]}}
  subgraph cluster_frame {{ {{rank=same; r -> t [style=invis]}} }}
}}"""


def _flat_edge_direction(rankdir: str) -> tuple[bool | None, bool | None]:
    """See ``_probe_direction``; asked again when the Graphviz in use changes (a ``dot`` comes on PATH)."""
    return _probe_direction(rankdir, _render.find_dot())


@lru_cache(maxsize=None)
def _probe_direction(rankdir: str, dot: str | None) -> tuple[bool | None, bool | None]:
    """Whether an invisible arrow a -> b in a ``rank=same`` group puts a first (on top for LR, on the
    left for TB), outside and inside a frame; None when Graphviz could not be asked.

    Graphviz turns the order of such arrows around inside frames when the graph runs left to right
    (and its versions need not agree), so a tiny graph is laid out once per process to find out.
    """
    try:
        svg = _render.render(_PROBE.format(rankdir=rankdir)).decode("utf-8")
    except _render.RenderError:
        return None, None
    where = {}
    for text in ET.fromstring(svg).iter(f"{_SVG}text"):
        where[text.text] = (float(text.get("x", 0)), float(text.get("y", 0)))
    axis = 1 if rankdir in ("LR", "RL") else 0
    if not {"p", "q", "r", "t"} <= set(where):
        return None, None
    return where["p"][axis] < where["q"][axis], where["r"][axis] < where["t"][axis]


# -- finishing Graphviz's SVG --------------------------------------------------------------------------
def finish_svg(svg: str) -> str:
    """Graphviz's SVG made easier to read and to script.

    * Frame titles are moved after everything else, on a white halo, so no arrow covers them.
    * A ``grad ?`` line is grey and italic; a ``grad 4 (by hand)`` line violet and italic.
    * Every node and arrow group gets ``data-name`` (its DOT name, ``v3``, ``o3``, ``b0``) or
      ``data-edge`` ("tail head"), which the animation uses to find it.
    """
    root = ET.fromstring(svg)
    graph = root.find(f"{_SVG}g")
    if graph is None:
        return svg
    titles = []
    for group in graph.iter(f"{_SVG}g"):
        kind = group.get("class", "").split()[:1]
        title = group.find(f"{_SVG}title")
        name = title.text if title is not None and title.text else ""
        if kind == ["cluster"]:
            for text in group.findall(f"{_SVG}text"):
                group.remove(text)
                titles.append(text)
        elif kind == ["node"]:
            group.set("data-name", name)
        elif kind == ["edge"]:
            group.set("data-edge", name.replace("->", " "))
    for text in graph.iter(f"{_SVG}text"):
        if text.get("data-k") is not None:
            continue  # a line of a step-through: each step says whether it is computed yet
        if (text.text or "").endswith(f" {UNKNOWN}") or f" {UNKNOWN}," in (text.text or ""):
            mark_unknown(text)
        elif (text.text or "").endswith(HAND):
            mark_hand(text)
    if titles:
        layer = ET.SubElement(graph, f"{_SVG}g", {"class": "frame-titles"})
        for text in titles:
            text.set("stroke", "white")
            text.set("stroke-width", "4")
            text.set("stroke-linejoin", "round")
            text.set("paint-order", "stroke")
            layer.append(text)
    head, _, _ = svg.partition("<svg")
    return head + ET.tostring(root, encoding="unicode")


def mark_hand(text: ET.Element) -> None:
    """Draw a text line that holds a grad set by hand in violet italics."""
    text.set("fill", HAND_COLOUR)
    text.set("font-style", "italic")


def mark_unknown(text: ET.Element) -> None:
    """Draw a text line that holds a number not computed yet in grey italics."""
    text.set("fill", UNKNOWN_GREY)
    text.set("font-style", "italic")


