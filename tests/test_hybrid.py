"""Hybrid recommenders: normalisation, weighted, rank fusion, switching, cascade, stacking."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import rankdata
from sklearn.base import clone

import recsys_lessons as rl
from recsys_lessons.models import EASE, GenreProfile, ItemKNN, NotFittedError, Popularity, RandomRecommender, UserKNN
from recsys_lessons.models.hybrid import (
    BordaCount,
    Cascade,
    ReciprocalRankFusion,
    Stacking,
    Switching,
    Weighted,
    best_hybrid,
    normalise_scores,
    rank_positions,
)

SCORES = np.array([[3.0, 1.0, 4.0, 1.0, 5.0], [2.0, 7.0, 1.0, 8.0, 2.0]])
SEEN = sp.csr_matrix(np.array([[0, 0, 0, 0, 1], [1, 0, 0, 0, 0]]))


# -- normalisation --------------------------------------------------------------------------
def test_zscore_matches_a_hand_computation_over_unseen_items():
    got = normalise_scores(SCORES, "zscore", SEEN)
    for row in range(2):
        keep = SEEN[row].toarray().ravel() == 0
        vals = SCORES[row, keep]
        np.testing.assert_allclose(got[row, keep], (vals - vals.mean()) / vals.std())
        assert got[row, ~keep] == got[row, keep].min()  # a seen item never outranks an unseen one


def test_minmax_and_rank_match_references():
    mm = normalise_scores(SCORES, "minmax")
    np.testing.assert_allclose(mm, (SCORES - SCORES.min(1, keepdims=True)) / np.ptp(SCORES, axis=1, keepdims=True))
    rk = normalise_scores(SCORES, "rank")
    np.testing.assert_allclose(rk, (rankdata(SCORES, axis=1) - 1) / (SCORES.shape[1] - 1))
    np.testing.assert_array_equal(normalise_scores(SCORES, "none"), SCORES)


def test_normalise_treats_minus_inf_as_last_and_constant_rows_as_zero():
    s = np.array([[1.0, -np.inf, 3.0], [2.0, 2.0, 2.0]])
    z = normalise_scores(s, "zscore")
    np.testing.assert_allclose(z[0, [0, 2]], [-1.0, 1.0])
    assert z[0, 1] == -1.0 and np.isfinite(z).all()
    np.testing.assert_array_equal(z[1], 0.0)
    np.testing.assert_allclose(normalise_scores(s, "rank")[0], [0.0, 0.0, 1.0])


def test_normalise_rejects_bad_input():
    with pytest.raises(ValueError, match="method='softmax'"):
        normalise_scores(SCORES, "softmax")
    with pytest.raises(ValueError, match="NaN"):
        normalise_scores(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="exclude has shape"):
        normalise_scores(SCORES, "zscore", sp.csr_matrix((1, 5)))


def test_rank_positions_match_a_sort():
    pos = rank_positions(SCORES)
    for row in range(2):
        order = np.lexsort((np.arange(5), -SCORES[row]))  # descending, ties by index
        np.testing.assert_array_equal(pos[row, order], np.arange(1, 6))
    assert rank_positions(SCORES, SEEN)[0, 4] == 5  # a seen item is last


# -- weighted -------------------------------------------------------------------------------
def test_weighted_is_the_weighted_sum_of_zscores_and_clones_its_models(tiny):
    pop, knn = Popularity(), ItemKNN(k=None, shrink=0.0)
    hybrid = Weighted([("pop", pop), ("knn", knn)], weights=[0.3, 1.0]).fit(tiny)
    assert getattr(pop, "train_", None) is None and getattr(knn, "train_", None) is None  # callers untouched
    seen = tiny.matrix
    expected = 0.3 * normalise_scores(Popularity().fit(tiny).score(), "zscore", seen) + normalise_scores(
        ItemKNN(k=None, shrink=0.0).fit(tiny).score(), "zscore", seen
    )
    np.testing.assert_allclose(hybrid.score(), expected, rtol=1e-5, atol=1e-6)


def test_weighted_with_one_model_keeps_its_ranking(ml100k_split):
    train, test = ml100k_split
    alone = rl.evaluate(EASE().fit(train), train, test, 10, ("ndcg",))["ndcg@10"]
    wrapped = rl.evaluate(Weighted([("ease", EASE())]).fit(train), train, test, 10, ("ndcg",))["ndcg@10"]
    assert wrapped == pytest.approx(alone, abs=1e-4)


def test_hybrids_compose(tiny):
    inner = Weighted([("pop", Popularity()), ("knn", ItemKNN(k=None, shrink=0.0))])
    outer = ReciprocalRankFusion([("inner", inner), ("user", UserKNN(k=None, shrink=0.0))]).fit(tiny)
    assert outer.named_estimators_["inner"].train_ is tiny
    assert inner.__dict__.get("train_") is None
    assert np.isfinite(outer.score()).all()
    np.testing.assert_allclose(clone(outer, safe=False).fit(tiny).score(), outer.score())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(estimators=[("a", Popularity())], weights=[1, 2]), ValueError, "2 weights for 1 models"),
        (dict(estimators=[("a", Popularity())], norm="softmax"), ValueError, "norm='softmax'"),
        (dict(estimators=[("a", Popularity()), ("a", EASE())]), ValueError, "unique"),
        (dict(estimators=[("a", "EASE")]), TypeError, "expected a Recommender"),
        (dict(estimators=[Popularity()]), TypeError, r"\(name, model\) pair"),
        (dict(estimators=[]), ValueError, "at least 1"),
    ],
)
def test_weighted_rejects_bad_parameters_in_fit(tiny, kwargs, error, match):
    model = Weighted(**kwargs)  # construction never validates (scikit-learn convention)
    with pytest.raises(error, match=match):
        model.fit(tiny)


def test_unfitted_hybrid_raises_not_fitted():
    with pytest.raises(NotFittedError):
        Weighted([("pop", Popularity())]).score([0])


# -- rank fusion ----------------------------------------------------------------------------
def test_rrf_and_borda_match_hand_computations(tiny):
    a, b = Popularity().fit(tiny), ItemKNN(k=None, shrink=0.0).fit(tiny)
    seen = tiny.matrix
    pa, pb = rank_positions(a.score(), seen), rank_positions(b.score(), seen)
    rrf = ReciprocalRankFusion([("a", Popularity()), ("b", ItemKNN(k=None, shrink=0.0))], weights=[1.0, 2.0], k=10).fit(tiny)
    np.testing.assert_allclose(rrf.score(), 1.0 / (10 + pa) + 2.0 / (10 + pb), rtol=1e-6)
    borda = BordaCount([("a", Popularity()), ("b", ItemKNN(k=None, shrink=0.0))]).fit(tiny)
    np.testing.assert_allclose(borda.score(), (5 - pa) + (5 - pb))


def test_rrf_rejects_negative_k(tiny):
    with pytest.raises(ValueError, match="k=-1"):
        ReciprocalRankFusion([("a", Popularity())], k=-1).fit(tiny)


# -- switching ------------------------------------------------------------------------------
def test_switching_gives_cold_users_the_content_ranking(tiny):
    # Users 1 and 3 have 3 training ratings, users 2 and 4 have 2: with min_user_ratings=3 the latter are cold.
    sw = Switching(GenreProfile(), ItemKNN(k=None, shrink=0.0), min_user_ratings=3, min_item_ratings=0).fit(tiny)
    content, cf = GenreProfile().fit(tiny), ItemKNN(k=None, shrink=0.0).fit(tiny)
    np.testing.assert_array_equal(sw.cold_users_, [False, True, False, True])
    for u in range(4):
        ref = content if sw.cold_users_[u] else cf
        expected = rl.top_k(ref.score([u]), 2, exclude=tiny.matrix[[u]])
        np.testing.assert_array_equal(rl.top_k(sw.score([u]), 2, exclude=tiny.matrix[[u]]), expected)


def test_switching_scores_cold_items_with_content(ml100k):
    train, test = rl.split_cold_items(ml100k, 0.2, seed=0)
    sw = Switching(GenreProfile(), EASE(), min_item_ratings=1).fit(train)
    assert sw.cold_items_.sum() == (train.item_popularity() == 0).sum() > 0
    top = rl.top_k(sw.score(np.arange(50)), 10, exclude=train.matrix[:50])
    # EASE alone can never recommend an unrated item; the switch puts some into the lists.
    assert sw.cold_items_[top].any() and not sw.cold_items_[rl.top_k(EASE().fit(train).score(np.arange(50)), 10, exclude=train.matrix[:50])].any()


def test_switching_rejects_negative_thresholds(tiny):
    with pytest.raises(ValueError, match="min_user_ratings=-1"):
        Switching(GenreProfile(), EASE(), min_user_ratings=-1).fit(tiny)


# -- cascade --------------------------------------------------------------------------------
def test_cascade_reorders_only_the_first_stage_candidates(ml100k_split):
    train, _ = ml100k_split
    cascade = Cascade(EASE(), ItemKNN(), n_candidates=20).fit(train)
    users = np.arange(30)
    s = cascade.score(users)
    cand = rl.top_k(EASE().fit(train).score(users), 20, exclude=train.matrix[users])
    assert (np.isfinite(s).sum(1) == 20).all()
    np.testing.assert_array_equal(np.sort(np.flatnonzero(np.isfinite(s[0]))), np.sort(cand[0]))
    knn = np.take_along_axis(ItemKNN().fit(train).score(users), cand, axis=1)
    expected = np.take_along_axis(cand, np.lexsort((np.broadcast_to(np.arange(20), knn.shape), -knn), axis=1), axis=1)
    np.testing.assert_array_equal(rl.top_k(s, 20), expected)
    assert cascade.pairs_scored_ == 30 * 20


def test_cascade_keeps_the_first_order_among_second_stage_ties(tiny):
    class Constant(Popularity):
        def _score(self, users):
            return np.zeros((len(users), self.train_.n_items))

    cascade = Cascade(ItemKNN(k=None, shrink=0.0), Constant(), n_candidates=3).fit(tiny)
    first = rl.top_k(ItemKNN(k=None, shrink=0.0).fit(tiny).score([0]), 2, exclude=tiny.matrix[[0]])
    np.testing.assert_array_equal(rl.top_k(cascade.score([0]), 2), first)


def test_cascade_rejects_bad_n_candidates(tiny):
    with pytest.raises(ValueError, match="n_candidates=0"):
        Cascade(EASE(), Popularity(), n_candidates=0).fit(tiny)


# -- stacking -------------------------------------------------------------------------------
def test_stacking_learns_on_its_own_validation_split_and_beats_popularity(ml100k_split):
    train, test = ml100k_split
    members = [("item-kNN", ItemKNN(k=100)), ("popularity", Popularity())]
    stack = Stacking(members, n_candidates=30).fit(train)
    assert stack.estimators_[0][1].train_ is train  # refitted on everything after blending
    assert stack.blender_.coef_.shape == (1, len(stack.feature_names_)) == (1, 2 * 2 + 2)
    assert stack.valid_positives_ > 0 and stack.valid_rows_ > stack.valid_positives_
    res = rl.evaluate(stack, train, test, 10, ("ndcg",))["ndcg@10"]
    pop = rl.evaluate(Popularity().fit(train), train, test, 10, ("ndcg",))["ndcg@10"]
    assert res > pop
    # The same unfitted object, fitted twice, gives the same model (seeded split, deterministic blender).
    np.testing.assert_allclose(clone(stack, safe=False).fit(train).score([0, 1]), stack.score([0, 1]))


def test_stacking_mlp_blender_trains_with_bce(ml100k_split):
    train, test = ml100k_split
    stack = Stacking([("item-kNN", ItemKNN(k=100)), ("popularity", Popularity())], blender="mlp", n_candidates=20, epochs=1).fit(train)
    res = rl.evaluate(stack, train, test, 10, ("ndcg",))["ndcg@10"]
    assert res > rl.evaluate(RandomRecommender().fit(train), train, test, 10, ("ndcg",))["ndcg@10"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [(dict(blender="forest"), "blender='forest'"), (dict(n_candidates=0), "n_candidates=0"), (dict(valid_share=1.0), "valid_share=1.0")],
)
def test_stacking_rejects_bad_parameters(tiny, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Stacking([("pop", Popularity())], **kwargs).fit(tiny)


def test_best_hybrid_is_unfitted_and_clonable():
    model = best_hybrid()
    assert isinstance(model, Stacking) and not hasattr(model, "estimators_")
    twin = clone(model, safe=False)
    assert [n for n, _ in twin.estimators] == [n for n, _ in model.estimators]
