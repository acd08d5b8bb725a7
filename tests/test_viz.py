"""Tests of ``autograd.viz.draw`` and ``autograd.viz.render``: the DOT structure, the numbers it shows,
clusters and collapsed boxes, the size limit, gradient-check highlighting, and SVG made without a
system Graphviz (the in-process WebAssembly build)."""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autograd import Constant, Parameter, Value, scope, topological_order
from autograd.viz import render as render_module
from autograd.viz.render import RenderError
from autograd.viz import BOX_FILL, FAILED_FILL, FILL, RED, ROOT_FILL, Drawing, GraphTooLargeError, draw


# -- reading the DOT back ------------------------------------------------------------------------------
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')


@dataclass
class Edge:
    tail: str
    head: str
    attrs: dict[str, str]


def _attrs(text: str) -> dict[str, str]:
    out = {}
    for key, value in _ATTR.findall(text):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        out[key] = value
    return out


def parse_dot(source: str) -> tuple[dict[str, dict[str, Any]], list[Edge], dict[str, str | None]]:
    """(nodes by name with their attributes and enclosing frame labels, edges, frame label -> parent label)."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[Edge] = []
    frames: dict[str, str | None] = {}
    stack: list[str | None] = []
    for raw in source.splitlines():
        line = raw.strip()
        if line.startswith("subgraph "):
            stack.append(None)
        elif line == "}":
            if stack:
                stack.pop()
        elif line.startswith("graph ["):
            if stack:
                stack[-1] = _attrs(line)["label"]
                frames[stack[-1]] = stack[-2] if len(stack) > 1 else None
        elif m := re.fullmatch(r"(\w+) -> (\w+)(?: \[(.*)\])?", line):
            edges.append(Edge(m[1], m[2], _attrs(m[3] or "")))
        elif (m := re.fullmatch(r"(\w+) \[(.*)\]", line)) and m[1] not in ("node", "edge"):
            attrs: dict[str, Any] = _attrs(m[2])
            attrs["frames"] = tuple(stack)
            nodes[m[1]] = attrs
    return nodes, edges, frames


def fields(label: str) -> list[str]:
    """The fields of a record label, unescaped (``\\|`` is a literal bar, ``{ }`` only group fields)."""
    out, current, chars = [], [], iter(label)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars))
        elif ch == "|":
            out.append("".join(current))
            current = []
        elif ch not in "{}":
            current.append(ch)
    out.append("".join(current))
    return out


def classes(attrs: dict[str, Any]) -> set[str]:
    return set(attrs.get("class", "").split())


def g4(x: float) -> str:
    return f"{x:.4g}"


# -- graphs ------------------------------------------------------------------------------------------
def logsumexp_minus_a(a_val: float = 1.0, b_val: float = 2.0) -> tuple[Value, Value, Value]:
    a, b = Value(a_val, label="a"), Value(b_val, label="b")
    E = (a.exp() + b.exp()).log() - a
    E.label = "E"
    E.backward()
    return E, a, b


def tiny_mlp() -> tuple[Value, list[Value], list[Value]]:
    """2 inputs -> layer L1 (2 tanh neurons) -> layer L2 (1 linear neuron) -> squared error, in scopes."""
    xs = [Value(0.5, label="x0"), Value(-1.5, label="x1")]
    weights = [[0.3, -0.2], [0.8, 0.1]], [[-0.6, 0.9]]
    biases = [0.1, -0.3], [0.2]
    acts = xs
    params = []
    for layer, (w_rows, b_row) in enumerate(zip(weights, biases), start=1):
        outs = []
        with scope(f"L{layer}"):
            for j, (w_row, b0) in enumerate(zip(w_rows, b_row)):
                with scope(f"n{j}"):
                    total = Parameter(b0, label=f"b{layer}{j}")
                    params.append(total)
                    for i, (w0, a) in enumerate(zip(w_row, acts)):
                        w = Parameter(w0, label=f"w{layer}{j}{i}")
                        params.append(w)
                        total = total + w * a
                    outs.append(total.tanh() if layer == 1 else total)
        acts = outs
    loss = (acts[0] - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return loss, xs, params


def value_node(nodes: dict[str, dict[str, Any]], label: str) -> dict[str, Any]:
    [found] = [attrs for name, attrs in nodes.items() if name.startswith("v") and fields(attrs["label"])[0] == label]
    return found


# -- structure -----------------------------------------------------------------------------------------
def test_every_value_and_operation_is_drawn_once_with_one_arrow_per_operand():
    E, a, b = logsumexp_minus_a()
    drawing = draw(E)
    nodes, edges, _ = parse_dot(drawing.source)
    # log(exp(a) + exp(b)) - a: a, b and 5 computed values (the subtraction is one operation)
    values = [n for n in nodes if n.startswith("v")]
    ops = [n for n in nodes if n.startswith("o")]
    assert (len(values), len(ops)) == (7, 5)
    assert drawing.node_count == 12 == len(nodes)
    # operands: exp 1, exp 1, + 2, log 1, - 2 = 7 arrows, plus one from each operation to its value
    assert len(edges) == 12
    assert sorted(nodes[f"o{i}"]["label"] for i in range(7) if f"o{i}" in nodes) == sorted(
        ["exp", "exp", "+", "log", "-"]
    )
    order = topological_order(E)
    for i, node in enumerate(order):
        into_op = [e.tail for e in edges if e.head == f"o{i}"]
        assert into_op == [f"v{order.index(p)}" for p in node.parents]
        if node.parents:
            assert [e.head for e in edges if e.tail == f"o{i}"] == [f"v{i}"]


def test_labels_show_label_data_and_grad_from_the_closed_form():
    E, a, b = logsumexp_minus_a(1.0, 2.0)
    nodes, _, _ = parse_dot(draw(E).source)
    softmax_b = math.exp(2.0) / (math.exp(1.0) + math.exp(2.0))
    assert fields(value_node(nodes, "a")["label"]) == ["a", "data 1", f"grad {g4(-softmax_b)}"]
    assert fields(value_node(nodes, "b")["label"]) == ["b", "data 2", f"grad {g4(softmax_b)}"]
    assert fields(value_node(nodes, "E")["label"]) == ["E", f"data {g4(math.log(math.e + math.e**2) - 1)}", "grad 1"]
    # an unlabelled value shows only its numbers: exp(a), whose grad is d log(s)/ds = 1/s
    unlabelled = [fields(n["label"]) for name, n in nodes.items() if name.startswith("v") and n["class"] == "operation"]
    assert [f"data {g4(math.e)}", f"grad {g4(1 / (math.e + math.e**2))}"] in unlabelled


def test_small_numbers_keep_their_significant_digits():
    x = Value(1e-5, label="x")
    y = x * x
    y.backward()
    nodes, _, _ = parse_dot(draw(y).source)
    assert fields(value_node(nodes, "x")["label"]) == ["x", "data 1e-05", "grad 2e-05"]  # d x^2/dx = 2x
    [y_fields] = [fields(n["label"]) for name, n in nodes.items() if "root" in classes(n)]
    assert y_fields == ["data 1e-10", "grad 1"]
    assert "0.0000" not in draw(y).source
    z = Value(1 / 3, label="z") * 123456.0
    nodes, _, _ = parse_dot(draw(z, digits=2).source)
    assert fields(value_node(nodes, "z")["label"])[1] == "data 0.33"
    computed = [f for n in nodes.values() if n["class"].startswith("operation") for f in fields(n["label"])]
    assert "data 4.1e+04" in computed


def test_an_operand_used_twice_has_two_arrows_each_with_its_local_derivative():
    x = Value(3.0, label="x")
    y = x * x
    y.backward()
    nodes, edges, _ = parse_dot(draw(y, local_grads=True).source)
    into_op = [e for e in edges if e.head == "o1"]
    assert [(e.tail, e.attrs["label"]) for e in into_op] == [("v0", "3"), ("v0", "3")]  # d(ab)/da = b = 3, twice
    assert fields(nodes["v0"]["label"]) == ["x", "data 3", "grad 6"]


def test_local_derivatives_on_the_arrows_rebuild_every_gradient_by_the_chain_rule():
    """With 17 digits the drawing alone is enough to redo backward: grad(p) = sum of label * grad(consumer)."""
    E, a, b = logsumexp_minus_a(0.3, -1.7)
    nodes, edges, _ = parse_dot(draw(E, local_grads=True, digits=17).source)
    grad = {name: float(fields(n["label"])[-1].split()[1]) for name, n in nodes.items() if name.startswith("v")}
    rebuilt = {name: 0.0 for name in grad}
    rebuilt["v" + str(len(grad) - 1)] = 1.0  # the root
    produced = {e.tail: e.head for e in edges if e.tail.startswith("o")}
    for e in edges:
        if e.head.startswith("o"):
            rebuilt[e.tail] += float(e.attrs["label"]) * grad[produced[e.head]]
    for name in grad:
        assert rebuilt[name] == pytest.approx(grad[name], rel=1e-12, abs=1e-15)
    order = topological_order(E)
    assert [grad[f"v{i}"] for i in range(len(order))] == [node.grad for node in order]  # 17 digits round-trip


def test_roles_root_and_constants_are_told_apart():
    x = Value(2.0, label="x")
    w = Parameter(-0.5, label="w")
    h = x * w
    h.label = "h"
    y = (h * 2).tanh()
    y.label = "y"
    y.backward()
    nodes, _, _ = parse_dot(draw(y).source)
    order = topological_order(y)
    two = next(n for n in order if isinstance(n, Constant))
    by_node = {node: nodes[f"v{i}"] for i, node in enumerate(order)}
    assert classes(by_node[x]) == {"input"} and by_node[x]["fillcolor"] == FILL["input"]
    assert classes(by_node[w]) == {"parameter"} and by_node[w]["fillcolor"] == FILL["parameter"]
    assert classes(by_node[two]) == {"constant"} and by_node[two]["fillcolor"] == FILL["constant"]
    assert "dashed" in by_node[two]["style"]
    assert fields(by_node[two]["label"]) == ["data 2", f"grad {g4(h.data * (1 - y.data**2))}"]
    assert classes(by_node[h]) == {"operation"} and by_node[h]["fillcolor"] == FILL["operation"]
    assert classes(by_node[y]) == {"operation", "root"} and by_node[y]["fillcolor"] == ROOT_FILL
    assert all(classes(n) == {"op"} for name, n in nodes.items() if name.startswith("o"))
    assert len({FILL["input"], FILL["parameter"], FILL["constant"], FILL["operation"], ROOT_FILL}) == 5


def test_drawing_changes_nothing_in_the_graph():
    loss, xs, params = tiny_mlp()
    order = topological_order(loss)
    before = [(n.data, n.grad, n.label, n.op, n.parents, n.local_grads, n.scope) for n in order]
    draw(loss, local_grads=True)
    draw(loss, collapse=2)
    assert [(n.data, n.grad, n.label, n.op, n.parents, n.local_grads, n.scope) for n in order] == before


def test_rankdir_top_to_bottom_keeps_the_fields():
    E, a, b = logsumexp_minus_a()
    source = draw(E, rankdir="TB").source
    assert "rankdir=TB" in source
    nodes, _, _ = parse_dot(source)
    assert fields(value_node(nodes, "a")["label"])[:2] == ["a", "data 1"]


def test_labels_with_record_characters_and_backslashes_are_escaped():
    odd = Value(1.0, label="p|q{r}<s> \\n")
    E = odd * 2
    E.backward()
    nodes, _, _ = parse_dot(draw(E).source)
    assert fields(nodes["v0"]["label"]) == ["p|q{r}<s> \\n", "data 1", "grad 2"]


# -- scopes: frames and collapsed boxes ---------------------------------------------------------------------
def test_nodes_made_in_scopes_are_framed_by_layer_and_neuron():
    loss, xs, params = tiny_mlp()
    nodes, _, frames = parse_dot(draw(loss).source)
    assert frames == {"L1": None, "L1.n0": "L1", "L1.n1": "L1", "L2": None, "L2.n0": "L2"}
    order = topological_order(loss)
    for i, node in enumerate(order):
        parts = node.scope.split(".") if node.scope else []
        expected = tuple(".".join(parts[: k + 1]) for k in range(len(parts)))  # "L1.n0" -> ("L1", "L1.n0")
        assert nodes[f"v{i}"]["frames"] == expected, node
        if node.parents:
            assert nodes[f"o{i}"]["frames"] == expected
    assert value_node(nodes, "w101")["frames"] == ("L1", "L1.n0")
    assert value_node(nodes, "loss")["frames"] == () and value_node(nodes, "x0")["frames"] == ()


def test_collapse_neurons_draws_one_box_per_neuron_with_its_output():
    loss, xs, params = tiny_mlp()
    order = topological_order(loss)
    drawing = draw(loss, collapse="neuron")
    assert drawing.source == draw(loss, collapse=2).source
    nodes, edges, frames = parse_dot(drawing.source)
    boxes = {fields(n["label"].replace("\\n", "|"))[0]: (name, n) for name, n in nodes.items() if name.startswith("b")}
    assert sorted(boxes) == ["L1.n0", "L1.n1", "L2.n0"]
    outside = [n for n in order if not n.scope]
    assert drawing.node_count == len(nodes) == 3 + sum(2 if n.parents else 1 for n in outside)
    for scope_name, (name, attrs) in boxes.items():
        lines = attrs["label"].split("\\n")
        inside = [n for n in order if n.scope == scope_name]
        assert lines[1] == f"{len(inside)} nodes"
        assert classes(attrs) == {"box"} and attrs["fillcolor"] == BOX_FILL
        assert attrs["frames"] == (scope_name.split(".")[0],)
        out = inside[-1]  # the neuron's output: tanh in L1, the last + in L2
        assert lines[2] == f"{out.op}: data {g4(out.data)}, grad {g4(out.grad)}"
    box = {scope_name: name for scope_name, (name, _) in boxes.items()}
    pairs = [(e.tail, e.head, e.attrs.get("label")) for e in edges]
    # each input feeds each L1 neuron once; each L1 neuron's output feeds L2.n0 once
    for x in (f"v{order.index(xs[0])}", f"v{order.index(xs[1])}"):
        assert (x, box["L1.n0"], None) in pairs and (x, box["L1.n1"], None) in pairs
    assert (box["L1.n0"], box["L2.n0"], None) in pairs and (box["L1.n1"], box["L2.n0"], None) in pairs
    assert not any(t == h for t, h, _ in pairs)


def test_collapse_layers_merges_parallel_arrows_and_counts_them():
    loss, xs, params = tiny_mlp()
    nodes, edges, frames = parse_dot(draw(loss, collapse="layer").source)
    assert frames == {}
    boxes = {n["label"].split("\\n")[0]: name for name, n in nodes.items() if name.startswith("b")}
    assert sorted(boxes) == ["L1", "L2"]
    between = [e for e in edges if (e.tail, e.head) == (boxes["L1"], boxes["L2"])]
    assert len(between) == 1 and between[0].attrs["label"] == "×2"  # two neuron outputs into L2
    order = topological_order(loss)
    inputs = (f"v{order.index(xs[0])}", f"v{order.index(xs[1])}")
    x_edges = [e for e in edges if e.tail in inputs and e.head == boxes["L1"]]
    assert [e.attrs["label"] for e in x_edges] == ["×2", "×2"]  # each input is used by two neurons
    lines = nodes[boxes["L1"]]["label"].split("\\n")
    assert lines[2].startswith("tanh: ") and lines[3].startswith("tanh: ")  # both outputs are shown


def test_collapse_deeper_than_any_scope_draws_every_node():
    loss, xs, params = tiny_mlp()
    assert draw(loss, collapse=5).source == draw(loss).source


# -- the size limit ------------------------------------------------------------------------------------------
def test_a_100000_node_graph_is_refused_at_once_without_recursion():
    x = Value(0.5, label="x")
    y = x
    for _ in range(100_000):
        y = y.tanh()
    limit = sys.getrecursionlimit()
    with pytest.raises(GraphTooLargeError) as info:
        draw(y)
    message = str(info.value)
    assert "100,001 values" in message and "200,001 shapes" in message and "max_nodes=1,500" in message
    assert "one sample" in message and "max_nodes=200001" in message
    assert sys.getrecursionlimit() == limit


def test_the_limit_counts_drawn_shapes_and_suggests_collapse_levels_that_fit():
    E, a, b = logsumexp_minus_a()
    assert draw(E, max_nodes=12).node_count == 12
    with pytest.raises(GraphTooLargeError):
        draw(E, max_nodes=11)
    loss, xs, params = tiny_mlp()
    full = draw(loss).node_count
    with pytest.raises(GraphTooLargeError) as info:
        draw(loss, max_nodes=10)
    message = str(info.value)
    assert f"would draw {full} shapes" in message
    layer = re.search(r"collapse=1 or collapse='layer' draws (\d+) shapes", message)
    neuron = re.search(r"collapse=2 or collapse='neuron' draws (\d+) shapes", message)
    assert int(layer[1]) == draw(loss, collapse=1).node_count < int(neuron[1]) == draw(loss, collapse=2).node_count
    with pytest.raises(GraphTooLargeError) as info:
        draw(loss, collapse=2, max_nodes=int(neuron[1]) - 1)  # the layer view still fits
    assert "collapse=1 or collapse='layer'" in str(info.value) and "collapse=2" not in str(info.value)


# -- gradient-check highlighting ----------------------------------------------------------------------------
@dataclass
class CheckRow:
    """A stand-in with the fields of a gradient-check report row."""

    node: Value
    analytic: float
    numeric: float
    ok: bool
    status: str


def neuron(x0: float, w0: float, b0: float) -> tuple[Value, Value, Value, Value]:
    x, w, b = Value(x0, label="x"), Parameter(w0, label="w"), Parameter(b0, label="b")
    y = (x * w + b).tanh()
    y.label = "y"
    return y, x, w, b


def central_difference(which: int, point: tuple[float, float, float], h: float = 1e-6) -> float:
    up, down = list(point), list(point)
    up[which] += h
    down[which] -= h
    return (neuron(*up)[0].data - neuron(*down)[0].data) / (2 * h)


def test_a_failed_check_is_red_with_both_numbers():
    point = (0.7, -1.2, 0.4)
    y, x, w, b = neuron(*point)
    y.backward()
    rows = []
    for which, leaf in enumerate((x, w, b)):
        numeric = central_difference(which, point)
        analytic = leaf.grad + (0.5 if leaf is w else 0.0)  # a wrong hand derivative for w
        ok = math.isclose(analytic, numeric, rel_tol=1e-6, abs_tol=1e-9)
        rows.append(CheckRow(leaf, analytic, numeric, ok, "ok" if ok else "fail"))
    assert [r.ok for r in rows] == [True, False, True]
    rows[2].status = "skipped"  # any other status is shown as it is
    nodes, _, _ = parse_dot(draw(y, check=rows).source)
    w_node = value_node(nodes, "w")
    assert "failed" in classes(w_node) and "parameter" in classes(w_node)
    assert (w_node["fillcolor"], w_node["color"], w_node["fontcolor"]) == (FAILED_FILL, RED, RED)
    assert fields(w_node["label"])[3:] == [
        "CHECK FAILED",
        f"analytic {g4(rows[1].analytic)}",
        f"numeric {g4(rows[1].numeric)}",
    ]
    assert fields(value_node(nodes, "x")["label"])[3:] == ["check ok"]
    assert fields(value_node(nodes, "b")["label"])[3:] == ["check: skipped"]
    assert "failed" not in classes(value_node(nodes, "x")) | classes(value_node(nodes, "b"))


def test_a_failure_inside_a_collapsed_box_turns_the_box_red():
    loss, xs, params = tiny_mlp()
    w = next(p for p in params if p.label == "w110")  # in L1.n1
    row = CheckRow(w, w.grad * 2 + 1, w.grad, False, "fail")
    nodes, _, _ = parse_dot(draw(loss, collapse=2, check=[row]).source)
    [box] = [n for n in nodes.values() if "failed" in classes(n)]
    lines = box["label"].split("\\n")
    assert lines[0] == "L1.n1" and "1 FAILED CHECK" in lines
    assert f"w110: analytic {g4(row.analytic)}, numeric {g4(row.numeric)}" in lines


def test_a_check_report_must_be_about_this_graph():
    y, x, w, b = neuron(0.1, 0.2, 0.3)
    other = Value(1.0, label="elsewhere")
    with pytest.raises(ValueError, match="elsewhere.*not in the graph"):
        draw(y, check=[CheckRow(other, 1.0, 1.0, True, "ok")])
    with pytest.raises(TypeError, match="has no analytic, numeric"):
        draw(y, check=[type("Row", (), {"node": x, "ok": True})()])
    with pytest.raises(TypeError, match="iterable of rows"):
        draw(y, check=3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"collapse": "cell"}, "collapse must be"),
        ({"collapse": 0}, "collapse must be an int >= 1"),
        ({"digits": 0}, "digits must be an int from 1 to 17"),
        ({"max_nodes": 0}, "max_nodes must be"),
        ({"rankdir": "XY"}, "rankdir must be one of"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    E, a, b = logsumexp_minus_a()
    with pytest.raises(ValueError, match=message):
        draw(E, **kwargs)


def test_draw_needs_a_value():
    with pytest.raises(TypeError, match="needs the Value"):
        draw(1.5)


# -- rendering ---------------------------------------------------------------------------------------------------
@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which there is no Graphviz ``dot`` program."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None


def svg_texts(svg: str | bytes) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return [el.text for el in root.iter("{http://www.w3.org/2000/svg}text")]


def test_svg_is_made_without_dot_and_shows_the_labels(no_dot, tmp_path):
    loss, xs, params = tiny_mlp()
    xs[0].label = "x0 <|{odd}|>"
    drawing = draw(loss, local_grads=True)
    assert render_module.choose_renderer("svg") == "wasm"
    svg = drawing.svg()
    texts = svg_texts(svg)
    assert ["x0 <|{odd}|>", "data 0.5", f"grad {g4(xs[0].grad)}"] == texts[texts.index("x0 <|{odd}|>") :][:3]
    assert {"loss", "data " + g4(loss.data), "grad 1", "tanh", "**2", "L1", "L1.n0"} <= set(texts)
    assert texts.count("tanh") == 2
    assert drawing.svg() is svg  # shown again without a new layout
    saved = drawing.save(tmp_path / "graph.svg")
    assert svg_texts(saved.read_bytes()) == texts


def test_jupyter_shows_a_drawing_fitted_to_the_cell_with_ids_of_its_own(no_dot):
    formatters = pytest.importorskip("IPython.core.formatters")
    E, a, b = logsumexp_minus_a()
    drawing = draw(E)
    data, _ = formatters.DisplayFormatter().format(drawing)
    assert set(data) == {"text/html", "text/plain"}  # one copy of the SVG, not two
    page = data["text/html"]
    svg = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    assert {"a", "b", "E", "data 1", "exp", "log"} <= set(svg_texts(svg))
    assert 'style="max-width:100%;height:auto"' in svg  # fits the width even where scripts do not run
    ids = re.findall(r'\sid="([^"]+)"', page)
    again = re.findall(r'\sid="([^"]+)"', drawing._repr_html_())
    assert len(set(ids)) == len(ids) and not set(ids) & set(again)


def test_other_formats_without_dot_say_what_to_install_and_write_nothing(no_dot, tmp_path):
    E, a, b = logsumexp_minus_a()
    drawing = draw(E)
    with pytest.raises(RenderError, match=r"needs the Graphviz program 'dot'.*install"):
        drawing.save(tmp_path / "graph.pdf")
    assert not (tmp_path / "graph.pdf").exists()
    with pytest.raises(RenderError, match="renderer='system' needs the Graphviz program 'dot'"):
        drawing.render("svg", renderer="system")
    assert drawing.save(tmp_path / "graph.gv").read_text() == drawing.source
    with pytest.raises(ValueError, match="cannot tell the format"):
        drawing.save(tmp_path / "graph")
    with pytest.raises(ValueError, match="format must be a Graphviz format name"):
        drawing.render("-o/tmp/x")


def test_the_webassembly_renderer_reports_graphviz_errors():
    with pytest.raises(RenderError, match="WebAssembly Graphviz could not make 'svg'"):
        render_module.render("digraph { a -> ", renderer="wasm")
    with pytest.raises(RenderError, match="makes only svg"):
        render_module.render("digraph { a }", format="png", renderer="wasm")


def _fake_dot(directory: Path, body: str) -> None:
    script = directory / "dot"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    script.chmod(0o755)


@pytest.mark.skipif(os.name == "nt", reason="a Python script as an executable needs a POSIX shebang")
def test_the_system_dot_is_used_when_on_path_and_its_errors_are_reported(monkeypatch, tmp_path):
    """A stand-in ``dot`` checks the protocol: DOT on stdin, -T<format>, the image on stdout."""
    monkeypatch.setenv("PATH", str(tmp_path))
    _fake_dot(tmp_path, "sys.stdout.write(sys.argv[1] + '|' + sys.stdin.read())")
    E, a, b = logsumexp_minus_a()
    drawing = draw(E)
    assert render_module.choose_renderer("pdf") == "system"
    assert drawing.render("pdf") == ("-Tpdf|" + drawing.source).encode()
    _fake_dot(tmp_path, "sys.stderr.write('Error: syntax error in line 3'); sys.exit(1)")
    with pytest.raises(RenderError, match="Graphviz 'dot' could not make 'pdf': Error: syntax error in line 3"):
        drawing.save(tmp_path / "graph.pdf")
    assert not (tmp_path / "graph.pdf").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs a system Graphviz")
def test_a_system_graphviz_makes_png():
    E, a, b = logsumexp_minus_a()
    assert draw(E).render("png").startswith(b"\x89PNG")


def test_repr_says_how_to_use_it():
    E, a, b = logsumexp_minus_a()
    drawing = draw(E)
    assert isinstance(drawing, Drawing) and "12 nodes" in repr(drawing) and ".save(path)" in repr(drawing)


# -- readable at network size ---------------------------------------------------------------------------------
def layout(svg: str) -> dict[str, tuple[float, float]]:
    """The centre of each drawn node's first shape, by its DOT name (y grows downwards)."""
    where = {}
    for group in ET.fromstring(svg).iter(f"{SVG_NS}g"):
        name = group.get("data-name")
        if name is None:
            continue
        for shape in group.iter():
            if shape.tag == f"{SVG_NS}ellipse":
                where[name] = (float(shape.get("cx")), float(shape.get("cy")))
                break
            points = shape.get("points") or shape.get("d")
            if points:
                numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*", points)]
                xs, ys = numbers[0::2], numbers[1::2]
                where[name] = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
                break
    return where


