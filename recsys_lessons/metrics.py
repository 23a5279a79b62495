"""Rating, ranking and beyond-accuracy metrics, vectorised over users.

Conventions for the ranking metrics:

* ``ranked`` is an integer array of shape ``(n_users, >= k)``: row ``u`` holds item indices in
  ranked order (best first), as :func:`recsys_lessons.evaluation.top_k` returns them.
* ``relevant`` says which items are relevant to each user: a SciPy sparse matrix or a dense array
  of shape ``(n_users, n_items)`` where any non-zero entry is relevant (binary relevance), or a
  list of ``n_users`` collections of item indices.
* Every user must have at least one relevant item: an empty relevant set makes recall, NDCG and AP
  undefined, so it raises ``ValueError`` naming the row instead of silently scoring 0.
* ``per_user=True`` returns one value per user; otherwise the mean over users.

Notation in the formulas: ``R_u`` is user u's relevant set, ``rel_u(i)`` is 1 if the item at rank
``i`` is in ``R_u`` and 0 otherwise, ``U`` the users evaluated.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp

__all__ = [
    "aplt",
    "arp",
    "catalogue_coverage",
    "gini_exposure",
    "head_items",
    "hit_rate_at_k",
    "hits_at_k",
    "intra_list_similarity",
    "mae",
    "mean_average_precision",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
    "rmse",
]

Relevant: TypeAlias = sp.spmatrix | sp.sparray | np.ndarray | Sequence[Collection[int]]


# --------------------------------------------------------------------------------------------
# Rating metrics


def _check_pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} values but y_pred has {p.size}")
    if t.size == 0:
        raise ValueError("no ratings to compare (empty input)")
    if np.isnan(t).any() or np.isnan(p).any():
        raise ValueError("NaN in y_true or y_pred")
    return t, p


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error: ``sqrt( (1/N) Σ_j (r_j − r̂_j)² )``.

    Raises:
        ValueError: different lengths, empty input or NaN.
    """
    t, p = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error: ``(1/N) Σ_j |r_j − r̂_j|``.

    Raises:
        ValueError: different lengths, empty input or NaN.
    """
    t, p = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


# --------------------------------------------------------------------------------------------
# Ranking metrics


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if k <= 0:
        raise ValueError(f"k={k}; expected a positive integer")
    return int(k)


def _check_ranked(ranked: np.ndarray, k: int) -> np.ndarray:
    ranked = np.asarray(ranked)
    if ranked.ndim != 2:
        raise ValueError(f"ranked must be 2-D (n_users, k), got shape {ranked.shape}")
    if ranked.dtype.kind not in "iu":
        raise TypeError(f"ranked must hold integer item indices, got dtype {ranked.dtype}")
    if ranked.shape[1] < k:
        raise ValueError(f"ranked has {ranked.shape[1]} columns, fewer than k={k}")
    return ranked[:, :k]


def hits_at_k(ranked: np.ndarray, relevant: Relevant, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The hit matrix and relevant-set sizes shared by all ranking metrics.

    Returns:
        ``hits``: bool array ``(n_users, k)``, ``hits[u, i]`` = ``rel_u(i+1)``;
        ``n_relevant``: int array ``(n_users,)``, ``|R_u|``.

    Raises:
        TypeError / ValueError: bad ``k``, ``ranked`` or ``relevant`` shapes, item indices out of
            range, or a user with no relevant item.
    """
    k = _check_k(k)
    ranked = _check_ranked(ranked, k)
    n_users = ranked.shape[0]
    if isinstance(relevant, (np.ndarray, sp.spmatrix, sp.sparray)):
        rel = sp.csr_matrix(relevant)
        if rel.shape[0] != n_users:
            raise ValueError(f"ranked has {n_users} users but relevant has {rel.shape[0]} rows")
        if ranked.size and (ranked.min() < 0 or ranked.max() >= rel.shape[1]):
            raise ValueError(f"ranked holds item indices outside 0..{rel.shape[1] - 1}")
        rel.eliminate_zeros()
        rel.sum_duplicates()  # canonical form: each row's indices sorted, so all keys below are
        n_relevant = np.diff(rel.indptr)
        # Membership by binary search over the sorted keys row * n_items + item of the relevant
        # pairs: one vectorised pass instead of sparse fancy indexing (several times slower).
        keys = np.repeat(np.arange(n_users, dtype=np.int64) * rel.shape[1], n_relevant) + rel.indices
        query = np.arange(n_users, dtype=np.int64)[:, None] * rel.shape[1] + ranked  # (n_users, k)
        pos = np.minimum(np.searchsorted(keys, query), max(len(keys) - 1, 0))
        hits = keys[pos] == query if len(keys) else np.zeros(query.shape, dtype=bool)
    else:
        if len(relevant) != n_users:
            raise ValueError(f"ranked has {n_users} users but relevant has {len(relevant)} sets")
        sets = [set(int(i) for i in r) for r in relevant]
        n_relevant = np.array([len(s) for s in sets])
        hits = np.array([[int(i) in s for i in row] for row, s in zip(ranked, sets, strict=True)], dtype=bool)
        hits = hits.reshape(n_users, k)
    empty = np.flatnonzero(n_relevant == 0)
    if empty.size:
        raise ValueError(
            f"user row {empty[0]} has no relevant items ({empty.size} such rows); "
            "evaluate only users with at least one relevant item"
        )
    return hits, n_relevant


