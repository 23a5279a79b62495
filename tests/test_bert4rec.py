"""BERT4Rec and the loss formulations: hand-computed losses, cloze masks, overfitting, the interface."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lessons.data import Dataset, Interactions, split_last_item
from recsys_lessons.evaluation import evaluate
from recsys_lessons.models import NotFittedError, Popularity
from recsys_lessons.models.bert4rec import BERT4Rec, mask_sequences, sequence_windows
from recsys_lessons.evaluation import reliability_curve
from recsys_lessons.models.losses import bce_loss, full_softmax_loss, sampled_softmax_loss


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


# -- losses against hand computations ---------------------------------------------------------
POS = np.array([2.0, -1.0])
NEG = np.array([[0.5, -0.3, 1.0], [0.0, 2.0, -2.0]])


def test_bce_one_negative_equals_the_pointwise_formula():
    # two positives (y=1) and their one negative each (y=0): -Σ[y log p + (1-y) log(1-p)] / n_pos
    got = bce_loss(torch.tensor(POS), torch.tensor(NEG[:, :1])).item()
    p_pos, p_neg = _sig(POS), _sig(NEG[:, 0])
    want = -(np.log(p_pos) + np.log(1 - p_neg)).mean()
    assert got == pytest.approx(want, rel=1e-6)


def test_bce_many_negatives_and_masking_by_hand():
    mask = np.array([[True, False, True], [True, True, True]])
    got = bce_loss(torch.tensor(POS), torch.tensor(NEG), torch.tensor(mask)).item()
    want = -(np.log(_sig(POS)) + (np.log(1 - _sig(NEG)) * mask).sum(1)).mean()
    assert got == pytest.approx(want, rel=1e-6)


def test_sampled_softmax_with_log_q_by_hand():
    log_q_pos = np.log([0.1, 0.01])
    log_q_neg = np.log([[0.2, 0.05, 0.3], [0.02, 0.4, 0.1]])
    got = sampled_softmax_loss(
        torch.tensor(POS), torch.tensor(NEG), torch.tensor(log_q_pos), torch.tensor(log_q_neg)
    ).item()
    logits = np.concatenate([(POS - log_q_pos)[:, None], NEG - log_q_neg], axis=1)
    want = (-logits[:, 0] + np.log(np.exp(logits).sum(1))).mean()
    assert got == pytest.approx(want, rel=1e-6)
    # without the correction the loss is the plain sampled softmax
    plain = sampled_softmax_loss(torch.tensor(POS), torch.tensor(NEG)).item()
    raw = np.concatenate([POS[:, None], NEG], axis=1)
    assert plain == pytest.approx((-raw[:, 0] + np.log(np.exp(raw).sum(1))).mean(), rel=1e-6)


def test_full_softmax_by_hand():
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
    target = np.array([2, 0])
    got = full_softmax_loss(torch.tensor(logits), torch.tensor(target)).item()
    want = np.mean([-logits[i, t] + np.log(np.exp(logits[i]).sum()) for i, t in enumerate(target)])
    assert got == pytest.approx(want, rel=1e-6)


def test_loss_shape_errors():
    with pytest.raises(ValueError, match="negative scores"):
        bce_loss(torch.zeros(3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="both log_q"):
        sampled_softmax_loss(torch.zeros(2), torch.zeros(2, 3), log_q_pos=torch.zeros(2))
    with pytest.raises(ValueError, match="target outside"):
        full_softmax_loss(torch.zeros(2, 3), torch.tensor([0, 3]))


def test_reliability_curve_by_hand():
    prob = np.array([0.05, 0.15, 0.12, 0.95, 0.85])
    hit = np.array([0, 1, 0, 1, 1])
    table, ece = reliability_curve(prob, hit, n_bins=10)
    assert table["count"].tolist() == [1, 2, 1, 1]
    np.testing.assert_allclose(table["mean_pred"], [0.05, 0.135, 0.85, 0.95])
    np.testing.assert_allclose(table["hit_rate"], [0.0, 0.5, 1.0, 1.0])
    assert ece == pytest.approx((0.05 + 2 * 0.365 + 0.15 + 0.05) / 5)
    with pytest.raises(ValueError, match="lie in"):
        reliability_curve(np.array([1.5]), np.array([1]))


def test_reliability_curve_quantile_bins_by_hand():
    # next-item probabilities are all small: equal-count bins resolve them, equal-width ones cannot
    prob = np.array([0.01, 0.02, 0.03, 0.04])
    hit = np.array([0, 1, 0, 0])
    table, ece = reliability_curve(prob, hit, n_bins=2, strategy="quantile")
    assert table["count"].tolist() == [2, 2]
    np.testing.assert_allclose(table["mean_pred"], [0.015, 0.035])
    np.testing.assert_allclose(table["hit_rate"], [0.5, 0.0])
    assert ece == pytest.approx((2 * 0.485 + 2 * 0.035) / 4)
    assert len(reliability_curve(prob, hit, n_bins=2)[0]) == 1  # uniform: one bin holds them all
    with pytest.raises(ValueError, match="strategy='log'"):
        reliability_curve(prob, hit, strategy="log")


# -- sequences and the cloze task -------------------------------------------------------------
def test_sequence_windows_cut_from_the_end_and_left_pad():
    w = sequence_windows([np.array([0, 1, 2, 3, 4]), np.array([7]), np.array([5, 6])], max_len=3)
    # user 0: [2,3,4] and [0,1] (tokens = index + 1); user 1 has one item: dropped
    np.testing.assert_array_equal(w, [[3, 4, 5], [0, 1, 2], [0, 6, 7]])
    # overlapping windows: ends at 5, 3 (and 1, a single item: dropped)
    w2 = sequence_windows([np.array([0, 1, 2, 3, 4])], max_len=3, stride=2)
    np.testing.assert_array_equal(w2, [[3, 4, 5], [1, 2, 3]])
    for bad in (0, 4):
        with pytest.raises(ValueError, match=f"stride={bad}"):
            sequence_windows([np.arange(5)], max_len=3, stride=bad)


def test_mask_sequences_masks_only_real_positions_and_labels_them():
    rng = np.random.default_rng(0)
    windows = sequence_windows([np.arange(20), np.arange(3), np.arange(7)], max_len=10)
    mask_token = 99
    inputs, labels = mask_sequences(windows, 0.3, mask_token, rng)
    masked = inputs == mask_token
    np.testing.assert_array_equal(masked, labels >= 0)  # labels at masked positions only
    assert not masked[windows == 0].any()  # padding is never masked
    np.testing.assert_array_equal(labels[masked], windows[masked] - 1)  # the hidden item, 0-based
    np.testing.assert_array_equal(inputs[~masked], windows[~masked])  # the rest untouched
    assert masked.any(axis=1).all()  # every window has something to predict
    with pytest.raises(ValueError, match="mask_prob"):
        mask_sequences(windows, 0.0, mask_token, rng)


def test_mask_sequences_last_only_is_the_inference_task():
    windows = sequence_windows([np.arange(20), np.arange(3), np.arange(7)], max_len=10)
    inputs, labels = mask_sequences(windows, 0.5, 99, np.random.default_rng(0), last_only=1.0)
    expected = np.zeros(windows.shape, dtype=bool)
    expected[:, -1] = True  # only the last item of every window, whatever mask_prob says
    np.testing.assert_array_equal(labels >= 0, expected)
    np.testing.assert_array_equal(labels[:, -1], windows[:, -1] - 1)
    # a share of the windows: about that share has exactly one label, at the end
    many = sequence_windows([np.arange(30)] * 400, max_len=30)
    _, lab = mask_sequences(many, 0.5, 99, np.random.default_rng(1), last_only=0.25)
    only_last = ((lab >= 0).sum(axis=1) == 1) & (lab[:, -1] >= 0)
    assert 0.2 < only_last.mean() < 0.3
    with pytest.raises(ValueError, match="last_only=1.5"):
        mask_sequences(windows, 0.5, 99, np.random.default_rng(0), last_only=1.5)


# -- the model -------------------------------------------------------------------------------
def _cycle_data(n_users: int = 120, n_items: int = 10, seed: int = 0) -> Interactions:
    """Every user walks the cycle 0→1→…→9→0 from a random start for 4..9 steps: the next item is determined."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        start, length = rng.integers(n_items), rng.integers(4, 10)
        for t in range(length):
            rows.append((u + 1, (start + t) % n_items + 1, 5.0, 100 * u + t))
    ratings = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    items = pd.DataFrame({"item_id": np.arange(1, n_items + 1), "title": [f"Item {i}" for i in range(n_items)]})
    return Interactions.from_dataset(Dataset("cycle", ratings, items, None, "test"))


