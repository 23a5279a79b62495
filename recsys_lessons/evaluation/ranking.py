"""The ranking primitive: top-k of a score matrix under an exclusion mask.

Every ranked list in the package comes from :func:`top_k` (evaluation, ``Recommender.recommend``,
candidate lists, validation during training, the widgets), so all of them break ties the same
way and treat short lists the same way.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from .. import metrics as M
from ..train import get_device

__all__ = ["rank_users", "top_k", "validation_ndcg"]

# Rows with ties at the k-th score retry with this many extra items before the exact stable
# sort: enough that ties straddling the k-th score rarely force the full sort.
_SLACK = 32


def top_k(
    scores: np.ndarray | torch.Tensor,
    k: int,
    exclude: sp.spmatrix | sp.sparray | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Indices of the ``k`` best-scoring items per row, best first, excluded items never returned.

    The order is that of a stable descending sort: higher score first, equal scores by lower
    item index, on every device. It is computed by partial selection (``torch.topk`` over
    ``k + 1`` items, then an exact sort of those; rows whose ties at the ``k``-th score reach
    past that retry with ``k + 32``); when ties at the ``k``-th score reach past
    that slice, those rows (only) fall back to the full stable sort, so the result always equals it.
    Scores of ``-inf`` are legitimate (e.g. items outside a re-ranker's candidates): they rank
    after every finite score and before every excluded item.

    Short rows, the one policy: when a row has fewer than ``k`` items left once ``exclude`` is
    applied, the array stays rectangular and the row's remaining positions hold its excluded
    items in index order, i.e. the result is always the first ``k`` of the stable sort once the
    excluded items' scores are set to ``-inf``. Metrics then count those
    positions as misses (an item of the training data is not in the test data). A caller that
    must never show an excluded item asks for at most the number left
    (:meth:`~recsys_lessons.models.base.Recommender.recommend` does, and returns a shorter table).

    Args:
        scores: ``(n_users, n_items)`` scores (float32 or float64; other dtypes become float32).
        k: list length, an int with 1 <= k <= n_items (``bool`` is refused).
        exclude: sparse ``(n_users, n_items)``; stored non-zero entries are never returned (seen items).
        device: where to run the selection (see :func:`~recsys_lessons.train.get_device`).

    Returns:
        int64 array ``(n_users, k)``.

    Raises:
        TypeError: ``k`` is not an int.
        ValueError: ``k`` outside 1..n_items, NaN scores, or an ``exclude`` of another shape.
    """
    s = scores if isinstance(scores, torch.Tensor) else torch.from_numpy(np.array(scores))
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_users, n_items), got shape {tuple(s.shape)}")
    k = M._check_k(k)
    n_rows, n_items = s.shape
    if k > n_items:
        raise ValueError(f"k={k} exceeds the {n_items} items")
    dtype = torch.float64 if s.dtype == torch.float64 else torch.float32
    dev = get_device(device)
    s = s.to(dev, dtype=dtype, memory_format=torch.contiguous_format, copy=True)  # (batch, n_items), masked below
    nan_rows = torch.isnan(s).any(1)
    if bool(nan_rows.any()):
        row = int(nan_rows.nonzero()[0])
        raise ValueError(f"NaN in the scores (first in row {row}); the model produced invalid scores")
    if exclude is not None:
        if tuple(exclude.shape) != (n_rows, n_items):
            raise ValueError(f"exclude has shape {exclude.shape}, scores {(n_rows, n_items)}")
        ex = sp.csr_matrix(exclude)
        ex.eliminate_zeros()
        if bool(torch.isneginf(s).any()):
            # Genuine -inf scores move to the lowest finite value so they still rank before the
            # excluded items, which take -inf.
            s = torch.nan_to_num(s, posinf=float("inf"), neginf=torch.finfo(dtype).min)
        # One flat fill of row * n_items + col: cheaper than 2-D fancy indexing.
        flat = np.repeat(np.arange(n_rows, dtype=np.int64) * n_items, np.diff(ex.indptr)) + ex.indices
        s.view(-1).index_fill_(0, torch.from_numpy(flat).to(dev), -torch.inf)
    # Partial selection of k + 1 items: the extra one tells whether ties at the k-th score
    # reach past the slice (then the row retries with a wider slice, and the full sort after that).
    out, tied = _select(s, k, min(n_items, k + 1))
    if len(tied):
        wider, still = _select(s[tied], k, min(n_items, k + _SLACK))
        out[tied] = wider
        if len(still):
            rows = tied[still]
            out[rows] = torch.sort(s[rows], dim=1, descending=True, stable=True).indices[:, :k]
    return out.cpu().numpy().astype(np.int64)  # a fresh array that owns its memory (scipy indexing needs it)


def _select(s: torch.Tensor, k: int, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stable top-``k`` of each row from a partial selection of ``m >= k`` items.

    Returns the ``(rows, k)`` indices and the rows where that is not yet exact: ties at the
    ``k``-th score reach the slice's last item, so an equal item outside it may have a lower index.
    """
    vals, idx = torch.topk(s, m, dim=1)  # (rows, m), unordered among ties
    # Sort the survivors by index, then stably by score: ties end up in index order.
    by_index = torch.sort(idx, dim=1).indices
    idx = torch.gather(idx, 1, by_index)
    order = torch.sort(torch.gather(vals, 1, by_index), dim=1, descending=True, stable=True).indices[:, :k]
    out = torch.gather(idx, 1, order)  # (rows, k)
    if m == s.shape[1]:
        return out, idx.new_empty(0)
    # Exact where the slice's last score (topk sorts descending) is strictly below the k-th one.
    return out, (vals[:, m - 1] >= vals[:, k - 1]).nonzero().squeeze(1)


def rank_users(
    model,
    users: np.ndarray,
    k: int,
    exclude: sp.spmatrix | sp.sparray | None,
    batch_size: int = 512,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Top-``k`` item indices (:func:`top_k`) for each user index in ``users``, scoring in batches.

    Args:
        model: anything with ``score(users) -> (len(users), n_items)``.
        users: user indices.
        k: list length.
        exclude: ``(n_all_users, n_items)`` items never returned (rows are picked by ``users``).
        batch_size: users scored per call to ``model.score``.
        device: where :func:`top_k` runs.

    Returns:
        int64 array ``(len(users), k)``.
    """
    out = []
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = model.score(batch)
        out.append(top_k(scores, k, None if exclude is None else exclude[batch], device))
    return np.concatenate(out) if out else np.empty((0, k), dtype=np.int64)


def validation_ndcg(
    scores: np.ndarray | torch.Tensor,
    relevant: sp.spmatrix | sp.sparray,
    exclude: sp.spmatrix | sp.sparray | None,
    k: int = 10,
) -> float:
    """NDCG@k of a score matrix against held-out items: the one validation number models train on.

    ``top_k(scores, k, exclude)`` ranked against ``relevant`` with
    :func:`~recsys_lessons.metrics.ndcg_at_k`; used for early stopping by MF/BPR and BERT4Rec.

    Args:
        scores: ``(n_users, n_items)`` scores of the validation users.
        relevant: ``(n_users, n_items)`` held-out items (non-zero = relevant); every row needs one.
        exclude: ``(n_users, n_items)`` training items, never ranked.
        k: cut-off.

    Returns:
        Mean NDCG@k over the rows.
    """
    return float(M.ndcg_at_k(top_k(scores, k, exclude, device="cpu"), relevant, k))