def node_names(source: str) -> dict[str, str]:
    """DOT name of each labelled value node or box, by its label (a box: its scope)."""
    nodes, _, _ = parse_dot(source)
    names = {}
    for name, attrs in nodes.items():
        label = attrs.get("label", "")
        if name.startswith("b"):
            names[label.split("\\n")[0]] = name
        elif name.startswith("v"):
            names[fields(label)[0]] = name
    return names


SVG_NS = "{http://www.w3.org/2000/svg}"


def network_loss(neuron_order=None):
    """A 4-10-3 MLP's cross entropy on one sample (plain numbers in: the MLP labels them x1..x4).

    ``neuron_order`` permutes the order in which the hidden layer's neurons are *called*, so their
    nodes are made in another order: the drawing must not care."""
    import nn

    model = nn.MLP(4, [10, 3], seed=0)
    hidden = model.layers[0]
    if neuron_order is not None:
        hidden.neurons = [hidden.neurons[i] for i in neuron_order]
    h = hidden([5.1, 3.5, 1.4, 0.2])
    if neuron_order is not None:
        h = [h[neuron_order.index(i)] for i in range(len(h))]
        hidden.neurons = sorted(hidden.neurons, key=lambda n: n.name)
    loss = nn.cross_entropy(model.layers[1](h), 2)
    loss.backward()
    return loss


