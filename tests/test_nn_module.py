"""nn.module: labels, scopes, graph shape, initialisation, the matrix view and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autograd import Parameter, Value, topological_order


def inputs(*xs: float) -> list[Value]:
    return [Value(x, label=f"x{i}") for i, x in enumerate(xs, start=1)]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# -- labels and scopes --------------------------------------------------------------------------------


def test_parameter_labels_say_where_they_live() -> None:
    model = nn.MLP(4, [8, 3], seed=0)
    assert model.layers[1].neurons[0].w[2].label == "L2.n1.w3"
    assert model.layers[0].neurons[7].b.label == "L1.n8.b"
    expected = [
        f"L{k}.n{j}.{name}"
        for k, (nin, nout) in enumerate([(4, 8), (8, 3)], start=1)
        for j in range(1, nout + 1)
        for name in [*(f"w{i}" for i in range(1, nin + 1)), "b"]
    ]
    assert [p.label for p in model.parameters()] == expected
    assert len(expected) == 67
    assert all(type(p) is Parameter and p.role == "parameter" for p in model.parameters())


def test_nodes_are_scoped_by_layer_and_neuron_and_outputs_labelled() -> None:
    model = nn.MLP(2, [3, 2], seed=0)
    logits = model(inputs(0.5, -0.5))
    assert [z.label for z in logits] == ["L2.n1.z", "L2.n2.z"]
    assert [z.scope for z in logits] == ["L2.n1", "L2.n2"]
    hidden = logits[0].parents[0].parents[0].parents[1].parents[1]  # h1 in b + w1*h1
    assert hidden.label == "L1.n1.a" and hidden.op == "sigmoid" and hidden.scope == "L1.n1"
    assert hidden.parents[0].label == "L1.n1.z"
    for node in topological_order(logits[1]):
        if node.parents:
            assert node.scope.startswith(("L1.n", "L2.n")), node
    operations = [node for node in topological_order(logits[1]) if node.parents]
    assert {node.scope for node in operations} == {"L1.n1", "L1.n2", "L1.n3", "L2.n2"}


def test_neuron_sum_is_a_plain_chain_from_the_bias() -> None:
    """b + w1*x1 + w2*x2 + w3*x3: 3 products, 3 sums, 1 activation; no other node."""
    neuron = nn.Neuron(3, activation="tanh", name="L1.n1", seed=0)
    x = inputs(1.0, 2.0, 3.0)
    out = neuron(x)
    nodes = topological_order(out)
    assert len(nodes) == 3 + 3 + 1 + 3 + 3 + 1
    assert sorted(node.op for node in nodes if node.parents) == ["*", "*", "*", "+", "+", "+", "tanh"]
    z = out.parents[0]
    chain = []
    while z.op == "+":
        chain.append(z.parents[1])
        z = z.parents[0]
    assert z is neuron.b
    assert [(m.parents[0], m.parents[1]) for m in reversed(chain)] == list(zip(neuron.w, x))
    expected = math.tanh(neuron.b.data + sum(w.data * xi.data for w, xi in zip(neuron.w, x)))
    assert out.data == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    "activation, f",
    [("sigmoid", sigmoid), ("tanh", math.tanh), ("relu", lambda s: max(s, 0.0)), ("linear", lambda s: s)],
)
def test_activations(activation: str, f) -> None:
    layer = nn.Layer(2, 3, activation=activation, seed=4)
    layer.set_weights([[1.0, -2.0, 0.5], [0.25, 1.0, -1.0]], [0.1, 0.2, -0.3])
    out = layer([2.0, 3.0])
    sums = [2.0 * 1.0 + 3.0 * 0.25 + 0.1, 2.0 * -2.0 + 3.0 * 1.0 + 0.2, 2.0 * 0.5 + 3.0 * -1.0 - 0.3]
    assert [v.data for v in out] == pytest.approx([f(s) for s in sums], rel=1e-15)


# -- shapes: a list of outputs, or one Value as in micrograd ------------------------------------------------


def test_single_output_is_the_value_itself_as_in_micrograd() -> None:
    model = nn.MLP(3, [4, 1], seed=0)
    out = model([1.0, 2.0, 3.0])
    assert isinstance(out, Value) and out.label == "L2.n1.z"
    (listed,) = model.outputs([1.0, 2.0, 3.0])  # the list form, for code that wants one
    assert listed.data == out.data
    several = nn.MLP(3, [4, 2], seed=0)([1.0, 2.0, 3.0])
    assert isinstance(several, list) and len(several) == 2
    layer_out = nn.Layer(3, 1, seed=0)([1.0, 2.0, 3.0])  # a Layer stays a list: the MLP is the network
    assert isinstance(layer_out, list) and len(layer_out) == 1


def test_micrograd_lecture_code_runs_as_typed() -> None:
    """The cells of micrograd's lecture (the network part), as a learner types them from the video."""
    from nn import MLP, Layer, Neuron

    x = [2.0, 3.0]
    n = Neuron(2)
    assert isinstance(n(x), Value)
    n = Layer(2, 3)
    assert len(n(x)) == 3
    x = [2.0, 3.0, -1.0]
    n = MLP(3, [4, 4, 1])
    assert isinstance(n(x), Value)
    xs = [
        [2.0, 3.0, -1.0],
        [3.0, -1.0, 0.5],
        [0.5, 1.0, 1.0],
        [1.0, 1.0, -1.0],
    ]
    ys = [1.0, -1.0, -1.0, 1.0]  # desired targets
    ypred = [n(x) for x in xs]
    loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))
    expected = math.fsum((y.data - t) ** 2 for t, y in zip(ys, ypred))
    assert loss.data == pytest.approx(expected, rel=1e-15)
    loss.backward()
    w = n.layers[0].neurons[0].w[0]
    assert w.grad != 0.0 and isinstance(w.data, float)
    assert len(n.parameters()) == 41  # (3 + 1) * 4 + (4 + 1) * 4 + (4 + 1) * 1
    for p in n.parameters():
        p.data += -0.01 * p.grad
    for k in range(20):
        # forward pass
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))
        # backward pass
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        # update
        before = [(p.data, p.grad) for p in n.parameters()]
        for p in n.parameters():
            p.data += -0.1 * p.grad
        assert [p.data for p in n.parameters()] == [d + -0.1 * g for d, g in before]
        print(k, loss.data)
    assert isinstance(ypred, list) and all(isinstance(y, Value) for y in ypred)
    # Learning itself (seeded, tanh as in the lecture) is the doctest of nn/__init__.py.


