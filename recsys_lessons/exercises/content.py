"""Checks for lesson 02 (content-based filtering).

* :func:`check_idf` (exercise 2.1, warm-up): the smoothed inverse document frequency of each genre.
* :func:`check_max_sim` (exercise 2.2, stretch): a profile that scores each item by its highest
  cosine to any item the user liked, instead of by the cosine to the mean profile.

Each check runs the learner's answer on a concrete case, compares it with a reference computed
here by brute force, and names the first value that differs together with a likely cause.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from .feedback import Feedback

__all__ = ["IDF_CASE", "check_idf", "check_max_sim", "max_sim_reference"]

# A small item x genre matrix (6 items, 4 genres) with document frequencies 4, 2, 1 and 0:
# a common genre, a rarer one, a unique one and one nobody has (df = 0 must not divide by zero).
IDF_CASE = np.array(
    [
        [1, 1, 0, 0],
        [1, 0, 0, 0],
        [1, 1, 1, 0],
        [1, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
    ],
    dtype=np.float64,
)


def _as_vector(value: Any) -> np.ndarray:
    """The learner's result as a flat float array (lists, matrices, sparse rows, tensors all work)."""
    if sp.issparse(value):
        value = value.toarray()
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64).ravel()


def _idf_variants(x: np.ndarray) -> dict[str, np.ndarray]:
    """The reference IDF and the usual slips, to say which one a wrong answer looks like."""
    n, df = x.shape[0], x.sum(axis=0)
    with np.errstate(divide="ignore"):
        return {
            "reference": np.log((1 + n) / (1 + df)) + 1,
            "no +1 after the log": np.log((1 + n) / (1 + df)),
            "no smoothing (ln(n / df) + 1)": np.log(n / df) + 1,
            "log base 10": np.log10((1 + n) / (1 + df)) + 1,
            "document frequency instead of its inverse": np.log((1 + df) / (1 + n)) + 1,
        }


def check_idf(idf: Callable[[np.ndarray | sp.spmatrix], Any], exercise: str = "Exercise 2.1") -> Feedback:
    """Check a function ``idf(X) -> (n_genres,)`` of a 0/1 item x genre matrix.

    The expected weights are the smoothed IDF of the lesson, ``idf_g = ln((1 + n) / (1 + df_g)) + 1``
    with ``n`` items and ``df_g`` items carrying genre ``g``. The function is called on
    :data:`IDF_CASE` as a scipy CSR matrix (the type ``genre_matrix`` returns).

    Args:
        idf: the learner's function.
        exercise: the exercise's name in the notebook.

    Returns:
        A :class:`Feedback` naming the first genre column whose weight differs.
    """
    x = IDF_CASE
    try:
        got = _as_vector(idf(sp.csr_matrix(x)))
    except Exception as err:  # the learner's code failed: report it, do not hide it
        return Feedback(exercise, False, f"Your function raised {type(err).__name__}: {err}")
    variants = _idf_variants(x)
    expected = variants["reference"]
    if got.shape != expected.shape:
        return Feedback(
            exercise,
            False,
            f"For a matrix of {x.shape[0]} items x {x.shape[1]} genres your function returned {got.size} values, "
            f"expected one per genre ({x.shape[1]}): are you summing over the items (axis 0)?",
        )
    if np.allclose(got, expected, rtol=1e-5, atol=1e-6):
        return Feedback(
            exercise, True, "Your IDF weights match the smoothed formula on every genre, including one no item has."
        )
    col = int(np.flatnonzero(~np.isclose(got, expected, rtol=1e-5, atol=1e-6))[0])
    df = int(x[:, col].sum())
    hint = next(
        (
            name
            for name, v in variants.items()
            if name != "reference" and np.allclose(got, v, rtol=1e-5, atol=1e-6, equal_nan=True)
        ),
        None,
    )
    why = (
        f"it looks like {hint}" if hint else "check the smoothing: add 1 to both counts inside the log, and 1 after it"
    )
    return Feedback(
        exercise,
        False,
        f"For genre column {col} (df = {df} of n = {x.shape[0]} items) your IDF is {got[col]:.4f}, "
        f"expected {expected[col]:.4f}; {why}.",
    )


