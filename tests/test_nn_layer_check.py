"""A layer's gradients against a matrix-notation derivation, in one call."""

from __future__ import annotations

import numpy as np

import nn
from autograd import Value


def test_layer_gradients_match_outer_products_of_input_and_delta():
    model = nn.MLP(3, [4, 2], activation="sigmoid", seed=3)
    x = np.array([0.5, -1.0, 2.0])
    loss = nn.cross_entropy(model([Value(v) for v in x]), 1)
    loss.backward()
    hidden, out = model.layers
    h = 1 / (1 + np.exp(-(x @ hidden.weights() + hidden.biases())))
    z = h @ out.weights() + out.biases()
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    delta_out = p - np.array([0.0, 1.0])                       # dE/dz = y - t
    delta_hidden = (out.weights() @ delta_out) * h * (1 - h)   # back through h(1 - h)
    assert out.compare_grads(loss, np.outer(h, delta_out), delta_out).ok
    report = hidden.compare_grads(loss, np.outer(x, delta_hidden), delta_hidden)
    assert report.ok and len(report) == 3 * 4 + 4


def test_a_wrong_matrix_derivation_is_caught_and_named():
    model = nn.MLP(2, [2], activation="sigmoid", seed=0)
    loss = nn.cross_entropy(model([Value(1.0), Value(2.0)]), 0)
    loss.backward()
    layer = model.layers[0]
    wrong = layer.weight_grads().T.copy()  # the transposed matrix: a classic slip
    wrong[0, 1] += 0.5
    report = layer.compare_grads(loss, wrong)
    assert not report.ok
    assert any(row.label == "L1.n2.w1" for row in report.failures)
