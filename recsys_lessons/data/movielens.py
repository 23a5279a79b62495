"""MovieLens parsers: the official archives and the package-index mirror into one tidy form.

Whatever the source, :func:`load_movielens` returns the same tables (same rows, ids and titles):
titles lose their year and have their article moved to the front, genres become lists, and every
item gets the text the content and BERT lessons read (``"Title (year). Genres: A, B."``).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .containers import Dataset
from .sources import MIRRORS, NETWORK_TIMEOUT, Source, _Mirror, fetch, normalise_name

__all__ = ["GENRES_100K", "load_movielens"]

GENRES_100K = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]

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
        for t, y, g in zip(items.title, items.year, items.genres, strict=True)
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
    return [[g for g, on in zip(GENRES_100K, row, strict=True) if on and g != "unknown"] for row in flags]


def _release_years(dates: pd.Series) -> np.ndarray:
    return pd.to_datetime(dates, format="%d-%b-%Y", errors="coerce").dt.year.to_numpy()


def _parse_100k_zip(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with zipfile.ZipFile(path) as zf:
        ratings = pd.read_csv(
            zf.open("ml-100k/u.data"),
            sep="\t",
            header=None,
            names=["user_id", "item_id", "rating", "timestamp"],
        )
        cols = ["item_id", "title", "release_date", "video_release_date", "url", *GENRES_100K]
        raw_items = pd.read_csv(
            zf.open("ml-100k/u.item"),
            sep="|",
            header=None,
            names=cols,
            encoding="latin-1",
            keep_default_na=False,
            na_values=[""],
        )
        users = pd.read_csv(
            zf.open("ml-100k/u.user"),
            sep="|",
            header=None,
            names=["user_id", "age", "gender", "occupation", "zip_code"],
            dtype={"zip_code": str},
        )
    items = _tidy_items(
        raw_items.item_id,
        raw_items.title.fillna(""),
        _genre_lists(raw_items[GENRES_100K].to_numpy()),
        _release_years(raw_items.release_date),
    )
    return _tidy_ratings(ratings), items, _tidy_users(users)


def _parse_100k_mirror(path: Path, mirror: _Mirror) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with zipfile.ZipFile(path) as zf:
        tables = {k: pd.read_parquet(io.BytesIO(zf.read(m))) for k, m in mirror.members.items()}
    ratings = tables["data"].rename(columns={"movie_id": "item_id"})
    raw = tables["items"]
    items = _tidy_items(
        raw.movie_id,
        raw.movie_title.fillna(""),
        _genre_lists(raw[GENRES_100K].to_numpy()),
        _release_years(raw.release_date),
    )
    return _tidy_ratings(ratings), items, _tidy_users(tables["users"])


def _tidy_users(users: pd.DataFrame) -> pd.DataFrame:
    return (
        pd.DataFrame(
            {
                "user_id": users["user_id"].to_numpy(np.int64),
                "age": users["age"].to_numpy(np.int64),
                "gender": users["gender"].astype(str).to_numpy(),
                "occupation": users["occupation"].astype(str).to_numpy(),
                "zip_code": users["zip_code"].astype(str).to_numpy(),
            }
        )
        .sort_values("user_id")
        .reset_index(drop=True)
    )


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
        movies.item_id.astype(np.int64),
        movies.title,
        [[g for g in s.split("|") if g and g != "(no genres listed)"] for s in movies.genres],
    )
    return _tidy_ratings(ratings), items, _tidy_users(users)


def _parse_csv_zip(path: Path, folder: str) -> tuple[pd.DataFrame, pd.DataFrame, None]:
    """The CSV releases (``ml-latest-small``, ``ml-20m``): ``ratings.csv`` and ``movies.csv`` in ``folder``."""
    with zipfile.ZipFile(path) as zf:
        ratings = pd.read_csv(zf.open(f"{folder}/ratings.csv")).rename(
            columns={"userId": "user_id", "movieId": "item_id"}
        )
        movies = pd.read_csv(zf.open(f"{folder}/movies.csv"), encoding="utf-8")
    items = _tidy_items(
        movies.movieId,
        movies.title,
        [[g for g in s.split("|") if g and g != "(no genres listed)"] for s in movies.genres],
    )
    return _tidy_ratings(ratings), items, None


def load_movielens(
    name: str = "100k",
    source: Source = "auto",
    data_dir: str | os.PathLike | None = None,
    timeout: float = NETWORK_TIMEOUT,
) -> Dataset:
    """Load a MovieLens dataset as tidy tables, fetching and verifying it if needed.

    Args:
        name: ``"100k"`` (the course dataset), ``"1m"``, ``"20m"`` or ``"latest-small"``.
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
    key = normalise_name(name)
    path, origin = fetch(key, source, data_dir, timeout)
    mirror = MIRRORS.get(key)
    if mirror is not None and path.name == mirror.filename:
        ratings, items, users = _parse_100k_mirror(path, mirror)
    elif key == "100k":
        ratings, items, users = _parse_100k_zip(path)
    elif key == "1m":
        ratings, items, users = _parse_1m_zip(path)
    else:
        ratings, items, users = _parse_csv_zip(path, f"ml-{key}")
    return Dataset(key, ratings, items, users, origin)
