"""Neurons, layers and multilayer perceptrons made of ``autograd.Value`` nodes.

A neuron computes ``z = b + w1*x1 + w2*x2 + ...`` as a plain chain of ``+`` nodes, then applies its
activation. Every weight and bias is an ``autograd.Parameter`` whose label says where it lives:
``L2.n1.w3`` is layer 2, neuron 1, the weight on input 3 (all counted from 1), and ``L2.n1.b`` its
bias. A neuron's nodes are made inside ``autograd.scope("L2")`` and ``scope("n1")``, so every node
it creates has ``.scope == "L2.n1"`` and a drawing can group a layer's and a neuron's nodes. The
pre-activation sum is labelled ``L2.n1.z`` and the activation's output ``L2.n1.a``.

The matrix view (``Layer.weights()``, ``Layer.set_weights(W, b)``, ...) reads and writes the same
numbers as numpy arrays laid out ``nin x nout``, so that a layer computes ``z = x @ W + b`` for a
row vector ``x``: the layout of the matrix-notation derivation.

micrograd's lecture code runs as typed: ``MLP(3, [4, 4, 1])`` called on a list of floats returns one
Value (a network whose last layer has one neuron returns its output itself, not a list of one), so
``ypred = [n(x) for x in xs]`` and ``loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))``
work unchanged, and so do ``n.parameters()``, ``p.grad = 0.0`` and ``p.data += -0.1 * p.grad``.
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Mapping, Sequence, Union

import numpy as np

from autograd import Parameter, Value, scope
from autograd.engine import clear_grads

from .validation import Seed, make_rng

Input = Union[Value, float, int]

# The activation functions, by name; "linear" applies none.
_ACTIVATION_METHODS: dict[str, Callable[[Value], Value] | None] = {
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
    "linear": None,
}
ACTIVATIONS: tuple[str, ...] = tuple(_ACTIVATION_METHODS)
"""The valid activation names: "sigmoid", "tanh", "relu", "linear"."""

# The same functions on numpy arrays, for ``MLP.forward_numpy``.
_NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),  # = 1 / (1 + exp(-z)), without overflow
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
}


def check_activation(activation: object) -> str:
    """Return ``activation`` if it is a valid activation name, else raise a ValueError listing them."""
    if not isinstance(activation, str) or activation not in _ACTIVATION_METHODS:
        valid = ", ".join(repr(name) for name in ACTIVATIONS)
        raise ValueError(f"unknown activation {activation!r}; choose one of {valid}")
    return activation


def init_bound(nin: int, nout: int, activation: str) -> float:
    """Half-width of the uniform distribution the initial weights are drawn from.

    Glorot (Xavier) uniform, ``sqrt(6 / (nin + nout))``, for "sigmoid", "tanh" and "linear": it keeps
    the spread of values and of gradients about the same from layer to layer, so sigmoid and tanh
    start in their sloped middle, not saturated. He (Kaiming) uniform, ``sqrt(6 / nin)``, for "relu",
    which zeroes half of its inputs and needs twice the variance. Biases start at 0.
    """
    if activation == "relu":
        return math.sqrt(6.0 / nin)
    return math.sqrt(6.0 / (nin + nout))


@lru_cache(maxsize=64)
def _input_labels(n: int) -> tuple[str, ...]:
    return tuple(f"x{i}" for i in range(1, n + 1))


def _as_inputs(x: Sequence[Input]) -> list[Value]:
    """The inputs of a layer as leaves labelled "x1" ... "xn" (see ``Layer.__call__``); Values that are
    computed or already labelled are used as they are."""
    out = []
    for v, label in zip(x, _input_labels(len(x))):
        if not isinstance(v, Value):
            v = Value(v, label)
        elif not v.label and v.is_leaf and v.role == "input":
            v.label = label
        out.append(v)
    return out


def _check_inputs(x: object, nin: int, who: str) -> None:
    """``x`` must be a sequence (list, tuple, 1-D array) of ``nin`` inputs."""
    if isinstance(x, (str, bytes, Value, Mapping)) or not (hasattr(x, "__len__") and hasattr(x, "__getitem__")):
        raise TypeError(
            f"{who} takes a list of {nin} inputs (Values or numbers), got {type(x).__name__}: {x!r:.60}"
        )
    if len(x) != nin:  # type: ignore[arg-type]
        raise ValueError(f"{who} takes {nin} inputs, got {len(x)}")  # type: ignore[arg-type]


def _check_size(n: object, what: str) -> int:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return int(n)


if TYPE_CHECKING:
    from autograd.check import CheckReport


class Module:
    """The base of ``Neuron``, ``Layer`` and ``MLP``, named as in PyTorch.

    A module is called on its inputs (``module(x)``), lists its trainable leaves with
    ``parameters()`` and sets their gradients to 0 with ``zero_grad()``.
    """

    def parameters(self) -> list[Parameter]:
        """Every trainable leaf of the module, in a fixed order (layer by layer, neuron by neuron,
        each neuron's weights before its bias)."""
        return []

    def zero_grad(self) -> None:
        """Set ``.grad`` of every parameter to 0.0 (leaves accumulate gradients across backward passes),
        marked as not computed (``grad_source`` "none", not "hand")."""
        clear_grads(self.parameters())

    def __call__(self, x: Sequence[Input]):  # noqa: ANN204 (each module returns its own kind)
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")

    def state_dict(self) -> dict[str, float]:
        """Every parameter's value by its label, in ``parameters()`` order: ``{"L1.n1.w1": 0.31, ...}``.

        A new dict of plain floats; changing it does not change the module (see ``load_state_dict``).
        """
        state: dict[str, float] = {}
        for p in self.parameters():
            if p.label in state:
                raise ValueError(f"two parameters are labelled {p.label!r}; a state dict needs unique labels")
            state[p.label] = p.data
        return state

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Set every parameter from ``state``, a mapping label -> number such as ``state_dict()`` returns.

        ``state`` must hold exactly the module's labels, each with a finite real number. Everything is
        checked before anything is written: a missing or extra label, or a bad number, is a
        ValueError (TypeError for a non-number) naming them, and leaves the module as it was.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict needs a dict of label -> number, got {type(state).__name__}")
        params = self.parameters()
        labels = [p.label for p in params]
        missing = [label for label in labels if label not in state]
        known = set(labels)
        extra = [str(key) for key in state if key not in known]
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"missing {_some(missing)}")
            if extra:
                problems.append(f"unexpected {_some(extra)}")
            raise ValueError(f"the parameters do not fit {self!r}: {'; '.join(problems)}")
        values = [check_weight(state[label], label) for label in labels]
        for p, value in zip(params, values):
            p.data = value


