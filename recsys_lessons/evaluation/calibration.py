"""Calibration: do predicted probabilities match how often the predicted thing happens?"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["reliability_curve"]


def reliability_curve(
    prob: np.ndarray, outcome: np.ndarray, n_bins: int = 10, strategy: Literal["uniform", "quantile"] = "uniform"
) -> tuple[pd.DataFrame, float]:
    """Bin predicted probabilities and compare each bin's mean prediction with its hit rate.

    Bins are equal-width on ``[0, 1]`` (``"uniform"``) or hold equal numbers of predictions
    (``"quantile"``: resolution where the predictions are, e.g. next-item probabilities that all
    lie below 0.05); empty bins are dropped. The expected calibration error is
    ``ECE = Σ_b (n_b / n) · |mean_pred_b - hit_rate_b|``.

    Args:
        prob: predicted probabilities in ``[0, 1]``, any shape.
        outcome: 0/1 outcomes of the same shape.
        n_bins: number of bins (>= 1).
        strategy: ``"uniform"`` or ``"quantile"`` bin edges (as scikit-learn's ``calibration_curve``).

    Returns:
        ``(table, ece)``: a DataFrame with ``bin_low``, ``bin_high``, ``mean_pred``, ``hit_rate``,
        ``count`` per non-empty bin, and the ECE.

    Raises:
        ValueError: different shapes, probabilities outside ``[0, 1]``, ``n_bins`` < 1 or an
            unknown ``strategy``.
    """
    p = np.asarray(prob, dtype=np.float64).ravel()
    y = np.asarray(outcome, dtype=np.float64).ravel()
    if np.shape(prob) != np.shape(outcome):
        raise ValueError(f"prob {np.shape(prob)} and outcome {np.shape(outcome)} differ in shape")
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1 or np.isnan(p).any()):
        raise ValueError("probabilities must lie in [0, 1]")
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins={n_bins!r}; expected a positive integer")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        edges = np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)) if p.size else np.linspace(0.0, 1.0, n_bins + 1)
        edges[0], edges[-1] = 0.0, 1.0
    else:
        raise ValueError(f"strategy={strategy!r}; expected 'uniform' or 'quantile'")
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    sum_p = np.bincount(which, weights=p, minlength=n_bins)
    sum_y = np.bincount(which, weights=y, minlength=n_bins)
    keep = count > 0
    table = pd.DataFrame(
        {
            "bin_low": edges[:-1][keep],
            "bin_high": edges[1:][keep],
            "mean_pred": sum_p[keep] / count[keep],
            "hit_rate": sum_y[keep] / count[keep],
            "count": count[keep],
        }
    )
    ece = float((table["count"] * (table["mean_pred"] - table["hit_rate"]).abs()).sum() / max(p.size, 1))
    return table, ece
