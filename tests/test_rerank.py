"""Re-rankers: hand-worked lists, the score-order contract, cloning, errors, the ML-100K headline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import recsys_lessons as rl
from recsys_lessons.data import Interactions
from recsys_lessons.evaluation import top_k
from recsys_lessons.models import EASE, NotFittedError, Popularity
from recsys_lessons.models.base import Recommender
from recsys_lessons.models.rerank import (
    CalibratedReranker,
    ExposureAware,
    PopularityPenalty,
    TextTailBlend,
    XQuAD,
    calibration_kl,
    genre_distribution,
    serve_in_turn,
)


class FixedModel(Recommender):
    """A recommender whose scores are given (cloned like any model)."""

    name = "fixed"

    def __init__(self, scores=None):
        self.scores = scores

    def fit(self, train):
        self.train_ = self._check_train(train)
        return self

    def _score(self, users):
        return np.asarray(self.scores, dtype=np.float64)[users]


def _world(pairs, n_users, n_items, genres=None):
    frame = pd.DataFrame({"user_id": [u for u, _ in pairs], "item_id": [i for _, i in pairs],
                          "rating": np.ones(len(pairs), np.float32), "timestamp": np.arange(len(pairs))})
    items = None
    if genres is not None:
        items = pd.DataFrame({"item_id": np.arange(n_items), "title": [f"I{i}" for i in range(n_items)], "genres": genres})
    return Interactions(frame, np.arange(n_users), np.arange(n_items), items)


@pytest.fixture
def five():
    """2 users x 6 items; item 0 seen by both (popularity [2, 1, 1, 0, 0, 0] after the fillers)."""
    # u0 saw item 0; u1 saw items 0 and 1; item 2 has one rating from u1 too.
    return _world([(0, 0), (1, 0), (1, 1), (1, 2)], 2, 6)


def test_popularity_penalty_by_hand(five):
    scores = np.array([[9.0, 5.0, 4.0, 3.0, 1.0, 0.0], [9.0, 9.0, 9.0, 2.0, 1.0, 0.0]])
    # u0 candidates (item 0 seen): 1, 2, 3, 4, 5 with scaled scores 1, .8, .6, .2, 0.
    # popularity [2, 1, 1, 0, 0, 0] -> penalty log(1+p)/log(3) = [1, .631, .631, 0, 0, 0].
    m = PopularityPenalty(FixedModel(scores), alpha=0.5, n_candidates=5).fit(five)
    ranked = top_k(m.score([0]), 5, exclude=five.matrix[[0]])
    # new: item1 1 - .315 = .685, item2 .8 - .315 = .485, item3 .6, item4 .2, item5 0
    assert ranked.tolist() == [[1, 3, 2, 4, 5]]
    zero = PopularityPenalty(FixedModel(scores), alpha=0.0, n_candidates=5).fit(five)
    base = FixedModel(scores).fit(five)
    np.testing.assert_array_equal(top_k(zero.score(), 3, exclude=five.matrix), top_k(base.score(), 3, exclude=five.matrix))


def test_scores_put_the_reranked_candidates_first_then_the_base_order(five):
    scores = np.array([[9.0, 5.0, 4.0, 3.0, 1.0, 0.5], [9.0, 9.0, 9.0, 2.0, 1.0, 0.0]])
    m = PopularityPenalty(FixedModel(scores), alpha=10.0, n_candidates=2).fit(five)
    s = m.score([0])[0]
    # candidates {1, 2} (both popularity 1: tie -> base order), then 3, 4, 5 in base order, seen item 0 too
    assert np.argsort(-s, kind="stable")[:5].tolist() == [1, 2, 0, 3, 4]
    assert s[[1, 2]].min() > s[[0, 3, 4, 5]].max()


def test_xquad_by_hand():
    # 1 user who saw items 0 (head) and 5 (tail): P(T|u) = 1/2. head(0.8) of popularity
    # [3, 2, 0, 0, 0, 1] -> items 0, 1 (5 of 6 >= 4.8).
    train = _world([(0, 0), (0, 5), (1, 0), (1, 1), (2, 0), (2, 1)], 3, 6)
    scores = np.zeros((3, 6))
    scores[0] = [0, 1.0, 0.9, 0.2, 0.0, 0]  # candidates 1 (head), 2, 3, 4 (tail); scaled = raw here
    m = XQuAD(FixedModel(scores), lam=0.5, k=3, n_candidates=4).fit(train)
    np.testing.assert_allclose(m.tail_share_, [0.5, 0.0, 0.0])
    # step 1: gain = .5 s + .5 * .5 * 1 -> item 1 (.75) beats item 2 (.70)
    # step 2: S = {head}: head novelty 0, tail novelty 1 -> item 2: .45 + .25 = .70 > ...
    # step 3: S = {head, tail}: both novelty 1/2 -> item 3: .1 + .125 = .225 > item 4: .125
    ranked = top_k(m.score([0]), 3, exclude=train.matrix[[0]])
    assert ranked.tolist() == [[1, 2, 3]]
    greedy_tail = XQuAD(FixedModel(scores), lam=1.0, k=2, n_candidates=4).fit(train)
    # lam = 1: relevance ignored; first pick any (ties -> best base: 1), then the other aspect (2)
    assert top_k(greedy_tail.score([0]), 2, exclude=train.matrix[[0]]).tolist() == [[1, 2]]


def test_genre_distribution_and_kl_by_hand():
    g = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 0]]))
    w = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 2]]))
    mix = genre_distribution(g, w)
    np.testing.assert_allclose(mix, [[0.75, 0.25], [0.0, 0.0]])  # (1 + .5) / 2, (0 + .5) / 2
    p, q = np.array([0.75, 0.25]), np.array([1.0, 0.0])
    q_s = 0.99 * q + 0.01 * p
    assert calibration_kl(p, q) == pytest.approx(0.75 * np.log(0.75 / q_s[0]) + 0.25 * np.log(0.25 / q_s[1]))
    assert calibration_kl(p, p) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="smoothing"):
        calibration_kl(p, q, smoothing=0.0)


def test_calibrated_reranker_restores_the_genre_mix():
    genres = [["A"], ["A"], ["B"], ["A"], ["A"], ["B"]]
    train = _world([(0, 0), (0, 2), (1, 0), (1, 1)], 2, 6, genres)  # user 0: half A, half B
    scores = np.zeros((2, 6))
    scores[0] = [0, 1.0, 0.0, 0.95, 0.9, 0.5]  # the base model would give u0 only A films
    base_top = top_k(FixedModel(scores).fit(train).score([0]), 2, exclude=train.matrix[[0]])
    assert base_top.tolist() == [[1, 3]]
    m = CalibratedReranker(FixedModel(scores), lam=0.5, k=2, n_candidates=4).fit(train)
    np.testing.assert_allclose(m.user_mix_[0], [0.5, 0.5])
    assert top_k(m.score([0]), 2, exclude=train.matrix[[0]]).tolist() == [[1, 5]]  # one A, one B
    plain = CalibratedReranker(FixedModel(scores), lam=0.0, k=2, n_candidates=4).fit(train)
    assert top_k(plain.score([0]), 2, exclude=train.matrix[[0]]).tolist() == [[1, 3]]


def test_calibrated_needs_genres(five):
    with pytest.raises(ValueError, match="genres"):
        CalibratedReranker(FixedModel(np.zeros((2, 6)))).fit(five)


def test_serve_in_turn_by_hand():
    relevance = np.array([[1.0, 0.9, 0.85], [1.0, 0.9, 0.85], [1.0, 0.5, 0.4]])
    cands = np.array([[0, 1, 2], [0, 1, 2], [0, 1, 2]])
    order, counts = serve_in_turn(relevance, cands, beta=0.2, k=1, n_items=3)
    # u0 takes 0; u1: 1 - .2 log 2 = .861 < .9 -> takes 1; u2: 1 - .139 = .861 > .5 -> takes 0
    assert order[:, 0].tolist() == [0, 1, 0]
    assert counts.tolist() == [2, 1, 0]
    assert order[1].tolist() == [1, 0, 2]  # the rest in base order


def test_exposure_aware_is_consistent_and_spreads_exposure():
    rng = np.random.default_rng(0)
    train = _world([(u, 0) for u in range(6)], 6, 12)
    scores = rng.random((6, 12)) * 0.1 + np.linspace(1, 0, 12)[None, :]  # everyone likes item 1, 2, ...
    m = ExposureAware(FixedModel(scores), beta=0.5, k=2, n_candidates=8).fit(train)
    full = m.score()
    for u in (0, 3, 5):
        np.testing.assert_array_equal(m.score([u])[0], full[u])
    lists = top_k(full, 2, exclude=train.matrix)
    np.testing.assert_array_equal(lists, m.lists_[:, :2])
    assert m.exposure_.sum() == 12
    plain = top_k(FixedModel(scores).fit(train).score(), 2, exclude=train.matrix)
    assert np.unique(lists).size > np.unique(plain).size
    none = ExposureAware(FixedModel(scores), beta=0.0, k=2, n_candidates=8).fit(train)
    np.testing.assert_array_equal(top_k(none.score(), 2, exclude=train.matrix), plain)


def test_text_tail_blend_leans_on_text_for_rare_items(five):
    cf = np.array([[0, 3, 2, 1, 0, 0], [0, 0, 0, 3, 2, 1]], dtype=float)
    text = np.array([[0, 0, 1, 2, 3, 4], [5, 4, 3, 2, 1, 0]], dtype=float)
    m = TextTailBlend(FixedModel(cf), FixedModel(text), tau=1.0, max_weight=1.0).fit(five)
    np.testing.assert_allclose(m.weights_, [1 / 3, 0.5, 0.5, 1, 1, 1])
    s = m.score([0])[0]
    # percentile ranks (rank - 1) / 5, ties share the mean rank: item 5 (w = 1) is ranked by its
    # text alone (best: 1); item 1 (w = .5) is best for the CF model (1) and tied last in text (.1)
    assert s[5] == pytest.approx(1.0)
    assert s[1] == pytest.approx(0.5 * 1.0 + 0.5 * 0.1)


def test_wrappers_clone_the_base_and_validate_in_fit(five):
    base = EASE(lam=10.0)
    m = ExposureAware(base, n_candidates=3)
    m.fit(five)
    assert getattr(base, "train_", None) is None  # the caller's model is never fitted
    assert m.base_ is not base and m.base_.train_ is five
    bad = PopularityPenalty(Popularity(), alpha=-1.0)  # stored untouched at construction
    assert bad.alpha == -1.0
    with pytest.raises(ValueError, match="alpha=-1.0"):
        bad.fit(five)
    with pytest.raises(TypeError, match="alpha='big'"):
        PopularityPenalty(Popularity(), alpha="big").fit(five)
    with pytest.raises(ValueError, match="lam=2"):
        XQuAD(Popularity(), lam=2).fit(five)
    with pytest.raises(ValueError, match="n_candidates=0"):
        ExposureAware(Popularity(), n_candidates=0).fit(five)
    with pytest.raises(TypeError, match="Recommender"):
        PopularityPenalty(object()).fit(five)
    with pytest.raises(NotFittedError):
        PopularityPenalty(Popularity()).score([0])


@pytest.mark.data
@pytest.mark.slow
def test_headline_exposure_aware_doubles_ease_coverage_at_95_percent_ndcg(ml100k_split):
    train, test = ml100k_split
    ease = EASE(lam=400.0, dropout=0.5).fit(train)
    base = rl.evaluate(ease, train, test, 10, metrics=("ndcg", "coverage"))
    rerank = rl.evaluate(ExposureAware(EASE(lam=400.0, dropout=0.5)).fit(train), train, test, 10,
                         metrics=("ndcg", "coverage"))
    assert rerank["coverage@10"] >= 2.0 * base["coverage@10"]
    assert rerank["ndcg@10"] >= 0.95 * base["ndcg@10"]
