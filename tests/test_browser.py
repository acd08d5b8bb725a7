"""The step-through and the drawings in a real browser: headless Chromium, driven by Playwright.

A saved animation is opened from disk, and Jupyter-like pages are built with outputs inserted the way
JupyterLab and VS Code insert them (scripts re-created in place) and the way the classic Notebook does
(scripts evaluated elsewhere); the tests press the buttons and the keys and read what is shown: the
highlighted node, the caption's numbers against ``explain``, the grads not reached yet. Every page
must load without a console error and without a single request outside ``file:`` and ``data:``.

Needs the ``chromium`` program (Debian's package) and Playwright's Python package (in the ``dev``
extra); Playwright's own browser download is never used. Without them the tests skip and say so.
"""

from __future__ import annotations

import os
import shutil
from typing import Iterator

import pytest

INSTALL = (
    "needs Chromium and Playwright's Python package: 'apt-get install chromium' (or set CHAINRULE_CHROMIUM "
    "to a Chromium or Chrome program) and 'pip install playwright' (in the dev extra); "
    "Playwright's own browser download is not needed"
)


def find_chromium() -> str | None:
    for name in (os.environ.get("CHAINRULE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name) if name else None
        if path:
            return path
    return None


CHROMIUM = find_chromium()
sync_api = pytest.importorskip("playwright.sync_api", reason=INSTALL)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=INSTALL)

from test_animate import g4, readme_example  # noqa: E402 (the README's first example)

from autograd import Value, topological_order  # noqa: E402
from autograd.check import explain  # noqa: E402
from autograd.viz import animate, draw  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


class Watched:
    """A page whose console errors, uncaught exceptions and outside requests are collected."""

    def __init__(self, browser) -> None:  # noqa: ANN001
        self.problems: list[str] = []
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))

    def _route(self, route) -> None:  # noqa: ANN001
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.problems.append(f"request to {url}")
            route.abort()


@pytest.fixture
def watched(browser) -> Iterator[Watched]:  # noqa: ANN001
    w = Watched(browser)
    yield w
    w.context.close()
    assert w.problems == [], "the page had problems"


def value_box(order: list[Value], node: Value) -> str:
    return f"v{order.index(node)}"


def step_of(anim, kind: str, node: Value) -> int:  # noqa: ANN001
    return next(s.index for s in anim.steps if s.kind == kind and s.node is node)


def set_slider(root, k: int) -> None:  # noqa: ANN001
    root.locator("[data-act=slider]").evaluate("(el, k) => { el.value = k; el.dispatchEvent(new Event('input')); }", k)


def shown(root) -> dict[str, object]:  # noqa: ANN001
    """What the step-through shows now: its step, the highlighted shapes and arrows, the caption."""
    return root.evaluate(
        """root => ({
            step: +root.getAttribute('data-step'),
            current: [...root.querySelectorAll('.cr-current')].map(e => e.getAttribute('data-name')),
            sources: [...root.querySelectorAll('.cr-source')].map(e => e.getAttribute('data-name')),
            flows: [...root.querySelectorAll('.cr-flow')].map(e => e.getAttribute('data-edge')),
            caption: root.querySelector('.cr-caption').innerText,
        })"""
    )


def lines_of(root, name: str) -> list[dict[str, object]]:  # noqa: ANN001
    return root.evaluate(
        "(root, name) => [...root.querySelectorAll(`[data-name='${name}'] text`)].map("
        "t => ({text: t.textContent, unknown: t.classList.contains('cr-unknown')}))",
        name,
    )


def test_a_saved_step_through_runs_offline_with_buttons_keys_and_slider(watched, tmp_path):
    E, nodes = readme_example()
    order = topological_order(E)
    anim = animate(E)
    path = anim.save(tmp_path / "backprop.html")
    page = watched.page
    page.goto(path.as_uri())
    root = page.locator(".cr-anim")
    assert shown(root)["step"] == 0 and "Step 0 of" in shown(root)["caption"]
    assert page.locator(".cr-static-note").is_hidden()  # the no-script note goes once the script runs

    # the keyboard: the first forward step computes the product x * w
    root.focus()
    page.keyboard.press("ArrowRight")
    product = anim.steps[1].node
    now = shown(root)
    assert now["step"] == 1 and set(now["current"]) == {value_box(order, product), "o" + value_box(order, product)[1:]}
    assert set(now["sources"]) == {value_box(order, nodes["x"]), value_box(order, nodes["w"])}
    assert {"data " + g4(product.data), "grad ?"} <= {line["text"] for line in lines_of(root, value_box(order, product))}
    page.keyboard.press("End")
    assert shown(root)["step"] == len(anim) - 1 and "Done" in shown(root)["caption"]
    page.keyboard.press("Home")
    assert shown(root)["step"] == 0

    # the slider: the backward step of s, whose grad comes from its one consumer h
    k = step_of(anim, "backward", nodes["s"])
    set_slider(root, k)
    now = shown(root)
    s_box, h_box = value_box(order, nodes["s"]), value_box(order, nodes["h"])
    assert now["step"] == k and now["current"] == [s_box] and now["sources"] == [h_box]
    assert set(now["flows"]) == {f"{s_box} o{h_box[1:]}", f"o{h_box[1:]} {h_box}"}
    ex = explain(nodes["s"], E)
    (term,) = ex.terms
    caption = now["caption"]
    assert f"∂E/∂h · ∂h/∂s = ({g4(term.upstream)})" in caption
    assert f"= {g4(term.value)}" in caption and caption.rstrip().endswith(f"∂E/∂s = {g4(ex.total)}")
    assert {"text": f"grad {g4(nodes['s'].grad)}", "unknown": False} in lines_of(root, s_box)
    for name in ("x", "w", "b"):  # not reached by the backward pass yet
        assert {"text": "grad ?", "unknown": True} in lines_of(root, value_box(order, nodes[name]))

    # the buttons
    root.locator("[data-act=next]").click()
    assert shown(root)["step"] == k + 1
    root.locator("[data-act=prev]").click()
    root.locator("[data-act=prev]").click()
    assert shown(root)["step"] == k - 1
    root.locator("[data-act=last]").click()
    assert shown(root)["step"] == len(anim) - 1
    root.locator("[data-act=first]").click()
    assert shown(root)["step"] == 0
    root.locator("[data-act=speed]").select_option("80")
    root.locator("[data-act=play]").click()
    assert root.locator("[data-act=play]").inner_text() == "pause"
    page.wait_for_function("() => +document.querySelector('.cr-anim').getAttribute('data-step') >= 3")
    root.locator("[data-act=play]").click()
    paused = shown(root)["step"]
    assert root.locator("[data-act=play]").inner_text() == "play" and paused >= 3
    page.keyboard.press("Space")  # play again from the keyboard, to the end
    page.wait_for_function(f"() => +document.querySelector('.cr-anim').getAttribute('data-step') == {len(anim) - 1}")
    page.wait_for_function("() => document.querySelector('[data-act=play]').textContent == 'play'")


