"""The evaluator: masking, top-k, agreement with a per-user loop, the popularity benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_lessons import metrics as M
from recsys_lessons.data import split_stratified
from recsys_lessons.evaluation import compare, evaluate, evaluate_by_segment, paired_bootstrap, top_k
from recsys_lessons.models import NotFittedError, Popularity, RandomRecommender


def test_top_k_masks_and_breaks_ties_by_index():
    scores = np.array([[0.5, 0.9, 0.9, 0.1], [1.0, 1.0, 1.0, 1.0]])
    assert top_k(scores, 2).tolist() == [[1, 2], [0, 1]]
    exclude = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 0, 0]]))
    assert top_k(scores, 3, exclude).tolist() == [[2, 0, 3], [1, 2, 3]]
    with pytest.raises(ValueError, match="k=5 exceeds the 4 items"):
        top_k(scores, 5)
    with pytest.raises(ValueError, match="NaN in the scores"):
        top_k(np.array([[0.1, np.nan]]), 1)
    with pytest.raises(ValueError, match="exclude has shape"):
        top_k(scores, 1, sp.csr_matrix((3, 4)))


def test_evaluate_matches_hand_computation(tiny, fixed_scores):
    # train: everything but user 1's item 3 and user 3's item 4 (test)
    test_mask = ((tiny.frame.user_id == 1) & (tiny.frame.item_id == 3)) | ((tiny.frame.user_id == 3) & (tiny.frame.item_id == 4))
    train, test = tiny.subset(~test_mask.to_numpy()), tiny.subset(test_mask.to_numpy())
    # user 0 (id 1) trains on items 0,1 -> masked; best unseen by score: 4 (0.8), 2 (0.7)
    scores = np.array([[9, 9, 0.7, 0.1, 0.8]] * 4)
    res = evaluate(fixed_scores(scores), train, test, k=2, metrics=["precision", "recall", "hit_rate"])
    # user idx 0: top-2 = [4, 2], relevant {2} -> P=1/2, R=1; user idx 2 (id 3) trained on 1,2: top-2 = [0, 4], relevant {3} -> 0
    assert res["precision@2"] == pytest.approx((0.5 + 0.0) / 2)
    assert res["recall@2"] == pytest.approx((1.0 + 0.0) / 2)
    assert res["hit_rate@2"] == pytest.approx(0.5)
    per = evaluate(fixed_scores(scores), train, test, k=2, metrics=["recall"], per_user=True)
    assert per.index.tolist() == [0, 2] and per["recall@2"].tolist() == [1.0, 0.0]
    unmasked = evaluate(fixed_scores(scores), train, test, k=2, metrics=["recall"], exclude_seen=False)
    assert unmasked["recall@2"] == 0.0  # the seen items 0 and 1 crowd the list out


@pytest.mark.data
def test_evaluate_agrees_with_per_user_loop(ml100k_split):
    train, test = ml100k_split
    model = RandomRecommender(seed=3).fit(train)
    res = evaluate(model, train, test, k=10, metrics=["ndcg", "recall"], batch_size=100)
    users = np.flatnonzero(np.diff(test.matrix.indptr))
    ndcgs, recalls = [], []
    train_csr, test_csr = train.matrix, test.matrix
    for u in users:  # the slow, obvious way
        s = model.score([u])[0].astype(float)
        s[train_csr[u].indices] = -np.inf
        top = np.argsort(-s, kind="stable")[:10]
        rel = set(test_csr[u].indices)
        ndcgs.append(M.ndcg_at_k(top[None], [rel], 10))
        recalls.append(len(rel & set(top)) / len(rel))
    assert res["ndcg@10"] == pytest.approx(np.mean(ndcgs))
    assert res["recall@10"] == pytest.approx(np.mean(recalls))


@pytest.mark.data
def test_popularity_benchmark_protocol(ml100k_split):
    """Benchmark protocol, ML-100K: popularity NDCG@10 ≈ 0.25, P@10 ≈ 0.23 (an independent run: 0.251 / 0.229)."""
    train, test = ml100k_split
    res = evaluate(Popularity().fit(train), train, test, k=10)
    assert res["ndcg@10"] == pytest.approx(0.251, abs=0.01)
    assert res["precision@10"] == pytest.approx(0.229, abs=0.01)
    rand = evaluate(RandomRecommender(seed=0).fit(train), train, test, k=10)
    assert res["ndcg@10"] > 5 * rand["ndcg@10"]


@pytest.mark.data
def test_beyond_accuracy_and_segments(ml100k_split):
    train, test = ml100k_split
    pop = Popularity().fit(train)
    res = evaluate(pop, train, test, k=10, metrics=["coverage", "gini", "aplt", "arp", "novelty"])
    assert res["aplt@10"] == 0.0 and res["coverage@10"] < 0.05 and res["gini@10"] > 0.95
    seg = evaluate_by_segment(pop, train, test, k=10)
    assert set(seg.index) == {"head", "tail"}
    assert seg.loc["tail", "recall@10"] == 0.0 < seg.loc["head", "recall@10"]  # popularity never reaches the tail
    assert seg["interactions"].sum() == len(test)
    activity = np.where(np.diff(train.matrix.indptr) > 50, "heavy", "light")
    by_user = evaluate_by_segment(pop, train, test, k=10, by="user", segments=activity)
    assert set(by_user.index) == {"heavy", "light"} and by_user["users"].sum() == test.frame.user_idx.nunique()
    with pytest.raises(ValueError, match="by='genre'"):
        evaluate_by_segment(pop, train, test, by="genre")
    with pytest.raises(ValueError, match="shape"):
        evaluate_by_segment(pop, train, test, by="user", segments=activity[:5])


@pytest.mark.data
def test_evaluate_bad_inputs(tiny, ml100k_split, fixed_scores):
    train, test = split_stratified(tiny, 0.5, by="user", seed=0)
    model = Popularity().fit(train)
    with pytest.raises(KeyError, match="unknown metrics"):
        evaluate(model, train, test, metrics=["accuracy"])
    with pytest.raises(ValueError, match="different indexes"):
        evaluate(model, train, ml100k_split[1])
    with pytest.raises(TypeError, match="Interactions"):
        evaluate(model, train, test.frame)
    with pytest.raises(ValueError, match="k=0"):
        evaluate(model, train, test, k=0)
    with pytest.raises(ValueError, match="NaN in the scores"):
        evaluate(fixed_scores(np.full(train.shape, np.nan)), train, test, k=1)
    rnd = RandomRecommender(1).fit(train)
    table = compare({"pop": model, "random": rnd}, train, test, k=2)
    assert list(table.index) == ["pop", "random"]
    for name, m in (("pop", model), ("random", rnd)):  # each row is that model's evaluate()
        pd.testing.assert_series_equal(table.loc[name], evaluate(m, train, test, k=2), check_names=False)


def test_baselines_interface(tiny):
    pop = Popularity()
    with pytest.raises(NotFittedError, match="Popularity is not fitted"):
        pop.score()
    pop.fit(tiny)
    assert pop.score().shape == (4, 5)
    rec = pop.recommend(4, k=2)  # user 4 has seen items 4 and 5; most popular unseen: 2 (3 ratings), then 1 (2)
    assert rec.item_id.tolist() == [2, 1] and rec.title.tolist() == ["Movie B", "Movie A"]
    assert pop.recommend(1, k=10).item_id.tolist() == [4, 5]  # only the unseen items remain
    assert pop.recommend(1, k=2, exclude_seen=False).item_id.tolist() == [2, 1]
    with pytest.raises(KeyError, match="user id 99"):
        pop.recommend(99)
    with pytest.raises(ValueError, match="k=0"):
        pop.recommend(1, k=0)
    with pytest.raises(IndexError, match="user index 7"):
        pop.score([7])
    with pytest.raises(TypeError, match="Interactions"):
        Popularity().fit(tiny.frame)
    a, b = RandomRecommender(5).fit(tiny).score(), RandomRecommender(5).fit(tiny).score()
    np.testing.assert_array_equal(a, b)


def test_recent_popularity_counts_only_the_window(tiny):
    from recsys_lessons.models import RecentPopularity

    # tiny timestamps are seconds; a window of 15 s ending at t=32 keeps t >= 17: items 2,2,3,3,4,5 (t=20..32)
    model = RecentPopularity(days=15 / 86_400).fit(tiny)
    assert model.popularity_.tolist() == [0, 2, 2, 1, 1]
    with pytest.raises(ValueError, match="days=0"):
        RecentPopularity(days=0).fit(tiny)


def test_paired_bootstrap_matches_a_resampling_loop_and_scipy():
    rng = np.random.default_rng(3)
    a = (rng.random(300) < 0.3) * rng.random(300)  # sparse per-user NDCG-like scores
    b = (rng.random(300) < 0.2) * rng.random(300)
    mean, low, high = paired_bootstrap(a, b, n_resamples=4000, confidence=0.9, seed=7)
    # brute force with the same draws: one resample at a time
    draws = np.random.default_rng(7).integers(0, 300, size=(4000, 300))
    loop = np.array([np.mean([a[i] - b[i] for i in row]) for row in draws])
    assert mean == pytest.approx(np.mean(a - b))
    assert (low, high) == pytest.approx(tuple(np.quantile(loop, [0.05, 0.95])))
    # an independent implementation agrees up to resampling noise
    from scipy.stats import bootstrap

    ref = bootstrap((a - b,), np.mean, n_resamples=4000, confidence_level=0.9, method="percentile", random_state=1)
    width = high - low
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.05 * width)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.05 * width)
    assert low < mean < high


def test_paired_bootstrap_constant_difference_and_bad_inputs():
    a = np.array([0.5, 0.2, 0.9, 0.0])
    assert paired_bootstrap(a + 0.25, a) == pytest.approx((0.25, 0.25, 0.25))
    with pytest.raises(ValueError, match=r"shapes \(4,\) and \(3,\)"):
        paired_bootstrap(a, a[:3])
    with pytest.raises(ValueError, match="no users"):
        paired_bootstrap(np.array([]), np.array([]))
    with pytest.raises(ValueError, match="finite"):
        paired_bootstrap(a, np.array([0.1, np.nan, 0.2, 0.3]))
    with pytest.raises(ValueError, match="confidence=1.5"):
        paired_bootstrap(a, a, confidence=1.5)
    with pytest.raises(ValueError, match="n_resamples=0"):
        paired_bootstrap(a, a, n_resamples=0)
