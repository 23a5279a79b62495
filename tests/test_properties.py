"""Properties every ranking metric and the ranking primitive must have, on generated inputs.

Hypothesis draws many small cases (derandomised, so two runs check the same cases); each property
is one a learner relies on when reading a metric table: values in [0, 1], a perfect ranking scores
1, the order of the relevant set does not matter, moving a relevant item up never hurts, top-k is a
stable sort, and excluded items never come back.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_lessons import metrics as M
from recsys_lessons.evaluation import RANKING_METRICS, top_k

settings.register_profile("course", derandomize=True, deadline=None, max_examples=150)
settings.load_profile("course")

RANKING = RANKING_METRICS  # every ranking metric the evaluator offers


@st.composite
def ranked_case(draw: st.DrawFn) -> tuple[np.ndarray, list[list[int]], int]:
    """Ranked lists (distinct items per user) over a small catalogue, non-empty relevant sets, k."""
    n_items = draw(st.integers(2, 25))
    n_users = draw(st.integers(1, 6))
    k = draw(st.integers(1, n_items))
    ranked = np.array(
        [draw(st.permutations(range(n_items)))[:k] for _ in range(n_users)], dtype=np.int64
    ).reshape(n_users, k)
    relevant = [
        sorted(draw(st.sets(st.integers(0, n_items - 1), min_size=1, max_size=n_items))) for _ in range(n_users)
    ]
    return ranked, relevant, k


@given(ranked_case())
def test_every_ranking_metric_is_in_unit_interval(case):
    ranked, relevant, k = case
    for name, metric in RANKING.items():
        values = metric(ranked, relevant, k, per_user=True)
        assert np.all((values >= 0) & (values <= 1 + 1e-12)), name


@given(ranked_case())
def test_a_perfect_ranking_scores_one(case):
    _, relevant, k = case
    n_items = max(max(r) for r in relevant) + 1 + k
    # The relevant items first (in any order), then non-relevant ones.
    perfect = np.array(
        [(r + [i for i in range(n_items) if i not in r])[:k] for r in relevant], dtype=np.int64
    )
    for name in ("ndcg", "map", "mrr", "hit_rate"):
        np.testing.assert_allclose(RANKING[name](perfect, relevant, k, per_user=True), 1.0, err_msg=name)
    sizes = np.array([len(r) for r in relevant])
    np.testing.assert_allclose(M.recall_at_k(perfect, relevant, k, per_user=True), np.minimum(sizes, k) / sizes)
    np.testing.assert_allclose(M.precision_at_k(perfect, relevant, k, per_user=True), np.minimum(sizes, k) / k)


@given(ranked_case(), st.randoms(use_true_random=False))
def test_relevant_set_order_and_form_do_not_matter(case, rnd):
    ranked, relevant, k = case
    shuffled = [rnd.sample(r, len(r)) for r in relevant]
    n_items = max(int(ranked.max()), max(max(r) for r in relevant)) + 1
    matrix = sp.csr_matrix(
        (np.ones(sum(map(len, relevant))), (np.repeat(np.arange(len(relevant)), [len(r) for r in relevant]),
                                            np.concatenate(relevant))),
        shape=(len(relevant), n_items),
    )
    for name, metric in RANKING.items():
        expected = metric(ranked, relevant, k, per_user=True)
        np.testing.assert_allclose(metric(ranked, shuffled, k, per_user=True), expected, err_msg=name)
        np.testing.assert_allclose(metric(ranked, matrix, k, per_user=True), expected, err_msg=name)


@given(ranked_case(), st.data())
def test_moving_a_relevant_item_up_never_hurts(case, data):
    ranked, relevant, k = case
    before = {name: metric(ranked, relevant, k, per_user=True) for name, metric in RANKING.items()}
    moved = ranked.copy()
    for u, row in enumerate(moved):
        rel = set(relevant[u])
        pos_rel = [j for j, i in enumerate(row) if i in rel]
        pos_non = [j for j, i in enumerate(row) if i not in rel]
        pairs = [(i, j) for j in pos_rel for i in pos_non if i < j]
        if pairs:
            i, j = data.draw(st.sampled_from(pairs))
            row[i], row[j] = row[j], row[i]  # the relevant item at j moves up to i
    for name in ("ndcg", "map", "mrr"):
        after = RANKING[name](moved, relevant, k, per_user=True)
        assert np.all(after >= before[name] - 1e-12), name
    for name in ("precision", "recall", "hit_rate"):  # the same set in the top k
        np.testing.assert_allclose(RANKING[name](moved, relevant, k, per_user=True), before[name], err_msg=name)


@st.composite
def score_case(draw: st.DrawFn) -> tuple[np.ndarray, int, sp.csr_matrix]:
    """Scores with many ties (small integers), k, and an exclusion mask leaving at least k items."""
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(1, 40))
    k = draw(st.integers(1, n_items))
    scores = np.array(
        draw(st.lists(st.integers(-3, 3), min_size=n_users * n_items, max_size=n_users * n_items)),
        dtype=np.float32,
    ).reshape(n_users, n_items)
    mask = np.zeros((n_users, n_items), dtype=bool)
    for u in range(n_users):
        n_excluded = draw(st.integers(0, n_items - k))
        mask[u, draw(st.permutations(range(n_items)))[:n_excluded]] = True
    return scores, k, sp.csr_matrix(mask.astype(np.float32))


def _stable_reference(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    s = scores.astype(np.float64).copy()
    if mask is not None:
        s[mask] = -np.inf
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


@given(score_case())
def test_top_k_equals_a_full_stable_sort(case):
    scores, k, _ = case
    np.testing.assert_array_equal(top_k(scores, k), _stable_reference(scores, k))


@given(score_case())
def test_top_k_honours_the_exclusion_mask(case):
    scores, k, exclude = case
    mask = exclude.toarray() != 0
    got = top_k(scores, k, exclude=exclude)
    assert not mask[np.arange(len(got))[:, None], got].any()
    np.testing.assert_array_equal(got, _stable_reference(scores, k, mask))


@given(ranked_case())
def test_coverage_and_gini_are_in_unit_interval(case):
    ranked, _, _ = case
    n_items = int(ranked.max()) + 1
    assert 0 < M.catalogue_coverage(ranked, n_items) <= 1
    assert 0 <= M.gini_exposure(ranked, n_items) < 1
