"""MovieLens data: where it comes from, how it is parsed, the containers and the splits.

One job per module, imports flowing down this list:

- :mod:`.containers`: :class:`Dataset` (tidy tables) and :class:`Interactions` (ratings on a
  fixed user and item index shared by every split, so train, test and score matrices line up);
- :mod:`.sources`: the archives, their checksums, downloads and verification (:func:`fetch`);
- :mod:`.movielens`: the parsers and :func:`load_movielens`;
- :mod:`.splits`: the splits, each returning ``Interactions`` on the dataset's full index.
"""

from .containers import Dataset, Interactions
from .movielens import GENRES_100K, load_movielens
from .sources import DATASETS, MIRRORS, DataUnavailableError, data_dir, extract_archive, fetch, file_hash
from .splits import split_by_time, split_cold_items, split_last_item, split_stratified

__all__ = [
    "DATASETS",
    "GENRES_100K",
    "MIRRORS",
    "DataUnavailableError",
    "Dataset",
    "Interactions",
    "data_dir",
    "extract_archive",
    "fetch",
    "file_hash",
    "load_movielens",
    "split_by_time",
    "split_cold_items",
    "split_last_item",
    "split_stratified",
]