def max_sim_reference(model: Any, users: np.ndarray) -> np.ndarray:
    """Brute-force max-similarity scores: each item's highest cosine to an item the user liked.

    "Liked" means rated above the user's own mean rating in ``model.train_``; the item vectors
    are ``model.item_vectors_`` (unit rows, so a dot product is a cosine). A user who liked
    nothing gets zeros.

    Args:
        model: a fitted content model with ``train_`` and ``item_vectors_``.
        users: user indices.

    Returns:
        ``(len(users), n_items)`` scores.
    """
    vectors = _dense_vectors(model)
    matrix = model.train_.matrix.tocsr()
    out = np.zeros((len(users), vectors.shape[0]))
    for row, u in enumerate(users):
        liked = _liked_items(matrix, u)
        if len(liked):
            out[row] = (vectors[liked] @ vectors.T).max(axis=0)  # (n_items,): nearest liked item
    return out


def _dense_vectors(model: Any) -> np.ndarray:
    v = model.item_vectors_
    return np.asarray(v.toarray() if sp.issparse(v) else v, dtype=np.float64)


def _liked_items(matrix: sp.csr_matrix, u: int) -> np.ndarray:
    """Items user ``u`` rated above their own mean rating."""
    rated, ratings = matrix[u].indices, matrix[u].data.astype(np.float64)
    return rated[ratings > ratings.mean()] if len(rated) else rated


def _users_with_likes(model: Any, n: int) -> np.ndarray:
    """The first ``n`` users (spread over the index) who rated some item above their mean."""
    matrix = model.train_.matrix.tocsr()
    candidates = [u for u in range(matrix.shape[0]) if len(_liked_items(matrix, u))]
    if not candidates:
        raise ValueError("no user in model.train_ rated an item above their mean; the check needs one")
    picks = np.linspace(0, len(candidates) - 1, num=min(n, len(candidates))).round().astype(int)
    return np.asarray(candidates, dtype=np.int64)[np.unique(picks)]


def check_max_sim(model: Any, exercise: str = "Exercise 2.2", n_users: int = 5) -> Feedback:
    """Check a fitted max-similarity profile: ``score(u, j) = max_{i in L_u} cos(v_i, v_j)``.

    ``L_u`` holds the items user ``u`` rated above their own mean rating. The check scores
    ``n_users`` users spread over the index with ``model.score`` and compares every score with
    :func:`max_sim_reference`. Any fitted content model with ``train_`` and ``item_vectors_``
    works (the exercise subclasses ``EmbeddingProfile``).

    Args:
        model: the learner's fitted model.
        exercise: the exercise's name in the notebook.
        n_users: how many users to compare.

    Returns:
        A :class:`Feedback` naming the first (user, item) whose score differs.
    """
    for attr in ("train_", "item_vectors_"):
        if not hasattr(model, attr):
            return Feedback(
                exercise, False, f"Your model has no attribute {attr!r}: fit it first (model.fit(cold_train))."
            )
    users = _users_with_likes(model, n_users)
    try:
        got = np.asarray(model.score(users), dtype=np.float64)
    except Exception as err:  # the learner's code failed: report it
        return Feedback(exercise, False, f"model.score raised {type(err).__name__}: {err}")
    expected = max_sim_reference(model, users)
    if got.shape != expected.shape:
        return Feedback(
            exercise, False, f"model.score returned shape {got.shape}, expected {expected.shape} (users x items)."
        )
    bad = ~np.isclose(got, expected, rtol=1e-4, atol=1e-5)
    if not bad.any():
        return Feedback(
            exercise, True, f"Your scores match the nearest liked item's cosine for all {len(users)} users checked."
        )
    row, item = (int(v) for v in np.argwhere(bad)[0])
    u = int(users[row])
    user_id = model.train_.user_ids[u]
    titles = getattr(model.train_, "items", None)
    name = f"{titles['title'].iloc[item]!r}" if titles is not None and "title" in titles else f"item index {item}"
    # Which slip is it? Compare with the usual alternatives for this user.
    vectors = _dense_vectors(model)
    rated = model.train_.matrix.tocsr()[u].indices

    def close(alternative: np.ndarray) -> bool:
        return bool(np.allclose(got[row], alternative, rtol=1e-4, atol=1e-5))

    profiles = getattr(model, "user_profiles_", None)
    if close((vectors[rated] @ vectors.T).max(axis=0)):
        why = "that is the max over every rated item: keep only the items rated above the user's mean"
    elif profiles is not None and close(vectors @ np.asarray(profiles[u], dtype=np.float64)):
        why = "that is the mean-profile score: does your class override _score, and take the max?"
    elif got[row, item] < expected[row, item]:
        why = "yours is lower: are you averaging the similarities instead of taking their maximum?"
    else:
        why = "yours is higher: are items the user did not like (or did not rate) included?"
    return Feedback(
        exercise,
        False,
        f"For user {user_id}, item {name}: your score is {got[row, item]:.4f}, expected {expected[row, item]:.4f}; {why}.",
    )
