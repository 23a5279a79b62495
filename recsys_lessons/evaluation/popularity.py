"""Popularity-bias analysis: head and tail, the Lorenz curve, accuracy by item and user segment.

The list metrics themselves (catalogue coverage, exposure Gini, ARP, APLT, novelty, intra-list
similarity) live in :mod:`recsys_lessons.metrics`; this module puts them together with the
segment analyses a long-tail study needs.

Notation: ``φ_i`` is item ``i``'s number of training interactions; the **short head** ``H`` is
:func:`~recsys_lessons.metrics.head_items` — the most popular items that together hold ``share``
of all training interactions (80% by default) — and the **long tail** ``T`` is every other item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import metrics as M
from ..data import Interactions
from .protocol import evaluate
from .ranking import rank_users
from .segments import evaluate_by_segment

__all__ = [
    "accuracy_by_popularity",
    "accuracy_by_user_group",
    "activity_groups",
    "exposure_counts",
    "gini_coefficient",
    "head_tail",
    "lorenz_curve",
    "mainstream_groups",
    "mainstreamness",
    "popularity_report",
    "tail_recall",
]


def _check_model(model: object, name: str = "model") -> None:
    """Raise unless ``model`` can rank: it has a ``score(users)`` method (a fitted recommender)."""
    if not callable(getattr(model, "score", None)):
        raise TypeError(f"{name} must be a fitted recommender with score(users), got {type(model).__name__}")


def head_tail(popularity: np.ndarray, share: float = 0.8) -> np.ndarray:
    """Label each item ``"head"`` or ``"tail"``.

    ``H`` = the fewest most-popular items with ``Σ_{i∈H} φ_i >= share · Σ_i φ_i`` (ties by index,
    :func:`~recsys_lessons.metrics.head_items`); ``T`` = the rest.

    Args:
        popularity: ``(n_items,)`` interaction counts ``φ_i``.
        share: the head's share of interactions, in (0, 1].

    Returns:
        ``(n_items,)`` array of ``"head"`` / ``"tail"`` strings.

    Raises:
        ValueError: ``share`` outside (0, 1], or invalid counts.
    """
    return np.where(M.head_items(popularity, share), "head", "tail")


def exposure_counts(ranked: np.ndarray, n_items: int) -> np.ndarray:
    """How many lists recommend each item: ``c_i = Σ_u 1[i ∈ L_u]``.

    Args:
        ranked: ``(n_users, k)`` item indices.
        n_items: catalogue size.

    Returns:
        ``(n_items,)`` int64 counts.

    Raises:
        TypeError: ``n_items`` not an int.
        ValueError: ``n_items`` < 1, not a 2-D integer array, or indices outside ``0..n_items - 1``.
    """
    if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)):
        raise TypeError(f"n_items={n_items!r}; expected an int, got {type(n_items).__name__}")
    if n_items < 1:
        raise ValueError(f"n_items={n_items!r}; expected a catalogue of at least 1 item")
    ranked = M._check_lists(ranked, n_items)
    return np.bincount(ranked.ravel(), minlength=n_items)


def lorenz_curve(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Lorenz curve of a distribution of counts (e.g. exposure or interactions per item).

    With the counts sorted ascending, ``x_(1) <= … <= x_(n)``, the curve passes through
    ``(j / n, Σ_{l<=j} x_(l) / Σ_l x_(l))`` for ``j = 0 … n``. Equal counts give the diagonal; the
    further the curve sags below it, the more concentrated the counts. The Gini coefficient is
    twice the area between diagonal and curve, ``G = 1 − Σ_j (x_j − x_{j−1})(y_j + y_{j−1})``
    (trapezoids), which equals :func:`~recsys_lessons.metrics.gini_exposure`.

    Args:
        counts: ``(n,)`` non-negative counts, not all zero.

    Returns:
        ``(x, y)``: two float64 arrays of length ``n + 1`` starting at ``(0, 0)`` and ending at ``(1, 1)``.

    Raises:
        ValueError: not 1-D, empty, negative, NaN or all zero.
    """
    c = M._check_popularity(counts)
    if c.sum() == 0:
        raise ValueError("counts are all zero: the Lorenz curve is undefined")
    y = np.concatenate([[0.0], np.cumsum(np.sort(c))]) / c.sum()
    x = np.arange(c.size + 1) / c.size
    return x, y


def gini_coefficient(counts: np.ndarray) -> float:
    """Gini coefficient of counts from their Lorenz curve: ``G = 1 − Σ_j (x_j − x_{j−1})(y_j + y_{j−1})``.

    0 when every item has the same count, ``1 − 1/n`` when one item has them all. On the counts
    of :func:`exposure_counts` it equals :func:`~recsys_lessons.metrics.gini_exposure` of the lists.

    Raises:
        ValueError: as :func:`lorenz_curve`.
    """
    x, y = lorenz_curve(counts)
    return float(1.0 - (np.diff(x) * (y[1:] + y[:-1])).sum())


