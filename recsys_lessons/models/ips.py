"""Inverse-propensity-weighted BPR (Schnabel et al. 2016, "Recommendations as treatments").

A log only holds the interactions users had the chance to have: popular items were shown more,
so they are over-represented among the positives. If item ``i`` is observed (exposed and
recorded) with propensity ``P_i``, weighting each observed positive by ``1 / P_i`` makes the
training loss an unbiased estimate of the loss over *all* the user's true preferences, not only
the exposed ones. Schnabel et al. show this for ratings; for implicit feedback the same weighting
applies to the positive term of the pairwise loss (Saito et al. 2020 do the pointwise analogue).

The propensities are not known in ML-100K, so we use the usual popularity model
(Yang et al. 2018): ``P_i = (φ_i / max_j φ_j)^η`` with ``φ_i`` the item's training interactions
and ``η`` the ``propensity_power`` (0 = plain BPR). The weights are clipped at ``max_weight``
(a tail item with one interaction would otherwise dominate its batch) and divided by their mean
over the training interactions, so the loss keeps BPR's scale and learning rate:

``loss = (1/B) Σ_b w_{i_b} · (−log σ(x_{u_b i_b} − x_{u_b j_b})) + reg · (|p_u|² + |q_i|² + |q_j|²)``,
``w_i = min(1 / P_i, max_weight) / mean_{(u,i) ∈ train} min(1 / P_i, max_weight)``.

Training is BPR's: the same sampler, loop, early stopping and refit (this class only attaches the
weight of each positive to BPR's batches and weights the pairwise term).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..data import Interactions
from .base import check_number
from .mf import BPR, BiasedMFModule, bpr_loss

__all__ = ["IPSBPR", "ips_weights"]


def ips_weights(popularity: np.ndarray, power: float = 0.5, max_weight: float = 50.0) -> np.ndarray:
    """Per-item weights ``w_i`` of the module docstring (mean 1 over the interactions).

    Args:
        popularity: ``(n_items,)`` training interactions per item, ``φ_i``.
        power: ``η`` >= 0 of the propensity model ``P_i = (φ_i / max φ)^η``.
        max_weight: clip of ``1 / P_i`` (>= 1).

    Returns:
        ``(n_items,)`` float64 weights; items without interactions get the clip value (they never
        appear as positives, so it does not matter).

    Raises:
        ValueError: negative ``power``, ``max_weight`` < 1, a negative or NaN count, or no interactions.
    """
    if not np.isfinite(power) or power < 0:
        raise ValueError(f"propensity_power={power!r}; expected a number >= 0")
    if not np.isfinite(max_weight) or max_weight < 1:
        raise ValueError(f"max_weight={max_weight!r}; expected a number >= 1")
    pop = np.asarray(popularity, dtype=np.float64)
    bad = np.flatnonzero(~(pop >= 0))  # negative or NaN
    if bad.size:
        raise ValueError(
            f"popularity[{bad[0]}]={float(pop.flat[bad[0]])!r}; expected non-negative interaction counts (no NaN)"
        )
    if pop.sum() <= 0:
        raise ValueError("popularity is all zero: no interactions to weight")
    propensity = (pop / pop.max()) ** power
    raw = np.minimum(np.divide(1.0, propensity, out=np.full_like(pop, np.inf), where=propensity > 0), max_weight)
    return raw / ((raw * pop).sum() / pop.sum())


@dataclass(repr=False, eq=False, kw_only=True)
class IPSBPR(BPR):
    """BPR whose positives are weighted by inverse popularity propensities (see the module doc).

    Args:
        propensity_power: ``η`` of ``P_i = (φ_i / max φ)^η`` (0 gives plain BPR).
        max_weight: clip of ``1 / P_i``.
        All other arguments: as :class:`~recsys_lessons.models.mf.BPR`.

    Attributes:
        weights_: the ``w_i`` of the final training run, ``(n_items,)``; plus BPR's attributes.
    """

    name = "ips-bpr"

    propensity_power: float = 0.5
    max_weight: float = 50.0

    def _check_params(self) -> None:
        super()._check_params()
        check_number(self.propensity_power, "propensity_power", min_val=0.0)
        check_number(self.max_weight, "max_weight", min_val=1.0)

    def _batch_maker(self, train: Interactions) -> Callable[[int], Iterator]:
        # The weights belong to the data this run trains on (the carved part, then all of train).
        self.weights_ = ips_weights(train.item_popularity(), self.propensity_power, self.max_weight)
        weights = torch.as_tensor(self.weights_, dtype=torch.float32)
        plain = super()._batch_maker(train)

        def batches(epoch: int) -> Iterator:
            for u, items in plain(epoch):
                yield u, items, weights[items[:, 0]]

        return batches

    def _loss(self, model: BiasedMFModule, batch) -> torch.Tensor:
        u, items, w = batch  # (batch,), (batch, 1 + n_negatives), (batch,)
        return bpr_loss(model, u, items, self.reg, weights=w)
