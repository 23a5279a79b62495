"""The peers `make bench` measures against, each fed the same data as the course's code.

Every function takes the course's own objects (an ``Interactions`` split, a score matrix) and
converts them to the peer's input outside the timed part when the peer needs its own data
structure built once (a LensKit or Cornac dataset); conversions a user pays on every call
(recommenders' prediction frame, ranx's ``Qrels``/``Run``) are inside. Each returns what lets
the caller check the peer computed the same thing: metric values, or scores on our item index.

The peers live only in ``.venv-bench`` (the ``bench`` extra plus ``recommenders --no-deps``);
:func:`available` says which of them imported.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_lessons.data import Interactions

os.environ.setdefault("LK_EASE_SOLVER", "torch")  # LensKit's default path; fixed so runs compare


def available() -> dict[str, str | None]:
    """``{peer: version}`` for each peer that imports, ``None`` for one that does not."""
    out: dict[str, str | None] = {}
    for name, module in (
        ("recommenders", "recommenders"),
        ("ranx", "ranx"),
        ("cornac", "cornac"),
        ("lenskit", "lenskit"),
    ):
        try:
            imported = importlib.import_module(module)
        except Exception:
            out[name] = None
            continue
        try:  # ranx has no __version__; the installed distribution's metadata always has one
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = getattr(imported, "__version__", "?")
    return out


# ---------------------------------------------------------------------------------------------
# Evaluation from a score matrix


def _masked(scores: np.ndarray, exclude: sp.csr_matrix) -> np.ndarray:
    s = np.array(scores, dtype=np.float64)
    coo = exclude.tocoo()
    s[coo.row, coo.col] = -np.inf
    return s


def recommenders_metrics(
    scores: np.ndarray, exclude: sp.csr_matrix, relevant: sp.csr_matrix, k: int
) -> dict[str, float]:
    """recommenders' ``python_evaluation`` from a score matrix: build the frame of every
    unseen (user, item, prediction), then its four ranking metrics (each takes the top-k)."""
    from recommenders.evaluation import python_evaluation as pe

    s = _masked(scores, exclude)
    rows, cols = np.nonzero(np.isfinite(s))
    pred = pd.DataFrame({"userID": rows, "itemID": cols, "prediction": s[rows, cols]})
    rr, rc = relevant.nonzero()
    true = pd.DataFrame({"userID": rr, "itemID": rc, "rating": np.ones(len(rr))})
    kw = dict(col_user="userID", col_item="itemID", col_rating="rating", col_prediction="prediction", k=k)
    return {
        "ndcg": pe.ndcg_at_k(true, pred, **kw),
        "precision": pe.precision_at_k(true, pred, **kw),
        "recall": pe.recall_at_k(true, pred, **kw),
        "map": pe.map_at_k(true, pred, **kw),
    }


def ranx_metrics(ranked: np.ndarray, relevant: sp.csr_matrix, k: int) -> dict[str, float]:
    """ranx on ranked lists (ranx has no top-k of its own that beats a sort of the whole run: fed
    every unseen item's score it took 20-30 s here): ``Qrels`` of the test items and a ``Run`` of
    the top-k lists (scores k, k-1, ...), built through ``from_df``, then ``evaluate``."""
    from ranx import Qrels, Run, evaluate

    n_users, width = ranked.shape
    run = Run.from_df(
        pd.DataFrame(
            {
                "q_id": np.repeat(np.arange(n_users), width).astype(str),
                "doc_id": ranked.ravel().astype(str),
                "score": np.tile(np.arange(width, 0, -1, dtype=np.float64), n_users),
            }
        ),
        q_id_col="q_id",
        doc_id_col="doc_id",
        score_col="score",
    )
    rr, rc = relevant.nonzero()
    qrels = Qrels.from_df(
        pd.DataFrame({"q_id": rr.astype(str), "doc_id": rc.astype(str), "score": np.ones(len(rr), dtype=np.int64)}),
        q_id_col="q_id",
        doc_id_col="doc_id",
        score_col="score",
    )
    names = {"ndcg": f"ndcg@{k}", "precision": f"precision@{k}", "recall": f"recall@{k}", "map": f"map@{k}"}
    res = evaluate(qrels, run, list(names.values()))
    return {ours: float(res[theirs]) for ours, theirs in names.items()}


# ---------------------------------------------------------------------------------------------
# Model fits


def lenskit_dataset(train: Interactions):
    """A LensKit ``Dataset`` whose item vocabulary is our item index (ids 0..n_items-1)."""
    from lenskit.data import from_interactions_df

    f = train.frame
    df = pd.DataFrame({"user_id": f["user_idx"].to_numpy(), "item_id": f["item_idx"].to_numpy()})
    return from_interactions_df(df, user_col="user_id", item_col="item_id", items=np.arange(train.n_items))


def configure_lenskit(threads: int) -> None:
    """Fix LensKit's process-wide parallel set-up before its first use.

    Left to itself, LensKit's first ``train`` sets up parallelism with ``backend_threads`` =
    cores // threads = 1 on two cores, which limits BLAS and torch to one thread *for the whole
    process*: every later measurement, ours included, would run on one core. Configured here with
    the run's own thread count for both, LensKit gets the same cores as everything else (its EASE
    inverse then uses both, which is no handicap for the peer).
    """
    from lenskit.parallel import initialize

    initialize(threads=threads, backend_threads=threads)


def lenskit_ease(data, lam: float):
    """Fit LensKit's ``EASEScorer``; returns the trained scorer."""
    from lenskit.knn.ease import EASEConfig, EASEScorer

    scorer = EASEScorer(EASEConfig(regularization=lam))
    scorer.train(data)
    return scorer


def lenskit_ease_weights(scorer) -> np.ndarray:
    """LensKit's EASE weights on our item order."""
    ids = np.asarray(scorer.items.ids(), dtype=np.int64)
    order = np.argsort(ids)
    return scorer.weights[np.ix_(order, order)]


def cornac_dataset(train: Interactions, seed: int = 42):
    """A Cornac ``Dataset`` of the binary training interactions (ids are our indices)."""
    from cornac.data import Dataset

    f = train.frame
    triples = list(zip(f["user_idx"].astype(str), f["item_idx"].astype(str), np.ones(len(f)), strict=True))
    return Dataset.from_uir(triples, seed=seed)


def cornac_scores(model, data, train: Interactions) -> np.ndarray:
    """A fitted Cornac model's scores for every user of our index on our item order."""
    uid = np.array([data.uid_map[str(u)] for u in range(train.n_users)])
    item_order = np.array([data.iid_map[str(i)] for i in range(train.n_items)])
    scores = np.vstack([model.score(int(u)) for u in uid])  # (n_users, n_items in Cornac's order)
    return scores[:, item_order]


def cornac_ease(data, lam: float, seed: int = 42):
    """Fit Cornac's ``EASE`` (no positivity constraint, like ours)."""
    from cornac.models import EASE

    return EASE(lamb=lam, posB=False, verbose=False, seed=seed).fit(data)


def cornac_bpr(data, seed: int = 42):
    """Fit Cornac's Cython ``BPR`` at its defaults (k=10, 100 iterations)."""
    from cornac.models import BPR

    return BPR(seed=seed, verbose=False).fit(data)
