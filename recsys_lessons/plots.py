"""Plotting helpers for the notebooks (matplotlib/seaborn). Nothing in the package imports this module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .metrics import head_items

__all__: list[str] = ["item_map", "long_tail_curve", "loss_curve", "metric_bars", "reliability_plot"]


def long_tail_curve(popularity: np.ndarray, share: float = 0.8, ax: plt.Axes | None = None) -> plt.Axes:
    """Items sorted by popularity (x) against their number of ratings (y), head shaded.

    The head is :func:`~recsys_lessons.metrics.head_items` with ``share``: the few items that
    gather ``share`` of all interactions. A second axis shows the cumulative share.

    Args:
        popularity: interactions per item, shape ``(n_items,)``.
        share: head definition (0 < share <= 1).
        ax: axes to draw on (a new figure if ``None``).

    Returns:
        The axes.
    """
    pop = np.sort(np.asarray(popularity, dtype=float))[::-1]
    n_head = int(head_items(pop, share).sum())
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    x = np.arange(1, pop.size + 1)
    ax.fill_between(x[:n_head], pop[:n_head], color="tab:red", alpha=0.5, label=f"head: {n_head} items")
    ax.fill_between(
        x[n_head - 1 :], pop[n_head - 1 :], color="tab:blue", alpha=0.5, label=f"long tail: {pop.size - n_head} items"
    )
    ax.set(
        xlabel="items, most popular first",
        ylabel="ratings per item",
        title=f"The long tail: {n_head / pop.size:.0%} of items get {share:.0%} of the ratings",
    )
    twin = ax.twinx()
    twin.plot(x, np.cumsum(pop) / pop.sum(), color="black", lw=1)
    twin.set_ylabel("cumulative share of ratings")
    twin.set_ylim(0, 1.02)
    twin.grid(False)  # one grid (the left axis) is enough
    ax.legend(loc="center right")
    return ax


# --- lesson 01: collaborative filtering -------------------------------------------------------


def metric_bars(
    table: pd.DataFrame,
    metrics: Sequence[str] = ("ndcg@10", "precision@10", "recall@10"),
    reference: Mapping[str, float] | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Grouped bars: one group per metric, one bar per model (a row of ``table``), values on top.

    Args:
        table: models x metrics, as returned by :func:`~recsys_lessons.evaluation.compare`.
        metrics: the columns to plot, in order.
        reference: optional ``{label: value}`` of the first metric (e.g. published NDCG@10
            figures on the same protocol), drawn as dashed lines across that metric's group.
        ax: axes to draw on (a new figure if ``None``).

    Returns:
        The axes.

    Raises:
        KeyError: a metric that is not a column of ``table``.
    """
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        raise KeyError(f"metrics {missing} are not columns of the table ({list(table.columns)})")
    ax = ax or plt.subplots(figsize=(11, 4.5), layout="constrained")[1]
    n_models = len(table)
    width = 0.8 / max(n_models, 1)
    x = np.arange(len(metrics))
    for j, (name, row) in enumerate(table.iterrows()):
        values = row[list(metrics)].to_numpy(dtype=float)
        bars = ax.bar(x + (j - (n_models - 1) / 2) * width, values, width, label=str(name))
        ax.bar_label(bars, fmt="%.3f", fontsize=7, rotation=90, padding=2)
    for k, (label, value) in enumerate((reference or {}).items()):
        # References are figures of the FIRST metric, so the line spans only that group.
        ax.hlines(
            value, x[0] - 0.45, x[0] + 0.45, linestyles="--", lw=1.2, color=f"C{(n_models + k) % 10}", label=label
        )
    ax.set_xticks(x, list(metrics))
    ax.set_ylabel("score (higher is better)")
    ax.set_ylim(0, float(np.nanmax(table[list(metrics)].to_numpy(dtype=float))) * 1.25)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never hides a bar
    return ax


# --- lesson 02: content-based filtering -------------------------------------------------------


def item_map(
    coords: np.ndarray,
    labels: Sequence[str],
    ax: plt.Axes | None = None,
    max_labels: int = 8,
    title: str = "",
) -> plt.Axes:
    """A 2-D map of items (e.g. a PCA or t-SNE projection of embeddings), coloured by label.

    The ``max_labels`` most frequent labels get a colour each; every other item is drawn in
    light grey as "other", underneath, so the coloured groups stay readable.

    Args:
        coords: ``(n_items, 2)`` positions.
        labels: one label per item (e.g. a genre).
        ax: axes to draw on (a new figure if ``None``).
        max_labels: how many labels to colour (>= 1).
        title: axes title.

    Returns:
        The axes.

    Raises:
        ValueError: ``coords`` not ``(n, 2)``, a label count that differs from ``n``, or ``max_labels`` < 1.
    """
    coords = np.asarray(coords, dtype=float)
    names = np.asarray(labels, dtype=object)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"coords must have shape (n, 2), got {coords.shape}")
    if names.shape != (len(coords),):
        raise ValueError(f"{names.size} labels for {len(coords)} points")
    if max_labels < 1:
        raise ValueError(f"max_labels={max_labels!r}; expected >= 1")
    ax = ax or plt.subplots(figsize=(8, 6))[1]
    shown = pd.Series(names).value_counts().index[:max_labels]
    other = ~np.isin(names, shown)
    ax.scatter(coords[other, 0], coords[other, 1], s=6, color="0.85", label="other")
    palette = plt.get_cmap("tab10")
    for j, label in enumerate(shown):
        sel = names == label
        ax.scatter(coords[sel, 0], coords[sel, 1], s=10, color=palette(j % 10), label=f"{label} ({sel.sum()})")
    ax.set(xticks=[], yticks=[], title=title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=2)
    return ax


# --- lesson 03: BERT and cross-entropy --------------------------------------------------------


def reliability_plot(curves: Mapping[str, pd.DataFrame], ax: plt.Axes | None = None, log: bool = True) -> plt.Axes:
    """Reliability diagram: mean predicted probability vs observed hit rate per bin, one line per model.

    Args:
        curves: ``{name: table}`` with ``mean_pred`` and ``hit_rate`` columns, as returned by
            :func:`~recsys_lessons.models.losses.reliability_curve`.
        ax: axes to draw on (a new figure if ``None``).
        log: log-log axes (probabilities of next items span orders of magnitude); zero hit rates
            are drawn at the bottom edge.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    lo = 1e-4
    for name, table in curves.items():
        x = table["mean_pred"].to_numpy()
        y = np.maximum(table["hit_rate"].to_numpy(), lo) if log else table["hit_rate"].to_numpy()
        ax.plot(x, y, marker="o", label=name)
    ax.plot([lo, 1], [lo, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, 1)
        ax.set_ylim(lo, 1)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.legend(fontsize="small")
    return ax


def loss_curve(losses: Sequence[float], window: int = 20, ax: plt.Axes | None = None) -> plt.Axes:
    """Per-step training loss with a moving average of ``window`` steps."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    y = np.asarray(losses, dtype=float)
    ax.plot(y, alpha=0.35, label="per step")
    w = max(1, min(window, len(y)))
    if len(y):
        smooth = np.convolve(y, np.ones(w) / w, mode="valid")
        ax.plot(np.arange(w - 1, len(y)), smooth, label=f"mean of {w} steps")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    return ax
