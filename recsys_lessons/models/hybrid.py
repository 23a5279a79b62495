"""Hybrid recommenders: ways to combine models, after Burke's (2002) taxonomy.

Every hybrid here is a :class:`~recsys_lessons.models.base.Recommender` that takes the models it
combines as its first argument, clones them (``sklearn.base.clone``) and fits the clones inside
``fit``, so the caller's objects are never touched and a hybrid can wrap other hybrids.

- :class:`Weighted`: a weighted sum of per-user normalised scores (z-score, min-max or rank);
- :class:`Switching`: one model for cold users / cold items, another for the rest;
- :class:`Cascade`: a first stage retrieves ``n_candidates`` items, a second stage re-orders them;
- :class:`Stacking`: a learned blender (logistic regression or a small MLP trained with BCE) over
  the base models' scores and simple features, fitted on a validation split carved from the
  training data inside ``fit``, never on the test set;
- :class:`ReciprocalRankFusion` (Cormack et al. 2009) and :class:`BordaCount`: fusion of ranks.

:func:`best_hybrid` returns, unfitted, the strongest of them on the benchmark protocol.

Scores are compared per user, over the items the user has not rated in training (those are
removed from every ranking anyway, and their reconstruction scores would distort the statistics).
Non-finite scores (a cascade gives ``-inf`` outside its candidates) count as "ranked last".
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata
from sklearn.base import clone

from ..data import Interactions, split_stratified
from ..evaluation import top_k
from .base import Recommender

__all__ = [
    "NORMALISATIONS",
    "BordaCount",
    "Cascade",
    "ReciprocalRankFusion",
    "Stacking",
    "Switching",
    "Weighted",
    "best_hybrid",
    "normalise_scores",
    "rank_positions",
]

NORMALISATIONS = ("zscore", "minmax", "rank", "none")
Estimators = Sequence[tuple[str, Recommender]]


# --------------------------------------------------------------------------------------------
# Score normalisation and ranks


def normalise_scores(
    scores: np.ndarray,
    method: str = "zscore",
    exclude: sp.spmatrix | None = None,
) -> np.ndarray:
    """Put each row (user) of ``scores`` on a common scale so that different models can be added.

    Statistics are taken per row over the entries that are finite and not excluded:

    - ``"zscore"``: ``(s - mean) / std`` (a constant row becomes 0);
    - ``"minmax"``: ``(s - min) / (max - min)``, in [0, 1] (a constant row becomes 0);
    - ``"rank"``: ``r / (n - 1)`` with ``r`` the 0-based ascending rank among the ``n`` counted
      entries (ties get their mean rank), in [0, 1]: the best item gets 1;
    - ``"none"``: the scores unchanged.

    Excluded (seen) and non-finite entries are set to the row's lowest normalised value, so they
    never rise above a counted item.

    Args:
        scores: ``(n_users, n_items)`` scores.
        method: one of :data:`NORMALISATIONS`.
        exclude: sparse ``(n_users, n_items)``; non-zero entries are left out of the statistics.

    Returns:
        float64 ``(n_users, n_items)`` array.

    Raises:
        ValueError: an unknown ``method``, NaN scores, or an ``exclude`` of another shape.
    """
    if method not in NORMALISATIONS:
        raise ValueError(f"method={method!r}; expected one of {NORMALISATIONS}")
    s = np.array(scores, dtype=np.float64)  # a copy: masked below
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_users, n_items), got shape {s.shape}")
    if np.isnan(s).any():
        raise ValueError(f"NaN in the scores (first in row {int(np.isnan(s).any(1).argmax())})")
    if method == "none":
        return s
    counted = np.isfinite(s)
    if exclude is not None:
        if exclude.shape != s.shape:
            raise ValueError(f"exclude has shape {exclude.shape}, scores {s.shape}")
        seen = sp.csr_matrix(exclude).nonzero()
        counted[seen] = False
    masked = np.where(counted, s, np.nan)
    n = counted.sum(1, keepdims=True)  # (n_users, 1) counted items per row
    if method == "zscore":
        mean = _nan_stat(masked, np.nanmean)
        std = np.sqrt(_nan_stat((masked - mean) ** 2, np.nanmean))
        out = np.where(std > 0, (masked - mean) / np.where(std > 0, std, 1.0), 0.0)
    elif method == "minmax":
        lo, hi = _nan_stat(masked, np.nanmin), _nan_stat(masked, np.nanmax)
        span = hi - lo
        out = np.where(span > 0, (masked - lo) / np.where(span > 0, span, 1.0), 0.0)
    else:  # rank: the uncounted entries are tied at -inf, below every counted one
        ranks = rankdata(np.where(counted, s, -np.inf), axis=1) - 1 - (~counted).sum(1, keepdims=True)
        out = np.where(n > 1, ranks / np.maximum(n - 1, 1), 0.0)
    floor = np.min(np.where(counted, out, np.inf), axis=1, keepdims=True)
    floor = np.where(np.isfinite(floor), floor, 0.0)
    return np.where(counted, out, floor)


def _nan_stat(masked: np.ndarray, fn) -> np.ndarray:
    """``fn`` over each row's non-NaN entries; 0 for a row that has none."""
    out = np.zeros((masked.shape[0], 1))
    has = ~np.isnan(masked).all(1)
    if has.any():
        out[has, 0] = fn(masked[has], axis=1)
    return out


