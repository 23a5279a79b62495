"""`make html`: one page per lesson with its outputs, and an index of titles, goals and run times."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from recsys_lessons.classroom import build_site, lesson_of, run_seconds

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9]*.ipynb"))


def _timed(start: str, end: str):
    return {"execution": {"iopub.execute_input": start, "shell.execute_reply": end}}


def test_run_seconds_sums_the_recorded_cell_times():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# T"),
            new_code_cell("a", metadata=_timed("2026-01-01T10:00:00.000Z", "2026-01-01T10:00:01.500Z")),
            new_code_cell("b", metadata=_timed("2026-01-01T10:00:05.000Z", "2026-01-01T10:01:05.250Z")),
            new_code_cell("c"),  # never ran: skipped
        ]
    )
    assert run_seconds(nb) == pytest.approx(1.5 + 60.25)
    assert run_seconds(new_notebook(cells=[new_code_cell("x")])) is None


def test_lesson_title_and_goals_come_from_the_first_markdown_cell():
    nb = new_notebook(cells=[new_code_cell("x"), new_markdown_cell("# 09 · Title\n\n**You will learn**\n- one thing")])
    lesson = lesson_of(nb, "09.html", "09_x")
    assert lesson.title == "09 · Title" and "<li>one thing</li>" in lesson.goals_html and lesson.seconds is None
    assert lesson_of(new_notebook(cells=[new_markdown_cell("no heading")]), "p.html", "fallback").title == "fallback"


def test_bad_input_is_named(tmp_path):
    with pytest.raises(ValueError, match="no notebooks"):
        build_site([], tmp_path)
    with pytest.raises(FileNotFoundError, match=r"missing\.ipynb"):
        build_site([tmp_path / "missing.ipynb"], tmp_path)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    return out, build_site(NOTEBOOKS, out)


def test_one_page_per_lesson_with_its_outputs(site):
    out, _ = site
    assert sorted(p.name for p in out.glob("*.html")) == sorted([f"{p.stem}.html" for p in NOTEBOOKS] + ["index.html"])
    for nb_path in NOTEBOOKS:
        page = (out / f"{nb_path.stem}.html").read_text(encoding="utf-8")
        nb = nbformat.read(nb_path, as_version=4)
        first_image = next(
            o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})
        )
        assert first_image["data"]["image/png"][:200] in page  # outputs are kept
        if "widgets" in nb.metadata:
            assert "application/vnd.jupyter.widget-state+json" in page  # widget state is embedded


def test_index_lists_every_lesson_with_goals_and_run_time(site):
    _, index = site
    text = index.read_text(encoding="utf-8")
    for nb_path in NOTEBOOKS:
        nb = nbformat.read(nb_path, as_version=4)
        lesson = lesson_of(nb, f"{nb_path.stem}.html", nb_path.stem)
        assert f'href="{nb_path.stem}.html"' in text and lesson.goals_html in text
        assert lesson.seconds is not None and lesson.seconds > 0  # committed notebooks carry timings
    assert text.count("<tr><td><a href=") == len(NOTEBOOKS)
