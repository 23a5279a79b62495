"""Recommenders, one file per family, all with ``fit`` / ``score`` / ``recommend``."""

from .base import NotFittedError, Recommender
from .baselines import Popularity, RandomRecommender, RecentPopularity
from .ease import EASE
from .mf import BPR, MatrixFactorization
from .neighbors import ItemKNN, LastItemKNN, UserKNN

__all__ = ["BPR", "EASE", "ItemKNN", "LastItemKNN", "MatrixFactorization", "NotFittedError", "Popularity", "RandomRecommender", "RecentPopularity", "Recommender", "UserKNN"]
