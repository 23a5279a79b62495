"""Lesson-05 exercise checks: a right answer passes, typical wrong ones fail with a useful message."""

from __future__ import annotations

import numpy as np
import pytest

import recsys_lessons as rl
from recsys_lessons.exercises import hybrid as ex
from recsys_lessons.models import ItemKNN, Popularity
from recsys_lessons.models.hybrid import Weighted


def right_zscore(s):
    return (s - s.mean(1, keepdims=True)) / np.where(s.std(1, keepdims=True) > 0, s.std(1, keepdims=True), 1.0)


def test_zscore_right_answer_passes():
    fb = ex.check_zscore(right_zscore)
    assert fb.passed and "mean 0" in fb.message


def test_zscore_global_normalisation_is_named():
    fb = ex.check_zscore(lambda s: (s - s.mean()) / s.std())
    assert not fb.passed and "whole matrix" in fb.message


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the wrong answer divides by 0
def test_zscore_sample_std_and_nan_are_named():
    fb = ex.check_zscore(lambda s: (s - s.mean(1, keepdims=True)) / np.where(s.std(1, ddof=1, keepdims=True) > 0, s.std(1, ddof=1, keepdims=True), 1))
    assert not fb.passed and "ddof=1" in fb.message
    fb = ex.check_zscore(lambda s: (s - s.mean(1, keepdims=True)) / s.std(1, keepdims=True))
    assert not fb.passed and "row 2 contains NaN" in fb.message


def test_zscore_other_errors_name_the_value():
    fb = ex.check_zscore(lambda s: s - s.mean(1, keepdims=True))  # forgot to divide
    assert not fb.passed and "expected" in fb.message and "user" in fb.message
    assert "raised ZeroDivisionError" in ex.check_zscore(lambda s: 1 / 0).message


def right_rrf(rankings, k):
    out = {}
    for r in rankings:
        for pos, item in enumerate(r, start=1):
            out[item] = out.get(item, 0.0) + 1 / (k + pos)
    return out


def test_rrf_right_answer_passes_and_gives_the_order():
    fb = ex.check_rrf(right_rrf)
    assert fb.passed and "[20, 30, 40, 10, 50, 60]" in fb.message


def test_rrf_zero_based_ranks_are_named():
    def zero_based(rankings, k):
        out = {}
        for r in rankings:
            for pos, item in enumerate(r):
                out[item] = out.get(item, 0.0) + 1 / (k + pos)
        return out

    fb = ex.check_rrf(zero_based)
    assert not fb.passed and "0-based" in fb.message and "expected" in fb.message


def test_rrf_last_list_only_and_wrong_type():
    fb = ex.check_rrf(lambda rankings, k: {i: 1 / (k + p) for r in rankings for p, i in enumerate(r, 1)})  # overwrites, no sum
    assert not fb.passed and "item 20 scores" in fb.message
    assert "return a dict" in ex.check_rrf(lambda r, k: [1, 2]).message
    assert "missing" in ex.check_rrf(lambda r, k: {10: 1.0}).message


def test_tuned_blend_check(ml100k_split):
    train, _ = ml100k_split
    fit_part, valid = rl.split_stratified(train, 0.8, by="item", seed=0)
    members = [("item-kNN", ItemKNN(k=100)), ("popularity", Popularity())]
    tuned = Weighted(members, weights=[1.0, 0.1]).fit(fit_part)
    fb = ex.check_tuned_blend(tuned, fit_part, valid)
    assert fb.passed and "validation NDCG@10" in fb.message
    bad = Weighted(members, weights=[0.0, 1.0]).fit(fit_part)  # popularity only: worse than equal weights
    fb = ex.check_tuned_blend(bad, fit_part, valid)
    assert not fb.passed and "below equal weights" in fb.message
    leaky = Weighted(members, weights=[1.0, 0.1]).fit(train)  # fitted on train, which contains valid
    fb = ex.check_tuned_blend(leaky, fit_part, valid)
    assert not fb.passed and f"{len(train):,} ratings" in fb.message