NOTEBOOK = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<div class="cell" id="lab" style="width: 760px"></div>
<div class="cell" id="classic" style="width: 760px"></div>
<div class="cell" id="drawing" style="width: 760px"></div>
<script>
// JupyterLab and VS Code put the HTML in place and re-create each script there, so it runs in place.
function insertLikeLab(host, html) {
  host.innerHTML = html;
  host.querySelectorAll('script').forEach(function (old) {
    var s = document.createElement('script'); s.textContent = old.textContent; old.replaceWith(s);
  });
}
// The classic Notebook (jQuery) evaluates the scripts' text elsewhere: document.currentScript is not theirs.
function insertLikeClassic(host, html) {
  host.innerHTML = html;
  host.querySelectorAll('script').forEach(function (s) { (0, eval)(s.textContent); });
}
</script></body></html>"""


def test_outputs_in_a_notebook_page_fit_the_cell_zoom_and_step_independently(watched):
    import nn

    model = nn.MLP(4, [8, 3], seed=0)
    loss = nn.cross_entropy(model([5.1, 3.5, 1.4, 0.2]), 0)
    loss.backward()
    drawing = draw(loss, collapse="neuron")
    E, nodes = readme_example()
    anim = animate(E)
    page = watched.page
    page.set_content(NOTEBOOK)
    page.evaluate(
        "([a, b, d]) => { insertLikeLab(document.getElementById('lab'), a);"
        " insertLikeClassic(document.getElementById('classic'), b);"
        " insertLikeLab(document.getElementById('drawing'), d); }",
        [anim._repr_html_(), anim._repr_html_(), drawing._repr_html_()],
    )
    ids = page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) == len(set(ids)), "two outputs share an element id"

    # the drawing is wider than the cell: it is fitted to the cell, and "1:1" shows it at full size, scrolling
    view = page.locator("#drawing .cr-view")
    frame = view.locator(".cr-frame")
    natural = float(view.get_attribute("data-width"))
    fitted = frame.evaluate("f => f.querySelector('svg').getBoundingClientRect().width")
    assert natural > 760 and fitted <= 760
    view.locator("[data-zoom='1']").click()
    assert abs(frame.evaluate("f => f.querySelector('svg').getBoundingClientRect().width") - natural) < 2
    assert frame.evaluate("f => f.scrollWidth > f.clientWidth")
    view.locator("[data-zoom='fit']").click()
    assert frame.evaluate("f => f.querySelector('svg').getBoundingClientRect().width") <= 760

    # the two step-throughs both run, and each keeps its own step
    lab, classic = page.locator("#lab .cr-anim"), page.locator("#classic .cr-anim")
    assert shown(lab)["step"] == shown(classic)["step"] == 0
    lab.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    classic.locator("[data-act=last]").click()
    assert shown(lab)["step"] == 2 and shown(classic)["step"] == len(anim) - 1
    order = topological_order(E)
    assert {"text": "grad ?", "unknown": True} in lines_of(lab, value_box(order, nodes["x"]))
    assert {"text": f"grad {g4(nodes['x'].grad)}", "unknown": False} in lines_of(classic, value_box(order, nodes["x"]))


def test_a_hand_set_leaf_grad_is_shown_marked_in_the_step_through(watched, tmp_path):
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    y = (x * w).tanh()
    y.label = "y"
    y.backward()
    w.grad = 5.0  # by hand, after the pass
    order = topological_order(y)
    anim = animate(y)
    page = watched.page
    page.goto(anim.save(tmp_path / "hand.html").as_uri())
    root = page.locator(".cr-anim")
    hand = "t => t.classList.contains('cr-hand')"
    grad_line = f"[data-name='{value_box(order, w)}'] text:has-text('grad')"
    assert root.locator(grad_line).evaluate(hand) is False  # step 0: grad ?, grey
    set_slider(root, step_of(anim, "backward", w))
    line = root.locator(grad_line)
    assert line.text_content() == "grad 5 (by hand)" and line.evaluate(hand) is True
    assert "set by hand after the backward pass" in shown(root)["caption"]
    set_slider(root, 0)
    assert root.locator(grad_line).evaluate(hand) is False
