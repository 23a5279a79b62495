"""Checks for lesson 04 (the long tail).

* :func:`check_short_head` (warm-up): a function returning the short-head mask of a popularity vector.
* :func:`check_serve_in_turn` (stretch): the exposure-aware greedy pass, users served in turn.
* :func:`check_tradeoff` (open-ended): where a re-ranker lands against its base model
  (coverage@10 ratio and NDCG@10 ratio), against the lesson's bar of 2x coverage at 95% NDCG.

Each check runs the learner's answer on a concrete case and names the first value that differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..metrics import head_items
from ..models.rerank import serve_in_turn
from .feedback import Feedback

__all__ = ["check_serve_in_turn", "check_short_head", "check_tradeoff"]

# A popularity vector with ties, a zero and an unsorted order: 100 interactions in all.
_POPULARITY = np.array([5, 30, 0, 12, 20, 3, 12, 8, 10])


def _call(exercise: str, fn: Callable, *args) -> tuple[object, Feedback | None]:
    try:
        return fn(*args), None
    except Exception as err:  # the learner's code failed: say so instead of crashing the cell
        return None, Feedback(exercise, False, f"your function raised {type(err).__name__}: {err}")


def check_short_head(fn: Callable[[np.ndarray, float], np.ndarray], exercise: str = "Exercise 1") -> Feedback:
    """Check ``fn(popularity, share) -> bool mask`` of the short head.

    The case: popularity ``[5, 30, 0, 12, 20, 3, 12, 8, 10]`` (100 interactions) with share 0.8
    and 0.5, against :func:`~recsys_lessons.metrics.head_items`.
    """
    for share in (0.8, 0.5):
        got, error = _call(exercise, fn, _POPULARITY.copy(), share)
        if error is not None:
            return error
        got = np.asarray(got)
        if got.shape != _POPULARITY.shape or got.dtype != bool:
            return Feedback(
                exercise,
                False,
                f"for share={share} your function returned shape {got.shape} and dtype "
                f"{got.dtype}; expected a bool mask with one entry per item, shape {_POPULARITY.shape}",
            )
        want = head_items(_POPULARITY, share)
        if got.sum() != want.sum():
            held = _POPULARITY[got].sum() / _POPULARITY.sum()
            hint = (
                "do you stop as soon as the cumulative share *reaches* the target (>=), not once it exceeds it?"
                if got.sum() == want.sum() + 1
                else "do you count interactions (not items), most popular first, until they reach the share?"
            )
            return Feedback(
                exercise,
                False,
                f"for share={share} your head has {int(got.sum())} items holding "
                f"{held:.0%} of the interactions; expected {int(want.sum())} items — {hint}",
            )
        if not np.array_equal(got, want):
            wrong = int(np.flatnonzero(got != want)[0])
            return Feedback(
                exercise,
                False,
                f"for share={share} item {wrong} (popularity {_POPULARITY[wrong]}) is "
                f"{'in' if got[wrong] else 'out of'} your head but should not be — are the items "
                "sorted by popularity, ties by index, before you accumulate?",
            )
    return Feedback(exercise, True, "your short head matches recsys_lessons.metrics.head_items for both shares.")


def _serve_case() -> tuple[np.ndarray, np.ndarray]:
    """Four users who all like items 0 and 1 best, with near-ties further down."""
    relevance = np.array(
        [
            [1.00, 0.95, 0.90, 0.40, 0.00],
            [1.00, 0.97, 0.10, 0.93, 0.00],
            [1.00, 0.90, 0.88, 0.87, 0.00],
            [1.00, 0.99, 0.20, 0.10, 0.95],
        ]
    )
    candidates = np.array([[0, 1, 2, 3, 4], [0, 1, 2, 5, 4], [1, 0, 6, 3, 2], [0, 1, 2, 3, 7]])
    return relevance, candidates


def check_serve_in_turn(
    fn: Callable[[np.ndarray, np.ndarray, float, int, int], np.ndarray], exercise: str = "Exercise 2"
) -> Feedback:
    """Check ``fn(relevance, candidates, beta, k, n_items) -> (n_users, k)`` item lists.

    The case: 4 users, 5 candidates each, 8 items, ``k = 2`` and ``β = 0.1`` and ``0.5``, against
    :func:`~recsys_lessons.models.rerank.serve_in_turn` (penalty ``β · log(1 + c_i)``).
    """
    relevance, candidates = _serve_case()
    for beta in (0.1, 0.5):
        got, error = _call(exercise, fn, relevance.copy(), candidates.copy(), beta, 2, 8)
        if error is not None:
            return error
        got = np.asarray(got)
        if got.shape != (4, 2):
            return Feedback(
                exercise,
                False,
                f"for beta={beta} your lists have shape {got.shape}; expected (4, 2): one row per user, k items each",
            )
        order, _ = serve_in_turn(relevance, candidates, beta, 2, 8)
        want = np.take_along_axis(candidates, order, 1)[:, :2]
        for u in range(4):
            foreign = [int(i) for i in got[u] if i not in candidates[u]]
            if foreign:
                return Feedback(
                    exercise,
                    False,
                    (
                        f"for beta={beta} user {u}'s list holds {foreign[0]}, which is not one of that user's candidates "
                        f"{candidates[u].tolist()} — are you returning positions instead of item ids?"
                    ),
                )
            if not np.array_equal(got[u], want[u]):
                before = np.bincount(want[:u].ravel(), minlength=8)
                item = int(got[u][got[u] != want[u]][0])
                return Feedback(
                    exercise,
                    False,
                    (
                        f"for beta={beta} user {u}'s list is {got[u].tolist()}: item {item} was already in "
                        f"{int(before[item])} earlier list(s), so its penalty is {beta * np.log1p(before[item]):.3f} — "
                        "do you update the counts after each user and rank by relevance minus the penalty?"
                        if u
                        else f"for beta={beta} the first user's list is {got[u].tolist()}; nobody has been served yet, so "
                        "it should be that user's best candidates by relevance (items, not positions)"
                    ),
                )
    return Feedback(exercise, True, "your lists match the exposure-aware re-ranker for both betas.")


def check_tradeoff(
    results: Mapping[str, float],
    base: Mapping[str, float],
    exercise: str = "Exercise 3",
    coverage_ratio: float = 2.0,
    ndcg_share: float = 0.95,
    k: int = 10,
) -> Feedback:
    """Where a re-ranker lands against its base model: coverage ratio and share of NDCG kept.

    Args:
        results, base: ``rl.evaluate`` outputs with ``ndcg@k`` and ``coverage@k`` for the
            learner's model and the base model on the same split.
        coverage_ratio, ndcg_share: the bar (default: the lesson's 2x coverage at 95% NDCG).
    """
    keys = (f"ndcg@{k}", f"coverage@{k}")
    for name, table in (("results", results), ("base", base)):
        missing = [key for key in keys if key not in table]
        if missing:
            return Feedback(exercise, False, f"{name} lacks {missing}; evaluate with metrics=('ndcg', 'coverage')")
    kept = results[keys[0]] / base[keys[0]]
    ratio = results[keys[1]] / base[keys[1]]
    where = f"coverage@{k} is {ratio:.2f}x the base model's and NDCG@{k} keeps {kept:.1%}"
    if ratio >= coverage_ratio and kept >= ndcg_share:
        return Feedback(exercise, True, f"{where}: at or beyond the bar ({coverage_ratio:g}x at {ndcg_share:.0%}).")
    short = (
        f"coverage needs {coverage_ratio:g}x — spread more (a larger penalty or more candidates)"
        if ratio < coverage_ratio
        else f"NDCG needs {ndcg_share:.0%} — you pay too much accuracy (a smaller penalty, fewer candidates)"
    )
    return Feedback(exercise, False, f"{where}; {short}.")
