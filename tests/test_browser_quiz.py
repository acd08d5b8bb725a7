"""The quiz page in a real browser: headless Chromium, driven by Playwright (the setup of
``test_browser.py``, whose fixtures check every page for console errors and outside requests).

Typed answers are graded as ``Quiz.is_right`` says; right and wrong show as words, symbols and the
``data-verdict`` contract; hints name what is still to be found and fill it in once found; "show
answer" reveals one node; the score follows; the keyboard alone is enough.
"""

from __future__ import annotations

import pytest

from test_browser import CHROMIUM, INSTALL, NOTEBOOK, browser, sync_api, watched  # noqa: F401 (fixtures)
from test_quiz import lecture

from autograd.viz import quiz

pytestmark = pytest.mark.skipif(CHROMIUM is None or sync_api is None, reason=INSTALL)


def line(root, name: str) -> str:  # noqa: ANN001
    """The text of a node's asked line in the drawing (its first one)."""
    return root.evaluate(
        "(root, name) => root.querySelector(`g[data-node='${name}'] text[data-line]`).textContent", name
    )


def verdicts(root, name: str) -> set:  # noqa: ANN001
    return set(root.evaluate(
        "(root, name) => [...root.querySelectorAll(`[data-node='${name}']`)].map(e => e.getAttribute('data-verdict'))", name
    ))  # fmt: skip


def test_a_saved_quiz_grades_hints_shows_and_scores_offline(watched, tmp_path):
    v = lecture()
    q = quiz(v["L"])
    path = q.save(tmp_path / "quiz.html")
    page = watched.page
    page.goto(path.as_uri())
    root = page.locator(".cr-quiz")
    score = root.locator(".cr-score")
    assert score.inner_text() == "0 of 6 right"
    assert page.locator(".cr-static-note").is_hidden()
    text = page.locator("body").inner_text()
    assert "grad 4" not in text and line(root, "f") == "grad ?"  # nothing hidden is in the page's text

    # a right answer: the words, the mark in the drawing, the contract, the score; focus moves on
    box = root.locator("input[data-node=f]")
    box.fill("4")
    box.press("Enter")
    item = root.locator("li[data-node=f]")
    assert item.locator(".cr-verdict").inner_text() == "✓ right"
    assert verdicts(root, "f") == {"right"} and line(root, "f") == "grad 4 ✓"
    assert score.inner_text() == "1 of 6 right"
    assert page.evaluate("() => document.activeElement.getAttribute('data-node')") == "d"

    # a wrong answer
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    assert root.locator("li[data-node=d] .cr-verdict").inner_text() == "✗ wrong"
    assert verdicts(root, "d") == {"wrong"} and line(root, "d") == "grad ? ✗"
    assert score.inner_text() == "1 of 6 right"
    page.keyboard.type("-2")  # the text was selected: typing replaces it
    page.keyboard.press("Enter")
    assert verdicts(root, "d") == {"right"} and score.inner_text() == "2 of 6 right"

    # a hint: the local rule with the numbers it needs; an upstream still to find is named, then filled in
    root.locator("li[data-node=b] [data-act=hint]").click()
    hint = root.locator("li[data-node=b] .cr-hint-box")
    assert hint.is_visible()
    shown = hint.inner_text()
    assert "via e = a * b (op '*'): ∂e/∂b = a = 2" in shown and "∂L/∂b = ∂L/∂e · 2" in shown
    assert "Still to find: ∂L/∂e" in shown
    root.locator("li[data-node=e] [data-act=show]").click()  # show answer: one node revealed
    assert "∂L/∂b = (-2) · 2" in hint.inner_text() and "Still to find" not in hint.inner_text()
    assert root.locator("input[data-node=e]").input_value() == "-2"
    assert root.locator("input[data-node=e]").evaluate("e => e.readOnly")
    assert verdicts(root, "e") == {"shown"} and line(root, "e") == "grad -2 ○"
    assert score.inner_text() == "2 of 6 right, 1 shown"

    # not a number: said so, not graded
    box = root.locator("input[data-node=a]")
    box.fill("six")
    box.press("Enter")
    assert "not a number" in root.locator("li[data-node=a] .cr-verdict").inner_text() and verdicts(root, "a") == {None}

    # the keyboard alone: Tab from one box reaches the next question's box
    box.fill("6")
    box.press("Enter")
    root.locator("input[data-node=c]").focus()
    for _ in range(3):  # hint, show answer, then the next question's box
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('data-node')") == "e"


def test_the_page_grades_as_quiz_is_right_says(watched, tmp_path):
    from autograd import Value

    x, w = Value(0.731, label="x"), Value(-1.283, label="w")
    E = (x * w).sigmoid()
    E.label = "E"
    q = quiz(E)
    page = watched.page
    page.goto(q.save(tmp_path / "q.html").as_uri())
    question = q.question("x")
    exact = repr(question.answer)
    tries = [exact, question.text, f"{question.answer:.5g}", f"{question.answer:.3g}", f"{question.answer * 1.001:.6g}",
             "\u2212" + f"{-question.answer:.6g}" if question.answer < 0 else f"+{question.answer:.6g}", "0"]  # fmt: skip
    box = page.locator("input[data-node=x]")
    for typed in tries:
        box.fill(typed)
        box.press("Enter")
        expected = "right" if q.is_right(question, typed) else "wrong"
        assert page.locator("li[data-node=x]").get_attribute("data-verdict") == expected, typed
    assert {q.is_right(question, t) for t in tries} == {True, False}


def test_the_iris_quiz_in_a_notebook_page(watched):
    import nn
    from autograd import Value

    model = nn.MLP(4, [2, 3], activation="sigmoid", seed=0)
    logits = model([Value(v, label=f"x{i}") for i, v in enumerate([5.1, 3.5, 1.4, 0.2], start=1)])
    E = nn.cross_entropy(logits, 0)
    E.label = "E"
    q = quiz(E, collapse="neuron")
    page = watched.page
    page.set_content(NOTEBOOK)
    page.evaluate(
        "([a, b]) => { insertLikeLab(document.getElementById('lab'), a); insertLikeClassic(document.getElementById('classic'), b); }",
        [q._repr_html_(), q._repr_html_()],
    )
    ids = page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) == len(set(ids))
    for cell in ("#lab", "#classic"):
        root = page.locator(f"{cell} .cr-quiz")
        question = q.question("L2.n1.z")
        box = root.locator("input[data-node='L2.n1.z']")
        box.focus()  # its box in the drawing is highlighted
        assert root.locator(".cr-current").count() == 1
        box.fill(question.text)
        box.press("Enter")
        assert root.locator("li[data-node='L2.n1.z']").get_attribute("data-verdict") == "right"
        assert root.locator(".cr-score").inner_text() == f"1 of {len(q)} right"
        box_line = root.evaluate("root => [...root.querySelectorAll('text[data-line]')].map(t => t.textContent)")
        assert f"L2.n1.z: data {logits[0].data:.4g}, grad {question.text} ✓" in box_line
