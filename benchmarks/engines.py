"""One adapter per engine, so that each workload is written once and every engine builds the same graph.

A builder in ``workloads`` makes leaves with ``engine.leaf`` (an input) and ``engine.param`` (a
trainable leaf), and combines nodes with Python operators and the node methods that all three engines
share: ``relu()``, and ``exp()``, ``log()``, ``sigmoid()`` where ``engine.has_exp_log`` (micrograd 0.1.0
has only ``+ * ** relu``). Calling the methods directly, rather than through a table of functions, keeps
the builder's own overhead out of the per-operation times.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable, Optional, Sequence

Node = Any

ENGINE_NAMES = ("chainrule", "chainrule-py", "micrograd", "torch")
"""chainrule-py is chainrule's engine run as plain Python (``autograd/engine.py`` uncompiled), beside the
compiled one in the same process; where no compiled engine is built, both rows are plain Python."""


@dataclass(frozen=True)
class Engine:
    """How one engine makes leaves, runs backward and exposes numbers.

    Attributes:
        name: "chainrule", "micrograd" or "torch".
        version: the installed version, for the report.
        leaf: makes an input leaf from a float (no gradient needed, but the engine may keep one).
        param: makes a trainable leaf from a float.
        backward: runs reverse mode from a scalar root.
        value: a node's value as a Python float.
        grad: a leaf's gradient as a Python float (0.0 if it has none).
        zero_grads: clears the gradients of the given parameters before a backward pass.
        sgd_step: ``p <- p - lr * dL/dp`` for every given parameter.
        count_ops: the number of operation (non-leaf) nodes in a root's graph.
        has_exp_log: whether nodes have ``exp``, ``log`` and ``sigmoid``.
        hessian: the matrix of second derivatives of a root with respect to the given leaves, as rows
            of floats; None for an engine without higher-order gradients.
    """

    name: str
    version: str
    leaf: Callable[[float], Node]
    param: Callable[[float], Node]
    backward: Callable[[Node], None]
    value: Callable[[Node], float]
    grad: Callable[[Node], float]
    zero_grads: Callable[[Sequence[Node]], None]
    sgd_step: Callable[[Sequence[Node], float], None]
    count_ops: Callable[[Node], int]
    has_exp_log: bool
    hessian: Optional[Callable[[Node, Sequence[Node]], list[list[float]]]] = None


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def chainrule_version() -> str:
    """The version in this checkout's pyproject.toml (chainrule is imported from the repo, not installed)."""
    from pathlib import Path
    import re

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    try:
        match = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(), re.MULTILINE)
    except OSError:
        match = None
    return match.group(1) if match else "unknown"


# -- chainrule -----------------------------------------------------------------------------------------
def _chainrule() -> Engine:
    import autograd

    return _chainrule_engine("chainrule", autograd.engine, "compiled" if autograd.COMPILED else "plain Python")


def _chainrule_python() -> Engine:
    import importlib.util
    import sys
    from pathlib import Path

    name = "chainrule_plain_python_engine"
    module = sys.modules.get(name)
    if module is None:
        source = Path(__file__).resolve().parents[1] / "autograd" / "engine.py"
        spec = importlib.util.spec_from_file_location(name, source)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return _chainrule_engine("chainrule-py", module, "plain Python")


