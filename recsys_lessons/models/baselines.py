"""Baselines every other model must beat: most-popular and random."""

from __future__ import annotations

import numpy as np

from ..data import Interactions
from .base import Recommender, check_int, check_number

__all__ = ["Popularity", "RandomRecommender", "RecentPopularity"]


class Popularity(Recommender):
    """Score every item by how many training users rated it (the same list for everyone).

    Attributes:
        popularity_: ratings per item in the training data, shape ``(n_items,)``.
    """

    name = "popularity"

    def fit(self, train: Interactions) -> Popularity:
        self.train_ = self._check_train(train)
        self.popularity_ = train.item_popularity().astype(np.float32)
        return self

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(users), len(self.popularity_)))


class RandomRecommender(Recommender):
    """Uniformly random scores, fixed by ``seed`` (the floor any model must clear).

    Args:
        seed: seed of the score generator; the same seed gives the same scores.
    """

    name = "random"

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed

    def fit(self, train: Interactions) -> RandomRecommender:
        check_int(self.seed, "seed", min_val=0)
        self.train_ = self._check_train(train)
        self.scores_ = np.random.default_rng(self.seed).random(train.shape, dtype=np.float32)
        return self

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.scores_[users]


class RecentPopularity(Popularity):
    """Popularity over the last ``days`` days of the training data ("trending now").

    Args:
        days: length of the window that ends at the latest training timestamp (> 0).

    Raises:
        ValueError: ``days`` <= 0 (in ``fit``).
    """

    name = "recent popularity"

    def __init__(self, days: float = 30) -> None:
        self.days = days

    def fit(self, train: Interactions) -> RecentPopularity:
        check_number(self.days, "days", min_val=0, include_boundaries="neither")
        self.train_ = self._check_train(train)
        ts = train.frame["timestamp"].to_numpy()
        recent = ts >= ts.max() - self.days * 86_400
        items = train.frame["item_idx"].to_numpy()[recent]
        self.popularity_ = np.bincount(items, minlength=train.n_items).astype(np.float32)
        return self
