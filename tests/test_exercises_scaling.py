"""Appendix 06 exercise checks: a right answer passes, typical wrong ones fail naming the value."""

from __future__ import annotations

import math

import torch

from recsys_lessons.exercises.scaling import check_broken_equivalence, check_rank_positions, check_softmax_memory


def right_positions(n_samples, world_size, rank):
    per_rank = math.ceil(n_samples / world_size)
    padded = [i % n_samples for i in range(per_rank * world_size)]  # the start repeated at the end
    return padded[rank::world_size]


def unpadded_positions(n_samples, world_size, rank):
    return list(range(rank, n_samples, world_size))


def block_positions(n_samples, world_size, rank):
    per_rank = math.ceil(n_samples / world_size)
    return [i % n_samples for i in range(rank * per_rank, (rank + 1) * per_rank)]


def test_rank_positions_check():
    fb = check_rank_positions(right_positions)
    assert fb.passed and "4 cases" in fb.message
    fb = check_rank_positions(block_positions)
    assert not fb.passed and "n_samples=12, world_size=3, rank=1" in fb.message
    assert "sample 0 is 4, expected 1" in fb.message and "not in contiguous blocks" in fb.message
    fb = check_rank_positions(unpadded_positions)
    assert not fb.passed and "n_samples=10, world_size=4, rank=3" in fb.message
    assert "you return 2 samples, expected 3" in fb.message and "pads" in fb.message
    fb = check_rank_positions(lambda n, w, r: 1 / 0)
    assert not fb.passed and "ZeroDivisionError" in fb.message
    assert not check_rank_positions(lambda n, w, r: None).passed


def right_memory(n_items, hidden, batch_size, positions, world_size):
    parameters = 4 * n_items * (hidden + 1) * 4
    logits = 2 * (batch_size // world_size) * positions * n_items * 4
    return parameters + logits


def test_softmax_memory_check():
    fb = check_softmax_memory(right_memory)
    assert fb.passed and "3 cases" in fb.message

    def no_adam(n, h, b, p, w):
        return n * (h + 1) * 4 + 2 * (b // w) * p * n * 4  # weights only

    fb = check_softmax_memory(no_adam)
    assert (
        not fb.passed
        and "n_items=1,682" in fb.message
        and "you give 9,049,160 bytes, expected 10,361,120" in fb.message
    )
    assert "Adam's two moments" in fb.message

    def whole_batch(n, h, b, p, w):
        return 4 * n * (h + 1) * 4 + 2 * b * p * n * 4

    fb = check_softmax_memory(whole_batch)
    assert not fb.passed and "n_items=26,744" in fb.message and "batch_size / world_size" in fb.message

    def once(n, h, b, p, w):
        return 4 * n * (h + 1) * 4 + (b // w) * p * n * 4

    fb = check_softmax_memory(once)
    assert not fb.passed and "count them twice" in fb.message
    assert "bits" in check_softmax_memory(lambda *a: 8 * right_memory(*a)).message
    assert "returned str" in check_softmax_memory(lambda *a: "10 MB").message


def test_broken_equivalence_check():
    base = {"w": torch.zeros(3), "b": torch.ones(1)}
    moved = {"w": torch.tensor([0.0, 2e-3, 0.0]), "b": torch.ones(1)}
    fb = check_broken_equivalence([moved, dict(moved)], base)
    assert fb.passed and "0.002 in w" in fb.message
    rounding = {"w": torch.tensor([0.0, 3e-6, 0.0]), "b": torch.ones(1)}
    fb = check_broken_equivalence([rounding, dict(rounding)], base)
    assert not fb.passed and "3e-06" in fb.message and "within rounding" in fb.message
    fb = check_broken_equivalence([moved, base], base)
    assert not fb.passed and "rank 1's w differs from rank 0's by up to 0.002" in fb.message
    assert not check_broken_equivalence([moved], base).passed
    assert "different parameters" in check_broken_equivalence([{"x": torch.zeros(1)}] * 2, base).message