def rank_positions(scores: np.ndarray, exclude: sp.spmatrix | None = None) -> np.ndarray:
    """1-based position of every item in each row's descending order (best item = 1).

    The order is :func:`~recsys_lessons.evaluation.top_k`'s over the whole row (ties towards the
    lower index); excluded items come last.

    Returns:
        int64 ``(n_users, n_items)`` array.
    """
    n_items = scores.shape[1]
    order = top_k(
        np.where(np.isfinite(scores), scores, np.finfo(np.float32).min), n_items, exclude
    )  # (n_users, n_items)
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.arange(1, n_items + 1, dtype=np.int64)[None, :], axis=1)
    return pos


# --------------------------------------------------------------------------------------------
# Shared machinery


def _check_estimators(estimators: Estimators, owner: str, min_count: int = 1) -> list[tuple[str, Recommender]]:
    if isinstance(estimators, (str, bytes)) or not isinstance(estimators, Sequence):
        raise TypeError(f"{owner} needs a list of (name, model) pairs, got {type(estimators).__name__}")
    out = []
    for pos, pair in enumerate(estimators):
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise TypeError(f"{owner}: entry #{pos} is {pair!r}; expected a (name, model) pair")
        if not isinstance(pair[1], Recommender):
            raise TypeError(f"{owner}: {pair[0]!r} is a {type(pair[1]).__name__}, expected a Recommender")
        out.append(pair)
    if len(out) < min_count:
        raise ValueError(f"{owner} needs at least {min_count} models, got {len(out)}")
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"{owner}: model names must be unique, got {names}")
    return out


def _check_weights(weights: Sequence[float] | None, n: int, owner: str) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"{owner}: {len(np.atleast_1d(w))} weights for {n} models")
    if not np.isfinite(w).all():
        raise ValueError(f"{owner}: weights must be finite, got {w.tolist()}")
    return w


def _fit_clone(model: Recommender, train: Interactions) -> Recommender:
    # safe=False: deep-copies a model that does not expose get_params (older Recommenders).
    return clone(model, safe=False).fit(train)


class _Ensemble(Recommender):
    """Base of the hybrids over a list of ``(name, model)`` pairs: fits a clone of each."""

    def _fit_members(self, train: Interactions, min_count: int = 1) -> None:
        members = _check_estimators(self.estimators, type(self).__name__, min_count)
        self.__dict__.pop("train_", None)  # stays unfitted if anything below fails
        train = self._check_train(train)
        self.estimators_ = [(name, _fit_clone(model, train)) for name, model in members]
        self.named_estimators_ = dict(self.estimators_)
        self.train_ = train

    def member_scores(self, users: np.ndarray | list[int] | int | None = None) -> dict[str, np.ndarray]:
        """Each fitted member's raw scores for ``users``: ``{name: (n_users, n_items)}``."""
        users = self._check_users(users)
        return {name: m.score(users) for name, m in self.estimators_}


# --------------------------------------------------------------------------------------------
# Weighted


