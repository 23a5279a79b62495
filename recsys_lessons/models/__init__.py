"""Recommenders, one file per family, all with ``fit`` / ``score`` / ``recommend``."""

from .base import NotFittedError, Recommender
from .baselines import Popularity, RandomRecommender

__all__ = ["NotFittedError", "Popularity", "RandomRecommender", "Recommender"]
