"""The PyTorch bridge against torch itself: nn.to_torch / from_torch, autograd.to_torch, compare_torch and
``chainrule train --export-torch``. torch float64 is the reference; skipped where torch is not installed
(the ``dev`` extra installs it; tests/test_torch_missing.py covers a machine without it)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import autograd  # noqa: E402
import nn  # noqa: E402
from autograd import Value, engine, topological_order  # noqa: E402
from autograd.check import BackwardNeededError, GradientCheckError, compare_torch  # noqa: E402
from autograd.torch_bridge import TORCH_OPS  # noqa: E402

F = torch.nn.functional


def standardised_digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    ds = nn.load_digits()
    X = nn.Standardizer().fit(ds.data).transform(ds.data)
    return X[:n], ds.target[:n]


# -- nn.to_torch ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", nn.ACTIVATIONS)
def test_to_torch_computes_forward_numpy_to_1e_12(activation: str) -> None:
    X, _ = standardised_digits(200)
    model = nn.MLP(64, [32, 16, 10], activation=activation, seed=3)
    module = nn.to_torch(model)
    kinds = [type(m).__name__ for m in module]
    hidden = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "linear": "Identity"}[activation]
    assert kinds == ["Linear", hidden, "Linear", hidden, "Linear"]
    assert all(p.dtype == torch.float64 for p in module.parameters())
    out = module(torch.tensor(X)).detach().numpy()
    np.testing.assert_allclose(out, model.forward_numpy(X), rtol=0, atol=1e-12)
    # and the graph of one sample, node by node as chainrule computes it
    logits = [v.data for v in model([Value(v) for v in X[0]])]
    np.testing.assert_allclose(out[0], logits, rtol=0, atol=1e-12)


def test_linear_weight_row_j_is_neuron_j_plus_1() -> None:
    model = nn.MLP(3, [4, 2], seed=0)
    module = nn.to_torch(model)
    neuron = model.layers[1].neurons[1]  # L2.n2
    assert module[2].weight[1].tolist() == [w.data for w in neuron.w]
    assert module[2].bias[1].item() == neuron.b.data
    assert module[0].weight.detach().numpy().T.tolist() == model.layers[0].weights().tolist()


def test_to_torch_does_not_touch_torchs_random_generator_and_copies() -> None:
    model = nn.MLP(4, [8, 3], seed=0)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    module = nn.to_torch(model)
    assert torch.equal(torch.rand(3), expected)
    with torch.no_grad():
        module[0].weight.add_(1.0)  # the copies share nothing
    assert model.layers[0].neurons[0].w[0].data == nn.MLP(4, [8, 3], seed=0).layers[0].neurons[0].w[0].data


def test_the_same_cross_entropy_gives_the_same_gradient_for_every_parameter() -> None:
    """Our mean cross entropy over a batch against torch.nn.functional.cross_entropy (mean reduction)."""
    X, y = standardised_digits(16)
    model = nn.MLP(64, [32, 10], activation="tanh", seed=0)
    module = nn.to_torch(model)
    losses = [nn.cross_entropy(model([Value(v) for v in row]), int(t)) for row, t in zip(X, y)]
    loss = losses[0]
    for other in losses[1:]:
        loss = loss + other
    loss = loss * (1.0 / len(losses))
    loss.backward()
    reference = F.cross_entropy(module(torch.tensor(X)), torch.tensor(y, dtype=torch.long))
    reference.backward()
    assert loss.data == pytest.approx(reference.item(), rel=1e-12)
    for layer, linear in zip(model.layers, module[::2]):
        np.testing.assert_allclose(layer.weight_grads().T, linear.weight.grad.numpy(), rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(layer.bias_grads(), linear.bias.grad.numpy(), rtol=1e-9, atol=1e-15)


def test_to_torch_in_float32_and_bad_arguments() -> None:
    model = nn.MLP(2, [3, 2], seed=0)
    module = nn.to_torch(model, dtype=torch.float32)
    assert module[0].weight.dtype == torch.float32
    with pytest.raises(TypeError, match="nn.to_torch\\(\\) converts an nn.MLP, got Layer"):
        nn.to_torch(model.layers[0])
    with pytest.raises(TypeError, match="floating-point dtype"):
        nn.to_torch(model, dtype=torch.int64)


# -- nn.from_torch ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", nn.ACTIVATIONS)
def test_round_trip_keeps_every_weight_bit_for_bit(activation: str) -> None:
    model = nn.MLP(5, [7, 6, 3], activation=activation, seed=2)
    back = nn.from_torch(nn.to_torch(model))
    assert back.nin == 5 and back.nouts == [7, 6, 3] and back.activation == activation
    assert back.state_dict() == model.state_dict()
    X = np.random.default_rng(0).normal(size=(20, 5))
    assert np.array_equal(back.forward_numpy(X), model.forward_numpy(X))


def test_from_torch_reads_a_network_made_in_torch() -> None:
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))  # float32
    model = nn.from_torch(module)
    assert model.activation == "relu" and model.nouts == [5, 2]
    X = np.random.default_rng(1).normal(size=(10, 3))
    expected = module.double()(torch.tensor(X)).detach().numpy()  # float32 weights are exact in float64
    np.testing.assert_allclose(model.forward_numpy(X), expected, rtol=0, atol=1e-12)
    # no activation between two Linears is "linear"; one Linear alone is a softmax regression
    assert nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))).activation == "linear"
    assert nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3))).nouts == [3]


def _seq(*layers: object) -> object:
    return torch.nn.Sequential(*layers)


L = torch.nn.Linear
BAD_MODULES = [
    (lambda: _seq(L(2, 3), torch.nn.Softplus(), L(3, 1)), ValueError, r"layer 1 \(Softplus\(.*\)\) is a Softplus, which an nn.MLP cannot represent"),
    (lambda: _seq(L(2, 3), torch.nn.Dropout(0.5), L(3, 1)), ValueError, r"layer 1 .* is a Dropout"),
    (lambda: _seq(L(2, 3, bias=False), torch.nn.Tanh(), L(3, 1)), ValueError, r"layer 0 .* has no bias"),
    (lambda: _seq(L(2, 3), torch.nn.Tanh(), L(3, 1), torch.nn.Sigmoid()), ValueError, r"layer 3 \(Sigmoid\(\)\) comes after the last Linear"),
    (lambda: _seq(L(2, 3), torch.nn.Tanh(), L(3, 4), torch.nn.ReLU(), L(4, 1)), ValueError, r"layer 3 \(ReLU\(\)\) makes the activation 'relu', but an earlier one is 'tanh'"),
    (lambda: _seq(L(2, 3), torch.nn.Tanh(), torch.nn.Tanh(), L(3, 1)), ValueError, r"layer 2 \(Tanh\(\)\) follows layer 1"),
    (lambda: _seq(L(2, 3), torch.nn.Tanh(), L(4, 1)), ValueError, r"layer 2 .* takes 4 inputs, but the Linear before it gives 3"),
    (lambda: _seq(torch.nn.Tanh(), L(2, 1)), ValueError, r"layer 0 \(Tanh\(\)\) comes before the first Linear"),
    (lambda: _seq(), ValueError, "has no Linear layer"),
    (lambda: L(2, 3), TypeError, "reads a torch.nn.Sequential .* got Linear"),
]


@pytest.mark.parametrize("make, error, message", BAD_MODULES)
def test_from_torch_names_the_layer_it_cannot_represent(make, error, message) -> None:
    with pytest.raises(error, match=message):
        nn.from_torch(make())


def test_from_torch_refuses_a_non_finite_weight() -> None:
    module = _seq(L(2, 3), torch.nn.Sigmoid(), L(3, 2))
    with torch.no_grad():
        module[2].bias[1] = float("nan")
    with pytest.raises(ValueError, match=r"layer 2 .* NaN or infinite"):
        nn.from_torch(module)


# -- autograd.to_torch: every primitive of the op table ------------------------------------------------------

# One graph per primitive, keyed by the op table's names: a primitive added to engine.OPS without a line
# here (and in TORCH_OPS) fails test_every_primitive_has_a_torch_operation_and_a_case.
OP_CASES: dict[str, list[tuple]] = {
    "+": [(lambda a, b: a + b, (2.0, -3.0))],
    "-": [(lambda a, b: a - b, (2.0, -3.0))],
    "*": [(lambda a, b: a * b, (2.0, -3.0))],
    "/": [(lambda a, b: a / b, (2.0, -3.0)), (lambda a, b: a / b, (1.0, 49.0))],
    "neg": [(lambda a: -a, (0.3,))],
    "**k": [(lambda a, k=k: a**k, (x,)) for k, x in ((2, -1.5), (3, 0.7), (-1, 2.0), (0.5, 4.0), (0.5, 0.3), (0, 2.0), (1, 2.0), (-2.5, 1.7))],
    "pow": [(lambda a, b: a**b, (2.0, 3.0)), (lambda a, b: a**b, (0.5, -1.5)), (lambda b: 2.0**b, (-0.5,))],
    "exp": [(lambda a: a.exp(), (x,)) for x in (0.0, 1.5, -2.0, 700.0)],
    "log": [(lambda a: a.log(), (x,)) for x in (1.0, 0.1, 7.0, 1e-300)],
    "sigmoid": [(lambda a: a.sigmoid(), (x,)) for x in (0.0, 2.0, -3.0, 40.0, -800.0)],
    "tanh": [(lambda a: a.tanh(), (x,)) for x in (0.0, 0.5, -2.0, 30.0)],
    "relu": [(lambda a: a.relu(), (x,)) for x in (1.5, -0.5, 0.0)],
}


def test_every_primitive_has_a_torch_operation_and_a_case() -> None:
    assert set(TORCH_OPS) == set(engine.OPS), "each primitive of engine.OPS needs its torch operation in TORCH_OPS"
    assert set(OP_CASES) == set(engine.OPS), "each primitive of engine.OPS needs a case in OP_CASES"


CASES = [pytest.param(f, x, id=f"{op}{x}") for op, cases in OP_CASES.items() for f, x in cases]


@pytest.mark.parametrize("f, x", CASES)
def test_each_primitive_replays_in_torch_with_our_value_and_gradients(f, x) -> None:
    leaves = [Value(v, f"x{i}") for i, v in enumerate(x)]
    out = f(*leaves)
    root = out * 0.75  # a consumer, so the op's node gets a gradient that is not 1
    root.backward()
    tensors = autograd.to_torch(root)
    assert set(tensors) == set(topological_order(root))
    tensors[root].backward()
    for node, tensor in tensors.items():
        assert tensor.dtype == torch.float64 and tensor.shape == ()
        assert tensor.item() == pytest.approx(node.data, rel=1e-14, abs=0), node
        assert tensor.grad.item() == pytest.approx(node.grad, rel=1e-12, abs=1e-300), node
    # the four arithmetic operations are correctly rounded in both: the same floats
    if out.op in "+-*/":
        assert tensors[out].item() == out.data


def test_a_network_loss_replays_with_shared_inputs_and_constants() -> None:
    ds = nn.load_iris()
    model = nn.MLP(4, [8, 3], seed=0)
    loss = nn.cross_entropy(model([Value(v) for v in ds.data[0]]), int(ds.target[0]))
    loss.backward()
    tensors = autograd.to_torch(loss)
    tensors[loss].backward()
    order = topological_order(loss)
    assert len(tensors) == len(order)
    shift = next(n for n in order if n.label == "-max(z)")  # a Constant shared by the three logits
    assert tensors[shift].grad.item() == pytest.approx(shift.grad, abs=1e-15)
    for p in model.parameters():
        assert tensors[p].grad.item() == pytest.approx(p.grad, rel=1e-12, abs=1e-15)
    x1 = next(n for n in order if n.label == "x1")
    assert tensors[x1].grad.item() == pytest.approx(x1.grad, rel=1e-12)
    assert not tensors[loss].requires_grad or tensors[loss].grad.item() == 1.0


def test_to_torch_changes_nothing_and_needs_no_backward() -> None:
    x = Value(0.25, "x")
    y = (x * x).exp()
    tensors = autograd.to_torch(y)
    assert x.grad == 0.0 and y.grad == 0.0 and tensors[y].item() == pytest.approx(y.data, rel=1e-15)
    same = x * x
    tensors = autograd.to_torch(same)
    tensors[same].backward()
    assert tensors[x].grad.item() == 0.5  # x * x: both operands are x, both contributions arrive


def test_a_deep_chain_replays_without_recursion() -> None:
    x = Value(1.0, "x")
    y = x
    for _ in range(5_000):
        y = y * 1.0001 + 0.0001
    tensors = autograd.to_torch(y)
    tensors[y].backward()
    assert tensors[x].grad.item() == pytest.approx(1.0001**5_000, rel=1e-12)


def test_a_primitive_without_a_torch_operation_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(TORCH_OPS, "tanh")
    x = Value(0.5, "x")
    h = x.tanh()
    h.label = "h"
    with pytest.raises(NotImplementedError, match=r"no torch operation for the primitive 'tanh' of node 'h'"):
        autograd.to_torch(h)


def test_to_torch_needs_a_value() -> None:
    with pytest.raises(TypeError, match=r"to_torch\(\) needs a Value as root, got float"):
        autograd.to_torch(1.5)


# -- compare_torch ---------------------------------------------------------------------------------------------


def iris_loss() -> tuple[Value, nn.MLP]:
    ds = nn.load_iris()
    model = nn.MLP(4, [8, 3], seed=0)
    loss = nn.cross_entropy(model([Value(v) for v in ds.data[0]]), int(ds.target[0]))
    loss.backward()
    return loss, model


def test_compare_torch_agrees_node_by_node_on_a_network_loss() -> None:
    loss, _ = iris_loss()
    report = compare_torch(loss)
    assert report.ok and report.kind == "compare_torch"
    assert [row.node for row in report] == topological_order(loss)
    assert {row.status for row in report} <= {"exact", "close"}
    assert sum(row.status == "exact" for row in report) > len(report) // 2  # + - * / are bit equal
    for row in report:
        assert row.reference_value == pytest.approx(row.value, rel=1e-14, abs=1e-300)
        assert row.max_diff == max(abs(row.value - row.reference_value), abs(row.analytic - row.numeric))
    text = str(report)
    assert text.splitlines()[0].split() == ["#", "node", "definition", "value", "torch", "value", "grad", "torch", "grad", "max", "diff", "verdict"]
    assert report.summary.startswith(f"compare_torch of cross_entropy: {len(report)} nodes replayed in torch (float64): ")
    assert "all agree" in report.summary and "max difference" in report.summary
    assert "<table" in report._repr_html_()


def test_compare_torch_catches_a_wrong_gradient() -> None:
    loss, model = iris_loss()
    w = model.layers[0].neurons[2].w[1]  # L1.n3.w2
    right = w.grad
    w.grad = right * (1 + 1e-7)  # a wrong gradient in the 8th digit
    report = compare_torch(loss)
    assert not report.ok
    assert [row.name for row in report.failures] == ["L1.n3.w2"]
    row = report["L1.n3.w2"]
    assert row.status == "differs" and row.value_err == 0.0 and row.abs_err == pytest.approx(abs(right) * 1e-7)
    assert row.numeric == pytest.approx(right, rel=1e-12)
    assert "1 differs; 1 FAILED" in report.summary and "(grad of L1.n3.w2)" in report.summary
    assert f"torch value {w.data!r}, grad" in report.failure_message()
    assert "DIFFERS" in str(report)
    with pytest.raises(GradientCheckError, match="L1.n3.w2"):
        compare_torch(loss, raise_exception=True)
    # loose enough tolerances let it through as close
    assert compare_torch(loss, rtol=1e-6).ok


def test_compare_torch_refuses_a_stale_graph_and_needs_backward() -> None:
    loss, model = iris_loss()
    model.layers[0].neurons[0].w[0].data += 0.1  # a training step's change
    report = compare_torch(loss)
    assert not report.ok and len(report) == 0 and report.stale.kind == "values"
    assert "NOT CHECKED" in str(report) and "autograd.replay(root)" in str(report)
    x = Value(0.5, "x")
    y = x.exp()
    with pytest.raises(BackwardNeededError, match=r"compare_torch\(\) needs the gradients of a backward pass"):
        compare_torch(y)
    with pytest.raises(ValueError, match="rtol must be a finite number"):
        compare_torch(y, rtol=-1)


# -- chainrule train --export-torch ------------------------------------------------------------------------------


def test_export_torch_writes_the_trained_networks_state_dict(tmp_path: Path, capsys) -> None:
    from nn.cli import main

    target, saved = tmp_path / "model.pt", tmp_path / "model.json"
    code = main(["train", "--data", "iris", "--epochs", "3", "--no-progress", "--save", str(saved), "--export-torch", str(target)])
    assert code == 0
    out = capsys.readouterr().out
    assert f"torch state_dict (float64) written to {target}, for torch.nn.Sequential(Linear(4, 8), Sigmoid(), Linear(8, 3))" in out
    model, metadata = nn.load(saved, with_metadata=True)
    module = nn.to_torch(nn.MLP(4, [8, 3], activation="sigmoid", seed=1))
    module.load_state_dict(torch.load(target))  # the load line the command prints
    assert nn.from_torch(module).state_dict() == model.state_dict()  # bit for bit the trained weights
    X = (nn.load_iris().data - metadata["standardize"]["mean"]) / metadata["standardize"]["std"]
    np.testing.assert_allclose(module(torch.tensor(X)).detach().numpy(), model.forward_numpy(X), atol=1e-12, rtol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.pt"]
    assert (target.stat().st_mode & 0o777) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_failed_export_leaves_the_old_file_whole_and_no_temporary(tmp_path: Path, monkeypatch, capsys) -> None:
    from nn.cli import main

    target = tmp_path / "model.pt"
    target.write_bytes(b"the old model")

    def full_disk(obj: object, f: object, *args: object, **kwargs: object) -> None:
        f.write(b"half")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    # trained, then the write failed: exit 1 with one line, as for --save (a usage error would be 2)
    assert main(["train", "--data", "iris", "--epochs", "1", "--no-progress", "--export-torch", str(target)]) == 1
    err = capsys.readouterr().err
    assert "--export-torch: cannot write" in err and "No space left on device" in err and "Traceback" not in err
    assert target.read_bytes() == b"the old model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


@pytest.mark.parametrize("path, message", [("nowhere/m.pt", "the directory 'nowhere' does not exist"), (".pt", "is only a suffix")])
def test_export_torch_checks_its_path_before_training(path: str, message: str, capsys, monkeypatch, tmp_path: Path) -> None:
    from nn.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--export-torch", path])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err and "training:" not in captured.out


def test_save_torch_round_trips(tmp_path: Path) -> None:
    model = nn.MLP(3, [4, 2], activation="relu", seed=0)
    path = nn.save_torch(model, tmp_path / "m.pt")
    state = torch.load(path)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    module = nn.to_torch(nn.MLP(3, [4, 2], activation="relu", seed=9))
    module.load_state_dict(state)
    assert nn.from_torch(module).state_dict() == model.state_dict()
    assert math.isfinite(module(torch.zeros(1, 3, dtype=torch.float64)).detach().sum().item())


def test_compare_torch_on_a_root_that_is_a_leaf_and_on_an_expression_of_every_primitive() -> None:
    x = Value(0.7, "x")
    x.backward()
    (row,) = compare_torch(x)
    assert row.status == "exact" and row.analytic == row.numeric == 1.0
    a, b = Value(0.8, "a"), Value(-1.3, "b")
    e = ((a * b).sigmoid() + (a / b).tanh() - (-a).relu() + (a**2).exp().log() + a ** (b * b) - 2 ** b).relu()
    e.backward()
    assert {engine.op_entry(node)[0].name for node in topological_order(e) if node.op} == set(engine.OPS)
    report = compare_torch(e)
    assert report.ok, report.failure_message()


# Random programs with shared sub-expressions (the generator of tests/test_engine_properties.py): torch's
# replay agrees with every node within compare_torch's default tolerances (900 examples tried, none off).
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_engine_properties import build, inputs, step  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(inputs, st.lists(step, min_size=1, max_size=25))
def test_random_graphs_replay_in_torch_node_by_node(xs, program) -> None:
    nodes = build(xs, program)
    root = nodes[-1]
    root.backward()
    report = compare_torch(root)
    assert report.ok, report.failure_message()


def test_a_drawing_with_compare_torchs_report_says_torch_and_marks_a_difference() -> None:
    from autograd.viz import draw

    x, w = Value(2.0, "x"), Value(-3.0, "w")
    h = x * w + (x * w).sigmoid()
    h.label = "h"
    h.backward()
    report = compare_torch(h)
    source = draw(h, check=report).source
    assert {row.status for row in report} == {"exact", "close"}  # sigmoid's last bit differs from torch's
    assert "torch: exact" in source and "torch: close" in source
    assert "check ok" not in source and "numeric" not in source
    w.grad = w.grad * 2
    source = draw(h, check=compare_torch(h)).source
    assert "DIFFERS FROM TORCH" in source and f"torch grad {w.grad / 2:.4g}" in source
