"""Point-wise and list-wise training losses for next-item models.

(The reliability curve that compares their probabilities with outcomes is
:func:`recsys_lessons.evaluation.reliability_curve`.)

All losses take scores (logits) for the true next item and, where they need them, for sampled
negative items, so one backbone (e.g. :class:`~recsys_lessons.models.bert4rec.BERT4Rec`) can be
trained with each of them and nothing else changes:

* ``bce`` – binary cross-entropy with **one** sampled negative per positive (point-wise),
  ``-log σ(s⁺) - log(1 - σ(s⁻))``: the SASRec / BERT-click-model formulation.
* ``bce_many`` – the same with ``k`` negatives: ``-log σ(s⁺) - Σ_j log(1 - σ(s⁻_j))``.
* ``sampled_softmax`` – softmax cross-entropy over the positive and ``k`` sampled negatives,
  every logit corrected by ``-log Q(item)`` (the sampling probability; Bengio & Senécal 2008,
  Yi et al. 2019) so the sampled softmax estimates the full one without popularity bias.
* ``softmax`` – full softmax cross-entropy over the whole catalogue (list-wise):
  ``-s⁺ + log Σ_i exp(s_i)``; what Klenitskiy & Vasilev (2023) found decisive for SASRec.

Each loss is the mean over positives. Negatives that happen to equal the positive ("accidental
hits") are masked out by passing ``neg_mask`` (``False`` = ignore).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "LOSSES",
    "bce_loss",
    "full_softmax_loss",
    "sampled_softmax_loss",
]

LOSSES = ("bce", "bce_many", "sampled_softmax", "softmax")


def _check_pos_neg(pos: torch.Tensor, neg: torch.Tensor, neg_mask: torch.Tensor | None) -> torch.Tensor:
    if pos.ndim != 1:
        raise ValueError(f"positive scores must be 1-D (n,), got shape {tuple(pos.shape)}")
    if neg.ndim != 2 or neg.shape[0] != pos.shape[0]:
        raise ValueError(f"negative scores must be (n, k) with n={pos.shape[0]}, got {tuple(neg.shape)}")
    if neg_mask is None:
        return torch.ones_like(neg, dtype=torch.bool)
    if neg_mask.shape != neg.shape:
        raise ValueError(f"neg_mask has shape {tuple(neg_mask.shape)}, negatives {tuple(neg.shape)}")
    return neg_mask.bool()


def bce_loss(pos: torch.Tensor, neg: torch.Tensor, neg_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy with sampled negatives, averaged over positives.

    ``L = (1/n) Σ_i [ -log σ(pos_i) - Σ_j mask_ij · log(1 - σ(neg_ij)) ]``; with ``k = 1`` this is
    the point-wise formula ``-(1/N) Σ [y log p + (1 - y) log(1 - p)]`` summed over each pair.
    Computed with ``logsigmoid`` for numerical stability (``log(1 - σ(s)) = logsigmoid(-s)``).

    Args:
        pos: ``(n,)`` logits of the true items.
        neg: ``(n, k)`` logits of the sampled negatives.
        neg_mask: ``(n, k)`` booleans, ``False`` for negatives to ignore (accidental hits).

    Returns:
        Scalar loss tensor.

    Raises:
        ValueError: shapes that do not match.
    """
    mask = _check_pos_neg(pos, neg, neg_mask)
    neg_term = (F.logsigmoid(-neg) * mask).sum(dim=1)  # (n,)
    return -(F.logsigmoid(pos) + neg_term).mean()


def sampled_softmax_loss(
    pos: torch.Tensor,
    neg: torch.Tensor,
    log_q_pos: torch.Tensor | None = None,
    log_q_neg: torch.Tensor | None = None,
    neg_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Softmax cross-entropy over the positive and ``k`` sampled negatives, with the log-Q correction.

    ``L = (1/n) Σ_i [ -(pos_i - log q⁺_i) + log( exp(pos_i - log q⁺_i) + Σ_j exp(neg_ij - log q_ij) ) ]``.
    Subtracting ``log q`` (the log sampling probability of each item) makes the sampled softmax an
    unbiased-in-the-limit estimate of the full softmax; without it popular items, sampled more
    often, are pushed down too hard.

    Args:
        pos: ``(n,)`` logits of the true items.
        neg: ``(n, k)`` logits of the sampled negatives.
        log_q_pos: ``(n,)`` log sampling probabilities of the positives (``None``: no correction).
        log_q_neg: ``(n, k)`` log sampling probabilities of the negatives (``None``: no correction).
        neg_mask: ``(n, k)`` booleans, ``False`` for negatives to ignore (accidental hits).

    Returns:
        Scalar loss tensor.

    Raises:
        ValueError: shapes that do not match, or only one of the two log-Q tensors given.
    """
    mask = _check_pos_neg(pos, neg, neg_mask)
    if (log_q_pos is None) != (log_q_neg is None):
        raise ValueError("give both log_q_pos and log_q_neg, or neither")
    if log_q_pos is not None and log_q_neg is not None:
        pos = pos - log_q_pos
        neg = neg - log_q_neg
    neg = neg.masked_fill(~mask, float("-inf"))
    logits = torch.cat([pos[:, None], neg], dim=1)  # (n, 1 + k); the positive is class 0
    target = torch.zeros(len(pos), dtype=torch.long, device=pos.device)
    return F.cross_entropy(logits.float(), target)


def full_softmax_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy over the whole catalogue: ``(1/n) Σ_i [ -logits[i, t_i] + logsumexp(logits[i]) ]``.

    Args:
        logits: ``(n, n_items)`` scores of every item.
        target: ``(n,)`` integer index of the true item.

    Raises:
        ValueError: shapes that do not match or a target outside ``0..n_items-1``.
    """
    if logits.ndim != 2 or target.shape != (logits.shape[0],):
        raise ValueError(f"need logits (n, n_items) and target (n,), got {tuple(logits.shape)}, {tuple(target.shape)}")
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= logits.shape[1]):
        raise ValueError(f"target outside 0..{logits.shape[1] - 1}")
    return F.cross_entropy(logits.float(), target.long())