def check_weight(value: object, label: str) -> float:
    """``value`` as a float if it is a finite real number (not a bool), else an error naming ``label``."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"parameter {label} must be a real number, got {type(value).__name__}: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"parameter {label} must be finite, got {number!r}")
    return number


def _some(names: Sequence[str], limit: int = 5) -> str:
    """``'a', 'b', 'c'`` or ``'a', 'b', ... (12 in all)`` for an error message."""
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


class Neuron(Module):
    """One neuron: ``activation(b + w1*x1 + ... + wn*xn)``.

    Args:
        nin: the number of inputs.
        activation: "sigmoid", "tanh", "relu" or "linear" (no activation).
        name: where the neuron lives, such as "L1.n2"; its parameters are labelled ``{name}.w1`` ...
            ``{name}.b``, and its nodes are made in ``scope`` of the last part of the name ("n2";
            a ``Layer`` adds the "L1").
        seed: an int, a ``numpy.random.Generator`` or None (fresh randomness) for the initial weights
            (see ``init_bound``; the bias starts at 0).
        fan_out: the number of neurons in the neuron's layer, for the Glorot initialisation.

    Attributes:
        w: the weights, a list of ``nin`` Parameters. b: the bias, a Parameter.
    """

    def __init__(
        self, nin: int, activation: str = "sigmoid", *, name: str = "n1", seed: Seed = None, fan_out: int = 1
    ) -> None:
        self.nin = _check_size(nin, "nin")
        self.activation = check_activation(activation)
        fan_out = _check_size(fan_out, "fan_out")
        if not isinstance(name, str) or not name:
            raise ValueError(f"a neuron's name must be a non-empty str, got {name!r}")
        self.name = name
        rng = make_rng(seed, f"Neuron {name}")
        bound = init_bound(self.nin, fan_out, self.activation)
        initial = rng.uniform(-bound, bound, size=self.nin).tolist()
        # Made in the neuron's scope ("L1.n2", the scope its forward pass runs in), so that a drawing
        # puts each weight in its neuron's frame or collapsed box.
        with scope(name):
            self.w: list[Parameter] = [Parameter(v, f"{name}.w{i}") for i, v in enumerate(initial, start=1)]
            self.b: Parameter = Parameter(0.0, f"{name}.b")
        # Computed once here so that a forward pass formats no strings.
        self._scope = name.rsplit(".", 1)[-1]
        self._z_label = f"{name}.z"
        self._a_label = f"{name}.a"
        self._activate = _ACTIVATION_METHODS[self.activation]

    def __call__(self, x: Sequence[Input]) -> Value:
        """The neuron's output for inputs ``x`` (Values or plain numbers, ``nin`` of them)."""
        _check_inputs(x, self.nin, f"neuron {self.name}")
        with scope(self._scope):
            z = self.b
            for wi, xi in zip(self.w, x):
                z = z + wi * xi
            z.label = self._z_label
            if self._activate is None:
                return z
            a = self._activate(z)
            a.label = self._a_label
            return a

    def parameters(self) -> list[Parameter]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r}, name={self.name!r})"


