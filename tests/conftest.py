"""Shared fixtures: a tiny hand-made dataset, the real ML-100K (fetched by `make data`), test doubles."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RECSYS_LESSONS_BUDGET", "ci")

from recsys_lessons.data import Dataset, Interactions, load_movielens, split_stratified  # noqa: E402


@pytest.fixture
def tiny() -> Interactions:
    """4 users x 5 items with known ratings; items 1..5 titled "Movie A".."Movie E"."""
    ratings = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3, 3, 3, 4, 4],
            "item_id": [1, 2, 3, 1, 2, 2, 3, 4, 4, 5],
            "rating": [5, 4, 1, 4, 5, 2, 5, 4, 3, 5],
            "timestamp": [10, 20, 30, 11, 21, 12, 22, 32, 13, 23],
        }
    ).astype({"rating": np.float32})
    items = pd.DataFrame(
        {
            "item_id": [1, 2, 3, 4, 5],
            "title": [f"Movie {c}" for c in "ABCDE"],
            "year": pd.array([1990, 1991, 1992, 1993, 1994], dtype="Int64"),
            "genres": [["Action"], ["Action", "Comedy"], ["Drama"], ["Drama", "Romance"], ["Comedy"]],
        }
    )
    items["text"] = [f"{t} ({y}). Genres: {', '.join(g)}." for t, y, g in zip(items.title, items.year, items.genres)]
    return Interactions.from_dataset(Dataset("tiny", ratings, items, None, "test"))


class FixedScores:
    """A 'model' whose scores are given: the tests know exactly what the evaluator ranks.

    Only ``score(users)`` (and a ``name``), no ``fit``: anything with that duck type can be evaluated.
    """

    name = "fixed"

    def __init__(self, scores) -> None:
        self.scores = np.asarray(scores, dtype=np.float32)  # (n_users, n_items)

    def score(self, users) -> np.ndarray:
        return self.scores[users]


@pytest.fixture
def fixed_scores() -> type[FixedScores]:
    """``fixed_scores(matrix)`` makes a model whose ``score(users)`` returns ``matrix[users]``."""
    return FixedScores


@pytest.fixture(scope="session")
def ml100k() -> Dataset:
    """The real MovieLens 100K from the cache in data/ (``make data`` puts it there)."""
    return load_movielens("100k", source="cache")


@pytest.fixture(scope="session")
def ml100k_split(ml100k):
    """The benchmark protocol split: 75/25 stratified per item, seed 42."""
    return split_stratified(ml100k, 0.75, by="item", seed=42)


def pytest_collection_modifyitems(config, items):
    """Every test that reads MovieLens carries the ``data`` marker, even through a fixture.

    Tests mark themselves with ``@pytest.mark.data``; this adds it to any test that reaches the
    ``ml100k`` fixtures indirectly, so ``pytest -m "not data"`` runs without the dataset.
    """
    for item in items:
        if {"ml100k", "ml100k_split"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.data)
