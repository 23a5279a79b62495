"""Paired bootstrap: is one ranker's per-user advantage over another bigger than resampling noise?"""

from __future__ import annotations

import numpy as np

__all__ = ["paired_bootstrap"]


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean difference of two paired per-user scores with a percentile bootstrap interval.

    Two rankers evaluated on the same users give paired scores ``a[u]`` and ``b[u]`` (e.g.
    ``ndcg_at_k(..., per_user=True)``). The users are resampled with replacement
    ``n_resamples`` times; each resample gives a mean difference
    ``d* = mean(a[u*] - b[u*])``, and the interval is the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of the ``d*``. Resampling *pairs* keeps what the two
    rankers share (easy and hard users), so the interval is much tighter than two separate ones.

    Args:
        a: ``(n_users,)`` scores of the first ranker.
        b: ``(n_users,)`` scores of the second ranker, same users in the same order.
        n_resamples: bootstrap resamples.
        confidence: coverage of the interval, in ``(0, 1)``.
        seed: seed of the resampling.

    Returns:
        ``(mean(a - b), low, high)``.

    Raises:
        ValueError: shapes differ or are not 1-D, no users, non-finite scores, ``n_resamples``
            below 1 or ``confidence`` outside ``(0, 1)``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"need two 1-D arrays of the same length, got shapes {a.shape} and {b.shape}")
    if len(a) == 0:
        raise ValueError("no users to resample")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite")
    if n_resamples < 1:
        raise ValueError(f"n_resamples={n_resamples!r}; expected at least 1")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence!r}; expected a value in (0, 1)")
    diff = a - b
    idx = np.random.default_rng(seed).integers(0, len(diff), size=(n_resamples, len(diff)))
    means = diff[idx].mean(axis=1)  # (n_resamples,)
    low, high = np.quantile(means, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
    return float(diff.mean()), float(low), float(high)
