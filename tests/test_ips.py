"""IPS-weighted BPR: the weights by hand, BPR recovered at eta = 0, a shift towards the tail."""

from __future__ import annotations

import numpy as np
import pytest

import recsys_lessons as rl
from recsys_lessons import metrics as M
from recsys_lessons.evaluation import rank_users
from recsys_lessons.models import BPR
from recsys_lessons.models.ips import IPSBPR, ips_weights


def test_ips_weights_by_hand():
    pop = np.array([100.0, 25.0, 1.0, 0.0])
    # P = (pop / 100)^0.5 = [1, .5, .1, 0] -> 1/P = [1, 2, 10, inf] -> clip 5 -> [1, 2, 5, 5]
    raw = np.array([1.0, 2.0, 5.0, 5.0])
    mean_over_interactions = (raw * pop).sum() / pop.sum()  # (100 + 50 + 5) / 126
    np.testing.assert_allclose(ips_weights(pop, 0.5, 5.0), raw / mean_over_interactions)
    np.testing.assert_allclose((ips_weights(pop, 0.5, 5.0) * pop).sum() / pop.sum(), 1.0)
    np.testing.assert_allclose(ips_weights(pop, 0.0)[:3], 1.0)  # eta = 0: every positive counts once
    with pytest.raises(ValueError, match="propensity_power=-1"):
        ips_weights(pop, -1.0)
    with pytest.raises(ValueError, match="max_weight=0.5"):
        ips_weights(pop, 0.5, 0.5)
    with pytest.raises(ValueError, match="all zero"):
        ips_weights(np.zeros(3))


def test_eta_zero_is_exactly_bpr(tiny):
    settings = dict(dim=4, epochs=3, batch_size=4, valid_fraction=0.0, seed=1)
    bpr = BPR(**settings).fit(tiny)
    ips = IPSBPR(**settings, propensity_power=0.0).fit(tiny)
    np.testing.assert_allclose(ips.score(), bpr.score(), rtol=1e-6)
    np.testing.assert_allclose(ips.weights_[tiny.item_popularity() > 0], 1.0)


def test_bad_parameters_are_reported_at_fit(tiny):
    model = IPSBPR(propensity_power=-0.5, epochs=1)
    assert model.propensity_power == -0.5
    with pytest.raises(ValueError, match="propensity_power=-0.5"):
        model.fit(tiny)
    assert getattr(model, "train_", None) is None


@pytest.mark.data
@pytest.mark.slow
def test_ips_recommends_less_popular_items_than_bpr(ml100k_split):
    train, test = ml100k_split
    settings = dict(epochs=3, valid_fraction=0.0, seed=0)
    users = np.flatnonzero(np.diff(test.matrix.indptr))
    pop = train.item_popularity()
    arp = {}
    for name, model in (("bpr", BPR(**settings)), ("ips", IPSBPR(**settings, propensity_power=1.0))):
        arp[name] = M.arp(rank_users(model.fit(train), users, 10, train.matrix), pop)
    assert arp["ips"] < 0.8 * arp["bpr"]
