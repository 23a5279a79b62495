"""The result of an exercise check, and the helpers every lesson's checks share.

A check builds a :class:`Feedback`. The helpers below cover what most checks need: turning what the
learner returned into a number (and saying so plainly when it is ``None`` or not a number), comparing
a number with the expected one under a tolerance, and finding the first entry of an array that
differs, so the message can say *which* value differs: "your NDCG@10 for user 5 is 0.31, expected
0.42 — are the items sorted by descending score?".
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Feedback", "as_number", "close", "compare_arrays", "compare_number", "fmt"]


@dataclass(frozen=True)
class Feedback:
    """What a check found.

    Attributes:
        exercise: the exercise's name as the notebook gives it, e.g. ``"Exercise 1.2"``.
        passed: ``True`` when the answer is right.
        message: one or two sentences; on failure it names the value that differs, the expected
            value where that does not give the solution away, and a likely cause.
    """

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "✓ correct" if self.passed else "✗ not yet"
        return f"{self.exercise}: {mark}. {self.message}"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#b35900"
        verdict = str(self).split(": ", 1)[1]
        return f'<p style="color:{colour}"><b>{html.escape(self.exercise)}</b>: {html.escape(verdict)}</p>'

    def __repr__(self) -> str:
        return str(self)


def fmt(value: float, other: float | None = None, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits, more if needed to tell it apart from ``other``.

    Args:
        value: the number to show.
        other: the number it is compared with; when both round to the same text, digits are added
            (up to 12) until they differ, so "0.4167, expected 0.4167" never appears.
        digits: the significant digits to start from.

    Returns:
        The formatted number.
    """
    for d in range(digits, 13):
        text = f"{value:.{d}g}"
        if other is None or text != f"{other:.{d}g}":
            return text
    return f"{value!r}"


def close(got: float, expected: float, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether ``|got - expected| <= atol + rtol * |expected|`` (NaN equals nothing)."""
    return bool(abs(got - expected) <= atol + rtol * abs(expected))


def as_number(exercise: str, value: object, what: str) -> float | Feedback:
    """The learner's ``value`` as a float, or a failing :class:`Feedback` saying why it is not one.

    Accepts Python and numpy numbers and arrays holding exactly one number.

    Args:
        exercise: the exercise's name.
        value: what the learner's code returned.
        what: what the value should be, e.g. ``"the density"``.

    Returns:
        The float, or a failing Feedback (``None`` → "did you forget `return`?").
    """
    if value is None:
        return Feedback(exercise, False, f"{what} is None — did the function forget to `return` it?")
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return Feedback(exercise, False, f"{what} should be a number, got {type(value).__name__} ({value!r:.60})")
    number = float(value)
    if not np.isfinite(number):
        return Feedback(exercise, False, f"{what} is {number} — is something divided by zero?")
    return number


def compare_number(
    exercise: str,
    got: object,
    expected: float,
    what: str,
    hint: str = "",
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    show_expected: bool = True,
) -> Feedback:
    """Compare the learner's number with the expected one.

    Args:
        exercise: the exercise's name.
        got: what the learner's code returned (converted with :func:`as_number`).
        expected: the right value.
        what: names the value and the case, e.g. ``"your density for the 3-user example"``.
        hint: a likely cause of a difference, appended after a dash.
        rtol: relative tolerance.
        atol: absolute tolerance.
        show_expected: say the expected value (``False`` when it is the exercise's answer itself;
            the message then says whether the value is too high or too low).

    Returns:
        A passing Feedback when the numbers are close, else one naming both (or the direction).
    """
    number = as_number(exercise, got, what)
    if isinstance(number, Feedback):
        return number
    if close(number, expected, rtol, atol):
        return Feedback(exercise, True, f"{what} is {fmt(number)}, as expected.")
    if show_expected:
        message = f"{what} is {fmt(number, expected)}, expected {fmt(expected, number)}"
    else:
        message = f"{what} is {fmt(number)}, which is too {'high' if number > expected else 'low'}"
    return Feedback(exercise, False, message + (f" — {hint}" if hint else "."))


def compare_arrays(
    exercise: str,
    got: object,
    expected: np.ndarray,
    what: str,
    labels: Sequence[str] | Callable[[tuple[int, ...]], str] | None = None,
    hint: str = "",
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> Feedback:
    """Compare the learner's array with the expected one and name the first entry that differs.

    Args:
        exercise: the exercise's name.
        got: what the learner's code returned (anything ``np.asarray`` accepts).
        expected: the right values.
        what: names the array, e.g. ``"your score"``.
        labels: one label per entry in C order (e.g. ``"for user 5, item 12"``), or a function of
            the entry's index tuple returning its label; default: the index.
        hint: a likely cause of a difference.
        rtol: relative tolerance.
        atol: absolute tolerance.

    Returns:
        A passing Feedback when every entry is close, else one naming the first differing entry,
        both values and how many entries differ; a shape mismatch or non-numbers are named as such.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if got is None:
        return Feedback(exercise, False, f"{what} is None — did the function forget to `return` it?")
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return Feedback(exercise, False, f"{what} should be an array of numbers, got {type(got).__name__}")
    if arr.shape != expected.shape:
        return Feedback(
            exercise,
            False,
            f"{what} has shape {arr.shape}, expected {expected.shape}" + (f" — {hint}" if hint else "."),
        )
    bad = ~np.isclose(arr, expected, rtol=rtol, atol=atol, equal_nan=False)
    if not bad.any():
        return Feedback(exercise, True, f"{what} is as expected in all {arr.size} values.")
    flat = int(np.flatnonzero(bad.ravel())[0])
    index = tuple(int(i) for i in np.unravel_index(flat, arr.shape))
    if callable(labels):
        where = labels(index)
    else:
        where = labels[flat] if labels is not None else f"at index {index}"
    g, e = float(arr.ravel()[flat]), float(expected.ravel()[flat])
    message = f"{what} {where} is {fmt(g, e)}, expected {fmt(e, g)} ({int(bad.sum())} of {arr.size} values differ)"
    return Feedback(exercise, False, message + (f" — {hint}" if hint else "."))
