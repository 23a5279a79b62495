"""The BERT click model: pairs, the BCE objective, training, re-ranking and safetensors persistence.

A tiny randomly initialised BERT (saved with the bundled MiniLM's tokenizer) keeps most tests
fast; one test loads the real bundled MiniLM and trains two steps. Everything runs offline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lessons.data import split_last_item
from recsys_lessons.models import Popularity
from recsys_lessons.models.bert_ce import CrossEncoder, CrossEncoderReranker, click_loss
from recsys_lessons.models.biencoder import cosine_scores
from recsys_lessons.models.pairs import (
    build_pairs,
    candidate_lists,
    history_items,
    history_text,
    history_titles,
    item_texts,
    user_histories,
)
from recsys_lessons.text import resolve_model


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
    """A 1-layer, 32-wide BERT with MiniLM's vocabulary, saved as safetensors in a temp folder."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    tok = AutoTokenizer.from_pretrained(resolve_model(None))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


# -- the objective ----------------------------------------------------------------------------
def test_click_loss_equals_the_formula_by_hand():
    z = np.array([1.5, -0.5, 0.2, -2.0])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = 1 / (1 + np.exp(-z))
    want = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert click_loss(torch.tensor(z), torch.tensor(y)).item() == pytest.approx(want, rel=1e-6)
    assert click_loss(torch.tensor(z)[:, None], torch.tensor(y)).item() == pytest.approx(want, rel=1e-6)


def test_click_loss_refuses_the_two_logit_tutorial_bug():
    with pytest.raises(ValueError, match="num_labels=1"):
        click_loss(torch.zeros(4, 2), torch.zeros(4))
    with pytest.raises(TypeError, match="float"):
        click_loss(torch.zeros(4), torch.tensor([1, 0, 1, 0]))
    with pytest.raises(ValueError, match="differ in shape"):
        click_loss(torch.zeros(4), torch.zeros(3))


# -- behaviour to text --------------------------------------------------------------------------
def test_history_text_and_item_texts(tiny):
    assert history_text(["A", "B"]) == "Liked: A; B"
    assert item_texts(tiny)[0] == "Movie A (1990). Genres: Action."
    # user 1 rated A=5, B=4, C=1 (in time order): liked = A, B; C (rating 1) is not liked
    # the history shows each title with its year, as MovieLens writes titles
    assert user_histories(tiny, [0], n_history=3) == ["Liked: Movie A (1990); Movie B (1991)"]
    assert user_histories(tiny, [0], n_history=1) == ["Liked: Movie B (1991)"]
    # like_threshold=None: the last film watched, whatever its rating, and the text says so
    assert history_text(["A"], liked=False) == "Watched: A"
    assert user_histories(tiny, [0], n_history=1, like_threshold=None) == ["Watched: Movie C (1992)"]


def test_history_items_are_the_films_of_the_history_text(tiny):
    # user index 2 rated B=2, C=5, D=4 in time order: liked C, D (indices 2, 3), oldest first
    hist = history_items(tiny, [0, 2, 3], n_history=3)
    assert [h.tolist() for h in hist] == [[0, 1], [2, 3], [4]]
    assert [h.tolist() for h in history_items(tiny, [2], n_history=1)] == [[3]]
    # without a threshold, the last items in time order whatever the rating (B=2 included)
    assert [h.tolist() for h in history_items(tiny, [2], n_history=3, like_threshold=None)] == [[1, 2, 3]]
    with pytest.raises(ValueError, match=r"user indices \[9\] outside \[0, 4\)"):
        history_items(tiny, [0, 9])
    with pytest.raises(ValueError, match="n_history=0"):
        user_histories(tiny, [0], n_history=0)


