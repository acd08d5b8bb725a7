"""How the checking tools write nodes and numbers: one name per node, used in every table, message
and derivation, and the lookup that turns such a name back into the node.

A node is named by its label; an unlabelled node by ``#i``, its position in
``topological_order(root)`` (the order every tool walks, so ``#i`` means the same node in
``gradcheck``'s table, in ``compare``'s keys, in ``explain`` and in ``chainrule check --explain``).
An unlabelled root is named ``f`` (as in df/dx), or ``root`` if a node is labelled ``f``; that name
can be looked up like a label. In LaTeX, ``#i`` is written ``\\#i``, so it reads the same.
"""

from __future__ import annotations

import difflib
from typing import Sequence, Union

from ..engine import Value, describe, op_entry, topological_order


class LabelError(KeyError):
    """A key of ``compare`` (or a name for ``find_node``) names no node, or names several.

    A ``KeyError`` whose message prints as written (``KeyError`` would show it in quotes).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# The names an unlabelled root is given, in order of preference (one that a node uses as its label
# is skipped).
ROOT_NAMES = ("f", "root")


class Names:
    """The names of the nodes of one graph, all derived from one order (``topological_order(root)``).

    Attributes:
        order: the nodes, inputs first.
        root: the root of the graph.
        position: each node's index in ``order`` (``#i`` names the node at ``i``).
        by_label: the nodes that carry each label (a label may be shared).
    """

    def __init__(self, order: Sequence[Value], root: Value) -> None:
        self.order = order
        self.root = root
        self.position = {node: i for i, node in enumerate(order)}
        self.by_label: dict[str, list[Value]] = {}
        for node in order:
            if node.label:
                self.by_label.setdefault(node.label, []).append(node)
        free = [name for name in ROOT_NAMES if name not in self.by_label]
        self._root_name = root.label or (free[0] if free else f"#{self.position[root]}")

    def name(self, node: Value) -> str:
        """The node's label, else ``#i``; the root's name for an unlabelled root."""
        if node is self.root:
            return self._root_name
        return node.label or f"#{self.position[node]}"

    def root_name(self) -> str:
        return self._root_name

    def operand(self, node: Value) -> str:
        """How a node reads as an operand: an unlabelled constant is its number."""
        if node.role == "constant" and not node.label:
            return num(node.data)
        return self.name(node)

    def definition(self, node: Value) -> str:
        """The right-hand side of ``#5 = h * w``: ``h * w``, as the op table writes the op; a leaf's role
        ("input", "parameter", ...)."""
        if not node.parents:
            return node.role
        entry, k = op_entry(node)
        operands = dict(zip("ab", (paren(self.operand(p)) for p in node.parents)))
        return entry.text.format(**operands, k=num(k) if k is not None else "")

    def consumers(self) -> dict[Value, list[Value]]:
        """Each node's consumers within this graph, in the order of ``order``, each listed once."""
        found: dict[Value, list[Value]] = {node: [] for node in self.order}
        for node in self.order:
            for parent in dict.fromkeys(node.parents):  # x * x consumes x once
                found[parent].append(node)
        return found

    def find(self, name: str) -> Value:
        """The node called ``name``: a label, the root's name, or ``#i``; a LabelError otherwise."""
        matches = self.by_label.get(name, [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            positions = [f"#{self.position[m]}" for m in matches]
            raise LabelError(
                f"the label {name!r} is used by {len(matches)} nodes ({', '.join(positions)}); pass the node "
                f"itself (or its position, such as {positions[0]!r}) to say which one"
            )
        if name == self._root_name:
            return self.root
        if name.startswith("#") and name[1:].isdigit() and int(name[1:]) < len(self.order):
            return self.order[int(name[1:])]
        labels = sorted(self.by_label)
        if not labels:
            there = "no node of this graph has a label; use '#i' (the position in gradcheck's table) or the node"
        else:
            close = difflib.get_close_matches(name, labels, n=3)
            shown = labels if len(labels) <= 40 else labels[:40] + [f"... ({len(labels) - 40} more)"]
            suggestion = f"did you mean {', '.join(map(repr, close))}? " if close else ""
            there = f"{suggestion}labels in this graph: {', '.join(shown)}"
        raise LabelError(f"no node labelled {name!r} in the graph of {describe(self.root)}; {there}")

    def lookup(self, key: Union[str, Value]) -> Value:
        """A node given as itself (it must be in this graph) or by name (see ``find``)."""
        if isinstance(key, Value):
            if key not in self.position:
                raise ValueError(f"{describe(key)} is not part of the graph of {describe(self.root)}")
            return key
        return self.find(key)


def find_node(root: Value, name: str) -> Value:
    """The node of ``root``'s graph called ``name``: its label, ``"#i"`` for the node at position
    ``i`` of ``topological_order(root)``, or the name the tables give an unlabelled root (``"f"``).

    Raises:
        LabelError: no node has that name (the message lists the labels there are, closest first),
            or several share the label (pass the node itself, or its ``"#i"`` from gradcheck's table).
    """
    if not isinstance(root, Value):
        raise TypeError(f"find_node() needs the root Value of a graph, got {type(root).__name__}: {root!r}")
    if not isinstance(name, str):
        raise TypeError(f"a node name must be a str, got {type(name).__name__}: {name!r}")
    return Names(topological_order(root), root).find(name)


# ---------------------------------------------------------------------------------------------------
# Numbers and derivatives in text
# ---------------------------------------------------------------------------------------------------
def num(x: float, digits: int = 6) -> str:
    """A number with ``digits`` significant digits; small values keep their exponent (``3.2e-11``)."""
    if x != x:
        return "-"
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


def err(x: float) -> str:
    """An error (absolute or relative) to two digits; "-" when there is none (NaN)."""
    return "-" if x != x else f"{x:.2g}"


def paren(text: str) -> str:
    """Parenthesize a negative number written after an operator: ``0.5 * (-3)``."""
    return f"({text})" if text.startswith("-") else text


def d(top: str, bottom: str) -> str:
    """``dE/dh`` in text; a name that is not a plain identifier is put in parentheses: ``dE/d(#5)``."""

    def part(name: str) -> str:
        return name if name.isidentifier() else f"({name})"

    return f"d{part(top)}/d{part(bottom)}"
