"""The one interface every recommender in the course shares.

``fit(train) -> self`` learns from an :class:`~recsys_lessons.data.Interactions`;
``score(users=None) -> (n_users, n_items)`` gives a score for every item of the shared index;
``recommend(user_id, k)`` turns one user's scores into a titled top-k table. The evaluator only
ever calls ``score``, so a new model needs nothing else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from ..data import Interactions

__all__ = ["NotFittedError", "Recommender"]


class Recommender:
    """Base class: subclasses implement ``fit`` (setting ``train_``) and ``_score``.

    Attributes:
        train_: the training interactions, set by ``fit``.
    """

    name: str = "recommender"

    def fit(self, train: Interactions) -> Recommender:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score(self, users: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- checks shared by all models ---------------------------------------------------------
    def _check_train(self, train: Interactions) -> Interactions:
        if not isinstance(train, Interactions):
            raise TypeError(f"fit expects an Interactions object, got {type(train).__name__}")
        if len(train) == 0:
            raise ValueError("fit got an empty Interactions (no ratings to learn from)")
        return train

    def _check_fitted(self) -> None:
        if getattr(self, "train_", None) is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(train) first")

    def _check_users(self, users: np.ndarray | list[int] | int | None) -> np.ndarray:
        self._check_fitted()
        n = self.train_.n_users
        if users is None:
            return np.arange(n)
        arr = np.atleast_1d(np.asarray(users))
        if arr.dtype.kind not in "iu":
            raise TypeError(f"users must be integer user indices, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            bad = arr[(arr < 0) | (arr >= n)][0]
            raise IndexError(f"user index {bad} is outside 0..{n - 1}")
        return arr.astype(np.int64)

    # -- public API --------------------------------------------------------------------------
    def score(self, users: np.ndarray | list[int] | int | None = None) -> np.ndarray:
        """Scores for every item of the index, for the given user indices (all users if ``None``).

        Returns:
            float32 array of shape ``(len(users), n_items)``; higher is better.

        Raises:
            NotFittedError: before ``fit``.
            IndexError: for a user index outside the index.
        """
        users = self._check_users(users)
        out = np.asarray(self._score(users), dtype=np.float32)
        expected = (len(users), self.train_.n_items)
        if out.shape != expected:  # a bug in a subclass, never the caller's fault
            raise RuntimeError(f"{type(self).__name__}._score returned {out.shape}, expected {expected}")
        return out

    def recommend(self, user_id: int, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """Top-``k`` items for one user (raw MovieLens id) with titles.

        Args:
            user_id: raw user id.
            k: list length (>= 1).
            exclude_seen: drop items the user rated in the training data.

        Returns:
            DataFrame with ``rank``, ``item_id``, ``title`` (when the index has titles) and ``score``.

        Raises:
            NotFittedError: before ``fit``.
            KeyError: unknown ``user_id``.
            ValueError: ``k`` < 1.
        """
        self._check_fitted()
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k={k!r}; expected a positive integer")
        u = self.train_.user_index(user_id)
        scores = self.score([u])[0].astype(np.float64)
        if exclude_seen:
            seen = self.train_.matrix[u].indices
            scores[seen] = -np.inf
        k = min(int(k), int(np.isfinite(scores).sum()))
        top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=np.int64)
        top = top[np.lexsort((top, -scores[top]))]  # by score, ties by index: deterministic
        out = pd.DataFrame({"rank": np.arange(1, k + 1), "item_id": self.train_.item_ids[top]})
        if self.train_.items is not None:
            out["title"] = self.train_.items["title"].to_numpy()[top]
        out["score"] = scores[top]
        return out

    def __repr__(self) -> str:
        params = {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})"
