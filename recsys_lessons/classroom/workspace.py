"""The learner's working folder: the lessons a learner runs and edits, apart from the committed ones.

JupyterLab autosaves whatever it has open. Pointed at ``notebooks/`` it would overwrite the
committed full-budget outputs with a learner's runs; pointed at a git-ignored copy it cannot.
``make lab`` calls ``fill`` (copy every lesson that is not there yet, never overwrite), and
``make restore LESSON=01`` calls ``restore`` (put back the committed copy of one lesson, keeping
the learner's copy aside).

Each copy is also *trusted* (signed in this machine's Jupyter signature database, as
``jupyter trust`` does): JupyterLab renders the saved widget views of a notebook only when it
is trusted, and these copies come from the checkout the learner chose to run.

Usage::

    python -m recsys_lessons.classroom.workspace fill [--source notebooks] [--target my-notebooks]
    python -m recsys_lessons.classroom.workspace restore [--source notebooks] [--target my-notebooks] 01
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbformat.sign import NotebookNotary

from .files import write_text_atomic

__all__ = ["fill", "find_lesson", "main", "make_notary", "restore"]

SOURCE = Path("notebooks")
TARGET = Path("my-notebooks")
# Where restore keeps the learner's copy it replaces (inside the git-ignored working folder).
ASIDE = ".replaced"


def _copy(src: Path, dst: Path, notary: NotebookNotary | None) -> None:
    """Copy ``src`` to ``dst`` atomically (a temp file then a rename); sign it when a notary is given.

    The signature is recorded first, so a copy that appears is trusted (a signature is keyed by the
    notebook's content, not its path)."""
    text = src.read_bytes().decode("utf-8")
    if notary is not None and src.suffix == ".ipynb":
        notary.sign(nbformat.reads(text, as_version=nbformat.NO_CONVERT))
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(text, dst)


def make_notary(data_dir: str | os.PathLike | None = None) -> NotebookNotary:
    """The notary that signs notebooks into ``data_dir``'s signature database (default: this
    machine's Jupyter data folder, where JupyterLab looks), creating the folder first: a notary
    opened on a missing folder silently falls back to a database in memory, which trusts nothing
    once this process ends."""
    if data_dir is None:
        from jupyter_core.paths import jupyter_data_dir

        data_dir = jupyter_data_dir()
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    return NotebookNotary(data_dir=str(data_dir))


def _lessons(source: Path) -> list[Path]:
    if not source.is_dir():
        raise FileNotFoundError(f"source folder {source} does not exist; run from the checkout's top level")
    return sorted(p for p in source.glob("*.ipynb") if p.is_file())


def fill(source: Path = SOURCE, target: Path = TARGET, notary: NotebookNotary | None = None) -> list[Path]:
    """Copy every notebook of ``source`` that ``target`` does not have yet; never overwrite one.

    Args:
        source: the committed notebooks.
        target: the learner's working folder (created if missing).
        notary: signs each new copy (default: :func:`make_notary`).

    Returns:
        The copies made (empty when the folder was already complete).

    Raises:
        FileNotFoundError: ``source`` is not a folder.
    """
    notary = make_notary() if notary is None else notary
    made = []
    for nb in _lessons(source):
        dst = target / nb.name
        if dst.exists():
            continue  # the learner's copy, whatever state it is in, is theirs
        _copy(nb, dst, notary)
        made.append(dst)
    return made


def find_lesson(lesson: str, source: Path = SOURCE) -> Path:
    """The committed notebook a lesson name refers to: ``"01"``, ``"1"``, ``"01_collaborative_filtering"``
    or its file name.

    Raises:
        ValueError: an empty name. KeyError: no notebook, or several, match (the message lists them).
    """
    lesson = lesson.strip().removesuffix(".ipynb")
    names = [p.stem for p in _lessons(source)]
    if not lesson:
        raise ValueError(f"no lesson given; expected e.g. LESSON=01 (one of {', '.join(names)})")
    if lesson.isdigit():
        lesson = f"{int(lesson):02d}"
    matches = [p for p in _lessons(source) if p.stem == lesson or p.stem.split("_", 1)[0] == lesson]
    if len(matches) != 1:
        what = "matches no" if not matches else "matches several"
        raise KeyError(f"lesson {lesson!r} {what} notebook in {source}/; expected one of {', '.join(names)}")
    return matches[0]


def restore(
    lesson: str, source: Path = SOURCE, target: Path = TARGET, notary: NotebookNotary | None = None
) -> tuple[Path, Path | None]:
    """Replace the learner's copy of one lesson with the committed one, keeping theirs aside.

    Returns:
        The restored copy, and where the learner's previous copy was moved (``None`` if there was none),
        ``<target>/.replaced/<name>-<UTC time>.ipynb``.

    Raises:
        ValueError, KeyError: see :func:`find_lesson`.
    """
    notary = make_notary() if notary is None else notary
    src = find_lesson(lesson, source)
    dst = target / src.name
    aside = None
    if dst.exists():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = target / ASIDE / f"{src.stem}-{stamp}{src.suffix}"
        n = 1
        while aside.exists():  # two restores within one second
            aside, n = target / ASIDE / f"{src.stem}-{stamp}-{n}{src.suffix}", n + 1
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.replace(dst, aside)
    _copy(src, dst, notary)
    return dst, aside


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring); returns the exit status."""
    folders = argparse.ArgumentParser(add_help=False)
    folders.add_argument("--source", type=Path, default=SOURCE, help=f"committed notebooks (default {SOURCE})")
    folders.add_argument("--target", type=Path, default=TARGET, help=f"working folder (default {TARGET})")
    parser = argparse.ArgumentParser(
        prog="python -m recsys_lessons.classroom.workspace", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fill", parents=[folders], help="copy the lessons the working folder does not have yet")
    r = sub.add_parser("restore", parents=[folders], help="put back the committed copy of one lesson")
    r.add_argument("lesson", help="e.g. 01, or 01_collaborative_filtering")
    args = parser.parse_args(argv)
    try:
        if args.command == "fill":
            made = fill(args.source, args.target)
            kept = len(_lessons(args.source)) - len(made)
            print(
                f"{args.target}/: {len(made)} lesson(s) copied from {args.source}/"
                + (f", {kept} already there (kept as they are)" if kept else "")
            )
            for path in made:
                print(f"  + {path}")
        else:
            dst, aside = restore(args.lesson, args.source, args.target)
            print(f"restored {dst} from {args.source}/" + (f"; your copy is now {aside}" if aside else ""))
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
