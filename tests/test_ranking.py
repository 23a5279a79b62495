"""The ranking primitive ``top_k``: equal to a brute-force stable sort, ties and short rows included."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recsys_lessons.evaluation import top_k


def brute_force(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None) -> np.ndarray:
    """Python's sort on (excluded?, -score or 0 if excluded, index): the documented order, row by row."""
    ex = np.zeros(scores.shape, bool) if exclude is None else exclude.toarray() != 0
    return np.array(
        [sorted(range(scores.shape[1]), key=lambda i: (ex[u, i], 0.0 if ex[u, i] else -scores[u, i], i))[:k] for u in range(len(scores))],
        dtype=np.int64,
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 3, 10, 40, 60])
def test_top_k_equals_a_full_stable_sort_with_many_ties(seed, k):
    rng = np.random.default_rng(seed)
    # few distinct values: ties everywhere, including across the k-th position and the slice edge
    scores = rng.integers(0, 4 if seed % 2 else 50, size=(7, 60)).astype(np.float32)
    exclude = sp.csr_matrix(rng.random((7, 60)) < 0.3)
    np.testing.assert_array_equal(top_k(scores, k, exclude), brute_force(scores, k, exclude))
    np.testing.assert_array_equal(top_k(scores, k), brute_force(scores, k, None))
    torch_sorted = torch.sort(torch.from_numpy(-scores), dim=1, stable=True).indices[:, :k].numpy()
    np.testing.assert_array_equal(top_k(scores, k), torch_sorted)


def test_top_k_on_the_course_shape_equals_a_full_sort():
    rng = np.random.default_rng(0)
    scores = rng.random((943, 1682)).astype(np.float32)
    scores[:, 100:140] = 0.5  # a block of ties
    scores[5] = 1.0  # a row that is one big tie: the partial slice cannot decide, the full sort does
    exclude = sp.csr_matrix(rng.random((943, 1682)) < 0.06)
    masked = np.where(exclude.toarray(), -np.inf, scores)
    want = np.argsort(-masked, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(top_k(scores, 10, exclude), want)


def test_short_rows_continue_with_the_excluded_items_in_index_order():
    scores = np.array([[0.1, 0.7, 0.5, 0.9]], dtype=np.float32)
    exclude = sp.csr_matrix(np.array([[0, 1, 0, 1]]))
    # two items left (2, 0), then the excluded ones by index (1, 3), whatever their scores
    assert top_k(scores, 4, exclude).tolist() == [[2, 0, 1, 3]]
    assert top_k(scores, 2, exclude).tolist() == [[2, 0]]


def test_minus_infinity_ranks_before_excluded_items_and_float64_keeps_its_precision():
    scores = np.array([[-np.inf, 0.2, -np.inf, 0.3]])
    exclude = sp.csr_matrix(np.array([[0, 0, 0, 1]]))
    assert top_k(scores, 4, exclude).tolist() == [[1, 0, 2, 3]]
    close = np.array([[1.0, 1.0 + 1e-12, 1.0 - 1e-12]])  # equal in float32, distinct in float64
    assert top_k(close, 3).tolist() == [[1, 0, 2]]


def test_top_k_does_not_modify_its_input_and_accepts_tensors():
    scores = np.array([[3.0, 1.0, 2.0]], dtype=np.float32)
    before = scores.copy()
    top_k(scores, 2, sp.csr_matrix(np.array([[1, 0, 0]])))
    np.testing.assert_array_equal(scores, before)
    t = torch.tensor([[3.0, 1.0, 2.0]])
    assert top_k(t, 2, sp.csr_matrix(np.array([[1, 0, 0]]))).tolist() == [[2, 1]]
    assert t.tolist() == [[3.0, 1.0, 2.0]]


def test_top_k_bad_inputs_name_the_value():
    scores = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(TypeError, match="k must be an int"):
        top_k(scores, True)
    with pytest.raises(ValueError, match="k=0"):
        top_k(scores, 0)
    with pytest.raises(ValueError, match="k=4 exceeds the 3 items"):
        top_k(scores, 4)
    with pytest.raises(ValueError, match="2-D"):
        top_k(np.zeros(3), 1)
    with pytest.raises(ValueError, match="exclude has shape"):
        top_k(scores, 1, sp.csr_matrix((3, 3)))
    bad = scores.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="row 1"):
        top_k(bad, 1)


def test_each_selection_tier_equals_the_full_sort():
    # Row 0: distinct scores (decided by the k + 1 slice); row 1: five items tie at the 10th score
    # (the k + 32 retry decides); row 2: fifty tie there (only the full sort can).
    rng = np.random.default_rng(1)
    scores = rng.permutation(200).astype(np.float32)[None, :].repeat(3, 0)
    for row, n_tied in ((1, 5), (2, 50)):
        top = np.argsort(-scores[row], kind="stable")
        scores[row, top[8 : 8 + n_tied]] = scores[row, top[8]]  # ties from the 9th position on
    np.testing.assert_array_equal(top_k(scores, 10), brute_force(scores, 10, None))
