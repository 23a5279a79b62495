"""Biased MF and BPR: losses fall, predictions are consistent, negatives are unseen, both beat popularity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recsys_lessons import metrics as M
from recsys_lessons.evaluation import evaluate
from recsys_lessons.models import BPR, MatrixFactorization, NotFittedError, Popularity
from recsys_lessons.models.mf import BiasedMFModule, bpr_loss, sample_negatives


def test_mf_loss_decreases_and_predict_matches_formula(tiny):
    model = MatrixFactorization(dim=4, epochs=60, lr=0.05, reg=0.0, bias_reg=0.0, batch_size=4,
                                valid_fraction=0.0, clip=False).fit(tiny)
    loss = model.history_.train_loss
    assert len(loss) == 60 and loss[-1] < 0.2 * loss[0]
    m = model.module_
    u, i = np.array([0, 2, 3]), np.array([4, 0, 1])
    by_hand = (
        m.mu.item() + m.user_bias.weight[u, 0].detach().numpy() + m.item_bias.weight[i, 0].detach().numpy()
        + (m.user.weight[u] * m.item.weight[i]).sum(1).detach().numpy()
    )
    np.testing.assert_allclose(model.predict(u, i), by_hand, rtol=1e-5)
    # score() is the same prediction for every item.
    np.testing.assert_allclose(model.score(u)[np.arange(3), i], by_hand, rtol=1e-5)
    # It fits the training ratings it memorised.
    f = tiny.frame
    assert M.rmse(f.rating.to_numpy(), model.predict(f.user_idx.to_numpy(), f.item_idx.to_numpy())) < 0.5


def test_mf_clips_to_training_range(tiny):
    model = MatrixFactorization(dim=2, epochs=2, valid_fraction=0.0).fit(tiny)
    pred = model.predict(np.repeat(np.arange(4), 5), np.tile(np.arange(5), 4))
    assert pred.min() >= 1.0 and pred.max() <= 5.0
    assert model.predict(0, [0, 1]).shape == (2,)


def test_mf_predict_bad_indices(tiny):
    model = MatrixFactorization(dim=2, epochs=1, valid_fraction=0.0).fit(tiny)
    with pytest.raises(IndexError, match="item index 9"):
        model.predict(0, 9)
    with pytest.raises(TypeError, match="integers"):
        model.predict(0.5, 1)
    with pytest.raises(NotFittedError):
        MatrixFactorization().predict(0, 0)


@pytest.mark.parametrize(
    "kwargs,match",
    [({"dim": 0}, "dim=0"), ({"lr": -1.0}, "lr=-1.0"), ({"valid_fraction": 1.0}, "valid_fraction"),
     ({"epochs": 0}, "epochs=0"), ({"reg": -0.1}, "reg=-0.1")],
)
def test_factor_models_reject_bad_hyperparameters(kwargs, match, tiny):
    for cls in (MatrixFactorization, BPR):
        with pytest.raises(ValueError, match=match):
            cls(**kwargs).fit(tiny)
    with pytest.raises(TypeError, match="dim=8.0"):
        BPR(dim=8.0).fit(tiny)
    with pytest.raises(TypeError, match="epochs=True"):
        BPR(epochs=True).fit(tiny)
    with pytest.raises(ValueError, match="n_negatives=0"):
        BPR(n_negatives=0).fit(tiny)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match=f"lr_decay={bad}"):
            BPR(lr_decay=bad).fit(tiny)


def _bpr_reference(module, users, items, reg, weights=None):
    """The BPR loss the slow way: one autograd triple per (positive, negative) pair."""
    k = items.shape[1] - 1
    u = users.repeat_interleave(k)
    i = items[:, 0].repeat_interleave(k)
    j = items[:, 1:].reshape(-1)
    pu, qi, qj = module.user(u), module.item(i), module.item(j)
    x = (pu * (qi - qj)).sum(-1) + module.item_bias(i).squeeze(-1) - module.item_bias(j).squeeze(-1)
    w = 1.0 if weights is None else weights.repeat_interleave(k)
    penalty = (pu.pow(2).sum(-1) + qi.pow(2).sum(-1) + qj.pow(2).sum(-1)).mean()
    return -(w * torch.nn.functional.logsigmoid(x)).mean() + reg * penalty


@pytest.mark.parametrize("k,weighted", [(1, False), (3, False), (4, True)])
def test_bpr_loss_and_its_hand_written_gradient_match_autograd(k, weighted):
    torch.manual_seed(0)
    module = BiasedMFModule(7, 11, 5, init_std=0.5).double()
    with torch.no_grad():
        module.item_bias.weight.normal_()  # non-zero biases so their gradient is checked too
    users = torch.tensor([0, 3, 3, 6, 2, 0])  # repeats: gradients of a row must add up
    items = torch.randint(0, 11, (6, 1 + k))
    items[1, 1:] = items[1, 0]  # and an item that is both positive and negative
    weights = torch.rand(6, dtype=torch.float64) + 0.5 if weighted else None
    grads = []
    for loss_fn in (bpr_loss, _bpr_reference):
        module.zero_grad(set_to_none=True)
        loss = loss_fn(module, users, items, 0.3, weights=weights)
        loss.backward()
        grads.append((loss.item(), [p.grad for p in (module.user.weight, module.item.weight, module.item_bias.weight)]))
    (fused, g_fused), (ref, g_ref) = grads
    assert fused == pytest.approx(ref, rel=1e-12)
    for a, b in zip(g_fused, g_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_bpr_loss_rejects_bad_shapes():
    module = BiasedMFModule(3, 4, 2)
    with pytest.raises(ValueError, match=r"items \(2, 1\)"):
        bpr_loss(module, torch.tensor([0, 1]), torch.tensor([[0], [1]]), 0.1)  # no negatives
    with pytest.raises(ValueError, match=r"users \(3,\)"):
        bpr_loss(module, torch.tensor([0, 1, 2]), torch.tensor([[0, 1], [1, 2]]), 0.1)
    with pytest.raises(ValueError, match=r"weights \(1,\)"):
        bpr_loss(module, torch.tensor([0, 1]), torch.tensor([[0, 1], [1, 2]]), 0.1, weights=torch.ones(1))


def test_bpr_learning_rate_decays_by_lr_decay_per_epoch(tiny, monkeypatch):
    seen = []
    original = BPR._run_loop

    def spy(self, module, optimizer, scheduler, train, valid, epochs):
        history = original(self, module, optimizer, scheduler, train, valid, epochs)
        seen.append(optimizer.param_groups[0]["lr"])
        return history

    monkeypatch.setattr(BPR, "_run_loop", spy)
    BPR(dim=2, epochs=3, lr=0.1, lr_decay=0.5, batch_size=3, valid_fraction=0.0).fit(tiny)  # 4 steps an epoch
    BPR(dim=2, epochs=3, lr=0.1, lr_decay=1.0, batch_size=3, valid_fraction=0.0).fit(tiny)
    assert seen == [pytest.approx(0.1 * 0.5**3), 0.1]


def test_sample_negatives_never_returns_seen_items():
    rng = np.random.default_rng(0)
    seen = sp.random(50, 30, density=0.5, format="csr", random_state=1)
    seen.data[:] = 1
    users = np.repeat(np.arange(50), 20)
    neg = sample_negatives(users, seen, rng)
    assert neg.min() >= 0 and neg.max() < 30
    assert seen[users, neg].sum() == 0


def test_sample_negatives_mask_and_binary_search_draw_the_same_items():
    seen = sp.random(50, 30, density=0.5, format="csr", random_state=1)
    seen.data[:] = 1
    users = np.repeat(np.arange(50), 20)
    by_mask = sample_negatives(users, seen, np.random.default_rng(0))
    by_search = sample_negatives(users, seen, np.random.default_rng(0), dense_limit=0)
    np.testing.assert_array_equal(by_mask, by_search)
    assert seen[users, by_search].sum() == 0


def test_bpr_loss_decreases_and_ranks_co_occurring_items(tiny):
    model = BPR(dim=8, epochs=80, lr=0.05, lr_decay=1.0, reg=0.0, batch_size=16, valid_fraction=0.0, seed=3).fit(tiny)
    loss = model.history_.train_loss
    assert loss[-1] < 0.5 * loss[0]
    # Training pairs end up above the user's unseen items.
    scores = model.score()
    x = tiny.binary().toarray().astype(bool)
    for u in range(4):
        assert scores[u, x[u]].min() > scores[u, ~x[u]].max()


def test_bpr_is_reproducible(tiny):
    a = BPR(dim=4, epochs=3, valid_fraction=0.0, seed=7).fit(tiny).score()
    b = BPR(dim=4, epochs=3, valid_fraction=0.0, seed=7).fit(tiny).score()
    np.testing.assert_array_equal(a, b)


def test_training_pins_threads_and_restores_the_setting(tiny, monkeypatch):
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # differs from the pin below, whatever OMP_NUM_THREADS says
    seen = []
    real = BPR._loss
    monkeypatch.setattr(BPR, "_loss", lambda self, m, b: (seen.append(torch.get_num_threads()), real(self, m, b))[1])
    try:
        BPR(dim=2, epochs=1, valid_fraction=0.0, num_threads=1).fit(tiny)
        assert seen and set(seen) == {1}  # every training step ran on one thread
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


@pytest.mark.data
def test_bpr_and_mf_beat_popularity_on_benchmark_split(ml100k_split):
    train, test = ml100k_split
    pop = evaluate(Popularity().fit(train), train, test, 10, metrics=("ndcg",))["ndcg@10"]
    bpr = BPR(epochs=6, patience=3).fit(train)
    assert len(bpr.search_history_.valid) >= 1  # early stopping ran on the carved validation part
    assert evaluate(bpr, train, test, 10, metrics=("ndcg",))["ndcg@10"] > pop + 0.05
    mf = MatrixFactorization(epochs=6, patience=2).fit(train)
    f = test.frame
    rmse = M.rmse(f.rating.to_numpy(), mf.predict(f.user_idx.to_numpy(), f.item_idx.to_numpy()))
    # Beats the best constant-per-item predictor (the item mean) on held-out ratings.
    item_mean = train.frame.groupby("item_idx").rating.mean().reindex(range(train.n_items)).fillna(
        train.frame.rating.mean()).to_numpy()
    assert rmse < M.rmse(f.rating.to_numpy(), item_mean[f.item_idx.to_numpy()])


def test_explicit_validation_set_drives_early_stopping(tiny):
    train = tiny.subset(tiny.frame.timestamp.to_numpy() < 30)
    valid = tiny.subset(tiny.frame.timestamp.to_numpy() >= 30)
    model = MatrixFactorization(dim=2, epochs=5, patience=2).fit(train, valid=valid)
    assert model.search_history_ is None
    assert 1 <= len(model.history_.valid) <= 5
    assert model.history_.valid[model.history_.best_epoch] == min(model.history_.valid)
