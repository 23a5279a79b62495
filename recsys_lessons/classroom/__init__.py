"""Teaching tools: student copies without solutions (`make student`) and the class page (`make html`).

Not a lesson layer: nothing in the package imports it, and it imports nothing from the package.
``python -m recsys_lessons.classroom student|html --out DIR NOTEBOOK...`` runs either tool.
"""

from .site import Lesson, build_site, lesson_of, run_seconds
from .student import BEGIN, END, Region, SolutionRegionError, strip_solutions, write_student_copies

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
