"""Optimizers: they read each parameter's ``.grad`` and update its ``.data``.

A training step is::

    opt.zero_grad()      # leaves accumulate gradients, so clear last step's
    loss.backward()      # fill every parameter's .grad with d loss / d parameter
    opt.step()           # move every parameter against its gradient

The update formulas are those of PyTorch's ``torch.optim.SGD`` and ``torch.optim.Adam`` (without
weight decay), written out per parameter in plain Python so that they can be read and checked by
hand.
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable

from autograd import Value, describe
from autograd.engine import clear_grads


def _check_number(x: object, what: str, low: float, high: float = math.inf, *, low_open: bool = True) -> float:
    """``x`` as a float in ``(low, high)`` (or ``[low, high)`` if not ``low_open``), else a ValueError."""
    if not isinstance(x, numbers.Real) or isinstance(x, bool):
        raise TypeError(f"{what} must be a real number, got {type(x).__name__}: {x!r}")
    value = float(x)
    above = value > low if low_open else value >= low
    if not (above and value < high):
        left = "(" if low_open else "["
        raise ValueError(f"{what} must be in {left}{low:g}, {high:g}), got {x!r}")
    return value


class Optimizer:
    """The base of ``SGD`` and ``Adam``: holds the parameters and clears their gradients.

    Args:
        params: the leaves to train, such as ``model.parameters()``: a non-empty iterable of leaf
            Values, each listed once.
    """

    def __init__(self, params: Iterable[Value]) -> None:
        if isinstance(params, Value):
            raise TypeError("params must be a list of Values, such as model.parameters(), not a single Value")
        params = list(params)
        if not params:
            raise ValueError("the optimizer got an empty parameter list")
        seen: set[Value] = set()
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"params[{i}] is a {type(p).__name__}, not a Value")
            if not p.is_leaf:
                raise ValueError(f"params[{i}] is a computed node, not a leaf: {describe(p)}")
            if p in seen:
                raise ValueError(f"params[{i}] is listed twice: {describe(p)}")
            seen.add(p)
        self.params: list[Value] = params

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0, marked as not computed (``grad_source`` "none", not "hand")."""
        clear_grads(self.params)

    def step(self) -> None:
        """Update every parameter from its ``.grad``."""
        raise NotImplementedError

    def _grads(self) -> list[float]:
        grads = [p.grad for p in self.params]
        for p, g in zip(self.params, grads):
            if not math.isfinite(g):
                raise FloatingPointError(f"{type(self).__name__}.step(): the gradient of {describe(p)} is {g}; nothing was updated")
        return grads

    def _write(self, new_data: list[float], states: dict[str, list[float]], settings: str) -> None:
        """Write the parameters' new values, after checking that they and every new state (a list per
        name, one number per parameter) are finite; else a FloatingPointError naming the first
        parameter, and nothing is written."""
        for i, p in enumerate(self.params):
            bad = [f"the new value would be {new_data[i]}"] if not math.isfinite(new_data[i]) else []
            bad += [f"{name} would be {values[i]}" for name, values in states.items() if not math.isfinite(values[i])]
            if bad:
                raise FloatingPointError(
                    f"{type(self).__name__}.step(): for {describe(p)} with grad {p.grad:g}, {' and '.join(bad)} "
                    f"({settings}): a float overflowed, so nothing was updated (no parameter and no optimizer "
                    "state changed). Lower the learning rate, or find out why the gradient is so large."
                )
        for p, value in zip(self.params, new_data):
            p.data = value


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum.

    For each parameter ``p`` with gradient ``g``::

        v = momentum * v + g        (v starts at 0, so the first step has v = g)
        p = p - lr * v

    With ``momentum=0`` this is ``p = p - lr * g``.

    Attributes:
        lr, momentum: as given (writable).
        velocities: ``v`` of each parameter, in the order of ``params``.
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params)
        self.lr = _check_number(lr, "lr", 0.0)
        self.momentum = _check_number(momentum, "momentum", 0.0, 1.0, low_open=False)
        self.velocities: list[float] = [0.0] * len(self.params)

    def step(self) -> None:
        """Update every parameter; a FloatingPointError, and no change at all, if a parameter or a
        velocity would become non-finite (inf or NaN)."""
        grads = self._grads()
        lr, mu = self.lr, self.momentum
        velocities = [mu * v + g for v, g in zip(self.velocities, grads)]
        new_data = [p.data - lr * v for p, v in zip(self.params, velocities)]
        self._write(new_data, {"velocity": velocities}, f"lr={lr:g}, momentum={mu:g}")
        self.velocities = velocities

    def __repr__(self) -> str:
        return f"SGD({len(self.params)} parameters, lr={self.lr:g}, momentum={self.momentum:g})"


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015).

    At step ``t = 1, 2, ...``, for each parameter ``p`` with gradient ``g``::

        m = beta1 * m + (1 - beta1) * g             (m and v start at 0)
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)                  (undo the pull towards the zero start)
        v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    Attributes:
        lr, betas, eps: as given (``lr`` is writable).
        m, v: the first- and second-moment estimates of each parameter, in the order of ``params``.
        t: the number of steps taken.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params)
        self.lr = _check_number(lr, "lr", 0.0)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            _check_number(betas[0], "betas[0]", 0.0, 1.0, low_open=False),
            _check_number(betas[1], "betas[1]", 0.0, 1.0, low_open=False),
        )
        self.eps = _check_number(eps, "eps", 0.0)
        self.m: list[float] = [0.0] * len(self.params)
        self.v: list[float] = [0.0] * len(self.params)
        self.t = 0

    def step(self) -> None:
        """Update every parameter; a FloatingPointError, and no change at all, if a parameter or a
        moment estimate would become non-finite (inf or NaN)."""
        grads = self._grads()
        beta1, beta2 = self.betas
        t = self.t + 1
        m = [beta1 * m + (1.0 - beta1) * g for m, g in zip(self.m, grads)]
        v = [beta2 * v + (1.0 - beta2) * g * g for v, g in zip(self.v, grads)]
        m_correction = 1.0 - beta1**t
        v_correction = 1.0 - beta2**t
        lr, eps = self.lr, self.eps
        new_data = [
            p.data - lr * (m_i / m_correction) / (math.sqrt(v_i / v_correction) + eps)
            for p, m_i, v_i in zip(self.params, m, v)
        ]
        self._write(new_data, {"m": m, "v": v}, f"lr={lr:g}, betas={self.betas}, eps={eps:g}, step {t}")
        self.m, self.v, self.t = m, v, t

    def __repr__(self) -> str:
        return f"Adam({len(self.params)} parameters, lr={self.lr:g}, betas={self.betas}, eps={self.eps:g})"
