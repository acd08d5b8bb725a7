"""Softmax, log-sum-exp and the losses, built from ``autograd.Value`` primitives only.

None of these functions knows a derivative: each builds the graph a learner writes on paper, and
``backward`` differentiates it through the primitives' local derivatives. For example the gradient
of ``cross_entropy`` with respect to the logits comes out as ``softmax(z) - onehot(target)`` without
that formula appearing anywhere.

Numerical stability: softmax, log_softmax, logsumexp and cross_entropy first subtract the largest
logit ``m`` (a plain float, so it is a constant in the graph: ``exp(z_i - m)``). Every exponent is
then <= 0, nothing overflows, and the sum of exponentials is at least 1, so its log is finite: logits
of +-1000 give finite values and gradients. Because ``m`` is a constant, the gradient is still
exactly that of the unshifted formula. The shift is fixed when the graph is built: after
``autograd.replay`` at new parameter values the results are still exact, but a logit that has moved
far above the old maximum can make ``exp`` overflow (an OverflowError naming the node); build the
graph again in that case.

Each function makes its nodes inside ``autograd.scope`` of its own name, so a drawing can group them,
and labels the nodes a derivation on paper names: the shift ``-max(z)`` (one constant, shared by all
logits, so its gradient is the sum over the logits: 0 for softmax's outputs and cross entropy),
each shifted logit ``z1-max``, ``z2-max``, ..., each exponential ``exp1``, ``exp2``, ..., their sum
``sum_exp`` (its running sums ``sum_exp[:2]``, ...), its log ``log_sum_exp``, and each probability
``p1``, ``p2``, .... Every node a function makes has a name, so a drawing or a caption never shows a
bare node number.
"""

from __future__ import annotations

import numbers
from functools import lru_cache
from typing import AbstractSet as Set
from typing import Mapping, Sequence, Union

from autograd import Constant, Value, scope

Number = Union[int, float]


def _require_sequence(values: object, caller: str, what: str) -> None:
    """``values`` must be a list, tuple or 1-D array. A dict or a set has a length too, but its order
    is not the values' (and a dict iterates its keys); a str is a sequence of characters."""
    if isinstance(values, (Value, str, bytes, Mapping, Set)) or not hasattr(values, "__len__"):
        raise TypeError(
            f"{caller}() expects a list of Values or numbers (or a tuple or 1-D array) as {what}, "
            f"got {type(values).__name__}: {values!r:.60}"
        )


def _as_values(values: object, caller: str) -> list[Value]:
    """``values`` as a non-empty list of Values; plain real numbers are lifted into new leaves."""
    _require_sequence(values, caller, "its input")
    if len(values) == 0:  # type: ignore[arg-type]
        raise ValueError(f"{caller}() needs at least one value, got an empty sequence")
    out = []
    for i, v in enumerate(values):  # type: ignore[arg-type]
        if isinstance(v, Value):
            out.append(v)
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            out.append(Value(v))
        else:
            raise TypeError(f"{caller}() expects Values or real numbers, got {type(v).__name__} at index {i}: {v!r}")
    return out


def _sum(values: list[Value], label: str) -> Value:
    """``values[0] + values[1] + ...`` as a chain of ``+`` nodes, labelled ``label``; the running sums
    on the way are labelled ``label[:2]``, ``label[:3]``, ... (the sum of the first k terms)."""
    total = values[0]
    for k, v in enumerate(values[1:], start=2):
        total = total + v
        total.label = f"{label}[:{k}]"
    total.label = label
    return total


def _shifted(z: list[Value]) -> list[Value]:
    """``z_i - m`` for each logit, with ``m = max(z)`` as one constant labelled "-max(z)" (so every
    exponent is <= 0)."""
    shift = Constant(-max(v.data for v in z))
    shift.label = "-max(z)"
    shifted = [v + shift for v in z]
    for s, label in zip(shifted, _numbered("z", len(z))):
        s.label = f"{label}-max"
    return shifted


