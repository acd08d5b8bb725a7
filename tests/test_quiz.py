"""Tests of ``autograd.viz.quiz``: the questions and their true numbers (closed forms), the page hiding
them, the rule for a right answer, hints read from the op table, saving, and the errors.
(``test_browser_quiz.py`` drives the page in a real browser.)"""

from __future__ import annotations

import json
import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import autograd
from autograd import Value, scope, topological_order
from autograd.check import explain
from autograd.viz import Quiz, quiz
from autograd.viz.quiz import RIGHT, _decode, is_right

SVG = "{http://www.w3.org/2000/svg}"


def lecture() -> dict[str, Value]:
    """micrograd's lecture expression: L = (a*b + c) * f."""
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return {"a": a, "b": b, "c": c, "e": e, "d": d, "f": f, "L": L}


def svg_of(page: str) -> ET.Element:
    start, end = page.index("<svg"), page.index("</svg>") + len("</svg>")
    return ET.fromstring(page[start:end])


def payload(page: str) -> tuple[dict, list]:
    """The page's public data and its decoded answers."""
    data = json.loads(re.search(r"var D = (\{.*?\});\n", page).group(1))
    return data, _decode(data["blob"], data["seed"])


def test_grad_questions_are_every_node_but_the_root_in_backward_order_with_the_true_gradients():
    v = lecture()
    q = quiz(v["L"])
    assert [x.name for x in q.questions] == ["f", "d", "c", "e", "b", "a"]
    assert all(x.kind == "grad" for x in q.questions) and len(q) == 6
    # closed forms: L = (a*b + c) * f
    a, b, c, f = 2.0, -3.0, 10.0, -2.0
    expected = {"f": a * b + c, "d": f, "c": f, "e": f, "b": a * f, "a": b * f}
    assert {x.name: x.answer for x in q.questions} == expected
    assert q.question("d").prompt == "∂L/∂d" and q.question("d").text == "-2"


def test_the_quiz_reads_and_writes_no_grad():
    v = lecture()
    before = {name: (node.grad, node.grad_pass) for name, node in v.items()}
    q = quiz(v["L"], ask="both")  # no backward() has run: the quiz does not need it
    assert {name: (node.grad, node.grad_pass) for name, node in v.items()} == before
    v["L"].backward()
    v["a"].grad = 123.0  # a wrong number in .grad does not change the quiz's answers
    assert quiz(v["L"]).question("a").answer == q.question("a", "grad").answer == 6.0


def test_data_and_both_ask_the_computed_values_forward_then_the_gradients_backward():
    v = lecture()
    q = quiz(v["L"], ask="data")
    assert [(x.name, x.answer) for x in q.questions] == [("e", -6.0), ("d", 4.0), ("L", -8.0)]
    assert q.question("d").prompt == "d"
    both = quiz(v["L"], ask="both")
    assert [(x.name, x.kind) for x in both.questions][:4] == [("e", "data"), ("d", "data"), ("L", "data"), ("f", "grad")]
    assert len(both) == 3 + 6
    with pytest.raises(KeyError, match="two questions"):
        both.question("d")
    assert both.question("d", "data").answer == 4.0 and both.question("d", "grad").answer == -2.0


def test_unlabelled_nodes_are_named_as_explain_names_them_and_shared_labels_by_position():
    x = Value(0.5, label="x")
    y = (x * 2).tanh() + x  # unlabelled: the product, the tanh, the root; the 2 is a constant
    order = topological_order(y)
    q = quiz(y)
    names = [question.name for question in q.questions]
    assert names == [f"#{order.index(y.parents[0])}", f"#{order.index(y.parents[0].parents[0])}", "x"]
    assert q.question("x").answer == pytest.approx(2 * (1 - math.tanh(1.0) ** 2) + 1, rel=1e-15)
    assert q.question("x").prompt == "∂f/∂x"  # an unlabelled root is f, as in gradcheck

    a, b = Value(1.0, label="w"), Value(3.0, label="w")
    root = a * b
    order = topological_order(root)
    assert sorted(question.name for question in quiz(root).questions) == sorted(f"#{order.index(n)}" for n in (a, b))