def test_one_lecture_step_is_gradient_descent_by_hand() -> None:
    """sum of squared errors through a one-output MLP: the update equals p - lr * dL/dp computed by hand."""
    n = nn.MLP(2, [3, 1], activation="tanh", seed=1)
    xs, ys = [[0.5, -1.0], [2.0, 0.25]], [1.0, -1.0]
    W1, b1, W2, b2 = n.layers[0].weights(), n.layers[0].biases(), n.layers[1].weights(), n.layers[1].biases()
    X, Y = np.array(xs), np.array(ys)
    H = np.tanh(X @ W1 + b1)
    out = (H @ W2 + b2)[:, 0]
    d_out = 2 * (out - Y)  # dL/d out for L = sum (out - y)^2
    dW2 = H.T @ d_out[:, None]
    dW1 = X.T @ ((d_out[:, None] * W2.T) * (1 - H**2))
    loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, [n(x) for x in xs]))
    loss.backward()
    np.testing.assert_allclose(n.layers[1].weight_grads(), dW2, rtol=1e-12)
    np.testing.assert_allclose(n.layers[0].weight_grads(), dW1, rtol=1e-12)


def test_a_middle_layer_of_one_neuron_works() -> None:
    model = nn.MLP(3, [4, 1, 2], activation="tanh", seed=0)
    logits = model(inputs(0.1, 0.2, 0.3))
    assert len(logits) == 2
    nn.cross_entropy(logits, 0).backward()
    assert all(p.grad != 0.0 for p in model.layers[1].parameters())
    assert model.layers[1].weights().shape == (4, 1)
    assert model.layers[2].weights().shape == (1, 2)


# -- initialisation and seeds ----------------------------------------------------------------------------


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    a, b, c = nn.MLP(4, [8, 3], seed=5), nn.MLP(4, [8, 3], seed=5), nn.MLP(4, [8, 3], seed=6)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert [p.data for p in a.parameters()] != [p.data for p in c.parameters()]


def test_initialisation_is_glorot_uniform_for_sigmoid_and_he_for_relu() -> None:
    for activation, bound in [("sigmoid", math.sqrt(6 / (50 + 40))), ("tanh", math.sqrt(6 / (50 + 40))), ("relu", math.sqrt(6 / 50))]:
        layer = nn.Layer(50, 40, activation=activation, seed=0)
        W = layer.weights()
        assert np.all(np.abs(W) <= bound)
        assert np.abs(W).max() > 0.95 * bound  # spread over the whole interval
        assert abs(W.std() - bound / math.sqrt(3)) < 0.05 * bound  # the std of U(-a, a) is a / sqrt 3
        assert np.all(layer.biases() == 0.0)