def _reduce(values: np.ndarray, per_user: bool) -> float | np.ndarray:
    return values if per_user else float(values.mean()) if values.size else float("nan")


def precision_at_k(ranked: np.ndarray, relevant: Relevant, k: int = 10, per_user: bool = False) -> float | np.ndarray:
    """Precision@k: ``P@k(u) = (1/k) Σ_{i=1..k} rel_u(i)``, averaged over users."""
    hits, _ = hits_at_k(ranked, relevant, k)
    return _reduce(hits.sum(1) / k, per_user)


def recall_at_k(ranked: np.ndarray, relevant: Relevant, k: int = 10, per_user: bool = False) -> float | np.ndarray:
    """Recall@k: ``R@k(u) = (1/|R_u|) Σ_{i=1..k} rel_u(i)``, averaged over users."""
    hits, n_rel = hits_at_k(ranked, relevant, k)
    return _reduce(hits.sum(1) / n_rel, per_user)


def ndcg_at_k(ranked: np.ndarray, relevant: Relevant, k: int = 10, per_user: bool = False) -> float | np.ndarray:
    """Normalised discounted cumulative gain with binary relevance.

    ``DCG@k(u) = Σ_{i=1..k} rel_u(i) / log2(i + 1)``,
    ``IDCG@k(u) = Σ_{i=1..min(|R_u|, k)} 1 / log2(i + 1)``,
    ``NDCG@k(u) = DCG@k(u) / IDCG@k(u)``, averaged over users.
    """
    hits, n_rel = hits_at_k(ranked, relevant, k)
    discount = 1.0 / np.log2(np.arange(2, k + 2))  # (k,)
    dcg = hits @ discount
    idcg = np.cumsum(discount)[np.minimum(n_rel, k) - 1]
    return _reduce(dcg / idcg, per_user)


def mean_average_precision(
    ranked: np.ndarray, relevant: Relevant, k: int = 10, per_user: bool = False
) -> float | np.ndarray:
    """MAP@k: ``AP@k(u) = (1/min(|R_u|, k)) Σ_{i=1..k} P@i(u) · rel_u(i)``, averaged over users.

    The normaliser is ``min(|R_u|, k)``, the most hits a list of ``k`` can hold, so a perfect
    top-k scores 1 however many items are relevant (the recommenders / Spark definition used by
    the course's benchmark table). TREC-style tools (``trec_eval``, ``ranx``) divide by
    ``|R_u|`` instead; the two agree whenever ``|R_u| <= k``.
    """
    hits, n_rel = hits_at_k(ranked, relevant, k)
    precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)  # (n_users, k)
    ap = (precision_at_i * hits).sum(1) / np.minimum(n_rel, k)
    return _reduce(ap, per_user)


