"""Builds chainrule's compiled engine: Cython compiles ``autograd/engine.py`` (pure-Python mode) to a C
extension module of the same name. Everything else about the package is in ``pyproject.toml``.

The extension is optional: where it cannot be built (no C compiler), ``pip install`` still succeeds
and the same file runs as plain Python; ``autograd.COMPILED`` then says False and importing autograd
prints one line saying how to get the compiled engine.
"""

from setuptools import Extension, setup
from Cython.Build import cythonize

DIRECTIVES = {
    "language_level": 3,
    "cpow": True,  # a ** b on C doubles is C's pow (the engine checks the domain itself, as Python does)
    "cdivision": True,  # no hidden zero checks: the engine raises its own ZeroDivisionError first
    "embedsignature": True,  # help() shows each method's signature
}

setup(
    ext_modules=cythonize(
        [Extension("autograd.engine", ["autograd/engine.py"], optional=True)],
        compiler_directives=DIRECTIVES,
    ),
)
