"""The sentence encoder and the embedding cache (real bundled model; only a handful of texts)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lessons import text as T
from recsys_lessons.train import get_device

TEXTS = [
    "Star Wars (1977). Genres: Action, Adventure, Romance, Sci-Fi, War.",
    "Sleepless in Seattle (1993). Genres: Comedy, Romance.",
    "Alien (1979). Genres: Action, Horror, Sci-Fi, Thriller.",
    "Toy Story (1995). Genres: Animation, Children's, Comedy.",
    "a much longer text about robots, spaceships, distant planets and a rebellion against an empire",
]


@pytest.fixture(scope="module")
def encoder() -> T.Encoder:
    return T.load_encoder()


# -- pooling and the encoder ------------------------------------------------------------------


def test_mean_pool_matches_a_hand_computed_masked_mean():
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 4.0], [100.0, 100.0]], [[0.0, 2.0], [0.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    out = T.mean_pool(hidden, mask).numpy()
    first = np.array([2.0, 2.0]) / np.linalg.norm([2.0, 2.0])  # mean of the two real tokens
    np.testing.assert_allclose(out, [first, [0.0, 1.0]], atol=1e-7)


def test_encoder_is_the_bundled_minilm(encoder):
    assert encoder.dim == 384
    assert encoder.fingerprint == f"sha256:{T.BUNDLED_SHA256}"
    assert encoder.device == get_device(None)  # the device get_device picks (CPU on this machine)
    assert not encoder.model.training


def test_embeddings_are_unit_norm_and_deterministic(encoder):
    a = encoder.encode(TEXTS, batch_size=2)
    b = encoder.encode(TEXTS, batch_size=2)
    assert a.shape == (len(TEXTS), 384) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(a, b)


def test_rows_follow_input_order_whatever_the_batching(encoder):
    ref = encoder.encode(TEXTS, batch_size=64)
    reversed_ = encoder.encode(TEXTS[::-1], batch_size=3)[::-1]
    one_by_one = encoder.encode(TEXTS, batch_size=1)
    np.testing.assert_allclose(reversed_, ref, atol=1e-5)
    np.testing.assert_allclose(one_by_one, ref, atol=1e-5)
    # The batches depend on the set of texts, not their order: a shuffled input gives the same bits.
    np.testing.assert_array_equal(encoder.encode(TEXTS[::-1], batch_size=64)[::-1], ref)


def test_identical_texts_get_bit_identical_embeddings(encoder):
    # Lesson 02's genres-only texts: many movies share one text. Before each distinct text was
    # encoded once, the copies sat in batches padded to different lengths and came out ~1e-7
    # apart, so their tie order (and a printed recall) changed from run to run.
    genre = "Genres: Comedy, Romance."
    texts = [genre, TEXTS[4], "Genres: Drama.", genre, TEXTS[0], genre, "Genres: Drama."]
    emb = encoder.encode(texts, batch_size=2)
    for a, b in [(0, 3), (0, 5), (2, 6)]:
        assert emb[a].tobytes() == emb[b].tobytes()
    assert not np.array_equal(emb[0], emb[2])  # different texts still differ
    # The same vector as when the text is embedded on its own among other texts.
    np.testing.assert_array_equal(encoder.encode([genre, TEXTS[1]], batch_size=2)[0], emb[0])


def test_no_padding_the_batches_hold_one_token_length(encoder, monkeypatch):
    seen = []
    real = encoder.model.forward

    def spy(**batch):
        seen.append(batch["attention_mask"])
        return real(**batch)

    monkeypatch.setattr(encoder.model, "forward", spy)
    encoder.encode(TEXTS + TEXTS[:2], batch_size=2)
    assert all(bool(mask.all()) for mask in seen)  # every token real: nothing was padded
    assert sum(len(mask) for mask in seen) == len(TEXTS)  # each distinct text went through once


def test_embedding_equals_an_unpadded_forward_pass_by_hand(encoder):
    text = TEXTS[2]
    batch = encoder.tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        hidden = encoder.model(**batch).last_hidden_state[0].numpy()  # (seq, 384)
    ref = hidden.mean(0) / np.linalg.norm(hidden.mean(0))
    # Padding to the longest text of the batch must not change the pooled vector.
    got = encoder.encode(TEXTS, batch_size=64)[2]
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_similar_meanings_are_closer(encoder):
    q = encoder.encode(["space adventure with robots"])[0]
    e = encoder.encode(TEXTS[:2])
    assert q @ e[0] > q @ e[1]  # Star Wars before the romantic comedy


def test_load_encoder_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="max_length"):
        T.load_encoder(max_length=0)
    with pytest.raises(OSError):
        T.load_encoder(tmp_path / "no-such-model")


def test_a_local_folder_gets_a_weights_fingerprint(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"abc")
    fp1 = T._weights_fingerprint(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"abd")
    os.utime(tmp_path / "model.safetensors", (1, 1))  # new mtime: the hash is recomputed
    assert fp1 != T._weights_fingerprint(tmp_path)
    assert T._weights_fingerprint(tmp_path / "missing") is None


def test_resolve_model_and_quiet_transformers():
    folder = Path(T.resolve_model(None))
    assert T.file_hash(folder / "model.safetensors") == T.BUNDLED_SHA256  # the official weights
    assert T.resolve_model("bert-base-uncased") == "bert-base-uncased"  # other names pass through
    import transformers

    transformers.logging.set_verbosity_info()
    T.quiet_transformers()
    assert transformers.logging.get_verbosity() == transformers.logging.ERROR
    assert not transformers.utils.logging.is_progress_bar_enabled()


# -- what can be embedded -----------------------------------------------------------------------


def test_item_texts_accepts_strings_lists_and_tables(tiny):
    assert T.item_texts("hello") == ["hello"]
    assert T.item_texts(("a", "b")) == ["a", "b"]
    assert T.item_texts(pd.DataFrame({"text": ["x", "y"]})) == ["x", "y"]
    assert T.item_texts(tiny) == tiny.items["text"].tolist()


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (42, TypeError, "int"),
        (["ok", 3], TypeError, "text #1"),
        ([], ValueError, "no texts"),
        (pd.DataFrame({"title": ["x"]}), ValueError, "'text' column"),
        (pd.DataFrame({"text": ["x", None]}), TypeError, "text #1"),
    ],
)
def test_item_texts_rejects_bad_inputs(bad, error, match):
    with pytest.raises(error, match=match):
        T.item_texts(bad)


def test_embed_items_rejects_bad_arguments(encoder, tmp_path):
    with pytest.raises(TypeError, match="Encoder"):
        T.embed_items(["a"], encoder="all-MiniLM-L6-v2", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="batch_size"):
        T.embed_items(["a"], encoder, batch_size=0, cache_dir=tmp_path)


# -- the cache ----------------------------------------------------------------------------------


class _Counter:
    """Wraps Encoder.encode to count how often the model really runs."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real = T.Encoder.encode

        def counted(enc, texts, batch_size=64, progress=False):
            self.calls += 1
            return real(enc, texts, batch_size, progress)

        monkeypatch.setattr(T.Encoder, "encode", counted)


