"""EASE: the closed form against a direct per-column ridge solve, and on the real benchmark split."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_lessons.evaluation import evaluate
from recsys_lessons.models import EASE, NotFittedError, Popularity
from recsys_lessons.models import ease as ease_module
from recsys_lessons.models.ease import ease_weights, gram_upper


def _ridge_without_self(x: np.ndarray, lam: float, extra_diag: np.ndarray | None = None) -> np.ndarray:
    """Reference: column j of B regresses x_j on the OTHER columns with L2 ``lam`` (+ extra_diag)."""
    n = x.shape[1]
    b = np.zeros((n, n))
    for j in range(n):
        others = [i for i in range(n) if i != j]
        xo = x[:, others]
        penalty = lam * np.eye(n - 1)
        if extra_diag is not None:
            penalty += np.diag(extra_diag[others])
        b[others, j] = np.linalg.solve(xo.T @ xo + penalty, xo.T @ x[:, j])
    return b


def test_ease_matches_direct_constrained_solve(tiny):
    x = tiny.binary().toarray()
    model = EASE(lam=0.7).fit(tiny)
    np.testing.assert_allclose(model.B_, _ridge_without_self(x, 0.7), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.diag(model.B_), 0.0)
    np.testing.assert_allclose(model.score(), x @ model.B_, rtol=1e-5, atol=1e-6)


def test_ease_dropout_adds_popularity_scaled_penalty(tiny):
    x = tiny.binary().toarray()
    p = 0.4
    model = EASE(lam=0.5, dropout=p).fit(tiny)
    extra = p / (1 - p) * (x * x).sum(0)  # diag(X^T X) per item
    np.testing.assert_allclose(model.B_, _ridge_without_self(x, 0.5, extra), rtol=1e-4, atol=1e-5)


def test_ease_on_ratings_uses_raw_values(tiny):
    x = tiny.matrix.toarray()
    model = EASE(lam=2.0, implicit=False).fit(tiny)
    np.testing.assert_allclose(model.B_, _ridge_without_self(x, 2.0), rtol=1e-4, atol=1e-5)


def test_ease_recommend_excludes_seen_and_has_titles(tiny):
    rec = EASE(lam=1.0).fit(tiny).recommend(1, k=5)
    assert set(rec.item_id) == {4, 5}  # user 1 rated 1, 2, 3
    assert list(rec.columns) == ["rank", "item_id", "title", "score"]


@pytest.mark.parametrize("lam", [0, -1.0, float("nan")])
def test_ease_rejects_non_positive_lam(lam, tiny):
    model = EASE(lam=lam)  # stored untouched; checked by fit
    assert model.get_params()["lam"] is lam
    with pytest.raises(ValueError, match="lam="):
        model.fit(tiny)


def test_ease_rejects_bad_dropout_and_types(tiny):
    with pytest.raises(ValueError, match="dropout=1.0"):
        EASE(dropout=1.0).fit(tiny)
    with pytest.raises(TypeError, match="lam='500'"):
        EASE(lam="500").fit(tiny)
    with pytest.raises(TypeError, match="lam=True"):
        EASE(lam=True).fit(tiny)
    with pytest.raises(ValueError, match="square"):
        ease_weights(np.ones((2, 3)), 1.0)


def test_ease_not_fitted_and_bad_train():
    with pytest.raises(NotFittedError):
        EASE().score()
    with pytest.raises(TypeError, match="Interactions"):
        EASE().fit(np.ones((3, 3)))


@pytest.mark.data
def test_ease_beats_popularity_on_benchmark_split(ml100k_split):
    train, test = ml100k_split
    ease = evaluate(EASE(lam=400.0).fit(train), train, test, 10, metrics=("ndcg", "precision"))
    pop = evaluate(Popularity().fit(train), train, test, 10, metrics=("ndcg", "precision"))
    assert ease["ndcg@10"] > pop["ndcg@10"] + 0.15
    assert ease["precision@10"] > pop["precision@10"]


def test_ease_weights_refuses_a_matrix_that_is_not_a_gram_matrix():
    # A Gram matrix X^T X is positive semi-definite; this one has the eigenvalue -3,
    # larger than lam, so gram + lam * I has no Cholesky factor.
    bad = np.array([[1.0, 3.0], [3.0, 1.0]]) * 1.5  # eigenvalues 6 and -3
    with pytest.raises(ValueError, match="not positive definite"):
        ease_weights(bad, lam=1.0)
    assert np.isfinite(ease_weights(bad, lam=4.0)).all()  # lam > 3 makes it positive definite again


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(lambda rng, n: np.ones(n), id="binary (float32 path)"),
        pytest.param(lambda rng, n: rng.integers(1, 6, n).astype(float), id="integer ratings (float32 path)"),
        pytest.param(lambda rng, n: rng.normal(size=n), id="real values (float64 path)"),
    ],
)
def test_gram_upper_is_the_upper_triangle_of_xtx_over_several_blocks(values, monkeypatch):
    rng = np.random.default_rng(0)
    x = sp.random(50, 12, density=0.3, random_state=1, format="csr")
    x.data = values(rng, x.nnz)
    monkeypatch.setattr(ease_module, "_GRAM_BLOCK", 16)  # 50 users: four blocks, the last short
    got = gram_upper(x)
    want = (x.T @ x).toarray()
    integers = bool(np.all(x.data == np.round(x.data)))
    assert got.dtype == (np.float32 if integers else np.float64) and got.flags.f_contiguous
    np.testing.assert_allclose(got, np.triu(want), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(gram_upper(x.toarray()), got)  # dense input, same answer


def test_gram_upper_takes_the_sparse_product_for_a_very_sparse_matrix():
    # Two items per user in a catalogue of 3,000: densifying would do ~10^5 times the work.
    rng = np.random.default_rng(0)
    rows = np.repeat(np.arange(40), 2)
    x = sp.csr_matrix((np.ones(80), (rows, rng.integers(0, 3000, 80))), shape=(40, 3000))
    got = gram_upper(x)
    assert got.dtype == np.float64 and got.flags.f_contiguous
    np.testing.assert_array_equal(np.triu(got), np.triu((x.T @ x).toarray()))


def test_gram_upper_switches_to_float64_where_float32_sums_would_round():
    # 5 ** 2 * 700,000 users > 2 ** 24: float32 could no longer hold every sum exactly.
    x = sp.csr_matrix(np.full((700_000, 1), 5.0))
    assert gram_upper(x)[0, 0] == 25.0 * 700_000
    with pytest.raises(ValueError, match="shape"):
        gram_upper(np.ones(3))


def test_ease_weights_reads_only_the_upper_triangle(tiny):
    full = (tiny.binary().T @ tiny.binary()).toarray()
    np.testing.assert_array_equal(ease_weights(np.triu(full), 1.5), ease_weights(full, 1.5))


def test_ease_weights_in_float32_agree_with_float64(tiny):
    gram = gram_upper(tiny.binary())
    for dropout in (0.0, 0.3):
        b32 = ease_weights(gram, 0.9, dropout)
        b64 = ease_weights(gram, 0.9, dropout, dtype=np.float64)
        assert b32.dtype == np.float32 and b64.dtype == np.float64 and b32.flags.c_contiguous
        np.testing.assert_allclose(b32, b64, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="dtype=.*float16"):
        ease_weights(gram, 1.0, dtype=np.float16)


def test_ease_weights_redo_in_float64_when_float32_loses_definiteness():
    # Two identical items: G + lam I = [[1 + lam, 1], [1, 1 + lam]] has Schur complement ~2 lam.
    # With lam = 1e-8, float32 rounds 1 + lam to 1 and the complement to 0 (potrf fails); float64 holds it.
    gram = np.ones((2, 2))
    got = ease_weights(gram, 1e-8)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ease_weights(gram, 1e-8, dtype=np.float64))
    np.testing.assert_allclose(got, [[0.0, 1.0], [1.0, 0.0]], atol=1e-6)  # each item predicts the other