class Layer(Module):
    """``nout`` neurons that read the same ``nin`` inputs; called on inputs it returns a list of
    ``nout`` Values (a list also when ``nout`` is 1).

    Args:
        nin, nout: the numbers of inputs and of neurons.
        activation: the neurons' activation (see ``ACTIVATIONS``).
        name: the layer's name, such as "L1"; neuron ``j`` is named ``{name}.n{j}``, and the layer's
            nodes are made in ``scope(name)``.
        seed: an int, a ``numpy.random.Generator`` or None, for the initial weights.

    Attributes:
        neurons: the list of Neurons.

    Matrix view: ``weights()``/``biases()`` and ``weight_grads()``/``bias_grads()`` return numpy
    arrays of shape ``(nin, nout)`` and ``(nout,)`` with ``W[i, j]`` the weight from input ``i+1`` to
    neuron ``j+1``, so that ``z = x @ W + b``; ``set_weights(W, b)`` writes them back.
    """

    def __init__(
        self, nin: int, nout: int, activation: str = "sigmoid", *, name: str = "L1", seed: Seed = None
    ) -> None:
        self.nin = _check_size(nin, "nin")
        self.nout = _check_size(nout, "nout")
        self.activation = check_activation(activation)
        if not isinstance(name, str) or not name:
            raise ValueError(f"a layer's name must be a non-empty str, got {name!r}")
        self.name = name
        rng = make_rng(seed, f"Layer {name}")
        self.neurons: list[Neuron] = [
            Neuron(self.nin, self.activation, name=f"{name}.n{j}", seed=rng, fan_out=self.nout)
            for j in range(1, self.nout + 1)
        ]

    def __call__(self, x: Sequence[Input]) -> list[Value]:
        """Each neuron's output for inputs ``x`` (``nin`` Values or plain numbers).

        The inputs are the layer's own leaves "x1" ... "xn", shared by all its neurons: a plain number
        becomes a ``Value`` so labelled, and an input ``Value`` leaf without a label is given that label.
        """
        _check_inputs(x, self.nin, f"layer {self.name}")
        x = _as_inputs(x)
        with scope(self.name):
            return [neuron(x) for neuron in self.neurons]

    def parameters(self) -> list[Parameter]:
        return [p for neuron in self.neurons for p in neuron.parameters()]

    # -- matrix view -----------------------------------------------------------------------------------
    def weights(self) -> np.ndarray:
        """The weights as a new ``(nin, nout)`` array: ``W[i, j]`` is ``L.n{j+1}.w{i+1}``."""
        return np.array([[w.data for w in neuron.w] for neuron in self.neurons]).T

    def biases(self) -> np.ndarray:
        """The biases as a new ``(nout,)`` array."""
        return np.array([neuron.b.data for neuron in self.neurons])

    def weight_grads(self) -> np.ndarray:
        """The weights' ``.grad`` as a new ``(nin, nout)`` array, laid out as ``weights()``."""
        return np.array([[w.grad for w in neuron.w] for neuron in self.neurons]).T

    def bias_grads(self) -> np.ndarray:
        """The biases' ``.grad`` as a new ``(nout,)`` array."""
        return np.array([neuron.b.grad for neuron in self.neurons])

    def weight_nodes(self) -> np.ndarray:
        """The weight Parameters themselves as an ``(nin, nout)`` object array, laid out as ``weights()``."""
        nodes = np.empty((self.nin, self.nout), dtype=object)
        for j, neuron in enumerate(self.neurons):
            for i, w in enumerate(neuron.w):
                nodes[i, j] = w
        return nodes

    def bias_nodes(self) -> np.ndarray:
        """The bias Parameters as an ``(nout,)`` object array."""
        nodes = np.empty(self.nout, dtype=object)
        nodes[:] = [neuron.b for neuron in self.neurons]
        return nodes

    def compare_grads(self, loss: Value, dW: object, db: object = None, **tolerances: float) -> "CheckReport":
        """Compare this layer's gradients from ``loss.backward()`` with a matrix derivation in one call.

        ``dW`` is your ``(nin, nout)`` dE/dW (for a layer with input ``x`` and delta ``d`` = dE/dz that
        is ``np.outer(x, d)``), ``db`` your ``(nout,)`` dE/db (``d``). Returns the report of
        ``autograd.check.compare``, one row per weight and bias; ``tolerances`` are its ``atol``/``rtol``.
        """
        from autograd.check import compare

        pairs = [(self.weight_nodes(), dW)]
        if db is not None:
            pairs.append((self.bias_nodes(), db))
        return compare(loss, pairs, **tolerances)

    def set_weights(self, W: object, b: object = None) -> None:
        """Set the weights from a ``(nin, nout)`` array ``W`` and, if given, the biases from a
        ``(nout,)`` array ``b`` (anything ``numpy.asarray`` reads, such as nested lists).

        Both are checked before anything is written: a wrong shape or a non-finite number is a
        ValueError and leaves the layer as it was.
        """
        W_arr = self._checked(W, (self.nin, self.nout), "W")
        b_arr = None if b is None else self._checked(b, (self.nout,), "b")
        for j, neuron in enumerate(self.neurons):
            for i, w in enumerate(neuron.w):
                w.data = float(W_arr[i, j])
            if b_arr is not None:
                neuron.b.data = float(b_arr[j])

    def _checked(self, values: object, shape: tuple[int, ...], what: str) -> np.ndarray:
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"layer {self.name}: {what} must be an array of numbers: {exc}") from None
        if arr.shape != shape:
            layout = "(nin, nout)" if what == "W" else "(nout,)"
            hint = "; did you mean W.T?" if what == "W" and arr.shape == shape[::-1] and shape[0] != shape[1] else ""
            raise ValueError(
                f"layer {self.name}: {what} must have shape {shape} {layout}, got {arr.shape}{hint}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"layer {self.name}: {what} must be finite, got {arr.tolist()}")
        return arr

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r}, name={self.name!r})"


