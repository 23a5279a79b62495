"""BERT4Rec: a bidirectional Transformer over item-ID sequences trained with the cloze task.

Sun et al. (2019). Each user is a sequence of item IDs in time order. During training a random
share of the positions is replaced by a ``[MASK]`` token and the model predicts the hidden items
from both sides of the context. At inference ``[MASK]`` is appended after the user's history and
the output at that position scores the whole catalogue: the next item.

The backbone is a small :class:`transformers.BertModel` built from a :class:`~transformers.BertConfig`
over the item vocabulary (``[PAD]`` = 0, item ``i`` of the shared index = ``i + 1``,
``[MASK]`` = ``n_items + 1``), trained from scratch. The output layer is tied to the item
embeddings (plus a per-item bias), so the same item vectors feed input and output.

The ``loss`` argument switches the training objective on the same backbone (see
:mod:`recsys_lessons.models.losses`): ``"softmax"`` (full cross-entropy over the catalogue, the
original), ``"bce"`` (one sampled negative), ``"bce_many"`` (``n_negatives`` negatives) and
``"sampled_softmax"`` (``n_negatives`` popularity-sampled negatives with the log-Q correction).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..data import Interactions
from ..evaluation import validation_ndcg
from ..storage import atomic_folder
from ..train import History, cpu_threads, get_device, set_seed, train_loop
from .base import Recommender, check_int, check_number
from .losses import LOSSES, bce_loss, full_softmax_loss, sampled_softmax_loss

__all__ = ["BERT4Rec", "Bert4RecNet", "mask_sequences", "sequence_windows"]

PAD = 0
WEIGHTS_FILE = "bert4rec.safetensors"
CONFIG_FILE = "bert4rec.json"


def sequence_windows(
    sequences: list[np.ndarray], max_len: int, min_len: int = 2, stride: int | None = None
) -> np.ndarray:
    """Cut each item sequence into windows of at most ``max_len``, from the end, left-padded.

    The last window of every user ends at their last item (the position inference predicts
    from); longer histories give further, earlier windows so no interaction is wasted.

    Args:
        sequences: item indices (0-based) per user, in time order.
        max_len: window length.
        min_len: windows shorter than this are dropped (a single item has no context).
        stride: items between the ends of consecutive windows; ``None`` = ``max_len`` (no
            overlap). A smaller stride gives overlapping windows: more training contexts per
            epoch, the same items seen next to different neighbours.

    Returns:
        ``(n_windows, max_len)`` int64 array of tokens (item index + 1; 0 = ``[PAD]`` on the left).
    """
    step = max_len if stride is None else stride
    if not 1 <= step <= max_len:
        raise ValueError(f"stride={stride!r}; expected an integer in [1, max_len={max_len}]")
    rows = []
    for seq in sequences:
        tokens = np.asarray(seq, dtype=np.int64) + 1
        for end in range(len(tokens), 0, -step):
            window = tokens[max(0, end - max_len) : end]
            if len(window) < min_len:
                continue
            row = np.zeros(max_len, dtype=np.int64)
            row[max_len - len(window) :] = window
            rows.append(row)
    return np.stack(rows) if rows else np.zeros((0, max_len), dtype=np.int64)


def mask_sequences(
    windows: np.ndarray, mask_prob: float, mask_token: int, rng: np.random.Generator, last_only: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The cloze task: hide a random share of the items of each window.

    Every non-padding position is masked with probability ``mask_prob``; a window that draws no
    mask gets its last item masked, so every window teaches something (and the last position,
    which inference uses, is practised). A share ``last_only`` of the windows instead has only
    its last item masked: exactly the task of inference, "the whole history, what comes next?"
    (Sun et al. 2019 add such samples for the same reason).

    Args:
        windows: ``(n, max_len)`` tokens from :func:`sequence_windows` (0 = padding).
        mask_prob: probability of masking each item, in (0, 1].
        mask_token: id of ``[MASK]``.
        rng: NumPy generator (seeded by the caller).
        last_only: probability that a window has only its last item masked, in [0, 1].

    Returns:
        ``(inputs, labels)``: inputs with ``[MASK]`` at masked positions; labels holding the
        hidden item's 0-based index at masked positions and ``-100`` everywhere else (ignored).

    Raises:
        ValueError: ``mask_prob`` outside (0, 1] or ``last_only`` outside [0, 1].
    """
    if not 0.0 < mask_prob <= 1.0:
        raise ValueError(f"mask_prob={mask_prob!r}; expected a number in (0, 1]")
    if not 0.0 <= last_only <= 1.0:
        raise ValueError(f"last_only={last_only!r}; expected a number in [0, 1]")
    real = windows != PAD
    masked = (rng.random(windows.shape) < mask_prob) & real
    if last_only > 0:
        only_last = rng.random(len(windows)) < last_only  # (n,)
        masked[only_last] = False
        masked[only_last, -1] = real[only_last, -1]
    none = ~masked.any(axis=1) & real.any(axis=1)
    masked[none, -1] = True  # windows are left-padded: the last column is the last item
    inputs = np.where(masked, mask_token, windows)
    labels = np.where(masked, windows - 1, -100)
    return inputs, labels


