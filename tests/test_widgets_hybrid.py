"""The lesson-05 blend widget, driven headless: the controls drive the view."""

from __future__ import annotations

import numpy as np
import pytest

import recsys_lessons as rl
from recsys_lessons.models import ItemKNN, NotFittedError, Popularity
from recsys_lessons.models.hybrid import Weighted
from recsys_lessons.widgets.hybrid import BlendExplorer


@pytest.fixture
def split(tiny):
    ts = tiny.frame.timestamp.to_numpy()
    return tiny.subset(ts < 30), tiny.subset(ts >= 30)  # held out: user 1 -> C, user 3 -> D


@pytest.fixture
def explorer(split):
    train, test = split
    hybrid = Weighted([("pop", Popularity()), ("knn", ItemKNN(k=None, shrink=0.0))], weights=[1.0, 0.0]).fit(train)
    return BlendExplorer(hybrid, test, k=2, max_weight=2.0)


def _expected_metrics(explorer, weights, split):
    train, test = split
    model = Weighted(explorer.hybrid.estimators, list(weights), explorer.hybrid.norm).fit(train)
    return rl.evaluate(model, train, test, 2, ("ndcg", "precision"))


def test_sliders_start_at_the_hybrids_weights_and_the_view_shows_the_metrics(explorer, split):
    assert explorer.weights() == {"pop": 1.0, "knn": 0.0}
    expected = _expected_metrics(explorer, [1.0, 0.0], split)
    assert explorer.metrics_["ndcg@2"] == pytest.approx(expected["ndcg@2"])
    assert f"ndcg@2 <b>{expected['ndcg@2']:.4f}</b>" in explorer.view.value
    assert "user 1: top-2" in explorer.view.value and "Movie C" in explorer.view.value


def test_moving_a_slider_reblends_and_matches_evaluate(explorer, split):
    explorer.sliders["pop"].value = 0.0
    explorer.sliders["knn"].value = 1.5  # fires observe -> redraw synchronously
    expected = _expected_metrics(explorer, [0.0, 1.5], split)
    assert explorer.metrics_["ndcg@2"] == pytest.approx(expected["ndcg@2"])
    assert explorer.metrics_["precision@2"] == pytest.approx(expected["precision@2"])
    assert "knn 1.50" in explorer.view.value


def test_update_sets_the_controls(explorer):
    html = explorer.update(user_id=3, knn=0.5)
    assert explorer.user.value == 3 and explorer.sliders["knn"].value == 0.5
    assert html == explorer.view.value and "user 3: top-2" in html
    row = list(explorer.user.options).index(3)
    titles = explorer.hybrid.train_.items["title"].to_numpy()
    assert all(titles[i] in html for i in explorer.ranked_[row])


def test_update_rejects_unknown_names_and_values(explorer):
    with pytest.raises(KeyError, match="unknown models"):
        explorer.update(bpr=1.0)
    with pytest.raises(ValueError, match=r"pop=5\.0; expected a number in \[0, 2\]"):
        explorer.update(pop=5.0)
    with pytest.raises(TypeError, match="knn='1' is a str"):
        explorer.update(knn="1")
    with pytest.raises(KeyError, match="user_id=2 is not offered"):
        explorer.update(user_id=2)


def test_a_bad_value_moves_nothing(explorer):
    before = (explorer.values(), explorer.view.value)
    with pytest.raises(ValueError, match="knn=3"):
        explorer.update(user_id=3, pop=0.5, knn=3.0)  # the good values do not move either
    assert (explorer.values(), explorer.view.value) == before


def test_controls_and_view_agree_after_update(explorer):
    html = explorer.update(user_id=3, pop=0.25, knn=1.75)
    assert explorer.values() == {"user_id": 3, "pop": 0.25, "knn": 1.75}
    assert explorer.main_control == "pop" and list(explorer.controls) == ["user_id", "pop", "knn"]
    assert "weights: pop 0.25, knn 1.75" in html and explorer.last_ is explorer.metrics_
    # moving the sliders by hand gives the view update() gives for those values
    explorer.update(pop=1.0, knn=0.0)
    explorer.sliders["pop"].value = 0.25
    explorer.sliders["knn"].value = 1.75
    assert explorer.view.value == html


def test_construction_errors(split):
    train, test = split
    with pytest.raises(TypeError, match="Weighted"):
        BlendExplorer(Popularity().fit(train), test)
    with pytest.raises(NotFittedError):
        BlendExplorer(Weighted([("pop", Popularity())]), test)
    with pytest.raises(ValueError, match="outside the sliders' range"):
        BlendExplorer(Weighted([("pop", Popularity())], weights=[3.0]).fit(train), test, k=2, max_weight=2.0)
    with pytest.raises(ValueError, match="k=10"):
        BlendExplorer(Weighted([("pop", Popularity())]).fit(train), test, k=10)
    single = BlendExplorer(Weighted([("pop", Popularity())]).fit(train), test, k=2)
    blend = single.blend({"pop": 1.0})  # rows: the test users
    assert np.isneginf(blend[train.matrix[single.users].nonzero()]).all()  # seen items are never ranked
