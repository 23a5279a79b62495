"""Recommenders, one file per family, all with ``fit`` / ``score`` / ``recommend``."""

from .base import NotFittedError, Recommender
from .baselines import Popularity, RandomRecommender, RecentPopularity
from .bert4rec import BERT4Rec
from .bert_ce import CrossEncoder, CrossEncoderReranker
from .bert_cf import BertCF
from .content import EmbeddingProfile, GenreProfile, TfidfProfile
from .ease import EASE
from .hybrid import BordaCount, Cascade, ReciprocalRankFusion, Stacking, Switching, Weighted, best_hybrid
from .mf import BPR, MatrixFactorization
from .neighbors import ItemKNN, LastItemKNN, UserKNN

__all__ = [
    "BPR",
    "EASE",
    "BERT4Rec",
    "BertCF",
    "BordaCount",
    "Cascade",
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
    "ReciprocalRankFusion",
    "Recommender",
    "Stacking",
    "Switching",
    "TfidfProfile",
    "UserKNN",
    "Weighted",
    "best_hybrid",
]