@lru_cache(maxsize=64)
def _numbered(prefix: str, n: int) -> tuple[str, ...]:
    """``("exp1", "exp2", ...)``: the labels of ``n`` numbered nodes, made once per size."""
    return tuple(f"{prefix}{i}" for i in range(1, n + 1))


def _exps(shifted: list[Value]) -> list[Value]:
    """``exp`` of each shifted logit, labelled "exp1", "exp2", ..."""
    exps = [s.exp() for s in shifted]
    for e, label in zip(exps, _numbered("exp", len(exps))):
        e.label = label
    return exps


def _log_sum(exps: list[Value]) -> Value:
    """``log(sum_exp)``, with the sum labelled "sum_exp" and its log "log_sum_exp"."""
    total = _sum(exps, "sum_exp")
    out = total.log()
    out.label = "log_sum_exp"
    return out


def softmax(values: Sequence[Value | Number]) -> list[Value]:
    """``p_i = exp(z_i - m) / sum_j exp(z_j - m)`` with ``m = max(z)``: a list of Values that are
    positive and sum to 1. The probabilities are labelled "p1", "p2", ...

    Each probability is one division ``exp_i / sum_exp``, so it is the correctly rounded quotient
    of the two numbers, as on paper.
    """
    z = _as_values(values, "softmax")
    with scope("softmax"):
        exps = _exps(_shifted(z))
        total = _sum(exps, "sum_exp")
        probs = [e / total for e in exps]
    for p, label in zip(probs, _numbered("p", len(probs))):
        p.label = label
    return probs


def logsumexp(values: Sequence[Value | Number]) -> Value:
    """``log(sum_i exp(z_i)) = m + log(sum_i exp(z_i - m))`` with ``m = max(z)``, labelled "logsumexp"."""
    z = _as_values(values, "logsumexp")
    m = max(v.data for v in z)
    with scope("logsumexp"):
        out = _log_sum(_exps(_shifted(z))) + m
    out.label = "logsumexp"
    return out


def log_softmax(values: Sequence[Value | Number]) -> list[Value]:
    """``log p_i = (z_i - m) - log(sum_j exp(z_j - m))``: the log of ``softmax``, computed without
    taking the log of a probability that may have underflowed to 0. Labelled "log_p1", ...
    """
    z = _as_values(values, "log_softmax")
    with scope("log_softmax"):
        shifted = _shifted(z)
        neg_log_total = -_log_sum(_exps(shifted))
        neg_log_total.label = "-log_sum_exp"
        out = [s + neg_log_total for s in shifted]
    for v, label in zip(out, _numbered("log_p", len(out))):
        v.label = label
    return out


def _check_target(target: object, nclasses: int) -> int:
    if not isinstance(target, numbers.Integral) or isinstance(target, bool):
        raise TypeError(
            f"the target must be an int class index from 0 to {nclasses - 1} "
            f"({nclasses} classes), got {type(target).__name__}: {target!r}"
        )
    t = int(target)
    if not 0 <= t < nclasses:
        raise IndexError(
            f"target {t} is out of range for {nclasses} classes (valid: 0 to {nclasses - 1})"
        )
    return t


def cross_entropy(logits: Sequence[Value | Number], target: int) -> Value:
    """The cross-entropy loss of one sample: ``-log softmax(z)[target] = logsumexp(z) - z_target``.

    Built as ``log(sum_j exp(z_j - m)) - (z_target - m)`` with ``m = max(z)`` (the two ``m`` cancel),
    labelled "cross_entropy". Its gradient with respect to logit ``z_i`` is ``p_i - [i == target]``.

    Args:
        logits: the model's outputs, one per class (Values, or plain numbers lifted into leaves).
        target: the index of the true class, an int (numpy ints too) from 0 to ``len(logits) - 1``.

    Raises:
        TypeError: ``target`` is not an int. IndexError: it is out of range. Both name the number of
        classes.
    """
    z = _as_values(logits, "cross_entropy")
    t = _check_target(target, len(z))
    with scope("cross_entropy"):
        shifted = _shifted(z)
        loss = _log_sum(_exps(shifted)) - shifted[t]
    loss.label = "cross_entropy"
    return loss


