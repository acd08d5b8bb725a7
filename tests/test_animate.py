"""Tests of ``autograd.viz.animate``: the steps, their captions against ``explain``, the frames, saving,
and the errors. (``test_browser.py`` drives the saved file and the Jupyter output in a real browser.)"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from autograd import Value, scope, topological_order
from autograd.viz.animation import Animation
from autograd.check import BackwardNeededError, explain
from autograd.viz import GraphTooLargeError, animate

SVG = "{http://www.w3.org/2000/svg}"


def readme_example() -> tuple[Value, dict[str, Value]]:
    """The README's first example: E = -log(sigmoid(x*w + b))."""
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    s = x * w + b
    s.label = "s"
    h = s.sigmoid()
    h.label = "h"
    E = -h.log()
    E.label = "E"
    E.backward()
    return E, {"x": x, "w": w, "b": b, "s": s, "h": h, "E": E}


def g4(x: float) -> str:
    return f"{x + 0.0:.4g}"


def frame_texts(anim: Animation, step: int) -> dict[str, list[str]]:
    """The text lines of each drawn shape (by DOT name) in the frame of ``step``."""
    out: dict[str, list[str]] = {}
    for group in ET.fromstring(anim.svg(step)).iter(f"{SVG}g"):
        name = group.get("data-name")
        if name:
            out[name] = [t.text for t in group.iter(f"{SVG}text")]
    return out


def shape_of(anim: Animation, node: Value) -> str:
    """The DOT name of the value box that shows ``node`` (found by its label)."""
    for name, lines in frame_texts(anim, len(anim) - 1).items():
        if name.startswith("v") and lines[0] == node.label:
            return name
    raise AssertionError(f"{node.label} is not drawn")


def test_steps_are_the_forward_pass_then_the_backward_pass_in_topological_order():
    E, nodes = readme_example()
    anim = animate(E)
    order = topological_order(E)
    computed = [n for n in order if n.parents]
    assert len(anim) == 1 + len(computed) + len(order)
    assert [s.kind for s in anim.steps] == ["start"] + ["forward"] * len(computed) + ["backward"] * len(order)
    assert [s.node for s in anim.steps[1 : 1 + len(computed)]] == computed
    assert [s.node for s in anim.steps[1 + len(computed) :]] == order[::-1]
    assert [s.index for s in anim.steps] == list(range(len(anim)))


def test_a_forward_caption_shows_the_operation_with_its_numbers():
    E, nodes = readme_example()
    anim = animate(E)
    step = next(s for s in anim.steps if s.node is nodes["h"] and s.kind == "forward")
    assert f"h = sigmoid(s) = sigmoid({g4(nodes['s'].data)}) = {g4(nodes['h'].data)}" in step.text
    step = next(s for s in anim.steps if s.node is nodes["s"] and s.kind == "forward")
    product = nodes["s"].parents[0]
    assert f"s = {anim_name(anim, product)} + b = ({g4(product.data)}) + 1 = {g4(nodes['s'].data)}" in step.text


def anim_name(anim: Animation, node: Value) -> str:
    """How the step-through names an unlabelled node: #i, its place in the topological order."""
    return node.label or f"#{topological_order(anim.root).index(node)}"


def test_a_backward_caption_is_explains_sum_with_its_numbers():
    E, nodes = readme_example()
    anim = animate(E)
    for step in anim.steps:
        if step.kind != "backward":
            continue
        ex = explain(step.node, E)
        assert step.explanation is not None and step.explanation.total == ex.total
        assert [t.consumer for t in step.explanation.terms] == [t.consumer for t in ex.terms]
        if step.node is E:
            assert "∂E/∂E = 1: the backward pass starts at the root." in step.text
            continue
        assert any(line.endswith(f"= {g4(ex.total)}") for line in step.text.splitlines())
        for term in ex.terms:
            assert f"via {anim_name(anim, term.consumer)} = " in step.text
            assert f"= {g4(term.value)}" in step.text and g4(term.upstream).lstrip("-") in step.text
    w_step = next(s for s in anim.steps if s.kind == "backward" and s.node is nodes["w"])
    # dE/dw = dE/d(x*w) * x, with dE/d(x*w) = -(1 - h): the closed form of this example
    h = nodes["h"].data
    assert math.isclose(w_step.explanation.total, -(1 - h) * 2.0, rel_tol=1e-12)
    assert f"= ({g4(-(1 - h))}) · x = ({g4(-(1 - h))}) · 2 = {g4(-(1 - h) * 2.0)}" in w_step.text
    assert "w is a leaf (input): the chain rule stops here." in w_step.text


def test_unlabelled_nodes_are_named_as_explain_names_them():
    x = Value(0.5, label="x")
    E = (x * 3.0).tanh() + x
    E.backward()
    anim = animate(E)
    product = E.parents[0].parents[0]
    name = anim_name(anim, product)
    assert name.startswith("#") and name in str(explain(product, E))
    assert name in frame_texts(anim, 0)[f"v{topological_order(E).index(product)}"]
    assert any(s.text.startswith("backward") and f"gradient of {name}" in s.text for s in anim.steps)
    assert "f" in frame_texts(anim, 0)[f"v{len(topological_order(E)) - 1}"]  # the unlabelled root is f