def _chainrule_engine(name: str, module: Any, mode: str) -> Engine:
    Parameter, Value, topological_order = module.Parameter, module.Value, module.topological_order

    def backward(root: Node) -> None:
        root.backward()

    def zero_grads(params: Sequence[Node]) -> None:
        for p in params:
            p.grad = 0.0

    def sgd_step(params: Sequence[Node], lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad

    def count_ops(root: Node) -> int:
        return sum(1 for node in topological_order(root) if node.parents)

    return Engine(
        name=name,
        version=f"{chainrule_version()} ({mode})",
        leaf=Value,
        param=Parameter,
        backward=backward,
        value=lambda node: float(node.data),
        grad=lambda node: float(node.grad),
        zero_grads=zero_grads,
        sgd_step=sgd_step,
        count_ops=count_ops,
        has_exp_log=True,
        hessian=_chainrule_hessian,
    )


def _chainrule_hessian(root: Node, leaves: Sequence[Node]) -> list[list[float]]:
    """``autograd.hessian`` (the gradient as a graph, then one backward pass per entry), as rows.

    It differentiates Values of the engine module that ``autograd`` imported; for nodes of another copy
    of the engine (a second module loaded from the same file) it raises NotImplementedError."""
    import autograd

    if not isinstance(root, autograd.Value):
        raise NotImplementedError(
            "autograd.hessian works on the engine autograd imported; "
            "set CHAINRULE_PURE_PYTHON=1 to time it in plain Python"
        )
    return autograd.hessian(root, leaves).tolist()


# -- micrograd 0.1.0 -------------------------------------------------------------------------------------
def _micrograd() -> Engine:
    from micrograd.engine import Value

    def backward(root: Node) -> None:
        root.backward()  # recursive: raises RecursionError on graphs deeper than about 1,000 nodes

    def zero_grads(params: Sequence[Node]) -> None:
        for p in params:
            p.grad = 0

    def sgd_step(params: Sequence[Node], lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad

    def count_ops(root: Node) -> int:
        seen = {root}
        stack = [root]
        ops = 0
        while stack:
            node = stack.pop()
            if node._prev:
                ops += 1
            for parent in node._prev:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return ops

    return Engine(
        name="micrograd",
        version=_version("micrograd"),
        leaf=Value,
        param=Value,
        backward=backward,
        value=lambda node: float(node.data),
        grad=lambda node: float(node.grad),
        zero_grads=zero_grads,
        sgd_step=sgd_step,
        count_ops=count_ops,
        has_exp_log=False,
    )


# -- PyTorch, 0-dim float64 tensors ----------------------------------------------------------------------
def _torch() -> Engine:
    import torch

    # 0-dim tensors never use intra-op threads; one thread keeps the shared machine quiet.
    torch.set_num_threads(1)
    float64 = torch.float64
    tensor = torch.tensor

    def leaf(x: float) -> Node:
        return tensor(x, dtype=float64)

    def param(x: float) -> Node:
        return tensor(x, dtype=float64, requires_grad=True)

    def backward(root: Node) -> None:
        root.backward()

    def grad(node: Node) -> float:
        return 0.0 if node.grad is None else float(node.grad.item())

    def zero_grads(params: Sequence[Node]) -> None:
        for p in params:
            p.grad = None  # what optimizer.zero_grad() does by default

    def sgd_step(params: Sequence[Node], lr: float) -> None:
        with torch.no_grad():
            for p in params:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-lr)

    def hessian(root: Node, leaves: Sequence[Node]) -> list[list[float]]:
        # Double backward: the gradient as a graph (create_graph=True), then one backward pass per entry.
        first = torch.autograd.grad(root, leaves, create_graph=True)
        rows = []
        for g in first:
            row = [None] * len(leaves)  # an entry that is a constant has no graph: its row is 0
            if g.requires_grad:
                row = torch.autograd.grad(g, leaves, retain_graph=True, allow_unused=True)
            rows.append([0.0 if r is None else float(r.item()) for r in row])
        return rows

    def count_ops(root: Node) -> int:
        # Every operation node of autograd's graph; AccumulateGrad nodes stand for leaves.
        start = root.grad_fn
        if start is None:
            return 0
        seen = {start}
        stack = [start]
        ops = 0
        while stack:
            fn = stack.pop()
            if type(fn).__name__ != "AccumulateGrad":
                ops += 1
            for parent, _ in fn.next_functions:
                if parent is not None and parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return ops

    return Engine(
        name="torch",
        version=torch.__version__,
        leaf=leaf,
        param=param,
        backward=backward,
        value=lambda node: float(node.item()),
        grad=grad,
        zero_grads=zero_grads,
        sgd_step=sgd_step,
        count_ops=count_ops,
        has_exp_log=True,
        hessian=hessian,
    )


_FACTORIES = {"chainrule": _chainrule, "chainrule-py": _chainrule_python, "micrograd": _micrograd, "torch": _torch}


def load_engines(names: Sequence[str]) -> tuple[dict[str, Engine], dict[str, str]]:
    """The requested engines that import, and for each one that does not, the reason it was skipped."""
    engines: dict[str, Engine] = {}
    skipped: dict[str, str] = {}
    for name in names:
        if name not in _FACTORIES:
            raise ValueError(f"unknown engine {name!r}; choose from {', '.join(ENGINE_NAMES)}")
        try:
            engines[name] = _FACTORIES[name]()
        except ImportError as exc:
            if name == "chainrule":
                raise
            skipped[name] = f"not installed ({exc})"
    return engines, skipped
