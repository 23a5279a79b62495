"""Teaching and maintainer tools, each a module runnable with ``python -m``.

* ``python -m recsys_lessons.classroom student|html --out DIR NOTEBOOK...``: student copies without
  solutions (``make student``) and the class page (``make html``);
* ``python -m recsys_lessons.classroom.workspace fill|restore``: the learner's working folder
  (``make lab``, ``make restore``);
* ``python -m recsys_lessons.classroom.notebook_header``: the Colab badge and set-up cell of every lesson;
* ``python -m recsys_lessons.classroom.tree_state snapshot|check``: ``make test`` leaves the checkout
  as it found it (standard library only: it runs before anything is installed).

Not a lesson layer: nothing in the package imports it, and it imports nothing from the package.
The names below load their module on first use (PEP 562), so ``tree_state`` runs without nbformat.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .site import Lesson, build_site, lesson_of, run_seconds
    from .student import BEGIN, END, Region, SolutionRegionError, strip_solutions, write_student_copies

_LAZY = {
    **dict.fromkeys(("Lesson", "build_site", "lesson_of", "run_seconds"), "site"),
    **dict.fromkeys(
        ("BEGIN", "END", "Region", "SolutionRegionError", "strip_solutions", "write_student_copies"), "student"
    ),
}


def __getattr__(name: str) -> Any:
    """Load a re-exported name's module on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BEGIN",
    "END",
    "Lesson",
    "Region",
    "SolutionRegionError",
    "build_site",
    "lesson_of",
    "run_seconds",
    "strip_solutions",
    "write_student_copies",
]