@pytest.mark.parametrize("neuron_order", [None, [9, 3, 0, 7, 1, 8, 2, 6, 5, 4]], ids=["made in order", "made scrambled"])
def test_inputs_and_neurons_stand_in_the_natural_order_of_their_names(neuron_order):
    loss = network_loss(neuron_order)
    drawing = draw(loss, collapse="neuron")
    names, where = node_names(drawing.source), layout(drawing.svg())
    for group in (["x1", "x2", "x3", "x4"], [f"L1.n{j}" for j in range(1, 11)], ["L2.n1", "L2.n2", "L2.n3"]):
        xs = [where[names[n]][0] for n in group]
        ys = [where[names[n]][1] for n in group]
        assert max(xs) - min(xs) < 30, f"{group} are not in one column"
        assert ys == sorted(ys) and len(set(ys)) == len(ys), f"{group} are not top to bottom: {ys}"
    # layers from left to right: every input left of every hidden neuron, left of every output neuron
    assert where[names["x1"]][0] < where[names["L1.n1"]][0] < where[names["L2.n1"]][0] < where[names["cross_entropy"]][0]


def test_two_drawings_of_the_same_network_agree_whatever_order_its_nodes_were_made_in():
    def neuron_rows(loss):
        drawing = draw(loss, collapse="neuron")
        names, where = node_names(drawing.source), layout(drawing.svg())
        return sorted((n for n in names if n.startswith("L1.")), key=lambda n: where[names[n]][1])

    assert neuron_rows(network_loss()) == neuron_rows(network_loss([5, 6, 7, 8, 9, 0, 1, 2, 3, 4])) == [
        f"L1.n{j}" for j in range(1, 11)
    ]