@pytest.mark.data
def test_build_pairs_no_leak_and_negatives_unseen(ml100k):
    train, _ = split_last_item(ml100k)
    pairs = build_pairs(train, n_history=3, n_negatives=3, targets_per_user=2, max_users=60, seed=1)
    seqs = train.user_sequences()
    titles = history_titles(train)
    pos = pairs[pairs.label == 1]
    assert len(pos) == 120 and len(pairs) == 4 * len(pos)
    for row in pos.itertuples():
        seq = seqs[row.user_idx]
        assert seq[row.position] == row.item_idx  # the positive is the item at that position
        before = set(titles[seq[: row.position]])
        listed = row.history.removeprefix("Liked: ").split("; ")
        assert set(listed) <= before  # history strictly before the target: no leak
        assert 1 <= len(listed) <= 3
    for row in pairs[pairs.label == 0].itertuples():
        assert row.item_idx not in set(seqs[row.user_idx])  # a negative is never a user's item
    # without a like threshold the history is the item just before the target
    last = build_pairs(train, n_history=1, like_threshold=None, max_users=60, seed=1)
    for row in last[last.label == 1].itertuples():
        assert row.history == "Watched: " + titles[seqs[row.user_idx][row.position - 1]]
    # every negative shares its positive's history
    assert (pairs.groupby(["user_idx", "position"]).history.nunique() == 1).all()
    # popularity sampling draws more popular negatives than uniform sampling
    pop = train.item_popularity()
    uni = build_pairs(train, n_negatives=5, max_users=200, negatives="uniform", seed=2)
    pp = build_pairs(train, n_negatives=5, max_users=200, negatives="popularity", seed=2)
    assert pop[pp[pp.label == 0].item_idx].mean() > 2 * pop[uni[uni.label == 0].item_idx].mean()


@pytest.mark.data
def test_build_pairs_hard_negatives_from_candidate_lists(ml100k):
    train, _ = split_last_item(ml100k)
    all_users = np.arange(train.n_users)
    cand = candidate_lists(Popularity().fit(train), train, all_users, 20)
    pairs = build_pairs(
        train, n_negatives=4, negatives="candidates", candidates=cand, targets_per_user=2,
        positions="last", max_users=50, seed=3,
    )
    seqs = train.user_sequences()
    for row in pairs[pairs.label == 0].itertuples():
        assert row.item_idx in set(cand[row.user_idx])  # drawn from the user's own candidate list
        assert row.item_idx not in set(seqs[row.user_idx])
    for row in pairs[pairs.label == 1].itertuples():  # the last two positions of each sequence
        assert row.position in (len(seqs[row.user_idx]) - 2, len(seqs[row.user_idx]) - 1)
    assert len(pairs) == 50 * 2 * 5
    with pytest.raises(ValueError, match="needs candidates"):
        build_pairs(train, negatives="candidates")
    with pytest.raises(ValueError, match=r"candidates must be \(train.n_users"):
        build_pairs(train, negatives="candidates", candidates=cand[:10])
    with pytest.raises(ValueError, match="cannot draw 30 negatives"):
        build_pairs(train, negatives="candidates", candidates=cand, n_negatives=30)
    with pytest.raises(ValueError, match="positions='first'"):
        build_pairs(train, positions="first")


def test_build_pairs_bad_inputs(tiny):
    with pytest.raises(ValueError, match="negatives='hard'"):
        build_pairs(tiny, negatives="hard")
    with pytest.raises(ValueError, match="n_negatives"):
        build_pairs(tiny, n_negatives=-1)
    with pytest.raises(ValueError, match="cannot draw 3 negatives"):
        build_pairs(tiny, n_negatives=3)  # user 1 rated 3 of the 5 items: only 2 negatives exist


# -- the cross-encoder ---------------------------------------------------------------------------
def _toy_pairs() -> pd.DataFrame:
    hist = ["Liked: Alien; Aliens", "Liked: Heat; Ronin", "Liked: Emma; Persuasion", "Liked: Toy Story; Babe"]
    rows = []
    for h, pos, neg in zip(hist, ["Predator", "Casino", "Sense and Sensibility", "Shrek"], ["Clueless", "Bambi", "Rambo", "Seven"]):
        rows += [(h, pos, 1.0), (h, neg, 0.0)]
    return pd.DataFrame(rows, columns=["history", "candidate", "label"])


def test_tiny_cross_encoder_overfits_tiny_pairs(tiny_bert):
    pairs = _toy_pairs()
    ce = CrossEncoder(tiny_bert, batch_size=8, lr=3e-3, epochs=80, warmup=0.0, progress=False, seed=0).fit(pairs)
    assert ce.step_losses_[-1] < 0.1 < ce.step_losses_[0]
    prob = ce.predict_proba(pairs.history.tolist(), pairs.candidate.tolist())
    np.testing.assert_array_equal(prob > 0.5, pairs.label.to_numpy() == 1)


