"""Lesson 03 checks: each accepts a right answer and names the differing value for typical wrong ones."""

from __future__ import annotations

import math

import numpy as np
import torch

from recsys_lessons.exercises.bert import (
    base_rate_loss_reference,
    check_base_rate_loss,
    check_sampled_softmax,
    sampled_softmax_case,
    sampled_softmax_reference,
)
from recsys_lessons.models.losses import sampled_softmax_loss

# -- exercise 3.1: base-rate loss -------------------------------------------------------------


def test_base_rate_reference_by_hand():
    assert math.isclose(base_rate_loss_reference(1), math.log(2))
    assert math.isclose(base_rate_loss_reference(3), -(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))
    assert round(base_rate_loss_reference(3), 3) == 0.562  # the lesson's reference point


def test_base_rate_right_answer_passes_as_float_or_tensor():
    def right(n):
        p = 1 / (n + 1)
        return -(p * math.log(p) + (1 - p) * math.log(1 - p))

    assert check_base_rate_loss(right).passed
    assert check_base_rate_loss(
        lambda n: torch.nn.BCELoss()(torch.full((n + 1,), 1 / (n + 1)), torch.tensor([1.0] + [0.0] * n))
    ).passed


def test_base_rate_with_one_over_n_names_the_value():
    def wrong(n):
        p = 1 / n
        return -(p * math.log(p) + (1 - p) * math.log(1 - p)) if p < 1 else 0.0

    fb = check_base_rate_loss(wrong)
    assert not fb.passed
    assert "n_negatives=1" in fb.message and "0.0000" in fb.message and "0.6931" in fb.message
    assert "1/(n + 1)" in fb.message


def test_base_rate_in_bits_and_flipped_sign_are_recognised():
    bits = check_base_rate_loss(lambda n: base_rate_loss_reference(n) / math.log(2))
    assert not bits.passed and "bits" in bits.message and "1.0000" in bits.message
    flipped = check_base_rate_loss(lambda n: -base_rate_loss_reference(n))
    assert not flipped.passed and "-0.6931" in flipped.message and "sign" in flipped.message


# -- exercise 3.2: sampled softmax with log-Q -------------------------------------------------


def right_sampled_softmax(pos, neg, log_q_pos, log_q_neg):
    logits = torch.cat([(pos - log_q_pos)[:, None], neg - log_q_neg], dim=1)
    return torch.nn.functional.cross_entropy(logits, torch.zeros(len(pos), dtype=torch.long))


def test_sampled_softmax_reference_matches_the_package_loss():
    case = sampled_softmax_case()
    t = {k: torch.from_numpy(v) for k, v in case.items()}
    package = sampled_softmax_loss(t["pos"], t["neg"], t["log_q_pos"], t["log_q_neg"]).item()
    assert math.isclose(sampled_softmax_reference(**case), package, rel_tol=1e-5)


def test_sampled_softmax_reference_by_hand_on_one_row():
    # one positive, one negative, no correction: -s+ + log(e^s+ + e^s-)
    got = sampled_softmax_reference(np.array([1.0]), np.array([[0.0]]), np.zeros(1), np.zeros((1, 1)))
    assert math.isclose(got, -1 + math.log(math.e + 1))


def test_sampled_softmax_right_answer_passes():
    assert check_sampled_softmax(right_sampled_softmax).passed


def test_sampled_softmax_sign_slip_names_both_values():
    fb = check_sampled_softmax(lambda p, n, qp, qn: right_sampled_softmax(p, n, -qp, -qn))
    assert not fb.passed and "added instead of subtracted" in fb.message
    expected = sampled_softmax_reference(**sampled_softmax_case())
    assert f"expected {expected:.4f}" in fb.message and "your loss is" in fb.message


def test_sampled_softmax_without_correction_and_without_positive_in_denominator():
    none = check_sampled_softmax(lambda p, n, qp, qn: right_sampled_softmax(p, n, 0 * qp, 0 * qn))
    assert not none.passed and "no log-Q correction" in none.message

    def no_positive(p, n, qp, qn):
        return (torch.logsumexp(n - qn, dim=1) - (p - qp)).mean()

    fb = check_sampled_softmax(no_positive)
    assert not fb.passed and "missing from the denominator" in fb.message


def test_sampled_softmax_non_scalar_result_is_reported():
    fb = check_sampled_softmax(lambda p, n, qp, qn: p)
    assert not fb.passed and "shape (4,)" in fb.message
