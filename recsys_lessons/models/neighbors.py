"""Neighbourhood models: user-based and item-based kNN, and the last-item sequential baseline.

All three start from the same cosine similarity with shrinkage between the rows (users) or
columns (items) of the training matrix ``X``:

    sim(a, b) = <x_a, x_b> / (||x_a|| * ||x_b|| + shrink).

``shrink`` pulls similarities computed from few co-ratings towards 0: two items that share a
single user have cosine 1 but deserve little trust. Only the ``k`` most similar neighbours are
kept (the rest set to 0), which removes noise and makes the score a sum over a small set.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import scipy.sparse as sp

from ..data import Interactions
from .base import Recommender, check_int, check_number

__all__ = ["ItemKNN", "LastItemKNN", "UserKNN", "cosine_similarity", "keep_top_k"]


def cosine_similarity(x: sp.spmatrix | np.ndarray, shrink: float = 0.0) -> np.ndarray:
    """Shrunk cosine similarity between the ROWS of ``x``, with a zero diagonal.

    Args:
        x: ``(n, d)`` matrix (sparse or dense); pass ``X.T`` to compare columns.
        shrink: >= 0, added to the product of the norms in the denominator.

    Returns:
        float32 ``(n, n)`` symmetric matrix; rows of all zeros get similarity 0 to everything.

    Raises:
        ValueError: ``shrink`` < 0 (in ``fit``).
    """
    if not np.isfinite(shrink) or shrink < 0:
        raise ValueError(f"shrink={shrink!r}; expected a number >= 0")
    x = sp.csr_matrix(x, dtype=np.float64)
    dots = (x @ x.T).toarray()  # (n, n) co-occurrence (binary X) or rating dot products
    norms = np.sqrt(np.diag(dots))  # (n,)
    denom = norms[:, None] * norms[None, :] + shrink
    sim = np.divide(dots, denom, out=np.zeros_like(dots), where=denom > 0)
    np.fill_diagonal(sim, 0.0)  # an item is not its own neighbour
    return sim.astype(np.float32)


def keep_top_k(sim: np.ndarray, k: int | None) -> np.ndarray:
    """Keep the ``k`` largest entries of each ROW of ``sim`` (others set to 0).

    Ties at the cut are broken towards the lower column index so the result is deterministic.

    Args:
        sim: ``(n, n)`` similarity matrix.
        k: neighbours to keep per row; ``None`` (or ``k >= n``) keeps everything.

    Returns:
        A new array of the same shape and dtype.
    """
    n = sim.shape[1]
    if k is None or k >= n:
        return sim.copy()
    # Stable sort on -sim: equal similarities keep index order, so the k-th tie is reproducible.
    order = np.argsort(-sim, axis=1, kind="stable")[:, :k]  # (n, k)
    out = np.zeros_like(sim)
    rows = np.arange(sim.shape[0])[:, None]
    out[rows, order] = sim[rows, order]
    return out


def _check_knn_params(k: int | None, shrink: float) -> None:
    check_int(k, "k", min_val=1, allow_none=True)
    check_number(shrink, "shrink", min_val=0.0)
    if not np.isfinite(shrink):
        raise ValueError(f"shrink={shrink!r}; expected a finite number >= 0")


class _NeighbourModel(Recommender):
    """What the two neighbourhood models share: parameters, checks, the training matrix.

    Subclasses give ``__init__`` (their own default ``k``) and :meth:`_neighbours`.
    """

    def __init__(self, k: int | None, shrink: float, implicit: bool) -> None:
        self.k = k
        self.shrink = shrink
        self.implicit = implicit

    @abstractmethod
    def _neighbours(self, x: sp.csr_matrix) -> np.ndarray:  # pragma: no cover - abstract
        """The similarity matrix, top-``k`` neighbours kept, from the training matrix ``x``."""

    def fit(self, train: Interactions) -> _NeighbourModel:
        """Compute the similarities on ``train`` and keep the top-``k`` neighbours of each row.

        Raises:
            TypeError / ValueError: a bad ``k`` or ``shrink``, or a bad ``train``.
        """
        _check_knn_params(self.k, self.shrink)
        self.train_ = self._check_train(train)
        self.X_ = train.binary() if self.implicit else train.matrix.astype(np.float32)
        self.similarity_ = self._neighbours(self.X_)
        return self


class ItemKNN(_NeighbourModel):
    """Item-based collaborative filtering (Sarwar et al. 2001) with shrunk cosine similarity.

    ``score(u, j) = sum_{i in N_k(j)} x_ui * sim(i, j)``: the user's own ratings, weighted by how
    similar each rated item ``i`` is to the candidate ``j``, over the ``k`` nearest neighbours
    ``N_k(j)`` of ``j``.

    Args:
        k: neighbours kept per item (``None`` keeps all).
        shrink: cosine shrinkage (>= 0).
        implicit: use the binary matrix (``True``) or the raw ratings.

    Attributes:
        similarity_: ``(n_items, n_items)`` float32; column ``j`` holds the weights of the
            neighbours of item ``j`` (at most ``k`` non-zeros per column).
        X_: training matrix (CSR, users x items).

    Raises:
        ValueError: ``k`` < 1 or ``shrink`` < 0 (in ``fit``).
    """

    name = "itemknn"

    def __init__(self, k: int | None = 200, shrink: float = 10.0, implicit: bool = True) -> None:
        super().__init__(k, shrink, implicit)

    def _neighbours(self, x: sp.csr_matrix) -> np.ndarray:
        sim = cosine_similarity(x.T, self.shrink)  # (n_items, n_items), symmetric
        # Row j of keep_top_k is item j's neighbour list; transpose so column j holds it.
        return np.ascontiguousarray(keep_top_k(sim, self.k).T)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.X_[users] @ self.similarity_)  # (len(users), n_items)


class UserKNN(_NeighbourModel):
    """User-based collaborative filtering (Resnick et al. 1994) with shrunk cosine similarity.

    ``score(u, j) = sum_{v in N_k(u)} sim(u, v) * x_vj``: what the ``k`` most similar users
    rated, weighted by their similarity to ``u``.

    Args:
        k: neighbours kept per user (``None`` keeps all).
        shrink: cosine shrinkage (>= 0).
        implicit: use the binary matrix (``True``) or the raw ratings.

    Attributes:
        similarity_: ``(n_users, n_users)`` float32; row ``u`` holds ``u``'s neighbours.
        X_: training matrix (CSR, users x items).

    Raises:
        ValueError: ``k`` < 1 or ``shrink`` < 0 (in ``fit``).
    """

    name = "userknn"

    def __init__(self, k: int | None = 100, shrink: float = 10.0, implicit: bool = True) -> None:
        super().__init__(k, shrink, implicit)

    def _neighbours(self, x: sp.csr_matrix) -> np.ndarray:
        return keep_top_k(cosine_similarity(x, self.shrink), self.k)  # (n_users, n_users)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.X_.T @ self.similarity_[users].T).T  # (len(users), n_items)


class LastItemKNN(Recommender):
    """Sequential baseline: recommend the items most similar to the user's LAST training item.

    Similarities are the shrunk cosine between item columns of the binary training matrix; a
    user's scores are the similarity row of the item with the latest timestamp in their training
    history (ties broken by item id, as in :meth:`~recsys_lessons.data.Interactions.user_sequences`).
    Users without training items get all-zero scores.

    Args:
        shrink: cosine shrinkage (>= 0).

    Attributes:
        similarity_: ``(n_items, n_items)`` float32 item-item cosine, zero diagonal.
        last_item_: ``(n_users,)`` int64 index of each user's last training item, -1 if none.

    Raises:
        ValueError: ``shrink`` < 0 (in ``fit``).
    """

    name = "lastitemknn"

    def __init__(self, shrink: float = 10.0) -> None:
        self.shrink = shrink

    def fit(self, train: Interactions) -> LastItemKNN:
        """Compute item-item similarities and each user's last training item on ``train``."""
        _check_knn_params(None, self.shrink)
        self.train_ = self._check_train(train)
        self.similarity_ = cosine_similarity(train.binary().T, self.shrink)
        self.last_item_ = np.array([s[-1] if len(s) else -1 for s in train.user_sequences()], dtype=np.int64)
        return self

    def _score(self, users: np.ndarray) -> np.ndarray:
        last = self.last_item_[users]  # (len(users),)
        out = self.similarity_[np.maximum(last, 0)].copy()  # (len(users), n_items)
        out[last < 0] = 0.0
        return out
