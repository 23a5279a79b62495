"""The cold-start item protocol: rank only items nobody rated in training.

For :func:`~recsys_lessons.data.split_cold_items`: the candidates are the items with test ratings
and none in train, so only a model that reads content can order them; a random ranking is the
floor (:func:`expected_random_recall`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data import Interactions
from .protocol import RANKING_METRICS, check_same_index

__all__ = ["evaluate_cold_start", "expected_random_recall"]

Scorer = Any  # a fitted Recommender: anything with score(users) and _check_fitted()


def evaluate_cold_start(
    model: Scorer,
    train: Interactions,
    test: Interactions,
    k: int = 10,
    metrics: Sequence[str] = ("recall", "ndcg", "precision", "hit_rate"),
    relevance_threshold: float | None = None,
    seed: int = 0,
    batch_size: int = 512,
) -> pd.Series:
    """Rank only the cold items (those in ``test`` and absent from ``train``) for each test user.

    The protocol for :func:`~recsys_lessons.data.split_cold_items`: candidates = the items with
    ratings in ``test`` and none in ``train``; for each user with a relevant test rating, the
    model ranks the candidates and the top ``k`` is compared with that user's test ratings
    (all of them, or those >= ``relevance_threshold``).

    Ties are broken at random (seeded, independently per user), never by item id: a model that
    cannot tell cold items apart (collaborative filtering, popularity: every cold item scores 0)
    then gets a random ranking, as it should. (In MovieLens low ids are older, more popular
    movies, so breaking ties by id would smuggle popularity into the ranking.)

    Args:
        model: a fitted recommender (fitted on ``train``).
        train: training interactions.
        test: held-out interactions on the same index.
        k: cut-off (at most the number of cold items).
        metrics: ranking metric names of :data:`~recsys_lessons.evaluation.RANKING_METRICS`.
        relevance_threshold: minimum rating that counts as relevant (``None``: every test rating).
        seed: seed of the tie-breaking order.
        batch_size: users scored per call to ``model.score``.

    Returns:
        Series such as ``{"recall@10": ..., "ndcg@10": ...}``, plus ``users`` and ``candidates``.

    Raises:
        ValueError: different indexes, no cold item in ``test``, ``k`` outside 1..n_cold, no
            relevant test rating, or NaN scores.
        KeyError: unknown metric name.
        NotFittedError: an unfitted model.
    """
    check_same_index(train, test)
    model._check_fitted()
    unknown = [m for m in metrics if m not in RANKING_METRICS]
    if unknown:
        raise KeyError(f"unknown metrics {unknown}; choose from {list(RANKING_METRICS)}")
    cold = np.setdiff1d(np.unique(test.frame["item_idx"].to_numpy()), np.unique(train.frame["item_idx"].to_numpy()))
    if cold.size == 0:
        raise ValueError("test has no cold item (every test item also appears in train); use split_cold_items")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= cold.size:
        raise ValueError(f"k={k!r}; expected an integer in 1..{cold.size} (the number of cold items)")
    rel = test.matrix[:, cold]  # (n_users, n_cold): columns are candidate positions
    if relevance_threshold is not None:
        rel = (rel >= relevance_threshold).astype(np.float32)
    rel = sp.csr_matrix(rel)
    rel.eliminate_zeros()
    users = np.flatnonzero(np.diff(rel.indptr))
    if users.size == 0:
        raise ValueError("no test user has a relevant cold item")
    rng = np.random.default_rng(seed)
    ranked = []
    for start in range(0, users.size, batch_size):
        s = np.asarray(model.score(users[start : start + batch_size]), dtype=np.float64)[:, cold]  # (b, n_cold)
        if np.isnan(s).any():
            raise ValueError(f"{type(model).__name__} produced NaN scores")
        tie = rng.random(s.shape)  # (b, n_cold): a random priority among equal scores, per user
        order = np.lexsort((tie, -s), axis=-1)  # by score, ties by `tie`
        ranked.append(order[:, :k])
    lists = np.concatenate(ranked)  # (n_test_users, k) candidate positions
    out = {f"{m}@{k}": float(RANKING_METRICS[m](lists, rel[users], k)) for m in metrics}
    out.update(users=int(users.size), candidates=int(cold.size))
    return pd.Series(out, name=getattr(model, "name", type(model).__name__))


def expected_random_recall(k: int, n_candidates: int) -> float:
    """Expected Recall@k of a uniformly random ranking of ``n_candidates`` items: ``min(k, n) / n``.

    Each relevant item lands in the top ``k`` with probability ``k / n``, whatever the number of
    relevant items, so the expectation is the same for every user.

    Raises:
        ValueError: ``k`` < 1 or ``n_candidates`` < 1.
    """
    if k < 1 or n_candidates < 1:
        raise ValueError(f"k={k!r} and n_candidates={n_candidates!r} must both be >= 1")
    return min(k, n_candidates) / n_candidates
