"""Lesson 04 widget, headless: the α slider drives the view, and the view agrees with the package."""

from __future__ import annotations

import numpy as np
import pytest

import recsys_lessons as rl
from recsys_lessons.models import EASE, NotFittedError, Popularity
from recsys_lessons.models.rerank import PopularityPenalty
from recsys_lessons.widgets.longtail import LongTailExplorer

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def explorer(ml100k_split):
    train, test = ml100k_split
    model = PopularityPenalty(EASE(lam=400.0, dropout=0.5)).fit(train)
    return LongTailExplorer(model, test, alphas=np.linspace(0.0, 3.0, 7), user_id=42)


def test_moving_the_slider_redraws_the_view(explorer):
    before = explorer.html.value
    explorer.alpha.value = 2.5  # what a browser does: the observer redraws synchronously
    after = explorer.html.value
    assert after != before and "α = 2.50" in after and "<svg" in after
    assert explorer.update(alpha=0.0) == explorer.html.value and explorer.alpha.value == 0.0
    assert "α = 0.00" in explorer.html.value and "(100.0% of α = 0)" in explorer.html.value


def test_the_view_matches_the_reranker_at_that_alpha(explorer, ml100k_split):
    train, test = ml100k_split
    explorer.update(alpha=2.0, user_id=42)
    direct = PopularityPenalty(EASE(lam=400.0, dropout=0.5), alpha=2.0).fit(train)
    res = rl.evaluate(direct, train, test, 10, metrics=("ndcg", "coverage"))
    assert explorer.last_["ndcg"] == pytest.approx(res["ndcg@10"])
    assert explorer.last_["coverage"] == pytest.approx(res["coverage@10"])
    assert f"{res['ndcg@10']:.4f}" in explorer.html.value
    top = direct.recommend(42, k=10)
    assert explorer.last_["items"].tolist() == [train.item_index(i) for i in top["item_id"]]
    assert top["title"].iloc[0] in explorer.html.value


def test_tail_items_are_marked_and_the_user_control_works(explorer):
    page = explorer.update(alpha=3.0, user_id=7)
    assert explorer.user.value == 7
    n_tail = page.count("◆ tail")
    assert f"user 7: {n_tail} of 10 in the long tail" in page
    assert n_tail >= 1  # a strong penalty lets tail films in


def test_update_moves_the_controls_and_the_view_together(explorer):
    page = explorer.update(alpha=1.75, user_id=7)
    assert explorer.values() == {"alpha": 1.75, "user_id": 7}
    assert (explorer.alpha.value, explorer.user.value) == (1.75, 7)
    assert page == explorer.html.value == explorer.view_html()
    assert "α = 1.75:" in page and "user 7:" in page and explorer.last_["alpha"] == 1.75
    # the slider's readout format is the view's: both read 1.75
    assert format(explorer.alpha.value, explorer.alpha.readout_format) == "1.75"
    # one keyword moves one control; the other keeps its value
    explorer.update(user_id=42)
    assert explorer.values() == {"alpha": 1.75, "user_id": 42} and "α = 1.75:" in explorer.html.value
    # moving a control by hand (as a browser does) gives the same view as update() for that value
    explorer.user.value = 7
    by_hand = explorer.html.value
    explorer.update(user_id=42)
    assert explorer.update(user_id=7) == by_hand


def test_update_redraws_once(explorer, monkeypatch):
    explorer.update(alpha=0.5, user_id=42)
    calls = []
    draw = explorer._draw
    monkeypatch.setattr(explorer, "_draw", lambda **values: calls.append(values) or draw(**values))
    explorer.update(alpha=2.25, user_id=7)
    assert calls == [{"alpha": 2.25, "user_id": 7}]


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"alpha": 9}, ValueError, r"alpha=9; expected a number in \[0, 3\]"),
        ({"alpha": -0.5}, ValueError, "alpha=-0.5"),
        ({"alpha": float("nan")}, ValueError, "alpha=nan"),
        ({"alpha": "2"}, TypeError, "alpha='2' is a str"),
        ({"alpha": True}, TypeError, "alpha=True"),
        ({"user_id": -5}, KeyError, "user_id=-5 is not offered"),
        ({"alpha": 2.0, "user_id": -5}, KeyError, "user_id=-5"),  # a good alpha does not move either
        ({"beta": 1.0}, TypeError, "beta"),
    ],
)
def test_bad_values_move_nothing_and_name_the_value(explorer, values, error, message):
    explorer.update(alpha=1.0, user_id=42)
    before = (explorer.values(), explorer.html.value)
    with pytest.raises(error, match=message):
        explorer.update(**values)
    assert (explorer.values(), explorer.html.value) == before


def test_bad_inputs_get_clear_errors(explorer, ml100k_split):
    train, test = ml100k_split
    with pytest.raises(TypeError, match="PopularityPenalty"):
        LongTailExplorer(Popularity().fit(train), test)
    with pytest.raises(NotFittedError):
        LongTailExplorer(PopularityPenalty(Popularity()), test)
    with pytest.raises(ValueError, match="increasing"):
        LongTailExplorer(explorer.model, test, alphas=[1.0, 0.5])
    with pytest.raises(KeyError, match="user_id=-5"):
        LongTailExplorer(explorer.model, test, user_id=-5)
    with pytest.raises(ValueError, match=r"alpha=1\.5; expected a number in \[0, 1\]"):  # the model's α is off the grid
        LongTailExplorer(explorer.model, test, alphas=[0.0, 0.5, 1.0])
