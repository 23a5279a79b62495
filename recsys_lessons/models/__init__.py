"""Recommenders, one file per family, all with ``fit`` / ``score`` / ``recommend``."""

from .base import NotFittedError, Recommender
from .baselines import Popularity, RandomRecommender, RecentPopularity
from .bert4rec import BERT4Rec
from .bert_ce import CrossEncoder, CrossEncoderReranker
from .content import EmbeddingProfile, GenreProfile, TfidfProfile
from .ease import EASE
from .mf import BPR, MatrixFactorization
from .neighbors import ItemKNN, LastItemKNN, UserKNN

__all__ = [
    "BPR",
    "EASE",
    "BERT4Rec",
    "CrossEncoder",
    "CrossEncoderReranker",
    "EmbeddingProfile",
    "GenreProfile",
    "ItemKNN",
    "LastItemKNN",
    "MatrixFactorization",
    "NotFittedError",
    "Popularity",
    "RandomRecommender",
    "RecentPopularity",
    "Recommender",
    "TfidfProfile",
    "UserKNN",
]
