"""`make student`: solutions and their outputs are gone, stubs raise naming the exercise, copies validate."""

from __future__ import annotations

import ast
import json
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from recsys_lessons.classroom import BEGIN, END, SolutionRegionError, strip_solutions, write_student_copies

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9]*.ipynb"))


def _stream(text: str):
    return new_output("stream", name="stdout", text=text)


def _toy() -> nbformat.NotebookNode:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Toy\n\n## Exercises"),
            new_code_cell("print('lesson output')", outputs=[_stream("lesson output\n")], execution_count=1),
            new_markdown_cell("### Exercise 7.1 · a function"),
            new_code_cell(
                f"def double(x):\n    {BEGIN}\n    return 2 * x\n    {END}\n\nprint(double(21))",
                outputs=[_stream("the answer is 42\n")],
                execution_count=2,
            ),
            new_code_cell(
                "print('check:', double(4) == 8)", outputs=[_stream("check: True (answer 8)\n")], execution_count=3
            ),
            new_markdown_cell("Two regions in one cell, named in the cell."),
            new_code_cell(
                f"# Exercise 7.2\n{BEGIN}\nsecret = 'alpha-omega'\n{END}\n"
                f"# Exercise 7.3\n{BEGIN}\nother = 'beta-gamma'\n{END}",
                outputs=[_stream("alpha-omega\n")],
                execution_count=4,
            ),
            new_markdown_cell("No name anywhere."),
            new_code_cell(
                f"{BEGIN}\nanswer = 'unnamed-solution'\n{END}\n{BEGIN}\nmore = 'second-unnamed'\n{END}",
                execution_count=5,
            ),
            new_markdown_cell("After the exercises."),
            new_code_cell("print('kept')", outputs=[_stream("kept\n")], execution_count=6),
        ]
    )
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2, "version_minor": 0}
    }
    return nb


def test_toy_regions_become_named_stubs_and_outputs_are_cleared():
    nb = _toy()
    student, regions = strip_solutions(nb, "toy")
    assert [r.exercise for r in regions] == [
        "Exercise 7.1",
        "Exercise 7.2",
        "Exercise 7.3",
        "toy exercise 4",
        "toy exercise 5",
    ]
    nbformat.validate(student)
    text = json.dumps(student)
    for secret in (
        "return 2 * x",
        "alpha-omega",
        "beta-gamma",
        "unnamed-solution",
        "second-unnamed",
        "the answer is 42",
        "answer 8",
        BEGIN,
        END,
    ):
        assert secret not in text
    assert student.cells[1].outputs and student.cells[10].outputs  # lesson outputs stay
    assert (
        student.cells[3].outputs == [] and student.cells[4].outputs == [] and student.cells[3].execution_count is None
    )
    assert "lesson output" in nb.cells[1].outputs[0].text and BEGIN in nb.cells[3].source  # input untouched
    assert "widgets" in student.metadata  # no cleared output showed a widget


def test_toy_stubs_raise_naming_their_exercise_when_the_cells_run():
    student, _ = strip_solutions(_toy(), "toy")
    namespace: dict = {}
    # Running the copy's cells is the point of this test: exec is what the notebook would do.
    with pytest.raises(NotImplementedError, match=r"Exercise 7\.1"):
        exec(student.cells[3].source, namespace)  # noqa: S102  (defines double(), then calls it)
    with pytest.raises(NotImplementedError, match=r"Exercise 7\.2"):
        exec(student.cells[6].source, {})  # noqa: S102
    with pytest.raises(NotImplementedError, match="toy exercise 4"):
        exec(student.cells[8].source, {})  # noqa: S102


def test_widget_state_goes_when_a_cleared_output_showed_a_widget():
    nb = _toy()
    nb.cells[4].outputs = [
        new_output(
            "display_data",
            data={
                "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
                "text/plain": "VBox()",
            },
        )
    ]
    student, _ = strip_solutions(nb, "toy")
    assert "widgets" not in student.metadata