def accuracy_by_popularity(
    model,
    train: Interactions,
    test: Interactions,
    k: int = 10,
    share: float = 0.8,
    metrics: Sequence[str] = ("recall", "ndcg"),
    **kwargs,
) -> pd.DataFrame:
    """Accuracy on head test items and on tail test items, separately.

    The model ranks the whole catalogue as usual; for the ``"head"`` row only a user's test items in
    ``H`` count as relevant, for ``"tail"`` only those in ``T`` (users without such items are left
    out of that row). So ``recall@k`` on the tail row is
    ``R_T@k(u) = |L_u ∩ R_u ∩ T| / |R_u ∩ T|``, averaged over users with ``R_u ∩ T ≠ ∅``.
    A thin layer over :func:`~recsys_lessons.evaluation.evaluate_by_segment`.

    Args:
        model: anything with ``score(users)``.
        train, test: interactions on one index; the head comes from ``train``'s popularity.
        k: cut-off.
        share: head definition.
        metrics: ranking metric names (see :data:`~recsys_lessons.evaluation.RANKING_METRICS`).
        **kwargs: passed on to ``evaluate`` (e.g. ``batch_size``).

    Returns:
        Rows ``head`` and ``tail``; the metrics plus ``users`` and ``interactions`` per row.
    """
    segments = head_tail(train.item_popularity(), share)
    out = evaluate_by_segment(model, train, test, k, by="item", segments=segments, metrics=metrics, **kwargs)
    return out.reindex([s for s in ("head", "tail") if s in out.index])


def tail_recall(model, train: Interactions, test: Interactions, k: int = 10, share: float = 0.8, **kwargs) -> pd.Series:
    """Per-user Recall@k on tail test items, ``R_T@k(u) = |L_u ∩ R_u ∩ T| / |R_u ∩ T|``.

    The users are those with at least one test item in the tail, in index order, so two models'
    series line up for :func:`~recsys_lessons.evaluation.paired_bootstrap`.

    Returns:
        Series indexed by user index (``user_idx``), named ``tail recall@k``.

    Raises:
        TypeError: ``model`` has no ``score`` method.
        ValueError: no test item in the tail.
    """
    _check_model(model)
    tail = ~M.head_items(train.item_popularity(), share)
    part = test.subset(tail[test.frame["item_idx"].to_numpy()])
    if len(part) == 0:
        raise ValueError(f"no test interaction is with a tail item (head share {share})")
    per = evaluate(model, train, part, k, metrics=("recall",), per_user=True, **kwargs)
    return per[f"recall@{k}"].rename(f"tail recall@{k}")


def activity_groups(train: Interactions, n_groups: int = 3, labels: Sequence[str] | None = None) -> np.ndarray:
    """Label users by activity: quantile groups of their number of training interactions ``|I_u|``.

    Group ``g`` holds the users whose ``|I_u|`` lies between the ``(g−1)/n_groups`` and
    ``g/n_groups`` quantiles (``pandas.qcut``, equal-count groups, duplicates merged). Each label
    names its range, e.g. ``"light (20-37)"``.

    Args:
        train: training interactions.
        n_groups: number of groups (>= 2).
        labels: names of the groups, lightest first (default ``light``/``medium``/``heavy`` for 3,
            ``g1``… otherwise).

    Returns:
        ``(n_users,)`` array of str labels.

    Raises:
        ValueError: ``n_groups`` < 2, or ``labels`` of another length.
    """
    if isinstance(n_groups, bool) or not isinstance(n_groups, (int, np.integer)) or n_groups < 2:
        raise ValueError(f"n_groups={n_groups!r}; expected an integer >= 2")
    if labels is None:
        labels = ("light", "medium", "heavy") if n_groups == 3 else tuple(f"g{g + 1}" for g in range(n_groups))
    if len(labels) != n_groups:
        raise ValueError(f"labels has {len(labels)} names for {n_groups} groups")
    activity = np.diff(train.matrix.indptr)
    codes = pd.qcut(activity, n_groups, labels=False, duplicates="drop")
    out = np.empty(train.n_users, dtype=object)
    for g in np.unique(codes):
        members = activity[codes == g]
        out[codes == g] = f"{labels[int(g)]} ({members.min()}-{members.max()})"
    return out.astype(str)


