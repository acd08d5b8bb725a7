"""Replay a chainrule graph in PyTorch: the same operations, node by node, as float64 tensors.

``to_torch(root)`` walks ``topological_order(root)`` once and evaluates every node again in torch:
a leaf becomes a 0-dim float64 tensor that requires a gradient, and a computed node becomes the torch
operation of its primitive applied to its operands' tensors. ``TORCH_OPS`` below is the one place
that says which torch operation each primitive of the op table (``engine.OPS``) is. It holds forward
operations only: no derivative is written here, torch differentiates its own operations, so its
gradients are an independent reference for chainrule's (``autograd.check.compare_torch`` puts the two
side by side, node by node).

torch is optional (``pip install "chainrule[torch]"``) and imported only when a function here runs;
without it, the function raises an ImportError that says what to install.
"""

from __future__ import annotations

import operator
from operator import methodcaller
from typing import TYPE_CHECKING, Any, Callable

from .engine import OPS, Value, _require_value, describe, op_entry, topological_order

if TYPE_CHECKING:
    import torch

TORCH_INSTALL = 'pip install "chainrule[torch]"'

# Each primitive of ``engine.OPS`` as the torch operation that computes its value from its operands'
# tensors (and, for "**k", the constant exponent k). Tensor methods and Python's operators, so that
# torch is not needed to read this table. A primitive added to the op table needs a line here (a test
# checks that both have the same keys; ``to_torch`` refuses a node whose op has none).
TORCH_OPS: dict[str, Callable[..., Any]] = {
    "+": operator.add,  # a + b
    "-": operator.sub,  # a - b
    "*": operator.mul,  # a * b
    "/": operator.truediv,  # a / b
    "neg": operator.neg,  # -a
    "**k": operator.pow,  # a ** k, k a Python float (torch.pow(a, k))
    "pow": operator.pow,  # a ** b, both tensors (torch.pow(a, b))
    "exp": methodcaller("exp"),  # torch.exp(a)
    "log": methodcaller("log"),  # torch.log(a)
    "sigmoid": methodcaller("sigmoid"),  # torch.sigmoid(a)
    "tanh": methodcaller("tanh"),  # torch.tanh(a)
    "relu": methodcaller("relu"),  # torch.relu(a)
}


def require_torch(function: str) -> Any:
    """The ``torch`` module, or an ImportError saying that ``function`` needs it and how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"{function}() needs PyTorch, which is not installed here ({exc}); install it with: {TORCH_INSTALL}"
        ) from None
    return torch


def to_torch(root: Value) -> dict[Value, "torch.Tensor"]:
    """Replay the graph of ``root`` in PyTorch, node by node, in float64; return each node's tensor.

    Every node of ``topological_order(root)`` gets a 0-dim ``torch.float64`` tensor: a leaf (input,
    parameter or constant) a new tensor with its current ``.data`` and ``requires_grad=True``; a
    computed node the torch operation of its primitive (``TORCH_OPS``) on its operands' tensors, with
    ``retain_grad()`` so that torch keeps its gradient too. The values are torch's own, computed from
    the leaves, not copied from chainrule's nodes. Then::

        tensors = autograd.to_torch(E)
        tensors[E].backward()
        tensors[x].grad            # torch's dE/dx, for every node x of the graph, leaves or not

    Nothing of the chainrule graph changes. A node shared by several consumers is one tensor, so its
    gradient sums over them, as in chainrule.

    Raises:
        ImportError: torch is not installed (the message says what to install).
        TypeError: ``root`` is not a Value.
        NotImplementedError: a node's primitive has no entry in ``TORCH_OPS``.
    """
    torch = require_torch("autograd.to_torch")
    _require_value(root, "to_torch")
    tensors: dict[Value, Any] = {}
    for node in topological_order(root):
        if not node.parents:
            tensor = torch.tensor(node.data, dtype=torch.float64, requires_grad=True)
        else:
            entry, k = op_entry(node)
            forward = TORCH_OPS.get(entry.name)
            if forward is None:
                raise NotImplementedError(
                    f"autograd.to_torch has no torch operation for the primitive {entry.name!r} of {describe(node)}; "
                    f"add one to TORCH_OPS in autograd/torch_bridge.py (primitives: {', '.join(OPS)})"
                )
            operands = [tensors[parent] for parent in node.parents]
            tensor = forward(*operands) if k is None else forward(operands[0], k)
            tensor.retain_grad()
        tensors[node] = tensor
    return tensors

