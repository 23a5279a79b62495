"""Full-catalogue evaluation of any model that has ``score(users)``.

For every test user (a user with at least one test interaction) the model scores the whole
catalogue in batches; items the user has in the training data are masked out; the top-k comes
from :func:`~recsys_lessons.evaluation.ranking.top_k`; the metrics of :mod:`recsys_lessons.metrics`
are computed from the ranked lists. No sampled negatives anywhere: sampled metrics are biased
(Krichene & Rendle 2020).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from .. import metrics as M
from ..data import Interactions
from .ranking import rank_users

__all__ = ["DEFAULT_METRICS", "LIST_METRICS", "RANKING_METRICS", "check_same_index", "compare", "evaluate"]

# name -> (function, needs) ; "relevance" metrics take (ranked, relevant, k, per_user)
RANKING_METRICS: dict[str, Callable[..., float | np.ndarray]] = {
    "precision": M.precision_at_k,
    "recall": M.recall_at_k,
    "ndcg": M.ndcg_at_k,
    "map": M.mean_average_precision,
    "mrr": M.mrr_at_k,
    "hit_rate": M.hit_rate_at_k,
}
LIST_METRICS = ("coverage", "gini", "novelty", "arp", "aplt")
DEFAULT_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate", "coverage")


def check_same_index(train: Interactions, test: Interactions) -> None:
    """Raise unless ``train`` and ``test`` are ``Interactions`` on one index.

    Raises:
        TypeError: either is not an ``Interactions``.
        ValueError: their user or item indexes differ.
    """
    if not isinstance(train, Interactions) or not isinstance(test, Interactions):
        raise TypeError("train and test must be Interactions on one index (use the data.split_* functions)")
    if train.shape != test.shape or not (
        np.array_equal(train.user_ids, test.user_ids) and np.array_equal(train.item_ids, test.item_ids)
    ):
        raise ValueError("train and test are on different indexes; split one Interactions object")


def evaluate(
    model,
    train: Interactions,
    test: Interactions,
    k: int = 10,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    exclude_seen: bool = True,
    relevance_threshold: float | None = None,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    per_user: bool = False,
    head_share: float = 0.8,
) -> pd.Series | pd.DataFrame:
    """Evaluate a fitted model on the full catalogue.

    Args:
        model: anything with ``score(users) -> (len(users), n_items)``.
        train: the training interactions (masked out of the rankings when ``exclude_seen``).
        test: held-out interactions on the same index; every test interaction is relevant unless
            ``relevance_threshold`` keeps only ratings >= it.
        k: cut-off.
        metrics: names from ``precision, recall, ndcg, map, mrr, hit_rate`` (per user) and
            ``coverage, gini, novelty, arp, aplt`` (over the lists; popularity from ``train``).
        exclude_seen: mask training items.
        relevance_threshold: minimum rating that counts as relevant.
        batch_size: users scored per batch.
        device: where top-k runs.
        per_user: return a per-user DataFrame (ranking metrics only, indexed by user index).
        head_share: head definition for ``aplt``.

    Returns:
        A Series ``{"ndcg@10": ..., ...}`` or, with ``per_user``, a DataFrame.

    Raises:
        KeyError: unknown metric name.
        ValueError: different indexes, no test user, or invalid scores.
    """
    check_same_index(train, test)
    unknown = [m for m in metrics if m not in RANKING_METRICS and m not in LIST_METRICS]
    if unknown:
        raise KeyError(f"unknown metrics {unknown}; choose from {list(RANKING_METRICS) + list(LIST_METRICS)}")
    rel = test.matrix if relevance_threshold is None else (test.matrix >= relevance_threshold).astype(np.float32)
    rel = sp.csr_matrix(rel)
    rel.eliminate_zeros()
    users = np.flatnonzero(np.diff(rel.indptr))
    if users.size == 0:
        raise ValueError("no test user has a relevant item")
    ranked = rank_users(model, users, k, train.matrix if exclude_seen else None, batch_size, device)
    relevant = rel[users]
    if per_user:
        frame = {
            f"{m}@{k}": RANKING_METRICS[m](ranked, relevant, k, per_user=True) for m in metrics if m in RANKING_METRICS
        }
        return pd.DataFrame(frame, index=pd.Index(users, name="user_idx"))
    out = {f"{m}@{k}": RANKING_METRICS[m](ranked, relevant, k) for m in metrics if m in RANKING_METRICS}
    pop = train.item_popularity()
    extra = {
        "coverage": lambda: M.catalogue_coverage(ranked, train.n_items),
        "gini": lambda: M.gini_exposure(ranked, train.n_items),
        "novelty": lambda: M.novelty(ranked, pop, train.n_users),
        "arp": lambda: M.arp(ranked, pop),
        "aplt": lambda: M.aplt(ranked, pop, head_share),
    }
    for m in metrics:
        if m in LIST_METRICS:
            out[f"{m}@{k}"] = extra[m]()
    return pd.Series(out, name=getattr(model, "name", type(model).__name__))


def compare(
    models: Mapping[str, object],
    train: Interactions,
    test: Interactions,
    k: int = 10,
    metrics: Sequence[str] = DEFAULT_METRICS,
    **kwargs,
) -> pd.DataFrame:
    """Evaluate several fitted models; one row per model, one column per metric."""
    rows = {name: evaluate(m, train, test, k, metrics, **kwargs) for name, m in models.items()}
    return pd.DataFrame(rows).T
