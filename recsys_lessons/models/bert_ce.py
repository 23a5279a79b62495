"""BERT as a point-wise click model: a cross-encoder over "user history [SEP] candidate item".

The lesson's objective, trained with one logit and ``BCEWithLogitsLoss`` (float labels):

    L(θ) = −(1/N) Σᵢ [ yᵢ log M_θ(xᵢ) + (1 − yᵢ) log(1 − M_θ(xᵢ)) ],

where ``xᵢ`` is the text of a user's recent liked titles paired with a candidate item's text
(title, year, genres), ``yᵢ = 1`` for the item the user really watched next and ``0`` for a
sampled negative, and ``M_θ(x) = σ(logit)``. The model is the bundled pretrained MiniLM with a
fresh one-logit head (``AutoModelForSequenceClassification(num_labels=1)``). Every pair costs a
full Transformer pass, so the cross-encoder is used as a **re-ranker** over a short candidate
list (e.g. EASE's top 50), never over the whole catalogue.

Also here: :class:`CrossEncoderReranker`, which wraps a candidate generator and the
cross-encoder in the usual :class:`Recommender` interface. The text the model reads and the
training pairs come from :mod:`recsys_lessons.models.pairs`; the bi-encoder baseline is
:mod:`recsys_lessons.models.biencoder`.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from tqdm.auto import tqdm

from ..data import Interactions
from ..storage import atomic_folder
from ..text import resolve_model
from ..train import History, get_device, set_seed, train_loop
from .base import Recommender, check_int, check_number
from .pairs import candidate_lists, item_texts, user_histories

__all__ = ["CrossEncoder", "CrossEncoderReranker", "click_loss"]

CONFIG_FILE = "cross_encoder.json"


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

    A **pair scorer**, not a :class:`Recommender`: it learns from labelled
    ``(history, candidate)`` text pairs (:func:`~recsys_lessons.models.pairs.build_pairs`) and
    scores pairs, so its small interface is ``fit(pairs) -> self``, ``predict`` /
    ``predict_proba`` / ``score_candidates``, ``save`` / ``load``.
    :class:`CrossEncoderReranker` turns it into a ``Recommender``. As with an estimator,
    ``__init__`` only stores the arguments; the weights, tokenizer and device are made on first
    use (``fit``, ``predict``, reading :attr:`tokenizer` or :attr:`model`) as ``model_``,
    ``tokenizer_`` and ``device_``, with the fresh head's weights drawn from ``seed``.

    Args:
        model_name_or_path: ``None`` for the bundled all-MiniLM-L6-v2, or any Hugging Face
            name/path (a folder saved by :meth:`save` included).
        max_length: tokens per pair (history is truncated first when too long).
        batch_size: pairs per step.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        epochs: passes over the pairs.
        warmup: share of steps with a rising learning rate (transformers'
            ``get_linear_schedule_with_warmup``: from 0 up to ``lr``, then linearly down to 0).
        grad_clip: gradient-norm clipping.
        seed: seed of the head's initialisation, the shuffling and dropout.
        device: see :func:`~recsys_lessons.train.get_device`.
        progress: show progress bars.

    Attributes:
        model_: the ``AutoModelForSequenceClassification`` (``num_labels=1``), once loaded.
        tokenizer_: its tokenizer.
        device_: the device it runs on.
        history_: training :class:`~recsys_lessons.train.History` (after :meth:`fit`).
        step_losses_: the loss of every training step, to watch it fall (after :meth:`fit`).
        fit_seconds_: wall-clock training time (after :meth:`fit`).

    Raises:
        ValueError: ``max_length`` below 8 (when the weights are loaded).
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
        self.model_name_or_path = model_name_or_path
        self.max_length = max_length
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.warmup = warmup
        self.grad_clip = grad_clip
        self.seed = seed
        self.device = device
        self.progress = progress

    def __repr__(self) -> str:
        names = ("model_name_or_path", "max_length", "batch_size", "lr", "epochs", "seed")
        return f"CrossEncoder({', '.join(f'{k}={getattr(self, k)!r}' for k in names)})"

    def _load(self) -> None:
        """Make ``tokenizer_``, ``model_`` and ``device_`` once (the head's weights from ``seed``)."""
        if getattr(self, "model_", None) is not None:
            return
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        check_int(self.max_length, "max_length", min_val=8)
        self.device_ = get_device(self.device)
        path = resolve_model(self.model_name_or_path)
        set_seed(self.seed)  # the new head's weights are drawn here
        self.tokenizer_ = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
        model.config.problem_type = "regression"  # one logit; we apply BCE ourselves
        self.model_ = model.to(self.device_).eval()

    @property
    def tokenizer(self):
        """The tokenizer (loaded on first use)."""
        self._load()
        return self.tokenizer_

    @property
    def model(self) -> torch.nn.Module:
        """The ``AutoModelForSequenceClassification`` (loaded on first use)."""
        self._load()
        return self.model_

    def _encode(self, histories: Sequence[str], candidates: Sequence[str]) -> dict[str, torch.Tensor]:
        # Dynamic padding (to the longest pair of the batch) keeps short batches cheap.
        return dict(
            self.tokenizer_(
                list(histories),
                list(candidates),
                padding=True,
                truncation="longest_first",
                max_length=self.max_length,
                return_tensors="pt",
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
        if not isinstance(pairs, pd.DataFrame):
            raise TypeError(f"fit expects a DataFrame of pairs (see build_pairs), got {type(pairs).__name__}")
        for name in ("batch_size", "epochs"):
            check_int(getattr(self, name), name, min_val=1)
        check_number(self.lr, "lr", min_val=0.0, include_boundaries="neither")
        check_number(self.warmup, "warmup", min_val=0.0, max_val=1.0)
        missing = {"history", "candidate", "label"} - set(pairs.columns)
        if missing:
            raise KeyError(f"pairs lacks columns {sorted(missing)}")
        if len(pairs) == 0:
            raise ValueError("no training pairs")
        labels = pairs["label"].to_numpy(dtype=np.float32)
        if not np.isin(labels, (0.0, 1.0)).all():
            raise ValueError("labels must be 0 or 1 (the click model is binary)")
        self._load()
        hist, cand = pairs["history"].tolist(), pairs["candidate"].tolist()
        set_seed(self.seed)
        step_losses: list[float] = []

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
            step_losses.append(float(loss.detach()))
            return loss

        optimizer = torch.optim.AdamW(self.model_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps = self.epochs * math.ceil(len(pairs) / self.batch_size)
        from transformers import get_linear_schedule_with_warmup  # lazy: transformers is heavy to import

        scheduler = get_linear_schedule_with_warmup(optimizer, int(self.warmup * steps), steps)
        # Fine-tuning changes model_ in place: an interrupted fit (Ctrl-C, a kernel interrupt)
        # puts the weights back, so no half-trained model can be scored or saved afterwards.
        before = {k: v.detach().clone() for k, v in self.model_.state_dict().items()}
        start = time.perf_counter()
        try:
            history = train_loop(
                self.model_,
                batches,
                loss_fn,
                optimizer,
                self.epochs,
                device=self.device_,
                scheduler=scheduler,
                grad_clip=self.grad_clip,
                progress=self.progress,
                desc="cross-encoder",
            )
        except BaseException:
            self.model_.load_state_dict(before)
            self.model_.eval()
            raise
        self.history_: History = history
        self.step_losses_ = step_losses
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def predict(
        self,
        histories: Sequence[str],
        candidates: Sequence[str],
        batch_size: int | None = None,
        progress: bool | None = None,
    ) -> np.ndarray:
        """Logits for each (history, candidate) pair; ``σ(logit)`` is the click probability.

        Raises:
            ValueError: the two sequences differ in length.
        """
        if len(histories) != len(candidates):
            raise ValueError(f"{len(histories)} histories but {len(candidates)} candidates")
        self._load()
        bs = batch_size or 2 * self.batch_size
        show = self.progress if progress is None else progress
        self.model_.eval()
        out = np.empty(len(histories), dtype=np.float32)
        with torch.no_grad():
            for start in tqdm(range(0, len(histories), bs), desc="re-rank", disable=not show, leave=False):
                enc = self._encode(histories[start : start + bs], candidates[start : start + bs])
                enc = {k: v.to(self.device_) for k, v in enc.items()}
                out[start : start + bs] = self._logits(self.model_, enc).float().cpu().numpy()
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
        """Write weights (``model.safetensors``), config, tokenizer and settings to ``folder``.

        All or nothing: an interrupt mid-save leaves the previous save (or no loadable folder).

        Raises:
            FolderNotWritableError: ``folder`` cannot be written (read-only, disk full).
        """
        self._load()
        settings = {
            k: getattr(self, k)
            for k in ("max_length", "batch_size", "lr", "weight_decay", "epochs", "warmup", "grad_clip", "seed")
        }
        with atomic_folder(folder, CONFIG_FILE, "the cross-encoder save") as tmp:
            self.model_.save_pretrained(tmp, safe_serialization=True)
            self.tokenizer_.save_pretrained(tmp)
            (tmp / CONFIG_FILE).write_text(json.dumps(settings, indent=2))
        return Path(folder)

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
        model = cls(str(folder), device=device, progress=progress, **settings)
        model._load()
        return model


class CrossEncoderReranker(Recommender):
    """Cascade: a candidate generator's top ``k`` (training items excluded), re-ordered by a cross-encoder.

    Items outside a user's candidate list score ``-inf``, so ``evaluate`` and ``recommend`` see
    only the re-ranked candidates.

    A wrapper: ``fit`` fits a clone of ``candidates`` (``candidates_``), never the caller's
    object; ``encoder`` is used as given (it is trained on pairs, see :class:`CrossEncoder`).

    Args:
        candidates: an unfitted or fitted :class:`Recommender`; a clone of it is fitted.
        encoder: a :class:`CrossEncoder` (fine-tuned or not).
        k: candidates per user.
        n_history: titles in the history text.
        like_threshold: minimum rating counted as liked (``None``: the last items, any rating).
        progress: show a progress bar while scoring.

    Attributes:
        candidates_: the fitted clone of ``candidates``.

    Raises:
        TypeError / ValueError: bad ``k`` or ``n_history``, or a ``candidates`` that is not a
            ``Recommender`` (in ``fit``).
    """

    name = "cross-encoder re-ranker"

    def __init__(
        self,
        candidates: Recommender,
        encoder: CrossEncoder,
        k: int = 50,
        n_history: int = 3,
        like_threshold: float | None = 4.0,
        progress: bool = True,
    ) -> None:
        self.candidates = candidates
        self.encoder = encoder
        self.k = k
        self.n_history = n_history
        self.like_threshold = like_threshold
        self.progress = progress

    def fit(self, train: Interactions) -> CrossEncoderReranker:
        """Fit a clone of the candidate generator on ``train`` (the encoder is trained separately on pairs)."""
        check_int(self.k, "k", min_val=1)
        check_int(self.n_history, "n_history", min_val=1)
        if not isinstance(self.candidates, Recommender):
            raise TypeError(f"candidates must be a Recommender, got {type(self.candidates).__name__}")
        if not isinstance(self.encoder, CrossEncoder):
            raise TypeError(f"encoder must be a CrossEncoder, got {type(self.encoder).__name__}")
        self.train_ = self._check_train(train)
        self.candidates_ = clone(self.candidates).fit(train)
        return self

    def _score(self, users: np.ndarray) -> np.ndarray:
        cand = candidate_lists(self.candidates_, self.train_, users, min(self.k, self.train_.n_items))
        logits = self.encoder.score_candidates(
            self.train_, users, cand, self.n_history, self.like_threshold, self.progress
        )
        out = np.full((len(users), self.train_.n_items), -np.inf, dtype=np.float32)
        np.put_along_axis(out, cand, logits, axis=1)
        return out
