"""Lesson 02 checks: each accepts a right answer and names the differing value for typical wrong ones."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises import Feedback
from recsys_lessons.exercises.content import IDF_CASE, check_idf, check_max_sim, max_sim_reference
from recsys_lessons.models.content import GenreProfile, user_weights

# -- exercise 2.1: IDF ------------------------------------------------------------------------


def right_idf(x):
    n, df = x.shape[0], np.asarray(x.sum(0)).ravel()
    return np.log((1 + n) / (1 + df)) + 1


def test_idf_reference_is_the_hand_computed_formula():
    # 6 items; df = 4, 2, 1, 0 -> ln(7/5)+1, ln(7/3)+1, ln(7/2)+1, ln(7)+1
    expected = np.log(7 / np.array([5, 3, 2, 1])) + 1
    np.testing.assert_allclose(right_idf(IDF_CASE), expected)


def test_idf_right_answer_passes_and_matches_the_package():
    fb = check_idf(right_idf)
    assert isinstance(fb, Feedback) and fb.passed, fb.message
    assert "✓" in str(fb)


def test_idf_without_the_plus_one_names_the_value_and_the_slip():
    fb = check_idf(lambda x: right_idf(x) - 1)
    assert not fb.passed
    # column 0: df = 4 of 6 -> expected ln(7/5) + 1 = 1.3365, got 0.3365
    assert "genre column 0" in fb.message and "0.3365" in fb.message and "1.3365" in fb.message
    assert "no +1 after the log" in fb.message


def test_idf_unsmoothed_is_recognised():
    def unsmoothed(x):
        df = np.asarray(x.sum(0)).ravel()
        with np.errstate(divide="ignore"):
            return np.log(x.shape[0] / df) + 1

    fb = check_idf(unsmoothed)
    assert not fb.passed and "no smoothing" in fb.message and "1.4055" in fb.message  # ln(6/4) + 1


def test_idf_summing_over_the_wrong_axis_is_reported_as_a_shape_error():
    fb = check_idf(lambda x: np.log((1 + x.shape[0]) / (1 + np.asarray(x.sum(1)).ravel())) + 1)
    assert not fb.passed and "returned 6 values" in fb.message and "(4)" in fb.message


def test_idf_exception_is_reported_not_raised():
    def broken(x):
        raise NotImplementedError("Exercise 2.1")

    fb = check_idf(broken)
    assert not fb.passed and "NotImplementedError" in fb.message


# -- exercise 2.2: max-similarity profile -----------------------------------------------------


class MaxSim(GenreProfile):
    def _score(self, users):
        w = user_weights(self.train_, "liked")
        out = np.zeros((len(users), self.train_.n_items), dtype=np.float32)
        for row, u in enumerate(users):
            liked = w[u].indices[w[u].data > 0]
            if liked.size:
                out[row] = (self.item_vectors_[liked] @ self.item_vectors_.T).max(0)
        return out


class MaxOverRated(GenreProfile):
    def _score(self, users):
        m = self.train_.matrix
        return np.stack([(self.item_vectors_[m[u].indices] @ self.item_vectors_.T).max(0) for u in users])


class MeanOfSims(GenreProfile):
    def _score(self, users):
        w = user_weights(self.train_, "liked")
        v = self.item_vectors_
        return np.stack([(v[w[u].indices[w[u].data > 0]] @ v.T).mean(0) for u in users])


def test_max_sim_reference_by_hand(tiny):
    model = GenreProfile().fit(tiny)
    # user 1 rated items 1, 2, 3 with 5, 4, 1 (mean 3.33): liked = items 1 and 2
    v = model.item_vectors_
    expected = np.maximum(v @ v[0], v @ v[1])
    np.testing.assert_allclose(max_sim_reference(model, np.array([0]))[0], expected, rtol=1e-6)


def test_max_sim_right_answer_passes(tiny):
    fb = check_max_sim(MaxSim().fit(tiny))
    assert fb.passed, fb.message


def test_max_sim_mean_profile_is_named(tiny):
    fb = check_max_sim(GenreProfile().fit(tiny))  # the parent's mean profile, no override
    assert not fb.passed
    assert "your score is" in fb.message and "expected" in fb.message and "mean-profile" in fb.message


def test_max_sim_over_every_rated_item_is_named(tiny):
    fb = check_max_sim(MaxOverRated().fit(tiny))
    assert not fb.passed and "every rated item" in fb.message
    # the differing (user, item) pair is named with both values
    assert "For user" in fb.message and "Movie" in fb.message


def test_max_sim_mean_of_similarities_is_lower_and_said_so(tiny):
    fb = check_max_sim(MeanOfSims().fit(tiny))
    assert not fb.passed and "averaging" in fb.message


def test_max_sim_unfitted_model_gets_a_clear_message():
    fb = check_max_sim(MaxSim())
    assert not fb.passed and "fit it first" in fb.message
