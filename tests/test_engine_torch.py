"""Optional cross-check against PyTorch; skipped cleanly when torch is not installed (it is never a dependency)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from autograd import Value  # noqa: E402


def expression(a, b, c, exp, log, sigmoid, tanh, relu):
    h = sigmoid(a * b + c)
    k = tanh(a - b / c) * h
    m = relu(b * 2.0 - a) + exp(h * k) - log(c * c + 1.0)
    return m * m / (h + 1.0) + a**3 - 2.0 ** (k * 0.5)


def test_matches_torch_float64():
    start = (0.7, -1.3, 2.1)
    ours = [Value(v) for v in start]
    out = expression(*ours, Value.exp, Value.log, Value.sigmoid, Value.tanh, Value.relu)
    out.backward()
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in start]
    ref = expression(*theirs, torch.exp, torch.log, torch.sigmoid, torch.tanh, torch.relu)
    ref.backward()
    assert out.data == pytest.approx(ref.item(), rel=1e-12)
    for mine, t in zip(ours, theirs):
        assert mine.grad == pytest.approx(t.grad.item(), rel=1e-10)