class Weighted(_Ensemble):
    """Weighted hybrid: ``score(u, i) = Σ_m w_m · norm_u(s_m(u, ·))_i``.

    Each model's scores are normalised per user (``norm``, see :func:`normalise_scores`), over
    the items the user has not rated, then added with the weights. Raw scores live on different
    scales (EASE's regression outputs, cosine sums, popularity counts), so without normalisation
    the largest scale wins whatever the weights say.

    Args:
        estimators: ``[(name, model), ...]`` (cloned and fitted by :meth:`fit`).
        weights: one weight per model (default: all 1).
        norm: ``"zscore"``, ``"minmax"``, ``"rank"`` or ``"none"``.

    Attributes:
        estimators_: the fitted clones, as ``(name, model)`` pairs.
        named_estimators_: the same as a dict.
        weights_: the weights as a float array.

    Raises:
        TypeError: (in ``fit``) ``estimators`` not a list of ``(name, Recommender)`` pairs.
        ValueError: (in ``fit``) no models, duplicate names, the wrong number of weights, or an
            unknown ``norm``.
    """

    name = "weighted hybrid"

    def __init__(self, estimators: Estimators, weights: Sequence[float] | None = None, norm: str = "zscore") -> None:
        self.estimators = estimators
        self.weights = weights
        self.norm = norm

    def fit(self, train: Interactions) -> Weighted:
        """Fit a clone of every model on ``train``."""
        if self.norm not in NORMALISATIONS:
            raise ValueError(f"norm={self.norm!r}; expected one of {NORMALISATIONS}")
        self.weights_ = _check_weights(self.weights, len(_check_estimators(self.estimators, "Weighted")), "Weighted")
        self._fit_members(train)
        return self

    def blend(
        self, member_scores: dict[str, np.ndarray], users: np.ndarray, weights: Sequence[float] | None = None
    ) -> np.ndarray:
        """Add up *normalised* member scores with ``weights`` (default: the fitted ones).

        Normalising is the expensive step, so code that tries many weights (a tuning loop, the
        blend widget) normalises once with :meth:`normalised_scores` and then calls this per
        weight vector.

        Args:
            member_scores: ``{name: (len(users), n_items)}`` from :meth:`normalised_scores`.
            users: the user indices the scores belong to.
            weights: one weight per member, in the order of ``estimators``.

        Returns:
            float64 ``(len(users), n_items)`` blended scores.

        Raises:
            ValueError: the wrong number of weights.
        """
        w = self.weights_ if weights is None else _check_weights(weights, len(self.estimators_), "Weighted")
        out = np.zeros((len(users), self.train_.n_items))
        for wm, (name, _) in zip(w, self.estimators_, strict=True):
            if wm:
                out += wm * member_scores[name]
        return out

    def normalised_scores(self, users: np.ndarray | list[int] | int | None = None) -> dict[str, np.ndarray]:
        """Each member's scores for ``users``, normalised per user with ``norm`` over unseen items."""
        users = self._check_users(users)
        seen = self.train_.matrix[users]
        return {name: normalise_scores(s, self.norm, seen) for name, s in self.member_scores(users).items()}

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.blend(self.normalised_scores(users), users)


# --------------------------------------------------------------------------------------------
# Rank fusion


