"""Show an SVG in Jupyter or in a saved HTML file: a frame that fits the page's width, zoom and pan.

A wide graph shown at its natural size is cut off at the right of a notebook cell. Here the SVG is
put in a frame that fits the cell's width (by CSS alone, so it works even where scripts do not run,
as in an untrusted notebook), scrolls when it is taller than most of the window, and, where scripts
run (a trusted notebook, VS Code, a saved file), gets buttons to zoom in and out, "fit" and "1:1",
the keys + - 0 when the frame has focus, and a drag with the mouse to pan.

Everything is inline (HTML, CSS, script): nothing is fetched from the network. Every output gets
its own id prefix, so two drawings in one notebook never share an element id. ``autograd.viz.animation``
builds its step-through on the same frame.
"""

from __future__ import annotations

import html
import json
import re
import uuid

__all__ = ["new_id", "embed_svg", "frame_html", "page"]

_SVG_START = re.compile(r"<svg\b")
_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)(pt|px)?"[^>]*?\bheight="([\d.]+)(pt|px)?"', re.S)
_ID = re.compile(r'(\s)id="([^"]*)"')

STYLE = """
.cr-view { font-family: Helvetica, Arial, sans-serif; font-size: 13px; color: #222; margin: 4px 0; }
.cr-view:focus { outline: 2px solid #9ec5fe; outline-offset: 2px; }
.cr-bar { display: flex; flex-wrap: wrap; align-items: center; gap: 4px; margin: 0 0 4px 0; }
.cr-bar button, .cr-bar select { font: inherit; padding: 1px 8px; border: 1px solid #bbb; border-radius: 4px;
  background: #f6f6f6; color: #222; cursor: pointer; min-width: 2.2em; }
.cr-bar button:hover { background: #e9e9e9; }
.cr-bar .cr-hint { color: #777; font-size: 12px; margin-left: 6px; }
.cr-frame { overflow: auto; max-height: 80vh; border: 1px solid #e0e0e0; border-radius: 4px; background: #fff; }
.cr-frame.cr-panning { cursor: grabbing; }
.cr-frame > svg { display: block; }
"""

# The viewer's script: ``crView(root)`` wires the zoom buttons, the keys and the pan of one frame and
# returns an object the animation uses to keep a shape in view. Kept small and free of dependencies.
SCRIPT = r"""
function crView(root) {
  var frame = root.querySelector('.cr-frame'), svg = frame.querySelector('svg');
  var natural = parseFloat(root.getAttribute('data-width')) || svg.getBoundingClientRect().width;
  var zoom = null;  // null: fit the frame's width
  function apply() {
    if (zoom === null) { svg.style.width = ''; svg.style.maxWidth = '100%'; }
    else { svg.style.maxWidth = 'none'; svg.style.width = (natural * zoom) + 'px'; }
    svg.style.height = 'auto';
    var label = root.querySelector('[data-zoom-level]');
    if (label) label.textContent = zoom === null ? 'fit' : Math.round(zoom * 100) + '%';
  }
  function current() { return zoom === null ? svg.getBoundingClientRect().width / natural : zoom; }
  function set(z) { zoom = z === null ? null : Math.min(8, Math.max(0.1, z)); apply(); }
  var actions = {
    'in': function () { set(current() * 1.25); }, 'out': function () { set(current() / 1.25); },
    'fit': function () { set(null); }, '1': function () { set(1); }
  };
  root.querySelectorAll('[data-zoom]').forEach(function (b) {
    b.addEventListener('click', function () { actions[b.getAttribute('data-zoom')](); });
  });
  root.querySelectorAll('.cr-needs-script').forEach(function (el) { el.style.display = ''; });
  root.addEventListener('keydown', function (e) {
    var key = {'+': 'in', '=': 'in', '-': 'out', '0': 'fit'}[e.key];
    if (key && !e.ctrlKey && !e.metaKey && !e.altKey) { actions[key](); e.preventDefault(); e.stopPropagation(); }
  });
  var drag = null;
  frame.addEventListener('pointerdown', function (e) {
    if (e.button !== 0) return;
    drag = {x: e.clientX, y: e.clientY, left: frame.scrollLeft, top: frame.scrollTop};
    frame.classList.add('cr-panning');
  });
  window.addEventListener('pointermove', function (e) {
    if (!drag) return;
    frame.scrollLeft = drag.left - (e.clientX - drag.x);
    frame.scrollTop = drag.top - (e.clientY - drag.y);
  });
  window.addEventListener('pointerup', function () { drag = null; frame.classList.remove('cr-panning'); });
  apply();
  return {
    zoom: set,
    crowded: function () { return natural > 2.2 * frame.clientWidth; },  // too small to read when fitted
    reveal: function (el) {  // scroll the frame (not the page) so that el is in view
      if (!el) return;
      var f = frame.getBoundingClientRect(), r = el.getBoundingClientRect();
      if (r.left < f.left) frame.scrollLeft -= f.left - r.left + 20;
      else if (r.right > f.right) frame.scrollLeft += r.right - f.right + 20;
      if (r.top < f.top) frame.scrollTop -= f.top - r.top + 20;
      else if (r.bottom > f.bottom) frame.scrollTop += r.bottom - f.bottom + 20;
    }
  };
}
"""

