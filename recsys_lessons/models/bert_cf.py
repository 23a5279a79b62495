"""The seed's BERT click model with collaborative signal: a point-wise BCE model over BERT vectors and CF features.

The architecture the project started from: BERT turns the user's history and a candidate item
into vectors, a fully connected layer outputs the click probability, and the whole is trained
with binary cross-entropy,

    L(θ) = −(1/N) Σᵢ [ yᵢ log σ(zᵢ) + (1 − yᵢ) log(1 − σ(zᵢ)) ],

with ``yᵢ = 1`` for the film a user really rated next and ``0`` for sampled negatives. Lesson 03
shows that text alone carries little of "what comes next"; here the same head also reads
collaborative features, a feature-combination hybrid in Burke's terms. For a user whose last
film is ``h`` and a candidate ``c`` the logit is

    z = MLP([P e_h, P e_c, P e_h ⊙ P e_c, f_cf(u, h, c)]) + ⟨a_h, b_c⟩ + β_c

- ``e_h, e_c``: MiniLM sentence embeddings of the two films' texts (cached by
  :func:`recsys_lessons.text.embed_items`), projected by a learned ``P`` (``text=True``);
- ``f_cf``: item-kNN cosine between ``h`` and ``c``, the user's EASE score for ``c`` (out of fold
  while training, see :func:`out_of_fold_ease`), ``c``'s log popularity and the gap between the
  release years, standardised (``cf=True``);
- ``⟨a_h, b_c⟩ + β_c``: small learned ID embeddings of the last film and the candidate and a
  candidate bias (``ids=True``), a factorised "what follows what".

Training pairs are every transition of the training sequences (film ``t−1`` → film ``t``) with
``n_negatives`` popularity-sampled films the user never rated, redrawn every epoch; the loop is
the package's :func:`~recsys_lessons.train.train_loop`. From cached embeddings a fit takes seconds
on a CPU. With ``finetune`` (default: only on CUDA) the encoder itself is trained end to end:
every batch re-embeds its films from their token ids, so gradients reach BERT.

Use it as the second stage of a :class:`~recsys_lessons.models.hybrid.Cascade` over EASE's
candidates: :meth:`BertCF.score_candidates` scores only the pairs asked for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..data import Interactions
from ..train import History, cpu_threads, get_device, set_seed, train_loop
from .base import Recommender, check_number
from .ease import EASE, ease_weights, gram_upper
from .neighbors import cosine_similarity

__all__ = ["CF_FEATURES", "BertCF", "ClickNet", "out_of_fold_ease", "transitions"]

#: The collaborative features, by the names ``cf=`` accepts: item-kNN cosine between the last film
#: and the candidate, the user's EASE score of the candidate, its log popularity, the year gap.
CF_FEATURES = ("knn", "ease", "popularity", "year_gap")


def _check_interactions(train: object) -> None:
    if not isinstance(train, Interactions):
        raise TypeError(f"train must be Interactions (e.g. from a data.split_* function), got {type(train).__name__}")


def out_of_fold_ease(train: Interactions, lam: float, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """EASE scores of every user from an EASE that never saw that user: ``(n_users, n_items)`` float32.

    Users are split into ``n_folds`` groups; each group is scored as ``x_u B`` with ``B`` fitted on
    the other groups. A training positive ``j`` is then scored the way a test item is: from the
    user's other films, by weights that did not learn this user's ``j``. With in-sample EASE
    scores the click model learns "high EASE score = click" from weights that were fitted to
    reproduce exactly those clicks, and on the test candidates (all high-scoring) it falls back to
    EASE's own order.

    Raises:
        TypeError: ``train`` is not :class:`~recsys_lessons.data.Interactions`.
        ValueError: ``n_folds`` < 2.
    """
    _check_interactions(train)
    if n_folds < 2:
        raise ValueError(f"n_folds={n_folds!r}; expected at least 2")
    x = train.binary()
    fold = np.random.default_rng(seed).integers(0, n_folds, train.n_users)
    out = np.zeros(train.shape, dtype=np.float32)
    for f in range(n_folds):
        rest = sp.diags((fold != f).astype(np.float32)) @ x  # the other folds' rows, same shape
        b = ease_weights(gram_upper(rest), lam)  # (n_items, n_items), float32
        rows = np.flatnonzero(fold == f)
        out[rows] = np.asarray(x[rows] @ b)
    return out


def transitions(train: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every consecutive pair of each user's time-ordered training sequence.

    Returns:
        ``(users, previous, next)``: int64 arrays of equal length, one row per transition
        ``previous → next`` (film ``t − 1`` and film ``t`` of user ``users[r]``).

    Raises:
        TypeError: ``train`` is not :class:`~recsys_lessons.data.Interactions`.
    """
    _check_interactions(train)
    users, prev, nxt = [], [], []
    for u, seq in enumerate(train.user_sequences()):
        if len(seq) >= 2:
            users.append(np.full(len(seq) - 1, u))
            prev.append(seq[:-1])
            nxt.append(seq[1:])
    if not users:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    return (
        np.concatenate(users).astype(np.int64),
        np.concatenate(prev).astype(np.int64),
        np.concatenate(nxt).astype(np.int64),
    )