def test_the_page_shows_no_answer_before_it_is_asked_for():
    x, w = Value(0.731, label="x"), Value(-1.283, label="w")
    s = x * w
    s.label = "s"
    E = s.sigmoid().log()
    E.label = "E"
    q = quiz(E, ask="both")
    page = q.html()
    for question in q.questions:
        assert question.text not in page and repr(question.answer) not in page, question
    svg = svg_of(page)
    lines = [t.text for t in svg.iter(f"{SVG}text") if t.get("data-line") is not None]
    assert lines and all(line.endswith("?") for line in lines)
    assert not [a for a in svg.iter(f"{SVG}a") if any("title" in k for k in a.attrib)]  # tooltips tell the data
    data, secret = payload(page)
    assert [s["a"] for s in secret] == [question.answer for question in q.questions]  # decodes to the answers
    assert [d["n"] for d in data["q"]] == [question.name for question in q.questions]
    assert 'data-node="s" data-ask="grad"' in page and "<input" in page


def test_the_drawing_has_room_for_the_answer_and_its_mark():
    v = lecture()
    page = quiz(v["L"]).html()
    assert f"-2 {RIGHT}" not in page  # laid out with the mark, shown as ?
    texts = [t.text for t in svg_of(page).iter(f"{SVG}text")]
    assert "grad 1" in texts and "data -8" in texts and texts.count("grad ?") == 6


@pytest.mark.parametrize(
    "typed, answer, right",
    [
        ("-2", -2.0, True),
        (" -2.0 ", -2.0, True),
        ("\u22122", -2.0, True),  # the minus sign −
        ("+6", 6.0, True),
        ("0.2345", 0.23451234, True),  # rounded to the 4 digits typed
        ("0.23451", 0.23451234, True),
        ("0.23452", 0.23451234, False),
        ("0.235", 0.23451234, False),  # 3 digits: too few to be taken as a rounding
        ("2.345e-1", 0.23451234, True),
        ("0.2345123", 0.23451234, True),  # within 1e-6 relative
        ("0", 1.1e-17, True),  # within atol
        ("0", 1e-6, False),
        ("1.000", 0.99996, True),
        ("1", 0.99996, False),
        ("6e0", 6.0, True),
    ],
)
def test_the_rule_for_a_right_answer(typed, answer, right):
    assert is_right(typed, answer, 1e-6, 1e-12, 4) is right


@pytest.mark.parametrize("typed", ["", "abc", "1/2", "--1", ".", "1e", "nan", "inf", "1,5"])
def test_a_text_that_is_not_a_number_is_neither_right_nor_wrong(typed):
    with pytest.raises(ValueError, match="not a number"):
        is_right(typed, 1.0, 1e-6, 1e-12, 4)


def test_hints_read_the_op_table_and_name_the_numbers_still_to_find():
    x, w = Value(0.5, label="x"), Value(-1.5, label="w")
    s = x * w
    s.label = "s"
    h = s.sigmoid()
    h.label = "h"
    E = -h.log()
    E.label = "E"
    q = quiz(E)
    E.backward()
    term = explain(s, E).terms[0]
    hint = q.question("s").hint
    assert term.formula in hint and "op 'sigmoid'" in hint  # the formula explain shows: h * (1 - h)
    assert hint.splitlines()[-1].startswith(f"∂E/∂s = ({h.grad:.4g}) · ")
    # on the page the upstream number is a reference to the question about h, not the number
    data, secret = payload(q.html())
    h_index = q.question("h").index
    assert h_index in secret[q.question("s").index]["h"] and data["q"][h_index]["f"] == "∂E/∂h"
    assert quiz(E, hints=False).question("s").hint is None
    data_hint = quiz(E, ask="data").question("h").hint
    assert "h = sigmoid(s)" in data_hint and "op 'sigmoid'" in data_hint


