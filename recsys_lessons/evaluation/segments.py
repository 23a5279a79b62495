"""Results broken down by item segment (head vs tail) or by user segment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import metrics as M
from ..data import Interactions
from .protocol import check_same_index, evaluate

__all__ = ["evaluate_by_segment"]


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
    check_same_index(train, test)
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
            rows[label] = pd.concat(
                [res, pd.Series({"users": part.frame.user_idx.nunique(), "interactions": len(part)})]
            )
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