def mainstreamness(train: Interactions, share: float = 0.8) -> np.ndarray:
    """How mainstream each user's taste is: the share of head items in their training history.

    ``m_u = |I_u ∩ H| / |I_u|`` (users without history get NaN). Abdollahpouri et al. (2019,
    "The unfairness of popularity bias in recommendation") group users by this ratio.

    Returns:
        ``(n_users,)`` float64 in [0, 1] (NaN for users without training interactions).
    """
    head = M.head_items(train.item_popularity(), share).astype(np.float64)
    x = train.binary()
    counts = np.diff(x.indptr)
    in_head = np.asarray(x @ head).ravel()
    return np.divide(in_head, counts, out=np.full(train.n_users, np.nan), where=counts > 0)


def mainstream_groups(
    train: Interactions, share: float = 0.8, quantiles: tuple[float, float] = (0.2, 0.8)
) -> np.ndarray:
    """Label users ``"niche"``, ``"diverse"`` or ``"blockbuster"`` by :func:`mainstreamness`.

    Users with ``m_u`` at or below the ``quantiles[0]`` quantile are ``niche``, those above the
    ``quantiles[1]`` quantile ``blockbuster``, the rest ``diverse`` (Abdollahpouri et al. 2019 use
    20% / 80%). Users without history are ``"none"``.

    Raises:
        ValueError: quantiles not ``0 < q0 < q1 < 1``.
    """
    q0, q1 = quantiles
    if not 0.0 < q0 < q1 < 1.0:
        raise ValueError(f"quantiles={quantiles!r}; expected 0 < q0 < q1 < 1")
    m = mainstreamness(train, share)
    known = ~np.isnan(m)
    lo, hi = np.quantile(m[known], [q0, q1])
    out = np.where(m <= lo, "niche", np.where(m > hi, "blockbuster", "diverse"))
    return np.where(known, out, "none")


def accuracy_by_user_group(
    model,
    train: Interactions,
    test: Interactions,
    groups: np.ndarray,
    k: int = 10,
    metrics: Sequence[str] = ("recall", "ndcg"),
    **kwargs,
) -> pd.DataFrame:
    """Mean per-user accuracy within each user group (e.g. :func:`activity_groups`).

    ``metric(g) = (1/|U_g|) Σ_{u ∈ U_g} metric(u)`` over the test users of group ``g``; a thin
    layer over :func:`~recsys_lessons.evaluation.evaluate_by_segment` with ``by="user"``.

    Returns:
        One row per group (sorted by label) with the metrics and ``users``.
    """
    return evaluate_by_segment(model, train, test, k, by="user", segments=np.asarray(groups), metrics=metrics, **kwargs)


def popularity_report(
    models: Mapping[str, object],
    train: Interactions,
    test: Interactions,
    k: int = 10,
    item_features: np.ndarray | sp.spmatrix | None = None,
    head_share: float = 0.8,
) -> pd.DataFrame:
    """Accuracy beside the beyond-accuracy metrics, one row per model.

    Columns: ``ndcg@k``, ``recall@k``, ``coverage@k`` (``|∪_u L_u| / |I|``), ``gini@k`` (exposure
    Gini), ``arp@k`` (mean ``φ`` of the recommended items), ``aplt@k`` (share of tail items in
    the lists), ``novelty@k`` (mean ``−log2 p(i)`` in bits) and, with ``item_features``, ``ils@k``
    (mean pairwise cosine within a list). Formulas: :mod:`recsys_lessons.metrics`. The lists are
    those of the test users (users with a test interaction), training items excluded.

    Args:
        models: ``{name: fitted model}``.
        train, test: interactions on one index.
        k: cut-off.
        item_features: ``(n_items, d)`` features for the intra-list similarity (e.g. genres).
        head_share: head definition for APLT.

    Returns:
        DataFrame indexed by model name.

    Raises:
        TypeError: ``models`` is not a mapping, or one of them has no ``score`` method.
        ValueError: no models, or ``item_features`` without one row per item.
    """
    if not isinstance(models, Mapping):
        raise TypeError(f"models must be a {{name: fitted model}} mapping, got {type(models).__name__}")
    if not models:
        raise ValueError("models is empty; expected at least one {name: fitted model}")
    for name, model in models.items():
        _check_model(model, f"models[{name!r}]")
    if item_features is not None:
        shape = np.shape(item_features)  # sparse matrices have .shape too
        if len(shape) != 2 or shape[0] != train.n_items:
            raise ValueError(
                f"item_features has shape {shape}; expected ({train.n_items}, d): one row per item of train"
            )
    names = ("ndcg", "recall", "coverage", "gini", "arp", "aplt", "novelty")
    rows = {}
    users = np.flatnonzero(np.diff(test.matrix.indptr))
    for name, model in models.items():
        row = evaluate(model, train, test, k, metrics=names, head_share=head_share)
        if item_features is not None:
            ranked = rank_users(model, users, k, train.matrix)
            row[f"ils@{k}"] = M.intra_list_similarity(ranked, item_features)
        rows[name] = row
    return pd.DataFrame(rows).T
