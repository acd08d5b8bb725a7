"""``draw(root)``: the static drawing of a computation graph, every node's value and gradient.

A reader of ``autograd.viz.picture``, which lays the graph out; this module only chooses what a still
picture shows and documents its legend.
"""

from __future__ import annotations

from typing import Any, Iterable, Union

from ..engine import Value
from .picture import DEFAULT_MAX_NODES, Drawing, plan

__all__ = ["draw", "draw_dot"]


def draw(
    root: Value,
    *,
    local_grads: bool = False,
    check: Iterable[Any] | None = None,
    collapse: Union[int, str, None] = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    digits: int = 4,
    rankdir: str = "LR",
) -> Drawing:
    """Draw the computation graph of ``root`` with each node's data and gradient.

    Drawing reads the graph and changes nothing in it. Before ``root.backward()`` the grads are drawn
    as ``grad ?``: no backward pass has computed them yet; grads set by hand are drawn with their number.

    Legend:
        * Every value is a rounded box with one line per field: its label (if it has one), ``data``
          and ``grad``, the numbers with ``digits`` significant digits (1e-05 stays 1e-05). A grad that
          no backward pass has computed yet reads ``grad ?``, in grey italics. A grad you set by hand
          (``v.grad = 4.0`` or ``c._backward()``, ``grad_source == "hand"``) reads ``grad 4 (by hand)``,
          in violet italics; a collapsed box counts them ("5 grads set (by hand)").
        * OUT OF DATE (dark orange): when values were changed after the graph was computed (a training
          step, ``p.data -= ...``) and not replayed, a banner over the drawing says so and what to do
          (``autograd.replay(root)``, then ``autograd.zero_grad(root); root.backward()``), and each node
          that no longer matches its operands has a dashed orange border and the line
          "out of date: now <value its op gives now>" (a box: "n nodes out of date"). The detection is
          the checker's (``autograd.check.staleness``).
        * Fill colour tells the kind of value: light blue = input (``Value``), amber = parameter
          (``Parameter``), light grey with a dashed border = constant (a plain number in the
          expression, such as the 2 in ``x * 2``), white = intermediate (computed) value.
        * The root (the node passed to ``draw``, whose grad is 1) is light green with a thick border.
        * Each operation is a small grey ellipse naming the primitive ("+", "*", "**2", "exp",
          "tanh", ...); arrows run from its operands into it and from it to the value it makes. An
          operand used twice (``x * x``) has two arrows.
        * ``local_grads=True`` writes on each operand's arrow the local derivative of the operation
          with respect to that operand, the factor the chain rule multiplies by: an input's grad is
          the sum, over its arrows, of that number times the grad of the value the operation makes.
        * Nodes made inside ``autograd.scope`` blocks (nn's layers and neurons) are grouped in
          dashed frames named by the scope; nested scopes nest. ``collapse`` turns each scope at a
          depth into one lavender 3-D box showing the scope's name, its node count and the values
          it hands out of the scope; an arrow into a box stands for all the arrows from that tail
          into the box's nodes ("×n" counts them when n > 1).
        * A network reads from left to right: its inputs stand in one column in label order (x1 on
          top), and the neurons of a layer keep the order of their names (n1 on top), in every
          drawing of the same graph.
        * With ``check=report`` a node whose gradient check failed is red (fill, border and text),
          with the lines "CHECK FAILED", "analytic ..." and "numeric ..."; a passed check adds the
          line "check ok", any other status "check: <status>". A collapsed box with failures inside
          turns red and lists them.
          With ``check=grade(root)`` (your hand-set grads graded) a right one adds "right", a wrong
          one is red with "WRONG" and "true <the true gradient>"; unanswered nodes add nothing.
          With ``check=compare_torch(root)`` an agreeing node adds "torch: exact" or "torch: close";
          one that differs is red with "DIFFERS FROM TORCH", "torch data ..." and "torch grad ...".

    In SVG every node also has a tooltip naming it, and CSS classes: its role ("input",
    "parameter", "constant", "operation"), plus "root", "failed", "stale", "op" or "box" where they apply.

    Args:
        root: the output node; every node it depends on is drawn.
        local_grads: label operand arrows with the local derivatives (``node.local_grads``).
        check: a gradient-check report, ``autograd.check.gradcheck(...)`` (or ``grade(...)``): rows with ``.node``,
            ``.analytic``, ``.numeric``, ``.ok`` and ``.status``. Every row's node must be in the graph.
        collapse: draw every scope at this depth as one box: 1 or "layer" for scopes like "L1",
            2 or "neuron" for "L1.n2" (the names follow nn's scope naming). None draws every node.
        max_nodes: refuse (GraphTooLargeError) to draw more shapes than this; the message says how
            to draw less. Layout time grows quickly with size, and the picture stops being readable.
        digits: significant digits of the numbers (1 to 17).
        rankdir: "LR" (inputs on the left, the default), "TB", "RL" or "BT".

    Returns:
        a ``Drawing``: ``.source`` is the DOT text, ``.save("graph.svg")`` or ``.save("graph.png")``
        writes it, and in Jupyter it shows itself.

    Raises:
        GraphTooLargeError: too many nodes to draw (nothing is built; a 100,000-node graph is
            refused at once).
        TypeError, ValueError: a bad argument, named in the message.
    """
    return plan(root, local_grads=local_grads, check=check, collapse=collapse, max_nodes=max_nodes,
                digits=digits, rankdir=rankdir, caller="draw").drawing  # fmt: skip


def draw_dot(root: Value, format: str = "svg", rankdir: str = "LR", **options: Any) -> Drawing:
    """micrograd's name for ``draw`` (lecture compatibility): the graph left to right, each value a box
    with its label, ``data`` and ``grad``, each operation a small node between its operands and its
    value, as the lecture's ``draw_dot`` draws it. Hand-set grads show their number, marked "(by hand)".

    ``format`` is accepted as the lecture passes it ("svg" or "png"); the drawing renders to either
    (``.save("graph.png")``). Any other option is ``draw``'s (``local_grads=True``, ``digits=``, ...).
    """
    if format not in ("svg", "png"):
        raise ValueError(f"draw_dot(format=...) takes 'svg' or 'png', got {format!r}; Drawing.save() writes other formats")
    return draw(root, rankdir=rankdir, **options)
