"""Recommenders, one file per family, all with ``fit`` / ``score`` / ``recommend``."""

from .base import NotFittedError, Recommender
from .baselines import Popularity, RandomRecommender
from .ease import EASE
from .neighbors import ItemKNN, LastItemKNN, UserKNN

__all__ = ["EASE", "ItemKNN", "LastItemKNN", "NotFittedError", "Popularity", "RandomRecommender", "Recommender", "UserKNN"]