def mrr_at_k(ranked: np.ndarray, relevant: Relevant, k: int = 10, per_user: bool = False) -> float | np.ndarray:
    """Mean reciprocal rank: ``RR@k(u) = 1 / (rank of the first relevant item)``, 0 if none in the top k."""
    hits, _ = hits_at_k(ranked, relevant, k)
    first = hits.argmax(1)
    rr = np.where(hits.any(1), 1.0 / (first + 1), 0.0)
    return _reduce(rr, per_user)


def hit_rate_at_k(ranked: np.ndarray, relevant: Relevant, k: int = 10, per_user: bool = False) -> float | np.ndarray:
    """HitRate@k: ``HR@k(u) = 1`` if any of the top k is relevant, else 0; averaged over users."""
    hits, _ = hits_at_k(ranked, relevant, k)
    return _reduce(np.asarray(hits.any(1), dtype=np.float64), per_user)


# --------------------------------------------------------------------------------------------
# Beyond accuracy: coverage, popularity bias, novelty, diversity


def _check_lists(ranked: np.ndarray, n_items: int) -> np.ndarray:
    ranked = np.asarray(ranked)
    if ranked.ndim != 2 or ranked.dtype.kind not in "iu":
        raise ValueError(f"ranked must be a 2-D integer array, got shape {ranked.shape} dtype {ranked.dtype}")
    if ranked.size == 0:
        raise ValueError("ranked is empty")
    if ranked.min() < 0 or ranked.max() >= n_items:
        raise ValueError(f"ranked holds item indices outside 0..{n_items - 1}")
    return ranked


def _check_popularity(popularity: np.ndarray) -> np.ndarray:
    pop = np.asarray(popularity, dtype=np.float64)
    if pop.ndim != 1 or pop.size == 0:
        raise ValueError(f"popularity must be a non-empty 1-D array, got shape {pop.shape}")
    if np.isnan(pop).any() or (pop < 0).any():
        raise ValueError("popularity must hold non-negative counts without NaN")
    return pop


def catalogue_coverage(ranked: np.ndarray, n_items: int) -> float:
    """Catalogue coverage: ``|∪_u L_u| / |I|``, the share of items recommended to anyone."""
    ranked = _check_lists(ranked, n_items)
    return float(np.unique(ranked).size / n_items)


def gini_exposure(ranked: np.ndarray, n_items: int) -> float:
    """Gini coefficient of how often each item is recommended (0 = equal exposure, → 1 = one item).

    With ``x_(1) <= … <= x_(n)`` the recommendation counts of all ``n`` items sorted ascending:
    ``G = Σ_j (2j − n − 1) x_(j) / (n Σ_j x_(j))``.
    """
    ranked = _check_lists(ranked, n_items)
    x = np.sort(np.bincount(ranked.ravel(), minlength=n_items)).astype(np.float64)
    j = np.arange(1, n_items + 1)
    return float(((2 * j - n_items - 1) * x).sum() / (n_items * x.sum()))


