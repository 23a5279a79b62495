"""Checks for the exercises of lesson 00 (setup and data).

Each check runs the learner's function on a small hand-worked case whose answer is known, and
recognises the usual mistakes by the value they produce.

    from recsys_lessons.exercises import data_tour as ex
    ex.check_density(matrix_density)
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from .feedback import Feedback, as_number, close, compare_number, fmt

__all__ = ["check_density", "check_user_future_share"]

DENSITY = "Exercise 0.1"
FUTURE = "Exercise 0.2"


def _density_case() -> pd.DataFrame:
    # 5 ratings from 3 users (ids 2, 7, 9) on 4 movies (ids 10-13): density 5 / (3 x 4) = 5/12.
    # The ids are not 1..n, so "the largest id" is not "how many".
    return pd.DataFrame(
        {"user_id": [2, 2, 7, 9, 9], "item_id": [10, 11, 10, 12, 13], "rating": [5.0, 3.0, 4.0, 1.0, 2.0]}
    )


def check_density(matrix_density: Callable[[pd.DataFrame], float]) -> Feedback:
    """Check ``matrix_density(ratings) -> float``: ratings / (distinct users x distinct movies).

    Runs it on 5 ratings from 3 users on 4 movies (expected 5/12).

    Args:
        matrix_density: the learner's function; it receives a DataFrame with ``user_id``, ``item_id`` and
            ``rating`` columns.

    Returns:
        The feedback; a wrong value is named with the likely cause (rows counted instead of
        distinct ids, largest id used as a count, a percentage, or the share of empty cells).
    """
    case = _density_case()
    got = as_number(DENSITY, matrix_density(case.copy()), "your density")
    if isinstance(got, Feedback):
        return got
    expected = 5 / 12
    what = "your density for 5 ratings by 3 users on 4 movies"
    known = {
        5 / 25: "count *distinct* users and movies (`nunique()`), not rows",
        5 / (9 * 13): "the largest id is not the number of users or movies: ids can have gaps; count distinct ids",
        100 * expected: "give a fraction between 0 and 1, not a percentage",
        1 - expected: "that is the share of *empty* cells (the sparsity); the density is the filled share",
    }
    hint = next(
        (h for value, h in known.items() if close(got, value)),
        "the density is the number of ratings divided by (distinct users x distinct movies)",
    )
    return compare_number(DENSITY, got, expected, what, hint)


def _future_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    # Hand-worked: which test ratings have a training rating of the SAME user made strictly later?
    train = pd.DataFrame({"user_id": [1, 1, 2, 3], "timestamp": [1, 5, 2, 10]})
    test = pd.DataFrame({"user_id": [1, 1, 2, 3, 3, 4], "timestamp": [3, 6, 2, 4, 12, 1]})
    # user 1 at 3: yes (5 > 3); user 1 at 6: no; user 2 at 2: no (same second is not later);
    # user 3 at 4: yes (10 > 4); user 3 at 12: no; user 4: no training ratings, no. -> 2 of 6.
    return train, test


def check_user_future_share(user_future_share: Callable[[pd.DataFrame, pd.DataFrame], float]) -> Feedback:
    """Check ``user_future_share(train, test) -> float``.

    The share of test ratings whose user has at least one training rating made strictly later.
    Runs it on a hand-worked case of 4 training and 6 test ratings (expected 1/3).

    Args:
        user_future_share: the learner's function; it receives two DataFrames with ``user_id`` and
            ``timestamp`` columns (training ratings, test ratings).

    Returns:
        The feedback, naming the value and the likely mistake (``>=`` for ``>``, everyone's ratings
        instead of the user's, an average over users, users without training ratings dropped).
    """
    train, test = _future_case()
    got = as_number(FUTURE, user_future_share(train.copy(), test.copy()), "your share")
    if isinstance(got, Feedback):
        return got
    expected = 2 / 6
    what = "your share for the 6 hand-made test ratings"
    known = {  # the values of the usual mistakes on this case, all distinct
        3 / 6: "'later' means strictly later: a training rating in the same second is not from the future",
        5 / 6: "compare each test rating with the training ratings of the *same user*, not with everyone's",
        (0.5 + 0 + 0.5 + 0) / 4: "average over test ratings, not over users",
        2 / 5: "a test rating whose user has no training ratings counts as 'no', it must not be dropped",
        1 - expected: "that is the share of test ratings with *no* later training rating",
    }
    hint = next(
        (h for value, h in known.items() if close(got, value)),
        "for each test rating, look for a training rating of the same user with a larger timestamp",
    )
    feedback = compare_number(FUTURE, got, expected, what, hint)
    if feedback.passed:
        return Feedback(
            FUTURE, True, f"{what} is {fmt(got)}: 2 of the 6 have a later training rating of the same user."
        )
    return feedback
