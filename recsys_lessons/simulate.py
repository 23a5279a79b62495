"""A synthetic world with known true preferences, and the feedback loop of a recommender in it.

Real logs only show what users chose among what they were shown: the data are *missing not at
random*. In a simulator the true preferences are known, so we can watch what a recommender does
to its own training data, round after round.

**The world** (:func:`make_world`). Users and items have latent factors ``θ_u, ψ_i ∈ R^d`` and
items a quality ``b_i``; user ``u`` consumes item ``i`` *when shown it* with the true probability

``p_ui = σ(s · θ_u · ψ_i + b_i)``  (``σ`` the logistic function).

Items also have an **awareness** ``a_i ∝ r_i^(−γ)``, a power law over a random order ``r`` of the
items, independent of their quality: before any recommender exists, each user stumbles on
``n_organic`` items drawn with probability ``∝ a_i`` and consumes each with ``p_ui``. So the first
log is long-tailed because of *exposure*, not because tail items are worse. Each item's genres are
the latent dimensions where ``ψ_i`` is largest, so its text (``"Item 17. Genres: g2, g5."``) says
something true about it.

**The loop** (:func:`run_feedback_loop`). Each round the policy (a :class:`Recommender`, cloned)
is fitted on the log so far, recommends ``k`` unconsumed items to every user, and each user
consumes each recommended item with ``p_ui``; the consumptions join the log. Per round it records

* ``exposure_gini``: Gini of the cumulative impressions per item (organic + recommended);
* ``interaction_gini``: Gini of the logged consumptions per item;
* ``coverage``: share of the catalogue in this round's lists;
* ``true_utility``: the expected share of a list that is consumed, ``(1/|U|) Σ_u (1/k) Σ_{i ∈ L_u} p_ui``,
  which only the simulator knows (``oracle_utility`` is the same for the best possible lists);
* ``logged_recall``: what an analyst would measure offline: the policy fitted on a random
  ``1 − holdout`` of the log, Recall@k on the held-out rest.

Everything is seeded: the same arguments give the same numbers. A few hundred users and items and
ten rounds take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import metrics as M
from .data import Interactions
from .evaluation import top_k
from .evaluation.popularity import gini_coefficient as _gini
from .models.base import Recommender, check_int, check_number
from .models.rerank import _clone_model

__all__ = ["FeedbackLoop", "World", "make_world", "run_feedback_loop"]


@dataclass(frozen=True)
class World:
    """The true state of a synthetic world (see the module docstring).

    Attributes:
        user_factors: ``(n_users, d)`` ``θ_u``. item_factors: ``(n_items, d)`` ``ψ_i``.
        quality: ``(n_items,)`` ``b_i``. awareness: ``(n_items,)`` ``a_i``, summing to 1.
        true_prob: ``(n_users, n_items)`` ``p_ui``, the probability of consuming an item when shown.
        items: item table (``item_id``, ``title``, ``year``, ``genres``, ``text``).
        organic: the first log, a ratings frame (``user_id``, ``item_id``, ``rating``, ``timestamp``).
        organic_impressions: ``(n_items,)`` how often each item was shown organically.
        seed: the seed the world was made with.
    """

    user_factors: np.ndarray
    item_factors: np.ndarray
    quality: np.ndarray
    awareness: np.ndarray
    true_prob: np.ndarray
    items: pd.DataFrame
    organic: pd.DataFrame
    organic_impressions: np.ndarray
    seed: int

    @property
    def n_users(self) -> int:
        return self.true_prob.shape[0]

    @property
    def n_items(self) -> int:
        return self.true_prob.shape[1]

    def interactions(self, frame: pd.DataFrame | None = None) -> Interactions:
        """Wrap a log (default: the organic one) as :class:`Interactions` on the world's index."""
        return Interactions(
            self.organic if frame is None else frame, np.arange(self.n_users), np.arange(self.n_items), self.items
        )


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}={value!r}; expected an integer >= {low}")
    return int(value)


def _check_finite(name: str, value: float) -> None:
    """Raise unless ``value`` is a real, finite number (NaN or ±inf would fill the world with NaN)."""
    check_number(value, name)
    if not np.isfinite(value):
        raise ValueError(f"{name}={value!r}; expected a finite number")