TINY = dict(hidden=32, layers=1, heads=2, max_len=10, dropout=0.0, mask_prob=0.3, batch_size=16, lr=5e-3, progress=False)


@pytest.mark.parametrize("loss", ["softmax", "bce", "bce_many", "sampled_softmax"])
def test_every_loss_learns_the_cycle(loss):
    data = _cycle_data()
    train, test = split_last_item(data)
    model = BERT4Rec(loss=loss, n_negatives=4, epochs=50, seed=1, **TINY).fit(train)
    res = evaluate(model, train, test, k=10, metrics=("mrr",))
    pop = evaluate(Popularity().fit(train), train, test, k=10, metrics=("mrr",))
    assert res["mrr@10"] >= 0.8 > 0.6 > pop["mrr@10"]
    assert model.history_.train_loss[-1] < model.history_.train_loss[0]


def test_validation_keeps_best_epoch_and_history_includes_valid_item():
    data = _cycle_data()
    rest, test = split_last_item(data)
    train, valid = split_last_item(rest)
    model = BERT4Rec(epochs=40, seed=0, **TINY).fit(train, valid)
    assert len(model.history_.valid) >= 1
    assert model.history_.valid[model.history_.best_epoch] == max(model.history_.valid)
    # after fit the model predicts from train + valid: its next item is the test item
    assert model.train_ is train and len(model.observed_) == len(train) + len(valid)
    res = evaluate(model, model.observed_, test, k=10, metrics=("mrr",))
    assert res["mrr@10"] >= 0.9