ZOOM_BUTTONS = (
    '<button type="button" data-zoom="out" title="zoom out (-)">&minus;</button>'
    '<button type="button" data-zoom="fit" title="fit the width (0)" data-zoom-level>fit</button>'
    '<button type="button" data-zoom="in" title="zoom in (+)">+</button>'
    '<button type="button" data-zoom="1" title="actual size">1:1</button>'
    '<span class="cr-hint">drag to pan</span>'
)


def new_id(kind: str = "view") -> str:
    """An element id no other output shares: ``cr-view-3f2a9c81d0``."""
    return f"cr-{kind}-{uuid.uuid4().hex[:10]}"


def embed_svg(svg: str, prefix: str) -> tuple[str, float]:
    """SVG text ready to put inside HTML, and its natural width in CSS pixels.

    The XML prologue is dropped, every ``id`` gets ``prefix`` (so that two SVGs on one page never
    share an id), and the root gets the style that fits it to its frame's width.
    """
    match = _SVG_START.search(svg)
    if match is None:
        raise ValueError("not an SVG document: no <svg> element")
    svg = svg[match.start() :]
    size = _SIZE.match(svg)
    width = 0.0
    if size:
        width = float(size.group(1)) * (4 / 3 if size.group(2) == "pt" else 1)
    svg = _ID.sub(lambda m: f'{m.group(1)}id="{prefix}-{m.group(2)}"', svg)
    svg = svg.replace("<svg", '<svg style="max-width:100%;height:auto"', 1)
    return svg, width


def frame_html(svg: str, *, uid: str | None = None, body_before: str = "", body_after: str = "",
               script: str = "crView(root);", kind: str = "view", static_note: str = "") -> str:  # fmt: skip
    """An HTML fragment: the zoom bar, the SVG in its frame, and the script that wires them.

    ``body_before``/``body_after`` go before the zoom bar and after the frame (the animation's
    controls and caption); ``script`` runs with ``root`` set to the fragment's outer element;
    ``static_note`` is shown only where scripts do not run.
    """
    uid = uid or new_id(kind)
    markup, width = embed_svg(svg, uid)
    note = f'<div class="cr-static-note" style="color:#777;font-size:12px">{static_note}</div>' if static_note else ""
    bar = f'<div class="cr-bar cr-needs-script" style="display:none">{ZOOM_BUTTONS}</div>'
    # The fragment finds its own element: by document.currentScript where the script is run in place
    # (JupyterLab, VS Code, a saved file), else by its id (the classic notebook runs it elsewhere).
    boot = (
        f"(function () {{ var s = document.currentScript, root = s && s.parentElement;"
        f" if (!root || root.id !== {json.dumps(uid)}) root = document.getElementById({json.dumps(uid)});"
        f" if (!root || root.getAttribute('data-ready')) return; root.setAttribute('data-ready', '1');"
        f" var note = root.querySelector('.cr-static-note'); if (note) note.style.display = 'none';"
        f" {SCRIPT} {script} }})();"
    )
    return (
        f'<div class="cr-view cr-{kind}" id="{uid}" tabindex="0" data-width="{width:.1f}">'
        f"<style>{STYLE}</style>{body_before}{bar}"
        f'<div class="cr-frame">{markup}</div>{body_after}{note}'
        f"<script>{_script_safe(boot)}</script></div>"
    )


def _script_safe(code: str) -> str:
    """Code that can sit inside ``<script>``: no ``</`` can end the element early."""
    return code.replace("</", "<\\/")


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document around ``body`` (for ``save("....html")``)."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body { margin: 16px; background: #fff; }</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
