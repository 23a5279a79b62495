"""recsys_lessons: the tested helper package behind the recsys-lessons notebooks.

Imports flow one way: data -> metrics -> models -> train/evaluate -> widgets/plots.
"""

from .data import (
    Dataset,
    DataUnavailableError,
    Interactions,
    load_movielens,
    split_by_time,
    split_cold_items,
    split_last_item,
    split_stratified,
)
from .evaluation import compare, evaluate, evaluate_by_segment, paired_bootstrap, top_k
from .train import budget, get_device, set_seed

__version__ = "0.1.0"

__all__ = [
    "DataUnavailableError",
    "Dataset",
    "Interactions",
    "budget",
    "compare",
    "evaluate",
    "evaluate_by_segment",
    "get_device",
    "load_movielens",
    "paired_bootstrap",
    "set_seed",
    "split_by_time",
    "split_cold_items",
    "split_last_item",
    "split_stratified",
    "top_k",
]
