"""From behaviour to text: history text, item text, training pairs and candidate lists.

What a text model reads about a user is the titles (with years) of their last films, oldest first
(:func:`user_histories`); what it reads about an item is its title, year and genres
(:func:`item_texts`). :func:`build_pairs` turns a training split into labelled
``(history, candidate)`` pairs for a click model; :func:`candidate_lists` gives the short lists a
retriever hands a re-ranker. No model lives here, so widgets and exercises can use it freely.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ..data import Interactions
from ..evaluation import top_k
from ..text import item_texts as text_item_texts

__all__ = [
    "build_pairs",
    "candidate_lists",
    "history_items",
    "history_text",
    "history_titles",
    "item_texts",
    "user_histories",
]


def item_texts(inter: Interactions) -> np.ndarray:
    """Text of every item of the index ("Title (year). Genres: A, B."), as an array for fancy indexing.

    Raises:
        ValueError: the interactions carry no item table (see :func:`recsys_lessons.text.item_texts`).
    """
    return np.asarray(text_item_texts(inter), dtype=object)


def history_text(titles: Sequence[str], liked: bool = True) -> str:
    """The user side of a pair: ``"Liked: A; B; C"`` (oldest first, most recent last).

    Args:
        titles: the history's titles.
        liked: whether the titles are liked films (``"Liked: ..."``) or the last ones watched,
            whatever the rating (``"Watched: ..."``); the text should say which.
    """
    label = "Liked" if liked else "Watched"
    return f"{label}: " + "; ".join(titles) if len(titles) else f"{label}: nothing yet"


def history_titles(inter: Interactions) -> np.ndarray:
    """Each item's title as MovieLens writes it, year included ("Heat (1995)"), for histories.

    The year matters: a user's next film tends to be from the years of the films they just
    rated, and the model can only use that if the history shows it.

    Raises:
        ValueError: the interactions carry no item table.
    """
    if inter.items is None:
        raise ValueError("this Interactions has no item table, so there are no titles")
    titles = inter.items["title"].astype(str).to_numpy()
    if "year" not in inter.items.columns:
        return titles.astype(object)
    years = pd.to_numeric(inter.items["year"], errors="coerce").astype("float64").to_numpy()  # NA -> nan
    return np.array([t if np.isnan(y) else f"{t} ({int(y)})" for t, y in zip(titles, years, strict=True)], dtype=object)


def _liked_before(
    seq: np.ndarray, ratings: np.ndarray, end: int, n_history: int, like_threshold: float | None
) -> np.ndarray:
    """Item indices of the last ``n_history`` liked items among ``seq[:end]`` (fallback: any items).

    ``like_threshold=None`` takes the last items whatever their rating.
    """
    past, past_r = seq[:end], ratings[:end]
    liked = past if like_threshold is None else past[past_r >= like_threshold]
    chosen = liked if len(liked) else past
    return chosen[-n_history:] if n_history else chosen[:0]


def _sequences_with_ratings(inter: Interactions) -> tuple[list[np.ndarray], list[np.ndarray]]:
    f = inter.frame.sort_values(["user_idx", "timestamp", "item_id"], kind="stable")
    splits = np.cumsum(np.bincount(f["user_idx"].to_numpy(), minlength=inter.n_users))[:-1]
    return np.split(f["item_idx"].to_numpy(), splits), np.split(f["rating"].to_numpy(), splits)


def history_items(
    inter: Interactions, users: np.ndarray | Sequence[int], n_history: int = 3, like_threshold: float | None = 4.0
) -> list[np.ndarray]:
    """Item indices of each user's history: their last ``n_history`` liked items in ``inter``, oldest first.

    These are the films :func:`user_histories` writes as text, for code that needs their
    attributes (release year, genres) rather than their titles.

    Args:
        inter: the interactions the history comes from (the training data).
        users: user indices.
        n_history: items per history.
        like_threshold: minimum rating that counts as liked (if a user liked nothing, their last
            items are used whatever the rating); ``None`` for the last items watched, whatever
            the rating (the most recent film carries the most signal about the next one).

    Returns:
        One array of item indices per user.

    Raises:
        ValueError: ``n_history`` below 1, or a user index outside ``[0, inter.n_users)``.
    """
    if n_history < 1:
        raise ValueError(f"n_history={n_history!r}; expected at least 1")
    users = np.asarray(users, dtype=np.int64)
    bad = users[(users < 0) | (users >= inter.n_users)]
    if len(bad):
        raise ValueError(f"user indices {bad[:5].tolist()} outside [0, {inter.n_users})")
    seqs, rates = _sequences_with_ratings(inter)
    return [_liked_before(seqs[u], rates[u], len(seqs[u]), n_history, like_threshold) for u in users]


def user_histories(
    inter: Interactions, users: np.ndarray | Sequence[int], n_history: int = 3, like_threshold: float | None = 4.0
) -> list[str]:
    """History text of each user: the titles (with years) of :func:`history_items`, oldest first.

    The arguments are those of :func:`history_items`.

    Returns:
        One string per user, e.g. ``"Liked: Kolya (1996); Heat (1995)"`` (``"Watched: ..."`` when
        ``like_threshold`` is ``None``).

    Raises:
        ValueError: see :func:`history_items`.
    """
    titles = history_titles(inter)
    liked = like_threshold is not None
    return [history_text(titles[hist], liked) for hist in history_items(inter, users, n_history, like_threshold)]


def build_pairs(
    train: Interactions,
    n_history: int = 3,
    n_negatives: int = 3,
    negatives: Literal["uniform", "popularity", "candidates"] = "uniform",
    targets_per_user: int = 1,
    max_users: int | None = None,
    like_threshold: float | None = 4.0,
    seed: int = 42,
    candidates: np.ndarray | None = None,
    positions: Literal["random", "last"] = "random",
) -> pd.DataFrame:
    """Training pairs for the click model, built only from ``train`` (no target in its own history).

    For each (sampled) user, ``targets_per_user`` positions ``t >= 1`` of their time-ordered
    sequence are chosen (at random, or the last ones); the item at ``t`` is the positive
    (label 1) and the history is the last ``n_history`` liked titles strictly before ``t``.
    ``n_negatives`` items the user never interacted with in ``train`` are paired with the same
    history (label 0). They are drawn uniformly, in proportion to popularity, or from the user's
    own candidate list: the items a retriever would hand the re-ranker, so the model learns to
    separate exactly the items it will be asked to order ("hard" negatives).

    Args:
        train: training interactions with an item table.
        n_history: titles per history.
        n_negatives: negatives per positive.
        negatives: ``"uniform"``, ``"popularity"`` (proportional to training count + 1) or
            ``"candidates"`` (uniformly from the user's row of ``candidates``).
        targets_per_user: positives per user (fewer if the user has fewer items).
        max_users: sample this many users (all users with 2+ items if ``None``).
        like_threshold: minimum rating that counts as liked in the history; ``None`` for the
            last items watched whatever the rating (see :func:`history_items`).
        seed: seed of every draw.
        candidates: ``(train.n_users, k)`` item indices per user, e.g.
            ``candidate_lists(EASE().fit(train), train, np.arange(train.n_users), 50)``; needed
            only for ``negatives="candidates"``.
        positions: ``"random"`` positions, or the ``"last"`` ones (closest to what comes next).

    Returns:
        DataFrame with ``user_idx``, ``item_idx``, ``position`` (index of the target in the
        user's sequence), ``label`` (float 0/1), ``history`` and ``candidate`` text.

    Raises:
        ValueError: an unknown ``negatives`` or ``positions``, counts below their minimum,
            ``candidates`` missing or of the wrong shape, or a user with too few negatives to draw.
    """
    if negatives not in ("uniform", "popularity", "candidates"):
        raise ValueError(f"negatives={negatives!r}; expected 'uniform', 'popularity' or 'candidates'")
    if positions not in ("random", "last"):
        raise ValueError(f"positions={positions!r}; expected 'random' or 'last'")
    if n_negatives < 0 or targets_per_user < 1 or n_history < 1:
        raise ValueError(
            "need n_negatives >= 0, targets_per_user >= 1, n_history >= 1; "
            f"got {n_negatives}, {targets_per_user}, {n_history}"
        )
    if negatives == "candidates":
        if candidates is None:
            raise ValueError("negatives='candidates' needs candidates=(n_users, k) item indices per user")
        candidates = np.asarray(candidates)
        if candidates.ndim != 2 or candidates.shape[0] != train.n_users:
            raise ValueError(f"candidates must be (train.n_users={train.n_users}, k), got {candidates.shape}")
    rng = np.random.default_rng(seed)
    seqs, rates = _sequences_with_ratings(train)
    titles = history_titles(train)
    texts = item_texts(train)
    users = np.flatnonzero([len(s) >= 2 for s in seqs])
    if max_users is not None and max_users < len(users):
        users = np.sort(rng.choice(users, size=max_users, replace=False))
    counts = train.item_popularity().astype(np.float64) + 1.0
    q = np.full(train.n_items, 1.0 / train.n_items) if negatives == "uniform" else counts / counts.sum()
    cand_rows = np.asarray(candidates) if candidates is not None else np.empty((train.n_users, 0), np.int64)
    rows = []
    for u in users:
        seq, rat = seqs[u], rates[u]
        seen = set(seq.tolist())
        if negatives == "candidates":
            pool = np.array([j for j in cand_rows[u] if j not in seen])
            if len(pool) < n_negatives:
                raise ValueError(
                    f"user index {u} has {len(pool)} unseen candidates; cannot draw {n_negatives} negatives"
                )
        elif train.n_items - len(seen) < n_negatives:
            raise ValueError(
                f"user index {u} has rated all but {train.n_items - len(seen)} items; "
                f"cannot draw {n_negatives} negatives"
            )
        n_pos = min(targets_per_user, len(seq) - 1)
        if positions == "last":
            chosen = np.arange(len(seq) - n_pos, len(seq))
        else:
            chosen = np.sort(rng.choice(np.arange(1, len(seq)), size=n_pos, replace=False))
        for t in chosen:
            hist = history_text(
                titles[_liked_before(seq, rat, int(t), n_history, like_threshold)].tolist(), like_threshold is not None
            )
            rows.append((u, seq[t], t, 1.0, hist))
            if negatives == "candidates":
                drawn = rng.choice(pool, size=n_negatives, replace=False).tolist()
            else:
                drawn = []
                while len(drawn) < n_negatives:  # rejection: a negative is an item the user never had
                    for j in rng.choice(train.n_items, size=2 * n_negatives, p=q):
                        if j not in seen and j not in drawn and len(drawn) < n_negatives:
                            drawn.append(int(j))
            rows.extend((u, int(j), t, 0.0, hist) for j in drawn)
    out = pd.DataFrame(rows, columns=["user_idx", "item_idx", "position", "label", "history"])
    out["candidate"] = texts[out["item_idx"].to_numpy()] if len(out) else []
    return out


def candidate_lists(model, train: Interactions, users: np.ndarray, k: int) -> np.ndarray:
    """Top-``k`` item indices per user from a fitted ``model``, training items excluded, best first.

    :func:`~recsys_lessons.evaluation.top_k` of ``model.score(users)`` with ``train`` masked.

    Args:
        model: a fitted recommender (anything with ``score(users)``).
        train: the interactions whose items are excluded.
        users: ``(n,)`` user indices.
        k: candidates per user.

    Returns:
        ``(n, k)`` int64 item indices.
    """
    users = np.asarray(users, dtype=np.int64)
    return top_k(model.score(users), k, train.matrix[users])