def make_world(
    n_users: int = 300,
    n_items: int = 400,
    dim: int = 8,
    popularity_exponent: float = 1.0,
    n_organic: int = 30,
    taste_scale: float = 2.5,
    mean_quality: float = -2.5,
    seed: int = 0,
) -> World:
    """Draw a world: factors, qualities, power-law awareness, genres, text and the organic log.

    ``θ_u, ψ_i ~ N(0, I/d)`` scaled to unit norm on average, ``b_i ~ N(mean_quality, 0.5²)``,
    ``a_i ∝ r_i^(−γ)`` with ``γ = popularity_exponent`` over a random item order ``r``.

    Args:
        n_users, n_items: sizes (>= 2 each).
        dim: latent dimension ``d`` (>= 2); it is also the number of genres.
        popularity_exponent: ``γ`` >= 0 (0 = every item equally known).
        n_organic: items each user is shown before any recommender (1..n_items).
        taste_scale: ``s``, how much taste matters against quality.
        mean_quality: mean of ``b_i`` (sets how often a shown item is consumed).
        seed: the seed of every draw.

    Returns:
        The :class:`World`.

    Raises:
        TypeError: a size, count or seed that is not an int, or a parameter that is not a number.
        ValueError: a size or count out of range, a negative exponent or seed, or a NaN/infinite
            parameter.
    """
    n_users, n_items = _check_int("n_users", n_users, 2), _check_int("n_items", n_items, 2)
    dim = _check_int("dim", dim, 2)
    n_organic = _check_int("n_organic", n_organic, 1)
    if n_organic > n_items:
        raise ValueError(f"n_organic={n_organic} exceeds n_items={n_items}")
    _check_finite("popularity_exponent", popularity_exponent)
    if popularity_exponent < 0:
        raise ValueError(f"popularity_exponent={popularity_exponent!r}; expected a number >= 0")
    _check_finite("taste_scale", taste_scale)
    _check_finite("mean_quality", mean_quality)
    check_int(seed, "seed", min_val=0)
    rng = np.random.default_rng([seed, 0])
    theta = rng.normal(0.0, 1.0 / np.sqrt(dim), (n_users, dim))
    psi = rng.normal(0.0, 1.0 / np.sqrt(dim), (n_items, dim))
    quality = rng.normal(mean_quality, 0.5, n_items)
    logits = taste_scale * np.sqrt(dim) * theta @ psi.T + quality  # (n_users, n_items)
    true_prob = 1.0 / (1.0 + np.exp(-logits))
    rank = rng.permutation(n_items) + 1
    awareness = rank.astype(np.float64) ** -popularity_exponent
    awareness /= awareness.sum()

    # Genres: the one or two latent dimensions where the item is strongest (and clearly positive).
    order = np.argsort(-psi, axis=1)
    genres = [
        [f"g{order[i, 0] + 1}"] + ([f"g{order[i, 1] + 1}"] if psi[i, order[i, 1]] > 0.5 / np.sqrt(dim) else [])
        for i in range(n_items)
    ]
    items = pd.DataFrame(
        {
            "item_id": np.arange(n_items),
            "title": [f"Item {i}" for i in range(n_items)],
            "year": pd.array([2000] * n_items, dtype="Int64"),
            "genres": genres,
        }
    )
    items["text"] = [f"Item {i}. Genres: {', '.join(g)}." for i, g in enumerate(genres)]

    rows_u, rows_i = [], []
    impressions = np.zeros(n_items)
    for u in range(n_users):
        shown = rng.choice(n_items, size=n_organic, replace=False, p=awareness)
        impressions[shown] += 1
        took = shown[rng.random(n_organic) < true_prob[u, shown]]
        rows_u.append(np.full(len(took), u))
        rows_i.append(took)
    organic = _log_frame(np.concatenate(rows_u), np.concatenate(rows_i), timestamp=0)
    return World(theta, psi, quality, awareness, true_prob, items, organic, impressions, seed)


def _log_frame(users: np.ndarray, items: np.ndarray, timestamp: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": users.astype(np.int64),
            "item_id": items.astype(np.int64),
            "rating": np.ones(len(users), np.float32),
            "timestamp": np.full(len(users), timestamp),
        }
    )