def test_cache_hit_returns_the_same_array_without_running_the_model(encoder, tmp_path, monkeypatch):
    counter = _Counter(monkeypatch)
    first = T.embed_items(TEXTS, encoder, cache_dir=tmp_path, progress=False)
    assert counter.calls == 1
    path = T.embedding_cache_path(TEXTS, encoder, tmp_path)
    assert path.exists() and path.suffix == ".safetensors"
    second = T.embed_items(TEXTS, encoder, cache_dir=tmp_path, progress=False)
    assert counter.calls == 1  # read from disk
    np.testing.assert_array_equal(first, second)
    # no temporary file left behind (the empty lock file is kept: see storage.folder_lock)
    assert [p.name for p in tmp_path.iterdir() if p.name != ".lock"] == [path.name]


def test_changed_text_or_model_misses_the_cache(encoder, tmp_path, monkeypatch):
    counter = _Counter(monkeypatch)
    T.embed_items(TEXTS, encoder, cache_dir=tmp_path, progress=False)
    changed = TEXTS[:-1] + [TEXTS[-1] + "!"]
    assert T.embedding_cache_path(changed, encoder, tmp_path) != T.embedding_cache_path(TEXTS, encoder, tmp_path)
    T.embed_items(changed, encoder, cache_dir=tmp_path, progress=False)
    assert counter.calls == 2
    other = dataclasses.replace(encoder, fingerprint="sha256:another-model")
    assert T.embedding_cache_path(TEXTS, other, tmp_path) != T.embedding_cache_path(TEXTS, encoder, tmp_path)
    T.embed_items(TEXTS, other, cache_dir=tmp_path, progress=False)
    assert counter.calls == 3
    shorter = dataclasses.replace(encoder, max_length=4)  # truncation changes the vectors too
    assert T.embedding_cache_path(TEXTS, shorter, tmp_path) != T.embedding_cache_path(TEXTS, encoder, tmp_path)
    # Concatenation ambiguity: the same characters split differently are different texts.
    assert T.embedding_cache_path(["ab", "c"], encoder, tmp_path) != T.embedding_cache_path(["a", "bc"], encoder, tmp_path)


