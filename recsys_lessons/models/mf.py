"""Matrix factorisation: biased MF for explicit ratings and BPR for implicit feedback.

Both learn a ``dim``-dimensional vector per user (``p_u``) and per item (``q_i``) plus biases,
and both train through :func:`recsys_lessons.train.train_loop` on the chosen device (CUDA when
present, else the CPU, with the same code).

* :class:`MatrixFactorization` regresses the rating itself (Koren, Bell & Volinsky 2009):
  ``r_hat(u, i) = mu + b_u + b_i + p_u . q_i``, trained on squared error with L2 on the factors.
  Measured by RMSE; its scores also rank items, but rating error is not ranking quality.
* :class:`BPR` (Rendle et al. 2009) only knows which items a user interacted with and learns to
  put each of them above a sampled item the user did not touch:
  ``loss = -log sigmoid(x_ui - x_uj) + reg * (|p_u|^2 + |q_i|^2 + |q_j|^2)``.

Early stopping: with ``valid_fraction > 0`` a validation part is carved from the training data
(stratified per user, seeded), the best epoch count is found on it, and with ``refit=True`` the
model is retrained on all the training data for that many epochs.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal, cast

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from .. import metrics as M
from ..data import Interactions, split_stratified
from ..evaluation import validation_ndcg
from ..train import History, cpu_threads, get_device, set_seed, train_loop
from .base import Recommender, check_int, check_number

__all__ = ["BPR", "BiasedMFModule", "MatrixFactorization", "sample_negatives"]


class BiasedMFModule(nn.Module):
    """User and item factors with biases: ``x(u, i) = mu + b_u + b_i + p_u . q_i``.

    Args:
        n_users: rows of the user tables.
        n_items: rows of the item tables.
        dim: factor dimension.
        init_std: standard deviation of the normal initialisation of the factors.
        global_bias: initial value of ``mu`` (e.g. the mean training rating).
    """

    def __init__(self, n_users: int, n_items: int, dim: int, init_std: float = 0.01, global_bias: float = 0.0):
        super().__init__()
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        self.mu = nn.Parameter(torch.tensor(float(global_bias)))
        for table in (self.user, self.item):
            nn.init.normal_(table.weight, std=init_std)
        for table in (self.user_bias, self.item_bias):
            nn.init.zeros_(table.weight)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores of ``(users[b], items[b])`` pairs: ``(batch,)`` -> ``(batch,)``."""
        dot = (self.user(users) * self.item(items)).sum(-1)  # (batch,)
        return self.mu + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1) + dot

    def all_scores(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of the given users against every item: ``(batch,)`` -> ``(batch, n_items)``."""
        return (
            self.mu
            + self.user_bias(users)  # (batch, 1)
            + self.item_bias.weight.T  # (1, n_items)
            + self.user(users) @ self.item.weight.T  # (batch, n_items)
        )


def sample_negatives(
    users: np.ndarray,
    seen: sp.csr_matrix,
    rng: np.random.Generator,
    max_tries: int = 20,
    dense_limit: int = 2**28,
) -> np.ndarray:
    """One uniformly drawn item per user in ``users`` that the user has not interacted with.

    Draws all candidates at once and redraws only the collisions with ``seen`` (rare on sparse
    data), so the cost is a few vectorised passes.

    Args:
        users: ``(n,)`` user indices.
        seen: ``(n_users, n_items)`` CSR of training interactions (sorted indices).
        rng: the random generator (the caller seeds it per epoch).
        max_tries: redraw rounds before giving up on users who have seen almost everything.
        dense_limit: largest ``n_users * n_items`` checked through a boolean mask (one byte a
            cell); larger matrices use a binary search in the sorted seen pairs. Same draws either way.

    Returns:
        ``(n,)`` int64 item indices; after ``max_tries`` a leftover collision is kept as is.
    """
    n_items = seen.shape[1]
    coo = seen.tocoo()
    keys = coo.row.astype(np.int64) * n_items + coo.col  # u * n_items + i of every seen pair
    if seen.shape[0] * n_items <= dense_limit:
        # A flat boolean mask of the users x items matrix: membership is one gather.
        mask = np.zeros(seen.shape[0] * n_items, dtype=bool)
        mask[keys] = True

        def is_seen(cand: np.ndarray) -> np.ndarray:
            return mask[cand]
    else:
        # Too large for a mask: membership is a binary search in the sorted keys.
        keys.sort()

        def is_seen(cand: np.ndarray) -> np.ndarray:
            return keys[np.minimum(np.searchsorted(keys, cand), len(keys) - 1)] == cand

    neg = rng.integers(0, n_items, size=len(users))
    base = users.astype(np.int64) * n_items
    for _ in range(max_tries):
        clash = is_seen(base + neg)
        if not clash.any():
            break
        neg[clash] = rng.integers(0, n_items, size=int(clash.sum()))
    return neg.astype(np.int64)


@dataclass(repr=False, eq=False, kw_only=True)
class _FactorModel(Recommender):
    """Shared machinery of the two factor models: parameter checks, fitting with early stopping.

    The hyper-parameters are dataclass fields: the generated ``__init__`` stores them untouched
    and gives scikit-learn the explicit signature ``get_params``/``clone`` read; subclasses add
    their own fields and re-declare a shared one only to change its default. ``repr`` and
    equality stay scikit-learn's (an estimator compares by identity).
    """

    dim: int = 64
    epochs: int = 60
    lr: float = 0.005
    reg: float = 0.01
    batch_size: int = 1024
    valid_fraction: float = 0.1
    patience: int | None = 4
    refit: bool = True
    seed: int = 42
    device: str | torch.device | None = None
    progress: bool = False
    num_threads: int | None = 1

    def _check_params(self) -> None:
        """Validate the hyper-parameters (called by ``fit``; ``__init__`` stores them untouched)."""
        for name in ("dim", "epochs", "batch_size"):
            check_int(getattr(self, name), name, min_val=1)
        check_int(self.num_threads, "num_threads", min_val=1, allow_none=True)
        check_int(self.patience, "patience", min_val=1, allow_none=True)
        check_int(self.seed, "seed", min_val=0)
        check_number(self.lr, "lr", min_val=0.0, include_boundaries="neither")
        check_number(self.reg, "reg", min_val=0.0)
        check_number(self.valid_fraction, "valid_fraction", min_val=0.0, max_val=1.0, include_boundaries="left")

    # Subclasses provide these.
    @abstractmethod
    def _build(self, train: Interactions) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    @abstractmethod
    def _batches(self, train: Interactions, epoch: int):  # pragma: no cover - abstract
        raise NotImplementedError

    @abstractmethod
    def _loss(self, model: BiasedMFModule, batch) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    @abstractmethod
    def _validator(self, fit_part: Interactions, valid: Interactions):  # pragma: no cover - abstract
        raise NotImplementedError

    _mode: ClassVar[Literal["max", "min"]] = "max"

    def _train(self, train: Interactions, valid: Interactions | None, epochs: int) -> tuple[nn.Module, History]:
        set_seed(self.seed)
        module = self._build(train)
        optimizer = torch.optim.Adam(module.parameters(), lr=self.lr)
        with cpu_threads(self.num_threads if self.device_.type == "cpu" else None):
            history = self._run_loop(module, optimizer, train, valid, epochs)
        return module, history

    def _run_loop(self, module, optimizer, train, valid, epochs) -> History:
        return train_loop(
            module,
            lambda epoch: self._batches(train, epoch),
            self._loss,
            optimizer,
            epochs,
            device=self.device_,
            validate=None if valid is None else self._validator(train, valid),
            mode=self._mode,
            patience=None if valid is None else self.patience,
            progress=self.progress,
            desc=self.name,
        )

    def fit(self, train: Interactions, valid: Interactions | None = None) -> _FactorModel:
        """Train on ``train``.

        Args:
            train: training interactions.
            valid: explicit validation interactions for early stopping (same index). When
                ``None`` and ``valid_fraction > 0`` a validation part is carved from ``train``.

        Returns:
            self, with ``module_`` (the torch module, in eval mode) and ``history_`` set.

        Raises:
            TypeError: ``train`` is not an ``Interactions``.
            ValueError: empty ``train``.
        """
        self.__dict__.pop("train_", None)  # not fitted until training succeeds
        self._check_params()
        train = self._check_train(train)
        self.device_ = get_device(self.device)
        if valid is not None:
            self.module_, self.history_ = self._train(train, valid, self.epochs)
            self.search_history_ = None
        elif self.valid_fraction > 0:
            fit_part, held = split_stratified(train, 1.0 - self.valid_fraction, by="user", seed=self.seed)
            module, self.search_history_ = self._train(fit_part, held, self.epochs)
            if self.refit:
                self.module_, self.history_ = self._train(train, None, self.search_history_.best_epoch + 1)
            else:
                self.module_, self.history_ = module, self.search_history_
        else:
            self.module_, self.history_ = self._train(train, None, self.epochs)
            self.search_history_ = None
        self.module_.eval()
        self.train_ = train
        return self

    @torch.no_grad()
    def _score(self, users: np.ndarray) -> np.ndarray:
        u = torch.as_tensor(users, dtype=torch.long, device=self.device_)
        module = cast(BiasedMFModule, self.module_)
        return module.all_scores(u).float().cpu().numpy()  # (len(users), n_items)


@dataclass(repr=False, eq=False, kw_only=True)
class MatrixFactorization(_FactorModel):
    """Biased matrix factorisation for explicit ratings, trained on squared error (RMSE).

    ``r_hat(u, i) = mu + b_u + b_i + p_u . q_i``; loss per batch
    ``mean((r - r_hat)^2) + reg * mean(|p_u|^2 + |q_i|^2) + bias_reg * mean(b_u^2 + b_i^2)``.

    Args:
        dim: factor dimension.
        epochs: maximum epochs (early stopping may use fewer).
        lr: Adam learning rate.
        reg: L2 weight on the factors of each sampled pair.
        bias_reg: L2 weight on the biases.
        batch_size: ratings per step.
        valid_fraction: part of ``train`` carved out for early stopping on RMSE (0 disables).
        patience: epochs without improvement before stopping.
        refit: after early stopping, retrain on all of ``train`` for the best number of epochs.
        clip: clip predictions to the rating range of the training data.
        seed: seeds initialisation, shuffling and the validation carve.
        device: ``None`` = CUDA if present, else MPS, else CPU (see ``get_device``).
        progress: show tqdm bars.
        num_threads: torch CPU threads while training (``None`` keeps the global setting); the
            previous setting is restored afterwards.

    Attributes:
        module_: the trained :class:`BiasedMFModule`.
        history_: :class:`~recsys_lessons.train.History` of the final training run.
        search_history_: history of the early-stopping run (``valid`` = RMSE per epoch), or None.
        rating_range_: (min, max) rating in the training data.

    Raises:
        ValueError / TypeError: invalid hyper-parameters (in ``fit``).
    """

    name = "mf"
    _mode: ClassVar[Literal["max", "min"]] = "min"

    reg: float = 0.1
    bias_reg: float = 0.001
    clip: bool = True

    def _check_params(self) -> None:
        super()._check_params()
        check_number(self.bias_reg, "bias_reg", min_val=0.0)

    def _build(self, train: Interactions) -> nn.Module:
        r = train.frame["rating"].to_numpy(np.float64)
        self.rating_range_ = (float(r.min()), float(r.max()))
        return BiasedMFModule(train.n_users, train.n_items, self.dim, global_bias=float(r.mean()))

    def _batches(self, train: Interactions, epoch: int):
        f = train.frame
        u = torch.tensor(f["user_idx"].to_numpy(), dtype=torch.long)
        i = torch.tensor(f["item_idx"].to_numpy(), dtype=torch.long)
        r = torch.tensor(f["rating"].to_numpy(np.float32))
        order = torch.randperm(len(f), generator=torch.Generator().manual_seed(self.seed * 1000 + epoch))
        for start in range(0, len(f), self.batch_size):
            idx = order[start : start + self.batch_size]
            yield u[idx], i[idx], r[idx]

    def _loss(self, model: BiasedMFModule, batch) -> torch.Tensor:
        u, i, r = batch  # each (batch,)
        pred = model(u, i)
        penalty = (model.user(u).pow(2).sum(-1) + model.item(i).pow(2).sum(-1)).mean()
        bias_penalty = (model.user_bias(u).pow(2) + model.item_bias(i).pow(2)).mean()
        return nn.functional.mse_loss(pred, r) + self.reg * penalty + self.bias_reg * bias_penalty

    def _validator(self, fit_part: Interactions, valid: Interactions):
        u = torch.tensor(valid.frame["user_idx"].to_numpy(), dtype=torch.long)
        i = torch.tensor(valid.frame["item_idx"].to_numpy(), dtype=torch.long)
        r = valid.frame["rating"].to_numpy(np.float64)
        lo, hi = self.rating_range_

        def rmse(model: nn.Module) -> float:
            dev = next(model.parameters()).device
            pred = model(u.to(dev), i.to(dev)).float().cpu().numpy()
            return M.rmse(r, np.clip(pred, lo, hi) if self.clip else pred)

        return rmse

    def predict(self, user_idx: np.ndarray | list[int] | int, item_idx: np.ndarray | list[int] | int) -> np.ndarray:
        """Predicted ratings for ``(user_idx[b], item_idx[b])`` pairs.

        Args:
            user_idx: user indices (int or array), broadcast against ``item_idx``.
            item_idx: item indices.

        Returns:
            float32 array of the broadcast shape (clipped to the training rating range when ``clip``).

        Raises:
            NotFittedError: before ``fit``.
            IndexError: an index outside the user or item index.
            TypeError: non-integer indices.
        """
        self._check_fitted()
        u, i = np.broadcast_arrays(np.asarray(user_idx), np.asarray(item_idx))
        for name, arr, n in (("user", u, self.train_.n_users), ("item", i, self.train_.n_items)):
            if arr.dtype.kind not in "iu":
                raise TypeError(f"{name} indices must be integers, got dtype {arr.dtype}")
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                bad = arr[(arr < 0) | (arr >= n)].ravel()[0]
                raise IndexError(f"{name} index {bad} is outside 0..{n - 1}")
        with torch.no_grad():
            pred = (
                self.module_(
                    torch.tensor(np.array(u, dtype=np.int64).ravel(), device=self.device_),
                    torch.tensor(np.array(i, dtype=np.int64).ravel(), device=self.device_),
                )
                .float()
                .cpu()
                .numpy()
            )
        if self.clip:
            pred = np.clip(pred, *self.rating_range_)
        return pred.reshape(u.shape).astype(np.float32)


@dataclass(repr=False, eq=False, kw_only=True)
class BPR(_FactorModel):
    """Bayesian Personalised Ranking with uniform negative sampling (implicit feedback).

    Every epoch pairs each training interaction ``(u, i)`` with ``n_negatives`` items ``j`` the
    user has not interacted with (redrawn per epoch with a seeded generator) and minimises
    ``-log sigmoid(x_ui - x_uj) + reg * (|p_u|^2 + |q_i|^2 + |q_j|^2)`` (means over the batch),
    where ``x_ui = b_i + p_u . q_i`` (the user bias and ``mu`` cancel in the difference).

    Args:
        dim: factor dimension.
        epochs: maximum epochs (early stopping may use fewer).
        lr: Adam learning rate.
        reg: L2 weight on the factors of each triple.
        batch_size: triples per step; large batches keep CPU epochs short.
        n_negatives: negatives drawn per positive and epoch.
        valid_fraction: part of ``train`` carved out for early stopping on NDCG@10 (0 disables).
        patience: epochs (counted in validation checks) without improvement before stopping.
        refit: after early stopping, retrain on all of ``train`` for the best number of epochs.
        seed: seeds initialisation, sampling and the validation carve.
        device: ``None`` = CUDA if present, else MPS, else CPU.
        progress: show tqdm bars.
        num_threads: torch CPU threads while training (``None`` keeps the global setting); the
            previous setting is restored afterwards.

    Attributes:
        module_: the trained :class:`BiasedMFModule`.
        history_: :class:`~recsys_lessons.train.History` of the final run.
        search_history_: history of the early-stopping run (``valid`` = NDCG@10), or None.

    Raises:
        ValueError / TypeError: invalid hyper-parameters (in ``fit``).
    """

    name = "bpr"

    epochs: int = 100
    batch_size: int = 4096
    patience: int | None = 10
    n_negatives: int = 4

    def _check_params(self) -> None:
        super()._check_params()
        check_int(self.n_negatives, "n_negatives", min_val=1)

    def _build(self, train: Interactions) -> nn.Module:
        return BiasedMFModule(train.n_users, train.n_items, self.dim, init_std=0.1)

    def _batches(self, train: Interactions, epoch: int):
        seen = train.binary()
        f = train.frame
        rng = np.random.default_rng([self.seed, epoch])
        users = np.repeat(f["user_idx"].to_numpy(), self.n_negatives)
        pos = np.repeat(f["item_idx"].to_numpy(), self.n_negatives)
        neg = sample_negatives(users, seen, rng)
        order = rng.permutation(len(users))
        u, i, j = (torch.as_tensor(a[order], dtype=torch.long) for a in (users, pos, neg))
        for start in range(0, len(order), self.batch_size):
            sl = slice(start, start + self.batch_size)
            yield u[sl], i[sl], j[sl]

    def _loss(self, model: BiasedMFModule, batch) -> torch.Tensor:
        u, i, j = batch  # each (batch,)
        pu, qi, qj = model.user(u), model.item(i), model.item(j)  # (batch, dim)
        x_uij = (pu * (qi - qj)).sum(-1) + model.item_bias(i).squeeze(-1) - model.item_bias(j).squeeze(-1)
        penalty = (pu.pow(2).sum(-1) + qi.pow(2).sum(-1) + qj.pow(2).sum(-1)).mean()
        return -nn.functional.logsigmoid(x_uij).mean() + self.reg * penalty

    def _validator(self, fit_part: Interactions, valid: Interactions):
        rel = valid.binary()
        users = np.flatnonzero(np.diff(rel.indptr))
        seen = fit_part.matrix[users]
        relevant = rel[users]

        def ndcg(model: BiasedMFModule) -> float:
            dev = next(model.parameters()).device
            scores = model.all_scores(torch.as_tensor(users, dtype=torch.long, device=dev)).float()
            return validation_ndcg(scores.cpu(), relevant, seen, 10)

        return ndcg