# -- the matrix view --------------------------------------------------------------------------------------


def test_matrix_view_layout_matches_the_neurons() -> None:
    layer = nn.Layer(3, 2, seed=1)
    W = layer.weights()
    assert W.shape == (3, 2) and layer.biases().shape == (2,)
    for j, neuron in enumerate(layer.neurons):
        for i, w in enumerate(neuron.w):
            assert W[i, j] == w.data


def test_forward_equals_x_times_W_plus_b() -> None:
    layer = nn.Layer(3, 4, activation="linear", seed=3)
    layer.set_weights(layer.weights(), [0.5, -0.5, 1.0, 2.0])
    x = np.array([0.2, -1.0, 3.0])
    assert [z.data for z in layer(x.tolist())] == pytest.approx((x @ layer.weights() + layer.biases()).tolist(), rel=1e-14)


def test_gradient_matrices_closed_form() -> None:
    """For a linear layer and loss = sum_j z_j: dL/dW[i, j] = x_i and dL/db_j = 1."""
    layer = nn.Layer(3, 2, activation="linear", seed=0)
    x = [0.5, -2.0, 4.0]
    out = layer(x)
    (out[0] + out[1]).backward()
    np.testing.assert_array_equal(layer.weight_grads(), np.outer(x, [1.0, 1.0]))
    np.testing.assert_array_equal(layer.bias_grads(), [1.0, 1.0])
    layer.zero_grad()
    assert not layer.weight_grads().any() and not layer.bias_grads().any()


def test_set_weights_reproduces_a_worked_example() -> None:
    """A 2-2-1 sigmoid network with chosen numbers, computed by hand."""
    model = nn.MLP(2, [2, 1], activation="sigmoid", seed=0)
    model.set_weights([([[0.15, 0.25], [0.20, 0.30]], [0.35, 0.35]), ([[0.40], [0.45]], [0.60])])
    h1, h2 = sigmoid(0.05 * 0.15 + 0.10 * 0.20 + 0.35), sigmoid(0.05 * 0.25 + 0.10 * 0.30 + 0.35)
    y = model([0.05, 0.10])
    assert y.data == pytest.approx(0.40 * h1 + 0.45 * h2 + 0.60, rel=1e-15)
    assert model.layers[0].neurons[1].w[0].data == 0.25  # W[0, 1]: input 1 to neuron 2