def test_layers_follow_each_other_from_left_to_right_when_nothing_is_collapsed():
    loss, xs, params = tiny_mlp()
    drawing = draw(loss)
    where, names = layout(drawing.svg()), node_names(drawing.source)
    l1 = [where[names[p.label]][0] for p in params if p.label.startswith("w1")]
    l2 = [where[names[p.label]][0] for p in params if p.label.startswith("w2")]
    assert max(l1) < min(l2), "a weight of layer 2 stands left of a weight of layer 1"


def test_natural_key_reads_numbers_as_numbers():
    from autograd.viz import natural_key

    assert sorted(["L1.n10", "L1.n2", "L10.n1", "L1.n1", "x"], key=natural_key) == ["L1.n1", "L1.n2", "L1.n10", "L10.n1", "x"]


def test_frame_titles_are_drawn_over_the_arrows_on_a_halo():
    loss, xs, params = tiny_mlp()
    root = ET.fromstring(draw(loss).svg())
    graph = root.find(f"{SVG_NS}g")
    last = list(graph)[-1]
    assert last.get("class") == "frame-titles"
    titles = {t.text: t for t in last.iter(f"{SVG_NS}text")}
    assert set(titles) == {"L1", "L1.n0", "L1.n1", "L2", "L2.n0"}
    assert all(t.get("stroke") == "white" and t.get("paint-order") == "stroke" for t in titles.values())
    for cluster in graph.iter(f"{SVG_NS}g"):
        if cluster.get("class") == "cluster":
            assert cluster.find(f"{SVG_NS}text") is None


