"""Lesson 01's checks: a right answer passes, each typical mistake is named with its value."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_lessons import metrics as M
from recsys_lessons.exercises import collaborative as ex
from recsys_lessons.models import ItemKNN


def hit_rate_right(ranked, relevant_sets, k):
    return float(np.mean([any(i in rel for i in items[:k]) for items, rel in zip(ranked, relevant_sets, strict=True)]))


def test_hit_rate_right_answer_passes_and_matches_the_package_metric():
    assert ex.check_hit_rate(hit_rate_right).passed
    ranked, relevant, k = ex._hit_rate_case()
    rows = [u for u, rel in enumerate(relevant) for _ in rel]
    cols = [i for rel in relevant for i in sorted(rel)]
    truth = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(4, 4))
    assert M.hit_rate_at_k(ranked, truth, k) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("wrong", "value", "cause"),
    [
        (lambda r, s, k: hit_rate_right(r, s, r.shape[1]), "1", "first k"),
        (
            lambda r, s, k: float(np.mean([sum(i in rel for i in it[:k]) for it, rel in zip(r, s, strict=True)])),
            "0.75",
            "at least one",
        ),
        (
            lambda r, s, k: float(np.mean([sum(i in rel for i in it[:k]) / k for it, rel in zip(r, s, strict=True)])),
            "0.25",
            "precision",
        ),
    ],
)
def test_hit_rate_wrong_answers_name_the_value_and_the_cause(wrong, value, cause):
    fb = ex.check_hit_rate(wrong)
    assert not fb.passed and f"is {value}, expected 0.5" in fb.message and cause in fb.message


@pytest.fixture
def knn(tiny):
    return ItemKNN(k=2, shrink=0.0).fit(tiny)


def normalised_right(knn, users):
    mass = knn.similarity_.sum(axis=0)
    return knn.score(users) / np.where(mass > 0, mass, 1.0)


def normalised_loop(knn, users):
    # Brute force: for each candidate j, sum sim(i, j) over the items the user rated, over j's mass.
    X = knn.train_.binary().toarray()
    S = knn.similarity_
    out = np.zeros((len(users), S.shape[1]))
    for a, u in enumerate(users):
        for j in range(S.shape[1]):
            mass = sum(S[i, j] for i in range(S.shape[0]))
            total = sum(X[u, i] * S[i, j] for i in range(S.shape[0]))
            out[a, j] = total / mass if mass > 0 else 0.0
    return out


def test_normalised_item_knn_right_answers_pass(knn):
    assert ex.check_normalised_item_knn(normalised_right, knn, [0, 1, 2, 3]).passed
    assert ex.check_normalised_item_knn(normalised_loop, knn, [0, 2]).passed


def test_normalised_item_knn_names_the_differing_score_and_the_axis(knn):
    def rows_summed(knn, users):
        mass = knn.similarity_.sum(axis=1)
        return knn.score(users) / np.where(mass > 0, mass, 1.0)

    fb = ex.check_normalised_item_knn(rows_summed, knn, [0, 1, 2, 3])
    assert not fb.passed and "axis 0" in fb.message
    assert "your normalised score for user" in fb.message and "Movie" in fb.message and "expected" in fb.message


def test_normalised_item_knn_names_plain_scores_and_a_wrong_shape(knn):
    plain = ex.check_normalised_item_knn(lambda knn, users: knn.score(users), knn, [0, 1])
    assert not plain.passed and "expected" in plain.message
    shape = ex.check_normalised_item_knn(lambda knn, users: knn.score(users)[:1], knn, [0, 1])
    assert "shape (1, 5), expected (2, 5)" in shape.message
