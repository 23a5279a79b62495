"""Full-catalogue evaluation of any model that has ``score(users)``.

For every test user (a user with at least one test interaction) the model scores the whole
catalogue in batches; items the user has in the training data are masked out; the top-k is taken
on the device (torch ``topk``); the metrics of :mod:`recsys_lessons.metrics` are computed from the
ranked lists. No sampled negatives anywhere: sampled metrics are biased (Krichene & Rendle 2020).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from .. import metrics as M
from ..data import Interactions
from ..train import get_device

__all__ = ["RANKING_METRICS", "compare", "evaluate", "evaluate_by_segment", "paired_bootstrap", "rank_users", "top_k"]

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


def top_k(
    scores: np.ndarray | torch.Tensor,
    k: int,
    exclude: sp.csr_matrix | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Indices of the ``k`` best-scoring items per row, best first.

    Args:
        scores: ``(n_users, n_items)`` scores.
        k: list length, 1 <= k <= n_items.
        exclude: sparse ``(n_users, n_items)``; non-zero entries are never returned (seen items).
        device: where to run ``topk`` (see :func:`~recsys_lessons.train.get_device`).

    Returns:
        int64 array ``(n_users, k)``. Ties are broken towards the lower item index.

    Raises:
        ValueError: bad ``k``, NaN scores, or an ``exclude`` of another shape.
    """
    s = scores if isinstance(scores, torch.Tensor) else torch.from_numpy(np.array(scores, dtype=np.float32))
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_users, n_items), got shape {tuple(s.shape)}")
    k = M._check_k(k)
    if k > s.shape[1]:
        raise ValueError(f"k={k} exceeds the {s.shape[1]} items")
    if torch.isnan(s).any():
        row = int(torch.isnan(s).any(1).nonzero()[0])
        raise ValueError(f"NaN in the scores (first in row {row}); the model produced invalid scores")
    dev = get_device(device)
    s = s.to(dev, dtype=torch.float32, copy=True)  # (batch, n_items); a copy, masked below
    if exclude is not None:
        if exclude.shape != tuple(s.shape):
            raise ValueError(f"exclude has shape {exclude.shape}, scores {tuple(s.shape)}")
        coo = exclude.tocoo()
        rows = torch.as_tensor(coo.row, dtype=torch.long, device=dev)
        cols = torch.as_tensor(coo.col, dtype=torch.long, device=dev)
        s[rows, cols] = -torch.inf
    # A stable descending sort puts tied items in index order, so rankings are reproducible on
    # every device; sorting a batch of rows of a few thousand items costs milliseconds.
    order = torch.sort(s, dim=1, descending=True, stable=True).indices[:, :k]  # (batch, k)
    return order.cpu().numpy().astype(np.int64)


def rank_users(
    model,
    users: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None,
    batch_size: int = 512,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Top-``k`` item indices for each user index in ``users``, scoring in batches."""
    out = []
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = model.score(batch)
        out.append(top_k(scores, k, None if exclude is None else exclude[batch], device))
    return np.concatenate(out) if out else np.empty((0, k), dtype=np.int64)


def _check_same_index(train: Interactions, test: Interactions) -> None:
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
    _check_same_index(train, test)
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
        frame = {f"{m}@{k}": RANKING_METRICS[m](ranked, relevant, k, per_user=True) for m in metrics if m in RANKING_METRICS}
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


def evaluate_by_segment(
    model,
    train: Interactions,
    test: Interactions,
    k: int = 10,
    by: str = "item",
    segments: np.ndarray | None = None,
    metrics: Sequence[str] = ("precision", "recall", "ndcg", "hit_rate"),
    head_share: float = 0.8,
    **kwargs,
) -> pd.DataFrame:
    """Break results down by item segment (head vs tail) or by user segment.

    ``by="item"``: the ranking is over the full catalogue as usual, but only test interactions
    with items of one segment count as relevant, giving e.g. head and tail accuracy. Default
    segments: ``"head"``/``"tail"`` from :func:`~recsys_lessons.metrics.head_items` on train.

    ``by="user"``: ``segments`` labels each user index (e.g. activity bins); per-user metrics
    are averaged within each label.

    Returns:
        One row per segment with the metrics and the number of users (and test interactions).

    Raises:
        ValueError: unknown ``by`` or a ``segments`` array of the wrong length.
    """
    _check_same_index(train, test)
    if by == "item":
        if segments is None:
            segments = np.where(M.head_items(train.item_popularity(), head_share), "head", "tail")
        segments = np.asarray(segments)
        if segments.shape != (train.n_items,):
            raise ValueError(f"item segments must have shape ({train.n_items},), got {segments.shape}")
        rows = {}
        item_seg = segments[test.frame["item_idx"].to_numpy()]
        for label in pd.unique(segments):
            part = test.subset(item_seg == label)
            if len(part) == 0:
                continue
            res = evaluate(model, train, part, k, metrics, **kwargs)
            rows[label] = pd.concat([res, pd.Series({"users": part.frame.user_idx.nunique(), "interactions": len(part)})])
        return pd.DataFrame(rows).T
    if by == "user":
        if segments is None:
            raise ValueError("by='user' needs a segments array with one label per user index")
        segments = np.asarray(segments)
        if segments.shape != (train.n_users,):
            raise ValueError(f"user segments must have shape ({train.n_users},), got {segments.shape}")
        per = evaluate(model, train, test, k, metrics, per_user=True, **kwargs)
        per["segment"] = segments[per.index.to_numpy()]
        out = per.groupby("segment").mean()
        out["users"] = per.groupby("segment").size()
        return out
    raise ValueError(f"by={by!r}; expected 'item' or 'user'")


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean difference of two paired per-user scores with a percentile bootstrap interval.

    Two rankers evaluated on the same users give paired scores ``a[u]`` and ``b[u]`` (e.g.
    ``ndcg_at_k(..., per_user=True)``). The users are resampled with replacement
    ``n_resamples`` times; each resample gives a mean difference
    ``d* = mean(a[u*] - b[u*])``, and the interval is the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of the ``d*``. Resampling *pairs* keeps what the two
    rankers share (easy and hard users), so the interval is much tighter than two separate ones.

    Args:
        a: ``(n_users,)`` scores of the first ranker.
        b: ``(n_users,)`` scores of the second ranker, same users in the same order.
        n_resamples: bootstrap resamples.
        confidence: coverage of the interval, in ``(0, 1)``.
        seed: seed of the resampling.

    Returns:
        ``(mean(a - b), low, high)``.

    Raises:
        ValueError: shapes differ or are not 1-D, no users, non-finite scores, ``n_resamples``
            below 1 or ``confidence`` outside ``(0, 1)``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"need two 1-D arrays of the same length, got shapes {a.shape} and {b.shape}")
    if len(a) == 0:
        raise ValueError("no users to resample")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite")
    if n_resamples < 1:
        raise ValueError(f"n_resamples={n_resamples!r}; expected at least 1")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence!r}; expected a value in (0, 1)")
    diff = a - b
    idx = np.random.default_rng(seed).integers(0, len(diff), size=(n_resamples, len(diff)))
    means = diff[idx].mean(axis=1)  # (n_resamples,)
    low, high = np.quantile(means, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
    return float(diff.mean()), float(low), float(high)
