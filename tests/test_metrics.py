"""Metrics against hand-worked examples and a brute-force per-user loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_lessons import metrics as M

# One worked example, by hand:
#   user 0 ranks [3, 1, 4, 0, 2], relevant {1, 2}    -> hits at ranks 2 and 5
#   user 1 ranks [0, 2, 1, 3, 4], relevant {0}       -> hit at rank 1
RANKED = np.array([[3, 1, 4, 0, 2], [0, 2, 1, 3, 4]])
RELEVANT = [{1, 2}, {0}]


def test_precision_recall_by_hand():
    assert M.precision_at_k(RANKED, RELEVANT, 5, per_user=True).tolist() == [2 / 5, 1 / 5]
    assert M.precision_at_k(RANKED, RELEVANT, 2) == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert M.recall_at_k(RANKED, RELEVANT, 2, per_user=True).tolist() == [1 / 2, 1.0]
    assert M.recall_at_k(RANKED, RELEVANT, 5) == pytest.approx(1.0)


def test_ndcg_by_hand():
    # user 0, k=5: DCG = 1/log2(3) + 1/log2(6); IDCG = 1 + 1/log2(3)
    u0 = (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    np.testing.assert_allclose(M.ndcg_at_k(RANKED, RELEVANT, 5, per_user=True), [u0, 1.0])
    # k=1: user 0 misses, user 1 hits
    assert M.ndcg_at_k(RANKED, RELEVANT, 1) == pytest.approx(0.5)


def test_map_mrr_hit_rate_by_hand():
    # user 0, k=5: precisions at the hits 1/2 and 2/5, divided by min(|R|, k) = 2
    np.testing.assert_allclose(M.mean_average_precision(RANKED, RELEVANT, 5, per_user=True), [(1 / 2 + 2 / 5) / 2, 1.0])
    # k=3: only the hit at rank 2 counts, AP = (1/2) / min(2, 3)
    assert M.mean_average_precision(RANKED, RELEVANT, 3, per_user=True)[0] == pytest.approx(0.25)
    np.testing.assert_allclose(M.mrr_at_k(RANKED, RELEVANT, 5, per_user=True), [1 / 2, 1.0])
    np.testing.assert_allclose(M.mrr_at_k(RANKED, RELEVANT, 1, per_user=True), [0.0, 1.0])
    np.testing.assert_allclose(M.hit_rate_at_k(RANKED, RELEVANT, 1, per_user=True), [0.0, 1.0])


def _brute_force(ranked, rel_sets, k):
    """Textbook per-user loops, written independently of the vectorised code."""
    out = {"p": [], "r": [], "ndcg": [], "ap": [], "rr": [], "hr": []}
    for row, rel in zip(ranked, rel_sets):
        top = list(row[:k])
        hits = [1 if i in rel else 0 for i in top]
        out["p"].append(sum(hits) / k)
        out["r"].append(sum(hits) / len(rel))
        dcg = sum(h / math.log2(pos + 2) for pos, h in enumerate(hits))
        idcg = sum(1 / math.log2(pos + 2) for pos in range(min(len(rel), k)))
        out["ndcg"].append(dcg / idcg)
        ap, seen = 0.0, 0
        for pos, h in enumerate(hits):
            if h:
                seen += 1
                ap += seen / (pos + 1)
        out["ap"].append(ap / min(len(rel), k))
        out["rr"].append(next((1 / (pos + 1) for pos, h in enumerate(hits) if h), 0.0))
        out["hr"].append(float(any(hits)))
    return {key: np.array(v) for key, v in out.items()}


@pytest.mark.parametrize("k", [1, 5, 10, 20])
def test_vectorised_metrics_match_brute_force(k):
    rng = np.random.default_rng(k)
    n_users, n_items = 60, 40
    ranked = np.stack([rng.permutation(n_items) for _ in range(n_users)])
    dense = (rng.random((n_users, n_items)) < 0.15).astype(np.float32)
    dense[np.arange(n_users), rng.integers(0, n_items, n_users)] = 1.0  # nobody has an empty set
    sets = [set(np.flatnonzero(r)) for r in dense]
    ref = _brute_force(ranked, sets, k)
    for relevant in (sp.csr_matrix(dense), dense, sets):
        np.testing.assert_allclose(M.precision_at_k(ranked, relevant, k, per_user=True), ref["p"])
        np.testing.assert_allclose(M.recall_at_k(ranked, relevant, k, per_user=True), ref["r"])
        np.testing.assert_allclose(M.ndcg_at_k(ranked, relevant, k, per_user=True), ref["ndcg"])
        np.testing.assert_allclose(M.mean_average_precision(ranked, relevant, k, per_user=True), ref["ap"])
        np.testing.assert_allclose(M.mrr_at_k(ranked, relevant, k, per_user=True), ref["rr"])
        np.testing.assert_allclose(M.hit_rate_at_k(ranked, relevant, k, per_user=True), ref["hr"])
    assert M.ndcg_at_k(ranked, sets, k) == pytest.approx(ref["ndcg"].mean())


def test_ranking_bad_inputs():
    with pytest.raises(ValueError, match="k=0"):
        M.precision_at_k(RANKED, RELEVANT, 0)
    with pytest.raises(ValueError, match="k=-3"):
        M.ndcg_at_k(RANKED, RELEVANT, -3)
    with pytest.raises(TypeError, match="k must be an int"):
        M.recall_at_k(RANKED, RELEVANT, 2.5)
    with pytest.raises(ValueError, match="fewer than k=6"):
        M.precision_at_k(RANKED, RELEVANT, 6)
    with pytest.raises(ValueError, match="2 users but relevant has 1"):
        M.precision_at_k(RANKED, RELEVANT[:1], 2)
    with pytest.raises(ValueError, match="user row 1 has no relevant items"):
        M.recall_at_k(RANKED, [{1}, set()], 2)
    with pytest.raises(ValueError, match="user row 0 has no relevant items"):
        M.ndcg_at_k(RANKED, sp.csr_matrix((2, 5)), 2)
    with pytest.raises(ValueError, match="outside 0..3"):
        M.precision_at_k(RANKED, np.ones((2, 4)), 5)
    with pytest.raises(TypeError, match="integer item indices"):
        M.precision_at_k(RANKED.astype(float), RELEVANT, 2)
    with pytest.raises(ValueError, match="2-D"):
        M.precision_at_k(RANKED[0], RELEVANT, 2)


def test_rmse_mae():
    y, p = np.array([4.0, 3.0, 5.0, 1.0]), np.array([3.5, 3.0, 4.0, 2.0])
    assert M.rmse(y, p) == pytest.approx(math.sqrt((0.25 + 0 + 1 + 1) / 4))
    assert M.mae(y, p) == pytest.approx((0.5 + 0 + 1 + 1) / 4)
    with pytest.raises(ValueError, match="4 values but y_pred has 3"):
        M.rmse(y, p[:3])
    with pytest.raises(ValueError, match="empty"):
        M.mae([], [])
    with pytest.raises(ValueError, match="NaN"):
        M.rmse(y, np.array([np.nan, 1, 2, 3]))


def test_coverage_and_gini_by_hand():
    ranked = np.array([[0, 1], [0, 1]])
    assert M.catalogue_coverage(ranked, 4) == 0.5
    # counts sorted: [0, 0, 2, 2]; G = ((−3)·0 + (−1)·0 + 1·2 + 3·2) / (4 · 4) = 0.5
    assert M.gini_exposure(ranked, 4) == pytest.approx(0.5)
    assert M.gini_exposure(np.array([[0, 1], [2, 3]]), 4) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="outside 0..3"):
        M.catalogue_coverage(np.array([[0, 4]]), 4)


def test_head_items_arp_aplt_novelty_by_hand():
    pop = np.array([50, 30, 10, 5, 5])  # total 100; 80% reached after items 0 and 1
    np.testing.assert_array_equal(M.head_items(pop, 0.8), [True, True, False, False, False])
    np.testing.assert_array_equal(M.head_items(pop, 0.5), [True, False, False, False, False])
    ranked = np.array([[0, 2], [3, 4]])
    assert M.arp(ranked, pop) == pytest.approx(((50 + 10) / 2 + (5 + 5) / 2) / 2)
    assert M.aplt(ranked, pop, 0.8) == pytest.approx((0.5 + 1.0) / 2)
    # novelty with 100 users: -log2(p) for p = 0.5, 0.1, 0.05, 0.05
    expected = ((1 + -math.log2(0.1)) / 2 + (-math.log2(0.05) * 2) / 2) / 2
    assert M.novelty(ranked, pop, n_users=100) == pytest.approx(expected)
    with pytest.raises(ValueError, match="share=0"):
        M.head_items(pop, 0)
    with pytest.raises(ValueError, match="exceeds n_users=10"):
        M.novelty(ranked, pop, n_users=10)
    with pytest.raises(ValueError, match="non-negative"):
        M.arp(ranked, np.array([1, -1, 0, 0, 0]))


def test_intra_list_similarity_by_hand():
    feats = np.array([[1, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    # list [0, 1]: identical vectors -> 1; list [0, 2]: orthogonal -> 0
    np.testing.assert_allclose(M.intra_list_similarity(np.array([[0, 1], [0, 2]]), feats, per_user=True), [1.0, 0.0])
    # list [0, 2, 3]: pairs (0,2)=0, (0,3)=1/√2, (2,3)=1/√2 -> mean √2/3
    assert M.intra_list_similarity(np.array([[0, 2, 3]]), sp.csr_matrix(feats)) == pytest.approx(math.sqrt(2) / 3)
    with pytest.raises(ValueError, match="at least 2"):
        M.intra_list_similarity(np.array([[0]]), feats)
