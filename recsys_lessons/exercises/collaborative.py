"""Checks for the exercises of lesson 01 (collaborative filtering).

from recsys_lessons.exercises import collaborative as ex
ex.check_hit_rate(hit_rate)
ex.check_normalised_item_knn(normalised_scores, knn, users)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..models import ItemKNN
from .feedback import Feedback, as_number, close, compare_arrays, compare_number

__all__ = ["check_hit_rate", "check_normalised_item_knn"]

HIT_RATE = "Exercise 1.1"
NORMALISED = "Exercise 1.2"


def _hit_rate_case() -> tuple[np.ndarray, list[set[int]], int]:
    # Four users, lists of four items, k = 3. Top-3 hits: user 0 none (its item 0 is 4th),
    # user 1 none, user 2 two hits, user 3 one hit -> hit rate 2/4.
    ranked = np.array([[3, 1, 2, 0], [0, 1, 2, 3], [2, 3, 0, 1], [1, 0, 3, 2]])
    relevant = [{0}, {3}, {2, 3}, {1}]
    return ranked, relevant, 3


def check_hit_rate(hit_rate: Callable[[np.ndarray, Sequence[set[int]], int], float]) -> Feedback:
    """Check ``hit_rate(ranked, relevant_sets, k) -> float``: the share of users with a hit in their top k.

    Runs it on four hand-made lists with ``k=3`` (expected 0.5).

    Args:
        hit_rate: the learner's function; ``ranked`` is ``(n_users, n)`` item indices, best first,
            ``relevant_sets`` one set of relevant items per user.

    Returns:
        The feedback, naming the value and the likely mistake (whole list instead of the top k,
        number of hits instead of "at least one", precision).
    """
    ranked, relevant, k = _hit_rate_case()
    got = as_number(HIT_RATE, hit_rate(ranked.copy(), [set(r) for r in relevant], k), "your hit rate")
    if isinstance(got, Feedback):
        return got
    known = {
        1.0: "only the first k items of each list count (`items[:k]`)",
        3 / 4: "the hit rate asks whether the top k holds *at least one* relevant item, not how many",
        0.25: "that is precision@k (hits / k); the hit rate is 1 for a user with any hit, else 0",
    }
    hint = next(
        (h for value, h in known.items() if close(got, value)),
        "per user: 1 if any of the first k items is relevant, else 0; then the mean over users",
    )
    return compare_number(HIT_RATE, got, 0.5, "your hit rate@3 on the four hand-made lists", hint)


def check_normalised_item_knn(
    normalised_scores: Callable[[ItemKNN, np.ndarray], np.ndarray],
    knn: ItemKNN,
    users: np.ndarray | Sequence[int],
) -> Feedback:
    """Check ``normalised_scores(knn, users) -> (len(users), n_items)`` for a fitted :class:`ItemKNN`.

    Expected: item kNN's score of candidate ``j`` divided by the similarity mass of ``j``'s
    neighbourhood, ``sum_{i in N_k(j)} sim(i, j)`` (column ``j`` of ``knn.similarity_``); a candidate
    without neighbours (mass 0) keeps its score of 0.

    Args:
        normalised_scores: the learner's function.
        knn: a fitted ItemKNN.
        users: the user indices to score.

    Returns:
        The feedback, naming the first (user, movie) whose score differs.
    """
    users = np.asarray(users, dtype=np.int64)
    got = normalised_scores(knn, users.copy())
    mass = np.asarray(knn.similarity_, dtype=np.float64).sum(axis=0)  # (items,): j's neighbourhood
    expected = knn.score(users) / np.where(mass > 0, mass, 1.0)
    train = knn.train_
    items = train.items
    titles = items["title"].to_numpy() if items is not None and "title" in items else train.item_ids.astype(str)

    def label(index: tuple[int, ...]) -> str:
        u, j = index
        return f"for user {train.user_ids[users[u]]} and '{titles[j]}'"

    arr = None if got is None else np.asarray(got, dtype=np.float64)
    if arr is not None and arr.shape == expected.shape and not np.isfinite(arr).all():
        hint = "some candidates have no neighbours (similarity mass 0): leave their score at 0 instead of dividing by 0"
    elif (
        arr is not None
        and arr.shape == expected.shape
        and np.allclose(
            arr,
            knn.score(users) / np.where(knn.similarity_.sum(axis=1) > 0, knn.similarity_.sum(axis=1), 1.0),
            rtol=1e-5,
            atol=1e-8,
        )
    ):
        hint = "column j of similarity_ holds j's neighbours: sum over axis 0, not axis 1"
    else:
        hint = "divide each candidate's score by the sum of its own neighbours' similarities"
    return compare_arrays(NORMALISED, got, expected, "your normalised score", labels=label, hint=hint)
