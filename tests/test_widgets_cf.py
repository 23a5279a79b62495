"""The lesson-01 recommendation explorer, driven headless."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_lessons.models import EASE, ItemKNN, NotFittedError, Popularity
from recsys_lessons.widgets import RecommendationExplorer


@pytest.fixture
def explorer(tiny):
    train, test = tiny.subset(tiny.frame.timestamp.to_numpy() < 30), tiny.subset(tiny.frame.timestamp.to_numpy() >= 30)
    # Held out: user 1 -> item 3 (C), user 3 -> item 4 (D).
    models = {"pop": Popularity().fit(train), "itemknn": ItemKNN(k=None, shrink=0.0).fit(train)}
    return RecommendationExplorer(models, train, test, k=2, max_k=5, history_size=5)


def test_initial_state_is_first_user_and_model(explorer):
    assert explorer.user.value == 1 and explorer.model.value == "pop"
    recs = explorer.last_
    # Popularity on train: B (3 ratings), then A (2); user 1 has seen A and B, so C, D (1 each).
    assert list(recs.item_id) == [3, 4]
    assert list(recs.hit) == [True, False]
    assert "Movie C" in explorer.recs_html.value and "✓" in explorer.recs_html.value
    assert "<b>1</b> of the top-2" in explorer.summary.value


def test_controls_update_the_list(explorer):
    explorer.user.value = 3  # user 3 rated B and C in train; D is held out
    assert list(explorer.last_.item_id) == list(explorer.models["pop"].recommend(3, k=2).item_id)
    explorer.model.value = "itemknn"
    expected = explorer.models["itemknn"].recommend(3, k=2)
    assert list(explorer.last_.item_id) == list(expected.item_id)
    np.testing.assert_allclose(explorer.last_.score, expected.score)
    explorer.k.value = 3
    assert len(explorer.last_) == 3
    assert explorer.last_.hit.tolist() == explorer.last_.item_id.eq(4).tolist()
    assert "User 3: top-rated training items" in explorer.history_html.value


def test_update_moves_the_controls_and_the_tables_follow(explorer, tiny):
    recs = explorer.update(user_id=3, model="itemknn", k=3)
    # The controls name what the tables show (lesson 01's explorer once read "user 1 / pop / 2"
    # above another user's list).
    assert (explorer.user.value, explorer.model.value, explorer.k.value) == (3, "itemknn", 3)
    assert recs is explorer.last_
    expected = explorer.recommendations(3, "itemknn", 3)
    assert recs.equals(expected)
    assert "itemknn: top-3" in explorer.recs_html.value and "User 3:" in explorer.history_html.value
    # The same page as moving the three controls by hand, as a learner does in the browser.
    twin = RecommendationExplorer(explorer.models, explorer.train, explorer.test, k=2, max_k=5, history_size=5)
    twin.user.value, twin.model.value, twin.k.value = 3, "itemknn", 3
    assert twin.view_html() == explorer.view_html()


def test_update_with_a_bad_value_leaves_controls_and_tables(explorer):
    page = explorer.view_html()
    with pytest.raises(ValueError, match="k=6"):
        explorer.update(user_id=3, k=6)
    with pytest.raises(KeyError, match="model='nope'"):
        explorer.update(model="nope")
    assert explorer.user.value == 1 and explorer.view_html() == page


def test_history_is_sorted_by_rating(explorer):
    hist = explorer.history(1)
    assert list(hist.title) == ["Movie A", "Movie B"]  # user 1 rated A 5, B 4 in train
    assert list(hist.rating) == [5.0, 4.0]


def test_bad_inputs(explorer, tiny):
    with pytest.raises(KeyError, match="'nope'"):
        explorer.recommendations(1, "nope", 2)
    with pytest.raises(KeyError, match="99"):
        explorer.update(user_id=99)
    with pytest.raises(ValueError, match="k=9"):
        explorer.recommendations(1, "pop", 9)
    with pytest.raises(ValueError, match="models is empty"):
        RecommendationExplorer({}, tiny)
    with pytest.raises(NotFittedError, match="'ease'"):
        RecommendationExplorer({"ease": EASE()}, tiny)
    with pytest.raises(KeyError, match="12345"):
        RecommendationExplorer({"pop": Popularity().fit(tiny)}, tiny, users=[12345])


def test_hits_on_real_data(ml100k_split):
    train, test = ml100k_split
    ex = RecommendationExplorer({"ease": EASE().fit(train)}, train, test, users=[1, 2, 3])
    ex.user.value = 2
    held = set(test.frame.loc[test.frame.user_id == 2, "item_id"])
    assert ex.last_.hit.tolist() == [i in held for i in ex.last_.item_id]
    assert len(ex.last_) == 10
    recs = ex.update(user_id=3, k=5)
    assert (ex.user.value, ex.k.value) == (3, 5) and len(recs) == 5
    assert f"<b>{int(recs.hit.sum())}</b> of the top-5 are held-out items of user 3" in ex.summary.value
