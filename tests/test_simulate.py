"""The feedback-loop simulator: determinism, the world's invariants, concentration and its mitigation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_lessons.models import EASE, Popularity
from recsys_lessons.models.rerank import ExposureAware
from recsys_lessons.simulate import World, make_world, run_feedback_loop


def test_world_is_deterministic_and_long_tailed():
    a, b = make_world(n_users=60, n_items=80, seed=3), make_world(n_users=60, n_items=80, seed=3)
    np.testing.assert_array_equal(a.true_prob, b.true_prob)
    pd.testing.assert_frame_equal(a.organic, b.organic)
    assert not np.array_equal(a.true_prob, make_world(n_users=60, n_items=80, seed=4).true_prob)
    assert a.true_prob.shape == (60, 80) and ((a.true_prob > 0) & (a.true_prob < 1)).all()
    assert a.awareness.sum() == pytest.approx(1.0)
    assert a.organic_impressions.sum() == 60 * 30  # n_organic items shown to each user
    # Awareness is a power law: in the default world the best-known items reach nearly every
    # user while the median item is shown to a few percent of them.
    default = make_world(seed=3).organic_impressions
    assert default.max() > 10 * np.median(default)
    log = a.interactions()
    assert log.shape == (60, 80) and set(log.items.columns) >= {"item_id", "title", "genres", "text"}
    assert all(1 <= len(g) <= 2 for g in log.items["genres"])


def test_make_world_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_users=1"):
        make_world(n_users=1)
    with pytest.raises(ValueError, match="n_organic=500 exceeds n_items=400"):
        make_world(n_organic=500)
    with pytest.raises(ValueError, match="popularity_exponent"):
        make_world(popularity_exponent=-1.0)


def test_feedback_loop_is_deterministic_and_records_each_round():
    world = make_world(n_users=80, n_items=120, seed=1)
    a = run_feedback_loop(world, EASE(lam=50.0), rounds=3, seed=5)
    b = run_feedback_loop(world, EASE(lam=50.0), rounds=3, seed=5)
    pd.testing.assert_frame_equal(a.history, b.history)
    h = a.history
    assert h["round"].tolist() == [0, 1, 2, 3]
    assert (h["log_size"].diff().dropna() == h["consumed"].iloc[1:]).all()
    assert a.exposure.sum() == world.organic_impressions.sum() + 3 * 80 * 10
    r = h.iloc[1:]
    assert ((r["true_utility"] > 0) & (r["true_utility"] <= r["oracle_utility"])).all()
    assert r["logged_recall"].between(0, 1).all()


def test_feedback_loop_rejects_bad_arguments():
    world = make_world(n_users=20, n_items=40, n_organic=10, seed=0)
    with pytest.raises(TypeError, match="World"):
        run_feedback_loop("world", Popularity())
    with pytest.raises(ValueError, match="rounds=0"):
        run_feedback_loop(world, Popularity(), rounds=0)
    with pytest.raises(ValueError, match="k=41 exceeds"):
        run_feedback_loop(world, Popularity(), k=41)
    with pytest.raises(ValueError, match="holdout"):
        run_feedback_loop(world, Popularity(), holdout=1.0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_popularity_greedy_concentrates_exposure_and_exposure_aware_mitigates(seed):
    world = make_world(seed=seed)
    greedy = run_feedback_loop(world, Popularity(), rounds=6, seed=seed).history["exposure_gini"].to_numpy()
    assert (np.diff(greedy) > 0).all()  # every round concentrates exposure further
    mitigated = run_feedback_loop(world, ExposureAware(EASE(lam=50.0)), rounds=6, seed=seed).history
    gini = mitigated["exposure_gini"].to_numpy()
    assert gini[-1] < gini[0]  # below where the organic log started
    assert gini[-1] < greedy[-1]
    assert isinstance(world, World)
