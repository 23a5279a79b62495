"""User/item kNN and the last-item baseline against brute-force loops on a hand-made matrix."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_lessons.data import split_last_item
from recsys_lessons.evaluation import evaluate
from recsys_lessons.models import ItemKNN, LastItemKNN, NotFittedError, Popularity, UserKNN
from recsys_lessons.models.neighbors import cosine_similarity, keep_top_k


def _cos(a: np.ndarray, b: np.ndarray, shrink: float) -> float:
    denom = np.sqrt(a @ a) * np.sqrt(b @ b) + shrink
    return float(a @ b / denom) if denom > 0 else 0.0


def _top_k_neighbours(sim_row: np.ndarray, self_idx: int, k: int | None) -> list[int]:
    """Brute force: the k largest similarities of one row (ties -> lower index), self excluded."""
    cands = [j for j in range(len(sim_row)) if j != self_idx]
    cands.sort(key=lambda j: (-sim_row[j], j))
    return cands if k is None else cands[:k]


def _brute_item_knn(x: np.ndarray, k: int | None, shrink: float) -> np.ndarray:
    n_users, n_items = x.shape
    sim = np.array([[_cos(x[:, a], x[:, b], shrink) if a != b else 0.0 for b in range(n_items)] for a in range(n_items)])
    scores = np.zeros((n_users, n_items))
    for u in range(n_users):
        for j in range(n_items):
            scores[u, j] = sum(x[u, i] * sim[i, j] for i in _top_k_neighbours(sim[j], j, k))
    return scores


def _brute_user_knn(x: np.ndarray, k: int | None, shrink: float) -> np.ndarray:
    n_users, n_items = x.shape
    sim = np.array([[_cos(x[a], x[b], shrink) if a != b else 0.0 for b in range(n_users)] for a in range(n_users)])
    scores = np.zeros((n_users, n_items))
    for u in range(n_users):
        for v in _top_k_neighbours(sim[u], u, k):
            scores[u] += sim[u, v] * x[v]
    return scores


@pytest.mark.parametrize("k,shrink", [(None, 0.0), (2, 0.0), (1, 3.0), (3, 1.5)])
def test_item_knn_matches_brute_force(tiny, k, shrink):
    for implicit in (True, False):
        x = (tiny.binary() if implicit else tiny.matrix).toarray().astype(np.float64)
        model = ItemKNN(k=k, shrink=shrink, implicit=implicit).fit(tiny)
        np.testing.assert_allclose(model.score(), _brute_item_knn(x, k, shrink), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("k,shrink", [(None, 0.0), (1, 0.0), (2, 2.0)])
def test_user_knn_matches_brute_force(tiny, k, shrink):
    for implicit in (True, False):
        x = (tiny.binary() if implicit else tiny.matrix).toarray().astype(np.float64)
        model = UserKNN(k=k, shrink=shrink, implicit=implicit).fit(tiny)
        np.testing.assert_allclose(model.score(), _brute_user_knn(x, k, shrink), rtol=1e-5, atol=1e-6)


def test_cosine_hand_computed(tiny):
    sim = cosine_similarity(tiny.binary().T, shrink=0.0)
    # Items A and B (indices 0, 1) are co-rated by users 1 and 2; A by {1,2}, B by {1,2,3}.
    assert sim[0, 1] == pytest.approx(2 / np.sqrt(2 * 3))
    # With shrinkage the same pair: 2 / (sqrt(6) + 1).
    assert cosine_similarity(tiny.binary().T, shrink=1.0)[0, 1] == pytest.approx(2 / (np.sqrt(6) + 1))
    assert np.all(np.diag(sim) == 0)
    np.testing.assert_allclose(sim, sim.T)


def test_keep_top_k_breaks_ties_towards_lower_index():
    sim = np.array([[0.0, 0.5, 0.5, 0.2]], dtype=np.float32)
    np.testing.assert_array_equal(keep_top_k(sim, 1), [[0.0, 0.5, 0.0, 0.0]])
    np.testing.assert_array_equal(keep_top_k(sim, None), sim)


def test_last_item_knn_uses_latest_training_item(tiny):
    model = LastItemKNN(shrink=0.0).fit(tiny)
    sim = cosine_similarity(tiny.binary().T, 0.0)
    # Latest timestamps: user 1 -> item 3 (C), user 2 -> B, user 3 -> D, user 4 -> E.
    np.testing.assert_array_equal(model.last_item_, [2, 1, 3, 4])
    np.testing.assert_allclose(model.score(), sim[[2, 1, 3, 4]])
    # User 1's last item is C; C's similarities: A 1/2, B 2/sqrt(6), D 1/2, E 0. Unseen: D, E.
    rec = model.recommend(1, k=2)
    assert list(rec.item_id) == [4, 5]
    assert rec.score.iloc[0] == pytest.approx(0.5)


def test_last_item_knn_user_without_history_scores_zero(tiny):
    train = tiny.subset(tiny.frame.user_id.to_numpy() != 2)
    model = LastItemKNN().fit(train)
    assert model.last_item_[1] == -1
    np.testing.assert_array_equal(model.score([1]), np.zeros((1, 5)))


@pytest.mark.parametrize("cls", [ItemKNN, UserKNN])
def test_bad_knn_parameters(cls, tiny):
    with pytest.raises(ValueError, match="k=0"):
        cls(k=0).fit(tiny)
    with pytest.raises(ValueError, match="shrink=-1"):
        cls(shrink=-1).fit(tiny)
    with pytest.raises(TypeError, match="shrink='10'"):
        cls(shrink="10").fit(tiny)
    with pytest.raises(TypeError, match="k=True"):
        cls(k=True).fit(tiny)
    with pytest.raises(NotFittedError):
        cls().recommend(1)


def test_recommend_unknown_user_raises_key_error(tiny):
    with pytest.raises(KeyError, match="999"):
        ItemKNN(k=2).fit(tiny).recommend(999)


@pytest.mark.data
@pytest.mark.parametrize("model", [ItemKNN(), UserKNN()])
def test_knn_beats_popularity_on_benchmark_split(ml100k_split, model):
    train, test = ml100k_split
    got = evaluate(model.fit(train), train, test, 10, metrics=("ndcg",))["ndcg@10"]
    pop = evaluate(Popularity().fit(train), train, test, 10, metrics=("ndcg",))["ndcg@10"]
    assert got > pop + 0.1


@pytest.mark.data
def test_last_item_knn_beats_popularity_on_leave_last_out(ml100k):
    train, test = split_last_item(ml100k)
    got = evaluate(LastItemKNN().fit(train), train, test, 10, metrics=("hit_rate",))["hit_rate@10"]
    pop = evaluate(Popularity().fit(train), train, test, 10, metrics=("hit_rate",))["hit_rate@10"]
    assert got > 2 * pop
