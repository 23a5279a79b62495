"""Student copies of the lesson notebooks: solutions replaced by stubs, their outputs cleared.

A solution is a region of a code cell between a ``### BEGIN SOLUTION`` line and a
``### END SOLUTION`` line. In the student copy the region (markers included) becomes one line,
at the region's indentation, that raises ``NotImplementedError`` naming the exercise, and the
outputs of that cell and of the code cells after it up to the next markdown cell (the exercise's
check and anything derived from the solution) are cleared. Widget state is dropped when a cleared
output showed a widget. nbgrader's ``ClearSolutions`` does the first half only and leaves the
outputs, which print the answers.

The exercise's name is the last ``Exercise <number>`` before the region in the cell itself, else
the one the nearest markdown cell above names (when it names exactly one), else
``"<notebook> exercise <n>"`` with ``n`` counting the notebook's solution regions.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .files import write_text_atomic

__all__ = ["BEGIN", "END", "Region", "SolutionRegionError", "strip_solutions", "write_student_copies"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_NAME = re.compile(r"\bExercise\s+\d+(?:\.\d+)*")
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class SolutionRegionError(ValueError):
    """A ``### BEGIN SOLUTION`` without its ``### END SOLUTION`` (or the reverse, or nested)."""


@dataclass(frozen=True)
class Region:
    """One stripped solution.

    Attributes:
        cell: index of the code cell in the notebook.
        exercise: the name the stub raises with.
        solution: the region's lines (markers excluded), as they were.
        stub: the line that replaced them.
    """

    cell: int
    exercise: str
    solution: tuple[str, ...]
    stub: str


def _stub(exercise: str, indent: str) -> str:
    message = f"{exercise}: replace this line with your solution"
    return f"{indent}raise NotImplementedError({message!r})"


def _named_by_markdown(cells: list[NotebookNode], index: int) -> str | None:
    for cell in reversed(cells[:index]):
        if cell.cell_type == "markdown":
            names = set(_NAME.findall(cell.source))
            return names.pop() if len(names) == 1 else None
    return None


def _strip_cell(source: str, where: str, name_for) -> tuple[str, list[tuple[str, tuple[str, ...], str]]]:
    """The cell's source with each region replaced; ``name_for(text_before, n_before)`` names a
    region from the cell's text above it and the number of regions found earlier in the cell."""
    out: list[str] = []
    found: list[tuple[str, tuple[str, ...], str]] = []
    lines = source.splitlines()
    start: int | None = None
    for n, line in enumerate(lines):
        marker = line.strip()
        if marker == BEGIN:
            if start is not None:
                raise SolutionRegionError(
                    f"{where}: line {n + 1} opens a solution inside the one opened on line {start + 1}"
                )
            start = n
        elif marker == END:
            if start is None:
                raise SolutionRegionError(f"{where}: line {n + 1} closes a solution that was never opened")
            exercise = name_for("\n".join(lines[:start]), len(found))
            indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
            stub = _stub(exercise, indent)
            out.append(stub)
            found.append((exercise, tuple(lines[start + 1 : n]), stub))
            start = None
        elif start is None:
            out.append(line)
    if start is not None:
        raise SolutionRegionError(f"{where}: the solution opened on line {start + 1} has no '{END}' line")
    return "\n".join(out), found


def strip_solutions(nb: NotebookNode, name: str = "notebook") -> tuple[NotebookNode, list[Region]]:
    """The student copy of ``nb`` (``nb`` itself is left untouched) and the regions it stripped.

    Args:
        nb: a notebook (nbformat 4).
        name: the notebook's name, for messages and fallback exercise names.

    Returns:
        ``(copy, regions)``.

    Raises:
        SolutionRegionError: unbalanced or nested markers (naming the notebook, cell and line).
    """
    student = copy.deepcopy(nb)
    regions: list[Region] = []
    clearing = False
    drop_widgets = False
    for index, cell in enumerate(student.cells):
        if cell.cell_type == "markdown":
            clearing = False
            continue
        if cell.cell_type != "code":
            continue
        if BEGIN in cell.source or END in cell.source:

            def name_for(before: str, n_before: int, index: int = index) -> str:
                in_cell = _NAME.findall(before)
                if in_cell:
                    return in_cell[-1]
                fallback = f"{name} exercise {len(regions) + n_before + 1}"
                return _named_by_markdown(student.cells, index) or fallback

            source, found = _strip_cell(cell.source, f"{name}, cell {index}", name_for)
            if found:
                cell.source = source
                regions.extend(Region(index, ex, sol, stub) for ex, sol, stub in found)
                clearing = True
        if clearing:
            drop_widgets |= any(_WIDGET_VIEW in out.get("data", {}) for out in cell.get("outputs", []))
            cell.outputs = []
            cell.execution_count = None
    if drop_widgets:
        student.metadata.pop("widgets", None)
    return student, regions


def write_student_copies(notebooks: Iterable[str | Path], out_dir: str | Path) -> dict[Path, list[Region]]:
    """Write the student copy of each notebook into ``out_dir`` under the same file name.

    Args:
        notebooks: paths of ``.ipynb`` files.
        out_dir: the folder to write to (created if missing).

    Returns:
        ``{written path: stripped regions}``.

    Raises:
        FileNotFoundError: a notebook that does not exist.
        SolutionRegionError: unbalanced markers in a notebook (nothing is written for it).
        nbformat.ValidationError: a copy that is not valid nbformat.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[Path, list[Region]] = {}
    for path in map(Path, notebooks):
        if not path.is_file():
            raise FileNotFoundError(f"notebook {str(path)!r} does not exist")
        student, regions = strip_solutions(nbformat.read(path, as_version=4), path.stem)
        nbformat.validate(student)
        target = out / path.name
        write_text_atomic(nbformat.writes(student), target)
        written[target] = regions
    return written
