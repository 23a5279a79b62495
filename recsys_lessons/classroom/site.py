"""The class page: every executed lesson as an HTML page, and an index of goals and run times.

Pages are nbconvert's HTML export of the committed notebooks with their outputs; nbconvert embeds
the notebook's saved widget state, so widgets render (without a kernel) where the browser may load
the widget manager. The index lists each lesson's title, its goals (the rest of its first markdown
cell) and its run time: the sum over code cells of the time between the kernel receiving the cell
and replying, as recorded in each cell's ``metadata.execution`` by the run that saved the outputs.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html
from nbformat import NotebookNode

from .files import write_text_atomic

__all__ = ["Lesson", "build_site", "lesson_of", "run_seconds"]


@dataclass(frozen=True)
class Lesson:
    """One line of the index.

    Attributes:
        page: the HTML file name of the lesson's page.
        title: the first heading of the first markdown cell (else the notebook's name).
        goals_html: the rest of that cell, rendered.
        seconds: the recorded run time, or ``None`` when the notebook carries no timings.
    """

    page: str
    title: str
    goals_html: str
    seconds: float | None


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def run_seconds(nb: NotebookNode) -> float | None:
    """The sum of the code cells' recorded execution times, in seconds.

    A cell's time is ``shell.execute_reply - iopub.execute_input`` from its ``metadata.execution``
    (written by nbconvert/nbclient and JupyterLab). Cells without both stamps are skipped.

    Args:
        nb: an executed notebook.

    Returns:
        The total, or ``None`` when no code cell has both stamps.
    """
    total, timed = 0.0, 0
    for cell in nb.cells:
        stamps = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in stamps and "shell.execute_reply" in stamps:
            total += (_time(stamps["shell.execute_reply"]) - _time(stamps["iopub.execute_input"])).total_seconds()
            timed += 1
    return total if timed else None


def lesson_of(nb: NotebookNode, page: str, fallback_title: str) -> Lesson:
    """The index entry of a notebook: title and goals from its first markdown cell, run time.

    Args:
        nb: the notebook.
        page: the file name of its page.
        fallback_title: the title when the notebook has no markdown heading.

    Returns:
        The lesson.
    """
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    lines = first.strip().splitlines()
    if lines and lines[0].startswith("#"):
        title, rest = lines[0].lstrip("#").strip(), "\n".join(lines[1:])
    else:
        title, rest = fallback_title, "\n".join(lines)
    return Lesson(page, title, markdown2html(rest), run_seconds(nb))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def _index(lessons: list[Lesson]) -> str:
    rows = "\n".join(
        f'<tr><td><a href="{html.escape(les.page)}">{html.escape(les.title)}</a></td>'
        f"<td>{les.goals_html}</td><td>{_duration(les.seconds)}</td></tr>"
        for les in lessons
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>recsys-lessons: the class page</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; }}
td, th {{ vertical-align: top; text-align: left; padding: .5rem; border-bottom: 1px solid #ddd; }}
td:last-child {{ white-space: nowrap; }}
</style></head>
<body>
<h1>recsys-lessons</h1>
<p>The executed lessons with their outputs. Run time: the recorded execution time of the run that
saved the outputs (the default budget, on a CPU).</p>
<table><thead><tr><th>lesson</th><th>goals</th><th>run time</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""


def build_site(notebooks: Iterable[str | Path], out_dir: str | Path) -> Path:
    """Render each notebook to ``out_dir/<name>.html`` and write ``out_dir/index.html``.

    Args:
        notebooks: executed ``.ipynb`` files, in the order the index lists them.
        out_dir: the folder to write to (created if missing).

    Returns:
        The path of the index.

    Raises:
        FileNotFoundError: a notebook that does not exist.
        ValueError: no notebooks.
    """
    paths = [Path(p) for p in notebooks]
    if not paths:
        raise ValueError("no notebooks to render; expected at least one .ipynb path")
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"notebook {str(path)!r} does not exist")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    lessons = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        page = f"{path.stem}.html"
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        write_text_atomic(body, out / page)
        lessons.append(lesson_of(nb, page, path.stem))
    index = out / "index.html"
    write_text_atomic(_index(lessons), index)
    return index
