"""The result of an exercise check: passed or not, with a message that names what differs."""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["Feedback"]


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
        return f'<p style="color:{colour}"><b>{html.escape(self.exercise)}</b>: {html.escape(str(self).split(": ", 1)[1])}</p>'

    def __repr__(self) -> str:
        return str(self)
