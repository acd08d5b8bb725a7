"""Finding a stale graph before checking it.

A graph is stale when its stored numbers are not those of a backward pass at its current values:

* **values**: a computed node's value (or local derivatives) is not what its op gives from its
  parents' current values. This is the normal state right after a training step
  (``p.data -= lr * p.grad``): the parameters moved, the nodes made from them did not.
* **grads**: a node's grad was not written by the last backward pass from this root (it comes from
  a backward of another root that shares the node, or was zeroed). A grad set by hand
  (``grad_source == "hand"``) is not stale: it is yours, and ``autograd.check.grade`` grades it. The engine numbers its
  backward passes in ``node.grad_pass``; with an engine that does not, this part finds nothing.

Checking the gradients of a stale graph would blame the wrong nodes (every node downstream of a
change fails), so ``gradcheck`` and ``compare`` say once that the graph is stale, which nodes are,
and what to do, instead of checking it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import HAND_SET, Value, recompute
from .naming import Names, num

# How many stale nodes a message names.
SHOWN = 3


@dataclass(frozen=True, eq=False)
class StaleGraph:
    """Why a graph's gradients were not checked.

    Attributes:
        kind: "values" (computed nodes that no longer match their op at their parents' current
            values) or "grads" (nodes whose grad no backward pass from this root wrote).
        nodes: every such node, inputs first.
        headline: one line naming what is stale and the first such nodes.
        advice: the headline and what to do.
    """

    kind: str
    nodes: tuple[Value, ...]
    headline: str
    advice: str

    def __str__(self) -> str:
        return self.advice


def find_stale_values(names: Names) -> StaleGraph | None:
    """The computed nodes whose stored value or local derivatives differ from what their op gives
    from their parents' current values (or whose op now fails there); None if there are none.

    Only the first node on each path from a change differs: the nodes after it still agree with
    their (stale) parents. Linear in the size of the graph: one evaluation of each node's op.
    """
    stale: list[Value] = []
    found: list[str] = []
    for node in names.order:
        parents = node.parents
        if not parents:
            continue
        try:
            value, partials = recompute(node, [p.data for p in parents])
        except (ArithmeticError, ValueError) as exc:
            stale.append(node)
            if len(found) < SHOWN:
                found.append(f"{_shown(names, node)}, whose op now fails: {exc}")
            continue
        if value != node.data or tuple(partials) != tuple(node.local_grads):
            stale.append(node)
            if len(found) < SHOWN:
                if value != node.data:
                    now = f"holds {num(node.data)}, but {names.definition(node)} is {num(value)} now"
                else:
                    now = (
                        f"holds local derivatives ({', '.join(map(num, node.local_grads))}) but its op gives "
                        f"({', '.join(map(num, partials))}) now"
                    )
                found.append(f"{_shown(names, node)} {now}")
    if not stale:
        return None
    n = len(stale)
    headline = (
        f"the graph is stale: {n} computed node{'s' if n != 1 else ''} no longer "
        f"{'match their op at their' if n != 1 else 'matches its op at its'} parents' current values ("
        + "; ".join(found)
        + ("; ..." if n > len(found) else "")
        + ")"
    )
    root = names.root_name()
    advice = (
        f"{headline}. Values were changed after backward() (as a training step does), so the gradients "
        "belong to the old values and checking them would blame the wrong nodes. Recompute the "
        f"values and the gradients, then check again: autograd.replay(root); autograd.zero_grad(root); "
        f"root.backward() (root is {root})."
    )
    return StaleGraph("values", tuple(stale), headline, advice)


def find_stale_grads(names: Names) -> StaleGraph | None:
    """The nodes whose grad was not written by the last backward pass from the root, by the
    engine's pass numbers (``grad_pass``); None if there are none or the engine does not number them."""
    root_pass = getattr(names.root, "grad_pass", None)
    if root_pass is None:
        return None
    # A grad set by hand (grad_pass HAND_SET) is the user's own number, not a stale one: the checks read it
    # as it is, and ``grade`` grades it.
    stale = tuple(
        node for node in names.order if getattr(node, "grad_pass", root_pass) not in (root_pass, HAND_SET)
    )
    if not stale:
        return None
    n = len(stale)
    root = names.root_name()
    shown = _listed(names, stale)
    headline = (
        f"the graph is stale: {n} node{'s' if n != 1 else ''} {'hold gradients' if n != 1 else 'holds a gradient'} "
        f"that the last backward pass from {root} did not write ({shown})"
    )
    advice = (
        f"{headline}. They come from a backward() of another root that shares them, or were zeroed. "
        f"Differentiate this root again, then check: autograd.zero_grad(root); root.backward() (root is {root})."
    )
    return StaleGraph("grads", stale, headline, advice)


def _listed(names: Names, stale: tuple) -> str:
    """The first ``SHOWN`` stale nodes by name, "..." after them if there are more."""
    return ", ".join(names.name(node) for node in stale[:SHOWN]) + (", ..." if len(stale) > SHOWN else "")


def find_replayed_grads(names: Names) -> StaleGraph | None:
    """The gradients of a backward pass that a replay has since made out of date; None otherwise.

    ``backward`` leaves the root's grad at exactly 1 and numbers its pass in every node it reaches
    (``grad_pass``); a replay that moves a value keeps the grads but sets every ``grad_pass`` to 0.
    A root holding 1 with a ``grad_pass`` of 0 therefore held a backward pass's gradients that belong
    to values the graph no longer has: that is a stale graph, said once, not a missing backward.
    """
    root = names.root
    if getattr(root, "grad_pass", None) != 0 or root.grad != 1.0:
        return None
    stale = tuple(node for node in names.order if getattr(node, "grad_pass", 0) == 0)
    n = len(stale)
    name = names.root_name()
    shown = _listed(names, stale)
    headline = (
        f"the graph is stale: a replay recomputed its values after backward(), so the gradients of its "
        f"{n} node{'s' if n != 1 else ''} ({shown}) belong to values it no longer has"
    )
    advice = (
        f"{headline}. Differentiate again at the current values, then check: autograd.zero_grad(root); "
        f"root.backward() (root is {name})."
    )
    return StaleGraph("grads", stale, headline, advice)


def _shown(names: Names, node: Value) -> str:
    name = names.name(node)
    return f"{name} = {names.definition(node)}"