def test_set_weights_shape_errors_are_clear_and_change_nothing() -> None:
    layer = nn.Layer(3, 2, seed=0, name="L1")
    W0, b0 = layer.weights(), layer.biases()
    with pytest.raises(ValueError, match=r"layer L1: W must have shape \(3, 2\) \(nin, nout\), got \(2, 3\); did you mean W.T\?"):
        layer.set_weights(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\) \(nout,\), got \(3,\)"):
        layer.set_weights(np.ones((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        layer.set_weights(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="array of numbers"):
        layer.set_weights([["a", "b"], [1, 2], [3, 4]])
    np.testing.assert_array_equal(layer.weights(), W0)
    np.testing.assert_array_equal(layer.biases(), b0)


def test_mlp_set_weights_checks_every_layer_first() -> None:
    model = nn.MLP(2, [2, 1], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match=r"layer L2: W must have shape \(2, 1\)"):
        model.set_weights([(np.ones((2, 2)), np.ones(2)), (np.ones((3, 1)), np.ones(1))])
    with pytest.raises(ValueError, match="one \\(W, b\\) pair per layer: 2, got 1"):
        model.set_weights([(np.ones((2, 2)), np.ones(2))])
    assert [p.data for p in model.parameters()] == before


# -- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda a: nn.Neuron(2, activation=a),
        lambda a: nn.Layer(2, 2, activation=a),
        lambda a: nn.MLP(2, [2, 1], activation=a),
    ],
)
def test_unknown_activation_lists_the_valid_ones(make) -> None:
    with pytest.raises(ValueError, match="unknown activation 'softmax'; choose one of 'sigmoid', 'tanh', 'relu', 'linear'"):
        make("softmax")


@pytest.mark.parametrize("nouts", [[], [0, 3], [2.5], "83", 3, [True]])
def test_bad_layer_sizes(nouts: object) -> None:
    with pytest.raises(ValueError, match="nouts|layer size"):
        nn.MLP(4, nouts)  # type: ignore[arg-type]


def test_bad_nin() -> None:
    with pytest.raises(ValueError, match="nin must be a positive int, got 0"):
        nn.MLP(0, [3])


def test_wrong_number_of_inputs() -> None:
    model = nn.MLP(3, [2, 1], seed=0)
    with pytest.raises(ValueError, match="takes 3 inputs, got 2"):
        model([1.0, 2.0])
    with pytest.raises(ValueError, match="neuron L1.n1 takes 3 inputs, got 4"):
        model.layers[0].neurons[0]([1.0, 2.0, 3.0, 4.0])


def test_zero_grad_clears_every_parameter() -> None:
    model = nn.MLP(2, [3, 2], seed=0)
    nn.cross_entropy(model([1.0, -1.0]), 1).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_public_api_example_from_the_issue() -> None:
    ds = nn.load_iris()
    model = nn.MLP(4, [8, 3], activation="sigmoid", seed=0)
    logits = model([Value(v) for v in ds.data[0]])
    loss = nn.cross_entropy(logits, int(ds.target[0]))
    probs = nn.softmax(logits)
    opt = nn.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    loss.backward()
    before = loss.data
    opt.step()
    assert sum(p.data for p in probs) == pytest.approx(1.0, rel=1e-15)
    assert loss.data == before  # the old graph is not recomputed by step
    after = nn.cross_entropy(model([Value(v) for v in ds.data[0]]), 0).data
    assert after < before  # a small step downhill lowers the loss


def test_layer_sizes_may_be_any_iterable_of_ints() -> None:
    assert nn.MLP(4, np.array([8, 3]), seed=0).nouts == [8, 3]
    assert nn.MLP(4, (n for n in [5, 2]), seed=0).nouts == [5, 2]


def test_package_docstring_example_runs() -> None:
    import doctest

    result = doctest.testmod(nn)
    assert result.attempted > 0 and result.failed == 0


# -- state dicts and the numpy forward pass ------------------------------------------------------------------


def test_state_dict_round_trip_gives_identical_outputs() -> None:
    a, b = nn.MLP(3, [5, 2], activation="tanh", seed=1), nn.MLP(3, [5, 2], activation="tanh", seed=2)
    state = a.state_dict()
    assert list(state) == [p.label for p in a.parameters()] and all(type(v) is float for v in state.values())
    x = [0.3, -1.2, 2.0]
    assert [v.data for v in a(x)] != [v.data for v in b(x)]
    b.load_state_dict(state)
    assert [v.data for v in a(x)] == [v.data for v in b(x)]  # bit for bit
    state["L1.n1.w1"] = 123.0
    assert a.layers[0].neurons[0].w[0].data != 123.0  # a copy, not a view


@pytest.mark.parametrize(
    "change, error, message",
    [
        (lambda s: s.pop("L2.n1.b"), ValueError, r"missing 'L2.n1.b'"),
        (lambda s: s.update({"L3.n1.b": 0.0}), ValueError, r"unexpected 'L3.n1.b'"),
        (lambda s: s.update({"L1.n2.w1": float("nan")}), ValueError, r"parameter L1.n2.w1 must be finite, got nan"),
        (lambda s: s.update({"L1.n2.w1": float("-inf")}), ValueError, r"parameter L1.n2.w1 must be finite"),
        (lambda s: s.update({"L1.n2.w1": "0.5"}), TypeError, r"parameter L1.n2.w1 must be a real number .*got str"),
        (lambda s: s.update({"L1.n2.w1": True}), TypeError, r"must be a real number .*got bool"),
    ],
)
def test_load_state_dict_checks_everything_first(change, error, message) -> None:
    model = nn.MLP(2, [2, 1], seed=0)
    before = model.state_dict()
    state = nn.MLP(2, [2, 1], seed=9).state_dict()
    change(state)
    with pytest.raises(error, match=message):
        model.load_state_dict(state)
    assert model.state_dict() == before  # nothing half loaded


def test_load_state_dict_lists_many_missing_labels_briefly() -> None:
    with pytest.raises(ValueError, match=r"missing 'L1.n1.w1', .* \(17 in all\)"):
        nn.MLP(2, [4, 1], seed=0).load_state_dict({})
    with pytest.raises(TypeError, match="dict of label -> number"):
        nn.MLP(2, [1], seed=0).load_state_dict([1.0, 2.0, 3.0])  # type: ignore[arg-type]


@pytest.mark.parametrize("activation", nn.ACTIVATIONS)
def test_forward_numpy_agrees_with_the_graph(activation: str) -> None:
    model = nn.MLP(3, [6, 4, 2], activation=activation, seed=3)
    X = np.random.default_rng(0).normal(size=(7, 3)) * 3
    expected = [[v.data for v in model(row.tolist())] for row in X]
    np.testing.assert_allclose(model.forward_numpy(X), expected, rtol=1e-12, atol=1e-14)
    one = nn.MLP(3, [4, 1], activation=activation, seed=3)
    assert one.forward_numpy(X).shape == (7, 1)
    np.testing.assert_allclose(one.forward_numpy(X)[:, 0], [one(row.tolist()).data for row in X], rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3\), got \(7, 2\)"):
        model.forward_numpy(X[:, :2])


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), ("a", TypeError), (True, TypeError)])
def test_bad_seeds_are_clear_errors(seed: object, error: type) -> None:
    with pytest.raises(error, match="MLP: seed must be a whole number >= 0"):
        nn.MLP(2, [1], seed=seed)  # type: ignore[arg-type]