def test_grads_no_backward_pass_computed_are_drawn_as_unknown(monkeypatch):
    import autograd.viz.picture as viz

    E, a, b = logsumexp_minus_a()
    computed = {E, a}
    monkeypatch.setattr(viz, "grad_computed", lambda node: node in computed)
    drawing = draw(E)
    nodes, _, _ = parse_dot(drawing.source)
    assert fields(value_node(nodes, "b")["label"])[2] == "grad ?"
    assert fields(value_node(nodes, "a")["label"])[2] == f"grad {g4(a.grad)}"
    assert "grad not computed yet" in value_node(nodes, "b")["tooltip"]
    unknown = [t for t in ET.fromstring(drawing.svg()).iter(f"{SVG_NS}text") if t.text == "grad ?"]
    assert unknown and all(t.get("fill") == viz.UNKNOWN_GREY and t.get("font-style") == "italic" for t in unknown)
    assert len(unknown) == sum(1 for n in topological_order(E) if n not in computed)


@pytest.mark.skipif(not hasattr(Value(0.0), "grad_pass"), reason="this engine does not record which pass wrote a grad")
def test_a_drawing_before_backward_shows_no_gradient_as_computed():
    x = Value(2.0, label="x")
    E = (x * 3.0).tanh()
    E.label = "E"
    before = [t.text for t in ET.fromstring(draw(E).svg()).iter(f"{SVG_NS}text") if t.text.startswith("grad")]
    assert before and set(before) == {"grad ?"}
    E.backward()
    after = [t.text for t in ET.fromstring(draw(E).svg()).iter(f"{SVG_NS}text") if t.text.startswith("grad")]
    assert "grad ?" not in after and "grad 1" in after


