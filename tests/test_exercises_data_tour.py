"""Lesson 00's checks: a right answer passes, each typical mistake is named with its value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_lessons.exercises import data_tour as ex


def density_right(ratings: pd.DataFrame) -> float:
    return len(ratings) / (ratings.user_id.nunique() * ratings.item_id.nunique())


@pytest.mark.parametrize(
    ("wrong", "value", "cause"),
    [
        (lambda r: len(r) / (len(r.user_id) * len(r.item_id)), "0.2", "distinct"),
        (lambda r: len(r) / (r.user_id.max() * r.item_id.max()), "0.04274", "largest id"),
        (lambda r: 100 * density_right(r), "41.67", "percentage"),
        (lambda r: 1 - density_right(r), "0.5833", "empty"),
        (lambda r: 0.3, "0.3", "distinct users x distinct movies"),
    ],
)
def test_density_wrong_answers_name_the_value_and_the_cause(wrong, value, cause):
    fb = ex.check_density(wrong)
    assert not fb.passed and f"is {value}, expected 0.4167" in fb.message and cause in fb.message


def test_density_right_answer_passes_and_forgotten_return_is_named():
    assert ex.check_density(density_right).passed
    assert "forget to `return`" in ex.check_density(lambda r: None).message


def test_density_check_agrees_with_the_sparse_matrix_on_movielens(ml100k):
    # The trusted reference: the stored cells of the rating matrix over its shape.
    from recsys_lessons import Interactions

    X = Interactions.from_dataset(ml100k).matrix
    assert density_right(ml100k.ratings) == pytest.approx(X.nnz / (X.shape[0] * X.shape[1]))


def future_right(train: pd.DataFrame, test: pd.DataFrame) -> float:
    last = train.groupby("user_id").timestamp.max()
    return float((test.user_id.map(last) > test.timestamp).mean())  # NaN (no train) compares False


def future_brute_force(train: pd.DataFrame, test: pd.DataFrame) -> float:
    hits = [
        any((u2 == u) and (t2 > t) for u2, t2 in zip(train.user_id, train.timestamp, strict=True))
        for u, t in zip(test.user_id, test.timestamp, strict=True)
    ]
    return float(np.mean(hits))


def test_user_future_share_right_answers_pass():
    assert ex.check_user_future_share(future_right).passed
    assert ex.check_user_future_share(future_brute_force).passed


def _at_or_after(train, test):
    last = train.groupby("user_id").timestamp.max()
    return float((test.user_id.map(last) >= test.timestamp).mean())


def _global(train, test):
    return float((train.timestamp.max() > test.timestamp).mean())


def _per_user(train, test):
    last = train.groupby("user_id").timestamp.max()
    return float((test.user_id.map(last) > test.timestamp).groupby(test.user_id).mean().mean())


def _dropped(train, test):
    last = test.user_id.map(train.groupby("user_id").timestamp.max())
    keep = last.notna()
    return float((last[keep] > test.timestamp[keep]).mean())


@pytest.mark.parametrize(
    ("wrong", "value", "cause"),
    [
        (_at_or_after, "0.5", "strictly later"),
        (_global, "0.8333", "same user"),
        (_per_user, "0.25", "not over users"),
        (_dropped, "0.4", "must not be dropped"),
        (lambda tr, te: 1 - future_right(tr, te), "0.6667", "*no* later"),
    ],
)
def test_user_future_share_wrong_answers_name_the_value_and_the_cause(wrong, value, cause):
    fb = ex.check_user_future_share(wrong)
    assert not fb.passed and f"is {value}, expected 0.3333" in fb.message and cause in fb.message
