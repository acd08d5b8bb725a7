"""What ``autograd/engine.py`` asks of the ``cython`` module when it runs uncompiled and Cython is not
installed: the flag ``compiled`` and no-op stand-ins for the few names the file uses.

Cython is needed only to *build* chainrule's compiled engine; the engine runs as plain Python without
it. This module is never imported by the compiled engine (Cython resolves ``import cython`` itself).
"""

from __future__ import annotations

from typing import Any

compiled = False

# C types named in annotations: in plain Python they are the Python types they stand for.
double = float
long = int
bint = bool
Py_ssize_t = int


def _decorator(target: Any = None, *args: Any, **kwargs: Any) -> Any:
    # Used both bare (``@cython.cfunc``) and called (``@cython.locals(x=cython.double)``).
    if callable(target) and not args and not kwargs:
        return target
    return lambda function: function


cclass = no_gc = final = cfunc = inline = locals = annotation_typing = freelist = exceptval = _decorator


def declare(type_: Any, value: Any = None, **kwargs: Any) -> Any:
    """``cython.declare`` types a variable when compiled; in plain Python it is the initial value."""
    return value


def cast(type_: Any, value: Any, typecheck: bool = False) -> Any:
    """``cython.cast`` converts in compiled code; in plain Python the value is already what it is."""
    return value