class Bert4RecNet(nn.Module):
    """The network: ``BertModel`` encoder, a transform layer, and an output tied to item embeddings.

    Args:
        n_items: catalogue size; the vocabulary is ``n_items + 2`` (``[PAD]`` and ``[MASK]``).
        hidden: embedding and hidden size.
        layers: Transformer blocks.
        heads: attention heads (must divide ``hidden``).
        max_len: longest sequence (position embeddings).
        dropout: dropout on hidden states and attention.
    """

    def __init__(self, n_items: int, hidden: int, layers: int, heads: int, max_len: int, dropout: float) -> None:
        super().__init__()
        from transformers import BertConfig, BertModel

        if hidden % heads:
            raise ValueError(f"hidden={hidden} is not divisible by heads={heads}")
        self.n_items = n_items
        config = BertConfig(
            vocab_size=n_items + 2,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=4 * hidden,
            max_position_embeddings=max_len,
            hidden_dropout_prob=dropout,
            attention_probs_dropout_prob=dropout,
            type_vocab_size=1,
            pad_token_id=PAD,
        )
        self.bert = BertModel(config, add_pooling_layer=False)
        self.transform = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden))
        self.out_bias = nn.Parameter(torch.zeros(n_items))

    def item_embeddings(self) -> torch.Tensor:
        """``(n_items, hidden)`` embeddings of the real items (rows 1..n_items of the vocabulary)."""
        return self.bert.embeddings.word_embeddings.weight[1 : self.n_items + 1]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(batch, seq)`` tokens -> ``(batch, seq, hidden)`` output vectors."""
        attention = (tokens != PAD).long()  # (batch, seq): padding is never attended to
        h = self.bert(input_ids=tokens, attention_mask=attention).last_hidden_state  # (batch, seq, hidden)
        return self.transform(h)

    def all_scores(self, h: torch.Tensor) -> torch.Tensor:
        """``(n, hidden)`` -> ``(n, n_items)`` logits of every item."""
        return h @ self.item_embeddings().T + self.out_bias

    def pair_scores(self, h: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``(n, hidden)`` and ``(n, k)`` item indices -> ``(n, k)`` logits of those items."""
        emb = self.item_embeddings()[items]  # (n, k, hidden)
        return torch.einsum("nh,nkh->nk", h, emb) + self.out_bias[items]