class _RankFusion(_Ensemble):
    """Shared base of the rank-fusion hybrids: only each model's order counts, never its scores."""

    def __init__(self, estimators: Estimators, weights: Sequence[float] | None = None) -> None:
        self.estimators = estimators
        self.weights = weights

    def _check_params(self) -> None:
        pass

    def fit(self, train: Interactions) -> _RankFusion:
        """Fit a clone of every model on ``train``."""
        self._check_params()
        self.weights_ = _check_weights(
            self.weights, len(_check_estimators(self.estimators, type(self).__name__)), type(self).__name__
        )
        self._fit_members(train)
        return self

    @abstractmethod
    def _points(self, positions: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Each item's points from its ``(n_users, n_items)`` 1-based positions."""

    def _score(self, users: np.ndarray) -> np.ndarray:
        seen = self.train_.matrix[users]
        out = np.zeros((len(users), self.train_.n_items))
        for w, (_, model) in zip(self.weights_, self.estimators_, strict=True):
            out += w * self._points(rank_positions(model.score(users), seen))
        return out


class ReciprocalRankFusion(_RankFusion):
    """Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009): ``score(u, i) = Σ_m w_m / (k + rank_m(u, i))``.

    ``rank_m`` is the item's 1-based position in model ``m``'s list for the user (seen items
    last). The constant ``k`` (60 in the paper) damps the head: the first and the tenth item
    differ by a factor ``(k + 10) / (k + 1)``, so one model's confident favourite cannot
    outvote several models' agreement.

    Args:
        estimators: ``[(name, model), ...]``.
        weights: per-model weights (default 1).
        k: the damping constant (>= 0).

    Raises:
        ValueError: (in ``fit``) ``k`` < 0, and the errors of :class:`Weighted`.
    """

    name = "reciprocal rank fusion"

    def __init__(self, estimators: Estimators, weights: Sequence[float] | None = None, k: float = 60.0) -> None:
        super().__init__(estimators, weights)
        self.k = k

    def _check_params(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, (int, float, np.integer, np.floating)) or not self.k >= 0:
            raise ValueError(f"k={self.k!r}; expected a number >= 0")

    def _points(self, positions: np.ndarray) -> np.ndarray:
        return 1.0 / (self.k + positions)


class BordaCount(_RankFusion):
    """Borda count: each model gives an item ``n_items - rank`` points; the points are added (weighted).

    ``score(u, i) = Σ_m w_m (n_items - rank_m(u, i))``. Unlike :class:`ReciprocalRankFusion`
    every position is worth the same step, so the agreement of the models deep in their lists
    counts as much as at the top.
    """

    name = "Borda count"

    def _points(self, positions: np.ndarray) -> np.ndarray:
        return (positions.shape[1] - positions).astype(np.float64)


# --------------------------------------------------------------------------------------------
# Switching


class Switching(Recommender):
    """Switching hybrid: a content model where collaborative data is too thin, CF elsewhere.

    - a user with fewer than ``min_user_ratings`` training ratings gets the ``content`` model's
      scores for every item;
    - otherwise, items with at least ``min_item_ratings`` training ratings keep the
      ``collaborative`` model's scores and the others (cold items, which CF cannot score) take the
      ``content`` model's.

    To put the two parts of a list on one scale, each model's scores are rank-normalised per user
    *within the group of items it is responsible for* (see :func:`normalise_scores`): the best
    warm item and the best cold item both get 1, and each group fills the list in proportion to
    its size.

    Args:
        content: the model for cold users and cold items (e.g. an ``EmbeddingProfile``).
        collaborative: the model for the rest (e.g. ``EASE``).
        min_user_ratings: users with fewer training ratings switch to ``content`` (0: never).
        min_item_ratings: items with fewer training ratings are scored by ``content`` (0: never).

    Attributes:
        content_, collaborative_: the fitted clones.
        cold_users_: ``(n_users,)`` bool, users switched to ``content``.
        cold_items_: ``(n_items,)`` bool, items scored by ``content``.

    Raises:
        TypeError: (in ``fit``) a part that is not a Recommender.
        ValueError: (in ``fit``) a negative threshold.
    """

    name = "switching hybrid"

    def __init__(
        self, content: Recommender, collaborative: Recommender, min_user_ratings: int = 0, min_item_ratings: int = 1
    ) -> None:
        self.content = content
        self.collaborative = collaborative
        self.min_user_ratings = min_user_ratings
        self.min_item_ratings = min_item_ratings

    def fit(self, train: Interactions) -> Switching:
        """Fit clones of both parts on ``train`` and mark the cold users and items."""
        for label, part in (("content", self.content), ("collaborative", self.collaborative)):
            if not isinstance(part, Recommender):
                raise TypeError(f"{label} must be a Recommender, got {type(part).__name__}")
        for label in ("min_user_ratings", "min_item_ratings"):
            value = getattr(self, label)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{label}={value!r}; expected an integer >= 0")
        self.__dict__.pop("train_", None)  # stays unfitted if anything below fails
        train = self._check_train(train)
        self.content_ = _fit_clone(self.content, train)
        self.collaborative_ = _fit_clone(self.collaborative, train)
        self.cold_users_ = np.diff(train.matrix.indptr) < self.min_user_ratings
        self.cold_items_ = train.item_popularity() < self.min_item_ratings
        self.train_ = train
        return self

    def _score(self, users: np.ndarray) -> np.ndarray:
        seen = sp.csr_matrix(self.train_.matrix[users])
        cold_items = self.cold_items_
        content = self.content_.score(users)
        cf = self.collaborative_.score(users).astype(np.float64)
        # Each model ranks only its own items: mask the other group as "excluded" for the statistics.
        warm_mask = sp.csr_matrix(np.broadcast_to(cold_items, cf.shape)) + seen
        cold_mask = sp.csr_matrix(np.broadcast_to(~cold_items, cf.shape)) + seen
        out = np.where(
            cold_items[None, :], normalise_scores(content, "rank", cold_mask), normalise_scores(cf, "rank", warm_mask)
        )
        cold_u = self.cold_users_[users]
        if cold_u.any():
            out[cold_u] = normalise_scores(content[cold_u], "rank", seen[cold_u])
        return out


# --------------------------------------------------------------------------------------------
# Cascade


class Cascade(Recommender):
    """Cascade: ``first`` retrieves each user's ``n_candidates`` best unseen items, ``second`` orders them.

    Items outside a user's candidates score ``-inf``. The second stage is asked only about the
    candidates when it offers ``score_candidates(users, candidates) -> (n, k)`` (an expensive
    model such as :class:`~recsys_lessons.models.bert_cf.BertCF` does); otherwise its full score
    rows are read at the candidates. With ``tie_break`` candidates the second stage cannot tell
    apart keep the first stage's order, and the scores become positions (``n_candidates`` for the
    best candidate down to 1); without it they are the second stage's raw scores.

    Args:
        first: the retriever (cloned and fitted on the training data).
        second: the re-ranker (cloned and fitted on the same data).
        n_candidates: candidates per user (>= 1).
        tie_break: keep the first stage's order among second-stage ties.

    Attributes:
        first_, second_: the fitted clones.
        pairs_scored_: how many (user, item) pairs the second stage has scored so far: the
            cascade's cost, against ``n_users * n_items`` for scoring everything.

    Raises:
        TypeError, ValueError: (in ``fit``) a stage that is not a Recommender, ``n_candidates`` < 1.
    """

    name = "cascade"

    def __init__(self, first: Recommender, second: Recommender, n_candidates: int = 50, tie_break: bool = True) -> None:
        self.first = first
        self.second = second
        self.n_candidates = n_candidates
        self.tie_break = tie_break

    def fit(self, train: Interactions) -> Cascade:
        """Fit clones of both stages on ``train``."""
        for label, part in (("first", self.first), ("second", self.second)):
            if not isinstance(part, Recommender):
                raise TypeError(f"{label} must be a Recommender, got {type(part).__name__}")
        n = self.n_candidates
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n_candidates={n!r}; expected a positive integer")
        self.__dict__.pop("train_", None)  # stays unfitted if anything below fails
        train = self._check_train(train)
        self.first_ = _fit_clone(self.first, train)
        self.second_ = _fit_clone(self.second, train)
        self.pairs_scored_ = 0
        self.train_ = train
        return self

    def candidates(self, users: np.ndarray | list[int] | int | None = None) -> np.ndarray:
        """The first stage's ``(n_users, n_candidates)`` unseen items, best first."""
        users = self._check_users(users)
        k = min(int(self.n_candidates), self.train_.n_items)
        return top_k(self.first_.score(users), k, exclude=self.train_.matrix[users])

    def _score(self, users: np.ndarray) -> np.ndarray:
        cand = self.candidates(users)  # (n_users, k)
        if hasattr(self.second_, "score_candidates"):
            second = np.asarray(self.second_.score_candidates(users, cand), dtype=np.float64)
        else:
            second = np.take_along_axis(self.second_.score(users).astype(np.float64), cand, axis=1)
        self.pairs_scored_ += cand.size
        if self.tie_break:
            # Re-order by the second stage, ties in the first stage's order, and score by position:
            # float32 scores could not carry a tie-break offset small enough to leave the rest alone.
            order = np.lexsort((np.broadcast_to(np.arange(cand.shape[1]), second.shape), -second), axis=1)
            second = np.empty_like(second)
            np.put_along_axis(second, order, np.arange(cand.shape[1], 0, -1, dtype=np.float64)[None, :], axis=1)
        out = np.full((len(users), self.train_.n_items), -np.inf)
        np.put_along_axis(out, cand, second, axis=1)
        return out


# --------------------------------------------------------------------------------------------
# Stacking


class _MLPBlender:
    """A one-hidden-layer MLP with one logit, trained with BCE in the package's ``train_loop``."""

    def __init__(self, hidden: int, epochs: int, lr: float, batch_size: int, seed: int) -> None:
        self.hidden, self.epochs, self.lr, self.batch_size, self.seed = hidden, epochs, lr, batch_size, seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> _MLPBlender:
        import torch

        from ..train import cpu_threads, set_seed, train_loop

        set_seed(self.seed)
        self.net_ = torch.nn.Sequential(
            torch.nn.Linear(x.shape[1], self.hidden), torch.nn.ReLU(), torch.nn.Linear(self.hidden, 1)
        )
        xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))

        def batches(epoch: int):
            order = torch.from_numpy(np.random.default_rng([self.seed, epoch]).permutation(len(xt)))
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                yield xt[idx], yt[idx]

        def loss_fn(net, batch):
            xb, yb = batch
            return torch.nn.functional.binary_cross_entropy_with_logits(net(xb)[:, 0], yb)  # (batch,) logits

        optimizer = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        with cpu_threads(1):  # a small net: one thread is faster and gives the same numbers every run
            train_loop(
                self.net_, batches, loss_fn, optimizer, self.epochs, device="cpu", progress=False, desc="blender"
            )
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.net_(torch.from_numpy(x.astype(np.float32)))[:, 0].numpy()