def binary_cross_entropy(logit: Value | Number, target: int) -> Value:
    """The cross-entropy loss of a one-output classifier: ``-log sigmoid(s)`` for class 1 and
    ``-log(1 - sigmoid(s))`` for class 0, where ``s`` is the model's single output (a logit, as
    PyTorch's ``binary_cross_entropy_with_logits`` takes it, not a probability).

    Built as ``cross_entropy([0, s], target)``: since ``sigmoid(s) = softmax([0, s])[1]``, a
    one-output network is a two-class softmax whose class-0 logit is fixed at 0, and the loss inherits
    cross_entropy's stability (finite for ``s = +-1000``). d loss / ds = ``sigmoid(s) - target``.
    Labelled "binary_cross_entropy".

    Args:
        logit: the output ``s`` (a Value, or a number lifted into a leaf).
        target: the true class, 0 or 1.
    """
    if isinstance(logit, Value):
        s = logit
    else:
        (s,) = _as_values([logit], "binary_cross_entropy")
    t = _check_target(target, 2)
    with scope("binary_cross_entropy"):
        loss = cross_entropy([Value(0.0, "logit0"), s], t)
    loss.label = "binary_cross_entropy"
    return loss


def hinge(score: Value | Number, target: int) -> Value:
    """The hinge (max-margin) loss of micrograd's demo: ``relu(1 - y s)`` with ``y = +1`` for class 1
    and ``y = -1`` for class 0 (``y = 2 target - 1``).

    It is 0 once the score ``s`` is on the right side of 0 by a margin of at least 1, and grows
    linearly otherwise; d loss / ds = ``-y`` inside the margin and 0 outside. Labelled "hinge".

    Args:
        score: the one-output classifier's output (a Value, or a number lifted into a leaf).
        target: the true class, 0 or 1 (not -1 and +1: the sign is made here).
    """
    if isinstance(score, Value):
        s = score
    else:
        (s,) = _as_values([score], "hinge")
    y = 2.0 * _check_target(target, 2) - 1.0
    with scope("hinge"):
        margin = s * -y
        margin.label = "-y*s"
        inside = 1.0 + margin
        inside.label = "1-y*s"
        loss = inside.relu()
    loss.label = "hinge"
    return loss


def _residuals(predicted: Sequence[Value | Number], observed: Sequence[Value | Number], caller: str) -> list[Value]:
    p = _as_values(predicted, caller)
    _require_sequence(observed, caller, "the observed values")
    if len(observed) != len(p):
        raise ValueError(f"{caller}(): {len(p)} predicted values but {len(observed)} observed; they must pair up")
    residuals = []
    for i, (o, pi) in enumerate(zip(observed, p)):
        if not isinstance(o, (Value, numbers.Real)) or isinstance(o, bool):
            raise TypeError(f"{caller}() observed values must be Values or real numbers, got {type(o).__name__} at index {i}")
        r = o - pi  # observed - predicted
        r.label = f"r{i + 1}"
        residuals.append(r)
    return residuals


def _squares(residuals: list[Value]) -> list[Value]:
    """Each residual squared, labelled "r1**2", "r2**2", ..."""
    squares = [r**2 for r in residuals]
    for sq, r in zip(squares, residuals):
        sq.label = f"{r.label}**2"
    return squares


def ssr(predicted: Sequence[Value | Number], observed: Sequence[Value | Number]) -> Value:
    """The sum of squared residuals ``sum_i (observed_i - predicted_i)**2``, labelled "ssr".

    ``observed`` may hold plain numbers (constants of the graph) or Values. The lengths must match.
    """
    with scope("ssr"):
        out = _sum(_squares(_residuals(predicted, observed, "ssr")), "ssr")
    out.label = "ssr"
    return out


def mse(predicted: Sequence[Value | Number], observed: Sequence[Value | Number]) -> Value:
    """The mean squared error ``ssr(predicted, observed) / n``, labelled "mse"."""
    with scope("mse"):
        squares = _squares(_residuals(predicted, observed, "mse"))
        out = _sum(squares, "ssr") * (1.0 / len(squares))
    out.label = "mse"
    return out
