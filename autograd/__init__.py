"""chainrule's engine: scalar reverse-mode automatic differentiation.

    >>> from autograd import Value
    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> y = (x * w).tanh()
    >>> y.backward()
    >>> print(f"{x.grad:.3e}")   # d tanh(xw)/dx = w (1 - tanh(xw)^2)
    -7.373e-05

This package is chainrule's ``autograd``; it is unrelated to the PyPI package of the same name (HIPS
autograd). It never imports ``nn``.

``COMPILED`` is True when the engine runs as the C extension that Cython builds from
``autograd/engine.py`` at install time, and False when that same file runs as plain Python (no C
compiler at install time, or ``CHAINRULE_PURE_PYTHON=1`` in the environment, which forces it).
"""

import importlib.util
import os
import sys
from pathlib import Path


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _load_pure_engine() -> None:
    """Import ``engine.py`` itself as ``autograd.engine``, even where a compiled module sits beside it
    (Python's import system would prefer the compiled one)."""
    spec = importlib.util.spec_from_file_location(f"{__name__}.engine", Path(__file__).with_name("engine.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)


if _truthy("CHAINRULE_PURE_PYTHON"):
    _load_pure_engine()

from . import engine  # noqa: E402
from .engine import Constant, Parameter, Value, describe, scope, topological_order  # noqa: E402
from .graph import check_toposort, replay, zero_grad  # noqa: E402
from .derivatives import grad, hessian  # noqa: E402
from .forward import forward_grad, forward_grads, jvp  # noqa: E402
from .torch_bridge import to_torch  # noqa: E402  (imports torch only when called)

COMPILED: bool = bool(engine.COMPILED)
"""True if the compiled engine runs, False if ``autograd/engine.py`` runs as plain Python."""

if not COMPILED and not _truthy("CHAINRULE_PURE_PYTHON") and not _truthy("CHAINRULE_QUIET"):
    print(
        "chainrule: the compiled engine is not installed, so the same engine runs as plain Python (about 10x "
        "slower); to get it, reinstall with a C compiler present (pip install --force-reinstall --no-deps "
        "chainrule, or pip install -e . in a checkout); set CHAINRULE_QUIET=1 to hide this line",
        file=sys.stderr,
    )

__all__ = [
    "COMPILED",
    "Value",
    "Parameter",
    "Constant",
    "scope",
    "topological_order",
    "check_toposort",
    "replay",
    "zero_grad",
    "describe",
    "grad",
    "hessian",
    "forward_grad",
    "forward_grads",
    "jvp",
    "to_torch",
]
