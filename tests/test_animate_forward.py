"""``animate(root, mode="forward", wrt=x)``: forward mode's tangent sweep, step by step."""

from __future__ import annotations

import math
import re

import pytest

from autograd import Value, forward_grads
from autograd.viz import animate


def graph():
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    s = x * w + b
    s.label = "s"
    h = s.sigmoid()
    h.label = "h"
    E = -h.log()
    E.label = "E"
    return E, x, w, b, s, h


def test_one_step_per_computed_node_with_its_value_and_its_tangent():
    E, x, w, b, s, h = graph()
    anim = animate(E, mode="forward", wrt=x)  # no backward() needed
    assert anim.mode == "forward" and len(anim) == 6
    assert [step.kind for step in anim.steps] == ["start"] + ["tangent"] * 5
    tangents = forward_grads(E, x)
    step_h = next(step for step in anim.steps if step.node is h)
    lines = step_h.text.splitlines()
    assert lines[1] == "h = sigmoid(s) = sigmoid(-5) = 0.006693"
    assert lines[2] == "dh/dx = ∂h/∂s · ds/dx = 0.006648 · (-3) = -0.01994"
    assert math.isclose(tangents[h], h.data * (1 - h.data) * w.data, rel_tol=1e-14)
    assert f"{tangents[h]:.4g}" == "-0.01994"


def test_the_last_caption_counts_sweeps_and_gives_the_derivative():
    E, x, *_ = graph()
    last = animate(E, mode="forward", wrt=x).steps[-1].text
    dE_dx = -(1 - 1 / (1 + math.exp(5.0))) * -3.0
    assert f"Done: dE/dx = {dE_dx:.4g}, in one forward sweep" in last
    assert "for all 3 inputs of this graph (parameters included) it takes 3 sweeps" in last
    assert "reverse mode (backward) gives all 3 in one sweep" in last


def test_each_grad_line_shows_the_tangent_once_computed():
    E, x, w, b, s, h = graph()
    anim = animate(E, mode="forward", wrt=x)
    start, middle, end = anim.svg(0), anim.svg(3), anim.svg(5)
    assert "d/dx 1" in start and "d/dx 0" in start and "d/dx ?" in start
    assert "d/dx -0.01994" in middle and "d/dx -0.01994" not in start
    assert "grad" not in re.sub(r"<[^>]+>", " ", end).split("data")[-1]
    tangents = re.findall(r">d/dx ([^<]+)<", end)
    assert "?" not in tangents and f"{forward_grads(E, x)[E]:.4g}" in tangents


def test_bad_arguments():
    E, x, *_ = graph()
    with pytest.raises(TypeError, match="needs wrt"):
        animate(E, mode="forward")
    with pytest.raises(ValueError, match="not a node of the graph"):
        animate(E, mode="forward", wrt=Value(1.0))
    with pytest.raises(ValueError, match='mode must be "reverse" or "forward"'):
        animate(E, mode="sideways")
    E.backward()
    with pytest.raises(ValueError, match="wrt is the input of forward mode"):
        animate(E, wrt=x)


def test_a_saved_page_says_forward_mode(tmp_path):
    E, x, *_ = graph()
    path = animate(E, mode="forward", wrt=x).save(tmp_path / "forward.html")
    assert "<title>forward mode through E: 6 steps</title>" in path.read_text(encoding="utf-8")
