"""Baselines every other model must beat: most-popular and random."""

from __future__ import annotations

import numpy as np

from ..data import Interactions
from .base import Recommender

__all__ = ["Popularity", "RandomRecommender"]


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
        self.train_ = self._check_train(train)
        self.scores_ = np.random.default_rng(self.seed).random(train.shape, dtype=np.float32)
        return self

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.scores_[users]
