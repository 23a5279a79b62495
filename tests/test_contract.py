"""One contract every recommender passes (after LensKit's shared scorer tests).

Every concrete :class:`~recsys_lessons.models.base.Recommender` in ``recsys_lessons.models`` is
registered below, and ``test_every_recommender_is_registered`` fails when one is not. Adding a
model is one line: a factory in ``MODELS`` (tiny hyper-parameters, so the suite runs in seconds)
or, for a wrapper (re-ranker, hybrid), a factory in ``WRAPPERS`` that receives the base model(s)
it wraps.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import recsys_lessons.models as models_pkg
from recsys_lessons.data import Dataset, Interactions
from recsys_lessons.models import (
    BERT4Rec,
    BPR,
    EASE,
    BertCF,
    BordaCount,
    Cascade,
    CrossEncoder,
    CrossEncoderReranker,
    EmbeddingProfile,
    GenreProfile,
    ItemKNN,
    LastItemKNN,
    MatrixFactorization,
    NotFittedError,
    Popularity,
    RandomRecommender,
    ReciprocalRankFusion,
    RecentPopularity,
    Recommender,
    Stacking,
    Switching,
    TfidfProfile,
    UserKNN,
    Weighted,
)
from recsys_lessons.models.ips import IPSBPR
from recsys_lessons.models.rerank import CalibratedReranker, ExposureAware, PopularityPenalty, TextTailBlend, XQuAD


@dataclass(frozen=True)
class Resources:
    """What a factory may need: a scratch folder and a tiny BERT saved there."""

    folder: Path
    bert: str


Factory = Callable[[Resources], Recommender]

MODELS: dict[type, Factory] = {
    Popularity: lambda r: Popularity(),
    RandomRecommender: lambda r: RandomRecommender(seed=3),
    RecentPopularity: lambda r: RecentPopularity(days=30),
    ItemKNN: lambda r: ItemKNN(k=5, shrink=1.0),
    UserKNN: lambda r: UserKNN(k=3, shrink=1.0),
    LastItemKNN: lambda r: LastItemKNN(shrink=1.0),
    EASE: lambda r: EASE(lam=10.0),
    MatrixFactorization: lambda r: MatrixFactorization(dim=4, epochs=2, valid_fraction=0.0),
    BPR: lambda r: BPR(dim=4, epochs=2, batch_size=64, valid_fraction=0.0),
    GenreProfile: lambda r: GenreProfile(),
    TfidfProfile: lambda r: TfidfProfile(stop_words=None),
    EmbeddingProfile: lambda r: EmbeddingProfile(cache_dir=r.folder / "embeddings"),
    BERT4Rec: lambda r: BERT4Rec(hidden=16, layers=1, heads=1, max_len=6, epochs=2, batch_size=8, progress=False),
    IPSBPR: lambda r: IPSBPR(dim=4, epochs=2, batch_size=64, valid_fraction=0.0),
    BertCF: lambda r: BertCF(
        encoder=r.bert, cache_dir=r.folder / "embeddings", id_dim=4, text_dim=4, hidden=8, batch_size=16, n_negatives=2
    ),
}

# Wrappers get the model they wrap (a fresh EASE here) as their first argument.
WRAPPERS: dict[type, Callable[[Recommender, Resources], Recommender]] = {
    CrossEncoderReranker: lambda base, r: CrossEncoderReranker(
        base, CrossEncoder(r.bert, max_length=32, batch_size=4, progress=False), k=4, progress=False
    ),
    PopularityPenalty: lambda base, r: PopularityPenalty(base, n_candidates=8),
    XQuAD: lambda base, r: XQuAD(base, k=4, n_candidates=8),
    CalibratedReranker: lambda base, r: CalibratedReranker(base, k=4, n_candidates=8),
    ExposureAware: lambda base, r: ExposureAware(base, k=4, n_candidates=8),
    TextTailBlend: lambda base, r: TextTailBlend(base, GenreProfile()),
    Weighted: lambda base, r: Weighted([("base", base), ("pop", Popularity())], weights=[1.0, 0.5]),
    ReciprocalRankFusion: lambda base, r: ReciprocalRankFusion([("base", base), ("knn", ItemKNN(k=5, shrink=1.0))]),
    BordaCount: lambda base, r: BordaCount([("base", base), ("knn", ItemKNN(k=5, shrink=1.0))]),
    Switching: lambda base, r: Switching(GenreProfile(), base, min_user_ratings=5, min_item_ratings=1),
    Cascade: lambda base, r: Cascade(base, ItemKNN(k=5, shrink=1.0), n_candidates=5),
    Stacking: lambda base, r: Stacking([("base", base), ("pop", Popularity())], n_candidates=10),
}


def _base() -> Recommender:
    return EASE(lam=10.0)


CASES: dict[str, Factory] = {cls.__name__: f for cls, f in MODELS.items()}
CASES.update({cls.__name__: (lambda f: lambda r: f(_base(), r))(f) for cls, f in WRAPPERS.items()})


# -- the data and resources ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def data() -> Interactions:
    """12 users x 15 items, 4-8 ratings each (seeded), a titled item table; item 15 never rated."""
    rng = np.random.default_rng(0)
    rows = []
    for u in range(1, 13):
        items = rng.choice(np.arange(1, 15), size=rng.integers(4, 9), replace=False)
        rows += [(u, int(i), float(rng.integers(1, 6)), 1_000 * u + t) for t, i in enumerate(items)]
    ratings = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"]).astype({"rating": np.float32})
    genres = ["Action", "Comedy", "Drama", "Romance", "Sci-Fi"]
    items = pd.DataFrame(
        {
            "item_id": np.arange(1, 16),
            "title": [f"Film {chr(64 + i)}" for i in range(1, 16)],
            "year": pd.array(1980 + np.arange(15), dtype="Int64"),
            "genres": [[genres[i % 5], genres[(i * 2 + 1) % 5]] for i in range(15)],
        }
    )
    items["text"] = [f"{t} ({y}). Genres: {', '.join(g)}." for t, y, g in zip(items.title, items.year, items.genres)]
    return Interactions.from_dataset(Dataset("contract", ratings, items, None, "test"))


@pytest.fixture(scope="module")
def resources(tmp_path_factory) -> Resources:
    from transformers import AutoTokenizer, BertConfig, BertModel

    from recsys_lessons.text import resolve_model

    folder = tmp_path_factory.mktemp("contract")
    tok = AutoTokenizer.from_pretrained(resolve_model(None))
    config = BertConfig(
        vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=1,
        intermediate_size=32, max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder / "bert")
    tok.save_pretrained(folder / "bert")
    return Resources(folder, str(folder / "bert"))


@pytest.fixture(scope="module")
def fitted(data, resources) -> dict[str, Recommender]:
    return {name: make(resources).fit(data) for name, make in CASES.items()}


# -- the registry is complete -----------------------------------------------------------------------
def _concrete_recommenders() -> set[type]:
    found = set()
    for info in pkgutil.iter_modules(models_pkg.__path__):
        module = importlib.import_module(f"{models_pkg.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Recommender) and not inspect.isabstract(cls) and cls.__module__ == module.__name__:
                found.add(cls)
    return found


def test_every_recommender_is_registered():
    missing = sorted(c.__name__ for c in _concrete_recommenders() - set(MODELS) - set(WRAPPERS))
    assert not missing, f"add these to MODELS or WRAPPERS in tests/test_contract.py: {missing}"


# -- the contract ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_fit_returns_self_and_score_is_a_full_float32_matrix(name, data, resources, fitted):
    model = CASES[name](resources)
    assert model.fit(data) is model
    assert model.train_ is data
    scores = fitted[name].score()
    assert scores.shape == (data.n_users, data.n_items) and scores.dtype == np.float32
    assert not np.isnan(scores).any()
    # a subset gives the same rows (up to float rounding of a different batch shape)
    np.testing.assert_allclose(fitted[name].score([3, 1]), scores[[3, 1]], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_same_seed_same_scores(name, data, resources, fitted):
    again = CASES[name](resources).fit(data)
    np.testing.assert_array_equal(again.score(), fitted[name].score())


@pytest.mark.parametrize("name", CASES)
def test_recommend_excludes_seen_items_and_handles_k_beyond_the_catalogue(name, data, fitted):
    model = fitted[name]
    for user_id in data.user_ids[:4]:
        u = data.user_index(user_id)
        seen = set(data.item_ids[data.matrix[u].indices])
        top = model.recommend(user_id, k=3)
        assert len(top) <= 3 and not set(top.item_id) & seen
        everything = model.recommend(user_id, k=10 * data.n_items)
        assert not set(everything.item_id) & seen
        assert len(everything) <= data.n_items - len(seen)
        assert everything["rank"].tolist() == list(range(1, len(everything) + 1))
        assert (np.diff(everything["score"].to_numpy()) <= 0).all()  # best first
        assert everything.item_id.head(3).tolist() == top.item_id.tolist()  # one ranking, cut at k
        assert list(everything.columns[:3]) == ["rank", "item_id", "title"]


@pytest.mark.parametrize("name", CASES)
def test_recommend_refuses_bad_k_and_unknown_users(name, data, fitted):
    model = fitted[name]
    user_id = int(data.user_ids[0])
    for bad in (True, 2.5, "3"):
        with pytest.raises(TypeError, match=f"k={bad!r}"):
            model.recommend(user_id, k=bad)
    with pytest.raises(ValueError, match="k=0"):
        model.recommend(user_id, k=0)
    with pytest.raises(KeyError, match="99999"):
        model.recommend(99999)
    with pytest.raises(IndexError, match=str(data.n_users)):
        model.score([data.n_users])


@pytest.mark.parametrize("name", CASES)
def test_not_fitted_error_before_fit(name, resources):
    model = CASES[name](resources)
    with pytest.raises(NotFittedError):
        model.score([0])
    with pytest.raises(NotFittedError):
        model.recommend(1)


@pytest.mark.parametrize("name", CASES)
def test_clone_and_get_params_round_trip(name, data, resources, fitted):
    model = fitted[name]
    params = model.get_params()
    copy = clone(model)
    assert type(copy) is type(model) and repr(copy) == repr(model)
    assert copy.get_params().keys() == params.keys()
    with pytest.raises(NotFittedError):
        copy.score([0])  # a clone is unfitted; the original stays fitted
    model.score([0])
    fresh = CASES[name](resources)
    assert fresh.set_params(**fresh.get_params()) is fresh and repr(fresh) == repr(CASES[name](resources))
    # clone's own check: every parameter is stored untouched by __init__
    for key, value in fresh.get_params(deep=False).items():
        assert getattr(fresh, key) is value


@pytest.mark.parametrize("name", CASES)
def test_bad_parameters_are_refused_by_fit(name, data, resources):
    """Every int hyper-parameter refuses a bool and a negative value, with its name in the message."""
    model = CASES[name](resources)
    ints = {k: v for k, v in model.get_params(deep=False).items() if isinstance(v, int) and not isinstance(v, bool)}
    for key in ints:
        for bad in (True, -5):
            with pytest.raises((TypeError, ValueError), match=key):
                clone(model).set_params(**{key: bad}).fit(data)
    with pytest.raises(TypeError, match="Interactions"):
        clone(model).fit(data.frame)


@pytest.mark.parametrize("name", CASES)
def test_save_load_round_trip_where_supported(name, data, fitted, tmp_path):
    model = fitted[name]
    if not (hasattr(model, "save") and hasattr(type(model), "load")):
        pytest.skip(f"{name} has no save/load")
    folder = model.save(tmp_path / name)
    loaded = type(model).load(folder, data)
    np.testing.assert_array_equal(loaded.score(), model.score())
    assert repr(loaded) == repr(model)
