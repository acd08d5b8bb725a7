"""Draw a computation graph with every node's value and gradient: ``draw(root)``.

This is the only module of chainrule that imports ``graphviz``; the engine works without it. The
DOT text is built with the ``graphviz`` package and turned into an image by ``autograd.render``: the
system ``dot`` program when it is installed, otherwise Graphviz compiled to WebAssembly, in-process,
so that ``pip install`` alone is enough to see a graph in Jupyter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral
from os import PathLike
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

import graphviz

from . import render as _render
from .engine import Value, describe, topological_order

DEFAULT_MAX_NODES = 1500
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
FONT = "Helvetica"
_RANKDIRS = ("LR", "TB", "RL", "BT")
_MAX_OUTPUTS_SHOWN = 3


class GraphTooLargeError(ValueError):
    """The graph has more nodes to draw than ``max_nodes``; the message says how to draw less."""


class Drawing:
    """A drawn computation graph: DOT text that renders to SVG (or png, pdf, ... with a system Graphviz).

    In Jupyter a Drawing shows itself as SVG. ``.graph`` is the ``graphviz.Digraph``, for anyone who
    wants to restyle it before rendering. Its node names are stable: ``v<i>`` is the value
    ``topological_order(root)[i]``, ``o<i>`` the operation that made it, ``b<j>`` a collapsed scope's
    box, and scope frames are the subgraphs ``cluster_<k>``.

    Attributes:
        graph: the ``graphviz.Digraph`` the drawing is made of.
        node_count: how many shapes are drawn (values, operations and collapsed boxes).
    """

    def __init__(self, graph: graphviz.Digraph, node_count: int) -> None:
        self.graph = graph
        self.node_count = node_count
        self._svg_cache: tuple[str, str] | None = None  # (source, svg) of the last SVG render

    @property
    def source(self) -> str:
        """The DOT text of the drawing."""
        return self.graph.source

    def render(self, format: str = "svg", renderer: str = "auto") -> bytes:
        """The drawing as an image in ``format`` ("svg"; "png", "pdf", ... need a system Graphviz).

        ``renderer`` is "auto" (system ``dot`` if on PATH, else the built-in WebAssembly Graphviz),
        "system" or "wasm". Raises ``autograd.render.RenderError`` if the format cannot be made; the
        message says what to install.
        """
        return _render.render(self.source, format=format, renderer=renderer)

    def svg(self, renderer: str = "auto") -> str:
        """The drawing as SVG text (cached: showing it again does not lay it out again)."""
        source = self.source
        if self._svg_cache is None or self._svg_cache[0] != source:
            self._svg_cache = (source, self.render("svg", renderer).decode("utf-8"))
        return self._svg_cache[1]

    def save(self, path: Union[str, PathLike], format: str | None = None, renderer: str = "auto") -> Path:
        """Write the drawing to ``path`` and return the path.

        The format comes from the file's suffix unless ``format`` is given: ``.svg`` works everywhere,
        ``.png``, ``.pdf`` and the other Graphviz formats need the system ``dot``; ``.dot`` or ``.gv``
        writes the DOT text itself. The image is made before the file is opened, so a format that
        cannot be made leaves no file behind.
        """
        path = Path(path)
        if format is None:
            format = path.suffix.lower().lstrip(".")
            if not format:
                raise ValueError(
                    f"cannot tell the format of {str(path)!r}: give it a suffix such as .svg, or pass format="
                )
        if format in ("dot", "gv"):
            content = self.source.encode("utf-8")
        elif format == "svg":
            content = self.svg(renderer).encode("utf-8")
        else:
            content = self.render(format, renderer)
        path.write_bytes(content)
        return path

    def _repr_svg_(self) -> str:
        """Jupyter shows a Drawing as SVG."""
        return self.svg()

    def __repr__(self) -> str:
        return f"<Drawing of {self.node_count} nodes: .source is the DOT text, .save(path) writes it>"


def draw(
    root: Value,
    *,
    local_grads: bool = False,
    check: Iterable[Any] | None = None,
    collapse: Union[int, str, None] = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    digits: int = 4,
    rankdir: str = "LR",
) -> Drawing:
    """Draw the computation graph of ``root`` with each node's data and gradient.

    Run ``root.backward()`` first to see gradients (before it they are all 0). Drawing reads the
    graph and changes nothing in it.

    Legend:
        * Every value is a rounded box with one line per field: its label (if it has one), ``data``
          and ``grad``, the numbers with ``digits`` significant digits (1e-05 stays 1e-05).
        * Fill colour tells the kind of value: light blue = input (``Value``), amber = parameter
          (``Parameter``), light grey with a dashed border = constant (a plain number in the
          expression, such as the 2 in ``x * 2`` or the -1 of ``a - b``), white = intermediate
          (computed) value.
        * The root (the node passed to ``draw``, whose grad is 1) is light green with a thick border.
        * Each operation is a small grey ellipse naming the primitive ("+", "*", "**2", "exp",
          "tanh", ...); arrows run from its operands into it and from it to the value it makes. An
          operand used twice (``x * x``) has two arrows.
        * ``local_grads=True`` writes on each operand's arrow the local derivative of the operation
          with respect to that operand, the factor the chain rule multiplies by: an input's grad is
          the sum, over its arrows, of that number times the grad of the value the operation makes.
        * Nodes made inside ``autograd.scope`` blocks (nn's layers and neurons) are grouped in
          dashed frames named by the scope; nested scopes nest. ``collapse`` turns each scope at a
          depth into one lavender 3-D box showing the scope's name, its node count and the values
          it hands out of the scope; an arrow into a box stands for all the arrows from that tail
          into the box's nodes ("×n" counts them when n > 1).
        * With ``check=report`` a node whose gradient check failed is red (fill, border and text),
          with the lines "CHECK FAILED", "analytic ..." and "numeric ..."; a passed check adds the
          line "check ok", any other status "check: <status>". A collapsed box with failures inside
          turns red and lists them.

    In SVG every node also has a tooltip naming it, and CSS classes: its role ("input",
    "parameter", "constant", "operation"), plus "root", "failed", "op" or "box" where they apply.

    Args:
        root: the output node; every node it depends on is drawn.
        local_grads: label operand arrows with the local derivatives (``node.local_grads``).
        check: a gradient-check report, ``autograd.check.gradcheck(...)``: rows with ``.node``,
            ``.analytic``, ``.numeric``, ``.ok`` and ``.status``. Every row's node must be in the graph.
        collapse: draw every scope at this depth as one box: 1 or "layer" for scopes like "L1",
            2 or "neuron" for "L1.n2" (the names follow nn's scope naming). None draws every node.
        max_nodes: refuse (GraphTooLargeError) to draw more shapes than this; the message says how
            to draw less. Layout time grows quickly with size, and the picture stops being readable.
        digits: significant digits of the numbers (1 to 17).
        rankdir: "LR" (inputs on the left, the default), "TB", "RL" or "BT".

    Returns:
        a ``Drawing``: ``.source`` is the DOT text, ``.save("graph.svg")`` writes it, and in Jupyter
        it shows itself.

    Raises:
        GraphTooLargeError: too many nodes to draw (nothing is built; a 100,000-node graph is
            refused at once).
        TypeError, ValueError: a bad argument, named in the message.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw() needs the Value whose graph to draw, got {type(root).__name__}: {root!r}")
    depth = _collapse_depth(collapse)
    _check_int("max_nodes", max_nodes, 1)
    _check_int("digits", digits, 1, 17)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")

    order = topological_order(root)
    boxes = _box_names(order, depth)
    count = _drawn_count(order, boxes)
    if count > max_nodes:
        raise GraphTooLargeError(_too_large_message(order, count, max_nodes, depth))
    checks = _index_report(check, order) if check is not None else {}
    builder = _Builder(root, order, boxes, checks, local_grads, digits, rankdir)
    return Drawing(builder.build(), count)


# -- what gets drawn --------------------------------------------------------------------------------
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


def _too_large_message(order: Sequence[Value], count: int, max_nodes: int, depth: int) -> str:
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
    lines.append(f"  * or raise the limit: draw(..., max_nodes={count})")
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


# -- building the DOT -------------------------------------------------------------------------------
@dataclass
class _BoxInfo:
    """What a collapsed scope's box shows."""

    name: str
    nodes: int = 0
    outputs: list[Value] = field(default_factory=list)
    failed: list[tuple[Value, Any]] = field(default_factory=list)
    has_root: bool = False


class _Builder:
    """Builds the ``graphviz.Digraph`` for ``draw`` from the already-sized plan."""

    def __init__(
        self,
        root: Value,
        order: Sequence[Value],
        boxes: dict[Value, str],
        checks: dict[Value, list[Any]],
        local_grads: bool,
        digits: int,
        rankdir: str,
    ) -> None:
        self.root = root
        self.order = order
        self.boxes = boxes
        self.checks = checks
        self.local_grads = local_grads
        self.digits = digits
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

    def build(self) -> graphviz.Digraph:
        box_info = self._box_info()
        box_ids = {name: f"b{i}" for i, name in enumerate(box_info)}
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
        for name, info in box_info.items():
            parent_scope = name.rpartition(".")[0]
            label = graphviz.nohtml(self._box_label(info))
            self._frame(parent_scope).node(box_ids[name], label, _attributes=self._box_style(info))
        self._close_frames()
        self._edges(box_ids)
        return self.graph

    def _unit(self, node: Value, box_ids: dict[str, str]) -> str:
        """The drawn shape a node's value is shown in: its own value node or its scope's box."""
        box = self.boxes.get(node)
        return box_ids[box] if box is not None else f"v{self.ids[node]}"

    def _edges(self, box_ids: dict[str, str]) -> None:
        into_boxes: dict[tuple[str, str], int] = {}  # (tail, box) -> how many arrows it stands for
        for node in self.order:
            if not node.parents:
                continue
            box = self.boxes.get(node)
            i = self.ids[node]
            for parent, local in zip(node.parents, node.local_grads):
                tail = self._unit(parent, box_ids)
                if box is not None:
                    if self.boxes.get(parent) != box:
                        key = (tail, box_ids[box])
                        into_boxes[key] = into_boxes.get(key, 0) + 1
                elif self.local_grads:
                    self.graph.edge(tail, f"o{i}", label=self._number(local), _attributes={"fontcolor": GREY})
                else:
                    self.graph.edge(tail, f"o{i}")
            if box is None:
                self.graph.edge(f"o{i}", f"v{i}")
        for (tail, head), n in into_boxes.items():
            self.graph.edge(tail, head, label=f"×{n}" if n > 1 else None, _attributes={"fontcolor": GREY})

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
        """Put each frame into its enclosing one, innermost first (``subgraph`` copies what is there)."""
        for scope in sorted(self.clusters, key=lambda s: s.count("."), reverse=True):
            parent = scope.rpartition(".")[0]
            (self.clusters[parent] if parent else self.graph).subgraph(self.clusters[scope])

    # values
    def _number(self, x: float) -> str:
        return f"{x + 0.0:.{self.digits}g}"  # + 0.0 turns -0.0 into 0.0

    def _value_label(self, node: Value) -> str:
        """A record label: one field per line (label, data, grad, check results)."""
        fields = []
        if node.label:
            fields.append(node.label)
        fields.append(f"data {self._number(node.data)}")
        fields.append(f"grad {self._number(node.grad)}")
        for row in self.checks.get(node, ()):
            fields.extend(self._check_lines(row))
        text = "|".join(_record_field(f) for f in fields)
        return text if self.vertical_fields else "{" + text + "}"

    def _check_lines(self, row: Any) -> list[str]:
        status = str(getattr(row, "status", ""))
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
        style = {
            "shape": "Mrecord",
            "style": "filled,dashed" if role == "constant" else "filled",
            "fillcolor": FILL.get(role, "#ffffff"),
            "tooltip": _escape(describe(node)),
        }
        if node is self.root:
            classes.append("root")
            style.update(fillcolor=ROOT_FILL, penwidth="3")
        if _failed(self.checks.get(node, ())):
            classes.append("failed")
            style.update(fillcolor=FAILED_FILL, color=RED, fontcolor=RED, penwidth="2.5")
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
            for parent in node.parents:
                if parent in self.boxes and self.boxes[parent] != box:
                    handed_out.add(parent)
        for node in self.order:  # outputs in creation order
            if node in handed_out:
                info[self.boxes[node]].outputs.append(node)
        return info

    def _box_label(self, info: _BoxInfo) -> str:
        lines = [info.name, f"{info.nodes} nodes"]
        for node in info.outputs[:_MAX_OUTPUTS_SHOWN]:
            lines.append(f"{_name(node)}: data {self._number(node.data)}, grad {self._number(node.grad)}")
        if len(info.outputs) > _MAX_OUTPUTS_SHOWN:
            lines.append(f"(+{len(info.outputs) - _MAX_OUTPUTS_SHOWN} more outputs)")
        if info.failed:
            lines.append(f"{len(info.failed)} FAILED CHECKS")
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
        style["class"] = " ".join(classes)
        return style


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