class Stacking(_Ensemble):
    """Stacking (feature-augmented meta-learning): a blender learns how to combine the base models.

    Inside :meth:`fit`:

    1. a validation split is carved from the training data (``split_stratified`` per item,
       ``1 - valid_share`` kept for fitting, seed ``random_state``); clones of the base models
       are fitted on the rest;
    2. for each user with validation items, the candidates are the items within the top
       ``n_candidates`` of *any* base model; each (user, candidate) gets features: per model its
       per-user z-scored score and ``1 / log2(1 + rank)``, plus the item's log popularity and the
       user's log activity; the label is 1 when the item is in the user's validation part;
    3. the blender (a logistic regression, or a small MLP with BCE) is fitted on those rows, on
       standardised features;
    4. fresh clones of the base models are fitted on the whole training data and the blender
       scores their candidates. Non-candidates score ``-inf``.

    The test set is never seen: everything learned comes from the validation split, so the
    same unfitted object can be fitted on any split.

    Args:
        estimators: ``[(name, model), ...]``.
        blender: ``"logistic"`` (scikit-learn ``LogisticRegression``) or ``"mlp"``.
        n_candidates: depth of each base model's list that makes a candidate.
        valid_share: share of each item's training ratings held out for the blender, in (0, 1).
        C: inverse L2 strength of the logistic regression.
        hidden: hidden units of the MLP.
        epochs: MLP epochs.
        random_state: seed of the validation split and the MLP.

    Attributes:
        estimators_: the base models fitted on the whole training data.
        blender_: the fitted blender; scaler_: its feature standardiser.
        feature_names_: the blender's input columns.
        valid_rows_: validation rows the blender was fitted on; valid_positives_: of which positive.

    Raises:
        ValueError: (in ``fit``) an unknown ``blender``, ``n_candidates`` < 1, ``valid_share``
            outside (0, 1), or a validation split with no positive candidate.
    """

    name = "stacking hybrid"

    def __init__(
        self,
        estimators: Estimators,
        blender: Literal["logistic", "mlp"] = "logistic",
        n_candidates: int = 100,
        valid_share: float = 0.2,
        C: float = 1.0,
        hidden: int = 16,
        epochs: int = 3,
        random_state: int = 0,
    ) -> None:
        self.estimators = estimators
        self.blender = blender
        self.n_candidates = n_candidates
        self.valid_share = valid_share
        self.C = C
        self.hidden = hidden
        self.epochs = epochs
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.blender not in ("logistic", "mlp"):
            raise ValueError(f"blender={self.blender!r}; expected 'logistic' or 'mlp'")
        n = self.n_candidates
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n_candidates={n!r}; expected a positive integer")
        if not 0.0 < self.valid_share < 1.0:
            raise ValueError(f"valid_share={self.valid_share!r}; expected a number strictly between 0 and 1")
        for label, low in (("hidden", 1), ("epochs", 1), ("random_state", 0)):
            value = getattr(self, label)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{label}={value!r}; expected an integer >= {low}")
        if not self.C > 0:
            raise ValueError(f"C={self.C!r}; expected a positive number")

    def _features(
        self, models: list[tuple[str, Recommender]], train: Interactions, users: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate mask ``(n_users, n_items)`` and the feature array ``(n_candidates_total, n_features)``."""
        seen = train.matrix[users]
        cols, mask = [], np.zeros((len(users), train.n_items), dtype=bool)
        for _, model in models:
            s = model.score(users)
            pos = rank_positions(s, seen)  # (n_users, n_items), 1 = best
            mask |= pos <= self.n_candidates
            cols += [normalise_scores(s, "zscore", seen), 1.0 / np.log2(1.0 + pos)]
        mask[sp.csr_matrix(seen).nonzero()] = False
        pop = np.log1p(train.item_popularity())[None, :]
        activity = np.log1p(np.diff(train.matrix.indptr))[users][:, None]
        cols += [np.broadcast_to(pop, mask.shape), np.broadcast_to(activity, mask.shape)]
        return mask, np.stack([c[mask] for c in cols], axis=1)  # rows in row-major (user, item) order

    def fit(self, train: Interactions) -> Stacking:
        """Carve a validation split from ``train``, fit the blender there, refit the base models on ``train``."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        self._check_params()
        members = _check_estimators(self.estimators, "Stacking")
        train = self._check_train(train)
        fit_part, valid = split_stratified(train, 1.0 - self.valid_share, by="item", seed=self.random_state)
        base = [(name, _fit_clone(m, fit_part)) for name, m in members]
        users = np.flatnonzero(np.diff(valid.matrix.indptr))
        mask, x = self._features(base, fit_part, users)
        y = np.asarray(valid.binary()[users].toarray()[mask]).astype(np.float64)
        if not y.any():
            raise ValueError("no validation item is among the candidates; raise n_candidates or valid_share")
        self.valid_rows_, self.valid_positives_ = len(y), int(y.sum())
        self.scaler_ = StandardScaler().fit(x)
        xs = self.scaler_.transform(x)
        if self.blender == "logistic":
            self.blender_ = LogisticRegression(C=self.C, max_iter=1000).fit(xs, y)
        else:
            self.blender_ = _MLPBlender(self.hidden, self.epochs, 1e-2, 512, self.random_state).fit(xs, y)
        self.feature_names_ = [f"{n} {f}" for n, _ in members for f in ("z-score", "1/log2(1+rank)")] + [
            "log popularity",
            "log activity",
        ]
        self._fit_members(train)
        return self

    def _score(self, users: np.ndarray) -> np.ndarray:
        mask, x = self._features(self.estimators_, self.train_, users)
        out = np.full(mask.shape, -np.inf)
        out[mask] = self.blender_.decision_function(self.scaler_.transform(x))
        return out


# --------------------------------------------------------------------------------------------
# The lesson's best benchmark-protocol hybrid


def best_hybrid(random_state: int = 0) -> Stacking:
    """The lesson's best hybrid on the benchmark protocol, unfitted.

    A logistic-regression :class:`Stacking` over the top 30 of four collaborative models with
    the settings lesson 01 chose on its validation split: EASE (``lam=400``, ``dropout=0.5``),
    EASE on the star ratings (``lam=5000``, lesson 01's exercise), item-kNN (``k=200``,
    ``shrink=10``) and user-kNN (``k=100``, ``shrink=10``). Its ``fit`` learns the blend on a
    validation split it carves from whatever training data it is given, so it can be refitted on
    any split.

    Args:
        random_state: seed of the internal validation split.
    """
    from .ease import EASE
    from .neighbors import ItemKNN, UserKNN

    return Stacking(
        [
            ("EASE", EASE(lam=400.0, dropout=0.5)),
            ("EASE (ratings)", EASE(lam=5000.0, implicit=False)),
            ("item-kNN", ItemKNN(k=200, shrink=10.0)),
            ("user-kNN", UserKNN(k=100, shrink=10.0)),
        ],
        blender="logistic",
        n_candidates=30,
        random_state=random_state,
    )
