"""Pictures of computation graphs: drawings, step-throughs and the pages built on them.

The package has one place that lays a graph out and several readers of it:

* ``picture``: turns a graph into a laid-out picture (``plan`` chooses what is drawn and writes the
  Graphviz DOT text with stable node names; ``Drawing`` renders it to SVG or PNG);
* ``drawing``: ``draw(root)`` (and ``draw_dot``, its name in micrograd's lecture), the still picture with every node's value and gradient (its docstring
  is the legend);
* ``animation``: ``animate(root)``, the step-through of the forward and the backward pass;
* ``render``: DOT to SVG (in-process WebAssembly Graphviz, or the system ``dot``) and SVG to PNG;
* ``viewer``: the HTML frame with zoom and pan that Jupyter and saved pages show.

Readers import ``picture``; ``picture`` imports none of them, so there are no import circles.
"""

from .animation import Animation, animate
from .drawing import draw, draw_dot
from .picture import (
    BOX_FILL,
    DEFAULT_MAX_NODES,
    FAILED_FILL,
    FILL,
    RED,
    ROOT_FILL,
    UNKNOWN,
    Drawing,
    GraphTooLargeError,
    grad_computed,
    natural_key,
)
from .render import RenderError

__all__ = [
    "draw",
    "draw_dot",
    "Drawing",
    "animate",
    "Animation",
    "GraphTooLargeError",
    "RenderError",
    "grad_computed",
    "DEFAULT_MAX_NODES",
]
