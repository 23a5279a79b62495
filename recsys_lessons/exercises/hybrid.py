"""Checks for lesson 05's exercises (hybrid strategies).

- :func:`check_zscore` (warm-up): per-user z-score normalisation of a score matrix;
- :func:`check_rrf` (stretch): reciprocal rank fusion of several ranked lists;
- :func:`check_tuned_blend` (open-ended): a weighted blend tuned on a validation split, judged on
  that validation split against the equal-weights blend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..data import Interactions
from ..evaluation import evaluate
from ..models.hybrid import Weighted
from .feedback import Feedback

__all__ = ["check_rrf", "check_tuned_blend", "check_zscore"]

# A small case with a visible structure: rows on very different scales, one constant row.
_ZSCORE_CASE = np.array([[1.0, 2.0, 3.0, 6.0], [100.0, 300.0, 200.0, 400.0], [5.0, 5.0, 5.0, 5.0]], dtype=np.float64)


def _zscore_reference(scores: np.ndarray) -> np.ndarray:
    mean = scores.mean(1, keepdims=True)
    std = scores.std(1, keepdims=True)
    return np.where(std > 0, (scores - mean) / np.where(std > 0, std, 1.0), 0.0)


def check_zscore(fn: Callable[[np.ndarray], np.ndarray]) -> Feedback:
    """Warm-up: ``fn(scores)`` must z-score each ROW (user): ``(s - mean_u) / std_u``, a constant row -> 0.

    The standard deviation is the population one (``ddof=0``), as in ``numpy.std``.
    """
    name = "Exercise 1 (warm-up): per-user z-scores"
    case = _ZSCORE_CASE.copy()
    try:
        got = np.asarray(fn(case.copy()), dtype=np.float64)
    except Exception as exc:  # the learner's code failed: say how, do not hide it
        return Feedback(name, False, f"your function raised {type(exc).__name__}: {exc}")
    expected = _zscore_reference(case)
    if got.shape != expected.shape:
        return Feedback(
            name, False, f"the result has shape {got.shape}, expected {expected.shape} (one value per user and item)"
        )
    if np.isnan(got).any():
        nan_row = int(np.isnan(got).any(1).argmax())
        return Feedback(
            name, False, f"row {nan_row} contains NaN; a user whose scores are all equal has std 0 — give that row 0"
        )
    if np.allclose(got, expected, atol=1e-6):
        return Feedback(name, True, "every row has mean 0 and standard deviation 1, and the constant row is 0.")
    if np.allclose(got, _zscore_reference(case.reshape(1, -1)).reshape(case.shape), atol=1e-6):
        return Feedback(
            name,
            False,
            "you normalised over the whole matrix; take the mean and std of each row (axis=1, keepdims=True)",
        )
    ddof1 = (case - case.mean(1, keepdims=True)) / np.where(
        case.std(1, ddof=1, keepdims=True) > 0, case.std(1, ddof=1, keepdims=True), 1.0
    )
    if np.allclose(got[:2], ddof1[:2], atol=1e-6):
        return Feedback(
            name, False, "your rows have std below 1: you used the sample std (ddof=1); use ddof=0, as numpy's default"
        )
    row, col = np.unravel_index(int(np.abs(got - expected).argmax()), got.shape)
    return Feedback(
        name,
        False,
        f"for user {row}, item {col} your value is {got[row, col]:.4f}, expected {expected[row, col]:.4f}; "
        f"row {row} of yours has mean {got[row].mean():.3f} and std {got[row].std():.3f} (both should be 0 and 1)",
    )


_RRF_CASE = [[10, 20, 30, 40], [20, 40, 50], [30, 20, 60]]


def _rrf_reference(rankings: Sequence[Sequence[int]], k: float) -> dict[int, float]:
    out: dict[int, float] = {}
    for ranking in rankings:
        for pos, item in enumerate(ranking, start=1):
            out[item] = out.get(item, 0.0) + 1.0 / (k + pos)
    return out


def check_rrf(fn: Callable[[Sequence[Sequence[int]], float], dict[int, float]]) -> Feedback:
    """Stretch: ``fn(rankings, k)`` returns ``{item: Σ_lists 1 / (k + rank)}`` with 1-based ranks.

    An item missing from a list gets nothing from that list.
    """
    name = "Exercise 2 (stretch): reciprocal rank fusion"
    k = 60.0
    try:
        got = fn([list(r) for r in _RRF_CASE], k)
    except Exception as exc:
        return Feedback(name, False, f"your function raised {type(exc).__name__}: {exc}")
    if not isinstance(got, dict):
        return Feedback(name, False, f"return a dict {{item: score}}, got a {type(got).__name__}")
    expected = _rrf_reference(_RRF_CASE, k)
    missing, extra = set(expected) - set(got), set(got) - set(expected)
    if missing:
        return Feedback(name, False, f"items {sorted(missing)} are missing; every item of any list gets a score")
    if extra:
        return Feedback(name, False, f"items {sorted(extra)} are in no list but got a score")
    worst = max(expected, key=lambda i: abs(got[i] - expected[i]))
    if abs(got[worst] - expected[worst]) < 1e-9:
        fused = sorted(expected, key=lambda i: (-expected[i], i))
        return Feedback(
            name,
            True,
            f"the fused order is {fused}: item 20, near the top of all three lists, beats item 10, first in only one.",
        )
    if abs(got[worst] - _rrf_reference(_RRF_CASE, k - 1.0)[worst]) < 1e-9:  # 1 / (k + rank0) = 1 / ((k - 1) + rank1)
        return Feedback(
            name,
            False,
            f"item {worst} scores {got[worst]:.6f}, expected {expected[worst]:.6f}: are your ranks 0-based? RRF counts from 1",
        )
    return Feedback(
        name,
        False,
        f"item {worst} scores {got[worst]:.6f}, expected {expected[worst]:.6f}; add 1 / (k + rank) over every list it appears in",
    )


def check_tuned_blend(model: Weighted, fit_part: Interactions, valid: Interactions, k: int = 10) -> Feedback:
    """Open-ended: a ``Weighted`` fitted on ``fit_part`` whose weights you chose on ``valid``.

    It passes when the model was fitted on ``fit_part`` (not on the full training data, and never
    on test) and its validation NDCG@k is at least that of the same blend with equal weights.
    """
    name = "Exercise 3 (open-ended): weights tuned on validation"
    if not isinstance(model, Weighted):
        return Feedback(name, False, f"pass a fitted Weighted hybrid, got {type(model).__name__}")
    train = getattr(model, "train_", None)
    if train is None:
        return Feedback(name, False, "the blend is not fitted; fit it on fit_part")
    if len(train) != len(fit_part) or not np.array_equal(
        train.frame["item_idx"].to_numpy(), fit_part.frame["item_idx"].to_numpy()
    ):
        return Feedback(
            name,
            False,
            f"the blend was fitted on {len(train):,} ratings, fit_part has {len(fit_part):,}: fit it on fit_part so validation stays unseen",
        )
    mine = float(evaluate(model, fit_part, valid, k, ("ndcg",))[f"ndcg@{k}"])
    equal = Weighted(model.estimators, None, model.norm)
    equal.estimators_, equal.named_estimators_, equal.train_ = model.estimators_, model.named_estimators_, train
    equal.weights_ = np.ones(len(model.estimators_))
    base = float(evaluate(equal, fit_part, valid, k, ("ndcg",))[f"ndcg@{k}"])
    weights = ", ".join(f"{n} {w:.2f}" for (n, _), w in zip(model.estimators_, model.weights_, strict=True))
    if mine + 1e-12 < base:
        return Feedback(
            name,
            False,
            f"your weights ({weights}) give validation NDCG@{k} {mine:.4f}, below equal weights' {base:.4f}: search a wider grid",
        )
    return Feedback(
        name,
        True,
        f"your weights ({weights}) give validation NDCG@{k} {mine:.4f} against {base:.4f} for equal weights.",
    )
