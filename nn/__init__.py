"""chainrule's neural networks, built from ``autograd.Value`` nodes so that every gradient can be inspected.

    >>> import nn
    >>> from autograd import Value
    >>> ds = nn.load_iris()
    >>> model = nn.MLP(4, [8, 3], activation="sigmoid", seed=0)
    >>> logits = model([Value(v) for v in ds.data[0]])
    >>> loss = nn.cross_entropy(logits, int(ds.target[0]))
    >>> opt = nn.SGD(model.parameters(), lr=0.1)
    >>> opt.zero_grad(); loss.backward(); opt.step()
    >>> model.layers[1].neurons[0].w[2].label
    'L2.n1.w3'

A network whose last layer has one neuron returns that Value itself, as micrograd's does, so the
loop of micrograd's lecture runs as typed:

    >>> n = nn.MLP(3, [4, 4, 1], activation="tanh", seed=0)
    >>> xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    >>> ys = [1.0, -1.0, -1.0, 1.0]
    >>> for k in range(20):
    ...     ypred = [n(x) for x in xs]
    ...     loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))
    ...     for p in n.parameters():
    ...         p.grad = 0.0
    ...     loss.backward()
    ...     for p in n.parameters():
    ...         p.data += -0.05 * p.grad
    >>> loss.data < 0.1
    True

Modules (``module``): ``Module`` (with ``state_dict``/``load_state_dict``), ``Neuron``, ``Layer``,
``MLP``. Functions (``functional``): ``softmax``, ``log_softmax``, ``logsumexp``, ``cross_entropy``,
``binary_cross_entropy``, ``hinge``, ``ssr``, ``mse``. Optimizers (``optim``): ``SGD``, ``Adam``.
Data (``data``): ``load_iris``, ``load_digits``, ``make_moons``, ``make_spirals``,
``train_test_split``, ``Standardizer``. Training (``train``): ``fit``, ``evaluate``, ``predict``,
``plot_history``, ``plot_decision_regions``. Saving (``saving``): ``save``, ``load``. PyTorch
(``torch_bridge``, needs ``pip install "chainrule[torch]"``): ``to_torch``, ``from_torch``, ``save_torch``.
"""

from .data import Dataset, Standardizer, load_digits, load_iris, make_moons, make_spirals, train_test_split
from .functional import binary_cross_entropy, cross_entropy, hinge, log_softmax, logsumexp, mse, softmax, ssr
from .module import ACTIVATIONS, MLP, Layer, Module, Neuron
from .optim import SGD, Adam, Optimizer
from .saving import load, save
from .torch_bridge import from_torch, save_torch, to_torch
from .train import LOSSES, History, evaluate, fit, plot_decision_regions, plot_history, predict

__all__ = [
    "Module",
    "Neuron",
    "Layer",
    "MLP",
    "ACTIVATIONS",
    "softmax",
    "log_softmax",
    "logsumexp",
    "cross_entropy",
    "binary_cross_entropy",
    "hinge",
    "ssr",
    "mse",
    "Optimizer",
    "SGD",
    "Adam",
    "Dataset",
    "load_iris",
    "load_digits",
    "make_moons",
    "make_spirals",
    "train_test_split",
    "Standardizer",
    "History",
    "LOSSES",
    "fit",
    "evaluate",
    "predict",
    "plot_history",
    "plot_decision_regions",
    "save",
    "load",
    "to_torch",
    "from_torch",
    "save_torch",
]