def test_plain_number_inputs_become_shared_leaves_labelled_x1_to_xn() -> None:
    model = nn.MLP(3, [4, 2], seed=0)
    out = model([0.5, -1.0, 2.0])
    order = topological_order(out[0])
    inputs = [n for n in order if n.label in ("x1", "x2", "x3")]
    assert sorted(n.label for n in inputs) == ["x1", "x2", "x3"]
    assert all(n.role == "input" and not n.scope for n in inputs)
    x1 = next(n for n in inputs if n.label == "x1")
    assert x1.data == 0.5 and sum(p is x1 for n in order for p in n.parents) == 4  # one leaf, read by 4 neurons
    out[0].backward()
    W1, delta = model.layers[0].weights(), model.layers[0].bias_grads()
    assert x1.grad == pytest.approx(W1[0] @ delta, rel=1e-12)  # dE/dx = W delta


def test_unlabelled_input_values_are_named_and_others_left_alone() -> None:
    model = nn.MLP(2, [1], seed=0)
    a, b = Value(1.0), Value(2.0, label="petal")
    model([a, b])
    assert (a.label, b.label) == ("x1", "petal")
    c = Value(3.0) * 1.0  # computed, not a leaf: not renamed
    model([c, a])
    assert c.label == ""


def _scope_blocks_that_suspend(source: str) -> list[int]:
    """Line numbers of yields and awaits inside a ``with scope(...)`` block of ``source``."""
    import ast

    def is_scope(item: ast.withitem) -> bool:
        call = item.context_expr
        func = call.func if isinstance(call, ast.Call) else None
        return (isinstance(func, ast.Name) and func.id == "scope") or (
            isinstance(func, ast.Attribute) and func.attr == "scope"
        )

    found = []
    for block in ast.walk(ast.parse(source)):
        if isinstance(block, (ast.With, ast.AsyncWith)) and any(is_scope(item) for item in block.items):
            for statement in block.body:
                found += [n.lineno for n in ast.walk(statement) if isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await))]
    return found


def test_nn_never_yields_inside_a_scope():
    # a generator suspended inside ``with scope(...)`` leaves its scope on for its caller's nodes
    # (the documented limit of autograd.scope), so nn must not do it
    import pathlib

    import nn as package

    files = sorted(pathlib.Path(package.__file__).parent.glob("*.py"))
    assert len(files) > 5
    for path in files:
        assert _scope_blocks_that_suspend(path.read_text()) == [], path
    # the scan finds what it looks for
    sample = "def g():\n    with scope('L1'):\n        yield 1\n    with autograd.scope('x'):\n        x = 1\n"
    assert _scope_blocks_that_suspend(sample) == [3]


def test_the_documented_limit_of_scope_in_a_suspended_generator():
    from autograd import scope

    def layer():
        with scope("G"):
            yield Value(1.0) * 2

    generator = layer()
    inside = next(generator)
    leaked = Value(3.0) * 2  # made by the caller while the generator is suspended in its block
    assert inside.scope == "G" and leaked.scope == "G"
    generator.close()  # leaving the block ends the scope
    assert (Value(3.0) * 2).scope == ""
    assert "yields inside a ``with scope(...)``" in scope.__doc__
