"""chainrule's engine: scalar reverse-mode automatic differentiation.

    >>> from autograd import Value
    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> y = (x * w).tanh()
    >>> y.backward()
    >>> print(f"{x.grad:.3e}")   # d tanh(xw)/dx = w (1 - tanh(xw)^2)
    -7.373e-05

This package is chainrule's ``autograd``; it is unrelated to the PyPI package of the same name (HIPS
autograd). It never imports ``nn``.
"""

from .engine import Constant, Parameter, Value, describe, scope, topological_order
from .graph import check_toposort, replay, zero_grad

__all__ = [
    "Value",
    "Parameter",
    "Constant",
    "scope",
    "topological_order",
    "check_toposort",
    "replay",
    "zero_grad",
    "describe",
]
