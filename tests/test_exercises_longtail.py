"""Lesson 04 exercise checks: a right answer passes, typical wrong ones fail naming the value."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises.longtail import check_serve_in_turn, check_short_head, check_tradeoff


def right_head(popularity, share):
    order = np.lexsort((np.arange(len(popularity)), -popularity))
    cum = np.cumsum(popularity[order])
    n = int(np.argmax(cum >= share * cum[-1])) + 1
    mask = np.zeros(len(popularity), dtype=bool)
    mask[order[:n]] = True
    return mask


def strict_head(popularity, share):  # stops only once the share is exceeded
    order = np.lexsort((np.arange(len(popularity)), -popularity))
    cum = np.cumsum(popularity[order])
    n = int(np.argmax(cum > share * cum[-1])) + 1
    mask = np.zeros(len(popularity), dtype=bool)
    mask[order[:n]] = True
    return mask


def items_head(popularity, share):  # the top share of *items*, not of interactions
    order = np.argsort(-popularity, kind="stable")
    mask = np.zeros(len(popularity), dtype=bool)
    mask[order[: int(share * len(popularity))]] = True
    return mask


def test_short_head_check():
    fb = check_short_head(right_head)
    assert fb.passed and "matches" in fb.message
    fb = check_short_head(strict_head)
    assert not fb.passed and "3 items" in fb.message and "expected 2 items" in fb.message and ">=" in fb.message
    fb = check_short_head(items_head)
    assert not fb.passed and "your head has 7 items" in fb.message
    fb = check_short_head(lambda p, s: p > 10)
    assert not fb.passed and "share=0.8" in fb.message
    fb = check_short_head(lambda p, s: 1 / 0)
    assert not fb.passed and "ZeroDivisionError" in fb.message


def right_serve(relevance, candidates, beta, k, n_items):
    counts = np.zeros(n_items)
    out = []
    for u in range(len(candidates)):
        gain = relevance[u] - beta * np.log1p(counts[candidates[u]])
        top = candidates[u][np.argsort(-gain, kind="stable")[:k]]
        counts[top] += 1
        out.append(top)
    return np.array(out)


def counts_at_the_end(relevance, candidates, beta, k, n_items):  # never updates during the pass
    return np.array([candidates[u][np.argsort(-relevance[u], kind="stable")[:k]] for u in range(len(candidates))])


def positions_not_items(relevance, candidates, beta, k, n_items):
    counts = np.zeros(n_items)
    out = []
    for u in range(len(candidates)):
        pos = np.argsort(-(relevance[u] - beta * np.log1p(counts[candidates[u]])), kind="stable")[:k]
        counts[candidates[u][pos]] += 1
        out.append(pos)
    return np.array(out)


def test_serve_in_turn_check():
    fb = check_serve_in_turn(right_serve)
    assert fb.passed, fb.message
    fb = check_serve_in_turn(counts_at_the_end)
    assert not fb.passed and "user 1's list is [0, 1]" in fb.message and "item 1 was already in 1 earlier" in fb.message
    fb = check_serve_in_turn(positions_not_items)
    assert not fb.passed and "user 1's list holds 3" in fb.message and "positions" in fb.message
    fb = check_serve_in_turn(lambda r, c, b, k, n: np.zeros((4, 3), dtype=int))
    assert not fb.passed and "shape (4, 3)" in fb.message


def test_tradeoff_check():
    base = {"ndcg@10": 0.48, "coverage@10": 0.18}
    fb = check_tradeoff({"ndcg@10": 0.47, "coverage@10": 0.40}, base)
    assert fb.passed and "2.22x" in fb.message
    fb = check_tradeoff({"ndcg@10": 0.40, "coverage@10": 0.50}, base)
    assert not fb.passed and "83.3%" in fb.message and "NDCG needs 95%" in fb.message
    fb = check_tradeoff({"ndcg@10": 0.48, "coverage@10": 0.20}, base)
    assert not fb.passed and "1.11x" in fb.message and "coverage needs 2x" in fb.message
    fb = check_tradeoff({"ndcg@10": 0.48}, base)
    assert not fb.passed and "coverage@10" in fb.message
