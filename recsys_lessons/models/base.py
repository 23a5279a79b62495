"""The one interface every recommender in the course shares.

``fit(train) -> self`` learns from an :class:`~recsys_lessons.data.Interactions`;
``score(users=None) -> (n_users, n_items)`` gives a score for every item of the shared index;
``recommend(user_id, k)`` turns one user's scores into a titled top-k table. The evaluator only
ever calls ``score``, so a new model needs nothing else.
"""

from __future__ import annotations

import numbers
from abc import ABCMeta, abstractmethod

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_scalar

from ..data import Interactions
from ..evaluation import top_k

__all__ = ["NotFittedError", "Recommender", "check_int", "check_number"]


def check_int(value: object, name: str, min_val: int | None = None, allow_none: bool = False) -> None:
    """Raise unless ``value`` is an int (not a bool) >= ``min_val`` (or ``None`` when allowed).

    Raises:
        TypeError: not an int (``True``/``False`` are refused: a bool is not a count).
        ValueError: below ``min_val``.
    """
    if value is None and allow_none:
        return
    if isinstance(value, bool):
        raise TypeError(f"{name}={value!r}; expected an int, not a bool")
    try:
        check_scalar(value, name, numbers.Integral, min_val=min_val)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}={value!r}; {exc}") from None


def check_number(
    value: object,
    name: str,
    min_val: float | None = None,
    max_val: float | None = None,
    include_boundaries: str = "both",
) -> None:
    """Raise unless ``value`` is a real number (not a bool) within the bounds.

    Raises:
        TypeError: not a real number.
        ValueError: out of bounds (``include_boundaries`` as in ``sklearn.utils.check_scalar``).
    """
    if isinstance(value, bool):
        raise TypeError(f"{name}={value!r}; expected a number, not a bool")
    try:
        check_scalar(value, name, numbers.Real, min_val=min_val, max_val=max_val, include_boundaries=include_boundaries)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}={value!r}; {exc}") from None


class Recommender(BaseEstimator, metaclass=ABCMeta):
    """Base class: subclasses implement ``fit`` (setting ``train_``) and ``_score``.

    A scikit-learn estimator: ``__init__`` stores its arguments untouched (so ``get_params``,
    ``set_params``, ``clone`` and the repr come from :class:`~sklearn.base.BaseEstimator`),
    ``fit`` validates them and sets the fitted attributes, which end in ``_``.

    Attributes:
        train_: the training interactions, set by ``fit``.
    """

    name: str = "recommender"
    train_: Interactions  # set by fit

    @abstractmethod
    def fit(self, train: Interactions) -> Recommender:  # pragma: no cover - abstract
        """Learn from ``train``, set ``train_`` and the other fitted attributes, return ``self``."""

    @abstractmethod
    def _score(self, users: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """``(len(users), n_items)`` scores for the (validated) user indices."""

    # -- checks shared by all models ---------------------------------------------------------
    def _check_train(self, train: Interactions) -> Interactions:
        if not isinstance(train, Interactions):
            raise TypeError(f"fit expects an Interactions object, got {type(train).__name__}")
        if len(train) == 0:
            raise ValueError("fit got an empty Interactions (no ratings to learn from)")
        return train

    def _seen(self) -> sp.csr_matrix:
        """Items each user already has, excluded by ``recommend(exclude_seen=True)``: ``train_``'s."""
        return self.train_.matrix

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
            k: list length, an int >= 1; when fewer items are left (``exclude_seen`` removes the
                user's training items), the table holds all of them.
            exclude_seen: drop items the user rated in the training data. Items scoring ``-inf``
                are always dropped.

        Returns:
            DataFrame with ``rank``, ``item_id``, ``title`` (when the index has titles) and ``score``.

        Raises:
            NotFittedError: before ``fit``.
            KeyError: unknown ``user_id``.
            TypeError: ``k`` is not an int (``True`` included).
            ValueError: ``k`` < 1.
        """
        self._check_fitted()
        check_int(k, "k", min_val=1)
        u = self.train_.user_index(user_id)
        scores = self.score([u])  # (1, n_items)
        # A score of -inf means "not recommendable" (e.g. outside a re-ranker's candidates).
        drop = scores[0] == -np.inf
        if exclude_seen:
            drop[self._seen()[u].indices] = True
        # top_k refuses a list longer than what is left: ask for what is left, so the table is shorter.
        k = min(int(k), int((~drop).sum()))
        top = top_k(scores, k, sp.csr_matrix(drop[None, :]), device="cpu")[0] if k else np.array([], dtype=np.int64)
        out = pd.DataFrame({"rank": np.arange(1, k + 1), "item_id": self.train_.item_ids[top]})
        if self.train_.items is not None:
            out["title"] = self.train_.items["title"].to_numpy()[top]
        out["score"] = scores[0, top]
        return out
