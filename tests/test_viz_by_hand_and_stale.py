"""Pictures of hand-set grads and of stale graphs (issue 18 item 1, issue 17 item 5): a hand-set grad
shows its number marked "(by hand)", never "?"; a stale graph is drawn with a warning and its out-of-date
nodes marked, and a step-through of it is refused, so no picture writes a false equation."""

from __future__ import annotations

import pytest

import autograd
from autograd import Value, replay, zero_grad
from autograd.check import BackwardNeededError
from autograd.viz import animate, draw
from autograd.viz.picture import HAND_COLOUR, STALE_COLOUR


def small():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    p = x * w
    y = p.tanh()
    y.label = "y"
    return x, w, p, y


def test_a_hand_set_grad_is_drawn_with_its_number_not_a_question_mark():
    x, w, p, y = small()
    y.grad, w.grad = 1.0, 4.0
    drawing = draw(y)
    assert "grad 1 (by hand)" in drawing.source and "grad 4 (by hand)" in drawing.source
    assert drawing.source.count("grad ?") == 2  # x and p: nothing set, nothing computed
    svg = drawing.svg()
    assert svg.count(f'fill="{HAND_COLOUR}"') == 2
    before = draw(small()[3]).source
    assert before != drawing.source  # the assignments show


def test_a_collapsed_box_counts_its_hand_set_grads():
    from nn import MLP

    model = MLP(2, [2, 1])
    out = model([Value(1.0, label="x1"), Value(2.0, label="x2")])
    out.backward()
    for q in model.parameters()[:3]:
        q.grad = 0.5
    assert "3 grads set (by hand)" in draw(out, collapse="neuron").source


def test_draw_of_a_stale_graph_warns_and_marks_the_out_of_date_node():
    x, w, p, y = small()
    y.backward()
    w.data += 0.5
    drawing = draw(y)
    source = drawing.source
    assert "OUT OF DATE" in source and "autograd.replay(root)" in source and "root.backward()" in source
    assert "out of date: now -5" in source  # x * w at the current values, beside the old -6
    assert source.count("out of date: now") == 1  # only the node that no longer matches its operands
    assert STALE_COLOUR in drawing.svg()
    replay(y)
    assert "OUT OF DATE" not in draw(y).source


def test_draw_of_a_fresh_graph_has_no_warning():
    x, w, p, y = small()
    assert "OUT OF DATE" not in draw(y).source
    y.backward()
    assert "OUT OF DATE" not in draw(y).source


def test_animate_of_a_stale_graph_refuses_with_what_to_do():
    x, w, p, y = small()
    y.backward()
    w.data += 0.5
    with pytest.raises(BackwardNeededError, match=r"stale.*not true.*autograd\.replay\(root\), then autograd\.zero_grad"):
        animate(y)
    replay(y)
    with pytest.raises(BackwardNeededError):  # replayed, not differentiated again
        animate(y)
    zero_grad(y)
    y.backward()
    steps = animate(y).steps
    assert "x * w = 2 * (-2.5) = -5" in steps[1].text


def test_animate_after_a_training_step_of_a_network_refuses():
    from nn import MLP, SGD

    model = MLP(2, [2, 1])
    loss = model([Value(1.0, label="x1"), Value(-1.0, label="x2")]) ** 2
    loss.backward()
    SGD(model.parameters(), lr=0.1).step()
    with pytest.raises(BackwardNeededError, match="stale"):
        animate(loss, collapse="neuron")
    assert "OUT OF DATE" in draw(loss, collapse="neuron").source


def test_animate_shows_a_leafs_hand_set_grad_and_refuses_a_computed_ones():
    x, w, p, y = small()
    y.backward()
    w.grad = 5.0
    anim = animate(y)
    step_w = next(s for s in anim.steps if s.kind == "backward" and s.node is w)
    assert "set by hand" in step_w.text
    assert "grad 5 (by hand)" in anim.svg()
    assert f'fill="{HAND_COLOUR}"' in anim.svg()
    assert "cr-hand" in anim.html()
    p.grad = 3.0
    with pytest.raises(BackwardNeededError, match=r"set by hand after it \(#2\)"):
        animate(y)


def test_animate_of_a_graph_differentiated_by_hand_points_to_grade():
    x, w, p, y = small()
    y.grad = 1.0
    for node in reversed(autograd.topological_order(y)):
        node._backward()
    with pytest.raises(BackwardNeededError, match=r"grade\(root\)"):
        animate(y)


def test_draw_with_a_grade_report_marks_right_and_wrong():
    from autograd.check import grade

    x, w, p, y = small()
    y.grad, p.grad = 1.0, 3.0  # dy/dp = 1 - tanh(-6)^2, not 3
    source = draw(y, check=grade(y)).source
    assert "right" in source and "WRONG" in source and "true 2.458e-05" in source
    assert "CHECK FAILED" not in source