def test_cached_and_fresh_embeddings_agree_bit_for_bit(encoder, tmp_path, monkeypatch):
    texts = TEXTS + [TEXTS[1], "Genres: Drama.", TEXTS[1]]
    fresh = T.embed_items(texts, encoder, cache=False)
    written = T.embed_items(texts, encoder, cache_dir=tmp_path, progress=False)  # computed, then cached
    counter = _Counter(monkeypatch)
    read_back = T.embed_items(texts, encoder, cache_dir=tmp_path, progress=False)
    assert counter.calls == 0  # really from the file
    assert fresh.tobytes() == written.tobytes() == read_back.tobytes()
    assert read_back[1].tobytes() == read_back[5].tobytes() == read_back[7].tobytes()


def test_a_file_from_the_padded_encoding_is_not_read(encoder, tmp_path, monkeypatch):
    # A cache written before v2 (mixed-length padded batches) holds other bits: it must not be used.
    monkeypatch.setattr(T, "POOLING", "mean-l2-v1")
    old_path = T.embedding_cache_path(TEXTS, encoder, tmp_path)
    stale = np.full((len(TEXTS), encoder.dim), encoder.dim**-0.5, dtype=np.float32)
    T._write_cache(old_path, stale, T._cache_key(TEXTS, encoder), encoder.name)
    monkeypatch.undo()
    assert T.embedding_cache_path(TEXTS, encoder, tmp_path) != old_path
    got = T.embed_items(TEXTS, encoder, cache_dir=tmp_path, progress=False)
    assert got.tobytes() == encoder.encode(TEXTS).tobytes()


def test_cache_off_never_touches_disk(encoder, tmp_path):
    T.embed_items(TEXTS[:2], encoder, cache=False, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["garbage", "truncate", "flip_a_value", "other_key"])
def test_a_corrupt_cache_file_is_rebuilt(encoder, tmp_path, damage):
    ref = T.embed_items(TEXTS, encoder, cache_dir=tmp_path, progress=False)
    path = T.embedding_cache_path(TEXTS, encoder, tmp_path)
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a safetensors file")
    elif damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip_a_value":  # header intact, one byte of the data changed
        path.write_bytes(raw[:-7] + bytes([raw[-7] ^ 0xFF]) + raw[-6:])
    else:  # a valid file written for other texts, copied into this name
        other = T.embed_items(TEXTS[::-1], encoder, cache_dir=tmp_path, progress=False)
        assert other.shape == ref.shape
        path.write_bytes(T.embedding_cache_path(TEXTS[::-1], encoder, tmp_path).read_bytes())
    with pytest.warns(UserWarning, match="rebuilding"):
        rebuilt = T.embed_items(TEXTS, encoder, cache_dir=tmp_path, progress=False)
    np.testing.assert_allclose(rebuilt, ref, atol=1e-6)
    np.testing.assert_array_equal(T._read_cache(path, T._cache_key(TEXTS, encoder), ref.shape), rebuilt)


def test_a_failed_write_leaves_no_file(encoder, tmp_path, monkeypatch):
    import safetensors.numpy

    def broken(*args, **kwargs):
        Path(args[1]).write_bytes(b"half written")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        T.embed_items(TEXTS[:2], encoder, cache_dir=tmp_path, progress=False)
    assert [p for p in tmp_path.iterdir() if p.name != ".lock"] == []


def test_default_cache_lives_in_the_data_folder(encoder, tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_LESSONS_DATA", str(tmp_path))
    T.embed_items(TEXTS[:2], encoder, progress=False)
    assert T.embedding_cache_path(TEXTS[:2], encoder).parent == tmp_path / "embeddings"
    assert T.embedding_cache_path(TEXTS[:2], encoder).exists()
