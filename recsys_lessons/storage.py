"""Writing files safely: atomic replacement, whole-folder saves and the lock between processes.

Every file the package writes (downloads, the embedding cache, model saves) goes through here, so
an interrupted kernel, a killed process or a full disk leaves either the old good copy or nothing,
never a half-written file; and two processes filling the same folder (two notebooks, two pytest
workers) do the work once, the second waiting for the first and then reading its result.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

__all__ = [
    "LOCK_NAME",
    "FolderNotWritableError",
    "atomic_file",
    "atomic_folder",
    "folder_lock",
    "is_write_error",
    "not_writable",
    "remove_stale_parts",
    "write_section",
]

LOCK_NAME = ".lock"
# errno values that mean "this folder cannot take the file", not a network or data problem.
_WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


class FolderNotWritableError(OSError):
    """A folder cannot be written (read-only, no permission, disk full); the message says what to do."""


def is_write_error(exc: BaseException) -> bool:
    """True for an ``OSError`` that says the disk or folder refused a write (not a network error)."""
    return isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS


def not_writable(folder: Path, exc: OSError, what: str) -> FolderNotWritableError:
    """The error to raise when writing ``what`` into ``folder`` failed with ``exc``."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        problem, fix = "the disk is full", "free some space there"
    else:
        problem, fix = "the folder is read-only or not yours", "make it writable"
    return FolderNotWritableError(
        exc.errno,
        f"cannot write {what} into {folder}: {problem} ({os.strerror(exc.errno or 0)}). Nothing was left "
        f"half-written. To fix: {fix}, or set RECSYS_LESSONS_DATA to a writable folder on a disk with space.",
    )


@contextmanager
def folder_lock(folder: Path, what: str, timeout: float = 900.0) -> Iterator[None]:
    """Hold the inter-process lock of ``folder`` (its ``.lock`` file), waiting up to ``timeout`` s.

    The lock is an OS file lock (``flock``), released by the kernel if the holder dies, so a
    killed process never leaves a stale lock behind.

    Raises:
        FolderNotWritableError: the lock file cannot be created (read-only folder, full disk).
        TimeoutError: another process held the lock for longer than ``timeout`` seconds.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder / LOCK_NAME), timeout=timeout)
        lock.acquire()
    except Timeout as exc:
        raise TimeoutError(
            f"another process has been writing {what} into {folder} for over {timeout:.0f} s; "
            "wait for it to finish (or stop it) and try again"
        ) from exc
    except OSError as exc:
        if is_write_error(exc):
            raise not_writable(folder, exc, what) from exc
        raise
    try:
        yield
    finally:
        lock.release()


@contextmanager
def atomic_file(path: Path, what: str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    On any exception (``KeyboardInterrupt`` included) the temporary file is removed and ``path``
    keeps its old contents (or stays absent). A write refused by the disk is re-raised as
    :class:`FolderNotWritableError` naming the folder and what to do.
    """
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=folder)
    except OSError as exc:
        if is_write_error(exc):
            raise not_writable(folder, exc, what) from exc
        raise
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        if is_write_error(exc):
            raise not_writable(folder, exc, what) from exc
        raise
    finally:
        tmp.unlink(missing_ok=True)


def remove_stale_parts(folder: Path, stem: str) -> None:
    """Remove temporary files a killed writer left in ``folder`` (call it while holding the lock)."""
    for p in folder.glob(f"{stem}.*.part"):
        p.unlink(missing_ok=True)
    for p in folder.glob(f".{stem}.*.tmpdir"):
        shutil.rmtree(p, ignore_errors=True)


@contextmanager
def atomic_folder(folder: str | os.PathLike, marker: str, what: str) -> Iterator[Path]:
    """Save a set of files into ``folder`` all or nothing; yields a temporary folder to write them in.

    Everything is written into a hidden temporary folder beside ``folder`` (the slow part, where an
    interrupt most likely lands: then ``folder`` is untouched). On success the old ``marker`` file
    (the one a loader checks first) is removed, every new file is renamed into ``folder`` and the
    new ``marker`` comes last, so a crash mid-way leaves a folder the loader refuses, never a mix of
    old and new files it would accept. Files in ``folder`` that this save does not write are kept.

    Raises:
        FolderNotWritableError: ``folder`` cannot be written (read-only, full disk).
    """
    folder = Path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmpdir", dir=folder.parent))
    except OSError as exc:
        if is_write_error(exc):
            raise not_writable(folder.parent, exc, what) from exc
        raise
    try:
        yield tmp
        names = sorted(p.name for p in tmp.iterdir())
        if marker not in names:
            raise RuntimeError(f"the save wrote no {marker}")  # a bug in the caller, never the user's fault
        folder.mkdir(exist_ok=True)
        (folder / marker).unlink(missing_ok=True)
        for name in [n for n in names if n != marker] + [marker]:
            os.replace(tmp / name, folder / name)
    except OSError as exc:
        if is_write_error(exc):
            raise not_writable(folder, exc, what) from exc
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_section(path: Path, section: str, begin: str, end: str, title: str = "# Benchmark results") -> None:
    """Put ``section`` into the Markdown file ``path`` between the markers ``begin`` and ``end``.

    The rest of the file is kept; a file without the markers gets the section appended, a missing
    file is created with ``title``. Several tools (``make bench``, ``make reproduce``, the cost
    curves) each own one section of ``benchmarks/RESULTS.md`` this way. The write is atomic.

    Args:
        path: the Markdown file.
        section: the new text, without the markers.
        begin: the opening marker, e.g. ``"<!-- lesson-resources:begin -->"``.
        end: the closing marker.
        title: the first line of a new file.

    Raises:
        ValueError: if ``section`` itself contains a marker.
    """
    if begin in section or end in section:
        raise ValueError(f"the section text must not contain its markers {begin!r} / {end!r}")
    block = f"{begin}\n{section.strip(chr(10))}\n{end}"
    text = path.read_text() if path.exists() else f"{title}\n"
    if begin in text and end in text.split(begin, 1)[1]:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with atomic_file(path, "the results file") as tmp:
        tmp.write_text(text)