def test_same_seed_same_scores_and_interface(tiny):
    a = BERT4Rec(epochs=2, seed=3, **TINY).fit(tiny)
    b = BERT4Rec(epochs=2, seed=3, **TINY).fit(tiny)
    sa = a.score()
    assert sa.shape == (tiny.n_users, tiny.n_items) and sa.dtype == np.float32
    np.testing.assert_array_equal(sa, b.score())
    rec = a.recommend(1, k=2)
    assert list(rec.columns) == ["rank", "item_id", "title", "score"]
    assert not set(rec.item_id) & {1, 2, 3}  # seen items excluded


def test_sampled_loss_reruns_are_identical_and_threads_restored(tiny):
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # differs from the model's pin (1), whatever OMP_NUM_THREADS says
    try:
        fit = lambda: BERT4Rec(loss="bce_many", n_negatives=3, last_only=0.2, stride=2, epochs=3, seed=5, **TINY).fit(tiny)
        np.testing.assert_array_equal(fit().score(), fit().score())
        assert torch.get_num_threads() == 3  # training pinned one thread, then gave the setting back
    finally:
        torch.set_num_threads(before)


def test_save_load_round_trip_restores_identical_scores(tiny, tmp_path):
    model = BERT4Rec(epochs=2, seed=3, **TINY).fit(tiny)
    folder = model.save(tmp_path / "b4r")
    assert sorted(p.name for p in folder.iterdir()) == ["bert4rec.json", "bert4rec.safetensors"]  # no pickle
    loaded = BERT4Rec.load(folder, model.train_)
    np.testing.assert_array_equal(loaded.score(), model.score())
    assert all(getattr(loaded, k) == getattr(model, k) for k in BERT4Rec._SETTINGS)  # hyper-parameters kept
    with pytest.raises(FileNotFoundError, match="bert4rec.safetensors is missing"):
        BERT4Rec.load(tmp_path, model.train_)
    other = _cycle_data(n_items=7)
    with pytest.raises(ValueError, match="trained on 5 items but train has 7"):
        BERT4Rec.load(folder, other)
    with pytest.raises(NotFittedError):
        BERT4Rec().save(tmp_path / "nothing")


def test_bad_inputs(tiny):
    with pytest.raises(NotFittedError):
        BERT4Rec().score([0])
    with pytest.raises(ValueError, match="loss='hinge'"):
        BERT4Rec(loss="hinge").fit(tiny)
    with pytest.raises(ValueError, match="sampler"):
        BERT4Rec(sampler="zipf").fit(tiny)
    with pytest.raises(ValueError, match="last_only=-0.1"):
        BERT4Rec(last_only=-0.1).fit(tiny)
    with pytest.raises(ValueError, match="stride=60"):
        BERT4Rec(stride=60).fit(tiny)
    with pytest.raises(ValueError, match="num_threads=0"):
        BERT4Rec(num_threads=0, **TINY).fit(tiny)
    with pytest.raises(ValueError, match="not divisible"):
        BERT4Rec(hidden=10, heads=3, epochs=1, progress=False).fit(tiny)
    with pytest.raises(TypeError, match="Interactions"):
        BERT4Rec().fit(np.zeros((3, 3)))
    one_each = tiny.subset(tiny.frame.groupby("user_idx").cumcount().to_numpy() == 0)
    with pytest.raises(ValueError, match="2 or more"):
        BERT4Rec(**TINY).fit(one_each)


def test_union_rejects_other_index_and_restores_the_split(tiny):
    other = _cycle_data()
    with pytest.raises(ValueError, match="different indexes"):
        tiny.union(other)
    with pytest.raises(TypeError, match="Interactions"):
        tiny.union(tiny.frame)
    a, b = split_last_item(tiny)
    both = a.union(b)
    assert len(both) == len(tiny)
    assert (both.matrix != tiny.matrix).nnz == 0  # the same ratings in the same cells
    assert [s.tolist() for s in both.user_sequences()] == [s.tolist() for s in tiny.user_sequences()]


def test_fit_with_valid_keeps_train_and_excludes_the_validation_item():
    data = _cycle_data()
    train, valid = split_last_item(data)
    model = BERT4Rec(epochs=2, seed=3, **TINY).fit(train, valid)
    assert model.train_ is train  # as given
    assert len(model.observed_) == len(train) + len(valid)
    for u in np.unique(valid.frame.user_idx):
        user_id = data.user_ids[u]
        shown = set(model.recommend(user_id, k=data.n_items).item_id)
        assert not shown & set(valid.frame.item_id[valid.frame.user_idx == u])