class ClickNet(nn.Module):
    """The click model's network: ``(user, last film, candidate) -> logit`` from gathered features.

    All per-item and per-user inputs are buffers (or the encoder, when fine-tuning), so a batch is
    three index tensors and every feature is a gather.

    Args:
        text_table: ``(n_items, dim)`` item embeddings, or ``None`` without text.
        cf_ease: ``(n_users, n_items)`` EASE scores; cf_sim: ``(n_items, n_items)`` item cosine;
        cf_item: ``(n_items, 2)`` [log popularity, year]; cf_mean / cf_std: ``(4,)`` standardisation;
            all ``None`` without CF features.
        n_items: catalogue size (for the ID embeddings).
        id_dim: ID embedding size (0: no IDs).
        text_dim: size of the text projection.
        hidden: hidden units of the MLP.
        encoder: a Hugging Face ``AutoModel`` to fine-tune, with ``tokens`` / ``attention``
            ``(n_items, length)`` of every item text; then ``text_table`` is ignored.
        cf_columns: which of the four CF features the MLP reads (positions in :data:`CF_FEATURES`).
    """

    # Buffers, registered in __init__ when their input is used (declared for the type checker).
    text_table: torch.Tensor
    tokens: torch.Tensor
    attention: torch.Tensor
    cf_ease: torch.Tensor
    cf_sim: torch.Tensor
    cf_item: torch.Tensor
    cf_mean: torch.Tensor
    cf_std: torch.Tensor
    cf_columns: torch.Tensor

    def __init__(
        self,
        text_table: torch.Tensor | None,
        cf_ease: torch.Tensor | None,
        cf_sim: torch.Tensor | None,
        cf_item: torch.Tensor | None,
        cf_mean: torch.Tensor | None,
        cf_std: torch.Tensor | None,
        n_items: int,
        id_dim: int,
        text_dim: int,
        hidden: int,
        encoder: nn.Module | None = None,
        tokens: torch.Tensor | None = None,
        attention: torch.Tensor | None = None,
        cf_columns: Sequence[int] = (0, 1, 2, 3),
    ) -> None:
        super().__init__()
        self.use_text = text_table is not None or encoder is not None
        self.use_cf = cf_ease is not None
        self.encoder = encoder
        width = 0
        if self.use_text:
            if encoder is None:
                self.register_buffer("text_table", text_table)
            else:
                self.register_buffer("tokens", tokens)
                self.register_buffer("attention", attention)
            if encoder is not None:
                dim = int(cast(Any, encoder).config.hidden_size)
            elif text_table is not None:
                dim = int(text_table.shape[1])
            self.project = nn.Linear(dim, text_dim)
            width += 3 * text_dim
        if self.use_cf:
            for name, t in (
                ("cf_ease", cf_ease),
                ("cf_sim", cf_sim),
                ("cf_item", cf_item),
                ("cf_mean", cf_mean),
                ("cf_std", cf_std),
            ):
                self.register_buffer(name, t)
            self.register_buffer("cf_columns", torch.as_tensor(list(cf_columns), dtype=torch.long))
            width += len(cf_columns)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, 1)) if width else None
        self.id_dim = id_dim
        if id_dim:
            self.last_emb = nn.Embedding(n_items, id_dim)
            self.cand_emb = nn.Embedding(n_items, id_dim)
            self.cand_bias = nn.Embedding(n_items, 1)
            for emb in (self.last_emb, self.cand_emb):
                nn.init.normal_(emb.weight, std=0.01)
            nn.init.zeros_(self.cand_bias.weight)

    def _text(self, items: torch.Tensor) -> torch.Tensor:
        if self.encoder is None:
            return self.text_table[items]  # (batch, dim)
        from ..text import mean_pool

        # Fine-tuning: embed each distinct film of the batch once, with gradients into BERT.
        uniq, inverse = torch.unique(items, return_inverse=True)
        hidden = self.encoder(input_ids=self.tokens[uniq], attention_mask=self.attention[uniq]).last_hidden_state
        return mean_pool(hidden, self.attention[uniq])[inverse]  # (batch, dim)

    def cf_features(self, users: torch.Tensor, last: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """The standardised collaborative features, ``(batch, 4)``."""
        gap = (self.cf_item[last, 1] - self.cf_item[cand, 1]).abs()
        raw = torch.stack([self.cf_sim[last, cand], self.cf_ease[users, cand], self.cf_item[cand, 0], gap], dim=1)
        return (raw - self.cf_mean) / self.cf_std

    def forward(self, users: torch.Tensor, last: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch,)`` for index tensors ``(batch,)`` of users, their last films and candidates."""
        parts = []
        if self.use_text:
            h, c = self.project(self._text(last)), self.project(self._text(cand))  # (batch, text_dim) each
            parts += [h, c, h * c]
        if self.use_cf:
            parts.append(self.cf_features(users, last, cand)[:, self.cf_columns])
        logit = (
            self.mlp(torch.cat(parts, dim=1))[:, 0]
            if self.mlp is not None
            else torch.zeros(len(cand), device=cand.device)
        )
        if self.id_dim:
            logit = logit + (self.last_emb(last) * self.cand_emb(cand)).sum(1) + self.cand_bias(cand)[:, 0]
        return logit


class BertCF(Recommender):
    """Point-wise BERT + CF click model (see the module docstring for the formula).

    Args:
        text: read the MiniLM vectors of the last film and the candidate.
        cf: read the collaborative features: ``True`` for all of :data:`CF_FEATURES`, ``False`` for
            none, or a tuple of their names (e.g. ``("knn", "year_gap")``).
        ids: learn ID embeddings of the last film and the candidate (``id_dim`` each).
        id_dim: ID embedding size.
        text_dim: size the text vectors are projected to.
        hidden: hidden units of the MLP.
        n_negatives: popularity-sampled negatives per transition, redrawn every epoch.
        epochs: passes over the transitions.
        batch_size: rows per step.
        lr: Adam learning rate.
        weight_decay: Adam weight decay (L2 on every parameter).
        ease_lam: ``lam`` of the EASE whose scores are a feature.
        knn_shrink: cosine shrinkage of the item-kNN feature.
        encoder: ``None`` for the bundled all-MiniLM-L6-v2, or a Hugging Face name or path.
        cache_dir: embedding cache folder (default ``data/embeddings``, see
            :func:`~recsys_lessons.text.embed_items`).
        finetune: train the encoder end to end; ``None`` means "only on CUDA" (slow on a CPU).
        encoder_lr: learning rate of the encoder's weights when fine-tuning.
        max_length: tokens per item text when fine-tuning.
        seed: seed of the initialisation, the negatives and the shuffling.
        device: see :func:`~recsys_lessons.train.get_device`.
        num_threads: CPU threads while training (``None``: leave torch's setting); 1 gives the same
            numbers on every run.
        progress: show a progress bar per epoch.

    Attributes:
        net_: the trained :class:`ClickNet`.
        last_item_: ``(n_users,)`` each user's last training film (-1 if none).
        history_: the training :class:`~recsys_lessons.train.History`.
        n_pairs_: training rows per epoch. fit_seconds_: wall-clock training time.
        finetuned_: whether the encoder was trained.

    Raises:
        ValueError: (in ``fit``) no input at all (``text``, ``cf`` and ``ids`` all off), a
            non-positive size or count, or an Interactions without an item table when ``text``.
    """

    name = "BERT+CF click model"

    def __init__(
        self,
        text: bool = True,
        cf: bool = True,
        ids: bool = True,
        id_dim: int = 16,
        text_dim: int = 32,
        hidden: int = 64,
        n_negatives: int = 4,
        epochs: int = 1,
        batch_size: int = 1024,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        ease_lam: float = 400.0,
        knn_shrink: float = 10.0,
        encoder: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        finetune: bool | None = None,
        encoder_lr: float = 2e-5,
        max_length: int = 32,
        seed: int = 0,
        device: str | None = None,
        num_threads: int | None = 1,
        progress: bool = False,
    ) -> None:
        self.text = text
        self.cf = cf
        self.ids = ids
        self.id_dim = id_dim
        self.text_dim = text_dim
        self.hidden = hidden
        self.n_negatives = n_negatives
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.ease_lam = ease_lam
        self.knn_shrink = knn_shrink
        self.encoder = encoder
        self.cache_dir = cache_dir
        self.finetune = finetune
        self.encoder_lr = encoder_lr
        self.max_length = max_length
        self.seed = seed
        self.device = device
        self.num_threads = num_threads
        self.progress = progress

    # -- checks and inputs --------------------------------------------------------------------
    def _check_params(self, train: Interactions) -> None:
        if not (self.text or self.cf is not False or self.ids):
            raise ValueError("text, cf and ids are all off: the click model would have no input")
        for label in ("id_dim", "text_dim", "hidden", "epochs", "batch_size", "max_length"):
            value = getattr(self, label)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{label}={value!r}; expected a positive integer")
        for label, low in (("n_negatives", 1), ("seed", 0)):
            value = getattr(self, label)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{label}={value!r}; expected an integer >= {low}")
        nt = self.num_threads
        if nt is not None and (isinstance(nt, bool) or not isinstance(nt, (int, np.integer)) or nt < 1):
            raise ValueError(f"num_threads={nt!r}; expected a positive integer or None")
        for label in ("lr", "encoder_lr"):
            check_number(getattr(self, label), label)
            if not getattr(self, label) > 0:  # also refuses NaN
                raise ValueError(f"{label}={getattr(self, label)!r}; expected a positive number")
        if not isinstance(self.cf, bool):
            unknown = [c for c in self.cf if c not in CF_FEATURES] if isinstance(self.cf, (tuple, list)) else [self.cf]
            if unknown or not self.cf:
                raise ValueError(f"cf={self.cf!r}; expected True, False or a non-empty tuple of {CF_FEATURES}")
        if self.text and train.items is None:
            raise ValueError("text=True needs the item table: build Interactions from a Dataset")

    def _years(self, train: Interactions) -> np.ndarray:
        if train.items is None or "year" not in train.items.columns:
            return np.zeros(train.n_items)
        years = train.items["year"].to_numpy(dtype=float, na_value=np.nan)
        return np.where(np.isnan(years), np.nanmean(years) if np.isfinite(years).any() else 0.0, years)

    def _build_net(self, train: Interactions, dev: torch.device, finetune: bool) -> ClickNet:
        from ..text import item_texts

        text_table = encoder = tokens = attention = None
        if self.text:
            if finetune:
                from transformers import AutoModel, AutoTokenizer

                from ..text import resolve_model

                path = resolve_model(self.encoder)
                tok = AutoTokenizer.from_pretrained(path)
                enc = tok(
                    item_texts(train.items),
                    padding="max_length",
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                tokens, attention = enc["input_ids"], enc["attention_mask"]  # (n_items, max_length)
                encoder = AutoModel.from_pretrained(path, dtype=torch.float32)
            else:
                from ..text import _default_encoder, embed_items, load_encoder

                enc = _default_encoder() if self.encoder is None else load_encoder(self.encoder)
                text_table = torch.from_numpy(
                    embed_items(train.items, enc, cache_dir=self.cache_dir, progress=False)
                )  # (n_items, dim), cached
        cf = {}
        columns = [CF_FEATURES.index(c) for c in (CF_FEATURES if self.cf is True else self.cf or ())]
        if columns:
            # Training reads out-of-fold EASE scores; fit() swaps in the full model's for scoring.
            cf_ease = torch.from_numpy(out_of_fold_ease(train, self.ease_lam, seed=self.seed))  # (n_users, n_items)
            cf_sim = torch.from_numpy(cosine_similarity(train.binary().T, self.knn_shrink))  # (n_items, n_items)
            item = np.stack([np.log1p(train.item_popularity()), self._years(train)], axis=1).astype(np.float32)
            cf_item = torch.from_numpy(item)  # (n_items, 2)
            u, prev, nxt = transitions(train)
            sample = np.random.default_rng(self.seed).choice(len(u), size=min(len(u), 50_000), replace=False)
            probe = ClickNet(None, cf_ease, cf_sim, cf_item, torch.zeros(4), torch.ones(4), train.n_items, 0, 1, 1)
            with torch.no_grad():  # standardise on positives and uniform candidates alike
                rand = torch.from_numpy(np.random.default_rng(self.seed).integers(0, train.n_items, len(sample)))
                idx = [torch.from_numpy(a[sample]) for a in (u, prev, nxt)]
                raw = torch.cat([probe.cf_features(*idx), probe.cf_features(idx[0], idx[1], rand)])
            cf = dict(
                cf_ease=cf_ease, cf_sim=cf_sim, cf_item=cf_item, cf_mean=raw.mean(0), cf_std=raw.std(0).clamp(min=1e-6)
            )
        return ClickNet(
            text_table,
            cf.get("cf_ease"),
            cf.get("cf_sim"),
            cf.get("cf_item"),
            cf.get("cf_mean"),
            cf.get("cf_std"),
            train.n_items,
            self.id_dim if self.ids else 0,
            self.text_dim,
            self.hidden,
            encoder,
            tokens,
            attention,
            columns,
        ).to(dev)

    # -- training -----------------------------------------------------------------------------
    def fit(self, train: Interactions) -> BertCF:
        """Train the click model on every transition of ``train`` with popularity-sampled negatives."""
        self.__dict__.pop("train_", None)  # stays unfitted if anything below fails
        train = self._check_train(train)
        self._check_params(train)
        dev = get_device(self.device)
        finetune = (dev.type == "cuda") if self.finetune is None else bool(self.finetune)
        set_seed(self.seed)
        net = self._build_net(train, dev, finetune and self.text)
        u, prev, nxt = transitions(train)
        if len(u) == 0:
            raise ValueError("no user has two training interactions: there is no transition to learn from")
        seen = train.binary()
        pop = train.item_popularity().astype(np.float64) + 1.0
        q = pop / pop.sum()
        n_neg = int(self.n_negatives)

        def batches(epoch: int):
            rng = np.random.default_rng([self.seed, epoch])
            neg = rng.choice(train.n_items, size=(len(u), n_neg), p=q)  # (n_pos, n_neg)
            for _ in range(10):  # redraw the negatives a user has rated (a few rounds are plenty)
                clash = np.asarray(seen[np.repeat(u, n_neg), neg.ravel()]).reshape(neg.shape) > 0
                if not clash.any():
                    break
                neg[clash] = rng.choice(train.n_items, size=int(clash.sum()), p=q)
            users = np.concatenate([u, np.repeat(u, n_neg)])
            last = np.concatenate([prev, np.repeat(prev, n_neg)])
            cand = np.concatenate([nxt, neg.ravel()])
            label = np.concatenate([np.ones(len(u)), np.zeros(len(u) * n_neg)]).astype(np.float32)
            order = rng.permutation(len(users))
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                yield tuple(torch.from_numpy(a[idx]) for a in (users, last, cand, label))

        def loss_fn(model: nn.Module, batch) -> torch.Tensor:
            users, last, cand, label = batch
            return nn.functional.binary_cross_entropy_with_logits(model(users, last, cand), label)  # (batch,) logits

        encoder_params = list(net.encoder.parameters()) if net.encoder is not None else []
        ids = {id(p) for p in encoder_params}
        groups = [{"params": [p for p in net.parameters() if id(p) not in ids], "lr": self.lr}]
        if encoder_params:
            groups.append({"params": encoder_params, "lr": self.encoder_lr})
        optimizer = torch.optim.Adam(groups, weight_decay=self.weight_decay)
        start = time.perf_counter()
        with cpu_threads(self.num_threads if dev.type == "cpu" else None):
            self.history_: History = train_loop(
                net,
                batches,
                loss_fn,
                optimizer,
                int(self.epochs),
                device=dev,
                grad_clip=1.0 if finetune else None,
                progress=self.progress,
                desc="BERT+CF",
            )
        self.fit_seconds_ = time.perf_counter() - start
        self.n_pairs_ = len(u) * (1 + n_neg)
        self.finetuned_ = bool(finetune and self.text)
        if net.use_cf:  # score with the EASE fitted on all of train (the test candidates' situation)
            net.cf_ease.copy_(torch.from_numpy(EASE(lam=self.ease_lam).fit(train).score()))
        self.net_ = net.eval()
        self.device_ = dev
        self.last_item_ = np.array([s[-1] if len(s) else -1 for s in train.user_sequences()], dtype=np.int64)
        self.train_ = train
        return self

    # -- scoring ------------------------------------------------------------------------------
    def score_candidates(
        self, users: np.ndarray | list[int], candidates: np.ndarray, batch_size: int = 65_536
    ) -> np.ndarray:
        """Logits of each user's candidates: ``(n, k)`` for ``users`` ``(n,)`` and ``candidates`` ``(n, k)``.

        A user without training items gets logits from a "last film" of index 0 (they carry no
        history signal; only the candidate-side features differ).

        Raises:
            NotFittedError: before ``fit``.
            ValueError: ``candidates`` is not ``(len(users), k)`` or holds an index outside the catalogue.
        """
        users = self._check_users(users)
        cand = np.asarray(candidates, dtype=np.int64)
        if cand.ndim != 2 or cand.shape[0] != len(users):
            raise ValueError(f"candidates must be (len(users)={len(users)}, k), got {cand.shape}")
        if cand.size and (cand.min() < 0 or cand.max() >= self.train_.n_items):
            raise ValueError(f"candidate indices must lie in 0..{self.train_.n_items - 1}")
        flat_u = np.repeat(users, cand.shape[1])
        flat_last = np.maximum(self.last_item_[flat_u], 0)
        out = np.empty(cand.size, dtype=np.float32)
        with torch.no_grad():
            for s in range(0, cand.size, batch_size):
                idx = [
                    torch.from_numpy(a[s : s + batch_size]).to(self.device_) for a in (flat_u, flat_last, cand.ravel())
                ]
                out[s : s + batch_size] = self.net_(*idx).float().cpu().numpy()
        return out.reshape(cand.shape)

    def _score(self, users: np.ndarray) -> np.ndarray:
        all_items = np.broadcast_to(np.arange(self.train_.n_items), (len(users), self.train_.n_items))
        return self.score_candidates(users, all_items)

    def click_probability(self, users: np.ndarray | list[int], candidates: np.ndarray) -> np.ndarray:
        """``σ(logit)`` of :meth:`score_candidates`: the model's probability that the user picks each candidate next."""
        return 1.0 / (1.0 + np.exp(-self.score_candidates(users, candidates).astype(np.float64)))

    @property
    def n_parameters_(self) -> int:
        """Trainable parameters of the fitted network (the encoder's included when it is fine-tuned)."""
        self._check_fitted()
        return sum(p.numel() for p in self.net_.parameters())
