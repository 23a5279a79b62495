"""The hand-written ranking metrics against ranx on real lists (EASE on the benchmark split)."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_lessons import metrics as M
from recsys_lessons.evaluation import rank_users
from recsys_lessons.models import EASE

ranx = pytest.importorskip("ranx")

K = 10


@pytest.fixture(scope="module")
def lists(ml100k_split):
    train, test = ml100k_split
    users = np.flatnonzero(np.diff(test.matrix.indptr))[:300]
    ranked = rank_users(EASE().fit(train), users, K, train.matrix)  # (300, 10)
    return ranked, test.matrix[users]


def _ranx_per_user(ranked, relevant, metric: str) -> np.ndarray:
    qrels = ranx.Qrels({f"u{u}": {f"i{i}": 1 for i in relevant[u].indices} for u in range(len(ranked))})
    # descending scores in list order: ranx sees exactly our ranking
    run = ranx.Run({f"u{u}": {f"i{i}": float(K - r) for r, i in enumerate(ranked[u])} for u in range(len(ranked))})
    ranx.evaluate(qrels, run, metric, make_comparable=True)
    scores = run.scores[metric]
    return np.array([scores[f"u{u}"] for u in range(len(ranked))])


@pytest.mark.data
@pytest.mark.parametrize(
    "ours,theirs",
    [
        (M.precision_at_k, "precision"),
        (M.recall_at_k, "recall"),
        (M.ndcg_at_k, "ndcg"),
        (M.mrr_at_k, "mrr"),
        (M.hit_rate_at_k, "hit_rate"),
    ],
)
def test_ranking_metrics_match_ranx_per_user(lists, ours, theirs):
    ranked, relevant = lists
    np.testing.assert_allclose(ours(ranked, relevant, K, per_user=True), _ranx_per_user(ranked, relevant, f"{theirs}@{K}"), atol=1e-9)


@pytest.mark.data
def test_map_matches_ranx_up_to_the_documented_normaliser(lists):
    """ranx divides AP by |R_u|; ours by min(|R_u|, k): rescaled, the two are the same."""
    ranked, relevant = lists
    n_rel = np.diff(relevant.indptr)
    ours = M.mean_average_precision(ranked, relevant, K, per_user=True)
    theirs = _ranx_per_user(ranked, relevant, f"map@{K}")
    np.testing.assert_allclose(ours * np.minimum(n_rel, K) / n_rel, theirs, atol=1e-9)
    assert (n_rel > K).any() and (n_rel <= K).any()  # both cases are exercised