def test_nodes_restricts_the_questions_and_collapsed_nodes_are_not_asked():
    import nn

    model = nn.MLP(3, [2, 2], activation="sigmoid", seed=0)
    x = [Value(v, label=f"x{i}") for i, v in enumerate([1.0, 0.5, -1.5], start=1)]
    logits = model(x)
    E = nn.cross_entropy(logits, 1)
    E.label = "E"
    whole = quiz(E, collapse="neuron")
    names = {question.name for question in whole.questions}
    assert {"L2.n1.z", "L2.n2.z", "L1.n1.a", "x1", "sum_exp"} <= names and "L1.n1.w1" not in names
    grads = dict(zip(topological_order(E), autograd.engine.gradients(E, topological_order(E))))
    out = quiz(E, collapse="neuron", nodes=logits)
    assert [question.name for question in out.questions] == ["L2.n2.z", "L2.n1.z"]
    assert [question.answer for question in out.questions] == [grads[logits[1]], grads[logits[0]]]
    with pytest.raises(ValueError, match=r"L1.n1.w1 is inside a collapsed box \(L1.n1\)"):
        quiz(E, collapse="neuron", nodes=["L1.n1.w1"])


def test_a_stale_graph_is_refused_with_the_checkers_message():
    v = lecture()
    v["a"].data = 3.0  # changed after the graph was built
    with pytest.raises(ValueError, match=r"stale graph.*e = a \* b.*autograd.replay\(root\)"):
        quiz(v["L"])
    autograd.replay(v["L"])
    assert quiz(v["L"]).question("a").answer == -3.0 * -2.0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"ask": "grads"}, ValueError, "ask must be one of 'grad', 'data', 'both'"),
        ({"hints": 1}, TypeError, "hints must be True or False"),
        ({"rtol": -1}, ValueError, "rtol must be a finite number >= 0"),
        ({"ask": "data", "local_grads": True}, ValueError, "local_grads=True would write"),
        ({"digits": 0}, ValueError, "digits must be an int from 1 to 17"),
        ({"nodes": ["zz"]}, KeyError, "no node labelled 'zz'"),
        ({"nodes": [3]}, TypeError, "nodes must be Values or names"),
        ({"max_nodes": 3}, ValueError, "max_nodes=3"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        quiz(lecture()["L"], **kwargs)


def test_nothing_to_ask_and_not_a_value():
    with pytest.raises(ValueError, match="nothing to ask"):
        quiz(Value(1.0, label="x"))
    with pytest.raises(TypeError, match="quiz\\(\\) needs the Value"):
        quiz(1.0)


def test_save_writes_one_page_atomically(tmp_path, monkeypatch):
    q = quiz(lecture()["L"])
    path = q.save(tmp_path / "quiz.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "<title>quiz: 6 questions on the graph of L</title>" in page
    with pytest.raises(ValueError, match="saves as an .html page"):
        q.save(tmp_path / "quiz.svg")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError):
        q.save(path)
    assert path.read_text(encoding="utf-8") == page  # the old file is whole
    assert [p.name for p in tmp_path.iterdir()] == ["quiz.html"]  # and no temporary file is left


def test_repr_and_jupyter_output():
    q = quiz(lecture()["L"])
    assert isinstance(q, Quiz) and repr(q).startswith("<Quiz of 6 questions (grad) on the graph of L")
    fragment = q._repr_html_()
    assert fragment.startswith('<div class="cr-view cr-quiz"') and "0 of 6 right" in fragment
    assert q.rule in fragment.replace("&#x27;", "'")


def test_scoped_nodes_and_a_stale_grad_do_not_matter():
    with scope("L1"):
        x = Value(2.0, label="x")
        y = x * x
    y.label = "y"
    y.backward()
    y.backward()  # x.grad accumulates to 8: the quiz ignores .grad
    assert quiz(y).question("x").answer == 4.0


def test_a_hint_says_which_operand_and_writes_each_number_once():
    x = Value(1.5, label="x")
    y = x * x - x
    y.label = "y"
    lines = quiz(y).question("x").hint.splitlines()
    assert lines[1] == "via #1 = x * x (op '*', operand 1): ∂#1/∂x = x = 1.5"
    assert lines[2] == "via #1 = x * x (op '*', operand 2): ∂#1/∂x = x = 1.5"
    assert lines[3] == "via y = #1 - x (op '-'): ∂y/∂x = -1"
    assert lines[4] == "∂y/∂x = 1 · 1.5 + 1 · 1.5 + 1 · (-1)"
