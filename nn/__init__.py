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

Modules (``module``): ``Module``, ``Neuron``, ``Layer``, ``MLP``. Functions (``functional``):
``softmax``, ``log_softmax``, ``logsumexp``, ``cross_entropy``, ``ssr``, ``mse``. Optimizers
(``optim``): ``SGD``, ``Adam``. Data (``data``): ``load_iris``, ``train_test_split``,
``Standardizer``. Training (``train``): ``fit``, ``evaluate``, ``predict``, ``plot_history``.
"""

from .data import Dataset, Standardizer, load_iris, train_test_split
from .functional import cross_entropy, log_softmax, logsumexp, mse, softmax, ssr
from .module import ACTIVATIONS, MLP, Layer, Module, Neuron
from .optim import SGD, Adam, Optimizer
from .train import History, evaluate, fit, plot_history, predict

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
    "ssr",
    "mse",
    "Optimizer",
    "SGD",
    "Adam",
    "Dataset",
    "load_iris",
    "train_test_split",
    "Standardizer",
    "History",
    "fit",
    "evaluate",
    "predict",
    "plot_history",
]
