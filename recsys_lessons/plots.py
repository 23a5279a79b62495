"""Plotting helpers for the notebooks (matplotlib/seaborn). Nothing in the package imports this module."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .metrics import head_items

__all__: list[str] = ["long_tail_curve"]


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
    ax.fill_between(x[n_head - 1 :], pop[n_head - 1 :], color="tab:blue", alpha=0.5,
                    label=f"long tail: {pop.size - n_head} items")
    ax.set(xlabel="items, most popular first", ylabel="ratings per item",
           title=f"The long tail: {n_head / pop.size:.0%} of items get {share:.0%} of the ratings")
    twin = ax.twinx()
    twin.plot(x, np.cumsum(pop) / pop.sum(), color="black", lw=1)
    twin.set_ylabel("cumulative share of ratings")
    twin.set_ylim(0, 1.02)
    twin.grid(False)  # one grid (the left axis) is enough
    ax.legend(loc="center right")
    return ax
