"""BERT as a point-wise click model: a cross-encoder over "user history [SEP] candidate item".

The lesson's objective, trained with one logit and ``BCEWithLogitsLoss`` (float labels):

    L(θ) = −(1/N) Σᵢ [ yᵢ log M_θ(xᵢ) + (1 − yᵢ) log(1 − M_θ(xᵢ)) ],

where ``xᵢ`` is the text of a user's recent liked titles paired with a candidate item's text
(title, year, genres), ``yᵢ = 1`` for the item the user really watched next and ``0`` for a
sampled negative, and ``M_θ(x) = σ(logit)``. The model is the bundled pretrained MiniLM with a
fresh one-logit head (``AutoModelForSequenceClassification(num_labels=1)``). Every pair costs a
full Transformer pass, so the cross-encoder is used as a **re-ranker** over a short candidate
list (e.g. EASE's top 50), never over the whole catalogue.

Also here: the bi-encoder baseline (the untrained MiniLM embedding history and candidate
separately, mean-pooled, ordered by cosine) and :class:`CrossEncoderReranker`, which wraps a
candidate generator and the cross-encoder in the usual :class:`Recommender` interface.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..data import Interactions
from ..text import item_texts as text_item_texts
from ..text import load_encoder, resolve_model
from ..train import History, get_device, linear_warmup, set_seed, train_loop
from .base import Recommender

__all__ = [
    "CrossEncoder",
    "CrossEncoderReranker",
    "build_pairs",
    "candidate_lists",
    "click_loss",
    "cosine_scores",
    "embed_texts",
    "history_items",
    "history_text",
    "history_titles",
    "item_texts",
    "user_histories",
]

CONFIG_FILE = "cross_encoder.json"


# --------------------------------------------------------------------------------------------
# From behaviour to text


def item_texts(inter: Interactions) -> np.ndarray:
    """Text of every item of the index ("Title (year). Genres: A, B."), as an array for fancy indexing.

    Raises:
        ValueError: the interactions carry no item table (see :func:`recsys_lessons.text.item_texts`).
    """
    return np.asarray(text_item_texts(inter), dtype=object)


def history_text(titles: Sequence[str], liked: bool = True) -> str:
    """The user side of a pair: ``"Liked: A; B; C"`` (oldest first, most recent last).

    Args:
        titles: the history's titles.
        liked: whether the titles are liked films (``"Liked: ..."``) or the last ones watched,
            whatever the rating (``"Watched: ..."``); the text should say which.
    """
    label = "Liked" if liked else "Watched"
    return f"{label}: " + "; ".join(titles) if len(titles) else f"{label}: nothing yet"


def history_titles(inter: Interactions) -> np.ndarray:
    """Each item's title as MovieLens writes it, year included ("Heat (1995)"), for histories.

    The year matters: a user's next film tends to be from the years of the films they just
    rated, and the model can only use that if the history shows it.

    Raises:
        ValueError: the interactions carry no item table.
    """
    if inter.items is None:
        raise ValueError("this Interactions has no item table, so there are no titles")
    titles = inter.items["title"].astype(str).to_numpy()
    if "year" not in inter.items.columns:
        return titles.astype(object)
    years = pd.to_numeric(inter.items["year"], errors="coerce").astype("float64").to_numpy()  # NA -> nan
    return np.array(
        [t if np.isnan(y) else f"{t} ({int(y)})" for t, y in zip(titles, years, strict=True)], dtype=object
    )


def _liked_before(
    seq: np.ndarray, ratings: np.ndarray, end: int, n_history: int, like_threshold: float | None
) -> np.ndarray:
    """Item indices of the last ``n_history`` liked items among ``seq[:end]`` (fallback: any items).

    ``like_threshold=None`` takes the last items whatever their rating.
    """
    past, past_r = seq[:end], ratings[:end]
    liked = past if like_threshold is None else past[past_r >= like_threshold]
    chosen = liked if len(liked) else past
    return chosen[-n_history:] if n_history else chosen[:0]


def _sequences_with_ratings(inter: Interactions) -> tuple[list[np.ndarray], list[np.ndarray]]:
    f = inter.frame.sort_values(["user_idx", "timestamp", "item_id"], kind="stable")
    splits = np.cumsum(np.bincount(f["user_idx"].to_numpy(), minlength=inter.n_users))[:-1]
    return np.split(f["item_idx"].to_numpy(), splits), np.split(f["rating"].to_numpy(), splits)


def history_items(
    inter: Interactions, users: np.ndarray | Sequence[int], n_history: int = 3, like_threshold: float | None = 4.0
) -> list[np.ndarray]:
    """Item indices of each user's history: their last ``n_history`` liked items in ``inter``, oldest first.

    These are the films :func:`user_histories` writes as text, for code that needs their
    attributes (release year, genres) rather than their titles.

    Args:
        inter: the interactions the history comes from (the training data).
        users: user indices.
        n_history: items per history.
        like_threshold: minimum rating that counts as liked (if a user liked nothing, their last
            items are used whatever the rating); ``None`` for the last items watched, whatever
            the rating (the most recent film carries the most signal about the next one).

    Returns:
        One array of item indices per user.

    Raises:
        ValueError: ``n_history`` below 1, or a user index outside ``[0, inter.n_users)``.
    """
    if n_history < 1:
        raise ValueError(f"n_history={n_history!r}; expected at least 1")
    users = np.asarray(users, dtype=np.int64)
    bad = users[(users < 0) | (users >= inter.n_users)]
    if len(bad):
        raise ValueError(f"user indices {bad[:5].tolist()} outside [0, {inter.n_users})")
    seqs, rates = _sequences_with_ratings(inter)
    return [_liked_before(seqs[u], rates[u], len(seqs[u]), n_history, like_threshold) for u in users]


def user_histories(
    inter: Interactions, users: np.ndarray | Sequence[int], n_history: int = 3, like_threshold: float | None = 4.0
) -> list[str]:
    """History text of each user: the titles (with years) of :func:`history_items`, oldest first.

    The arguments are those of :func:`history_items`.

    Returns:
        One string per user, e.g. ``"Liked: Kolya (1996); Heat (1995)"`` (``"Watched: ..."`` when
        ``like_threshold`` is ``None``).

    Raises:
        ValueError: see :func:`history_items`.
    """
    titles = history_titles(inter)
    liked = like_threshold is not None
    return [history_text(titles[hist], liked) for hist in history_items(inter, users, n_history, like_threshold)]


def build_pairs(
    train: Interactions,
    n_history: int = 3,
    n_negatives: int = 3,
    negatives: Literal["uniform", "popularity", "candidates"] = "uniform",
    targets_per_user: int = 1,
    max_users: int | None = None,
    like_threshold: float | None = 4.0,
    seed: int = 42,
    candidates: np.ndarray | None = None,
    positions: Literal["random", "last"] = "random",
) -> pd.DataFrame:
    """Training pairs for the click model, built only from ``train`` (no target in its own history).

    For each (sampled) user, ``targets_per_user`` positions ``t >= 1`` of their time-ordered
    sequence are chosen (at random, or the last ones); the item at ``t`` is the positive
    (label 1) and the history is the last ``n_history`` liked titles strictly before ``t``.
    ``n_negatives`` items the user never interacted with in ``train`` are paired with the same
    history (label 0). They are drawn uniformly, in proportion to popularity, or from the user's
    own candidate list: the items a retriever would hand the re-ranker, so the model learns to
    separate exactly the items it will be asked to order ("hard" negatives).

    Args:
        train: training interactions with an item table.
        n_history: titles per history.
        n_negatives: negatives per positive.
        negatives: ``"uniform"``, ``"popularity"`` (proportional to training count + 1) or
            ``"candidates"`` (uniformly from the user's row of ``candidates``).
        targets_per_user: positives per user (fewer if the user has fewer items).
        max_users: sample this many users (all users with 2+ items if ``None``).
        like_threshold: minimum rating that counts as liked in the history; ``None`` for the
            last items watched whatever the rating (see :func:`history_items`).
        seed: seed of every draw.
        candidates: ``(train.n_users, k)`` item indices per user, e.g.
            ``candidate_lists(EASE().fit(train), train, np.arange(train.n_users), 50)``; needed
            only for ``negatives="candidates"``.
        positions: ``"random"`` positions, or the ``"last"`` ones (closest to what comes next).

    Returns:
        DataFrame with ``user_idx``, ``item_idx``, ``position`` (index of the target in the
        user's sequence), ``label`` (float 0/1), ``history`` and ``candidate`` text.

    Raises:
        ValueError: an unknown ``negatives`` or ``positions``, counts below their minimum,
            ``candidates`` missing or of the wrong shape, or a user with too few negatives to draw.
    """
    if negatives not in ("uniform", "popularity", "candidates"):
        raise ValueError(f"negatives={negatives!r}; expected 'uniform', 'popularity' or 'candidates'")
    if positions not in ("random", "last"):
        raise ValueError(f"positions={positions!r}; expected 'random' or 'last'")
    if n_negatives < 0 or targets_per_user < 1 or n_history < 1:
        raise ValueError(
            f"need n_negatives >= 0, targets_per_user >= 1, n_history >= 1; got {n_negatives}, {targets_per_user}, {n_history}"
        )
    if negatives == "candidates":
        if candidates is None:
            raise ValueError("negatives='candidates' needs candidates=(n_users, k) item indices per user")
        candidates = np.asarray(candidates)
        if candidates.ndim != 2 or candidates.shape[0] != train.n_users:
            raise ValueError(f"candidates must be (train.n_users={train.n_users}, k), got {candidates.shape}")
    rng = np.random.default_rng(seed)
    seqs, rates = _sequences_with_ratings(train)
    titles = history_titles(train)
    texts = item_texts(train)
    users = np.flatnonzero([len(s) >= 2 for s in seqs])
    if max_users is not None and max_users < len(users):
        users = np.sort(rng.choice(users, size=max_users, replace=False))
    counts = train.item_popularity().astype(np.float64) + 1.0
    q = np.full(train.n_items, 1.0 / train.n_items) if negatives == "uniform" else counts / counts.sum()
    rows = []
    for u in users:
        seq, rat = seqs[u], rates[u]
        seen = set(seq.tolist())
        if negatives == "candidates":
            pool = np.array([j for j in candidates[u] if j not in seen])
            if len(pool) < n_negatives:
                raise ValueError(f"user index {u} has {len(pool)} unseen candidates; cannot draw {n_negatives} negatives")
        elif train.n_items - len(seen) < n_negatives:
            raise ValueError(f"user index {u} has rated all but {train.n_items - len(seen)} items; cannot draw {n_negatives} negatives")
        n_pos = min(targets_per_user, len(seq) - 1)
        if positions == "last":
            chosen = np.arange(len(seq) - n_pos, len(seq))
        else:
            chosen = np.sort(rng.choice(np.arange(1, len(seq)), size=n_pos, replace=False))
        for t in chosen:
            hist = history_text(titles[_liked_before(seq, rat, t, n_history, like_threshold)], like_threshold is not None)
            rows.append((u, seq[t], t, 1.0, hist))
            if negatives == "candidates":
                drawn = rng.choice(pool, size=n_negatives, replace=False).tolist()
            else:
                drawn = []
                while len(drawn) < n_negatives:  # rejection: a negative is an item the user never had
                    for j in rng.choice(train.n_items, size=2 * n_negatives, p=q):
                        if j not in seen and j not in drawn and len(drawn) < n_negatives:
                            drawn.append(int(j))
            rows.extend((u, int(j), t, 0.0, hist) for j in drawn)
    out = pd.DataFrame(rows, columns=["user_idx", "item_idx", "position", "label", "history"])
    out["candidate"] = texts[out["item_idx"].to_numpy()] if len(out) else []
    return out


# --------------------------------------------------------------------------------------------
# The bi-encoder baseline: untrained MiniLM, mean pooling, cosine


def embed_texts(
    texts: Sequence[str],
    model_name_or_path: str | os.PathLike | None = None,
    batch_size: int = 64,
    max_length: int = 64,
    device: str | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence embeddings (the way all-MiniLM-L6-v2 is meant to be used).

    A thin wrapper over :func:`recsys_lessons.text.load_encoder` with short texts in mind
    (``max_length`` 64 tokens): the bi-encoder baseline embeds histories and candidates separately.

    Returns:
        ``(len(texts), hidden)`` float32 array with unit rows.
    """
    encoder = load_encoder(model_name_or_path, device=device, max_length=max_length)
    return encoder.encode(list(texts), batch_size=batch_size, progress=progress)


def cosine_scores(history_emb: np.ndarray, item_emb: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Cosine between each user's history embedding and each of their candidates' embeddings.

    Args:
        history_emb: ``(n_users, d)`` unit vectors.
        item_emb: ``(n_items, d)`` unit vectors.
        candidates: ``(n_users, k)`` item indices.

    Returns:
        ``(n_users, k)`` cosines.
    """
    return np.einsum("ud,ukd->uk", history_emb, item_emb[candidates])


def candidate_lists(model: Recommender, train: Interactions, users: np.ndarray, k: int) -> np.ndarray:
    """Top-``k`` item indices per user from a fitted ``model``, training items excluded, best first."""
    scores = model.score(users).astype(np.float64)
    seen = train.binary()[users].nonzero()
    scores[seen] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


# --------------------------------------------------------------------------------------------
# The cross-encoder


def click_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The point-wise objective ``−(1/N) Σ [y log σ(z) + (1 − y) log(1 − σ(z))]`` on one logit per pair.

    A thin, strict wrapper over ``BCEWithLogitsLoss`` that refuses the classic tutorial bug: a
    two-logit classification head (``(N, 2)``) fed to BCE with integer labels.

    Args:
        logits: ``(N,)`` or ``(N, 1)`` raw scores ``z``.
        labels: ``(N,)`` float labels in ``{0, 1}``.

    Raises:
        ValueError: logits with more than one column, or shapes that do not match.
        TypeError: integer labels (BCE needs floats).
    """
    if logits.ndim == 2 and logits.shape[1] == 1:
        logits = logits[:, 0]
    if logits.ndim != 1:
        raise ValueError(
            f"click_loss needs one logit per pair, got logits of shape {tuple(logits.shape)}; "
            "a two-logit head with BCE is a bug: use num_labels=1"
        )
    if not torch.is_floating_point(labels):
        raise TypeError(f"labels must be float 0./1. for BCE, got {labels.dtype}")
    if labels.shape != logits.shape:
        raise ValueError(f"labels {tuple(labels.shape)} and logits {tuple(logits.shape)} differ in shape")
    return torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), labels.float())


class CrossEncoder:
    """MiniLM with a one-logit head, fine-tuned as a click model with ``BCEWithLogitsLoss``.

    Args:
        model_name_or_path: ``None`` for the bundled all-MiniLM-L6-v2, or any Hugging Face
            name/path (a folder saved by :meth:`save` included).
        max_length: tokens per pair (history is truncated first when too long).
        batch_size: pairs per step.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        epochs: passes over the pairs.
        warmup: share of steps with a rising learning rate (:func:`~recsys_lessons.train.linear_warmup`).
        grad_clip: gradient-norm clipping.
        seed: seed of the head's initialisation, the shuffling and dropout.
        device: see :func:`~recsys_lessons.train.get_device`.
        progress: show progress bars.

    Attributes:
        model: the ``AutoModelForSequenceClassification`` (``num_labels=1``).
        tokenizer: its tokenizer.
        history_: training :class:`~recsys_lessons.train.History` (after :meth:`fit`).
        step_losses_: the loss of every training step, to watch it fall.
        fit_seconds_: wall-clock training time.
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        max_length: int = 64,
        batch_size: int = 16,
        lr: float = 5e-5,
        weight_decay: float = 0.01,
        epochs: int = 1,
        warmup: float = 0.1,
        grad_clip: float = 1.0,
        seed: int = 42,
        device: str | None = None,
        progress: bool = True,
    ) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if max_length < 8:
            raise ValueError(f"max_length={max_length!r}; expected at least 8 tokens")
        self.max_length = max_length
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.warmup = warmup
        self.grad_clip = grad_clip
        self.seed = seed
        self.progress = progress
        self.device = get_device(device)
        path = resolve_model(model_name_or_path)
        set_seed(seed)  # the new head's weights are drawn here
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
        self.model.config.problem_type = "regression"  # one logit; we apply BCE ourselves
        self.model.to(self.device).eval()
        self.step_losses_: list[float] = []

    def _encode(self, histories: Sequence[str], candidates: Sequence[str]) -> dict[str, torch.Tensor]:
        # Dynamic padding (to the longest pair of the batch) keeps short batches cheap.
        return dict(
            self.tokenizer(
                list(histories), list(candidates), padding=True, truncation="longest_first",
                max_length=self.max_length, return_tensors="pt",
            )
        )

    def _logits(self, model: torch.nn.Module, enc: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(**enc).logits.squeeze(-1)  # (batch,)

    def fit(self, pairs: pd.DataFrame) -> CrossEncoder:
        """Fine-tune on ``pairs`` (columns ``history``, ``candidate``, ``label``) with BCE.

        Raises:
            KeyError: a required column is missing.
            ValueError: no pairs, or labels other than 0/1.
        """
        missing = {"history", "candidate", "label"} - set(pairs.columns)
        if missing:
            raise KeyError(f"pairs lacks columns {sorted(missing)}")
        if len(pairs) == 0:
            raise ValueError("no training pairs")
        labels = pairs["label"].to_numpy(dtype=np.float32)
        if not np.isin(labels, (0.0, 1.0)).all():
            raise ValueError("labels must be 0 or 1 (the click model is binary)")
        hist, cand = pairs["history"].tolist(), pairs["candidate"].tolist()
        set_seed(self.seed)
        self.step_losses_ = []

        def batches(epoch: int):
            order = np.random.default_rng([self.seed, epoch]).permutation(len(pairs))
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                enc = self._encode([hist[i] for i in idx], [cand[i] for i in idx])
                enc["labels"] = torch.from_numpy(labels[idx])  # float labels, shape (batch,)
                yield enc

        def loss_fn(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            y = batch.pop("labels")
            loss = click_loss(self._logits(model, batch), y)  # one logit vs float label
            self.step_losses_.append(float(loss.detach()))
            return loss

        optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps = self.epochs * math.ceil(len(pairs) / self.batch_size)
        scheduler = linear_warmup(optimizer, int(self.warmup * steps), steps)
        start = time.perf_counter()
        self.history_: History = train_loop(
            self.model, batches, loss_fn, optimizer, self.epochs, device=self.device, scheduler=scheduler,
            grad_clip=self.grad_clip, progress=self.progress, desc="cross-encoder",
        )
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def predict(
        self, histories: Sequence[str], candidates: Sequence[str], batch_size: int | None = None, progress: bool | None = None
    ) -> np.ndarray:
        """Logits for each (history, candidate) pair; ``σ(logit)`` is the click probability.

        Raises:
            ValueError: the two sequences differ in length.
        """
        if len(histories) != len(candidates):
            raise ValueError(f"{len(histories)} histories but {len(candidates)} candidates")
        bs = batch_size or 2 * self.batch_size
        show = self.progress if progress is None else progress
        self.model.eval()
        out = np.empty(len(histories), dtype=np.float32)
        with torch.no_grad():
            for start in tqdm(range(0, len(histories), bs), desc="re-rank", disable=not show, leave=False):
                enc = self._encode(histories[start : start + bs], candidates[start : start + bs])
                enc = {k: v.to(self.device) for k, v in enc.items()}
                out[start : start + bs] = self._logits(self.model, enc).float().cpu().numpy()
        return out

    def predict_proba(self, histories: Sequence[str], candidates: Sequence[str], **kwargs) -> np.ndarray:
        """Click probabilities ``σ(logit)`` for each pair."""
        return 1.0 / (1.0 + np.exp(-self.predict(histories, candidates, **kwargs)))

    def score_candidates(
        self,
        train: Interactions,
        users: np.ndarray,
        candidates: np.ndarray,
        n_history: int = 3,
        like_threshold: float | None = 4.0,
        progress: bool | None = None,
    ) -> np.ndarray:
        """Logits of each user's candidate items, history text taken from ``train``.

        Args:
            train: interactions the histories come from.
            users: ``(n,)`` user indices.
            candidates: ``(n, k)`` item indices.
            n_history, like_threshold: the history text, as in :func:`user_histories`; use the
                settings the encoder was trained with.

        Returns:
            ``(n, k)`` logits.

        Raises:
            ValueError: ``candidates`` is not ``(len(users), k)``.
        """
        users = np.asarray(users, dtype=np.int64)
        candidates = np.asarray(candidates, dtype=np.int64)
        if candidates.ndim != 2 or candidates.shape[0] != len(users):
            raise ValueError(f"candidates must be (len(users)={len(users)}, k), got {candidates.shape}")
        hist = user_histories(train, users, n_history, like_threshold)
        texts = item_texts(train)
        k = candidates.shape[1]
        flat_hist = [h for h in hist for _ in range(k)]
        flat_cand = texts[candidates.ravel()].tolist()
        return self.predict(flat_hist, flat_cand, progress=progress).reshape(len(users), k)

    # -- persistence: safetensors weights + JSON, never pickle ----------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Write weights (``model.safetensors``), config, tokenizer and settings to ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        settings = {k: getattr(self, k) for k in ("max_length", "batch_size", "lr", "weight_decay", "epochs", "warmup", "grad_clip", "seed")}
        (folder / CONFIG_FILE).write_text(json.dumps(settings, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, device: str | None = None, progress: bool = True) -> CrossEncoder:
        """Load a cross-encoder written by :meth:`save`.

        Raises:
            FileNotFoundError: ``folder`` has no ``model.safetensors`` or settings file.
        """
        folder = Path(folder)
        for name in ("model.safetensors", CONFIG_FILE):
            if not (folder / name).exists():
                raise FileNotFoundError(f"{folder / name} is missing; not a folder written by CrossEncoder.save")
        settings = json.loads((folder / CONFIG_FILE).read_text())
        return cls(folder, device=device, progress=progress, **settings)


class CrossEncoderReranker(Recommender):
    """Cascade: a candidate generator's top ``k`` (training items excluded), re-ordered by a cross-encoder.

    Items outside a user's candidate list score ``-inf``, so ``evaluate`` and ``recommend`` see
    only the re-ranked candidates.

    Args:
        candidates: a :class:`Recommender` (fitted by :meth:`fit`).
        encoder: a :class:`CrossEncoder` (fine-tuned or not).
        k: candidates per user.
        n_history: titles in the history text.
        like_threshold: minimum rating counted as liked (``None``: the last items, any rating).
        progress: show a progress bar while scoring.
    """

    name = "cross-encoder re-ranker"

    def __init__(
        self, candidates: Recommender, encoder: CrossEncoder, k: int = 50, n_history: int = 3,
        like_threshold: float | None = 4.0, progress: bool = True,
    ) -> None:
        self.candidates = candidates
        self.encoder = encoder
        self.k = k
        self.n_history = n_history
        self.like_threshold = like_threshold
        self.progress = progress

    def fit(self, train: Interactions) -> CrossEncoderReranker:
        """Fit the candidate generator on ``train`` (the encoder is trained separately on pairs)."""
        self.train_ = self._check_train(train)
        if self.k < 1:
            raise ValueError(f"k={self.k!r}; expected at least 1")
        self.candidates.fit(train)
        return self

    def _score(self, users: np.ndarray) -> np.ndarray:
        cand = candidate_lists(self.candidates, self.train_, users, min(self.k, self.train_.n_items))
        logits = self.encoder.score_candidates(self.train_, users, cand, self.n_history, self.like_threshold, self.progress)
        out = np.full((len(users), self.train_.n_items), -np.inf, dtype=np.float32)
        np.put_along_axis(out, cand, logits, axis=1)
        return out
