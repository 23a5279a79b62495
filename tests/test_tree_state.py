"""`make test` ends by checking it left the git checkout as it found it (classroom.tree_state)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recsys_lessons.classroom import tree_state

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    def git(*args):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "lesson.ipynb").write_text("committed")
    git("add", ".")
    git("commit", "-q", "-m", "init")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_clean_tree_stays_clean(repo, capsys):
    assert tree_state.main(["snapshot", "build/before.json"]) == 0  # build/ is ignored: the record is too
    (repo / "build" / "screenshot.png").write_bytes(b"png")
    assert tree_state.main(["check", "build/before.json"]) == 0
    assert "git checkout unchanged (clean)" in capsys.readouterr().out


def test_a_rewritten_notebook_or_a_stray_file_fails(repo, capsys):
    tree_state.main(["snapshot", "build/before.json"])
    (repo / "lesson.ipynb").write_text("autosaved by JupyterLab")
    (repo / "stray.txt").write_text("x")
    assert tree_state.main(["check", "build/before.json"]) == 1
    err = capsys.readouterr().err
    assert "new:  M lesson.ipynb" in err and "new: ?? stray.txt" in err


def test_a_developers_own_edits_pass_but_a_further_rewrite_fails(repo, capsys):
    (repo / "lesson.ipynb").write_text("my edit")
    tree_state.main(["snapshot", "build/before.json"])
    assert tree_state.main(["check", "build/before.json"]) == 0
    assert "1 pre-existing change(s) untouched" in capsys.readouterr().out
    (repo / "lesson.ipynb").write_text("my edit, then overwritten by a test")
    assert tree_state.main(["check", "build/before.json"]) == 1
    assert "rewritten:  M lesson.ipynb" in capsys.readouterr().err


def test_check_without_snapshot_and_outside_git(repo, tmp_path_factory, monkeypatch, capsys):
    assert tree_state.main(["check", "build/none.json"]) == 2
    assert "no snapshot" in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="git status failed"):
        tree_state.state(tmp_path_factory.mktemp("not-a-repo"))


def test_make_test_runs_the_check_last():
    """The Makefile's `test` takes the snapshot before anything else and checks after the browser test."""
    make = (ROOT / "Makefile").read_text()
    test_rule = next(line for line in make.splitlines() if line.startswith("test:"))
    steps = test_rule.split(":", 1)[1].split()
    assert steps[0] == "tree-snapshot" and steps[-1] == "browser" and {"unit", "nbval"} <= set(steps)
    recipe = make.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "-m recsys_lessons.classroom.tree_state check" in recipe


def test_runs_on_the_standard_library_alone(repo):
    """`make test` takes the snapshot before anything is installed: no site-packages (python -S)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the checkout, as `python -m` from its top level sees it
    cmd = [sys.executable, "-S", "-m", "recsys_lessons.classroom.tree_state", "snapshot", "build/before.json"]
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((repo / "build" / "before.json").read_text()) == {}  # a clean tree