def head_items(popularity: np.ndarray, share: float = 0.8) -> np.ndarray:
    """The "head": the most popular items that together hold ``share`` of all interactions.

    Items are sorted by popularity (ties by index) and taken until their cumulative count reaches
    ``share`` of the total; the rest is the long tail.

    Returns:
        bool mask of shape ``(n_items,)``, True for head items.

    Raises:
        ValueError: ``share`` outside (0, 1] or bad popularity.
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share={share!r}; expected a number in (0, 1]")
    pop = _check_popularity(popularity)
    if pop.sum() == 0:
        raise ValueError("popularity is all zero: no head can be defined")
    order = np.lexsort((np.arange(pop.size), -pop))
    cum = np.cumsum(pop[order])
    n_head = int(np.searchsorted(cum, share * cum[-1] - 1e-9) + 1)
    mask = np.zeros(pop.size, dtype=bool)
    mask[order[:n_head]] = True
    return mask


def arp(ranked: np.ndarray, popularity: np.ndarray, per_user: bool = False) -> float | np.ndarray:
    """Average recommendation popularity: ``ARP = (1/|U|) Σ_u (1/|L_u|) Σ_{i∈L_u} φ(i)``.

    ``φ(i)`` is the item's number of training interactions (``popularity``).
    """
    pop = _check_popularity(popularity)
    ranked = _check_lists(ranked, pop.size)
    return _reduce(pop[ranked].mean(1), per_user)


def aplt(
    ranked: np.ndarray, popularity: np.ndarray, head_share: float = 0.8, per_user: bool = False
) -> float | np.ndarray:
    """Average percentage of long-tail items: ``APLT = (1/|U|) Σ_u |L_u ∩ T| / |L_u|``.

    ``T`` is the long tail: items outside :func:`head_items` (``head_share`` of interactions).
    """
    pop = _check_popularity(popularity)
    ranked = _check_lists(ranked, pop.size)
    tail = ~head_items(pop, head_share)
    return _reduce(tail[ranked].mean(1), per_user)


def novelty(ranked: np.ndarray, popularity: np.ndarray, n_users: int, per_user: bool = False) -> float | np.ndarray:
    """Mean self-information of recommended items, in bits.

    ``novelty = (1/|U|) Σ_u (1/|L_u|) Σ_{i∈L_u} −log2 p(i)`` with ``p(i) = max(φ(i), 1) / n_users``,
    the share of users who interacted with ``i`` (items never seen count once, so the value is finite).

    Raises:
        ValueError: ``n_users`` < 1 or a popularity larger than ``n_users``.
    """
    pop = _check_popularity(popularity)
    if n_users < 1:
        raise ValueError(f"n_users={n_users}; expected at least 1")
    if pop.max() > n_users:
        raise ValueError(f"popularity {pop.max():.0f} exceeds n_users={n_users}; pass counts of users per item")
    ranked = _check_lists(ranked, pop.size)
    info = -np.log2(np.maximum(pop, 1.0) / n_users)
    return _reduce(info[ranked].mean(1), per_user)


def intra_list_similarity(
    ranked: np.ndarray, item_features: np.ndarray | sp.spmatrix, per_user: bool = False
) -> float | np.ndarray:
    """Mean pairwise cosine similarity inside each list (lower = more diverse).

    ``ILS(u) = (2 / (|L_u|(|L_u|−1))) Σ_{i<j ∈ L_u} cos(f_i, f_j)``; items with an all-zero feature
    vector have similarity 0 to everything.

    Raises:
        ValueError: lists shorter than 2, or item indices outside the feature rows.
    """
    feats = (
        sp.csr_matrix(item_features).toarray()
        if sp.issparse(item_features)
        else np.asarray(item_features, dtype=np.float64)
    )
    if feats.ndim != 2:
        raise ValueError(f"item_features must be 2-D (n_items, n_features), got shape {feats.shape}")
    ranked = _check_lists(ranked, feats.shape[0])
    k = ranked.shape[1]
    if k < 2:
        raise ValueError("intra-list similarity needs lists of at least 2 items")
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    unit = np.divide(feats, norms, out=np.zeros_like(feats, dtype=np.float64), where=norms > 0)
    v = unit[ranked]  # (n_users, k, n_features)
    sims = np.einsum("ukf,ujf->ukj", v, v)  # (n_users, k, k)
    off_diag = sims.sum((1, 2)) - np.einsum("ukk->u", sims)
    return _reduce(off_diag / (k * (k - 1)), per_user)
