"""Lesson-03 widget: candidates before and after re-ranking, driven headless."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_lessons.widgets import RerankExplorer


def _explorer(tiny, **kwargs):
    users = np.array([0, 2])
    cand = np.array([[3, 4], [0, 4]])  # generator order
    scores = {"ce": np.array([[0.1, 0.9], [0.5, 0.2]]), "flat": np.zeros((2, 2))}
    targets = np.array([4, 1])
    return RerankExplorer(tiny, users, cand, scores, targets, **kwargs)


def test_update_reorders_and_marks_the_target(tiny):
    ex = _explorer(tiny, show=2)
    before, after = ex.lists(0, "ce")
    np.testing.assert_array_equal(before, [3, 4])
    np.testing.assert_array_equal(after, [4, 3])  # the higher score moves up
    html = ex.html.value
    assert "Movie E" in html and "rank 2 before, 1 after" in html
    assert html.index("Movie D") < html.index("Movie E", html.index("after"))  # before table: D first
    assert "▲1" in html and "▼1" in html
    # equal scores keep the generator's order
    ex.reranker.value = "flat"
    np.testing.assert_array_equal(ex.lists(0, "flat")[1], [3, 4])
    assert "rank 2 before, 2 after" in ex.html.value


def test_moving_controls_updates_the_html(tiny):
    ex = _explorer(tiny, show=2)
    assert ex.user.options == (("user 1", 1), ("user 3", 3))  # raw ids, as the lesson talks about them
    ex.user.value = 3  # user 3, whose held-out item is not among the candidates
    assert "not among the candidates" in ex.html.value
    assert "Liked: Movie C (1992); Movie D (1993)" in ex.html.value  # user 3's liked history (B was rated 2)
    ex.show.value = 1
    assert ex.html.value.count("<tr") == 2  # one row per table


def test_update_moves_the_controls_and_the_page_follows(tiny):
    ex = _explorer(tiny, show=2)
    page = ex.update(user_id=3, reranker="flat", show=1)
    assert (ex.user.value, ex.user.label, ex.reranker.value, ex.show.value) == (3, "user 3", "flat", 1)
    assert page == ex.html.value == ex.last_
    twin = _explorer(tiny, show=2)
    twin.reranker.value, twin.user.value, twin.show.value = "flat", 3, 1  # by hand, in another order
    assert twin.html.value == page
    assert "after (flat)" in page and "not among the candidates" in page
    with pytest.raises(KeyError, match="user_id=2 is not offered"):
        ex.update(user_id=2)  # user index 1 exists, but the explorer has no lists for user id 2
    with pytest.raises(ValueError, match=r"show=3; expected an integer in 1\.\.2"):
        ex.update(show=3)
    assert ex.html.value == page


def test_bad_inputs(tiny):
    with pytest.raises(ValueError, match="scores is empty"):
        RerankExplorer(tiny, np.array([0]), np.array([[1, 2]]), {})
    with pytest.raises(ValueError, match="shape"):
        RerankExplorer(tiny, np.array([0]), np.array([[1, 2]]), {"x": np.zeros((1, 3))})
    with pytest.raises(ValueError, match="show=5"):
        _explorer(tiny, show=5)
    with pytest.raises(ValueError, match="repeated"):
        RerankExplorer(tiny, np.array([0, 0]), np.array([[1, 2], [1, 2]]), {"x": np.zeros((2, 2))})
