"""nn.optim: SGD and Adam against their update formulas, worked by hand."""

from __future__ import annotations

import copy
import math

import pytest

import nn
from autograd import Parameter, Value


def param(data: float, grad: float, label: str = "p") -> Parameter:
    p = Parameter(data, label)
    p.grad = grad
    return p


def test_sgd_step() -> None:
    p, q = param(1.0, 0.5), param(-2.0, -4.0, "q")
    nn.SGD([p, q], lr=0.1).step()
    assert p.data == pytest.approx(0.95, abs=1e-15)  # 1 - 0.1 * 0.5
    assert q.data == pytest.approx(-1.6, abs=1e-15)  # -2 - 0.1 * -4


def test_sgd_momentum_two_steps() -> None:
    p = param(1.0, 0.5)
    opt = nn.SGD([p], lr=0.1, momentum=0.9)
    opt.step()  # v = 0.5, p = 1 - 0.05
    assert opt.velocities == [0.5]
    assert p.data == pytest.approx(0.95, abs=1e-15)
    opt.step()  # v = 0.9 * 0.5 + 0.5 = 0.95, p = 0.95 - 0.095
    assert opt.velocities == [pytest.approx(0.95, abs=1e-15)]
    assert p.data == pytest.approx(0.855, abs=1e-15)


def test_adam_two_steps() -> None:
    p = param(1.0, 0.5)
    opt = nn.Adam([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    # step 1: m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25 = 0.00025; m_hat = 0.5, v_hat = 0.25
    opt.step()
    assert opt.t == 1
    assert opt.m == [pytest.approx(0.05, rel=1e-14)] and opt.v == [pytest.approx(0.00025, rel=1e-14)]
    p1 = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8)
    assert p.data == pytest.approx(p1, abs=1e-15)
    # step 2 with g = -1: m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975
    p.grad = -1.0
    opt.step()
    assert opt.m == [pytest.approx(-0.055, rel=1e-14)] and opt.v == [pytest.approx(0.00124975, rel=1e-14)]
    m_hat = -0.055 / (1 - 0.81)
    v_hat = 0.00124975 / (1 - 0.998001)
    assert p.data == pytest.approx(p1 - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8), abs=1e-14)
    assert p.data == pytest.approx(0.936610, abs=1e-6)  # the same, rounded by hand


def test_adam_first_step_moves_every_parameter_by_about_lr() -> None:
    """With bias correction, step 1 is lr * g / |g| whatever the size of g."""
    ps = [param(0.0, g, f"p{i}") for i, g in enumerate([1e-3, -5.0, 200.0])]
    nn.Adam(ps, lr=0.01).step()
    assert [p.data for p in ps] == pytest.approx([-0.01, 0.01, -0.01], rel=1e-4)


def test_zero_grad() -> None:
    ps = [param(1.0, 3.0), param(2.0, -1.0, "q")]
    nn.Adam(ps).zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]


def test_training_steps_lower_a_loss() -> None:
    w = Parameter(3.0, "w")
    opt = nn.SGD([w], lr=0.1)
    for _ in range(50):
        opt.zero_grad()
        loss = (w - 1.0) ** 2
        loss.backward()
        opt.step()
    assert w.data == pytest.approx(1.0, abs=1e-4)  # (1 - 0.2)^50 * 2 = 2.9e-5 from the minimum


def test_errors() -> None:
    p = param(1.0, 0.0)
    with pytest.raises(ValueError, match="empty"):
        nn.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Value"):
        nn.SGD(p, lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="listed twice"):
        nn.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="computed node"):
        nn.SGD([p * 2.0], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is a float"):
        nn.Adam([p, 1.0])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="lr must be in"):
        nn.SGD([p], lr=0.0)
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.SGD([p], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match=r"betas\[1\] must be in"):
        nn.Adam([p], betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="eps must be in"):
        nn.Adam([p], eps=0.0)


def test_a_non_finite_gradient_cannot_reach_an_optimizer() -> None:
    # The engine refuses a NaN or inf grad where it is written, so no optimizer step can read one.
    q = param(2.0, 0.5, "q")
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="node 'q'.*finite"):
            q.grad = bad
    assert q.grad == 0.5


def test_plain_values_can_be_trained_too() -> None:
    v = Value(1.0, "v")
    v.grad = 2.0
    nn.SGD([v], lr=0.25).step()
    assert v.data == 0.5


# ---------------------------------------------------------------------------------------------------
# a step that would overflow changes nothing
# ---------------------------------------------------------------------------------------------------
def _state(opt: nn.optim.Optimizer) -> tuple:
    """Every parameter's value, and a copy of every other attribute of the optimizer (its state)."""
    return [p.data for p in opt.params], copy.deepcopy({k: v for k, v in vars(opt).items() if k != "params"})


@pytest.mark.parametrize(
    "make, start, first, second, fragment",
    [
        (lambda ps: nn.SGD(ps, lr=1e308), 1.0, 0.0, 10.0, "the new value would be -inf"),
        (lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9), 1.0, 1.7e308, 1.7e308, "velocity would be inf"),
        (lambda ps: nn.Adam(ps, lr=0.1), 1.0, 1.0, 1e200, "v would be inf"),
        (lambda ps: nn.Adam(ps, lr=1e308), 1.7e308, 0.0, -1.0, "the new value would be inf"),
    ],
)
def test_a_step_that_would_overflow_raises_and_changes_nothing(make, start, first, second, fragment) -> None:
    a, w = param(0.5, 0.25, "a"), param(start, first, "w")
    opt = make([a, w])
    opt.step()  # one good step first, so that there is state to keep
    a.grad, w.grad = 0.0, second
    before = _state(opt)
    with pytest.raises(FloatingPointError) as info:
        opt.step()
    message = str(info.value)
    assert fragment in message and "node 'w'" in message and "nothing was updated" in message
    assert _state(opt) == before
    assert math.isfinite(a.data) and math.isfinite(w.data)