@pytest.mark.parametrize(
    "source, problem",
    [
        (f"{BEGIN}\nx = 1", "has no"),
        (f"x = 1\n{END}", "never opened"),
        (f"{BEGIN}\n{BEGIN}\n{END}", "inside"),
    ],
)
def test_unbalanced_markers_are_a_clear_error_naming_the_cell(source, problem, tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# t"), new_code_cell(source)])
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(SolutionRegionError, match=f"bad, cell 1: .*{problem}"):
        write_student_copies([path], tmp_path / "out")
    assert not (tmp_path / "out" / "bad.ipynb").exists()


def test_missing_notebook_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.ipynb"):
        write_student_copies([tmp_path / "nope.ipynb"], tmp_path / "out")


def _output_lines(cell) -> set[str]:
    lines = set()
    for out in cell.get("outputs", []):
        texts = [out.get("text", "")] + [v for v in out.get("data", {}).values() if isinstance(v, str)]
        lines |= {ln.strip() for t in texts for ln in t.splitlines() if len(ln.strip()) >= 12}
    return lines


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    return {path.name: (path, regions) for path, regions in write_student_copies(NOTEBOOKS, out).items()}


def test_every_committed_notebook_gets_a_valid_copy(copies):
    assert sorted(copies) == [p.name for p in NOTEBOOKS]
    for path, _ in copies.values():
        nbformat.validate(nbformat.read(path, as_version=4))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_solution_line_or_output_survives_and_each_stub_raises(notebook, copies):
    original = nbformat.read(notebook, as_version=4)
    path, regions = copies[notebook.name]
    student = nbformat.read(path, as_version=4)
    assert regions, f"{notebook.name} has no solution regions"
    solution_cells = {r.cell for r in regions}
    # Lines that also occur outside the solutions (imports, "print(...)" of lesson cells) may stay.
    public_src = {
        ln.strip() for i, c in enumerate(original.cells) if i not in solution_cells for ln in c.source.splitlines()
    }
    everything = json.dumps(student)
    for r in regions:
        for line in r.solution:
            if line.strip() and not line.strip().startswith("#") and line.strip() not in public_src:
                assert line.strip() not in student.cells[r.cell].source, (notebook.name, r.exercise, line)
    # Output lines of the solution cells that the lesson does not also show elsewhere are the answers:
    # none may survive anywhere in the copy (outputs, sources, widget state).
    kept = [c for c, s in zip(original.cells, student.cells, strict=True) if s.get("outputs")]
    shown_elsewhere = set().union(*(_output_lines(c) for c in kept))
    # Text the lesson writes in its public cells (a column name in a lesson cell's code) is no answer.
    public_text = "\n".join(c.source for i, c in enumerate(original.cells) if i not in solution_cells)
    for i in sorted(solution_cells):
        assert student.cells[i].outputs == [] and student.cells[i].execution_count is None
        secrets = {s for s in _output_lines(original.cells[i]) - shown_elsewhere if s not in public_text}
        assert not [s for s in secrets if json.dumps(s)[1:-1] in everything], (notebook.name, i)
    assert not [c for c in student.cells if c.cell_type == "code" and (BEGIN in c.source or END in c.source)]
    for r in regions:
        cell = student.cells[r.cell].source
        tree = ast.parse(cell)  # the copy is still valid Python
        assert r.stub in cell.splitlines()
        with pytest.raises(NotImplementedError, match=re.escape(r.exercise)):
            exec(textwrap.dedent(r.stub), {})  # noqa: S102  (the stub the learner will hit)
        if ast.get_source_segment(cell, tree.body[0]) == r.stub:
            # The stub opens the cell: running the whole cell stops there, before the check.
            with pytest.raises(NotImplementedError, match=re.escape(r.exercise)):
                exec(cell, {})  # noqa: S102
