"""Checks for lesson 03 (BERT and the cross-entropy formulation).

* :func:`check_base_rate_loss` (exercise 3.1, warm-up): the BCE of a model that knows only the
  share of clicks, for one positive per ``n_negatives`` negatives.
* :func:`check_sampled_softmax` (exercise 3.2, stretch): softmax cross-entropy over the positive
  and ``k`` sampled negatives, with the log-Q correction.

The references are computed here in float64 numpy, independently of the package's losses, and
each failing check names the value that differs and the slip it most resembles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .feedback import Feedback

__all__ = [
    "base_rate_loss_reference",
    "check_base_rate_loss",
    "check_sampled_softmax",
    "sampled_softmax_case",
    "sampled_softmax_reference",
]

BASE_RATE_CASES = (1, 3, 9)


def base_rate_loss_reference(n_negatives: int) -> float:
    """``-(p ln p + (1 - p) ln(1 - p))`` with ``p = 1 / (1 + n_negatives)``, the share of positives."""
    p = 1.0 / (1.0 + n_negatives)
    return float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))


def _scalar(value: Any) -> float:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"expected one number, got an array of shape {arr.shape}")
    return float(arr.ravel()[0])


def check_base_rate_loss(loss: Callable[[int], Any], exercise: str = "Exercise 3.1") -> Feedback:
    """Check ``loss(n_negatives) -> float``: the mean BCE of always predicting the click rate.

    With one positive per ``n_negatives`` negatives the best constant prediction is the share of
    positives ``p = 1 / (1 + n_negatives)``, and its loss is the entropy
    ``-(p ln p + (1 - p) ln(1 - p))`` in nats (the lesson's 0.562 for three negatives).

    Args:
        loss: the learner's function.
        exercise: the exercise's name in the notebook.

    Returns:
        A :class:`Feedback` naming the first number of negatives whose loss differs.
    """
    for n in BASE_RATE_CASES:
        try:
            got = _scalar(loss(n))
        except Exception as err:  # the learner's code failed: report it
            return Feedback(exercise, False, f"Your loss({n}) raised {type(err).__name__}: {err}")
        expected = base_rate_loss_reference(n)
        if np.isclose(got, expected, rtol=1e-6, atol=1e-9):
            continue
        p, q = 1 / (1 + n), 1 / n
        slips = {
            "the click rate looks like 1/n_negatives; with one positive per n negatives it is 1/(n + 1)": -(
                q * np.log(q) + (1 - q) * np.log(1 - q)
            )
            if q < 1
            else 0.0,
            "that is in bits (log base 2); the lesson's losses use natural logs": expected / np.log(2),
            "the sign is flipped: a loss is minus the log-likelihood": -expected,
            "only the positives' term is there; the negatives contribute (1 - p) ln(1 - p) too": -p * np.log(p),
            "that is ln 2, the loss of a fresh head predicting 0.5, not of the base rate": np.log(2),
        }
        why = next((text for text, value in slips.items() if np.isclose(got, value, rtol=1e-6)), None)
        why = why or "write the mean over one positive (y = 1) and n negatives (y = 0) of the BCE at the constant p"
        return Feedback(exercise, False, f"For n_negatives={n} your loss is {got:.4f}, expected {expected:.4f}; {why}.")
    return Feedback(
        exercise,
        True,
        f"Your base-rate loss is right for {', '.join(map(str, BASE_RATE_CASES))} negatives per positive.",
    )


def sampled_softmax_case() -> dict[str, np.ndarray]:
    """A fixed batch: 4 positives with 3 sampled negatives each and their log sampling probabilities."""
    rng = np.random.default_rng(7)
    q = rng.dirichlet(np.ones(20))  # sampling distribution over a 20-item catalogue
    pos_items = np.array([0, 3, 7, 11])
    neg_items = rng.choice(20, size=(4, 3), p=q)
    return {
        "pos": rng.normal(size=4).astype(np.float32),
        "neg": rng.normal(size=(4, 3)).astype(np.float32),
        "log_q_pos": np.log(q[pos_items]).astype(np.float32),
        "log_q_neg": np.log(q[neg_items]).astype(np.float32),
    }


def sampled_softmax_reference(pos: np.ndarray, neg: np.ndarray, log_q_pos: np.ndarray, log_q_neg: np.ndarray) -> float:
    """``mean_i [ -(s⁺_i - log q⁺_i) + log( e^(s⁺_i - log q⁺_i) + Σ_j e^(s⁻_ij - log q_ij) ) ]``, in float64."""
    p = np.asarray(pos, np.float64) - np.asarray(log_q_pos, np.float64)  # (n,)
    n = np.asarray(neg, np.float64) - np.asarray(log_q_neg, np.float64)  # (n, k)
    logits = np.concatenate([p[:, None], n], axis=1)  # (n, 1 + k); the positive is column 0
    top = logits.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float(np.mean(lse - p))


def _softmax_slips(case: dict[str, np.ndarray]) -> dict[str, float]:
    """The reference loss under the usual mistakes, to recognise them."""
    pos, neg, lqp, lqn = (case[k].astype(np.float64) for k in ("pos", "neg", "log_q_pos", "log_q_neg"))
    zeros_p, zeros_n = np.zeros_like(lqp), np.zeros_like(lqn)
    p, n = pos - lqp, neg - lqn
    top = n.max(axis=1, keepdims=True)
    no_pos = np.mean(top[:, 0] + np.log(np.exp(n - top).sum(axis=1)) - p)
    return {
        "log Q is added instead of subtracted: the correction is s - log Q": sampled_softmax_reference(
            pos, neg, -lqp, -lqn
        ),
        "there is no log-Q correction: subtract each item's log sampling probability from its logit": sampled_softmax_reference(
            pos, neg, zeros_p, zeros_n
        ),
        "only the negatives are corrected: the positive's logit needs - log q⁺ too": sampled_softmax_reference(
            pos, neg, zeros_p, lqn
        ),
        "the positive is missing from the denominator: the softmax runs over the positive and the negatives": float(
            no_pos
        ),
        "that is the sum over positives; the loss is their mean": len(pos)
        * sampled_softmax_reference(pos, neg, lqp, lqn),
    }


def check_sampled_softmax(fn: Callable[..., Any], exercise: str = "Exercise 3.2") -> Feedback:
    """Check ``fn(pos, neg, log_q_pos, log_q_neg) -> scalar``: sampled softmax with the log-Q correction.

    ``fn`` gets torch float32 tensors of shapes ``(4,)``, ``(4, 3)``, ``(4,)`` and ``(4, 3)``
    (:func:`sampled_softmax_case`) and must return the mean over positives of
    ``-(s⁺ - log q⁺) + log(e^(s⁺ - log q⁺) + Σ_j e^(s⁻_j - log q_j))``.

    Args:
        fn: the learner's function.
        exercise: the exercise's name in the notebook.

    Returns:
        A :class:`Feedback` naming the loss value that differs and the slip it resembles.
    """
    import torch  # the learner's function works on tensors; the reference does not need them

    case = sampled_softmax_case()
    tensors = {k: torch.from_numpy(v) for k, v in case.items()}
    try:
        got = _scalar(fn(tensors["pos"], tensors["neg"], tensors["log_q_pos"], tensors["log_q_neg"]))
    except Exception as err:  # the learner's code failed: report it
        return Feedback(exercise, False, f"Your function raised {type(err).__name__}: {err}")
    expected = sampled_softmax_reference(**case)
    if np.isclose(got, expected, rtol=1e-4, atol=1e-6):
        return Feedback(
            exercise,
            True,
            "Your loss matches the log-Q-corrected sampled softmax on a batch of 4 positives x 3 negatives.",
        )
    why = next(
        (text for text, value in _softmax_slips(case).items() if np.isclose(got, value, rtol=1e-4, atol=1e-6)), None
    )
    why = (
        why
        or "build the logits [s⁺ - log q⁺, s⁻_1 - log q_1, ...] per row and take cross-entropy with the positive as the class"
    )
    return Feedback(
        exercise,
        False,
        f"On the check's batch of 4 positives x 3 negatives your loss is {got:.4f}, expected {expected:.4f}; {why}.",
    )