def test_save_load_round_trip_uses_safetensors(tiny_bert, tmp_path):
    pairs = _toy_pairs()
    ce = CrossEncoder(tiny_bert, batch_size=4, epochs=1, progress=False, seed=0, max_length=48).fit(pairs)
    folder = ce.save(tmp_path / "ce")
    files = {p.name for p in folder.iterdir()}
    assert "model.safetensors" in files
    assert not {f for f in files if f.endswith((".bin", ".pkl", ".pt", ".pth"))}  # no pickle anywhere
    back = CrossEncoder.load(folder, progress=False)
    assert back.max_length == 48
    a = ce.predict(pairs.history.tolist(), pairs.candidate.tolist())
    b = back.predict(pairs.history.tolist(), pairs.candidate.tolist())
    np.testing.assert_array_equal(a, b)
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        CrossEncoder.load(tmp_path / "nowhere")


def test_cross_encoder_bad_inputs(tiny_bert):
    ce = CrossEncoder(tiny_bert, progress=False)
    with pytest.raises(KeyError, match="label"):
        ce.fit(pd.DataFrame({"history": ["a"], "candidate": ["b"]}))
    with pytest.raises(ValueError, match="0 or 1"):
        ce.fit(pd.DataFrame({"history": ["a"], "candidate": ["b"], "label": [2.0]}))
    with pytest.raises(ValueError, match="2 histories but 1"):
        ce.predict(["a", "b"], ["c"])
    with pytest.raises(ValueError, match="max_length=4"):
        CrossEncoder(tiny_bert, max_length=4).predict(["a"], ["b"])  # checked when the weights load
    with pytest.raises(TypeError, match="DataFrame"):
        ce.fit([("a", "b", 1.0)])


def test_reranker_reorders_only_the_candidates(tiny, tiny_bert):
    ce = CrossEncoder(tiny_bert, progress=False)
    model = CrossEncoderReranker(Popularity(), ce, k=2, progress=False).fit(tiny)
    scores = model.score()
    assert not hasattr(model.candidates, "train_")  # the caller's model is not fitted: a clone is
    cand = candidate_lists(model.candidates_, tiny, np.arange(tiny.n_users), 2)
    for u in range(tiny.n_users):
        finite = np.flatnonzero(np.isfinite(scores[u]))
        assert set(finite) == set(cand[u])  # exactly the candidates survive
        assert not set(finite) & set(tiny.matrix[u].indices)  # never a training item
    logits = ce.score_candidates(tiny, np.arange(tiny.n_users), cand)
    np.testing.assert_allclose(np.take_along_axis(scores, cand, 1), logits, rtol=1e-6)


def test_cosine_scores_match_a_loop():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(3, 4))
    items = rng.normal(size=(6, 4))
    cand = np.array([[0, 1], [5, 2], [3, 3]])
    want = np.array([[h[u] @ items[i] for i in cand[u]] for u in range(3)])
    np.testing.assert_allclose(cosine_scores(h, items, cand), want)


@pytest.mark.data
def test_real_minilm_trains_a_few_steps(ml100k):
    """The bundled MiniLM with a fresh one-logit head: two steps on 8 pairs, offline."""
    train, _ = split_last_item(ml100k)
    pairs = build_pairs(train, n_negatives=1, max_users=4, seed=0)
    untouched = CrossEncoder(batch_size=4, epochs=1, max_length=48, progress=False)
    before = untouched.predict(pairs.history.tolist(), pairs.candidate.tolist())
    ce = CrossEncoder(batch_size=4, epochs=1, max_length=48, lr=1e-3, progress=False).fit(pairs)
    assert ce.model_.config.num_labels == 1 and ce.device_ == torch.device("cpu")
    assert len(ce.step_losses_) == 2 and all(np.isfinite(ce.step_losses_))
    after = ce.predict(pairs.history.tolist(), pairs.candidate.tolist())
    assert after.shape == (len(pairs),) and not np.allclose(after, before)  # training moved the weights
