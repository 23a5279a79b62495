"""The learner's working folder (``make lab`` fills it, ``make restore`` puts one lesson back)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from recsys_lessons.classroom import workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def notary(tmp_path) -> NotebookNotary:
    return workspace.make_notary(tmp_path / "jupyter-data")  # never this machine's database


def _trusted(path: Path, data_dir: Path) -> bool:
    """Whether a JupyterLab using ``data_dir`` would trust ``path`` (a fresh notary, as a new server opens)."""
    with NotebookNotary(data_dir=str(data_dir)) as fresh:
        return fresh.check_signature(nbformat.read(path, as_version=4))


@pytest.fixture
def source(tmp_path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("00_setup", "01_collaborative", "02_content"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"print('{name}')")])
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def test_fill_copies_every_lesson_once_and_signs_it(source, tmp_path, notary):
    target = tmp_path / "my-notebooks"
    made = workspace.fill(source, target, notary)
    assert [p.name for p in made] == ["00_setup.ipynb", "01_collaborative.ipynb", "02_content.ipynb"]
    for p in made:
        assert p.read_bytes() == (source / p.name).read_bytes()
        assert _trusted(p, tmp_path / "jupyter-data")  # signed on disk: JupyterLab renders its saved widgets
    (tmp_path / "elsewhere").mkdir()
    assert not _trusted(source / "00_setup.ipynb", tmp_path / "elsewhere")  # another machine: untrusted
    assert list(target.glob(".*.tmp")) == []


def test_fill_never_overwrites_a_learners_copy(source, tmp_path, notary):
    target = tmp_path / "my-notebooks"
    workspace.fill(source, target, notary)
    mine = target / "01_collaborative.ipynb"
    mine.write_text("my edits")
    (target / "02_content.ipynb").unlink()
    made = workspace.fill(source, target, notary)
    assert made == [target / "02_content.ipynb"]  # only the missing one comes back
    assert mine.read_text() == "my edits"


def test_restore_puts_back_one_lesson_and_keeps_the_learners_copy(source, tmp_path, notary):
    target = tmp_path / "my-notebooks"
    workspace.fill(source, target, notary)
    mine = target / "01_collaborative.ipynb"
    mine.write_text("my edits")
    restored, aside = workspace.restore("01", source, target, notary)
    assert restored == mine and mine.read_bytes() == (source / mine.name).read_bytes()
    assert aside.parent == target / ".replaced" and aside.read_text() == "my edits"
    _, second = workspace.restore("1", source, target, notary)  # same second: a distinct name
    assert second != aside and aside.exists()
    (target / "02_content.ipynb").unlink()
    assert workspace.restore("02_content", source, target, notary)[1] is None  # nothing to keep aside


def test_lesson_names_and_their_errors(source):
    assert workspace.find_lesson("01", source).name == "01_collaborative.ipynb"
    assert workspace.find_lesson("2", source).name == "02_content.ipynb"
    assert workspace.find_lesson("00_setup.ipynb", source).name == "00_setup.ipynb"
    with pytest.raises(KeyError, match=r"'07' matches no notebook .*00_setup, 01_collaborative, 02_content"):
        workspace.find_lesson("07", source)
    with pytest.raises(ValueError, match=r"no lesson given; expected e\.g\. LESSON=01"):
        workspace.find_lesson(" ", source)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        workspace.fill(source.parent / "nowhere", source.parent / "t")


def test_command_line(source, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "fresh" / "jupyter-data"))  # not there yet
    target = tmp_path / "work"
    args = ["--source", str(source), "--target", str(target)]
    assert workspace.main(["fill", *args]) == 0
    assert "3 lesson(s) copied" in capsys.readouterr().out
    assert _trusted(target / "01_collaborative.ipynb", tmp_path / "fresh" / "jupyter-data")
    assert workspace.main(["fill", *args]) == 0
    assert "0 lesson(s) copied from" in capsys.readouterr().out
    assert workspace.main(["restore", *args, "01"]) == 0
    assert "your copy is now" in capsys.readouterr().out
    assert workspace.main(["restore", *args, ""]) == 2
    assert "error: no lesson given" in capsys.readouterr().err


def test_the_working_folder_is_git_ignored():
    import subprocess

    ignored = subprocess.run(["git", "check-ignore", "-q", str(ROOT / workspace.TARGET / "01_x.ipynb")], cwd=ROOT)
    assert ignored.returncode == 0, f"{workspace.TARGET}/ must be in .gitignore: JupyterLab autosaves there"
