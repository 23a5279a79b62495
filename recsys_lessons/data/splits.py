"""Splits: each returns two :class:`~recsys_lessons.data.Interactions` on the dataset's full index."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .containers import Dataset, Interactions

__all__ = ["split_by_time", "split_cold_items", "split_last_item", "split_stratified"]


def _as_interactions(data: Dataset | Interactions) -> Interactions:
    if isinstance(data, Interactions):
        return data
    if isinstance(data, Dataset):
        return Interactions.from_dataset(data)
    raise TypeError(f"expected a Dataset or Interactions, got {type(data).__name__}")


def split_stratified(
    data: Dataset | Interactions,
    ratio: float = 0.75,
    by: Literal["item", "user"] = "item",
    seed: int = 42,
) -> tuple[Interactions, Interactions]:
    """Random split that keeps ``ratio`` of each item's (or user's) ratings in train.

    Within every group the ratings are shuffled with ``seed`` and the first
    ``round(ratio * n)`` go to train, so every item (or user) appears in both parts when it has
    enough ratings. With ``by="item"`` and ``seed=42`` this is the course's benchmark protocol.

    Raises:
        ValueError: ``ratio`` outside (0, 1) or ``by`` not ``"item"``/``"user"``.
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio={ratio!r}; expected a number strictly between 0 and 1")
    if by not in ("item", "user"):
        raise ValueError(f"by={by!r}; expected 'item' or 'user'")
    inter = _as_interactions(data)
    f = inter.frame
    rng = np.random.default_rng(seed)
    # Shuffle everything once, then rank rows within each group: one vectorised pass.
    order = rng.permutation(len(f))
    group = f[f"{by}_idx"].to_numpy()[order]
    rank_in_group = pd.Series(group).groupby(group).cumcount().to_numpy()
    sizes = np.bincount(group)[group]
    n_train = np.floor(ratio * sizes + 0.5)
    in_train = np.empty(len(f), dtype=bool)
    in_train[order] = rank_in_group < n_train
    return inter.subset(in_train), inter.subset(~in_train)


def split_last_item(data: Dataset | Interactions, n: int = 1) -> tuple[Interactions, Interactions]:
    """Sequential hold-out: each user's last ``n`` interactions (by time) go to test.

    Ties in timestamp are broken by item id so the split is deterministic. Users with ``n`` or
    fewer interactions keep them all in train. Apply twice for a validation split:
    ``train, test = split_last_item(ds); train, valid = split_last_item(train)``.

    Raises:
        ValueError: ``n`` < 1.
    """
    if n < 1:
        raise ValueError(f"n={n!r}; expected at least 1")
    inter = _as_interactions(data)
    f = inter.frame
    order = np.lexsort((f["item_id"].to_numpy(), f["timestamp"].to_numpy(), f["user_idx"].to_numpy()))
    users = f["user_idx"].to_numpy()[order]
    from_end = pd.Series(users).groupby(users).cumcount(ascending=False).to_numpy()
    counts = np.bincount(users)[users]
    in_test = np.zeros(len(f), dtype=bool)
    in_test[order] = (from_end < n) & (counts > n)
    return inter.subset(~in_test), inter.subset(in_test)


def split_by_time(data: Dataset | Interactions, quantile: float = 0.8) -> tuple[Interactions, Interactions]:
    """Global temporal split: ratings up to the ``quantile`` of timestamps train, later ones test.

    Raises:
        ValueError: ``quantile`` outside (0, 1).
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile={quantile!r}; expected a number strictly between 0 and 1")
    inter = _as_interactions(data)
    ts = inter.frame["timestamp"].to_numpy()
    cut = np.quantile(ts, quantile)
    return inter.subset(ts <= cut), inter.subset(ts > cut)


def split_cold_items(
    data: Dataset | Interactions, fraction: float = 0.2, seed: int = 42
) -> tuple[Interactions, Interactions]:
    """Cold-start item split: a ``fraction`` of the rated items, with all their ratings, go to test.

    The held-out items never appear in train, so only content can rank them.

    Raises:
        ValueError: ``fraction`` outside (0, 1).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction={fraction!r}; expected a number strictly between 0 and 1")
    inter = _as_interactions(data)
    rated = np.unique(inter.frame["item_idx"].to_numpy())
    rng = np.random.default_rng(seed)
    cold = rng.choice(rated, size=round(fraction * len(rated)), replace=False)
    in_test = np.isin(inter.frame["item_idx"].to_numpy(), cold)
    return inter.subset(~in_test), inter.subset(in_test)
