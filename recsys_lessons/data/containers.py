"""The containers: a tidy :class:`Dataset` and :class:`Interactions` on a fixed shared index.

Every model and every split in the course works on one fixed user and item index built over the
whole dataset (:class:`Interactions`), so a train matrix, a test matrix and a score matrix always
line up column for column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["Dataset", "Interactions"]


@dataclass(frozen=True)
class Dataset:
    """A MovieLens dataset in tidy form.

    Attributes:
        name: ``"100k"``, ``"1m"``, ``"20m"`` or ``"latest-small"``.
        ratings: one row per rating: ``user_id``, ``item_id``, ``rating``, ``timestamp``
            (raw MovieLens ids, Unix seconds).
        items: one row per movie: ``item_id``, ``title`` (without the year), ``year`` (nullable
            int), ``genres`` (list of str) and ``text`` (``"Title (year). Genres: A, B."``).
        users: demographics (``user_id``, ``age``, ``gender``, ``occupation``, ``zip_code``) where
            the dataset has them, else ``None``.
        source: where the data was read from (``"cache"``, ``"grouplens"`` or ``"mirror"``).
    """

    name: str
    ratings: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame | None = None
    source: str = ""

    def __repr__(self) -> str:
        r = self.ratings
        return (
            f"Dataset(ml-{self.name}: {len(r):,} ratings, {r.user_id.nunique():,} users, "
            f"{r.item_id.nunique():,} items, source={self.source!r})"
        )


class Interactions:
    """Ratings on a fixed user and item index shared by every split of one dataset.

    Row ``u`` of :attr:`matrix` is user ``user_ids[u]`` and column ``i`` is item ``item_ids[i]``,
    whatever subset of the ratings this object holds. Splits return new ``Interactions`` on the
    same index, so train, test and score matrices line up.

    Args:
        frame: ratings with ``user_id``, ``item_id``, ``rating`` and ``timestamp``.
        user_ids: the raw user ids, in index order; every id in ``frame`` must be among them.
        item_ids: the raw item ids, in index order.
        items: optional item table (``item_id``, ``title``, ...); it is re-ordered to the index.

    Raises:
        KeyError: when ``frame`` holds a user or item outside the index.
        ValueError: when a required column is missing or the index has duplicates.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        user_ids: np.ndarray,
        item_ids: np.ndarray,
        items: pd.DataFrame | None = None,
    ) -> None:
        missing = {"user_id", "item_id", "rating", "timestamp"} - set(frame.columns)
        if missing:
            raise ValueError(f"ratings frame lacks columns {sorted(missing)}")
        self.user_ids = np.asarray(user_ids)
        self.item_ids = np.asarray(item_ids)
        if len(np.unique(self.user_ids)) != len(self.user_ids):
            raise ValueError("user_ids holds duplicates")
        if len(np.unique(self.item_ids)) != len(self.item_ids):
            raise ValueError("item_ids holds duplicates")
        self._user_pos = pd.Index(self.user_ids)
        self._item_pos = pd.Index(self.item_ids)
        frame = frame[["user_id", "item_id", "rating", "timestamp"]].reset_index(drop=True)
        u = self._user_pos.get_indexer(frame["user_id"])
        i = self._item_pos.get_indexer(frame["item_id"])
        if (u < 0).any():
            raise KeyError(f"user id {frame['user_id'][u < 0].iloc[0]} is not in the index")
        if (i < 0).any():
            raise KeyError(f"item id {frame['item_id'][i < 0].iloc[0]} is not in the index")
        self.frame = frame.assign(user_idx=u.astype(np.int64), item_idx=i.astype(np.int64))
        if items is not None:
            items = items.set_index("item_id").reindex(self.item_ids).reset_index()
        self.items = items
        self._matrix: sp.csr_matrix | None = None

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_dataset(cls, ds: Dataset) -> Interactions:
        """Build the full index over every user and item of ``ds`` (sorted raw ids)."""
        user_ids = np.sort(ds.ratings["user_id"].unique())
        item_ids = np.union1d(ds.ratings["item_id"].unique(), ds.items["item_id"].to_numpy())
        return cls(ds.ratings, user_ids, item_ids, ds.items)

    def subset(self, mask: np.ndarray | pd.Series) -> Interactions:
        """The rows of :attr:`frame` where ``mask`` is true, on the same index."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self.frame),):
            raise ValueError(f"mask has shape {mask.shape}, expected ({len(self.frame)},)")
        out = object.__new__(Interactions)
        out.user_ids, out.item_ids = self.user_ids, self.item_ids
        out._user_pos, out._item_pos = self._user_pos, self._item_pos
        out.frame = self.frame[mask].reset_index(drop=True)
        out.items = self.items
        out._matrix = None
        return out

    def union(self, other: Interactions) -> Interactions:
        """Every rating of ``self`` and of ``other``, on the same index (e.g. train + validation).

        Rows of ``self`` come first; a rating present in both is kept twice in :attr:`frame` and
        summed in :attr:`matrix`, as for any duplicate.

        Raises:
            TypeError: ``other`` is not an ``Interactions``.
            ValueError: the two are on different indexes.
        """
        if not isinstance(other, Interactions):
            raise TypeError(f"union needs another Interactions, got {type(other).__name__}")
        if not (np.array_equal(self.user_ids, other.user_ids) and np.array_equal(self.item_ids, other.item_ids)):
            raise ValueError("cannot unite Interactions on different indexes; split one Interactions object")
        out = object.__new__(Interactions)
        out.user_ids, out.item_ids = self.user_ids, self.item_ids
        out._user_pos, out._item_pos = self._user_pos, self._item_pos
        out.frame = pd.concat([self.frame, other.frame], ignore_index=True)
        out.items = self.items
        out._matrix = None
        return out

    # -- views -------------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_users, self.n_items)

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return (
            f"Interactions({len(self):,} ratings on a {self.n_users:,} x {self.n_items:,} index, "
            f"{self.frame.user_idx.nunique():,} users and {self.frame.item_idx.nunique():,} items present)"
        )

    @property
    def matrix(self) -> sp.csr_matrix:
        """Users x items CSR matrix with the ratings as values (float32)."""
        if self._matrix is None:
            f = self.frame
            m = sp.csr_matrix(
                (f["rating"].to_numpy(np.float32), (f["user_idx"].to_numpy(), f["item_idx"].to_numpy())),
                shape=self.shape,
            )
            m.sum_duplicates()
            self._matrix = m
        return self._matrix

    def binary(self) -> sp.csr_matrix:
        """Users x items CSR matrix with 1.0 wherever a rating exists (implicit feedback)."""
        m = self.matrix.copy()
        m.data = np.ones_like(m.data)
        return m

    @staticmethod
    def _position(index: pd.Index, raw_id: int, kind: str) -> int:
        pos = index.get_indexer([raw_id])[0]
        if pos < 0:
            raise KeyError(f"{kind} id {raw_id} is not in the index ({len(index)} {kind}s)")
        return int(pos)

    def user_index(self, user_id: int) -> int:
        """Position of a raw user id in the index.

        Raises:
            KeyError: if the id is unknown.
        """
        return self._position(self._user_pos, user_id, "user")

    def item_index(self, item_id: int) -> int:
        """Position of a raw item id in the index.

        Raises:
            KeyError: if the id is unknown.
        """
        return self._position(self._item_pos, item_id, "item")

    def item_popularity(self) -> np.ndarray:
        """Number of ratings per item, shape ``(n_items,)``."""
        return np.bincount(self.frame["item_idx"].to_numpy(), minlength=self.n_items)

    def user_sequences(self) -> list[np.ndarray]:
        """Each user's item indices in time order (ties broken by item id), one array per user."""
        f = self.frame.sort_values(["user_idx", "timestamp", "item_id"], kind="stable")
        splits = np.cumsum(np.bincount(f["user_idx"].to_numpy(), minlength=self.n_users))[:-1]
        return np.split(f["item_idx"].to_numpy(), splits)
