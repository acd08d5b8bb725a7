"""An ``MLP`` as a ``torch.nn.Sequential`` and back, with exactly the same weights.

``to_torch(model)`` builds ``Sequential(Linear, activation, Linear, ..., Linear)``: one ``Linear`` per
layer of the MLP, with the hidden activation (``Sigmoid``, ``Tanh``, ``ReLU``, or ``Identity`` for
"linear") after every layer but the last, which is linear as in ``MLP``. The weights map as follows,
for layer ``L{l}`` (the ``Linear`` at index ``2 * (l - 1)`` of the Sequential):

    Linear.weight[j, i] = L{l}.n{j+1}.w{i+1}      (row j holds neuron j+1's weights)
    Linear.bias[j]      = L{l}.n{j+1}.b

so ``Linear.weight`` is the transpose of ``Layer.weights()`` (which is laid out ``nin x nout`` for
``z = x @ W + b``; torch computes ``z = x @ weight.T + bias``). ``from_torch(module)`` reads the same
layout back. Both copy numbers and share nothing: training one does not change the other.

torch is optional (``pip install "chainrule[torch]"``) and imported only when a function here runs;
without it, each function raises an ImportError that says what to install.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd._files import atomic_write
from autograd.torch_bridge import require_torch

from .module import MLP

if TYPE_CHECKING:
    import torch

# The torch module class of each hidden activation of ``MLP`` (by the class's name: torch is imported
# only when needed).
TORCH_ACTIVATIONS: dict[str, str] = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "linear": "Identity"}
_FROM_TORCH: dict[str, str] = {name: activation for activation, name in TORCH_ACTIVATIONS.items()}


def to_torch(model: MLP, dtype: "torch.dtype | None" = None) -> "torch.nn.Sequential":
    """``model`` as a ``torch.nn.Sequential`` of ``Linear`` and activation layers with the same weights.

    ``MLP(4, [8, 3], activation="sigmoid")`` becomes ``Sequential(Linear(4, 8), Sigmoid(), Linear(8, 3))``;
    ``Linear.weight`` row ``j`` holds neuron ``j+1``'s weights (see the module docstring). In the default
    ``torch.float64``, ``module(torch.tensor(X))`` equals ``model.forward_numpy(X)`` to rounding (about
    1e-15), and a loss computed the same way in both gives the same gradients to rounding.

    Args:
        model: an ``nn.MLP``.
        dtype: the floating-point dtype of the parameters; None for ``torch.float64`` (float32 rounds
            every weight to about 7 digits).

    Raises:
        ImportError: torch is not installed (the message says what to install).
        TypeError: ``model`` is not an MLP, or ``dtype`` is not a torch floating-point dtype.
    """
    torch = require_torch("nn.to_torch")
    if not isinstance(model, MLP):
        raise TypeError(f"nn.to_torch() converts an nn.MLP, got {type(model).__name__}: {model!r:.60}")
    dtype = torch.float64 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"nn.to_torch(): dtype must be a torch floating-point dtype such as torch.float64, got {dtype!r}")
    activation = getattr(torch.nn, TORCH_ACTIVATIONS[model.activation])
    modules = []
    for k, layer in enumerate(model.layers, start=1):
        # skip_init: no random initialisation (it would draw from torch's global generator for nothing)
        linear = torch.nn.utils.skip_init(torch.nn.Linear, layer.nin, layer.nout, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weights().T.copy()))
            linear.bias.copy_(torch.from_numpy(layer.biases()))
        modules.append(linear)
        if k < len(model.layers):
            modules.append(activation())
    return torch.nn.Sequential(*modules)


def from_torch(module: "torch.nn.Module") -> MLP:
    """The ``nn.MLP`` that computes what ``module`` computes, with the same weights (as float64).

    ``module`` must be a ``torch.nn.Sequential`` of ``Linear`` layers (with biases), each pair joined by
    one ``Sigmoid``, ``Tanh``, ``ReLU`` or ``Identity`` (or by nothing: "linear"), the same one
    everywhere, and nothing after the last ``Linear`` but an optional ``Identity``: the networks
    ``MLP`` can be. ``from_torch(to_torch(model))`` computes the same outputs as ``model``. A network of
    one ``Linear`` gets the default activation name ("sigmoid"), which it never applies.

    Raises:
        ImportError: torch is not installed (the message says what to install).
        TypeError: ``module`` is not a ``torch.nn.Sequential``.
        ValueError: a layer ``MLP`` cannot represent (``Softplus``, ``Dropout``, a ``Linear`` without
            bias, two activations in a row, an activation after the last ``Linear``, different hidden
            activations, sizes that do not chain, non-finite weights); the message names the layer.
    """
    torch = require_torch("nn.from_torch")
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(
            f"nn.from_torch() reads a torch.nn.Sequential of Linear and activation layers, got {type(module).__name__}"
        )
    linears: list[tuple[str, Any]] = []
    activations: list[tuple[str, str]] = []  # (where, activation name) between consecutive Linears
    pending: tuple[str, str] | None = None  # the activation seen since the last Linear
    for name, child in module.named_children():
        where = f"layer {name} ({child!r:.80})"
        kind = type(child).__name__
        if isinstance(child, torch.nn.Linear):
            if child.bias is None:
                raise ValueError(f"nn.from_torch(): {where} has no bias; every neuron of an nn.MLP has one")
            if linears:
                previous = linears[-1][1]
                if child.in_features != previous.out_features:
                    raise ValueError(
                        f"nn.from_torch(): {where} takes {child.in_features} inputs, but the Linear before it "
                        f"gives {previous.out_features}"
                    )
                activations.append(pending or (where, "linear"))
            linears.append((where, child))
            pending = None
        elif type(child) in (torch.nn.Sigmoid, torch.nn.Tanh, torch.nn.ReLU, torch.nn.Identity):
            if not linears:
                raise ValueError(f"nn.from_torch(): {where} comes before the first Linear; an nn.MLP starts with a Linear")
            if pending is not None:
                raise ValueError(
                    f"nn.from_torch(): {where} follows {pending[0]}; an nn.MLP has one activation between two Linears"
                )
            pending = (where, _FROM_TORCH[kind])
        else:
            raise ValueError(
                f"nn.from_torch(): {where} is a {kind}, which an nn.MLP cannot represent; it has Linear layers "
                "with Sigmoid, Tanh, ReLU or Identity (or nothing) between them"
            )
    if not linears:
        raise ValueError("nn.from_torch(): the Sequential has no Linear layer")
    if pending is not None and pending[1] != "linear":
        raise ValueError(
            f"nn.from_torch(): {pending[0]} comes after the last Linear, but an nn.MLP's last layer is linear "
            "(its outputs are logits); leave it out and apply it to the outputs"
        )
    names = {activation for _, activation in activations}
    if len(names) > 1:
        first = activations[0][1]
        where, other = next((w, a) for w, a in activations if a != first)
        raise ValueError(
            f"nn.from_torch(): {where} makes the activation {other!r}, but an earlier one is {first!r}; "
            "all hidden layers of an nn.MLP share one activation"
        )
    activation = activations[0][1] if activations else "sigmoid"
    weights = []
    for where, linear in linears:
        W = linear.weight.detach().to("cpu", torch.float64).numpy().T
        b = linear.bias.detach().to("cpu", torch.float64).numpy()
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise ValueError(f"nn.from_torch(): {where} has a weight or bias that is NaN or infinite")
        weights.append((W, b))
    model = MLP(linears[0][1].in_features, [linear.out_features for _, linear in linears], activation=activation, seed=0)
    model.set_weights(weights)
    return model


def save_torch(model: MLP, path: str | os.PathLike[str]) -> Path:
    """Write ``to_torch(model).state_dict()`` to ``path`` with ``torch.save``, atomically
    (``autograd._files.atomic_write``: a temporary file in the same folder, flushed to disk, then renamed
    over ``path``). A failed write leaves an existing file as it was and no temporary file behind.
    Returns the path.

    Load it into the same architecture: ``nn.to_torch(nn.MLP(nin, nouts, activation)).load_state_dict(
    torch.load(path))``, or a ``Sequential`` of ``Linear`` and activation layers written by hand.
    """
    torch = require_torch("nn.save_torch")
    state = to_torch(model).state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)  # made in memory first, so a failure here touches no file
    return atomic_write(path, buffer.getvalue())
