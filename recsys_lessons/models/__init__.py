"""Recommenders, one file per family, all with ``fit`` / ``score`` / ``recommend``."""

from .base import NotFittedError, Recommender
from .baselines import Popularity, RandomRecommender
from .ease import EASE

__all__ = ["EASE", "NotFittedError", "Popularity", "RandomRecommender", "Recommender"]
