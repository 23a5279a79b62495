"""The shared helpers of the exercise checks."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises import Feedback
from recsys_lessons.exercises.feedback import as_number, compare_arrays, compare_number, fmt


def test_feedback_keeps_its_constructor_and_reads_as_a_sentence():
    fb = Feedback("Exercise 9.9", False, "your x is 1, expected 2.")
    assert (fb.exercise, fb.passed, fb.message) == ("Exercise 9.9", False, "your x is 1, expected 2.")
    assert not fb and str(fb) == "Exercise 9.9: ✗ not yet. your x is 1, expected 2."
    assert "Exercise 9.9" in fb._repr_html_() and bool(Feedback("E", True, "ok"))


def test_fmt_adds_digits_until_two_close_numbers_read_differently():
    assert fmt(0.41666) == "0.4167"
    assert fmt(0.41666, 0.41671) == "0.41666" and fmt(0.41671, 0.41666) == "0.41671"


def test_as_number_names_none_and_non_numbers():
    assert as_number("E", np.float32(0.5), "x") == 0.5 and as_number("E", np.array([2.0]), "x") == 2.0
    assert "forget to `return`" in as_number("E", None, "your x").message
    assert "got str" in as_number("E", "0.5", "your x").message
    assert "divided by zero" in as_number("E", float("nan"), "your x").message


def test_compare_number_names_both_values_and_the_hint():
    fb = compare_number("Exercise 1.1", 0.31, 0.42, "your NDCG@10 for user 5", "are the items sorted?")
    assert not fb.passed and fb.message == "your NDCG@10 for user 5 is 0.31, expected 0.42 — are the items sorted?"
    assert compare_number("E", 0.42 + 1e-12, 0.42, "x").passed
    hidden = compare_number("E", 0.5, 0.42, "your share", show_expected=False)
    assert "0.5" in hidden.message and "too high" in hidden.message and "0.42" not in hidden.message


def test_compare_arrays_names_the_first_differing_entry():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = np.array([[1.0, 2.0], [3.5, 4.0]])
    fb = compare_arrays("E", got, expected, "your score", labels=lambda ix: f"for user {ix[0]}, item {ix[1]}")
    assert not fb.passed and "your score for user 1, item 0 is 3.5, expected 3" in fb.message
    assert "1 of 4 values differ" in fb.message
    assert "shape (2,)" in compare_arrays("E", [1.0, 2.0], expected, "your score").message
    assert compare_arrays("E", expected.copy(), expected, "your score").passed
    assert "None" in compare_arrays("E", None, expected, "your score").message
