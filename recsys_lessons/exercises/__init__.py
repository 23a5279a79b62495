"""Checks for the lessons' closed exercises: one module per lesson, called from the notebooks.

A check runs the learner's function or value on a concrete case and returns a
:class:`~recsys_lessons.exercises.feedback.Feedback` that says plainly whether the answer is right
and, when it is not, which value differs and why it may differ. A check never reveals the solution.
Import a lesson's checks from its module, e.g. ``from recsys_lessons.exercises import collaborative``.
"""

from .feedback import Feedback

__all__ = ["Feedback"]
