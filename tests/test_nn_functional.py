"""nn.functional: closed-form values, the p - onehot identity, central differences, stability, errors."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import nn
from autograd import Value, topological_order

LN2, LN3 = math.log(2.0), math.log(3.0)


def values(*xs: float) -> list[Value]:
    return [Value(x, label=f"z{i}") for i, x in enumerate(xs, start=1)]


def data(vs: list[Value]) -> list[float]:
    return [v.data for v in vs]


def grads(vs: list[Value]) -> list[float]:
    return [v.grad for v in vs]


# -- closed forms --------------------------------------------------------------------------------------
# With logits (0, ln 2, ln 3) the exponentials are 1, 2, 3 and their sum is 6.


def test_softmax_closed_form() -> None:
    p = nn.softmax(values(0.0, LN2, LN3))
    assert data(p) == pytest.approx([1 / 6, 2 / 6, 3 / 6], rel=1e-15)
    assert [q.label for q in p] == ["p1", "p2", "p3"]


def test_softmax_gradient_closed_form() -> None:
    # d p1 / d z_j = p1 ([j == 1] - p_j)
    z = values(0.0, LN2, LN3)
    nn.softmax(z)[0].backward()
    p1 = 1 / 6
    assert grads(z) == pytest.approx([p1 * (1 - 1 / 6), -p1 * 2 / 6, -p1 * 3 / 6], rel=1e-14)


def test_logsumexp_closed_form() -> None:
    z = values(0.0, LN2, LN3)
    out = nn.logsumexp(z)
    assert out.data == pytest.approx(math.log(6.0), rel=1e-15)
    assert out.label == "logsumexp"
    out.backward()
    assert grads(z) == pytest.approx([1 / 6, 2 / 6, 3 / 6], rel=1e-14)  # d lse / d z = softmax(z)


def test_log_softmax_closed_form() -> None:
    z = values(0.0, LN2, LN3)
    out = nn.log_softmax(z)
    assert data(out) == pytest.approx([math.log(1 / 6), math.log(2 / 6), math.log(3 / 6)], rel=1e-14)
    out[2].backward()  # d log p3 / d z_j = [j == 3] - p_j
    assert grads(z) == pytest.approx([-1 / 6, -2 / 6, 1 - 3 / 6], rel=1e-14)


def test_cross_entropy_closed_form() -> None:
    z = values(0.0, LN2, LN3)
    loss = nn.cross_entropy(z, 2)
    assert loss.data == pytest.approx(LN2, rel=1e-14)  # -log(3/6)
    assert loss.label == "cross_entropy"
    loss.backward()
    assert grads(z) == pytest.approx([1 / 6, 2 / 6, 3 / 6 - 1], rel=1e-14)


def test_cross_entropy_of_equal_logits_is_log_of_class_count() -> None:
    for n in (1, 2, 5):
        assert nn.cross_entropy(values(*[0.7] * n), 0).data == pytest.approx(math.log(n), abs=1e-15)


def test_ssr_closed_form() -> None:
    p = values(1.0, 2.0)
    out = nn.ssr(p, [3.0, 5.0])  # residuals 2 and 3
    assert out.data == 13.0
    assert out.label == "ssr"
    out.backward()
    assert grads(p) == [-4.0, -6.0]  # d/dp (o - p)^2 = -2 (o - p)


def test_mse_closed_form() -> None:
    p = values(1.0, 2.0)
    out = nn.mse(p, [3.0, 5.0])
    assert out.data == 6.5
    assert out.label == "mse"
    out.backward()
    assert grads(p) == [-2.0, -3.0]


def test_ssr_with_value_observations_differentiates_both_sides() -> None:
    p, o = values(1.0), [Value(4.0, label="o")]
    out = nn.ssr(p, o)
    out.backward()
    assert (out.data, p[0].grad, o[0].grad) == (9.0, -6.0, 6.0)


# -- the gradient of cross entropy through softmax is p - onehot ---------------------------------------


def test_cross_entropy_gradient_is_p_minus_onehot() -> None:
    rng = random.Random(7)
    for n in (2, 3, 6):
        for target in range(n):
            raw = [rng.uniform(-4.0, 4.0) for _ in range(n)]
            z = values(*raw)
            nn.cross_entropy(z, target).backward()
            e = np.exp(np.array(raw) - max(raw))
            expected = e / e.sum() - np.eye(n)[target]
            assert grads(z) == pytest.approx(expected.tolist(), abs=1e-14)


def test_p_minus_onehot_at_the_logits_of_an_mlp() -> None:
    """The logits are computed nodes: backward gives them exactly d loss / d logit."""
    model = nn.MLP(3, [4, 3], seed=2)
    logits = model([Value(v) for v in (0.5, -1.0, 2.0)])
    loss = nn.cross_entropy(logits, 1)
    loss.backward()
    z = np.array(data(logits))
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert grads(logits) == pytest.approx((p - np.eye(3)[1]).tolist(), abs=1e-14)


# -- central differences for every function -------------------------------------------------------------


def _check_central_differences(f, xs: list[float], h: float = 1e-6, tol: float = 1e-7) -> None:
    z = values(*xs)
    out = f(z)
    out.backward()
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        numeric = (f(values(*up)).data - f(values(*down)).data) / (2 * h)
        assert z[i].grad == pytest.approx(numeric, abs=tol), f"d/dz{i + 1}"


@pytest.mark.parametrize(
    "name, f",
    [
        ("softmax[1]", lambda z: nn.softmax(z)[1]),
        ("log_softmax[0]", lambda z: nn.log_softmax(z)[0]),
        ("logsumexp", nn.logsumexp),
        ("cross_entropy", lambda z: nn.cross_entropy(z, 3)),
        ("ssr", lambda z: nn.ssr(z, [0.5, -1.0, 2.0, 0.0])),
        ("mse", lambda z: nn.mse(z, [0.5, -1.0, 2.0, 0.0])),
    ],
)
def test_central_differences(name: str, f) -> None:
    _check_central_differences(f, [0.3, -1.2, 2.5, 0.9])


# -- built from primitives, with the shift as a constant ------------------------------------------------


def test_softmax_graph_is_built_from_primitives_with_a_constant_shift() -> None:
    z = values(1.0, 3.0)
    p = nn.softmax(z)
    ops = {node.op for node in topological_order(p[0])}
    assert ops == {"", "+", "exp", "/"}
    total = p[0].parents[1]
    assert total.label == "sum_exp" and p[1].parents[1] is total  # p_i = exp_i / sum_exp, one shared sum
    assert [pi.data for pi in p] == [e / total.data for e in (math.exp(-2.0), 1.0)]  # one rounding each
    shifts = [node for node in topological_order(p[0]) if node.op == "+" and node.parents[0] in z]
    assert [s.parents[1].role for s in shifts] == ["constant", "constant"]
    assert [s.parents[1].data for s in shifts] == [-3.0, -3.0]  # minus the max
    assert all(node.scope == "softmax" for node in topological_order(p[0]) if node.parents)


def test_functions_accept_plain_numbers() -> None:
    assert data(nn.softmax([0.0, 0.0])) == [0.5, 0.5]
    assert nn.cross_entropy([0.0, LN3], 1).data == pytest.approx(math.log(4 / 3), rel=1e-14)


# -- stability --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0], [1000.0, 1000.0]])
def test_stable_at_plus_minus_1000(raw: list[float]) -> None:
    for target in range(len(raw)):
        z = values(*raw)
        loss = nn.cross_entropy(z, target)
        loss.backward()
        assert math.isfinite(loss.data)
        assert all(math.isfinite(g) for g in grads(z))
        # compare with the exact values, computed with the shift in numpy
        shifted = np.array(raw) - max(raw)
        p = np.exp(shifted) / np.exp(shifted).sum()
        assert loss.data == pytest.approx(np.log(np.exp(shifted).sum()) - shifted[target], abs=1e-12)
        assert grads(z) == pytest.approx((p - np.eye(len(raw))[target]).tolist(), abs=1e-12)
    assert data(nn.softmax(values(*raw))) == pytest.approx(p.tolist(), abs=1e-15)
    assert nn.logsumexp(values(*raw)).data == pytest.approx(max(raw) + np.log(np.exp(shifted).sum()), rel=1e-15)
    assert all(math.isfinite(v) for v in data(nn.log_softmax(values(*raw))))


def test_cross_entropy_of_a_hopeless_logit_is_large_but_exact() -> None:
    z = values(1000.0, -1000.0)
    loss = nn.cross_entropy(z, 1)
    loss.backward()
    assert loss.data == 2000.0
    assert grads(z) == [1.0, -1.0]


# -- errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [1.0, "1", None, True, np.float64(1.0)])
def test_cross_entropy_non_int_target_is_type_error_naming_class_count(target: object) -> None:
    with pytest.raises(TypeError, match="3 classes"):
        nn.cross_entropy(values(0.0, 1.0, 2.0), target)  # type: ignore[arg-type]


@pytest.mark.parametrize("target", [3, -1, 10])
def test_cross_entropy_out_of_range_is_index_error_naming_class_count(target: int) -> None:
    with pytest.raises(IndexError, match=r"out of range for 3 classes \(valid: 0 to 2\)"):
        nn.cross_entropy(values(0.0, 1.0, 2.0), target)


def test_cross_entropy_accepts_numpy_int_target() -> None:
    assert nn.cross_entropy(values(0.0, LN2, LN3), np.int64(2)).data == pytest.approx(LN2, rel=1e-14)


@pytest.mark.parametrize("f", [nn.ssr, nn.mse])
def test_length_mismatch_is_an_error(f) -> None:
    with pytest.raises(ValueError, match="2 predicted values but 3 observed"):
        f(values(1.0, 2.0), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("f", [nn.softmax, nn.log_softmax, nn.logsumexp, lambda z: nn.cross_entropy(z, 0)])
def test_empty_and_wrong_inputs(f) -> None:
    with pytest.raises(ValueError, match="at least one"):
        f([])
    with pytest.raises(TypeError, match="list of Values"):
        f(Value(1.0))
    with pytest.raises(TypeError, match="at index 1"):
        f([Value(1.0), "2"])


def test_a_failed_call_leaves_the_inputs_alone() -> None:
    z = values(0.0, 1.0)
    with pytest.raises(IndexError):
        nn.cross_entropy(z, 2)
    assert data(z) == [0.0, 1.0] and grads(z) == [0.0, 0.0]


# -- one-output losses: binary cross entropy and hinge ----------------------------------------------------


@pytest.mark.parametrize("s", [-3.0, -0.5, 0.0, LN3, 4.0])
def test_binary_cross_entropy_closed_form_and_gradient(s: float) -> None:
    sigmoid = 1 / (1 + math.exp(-s))
    for target, expected in ((1, -math.log(sigmoid)), (0, -math.log(1 - sigmoid))):
        z = Value(s, label="s")
        loss = nn.binary_cross_entropy(z, target)
        loss.backward()
        assert loss.data == pytest.approx(expected, rel=1e-14, abs=1e-15)
        assert z.grad == pytest.approx(sigmoid - target, rel=1e-13, abs=1e-15)  # d/ds = sigmoid(s) - t
        assert loss.label == "binary_cross_entropy"


def test_binary_cross_entropy_is_the_two_class_softmax_with_a_zero_logit() -> None:
    for s, t in ((0.7, 0), (-2.0, 1)):
        assert nn.binary_cross_entropy(s, t).data == pytest.approx(nn.cross_entropy([0.0, s], t).data, rel=1e-15)


def test_binary_cross_entropy_is_finite_for_huge_logits() -> None:
    for s in (1000.0, -1000.0):
        z = Value(s)
        loss = nn.binary_cross_entropy(z, 1)
        loss.backward()
        assert loss.data == pytest.approx(max(-s, 0.0), abs=1e-12) and math.isfinite(z.grad)


@pytest.mark.parametrize("s, target, value, slope", [
    (0.3, 1, 0.7, -1.0),   # inside the margin on the right side: 1 - s, slope -1
    (-0.3, 1, 1.3, -1.0),  # wrong side
    (2.0, 1, 0.0, 0.0),    # beyond the margin: no loss, no gradient
    (0.3, 0, 1.3, 1.0),    # class 0 wants s <= -1: 1 + s, slope +1
    (-1.5, 0, 0.0, 0.0),
])
def test_hinge_closed_form(s: float, target: int, value: float, slope: float) -> None:
    z = Value(s)
    loss = nn.hinge(z, target)
    loss.backward()
    assert loss.data == pytest.approx(value, rel=1e-15) and z.grad == slope and loss.label == "hinge"


def test_one_output_losses_check_the_target() -> None:
    for loss in (nn.hinge, nn.binary_cross_entropy):
        with pytest.raises(IndexError, match=r"target 2 is out of range for 2 classes"):
            loss(Value(0.5), 2)
        with pytest.raises(IndexError, match="out of range"):
            loss(Value(0.5), -1)  # micrograd's labels are -1 and +1; here the classes are 0 and 1
        with pytest.raises(TypeError, match="the target must be an int"):
            loss(Value(0.5), 1.0)  # type: ignore[arg-type]


def test_the_nodes_a_derivation_names_are_labelled_and_the_shift_is_one_constant() -> None:
    z = values(0.0, LN2, LN3)  # exponentials 1, 2, 3 after the shift by -ln 3: 1/3, 2/3, 1
    loss = nn.cross_entropy(z, 0)
    loss.backward()
    nodes = {n.label: n for n in topological_order(loss) if n.label}
    shift = nodes["-max(z)"]
    assert shift.role == "constant" and shift.data == -LN3
    assert sum(1 for n in topological_order(loss) for p in n.parents if p is shift) == 3  # one node, three uses
    # d loss/d shift = sum_i (p_i - onehot_i) = 0: the shift does not change the loss
    assert shift.grad == pytest.approx(0.0, abs=1e-15)
    assert [nodes[f"exp{i}"].data for i in (1, 2, 3)] == pytest.approx([1 / 3, 2 / 3, 1.0], rel=1e-15)
    assert nodes["sum_exp"].data == pytest.approx(2.0, rel=1e-15)
    assert nodes["log_sum_exp"].data == pytest.approx(math.log(2.0), rel=1e-15)
    p = nn.softmax(values(0.0, LN2, LN3))
    softmax_labels = {n.label for n in topological_order(p[0]) if n.label}
    assert {"-max(z)", "exp1", "exp3", "sum_exp", "p1"} <= softmax_labels


def test_every_node_nn_makes_has_a_name() -> None:
    """A drawing or a caption of an nn graph never shows a bare ``#142``: every computed node and every
    leaf nn makes is labelled (issue 21); the shifted logits are z1-max, ..., running sums sum_exp[:2]."""
    z = values(1.0, 2.0, 0.5)
    s = Value(0.3, label="s")
    model = nn.MLP(2, [3, 2], seed=0)
    losses = {
        "cross_entropy": nn.cross_entropy(z, 1),
        "softmax": nn.softmax(z)[0],
        "log_softmax": nn.log_softmax(z)[2],
        "logsumexp": nn.logsumexp(z),
        "binary_cross_entropy": nn.binary_cross_entropy(s, 1),
        "hinge": nn.hinge(s, 0),
        "ssr": nn.ssr(z, [1, 2, 3]),
        "mse": nn.mse(z, [1, 2, 3]),
        "mlp": nn.cross_entropy(model([Value(1.0), Value(2.0)]), 0),
    }
    for name, loss in losses.items():
        unnamed = [f"{n.op} of {[p.label for p in n.parents]}" for n in topological_order(loss)
                   if not n.label and n.role != "constant"]  # fmt: skip
        assert unnamed == [], f"{name} makes unnamed nodes: {unnamed}"
    labels = {n.label for n in topological_order(losses["cross_entropy"])}
    assert {"z1-max", "z2-max", "z3-max", "sum_exp[:2]", "sum_exp"} <= labels
    neuron = {n.label for n in topological_order(losses["mlp"]) if n.scope == "L1.n1"}
    assert {"L1.n1.wx1", "L1.n1.wx2", "L1.n1.z[:1]", "L1.n1.z", "L1.n1.a"} <= neuron