def test_nn_labels_every_node_it_makes_in_the_loss():
    loss = network_loss()
    labels = {n.label for n in topological_order(loss)}
    assert {"x1", "x2", "x3", "x4", "-max(z)", "exp1", "exp2", "exp3", "sum_exp", "log_sum_exp"} <= labels
    nodes, _, _ = parse_dot(draw(loss, collapse="neuron").source)
    drawn = [fields(a["label"])[0] for name, a in nodes.items() if name.startswith("v")]
    assert "x1" in drawn and "exp3" in drawn and "log_sum_exp" in drawn


# -- PNG without a system Graphviz ------------------------------------------------------------------------------
def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_png_is_made_without_dot_at_twice_the_svg_size(no_dot, tmp_path):
    E, a, b = logsumexp_minus_a()
    drawing = draw(E)
    path = drawing.save(tmp_path / "graph.PNG")
    png = path.read_bytes()
    width_pt = float(re.search(r'<svg[^>]*width="([\d.]+)pt"', drawing.svg())[1])
    width, height = png_size(png)
    assert abs(width - 2 * width_pt * 4 / 3) <= 2  # 1 pt = 4/3 CSS px, at scale 2
    assert any(render_module._png_pixels(png))


def test_png_errors_say_what_to_install_and_write_nothing(monkeypatch, tmp_path):
    E, a, b = logsumexp_minus_a()
    drawing = draw(E)
    monkeypatch.setattr(render_module, "_has_fonts", lambda: False)
    with pytest.raises(RenderError, match="no font was found.*fonts-dejavu-core"):
        drawing.save(tmp_path / "graph.png")
    monkeypatch.setitem(sys.modules, "resvg_py", None)  # as if it were not installed
    with pytest.raises(RenderError, match="pip install resvg-py"):
        drawing.save(tmp_path / "graph.png")
    assert not (tmp_path / "graph.png").exists()
    monkeypatch.undo()
    with pytest.raises(RenderError, match="could not turn the SVG into PNG"):
        render_module.svg_to_png("<svg xmlns='http://www.w3.org/2000/svg' width='0' height='0'/>")
    with pytest.raises(ValueError, match="scale must be"):
        render_module.svg_to_png(drawing.svg(), scale=0)