class MLP(Module):
    """A multilayer perceptron: ``MLP(4, [8, 3])`` has 4 inputs, a hidden layer of 8 neurons and 3
    outputs.

    Hidden layers use ``activation``; the last layer is linear. With several outputs the model returns
    a list of Values (the logits, for ``softmax`` or ``cross_entropy``); when the last layer has one
    neuron it returns that Value itself, as micrograd's MLP does, so that micrograd's lecture loop runs
    unchanged::

        n = MLP(3, [4, 4, 1], activation="tanh")
        ypred = [n(x) for x in xs]                  # one Value per sample
        loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))

    Layer ``l`` (counted from 1) is named ``L{l}``, so parameters are labelled like ``L2.n1.w3``.

    Args:
        nin: the number of inputs.
        nouts: the size of each layer, the last one being the number of outputs.
        activation: the hidden layers' activation (see ``ACTIVATIONS``).
        seed: an int for reproducible initial weights (same seed, same weights), a
            ``numpy.random.Generator``, or None for fresh randomness.

    Attributes:
        layers: the list of Layers.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "sigmoid", seed: Seed = None) -> None:
        self.nin = _check_size(nin, "nin")
        given = list(nouts) if hasattr(nouts, "__iter__") and not isinstance(nouts, (str, bytes)) else []
        if not given:
            raise ValueError(f"nouts must be a non-empty list of layer sizes, such as [8, 3], got {nouts!r}")
        sizes = [_check_size(n, f"layer size nouts[{k}]") for k, n in enumerate(given)]
        self.activation = check_activation(activation)
        self.nouts = sizes
        rng = make_rng(seed, "MLP")
        fan_ins = [self.nin, *sizes[:-1]]
        last = len(sizes)
        self.layers: list[Layer] = [
            Layer(n_in, n_out, self.activation if k < last else "linear", name=f"L{k}", seed=rng)
            for k, (n_in, n_out) in enumerate(zip(fan_ins, sizes), start=1)
        ]

    def __call__(self, x: Sequence[Input]) -> Value | list[Value]:
        """The output layer's Values (the logits) for inputs ``x`` (``nin`` Values or plain numbers):
        a list, or the one Value itself when the last layer has one neuron.

        The inputs become leaves labelled "x1" ... "xn" (see ``Layer.__call__``), so a drawing names them.
        """
        outputs = self.outputs(x)
        return outputs[0] if len(outputs) == 1 else outputs

    def outputs(self, x: Sequence[Input]) -> list[Value]:
        """The output layer's Values for inputs ``x``, always as a list (also for one output)."""
        _check_inputs(x, self.nin, "the MLP")
        for layer in self.layers:
            x = layer(x)
        return x  # type: ignore[return-value]

    def forward_numpy(self, X: object) -> np.ndarray:
        """The outputs for many samples at once, computed with numpy from the current weights: an
        ``(n_samples, nouts[-1])`` array (2-D also for one output). No graph is built and no gradient
        computed, so it is quick enough for plots over a grid of thousands of points; it agrees with
        calling the model to within rounding (numpy adds the products in another order).
        """
        A = np.asarray(X, dtype=float)
        if A.ndim != 2 or A.shape[1] != self.nin:
            raise ValueError(f"forward_numpy: X must have shape (n_samples, {self.nin}), got {A.shape}")
        activate = _NUMPY_ACTIVATIONS[self.activation]
        for k, layer in enumerate(self.layers, start=1):
            A = A @ layer.weights() + layer.biases()
            if k < len(self.layers):
                A = activate(A)
        return A

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def set_weights(self, weights: Sequence[tuple[object, object]]) -> None:
        """Set every layer from a list of ``(W, b)`` pairs, one per layer (see ``Layer.set_weights``).

        All pairs are checked before any layer is written, so a bad one leaves the model unchanged.
        """
        if len(weights) != len(self.layers):
            raise ValueError(f"set_weights needs one (W, b) pair per layer: {len(self.layers)}, got {len(weights)}")
        checked = []
        for layer, pair in zip(self.layers, weights):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"layer {layer.name}: expected a (W, b) pair, got {type(pair).__name__}")
            W, b = pair
            checked.append(
                (layer, layer._checked(W, (layer.nin, layer.nout), "W"), layer._checked(b, (layer.nout,), "b"))
            )
        for layer, W, b in checked:
            layer.set_weights(W, b)

    def __repr__(self) -> str:
        sizes = " -> ".join(str(n) for n in [self.nin, *self.nouts])
        return f"MLP({sizes}, activation={self.activation!r})"
