"""The point-wise BERT+CF click model: transitions, out-of-fold EASE, training, scoring, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import recsys_lessons as rl
from recsys_lessons.data import Dataset, Interactions
from recsys_lessons.models import EASE, NotFittedError
from recsys_lessons.models.bert_cf import BertCF, out_of_fold_ease, transitions
from recsys_lessons.models.ease import ease_weights
from recsys_lessons.models.hybrid import Cascade


def test_transitions_are_consecutive_pairs_in_time_order(tiny):
    users, prev, nxt = transitions(tiny)
    # user 1 (index 0) rated items 1, 2, 3 at t=10, 20, 30 -> (A->B), (B->C); indices 0, 1, 2.
    got = {(u, p, n) for u, p, n in zip(users, prev, nxt)}
    assert {(0, 0, 1), (0, 1, 2)} <= got
    assert len(users) == sum(len(s) - 1 for s in tiny.user_sequences())


def test_out_of_fold_ease_never_uses_the_scored_user(tiny):
    oof = out_of_fold_ease(tiny, lam=1.0, n_folds=2, seed=0)
    fold = np.random.default_rng(0).integers(0, 2, tiny.n_users)
    x = tiny.binary().toarray()
    for u in range(tiny.n_users):
        rest = x[fold != fold[u]]  # the other fold only
        b = ease_weights(rest.T @ rest, 1.0)
        np.testing.assert_allclose(oof[u], x[u] @ b, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="n_folds=1"):
        out_of_fold_ease(tiny, 1.0, n_folds=1)


def _chain_data(n_users: int = 40, n_items: int = 12, length: int = 6, seed: int = 0) -> Interactions:
    """Users walk the catalogue in steps of +1 from a random start: item i is always followed by i + 1."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        start = int(rng.integers(0, n_items - length))
        rows += [(u + 1, start + t + 1, 4.0, 100 * u + t) for t in range(length)]
    ratings = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    items = pd.DataFrame({"item_id": np.arange(1, n_items + 1), "title": [f"Film {i}" for i in range(1, n_items + 1)]})
    items["year"] = pd.array(1990 + np.arange(n_items), dtype="Int64")
    items["genres"] = [["Drama"]] * n_items
    items["text"] = [f"{t} ({y}). Genres: Drama." for t, y in zip(items.title, items.year)]
    return Interactions.from_dataset(Dataset("chain", ratings, items, None, "test"))


def test_ids_alone_learn_what_follows_what():
    data = _chain_data()
    model = BertCF(text=False, cf=False, ids=True, id_dim=8, epochs=30, batch_size=64, lr=0.05, n_negatives=2, seed=0).fit(data)
    last = model.last_item_
    top = rl.top_k(model.score(), 1, exclude=data.matrix)[:, 0]
    movable = last + 1 < data.n_items
    # Most users' next film is last + 1, which the ID embeddings have seen thousands of times.
    assert np.mean(top[movable] == last[movable] + 1) > 0.8


def test_cf_and_text_model_runs_as_a_cascade_stage_and_beats_popularity(ml100k):
    train_valid, test = rl.split_last_item(ml100k)
    cascade = Cascade(EASE(), BertCF(text=True, cf=True, ids=True, seed=0, epochs=1), n_candidates=20).fit(train_valid)
    users = np.flatnonzero(np.diff(test.matrix.indptr))[:200]
    part = test.subset(np.isin(test.frame.user_idx.to_numpy(), users))
    got = rl.evaluate(cascade, train_valid, part, 10, ("ndcg",))["ndcg@10"]
    pop = rl.evaluate(rl.models.Popularity().fit(train_valid), train_valid, part, 10, ("ndcg",))["ndcg@10"]
    assert got > pop
    stage = cascade.second_
    assert stage.n_pairs_ == 5 * sum(len(s) - 1 for s in train_valid.user_sequences())
    cand = cascade.candidates(users[:3])
    np.testing.assert_allclose(stage.score_candidates(users[:3], cand), np.take_along_axis(stage.score(users[:3]), cand, axis=1), rtol=1e-5, atol=1e-5)
    p = stage.click_probability(users[:3], cand)
    assert ((p > 0) & (p < 1)).all()


def test_two_fits_with_one_seed_give_the_same_scores(tiny):
    a = BertCF(text=False, epochs=2, batch_size=4, seed=3).fit(tiny).score()
    b = BertCF(text=False, epochs=2, batch_size=4, seed=3).fit(tiny).score()
    np.testing.assert_array_equal(a, b)


def test_finetune_path_updates_the_encoder_on_cpu(tiny):
    model = BertCF(text=True, cf=False, ids=False, finetune=True, epochs=1, batch_size=8, max_length=16, n_negatives=1, device="cpu", seed=0)
    from transformers import AutoModel

    from recsys_lessons.text import resolve_model

    before = AutoModel.from_pretrained(resolve_model(None)).embeddings.word_embeddings.weight.detach().clone()
    model.fit(tiny)
    assert model.finetuned_
    after = model.net_.encoder.embeddings.word_embeddings.weight.detach()
    assert not torch.equal(before, after)  # gradients reached BERT
    assert np.isfinite(model.score()).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(text=False, cf=False, ids=False), "no input"),
        (dict(cf=("knn", "genre")), "cf=\\('knn', 'genre'\\)"),
        (dict(n_negatives=0), "n_negatives=0"),
        (dict(hidden=0), "hidden=0"),
        (dict(lr=0.0), "lr=0.0"),
    ],
)
def test_bad_parameters_are_rejected_in_fit(tiny, kwargs, match):
    with pytest.raises(ValueError, match=match):
        BertCF(**{"text": False, **kwargs}).fit(tiny)


def test_scoring_errors(tiny):
    with pytest.raises(NotFittedError):
        BertCF().score_candidates([0], np.array([[0]]))
    model = BertCF(text=False, epochs=1, batch_size=4).fit(tiny)
    with pytest.raises(ValueError, match="candidates must be"):
        model.score_candidates([0, 1], np.array([[0, 1]]))
    with pytest.raises(ValueError, match="candidate indices"):
        model.score_candidates([0], np.array([[7]]))