def test_frames_show_question_marks_until_a_pass_reaches_a_node():
    E, nodes = readme_example()
    anim = animate(E)
    names = {label: shape_of(anim, node) for label, node in nodes.items()}
    start = frame_texts(anim, 0)
    assert "data 2" in start[names["x"]] and "grad ?" in start[names["x"]]
    assert "data ?" in start[names["h"]] and "grad ?" in start[names["h"]]
    h_forward = next(s.index for s in anim.steps if s.kind == "forward" and s.node is nodes["h"])
    assert f"data {g4(nodes['h'].data)}" in frame_texts(anim, h_forward)[names["h"]]
    assert "data ?" in frame_texts(anim, h_forward - 1)[names["h"]]
    s_backward = next(s.index for s in anim.steps if s.kind == "backward" and s.node is nodes["s"])
    frame = frame_texts(anim, s_backward)
    assert f"grad {g4(nodes['s'].grad)}" in frame[names["s"]]
    assert f"grad {g4(nodes['h'].grad)}" in frame[names["h"]]  # h comes before s in the backward pass
    assert all("grad ?" in frame[names[n]] for n in ("x", "w", "b"))  # not reached yet
    last = frame_texts(anim, len(anim) - 1)
    assert all(f"grad {g4(node.grad)}" in last[names[label]] for label, node in nodes.items())


def test_a_frame_highlights_the_node_its_consumers_and_the_arrows_between_them():
    E, nodes = readme_example()
    anim = animate(E)
    k = next(s.index for s in anim.steps if s.kind == "backward" and s.node is nodes["s"])
    root = ET.fromstring(anim.svg(k))
    stroked = {}
    for group in root.iter(f"{SVG}g"):
        name = group.get("data-name") or group.get("data-edge")
        colours = {el.get("stroke") for el in group.iter()} & {"#e8590c", "#1c7ed6"}
        if name and colours:
            (stroked[name],) = colours
    s, h = shape_of(anim, nodes["s"]), shape_of(anim, nodes["h"])
    op_h = "o" + h[1:]
    assert stroked[s] == "#e8590c" and stroked[h] == "#1c7ed6"  # the node, and the consumer it reads from
    assert stroked[f"{s} {op_h}"] == stroked[f"{op_h} {h}"] == "#e8590c"  # the path its gradient comes back on
    assert set(stroked) == {s, h, f"{s} {op_h}", f"{op_h} {h}"}


def test_collapsed_boxes_fill_in_their_outputs_step_by_step():
    with scope("L1"):
        with scope("n1"):
            x = Value(0.5, label="x")
            a = (x * 2.0).tanh()
            a.label = "L1.n1.a"
    E = a * 3.0
    E.label = "E"
    E.backward()
    anim = animate(E, collapse="neuron")
    box = next(name for name, lines in frame_texts(anim, 0).items() if name.startswith("b"))
    assert frame_texts(anim, 0)[box][-1] == "L1.n1.a: data ?, grad ?"
    forward = next(s.index for s in anim.steps if s.kind == "forward" and s.node is a)
    assert frame_texts(anim, forward)[box][-1] == f"L1.n1.a: data {g4(a.data)}, grad ?"
    backward = next(s.index for s in anim.steps if s.kind == "backward" and s.node is a)
    assert frame_texts(anim, backward)[box][-1] == f"L1.n1.a: data {g4(a.data)}, grad {g4(a.grad)}"
    assert "(inside L1.n1)" in anim.steps[backward].text


def test_saving_writes_one_self_contained_page_or_one_frame(tmp_path):
    E, nodes = readme_example()
    anim = animate(E)
    page = anim.save(tmp_path / "backprop.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script>" in page and "<style>" in page
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)  # nothing loaded from elsewhere
    assert not re.search(r"url\(|@import|https?://(?!www\.w3\.org/)", page)
    assert anim.save(tmp_path / "step.svg", step=3).read_text().startswith("<svg")
    png = anim.save(tmp_path / "step.png", step=-1).read_bytes()
    assert png.startswith(b"\x89PNG")
    with pytest.raises(ValueError, match=r"saves as \.html .* not 'gif'"):
        anim.save(tmp_path / "a.gif")
    with pytest.raises(IndexError, match=f"steps 0 to {len(anim) - 1}"):
        anim.svg(len(anim))
    with pytest.raises(TypeError, match="step must be an int"):
        anim.svg(1.5)
    assert not (tmp_path / "a.gif").exists()


def test_animate_needs_a_backward_pass_and_refuses_what_is_too_long():
    x = Value(1.0, label="x")
    E = x * 2.0
    with pytest.raises(BackwardNeededError, match=r"call root\.backward\(\) first"):
        animate(E)
    y = x
    for _ in range(300):
        y = y.tanh()
    y.backward()
    with pytest.raises(GraphTooLargeError, match=r"602 steps, more than max_steps=100.*one sample.*max_steps=602"):
        animate(y, max_steps=100)
    with pytest.raises(GraphTooLargeError, match="max_nodes=50"):
        animate(y, max_nodes=50)
    with pytest.raises(TypeError, match="needs the Value"):
        animate(2.0)
    with pytest.raises(ValueError, match="max_steps must be an int"):
        animate(y, max_steps=0)
    with pytest.raises(ValueError, match="collapse must be"):
        animate(y, collapse="cell")


def test_stale_gradients_are_flagged_in_the_caption():
    E, nodes = readme_example()
    E.backward()  # a second pass without zero_grad: the leaves hold twice their gradient
    anim = animate(E)
    step = next(s for s in anim.steps if s.kind == "backward" and s.node is nodes["w"])
    assert "! w.grad holds" in step.text and "zero_grad" in step.text


def test_repr_and_jupyter_output():
    E, nodes = readme_example()
    anim = animate(E)
    assert f"{len(anim)} steps" in repr(anim) and "backprop.html" in repr(anim)
    html = anim._repr_html_()
    assert html.startswith('<div class="cr-view cr-anim" id="cr-anim-') and html.count("<svg") == 1
    assert "step-through needs JavaScript" in html  # shown only where scripts do not run