class BERT4Rec(Recommender):
    """BERT4Rec trained from scratch with a choice of loss; scores the full catalogue.

    Args:
        hidden: embedding / hidden size.
        layers: Transformer blocks.
        heads: attention heads.
        max_len: window length (the last ``max_len - 1`` items are used at inference).
        mask_prob: cloze masking probability.
        last_only: share of the windows (redrawn every epoch) that have only their last item
            masked, the inference task (see :func:`mask_sequences`).
        stride: items between the ends of consecutive training windows of one user (``None`` =
            ``max_len``, no overlap; see :func:`sequence_windows`).
        dropout: dropout probability.
        loss: ``"softmax"``, ``"bce"``, ``"bce_many"`` or ``"sampled_softmax"``.
        n_negatives: negatives per masked position for ``"bce_many"`` and ``"sampled_softmax"``
            (``"bce"`` always uses one).
        sampler: ``"uniform"`` or ``"popularity"`` (proportional to training count + 1);
            ``None`` picks uniform for the BCE losses and popularity for the sampled softmax.
        epochs: maximum epochs.
        batch_size: windows per batch.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup: share of the steps with a linearly rising learning rate (transformers'
            ``get_linear_schedule_with_warmup``: from 0 up to ``lr``, then linearly down to 0).
        grad_clip: gradient-norm clipping.
        patience: early-stopping patience in epochs (only with a validation set).
        seed: seed for initialisation, masking, negatives and dropout.
        device: see :func:`~recsys_lessons.train.get_device`.
        progress: show progress bars.
        num_threads: torch CPU threads while training (``None`` keeps the global
            setting). The default 1 makes CPU runs bit-reproducible: with several threads the
            sampled losses gave different numbers from run to run.

    Attributes:
        net_: the trained :class:`Bert4RecNet`.
        history_: the :class:`~recsys_lessons.train.History` of training.
        fit_seconds_: wall-clock training time.
        observed_: the interactions the model scores from and ``recommend`` excludes:
            ``train_`` itself, or ``train_.union(valid)`` when ``fit`` got a ``valid`` set
            (``train_`` is always the ``train`` passed to ``fit``; evaluate against
            ``observed_`` to mask the validation items too).
        sequences_: per-user item sequences the model scores from (those of ``observed_``).
    """

    name = "bert4rec"

    def __init__(
        self,
        hidden: int = 64,
        layers: int = 2,
        heads: int = 2,
        max_len: int = 50,
        mask_prob: float = 0.2,
        last_only: float = 0.0,
        stride: int | None = None,
        dropout: float = 0.2,
        loss: Literal["softmax", "bce", "bce_many", "sampled_softmax"] = "softmax",
        n_negatives: int = 64,
        sampler: Literal["uniform", "popularity"] | None = None,
        epochs: int = 50,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        warmup: float = 0.05,
        grad_clip: float = 5.0,
        patience: int | None = None,
        seed: int = 42,
        device: str | None = None,
        progress: bool = True,
        num_threads: int | None = 1,
    ) -> None:
        self.hidden = hidden
        self.layers = layers
        self.heads = heads
        self.max_len = max_len
        self.mask_prob = mask_prob
        self.last_only = last_only
        self.stride = stride
        self.dropout = dropout
        self.loss = loss
        self.n_negatives = n_negatives
        self.sampler = sampler
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.grad_clip = grad_clip
        self.patience = patience
        self.seed = seed
        self.device = device
        self.progress = progress
        self.num_threads = num_threads

    # -- checks --------------------------------------------------------------------------------
    def _check_params(self) -> None:
        for name in ("hidden", "layers", "heads", "max_len", "n_negatives", "epochs", "batch_size"):
            check_int(getattr(self, name), name, min_val=1)
        check_int(self.stride, "stride", min_val=1, allow_none=True)
        check_int(self.patience, "patience", min_val=1, allow_none=True)
        check_int(self.num_threads, "num_threads", min_val=1, allow_none=True)
        check_int(self.seed, "seed", min_val=0)
        check_number(self.mask_prob, "mask_prob", min_val=0.0, max_val=1.0, include_boundaries="right")
        check_number(self.last_only, "last_only", min_val=0.0, max_val=1.0)
        check_number(self.dropout, "dropout", min_val=0.0, max_val=1.0, include_boundaries="left")
        check_number(self.lr, "lr", min_val=0.0, include_boundaries="neither")
        check_number(self.weight_decay, "weight_decay", min_val=0.0)
        check_number(self.warmup, "warmup", min_val=0.0, max_val=1.0)
        check_number(self.grad_clip, "grad_clip", min_val=0.0, include_boundaries="neither")
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r}; expected one of {LOSSES}")
        if self.sampler not in (None, "uniform", "popularity"):
            raise ValueError(f"sampler={self.sampler!r}; expected 'uniform', 'popularity' or None")
        if self.max_len < 2:
            raise ValueError(f"max_len={self.max_len!r}; expected at least 2")
        if not 0.0 < self.mask_prob <= 1.0:
            raise ValueError(f"mask_prob={self.mask_prob!r}; expected a number in (0, 1]")
        if self.n_negatives < 1:
            raise ValueError(f"n_negatives={self.n_negatives!r}; expected at least 1")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs={self.epochs!r} and batch_size={self.batch_size!r} must be >= 1")

    def _n_negatives(self) -> int:
        return 1 if self.loss == "bce" else self.n_negatives

    def _sampler(self) -> str:
        if self.sampler is not None:
            return self.sampler
        return "popularity" if self.loss == "sampled_softmax" else "uniform"

    # -- training ------------------------------------------------------------------------------
    def _batches(self, windows: np.ndarray, q: np.ndarray):
        """``epoch -> list of batches``: fresh masks and negatives per epoch, seeded."""
        n_items = len(q)
        log_q = np.log(q).astype(np.float32)
        mask_token = n_items + 1
        k = self._n_negatives()

        def batches(epoch: int):
            rng = np.random.default_rng([self.seed, epoch])
            order = rng.permutation(len(windows))
            inputs, labels = mask_sequences(windows[order], self.mask_prob, mask_token, rng, self.last_only)
            out = []
            for start in range(0, len(order), self.batch_size):
                x = inputs[start : start + self.batch_size]
                y = labels[start : start + self.batch_size]
                batch = {"tokens": torch.from_numpy(x), "labels": torch.from_numpy(y)}
                if self.loss != "softmax":
                    targets = y[y >= 0]  # row-major, the order of h[labels >= 0] below
                    neg = rng.choice(n_items, size=(len(targets), k), p=q)
                    batch["neg"] = torch.from_numpy(neg)
                    batch["log_q_pos"] = torch.from_numpy(log_q[targets])
                    batch["log_q_neg"] = torch.from_numpy(log_q[neg])
                out.append(batch)
            return out

        return batches

    def _loss(self, net: Bert4RecNet, batch: dict) -> torch.Tensor:
        h = net(batch["tokens"])  # (batch, seq, hidden)
        sel = batch["labels"] >= 0
        hm = h[sel]  # (n_masked, hidden)
        target = batch["labels"][sel]  # (n_masked,)
        if self.loss == "softmax":
            return full_softmax_loss(net.all_scores(hm), target)
        neg = batch["neg"]  # (n_masked, k)
        pos_s = net.pair_scores(hm, target[:, None])[:, 0]  # (n_masked,)
        neg_s = net.pair_scores(hm, neg)  # (n_masked, k)
        keep = neg != target[:, None]  # accidental hits are not negatives
        if self.loss == "sampled_softmax":
            return sampled_softmax_loss(pos_s, neg_s, batch["log_q_pos"], batch["log_q_neg"], keep)
        return bce_loss(pos_s, neg_s, keep)

    def fit(self, train: Interactions, valid: Interactions | None = None) -> BERT4Rec:
        """Train on the users' sequences in ``train``.

        Args:
            train: training interactions (time order comes from the timestamps).
            valid: optional held-out next items (e.g. the second-to-last item per user). When
                given, NDCG@10 on it is computed after every epoch, the best epoch's weights are
                kept (``patience`` stops early), and afterwards the model scores from
                ``train`` + ``valid``: at test time the validation item is part of the history.

        Returns:
            ``self``.

        Raises:
            TypeError: ``train`` is not an :class:`~recsys_lessons.data.Interactions`.
            ValueError: invalid hyper-parameters, an empty ``train``, or no sequence of 2+ items.
        """
        self._check_params()
        train = self._check_train(train)
        sequences = train.user_sequences()
        windows = sequence_windows(sequences, self.max_len, stride=self.stride)
        if len(windows) == 0:
            raise ValueError("no user has 2 or more training interactions; BERT4Rec needs sequences")
        gen = set_seed(self.seed)
        del gen  # the global seed drives initialisation and dropout
        dev = get_device(self.device)
        counts = train.item_popularity().astype(np.float64)
        q = (
            np.full(train.n_items, 1.0 / train.n_items)
            if self._sampler() == "uniform"
            else (counts + 1) / (counts + 1).sum()
        )
        net = Bert4RecNet(train.n_items, self.hidden, self.layers, self.heads, self.max_len, self.dropout)
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps = self.epochs * math.ceil(len(windows) / self.batch_size)
        from transformers import get_linear_schedule_with_warmup  # lazy: transformers is heavy to import

        scheduler = get_linear_schedule_with_warmup(optimizer, int(self.warmup * steps), steps)

        validate = None
        if valid is not None:
            rel = valid.binary()
            users = np.flatnonzero(np.diff(rel.indptr))
            if users.size == 0:
                raise ValueError("valid holds no interaction")
            seen = train.matrix[users]

            def validate(model: Bert4RecNet) -> float:
                scores = self._score_sequences(model, [sequences[u] for u in users], dev)
                return validation_ndcg(scores, rel[users], seen, 10)

        start = time.perf_counter()
        # The fitted attributes are set only once training finished: an interrupted fit (Ctrl-C,
        # a kernel interrupt) leaves the model as it was, never a half-trained one to save.
        with cpu_threads(self.num_threads if dev.type == "cpu" else None):
            self.history_: History = train_loop(
                net,
                self._batches(windows, q),
                self._loss,
                optimizer,
                self.epochs,
                device=dev,
                scheduler=scheduler,
                grad_clip=self.grad_clip,
                validate=validate,
                patience=self.patience if valid is not None else None,
                progress=self.progress,
                desc=f"BERT4Rec[{self.loss}]",
            )
        self.fit_seconds_ = time.perf_counter() - start
        self.net_ = net
        self.device_ = dev
        self.train_ = train
        # At test time the validation item is part of the history: score, and exclude, from both.
        self.observed_ = train if valid is None else train.union(valid)
        self.sequences_ = self.observed_.user_sequences()
        return self

    # -- scoring -------------------------------------------------------------------------------
    def _score_sequences(
        self, net: Bert4RecNet, sequences: list[np.ndarray], device: torch.device, batch_size: int = 256
    ) -> np.ndarray:
        """Append ``[MASK]`` to each history and return ``(len(sequences), n_items)`` logits."""
        n_items = net.n_items
        x = np.zeros((len(sequences), self.max_len), dtype=np.int64)
        for row, seq in enumerate(sequences):
            hist = np.asarray(seq[-(self.max_len - 1) :], dtype=np.int64) + 1 if len(seq) else np.zeros(0, np.int64)
            x[row, self.max_len - 1 - len(hist) : self.max_len - 1] = hist
        x[:, -1] = n_items + 1  # [MASK] after the history: "what comes next?"
        out = np.empty((len(sequences), n_items), dtype=np.float32)
        was_training = net.training
        net.eval()
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                tokens = torch.from_numpy(x[start : start + batch_size]).to(device)
                h = net(tokens)[:, -1]  # (batch, hidden) at the [MASK] position
                out[start : start + batch_size] = net.all_scores(h).float().cpu().numpy()
        net.train(was_training)
        return out

    def _seen(self) -> sp.csr_matrix:
        # The validation items are history too: recommend never returns them.
        return self.observed_.matrix

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self._score_sequences(self.net_, [self.sequences_[u] for u in users], self.device_)

    # -- persistence: safetensors weights + JSON, never pickle ----------------------------------
    _SETTINGS = (
        "hidden",
        "layers",
        "heads",
        "max_len",
        "mask_prob",
        "last_only",
        "stride",
        "dropout",
        "loss",
        "n_negatives",
        "sampler",
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "warmup",
        "grad_clip",
        "patience",
        "seed",
        "num_threads",
    )

    def save(self, folder: str | os.PathLike) -> Path:
        """Write the network's weights (safetensors) and the hyper-parameters (JSON) to ``folder``.

        The interactions are not saved (they are the user's data); pass them again to :meth:`load`.

        Raises:
            NotFittedError: before ``fit``.
            FolderNotWritableError: ``folder`` cannot be written (read-only, disk full).
        """
        from safetensors.torch import save_file

        self._check_fitted()
        state = {k: v.detach().cpu().contiguous() for k, v in self.net_.state_dict().items()}
        settings = {k: getattr(self, k) for k in self._SETTINGS}
        # All or nothing: an interrupt mid-save leaves the previous save (or no loadable folder).
        with atomic_folder(folder, CONFIG_FILE, "the BERT4Rec save") as tmp:
            save_file(state, str(tmp / WEIGHTS_FILE))
            (tmp / CONFIG_FILE).write_text(json.dumps({"n_items": self.net_.n_items, "settings": settings}, indent=2))
        return Path(folder)

    @classmethod
    def load(cls, folder: str | os.PathLike, train: Interactions, device: str | None = None) -> BERT4Rec:
        """Load a model written by :meth:`save`; it scores from the sequences in ``train``.

        Args:
            folder: the folder :meth:`save` wrote.
            train: the interactions the model should read histories from (usually the ones it
                was fitted on, ``model.train_``).
            device: see :func:`~recsys_lessons.train.get_device`.

        Raises:
            FileNotFoundError: a file of the folder is missing.
            ValueError: ``train`` has a different number of items than the saved model.
        """
        from safetensors.torch import load_file

        folder = Path(folder)
        for name in (WEIGHTS_FILE, CONFIG_FILE):
            if not (folder / name).exists():
                raise FileNotFoundError(f"{folder / name} is missing; not a folder written by BERT4Rec.save")
        meta = json.loads((folder / CONFIG_FILE).read_text())
        model = cls(**meta["settings"], device=device, progress=False)
        train = model._check_train(train)
        if train.n_items != meta["n_items"]:
            raise ValueError(f"the model was trained on {meta['n_items']} items but train has {train.n_items}")
        net = Bert4RecNet(meta["n_items"], model.hidden, model.layers, model.heads, model.max_len, model.dropout)
        net.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        model.device_ = get_device(device)
        model.net_ = net.to(model.device_).eval()
        model.train_ = model.observed_ = train
        model.sequences_ = train.user_sequences()
        return model