@dataclass
class FeedbackLoop:
    """What :func:`run_feedback_loop` recorded.

    Attributes:
        history: one row per round (``round`` 0 is the organic log before any recommendation) with
            ``exposure_gini``, ``interaction_gini``, ``coverage``, ``true_utility``,
            ``oracle_utility``, ``logged_recall``, ``consumed`` and ``log_size``.
        exposure: ``(n_items,)`` cumulative impressions at the end.
        log: the final log as :class:`Interactions`.
    """

    history: pd.DataFrame
    exposure: np.ndarray
    log: Interactions


def _logged_recall(policy: Recommender, log: Interactions, k: int, holdout: float, rng: np.random.Generator) -> float:
    """The offline estimate: fit on a random part of the log, Recall@k on the held-out rest."""
    held = rng.random(len(log)) < holdout
    fit_part, test_part = log.subset(~held), log.subset(held)
    if len(fit_part) == 0 or len(test_part) == 0:
        return float("nan")
    model = _clone_model(policy).fit(fit_part)
    rel = test_part.binary()
    users = np.flatnonzero(np.diff(rel.indptr))
    ranked = top_k(model.score(users), k, exclude=fit_part.matrix[users])
    return float(M.recall_at_k(ranked, rel[users], k))


def run_feedback_loop(
    world: World,
    policy: Recommender,
    rounds: int = 10,
    k: int = 10,
    holdout: float = 0.2,
    seed: int = 0,
) -> FeedbackLoop:
    """Let ``policy`` recommend in ``world`` for ``rounds`` rounds, retraining on its own log.

    Args:
        world: from :func:`make_world`.
        policy: an unfitted (or fitted: it is cloned) recommender; refitted every round on the log.
        rounds: number of recommendation rounds (>= 1).
        k: list length (1..n_items).
        holdout: share of the log held out for ``logged_recall``, in (0, 1).
        seed: seeds the consumptions and the hold-out draws.

    Returns:
        A :class:`FeedbackLoop`.

    Raises:
        ValueError: ``rounds`` < 1, ``k`` outside 1..n_items or ``holdout`` outside (0, 1).
        TypeError: ``world`` is not a :class:`World`, or ``holdout`` is not a number.
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World from make_world, got {type(world).__name__}")
    rounds = _check_int("rounds", rounds, 1)
    k = _check_int("k", k, 1)
    if k > world.n_items:
        raise ValueError(f"k={k} exceeds the {world.n_items} items")
    check_number(holdout, "holdout")
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout={holdout!r}; expected a number in (0, 1)")
    n_items = world.n_items
    users = np.arange(world.n_users)
    exposure = world.organic_impressions.astype(np.float64).copy()
    frames = [world.organic]
    log = world.interactions()
    rows = [
        {
            "round": 0,
            "exposure_gini": _gini(exposure),
            "interaction_gini": _gini(log.item_popularity()),
            "coverage": np.nan,
            "true_utility": np.nan,
            "oracle_utility": np.nan,
            "logged_recall": np.nan,
            "consumed": len(log),
            "log_size": len(log),
        }
    ]
    for r in range(1, rounds + 1):
        rng = np.random.default_rng([seed, world.seed, r])
        logged = _logged_recall(policy, log, k, holdout, rng)
        model = _clone_model(policy).fit(log)
        seen = log.binary()
        ranked = top_k(model.score(users), k, exclude=seen)  # (n_users, k)
        exposure += np.bincount(ranked.ravel(), minlength=n_items)
        prob = np.take_along_axis(world.true_prob, ranked, 1)  # (n_users, k)
        took = rng.random(prob.shape) < prob
        seen_dense = seen.toarray() > 0
        oracle = np.sort(np.where(seen_dense, -1.0, world.true_prob), axis=1)[:, ::-1][:, :k]
        new = _log_frame(np.repeat(users, k)[took.ravel()], ranked.ravel()[took.ravel()], timestamp=r)
        frames.append(new)
        log = world.interactions(pd.concat(frames, ignore_index=True))
        rows.append(
            {
                "round": r,
                "exposure_gini": _gini(exposure),
                "interaction_gini": _gini(log.item_popularity()),
                "coverage": M.catalogue_coverage(ranked, n_items),
                "true_utility": float(prob.mean()),
                "oracle_utility": float(np.clip(oracle, 0, None).mean()),
                "logged_recall": logged,
                "consumed": int(took.sum()),
                "log_size": len(log),
            }
        )
    return FeedbackLoop(pd.DataFrame(rows), exposure, log)
