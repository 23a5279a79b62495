"""Popularity-bias analysis: head/tail, Lorenz curve and Gini, accuracy by item and user segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_lessons import metrics as M
from recsys_lessons.data import Interactions
from recsys_lessons.evaluation import evaluate
from recsys_lessons.evaluation.popularity import (
    accuracy_by_popularity,
    accuracy_by_user_group,
    activity_groups,
    exposure_counts,
    gini_coefficient,
    head_tail,
    lorenz_curve,
    mainstream_groups,
    mainstreamness,
    popularity_report,
    tail_recall,
)


def _frame(pairs):
    return pd.DataFrame({"user_id": [u for u, _ in pairs], "item_id": [i for _, i in pairs],
                         "rating": np.ones(len(pairs), np.float32), "timestamp": np.arange(len(pairs))})


@pytest.fixture
def small():
    """3 users x 6 items. Train popularity (items 0..5) = [3, 2, 1, 1, 1, 0]: head(0.5) = {0, 1}."""
    users, items = np.arange(3), np.arange(6)
    train = Interactions(_frame([(0, 0), (0, 1), (1, 0), (1, 2), (2, 0), (2, 1), (2, 3), (1, 4)]), users, items)
    test = Interactions(_frame([(0, 2), (0, 5), (1, 1), (1, 3), (2, 4)]), users, items)
    return train, test


def test_head_tail_labels_follow_head_items():
    pop = np.array([5, 30, 0, 12, 20, 3, 12, 8, 10])
    # Sorted: 30 (item 1), 20 (item 4) -> 50 of 100 = exactly half: the head stops there.
    assert head_tail(pop, 0.5).tolist() == ["tail", "head", "tail", "tail", "head", "tail", "tail", "tail", "tail"]
    assert (head_tail(pop, 0.8) == "head").sum() == 5  # 30 + 20 + 12 + 12 + 10 = 84 >= 80
    with pytest.raises(ValueError, match="share"):
        head_tail(pop, 0.0)


def test_lorenz_curve_and_gini_by_hand():
    x, y = lorenz_curve(np.array([2, 1, 1]))
    np.testing.assert_allclose(x, [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(y, [0, 0.25, 0.5, 1.0])
    # G = 1 - (1/3)[(0 + .25) + (.25 + .5) + (.5 + 1)] = 1 - 2.5/3 = 1/6
    assert gini_coefficient(np.array([2, 1, 1])) == pytest.approx(1 / 6)
    assert gini_coefficient(np.ones(7)) == pytest.approx(0.0)
    assert gini_coefficient(np.array([0, 0, 0, 4])) == pytest.approx(0.75)  # 1 - 1/n
    with pytest.raises(ValueError, match="all zero"):
        lorenz_curve(np.zeros(3))
    with pytest.raises(ValueError, match="non-negative"):
        lorenz_curve(np.array([1, -1]))


def test_gini_from_lorenz_equals_metrics_gini_exposure():
    ranked = np.random.default_rng(0).integers(0, 40, size=(25, 5))
    counts = exposure_counts(ranked, 40)
    assert counts.sum() == ranked.size and counts.shape == (40,)
    assert gini_coefficient(counts) == pytest.approx(M.gini_exposure(ranked, 40))
    with pytest.raises(ValueError, match="outside"):
        exposure_counts(ranked, 10)


def test_accuracy_by_popularity_by_hand(small, fixed_scores):
    train, test = small
    # Unseen items per user after masking: u0 ranks 2, 5, 3, 4; u1 ranks 1, 3, 5; u2 ranks 4, 5, 2.
    scores = np.array([[0, 0, 9, 7, 6, 8], [0, 9, 0, 8, 0, 7], [0, 0, 7, 0, 9, 8]], dtype=float)
    out = accuracy_by_popularity(fixed_scores(scores), train, test, k=2, share=0.5, metrics=("recall",))
    assert out.index.tolist() == ["head", "tail"]
    # head test items: only (1, 1), ranked first by u1 -> recall 1 for the single head user.
    assert out.loc["head", "recall@2"] == pytest.approx(1.0)
    assert out.loc["head", "users"] == 1
    # tail: u0 {2, 5} both in top-2 [2, 5] -> 1; u1 {3}: top-2 [1, 3] -> 1; u2 {4}: top-2 [4, 5] -> 1.
    assert out.loc["tail", "recall@2"] == pytest.approx(1.0)
    worse = np.array([[0, 0, 1, 7, 6, 8], [0, 9, 0, 1, 0, 7], [0, 0, 7, 0, 1, 8]], dtype=float)
    out = accuracy_by_popularity(fixed_scores(worse), train, test, k=2, share=0.5, metrics=("recall",))
    # u0 top-2 [5, 3] -> 1/2; u1 [1, 5] -> 0; u2 [5, 2] -> 0  => mean 1/6
    assert out.loc["tail", "recall@2"] == pytest.approx(1 / 6)
    per_user = tail_recall(fixed_scores(worse), train, test, k=2, share=0.5)
    assert per_user.index.tolist() == [0, 1, 2]
    np.testing.assert_allclose(per_user.to_numpy(), [0.5, 0.0, 0.0])


def test_tail_recall_needs_tail_items(small, fixed_scores):
    train, test = small
    head_only = test.subset(test.frame["item_idx"].to_numpy() == 1)
    with pytest.raises(ValueError, match="no test interaction is with a tail item"):
        tail_recall(fixed_scores(np.zeros((3, 6))), train, head_only, share=0.5)


def test_mainstreamness_and_groups_by_hand(small):
    train, _ = small
    # head(0.5) = {0, 1}; u0 has {0, 1} -> 1; u1 {0, 2, 4} -> 1/3; u2 {0, 1, 3} -> 2/3
    np.testing.assert_allclose(mainstreamness(train, 0.5), [1.0, 1 / 3, 2 / 3])
    groups = mainstream_groups(train, 0.5, quantiles=(0.34, 0.66))
    assert groups.tolist() == ["blockbuster", "niche", "diverse"]
    with pytest.raises(ValueError, match="quantiles"):
        mainstream_groups(train, 0.5, quantiles=(0.8, 0.2))


def test_activity_groups_name_their_ranges(small):
    pairs = [(u, i) for u in range(4) for i in range(u + 1)]  # activity [1, 2, 3, 4]
    train = Interactions(_frame(pairs), np.arange(4), np.arange(4))
    labels = activity_groups(train, 2, labels=("light", "heavy"))  # split at the median 2.5
    assert labels.tolist() == ["light (1-2)", "light (1-2)", "heavy (3-4)", "heavy (3-4)"]
    train = small[0]
    with pytest.raises(ValueError, match="n_groups"):
        activity_groups(train, 1)
    with pytest.raises(ValueError, match="labels has 2 names for 3 groups"):
        activity_groups(train, 3, labels=("a", "b"))


def test_accuracy_by_user_group_averages_within_groups(small, fixed_scores):
    train, test = small
    worse = np.array([[0, 0, 1, 7, 6, 8], [0, 9, 0, 1, 0, 7], [0, 0, 7, 0, 1, 8]], dtype=float)
    groups = np.array(["a", "b", "b"])
    out = accuracy_by_user_group(fixed_scores(worse), train, test, groups, k=2, metrics=("recall",))
    # u0: {2, 5} vs [5, 3] -> 1/2; u1: {1, 3} vs [1, 5] -> 1/2; u2: {4} vs [5, 2] -> 0
    assert out.loc["a", "recall@2"] == pytest.approx(0.5)
    assert out.loc["b", "recall@2"] == pytest.approx(0.25)
    assert out.loc["b", "users"] == 2


def test_popularity_report_matches_evaluate_and_metrics(small, fixed_scores):
    train, test = small
    model = fixed_scores(np.array([[0, 0, 9, 7, 6, 8], [0, 9, 0, 8, 0, 7], [0, 0, 7, 0, 9, 8]], dtype=float))
    features = np.eye(6)[:, :3]
    out = popularity_report({"m": model}, train, test, k=2, item_features=features, head_share=0.5)
    ref = evaluate(model, train, test, 2, metrics=("ndcg", "coverage", "gini", "aplt"), head_share=0.5)
    for col in ref.index:
        assert out.loc["m", col] == pytest.approx(ref[col])
    ranked = np.array([[2, 5], [1, 3], [4, 5]])
    assert out.loc["m", "ils@2"] == pytest.approx(M.intra_list_similarity(ranked, features))
    assert out.loc["m", "arp@2"] == pytest.approx(M.arp(ranked, train.item_popularity()))
    assert set(out.columns) == {"ndcg@2", "recall@2", "coverage@2", "gini@2", "arp@2", "aplt@2", "novelty@2", "ils@2"}
