"""Bad arguments to nn's functions: each is an error that names the function, the argument, what was
given and what is expected (not numpy's or Python's words about their internals), and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autograd import Value


@pytest.mark.parametrize("seed", [-1, "a", 1.5, True, [1, 2]])
@pytest.mark.parametrize(
    "call, name",
    [
        (lambda seed: nn.MLP(2, [3], seed=seed), "MLP"),
        (lambda seed: nn.Layer(2, 3, seed=seed), "Layer L1"),
        (lambda seed: nn.Neuron(2, seed=seed), "Neuron n1"),
        (lambda seed: nn.train_test_split(np.zeros((4, 1)), [0, 0, 1, 1], seed=seed), "train_test_split"),
        (lambda seed: nn.fit(nn.MLP(1, [2], seed=0), [[0.0], [1.0]], [0, 1], epochs=1, progress=False, seed=seed), "fit"),
    ],
)
def test_bad_seeds_are_named(call, name, seed):
    with pytest.raises((TypeError, ValueError)) as info:
        call(seed)
    message = str(info.value)
    assert message.startswith(f"{name}: seed must be a whole number >= 0") and repr(seed) in message


@pytest.mark.parametrize("seed", [0, 7, np.int64(3), np.random.default_rng(1), None])
def test_good_seeds_are_accepted(seed):
    nn.MLP(2, [3], seed=seed)


def test_same_seed_same_weights():
    first, second = nn.MLP(3, [4, 2], seed=5), nn.MLP(3, [4, 2], seed=5)
    assert [p.data for p in first.parameters()] == [p.data for p in second.parameters()]


@pytest.mark.parametrize(
    "x, error, fragment",
    [
        (None, TypeError, "got NoneType"),
        (3.0, TypeError, "got float"),
        ("ab", TypeError, "got str"),
        (Value(1.0), TypeError, "got Value"),
        ({0: 1.0, 1: 2.0}, TypeError, "got dict"),
        ((v for v in [1.0, 2.0]), TypeError, "got generator"),
        ([1.0], ValueError, "takes 2 inputs, got 1"),
    ],
)
def test_model_called_on_something_that_is_not_its_inputs(x, error, fragment):
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(error, match=fragment) as info:
        model(x)
    assert "MLP" in str(info.value)


@pytest.mark.parametrize(
    "X, fragment",
    [
        ([["a", "b"], ["c", "d"]], "row 0 holds str 'a' at column 0, not a number"),
        ([[1.0, 2.0], [3.0]], "row 0 has 2 values, row 1 has 1"),
        ([[1.0, 2.0], [3.0, None]], "row 1 column 1 is nan"),  # numpy reads None as NaN
        ("abcd", "got str"),
        ([[1.0, 2.0], [3.0, float("inf")]], "row 1 column 1 is inf"),
        ([1.0, 2.0], "must be a 2-D array"),
    ],
)
def test_fit_on_a_table_that_is_not_numbers(X, fragment):
    model = nn.MLP(2, [2], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match="fit: X must") as info:
        nn.fit(model, X, [0, 1], epochs=1, progress=False)
    assert fragment in str(info.value)
    assert [p.data for p in model.parameters()] == before


@pytest.mark.parametrize("values", [{1: 2.0}, {1.0, 2.0}, "12", Value(1.0), 3.0])
@pytest.mark.parametrize("function", [nn.softmax, nn.log_softmax, nn.logsumexp, lambda v: nn.cross_entropy(v, 0)])
def test_softmax_family_refuses_what_has_no_order_of_logits(function, values):
    with pytest.raises(TypeError, match="expects a list of Values or numbers"):
        function(values)


def test_losses_refuse_a_dict_of_observations():
    with pytest.raises(TypeError, match="as the observed values, got dict"):
        nn.mse([Value(1.0)], {0: 1.0})
