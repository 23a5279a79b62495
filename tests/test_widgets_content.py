"""The lesson-02 widgets ("more like this", free-text query box), driven headless."""

from __future__ import annotations

import re

import pytest

from recsys_lessons.models import EASE, NotFittedError
from recsys_lessons.models.content import EmbeddingProfile, GenreProfile, TfidfProfile
from recsys_lessons.widgets import MoreLikeThis, QueryBox


@pytest.fixture
def models(tiny, tmp_path):
    return {
        "genres": GenreProfile().fit(tiny),
        "tf-idf": TfidfProfile().fit(tiny),
        "embedding": EmbeddingProfile(cache_dir=tmp_path).fit(tiny),
    }


def _titles(fragment: str) -> list[str]:
    """Titles in table order from one model's column of the widget HTML."""
    return re.findall(r"<tr><td>\d+</td><td>([^<]+)</td>", fragment)


def _column(page: str, name: str) -> str:
    start = page.index(f"<b>{name}</b>")
    end = page.find("<div style='flex:1", start)
    return page[start : end if end > 0 else len(page)]


def test_more_like_this_shows_each_models_neighbours(models):
    w = MoreLikeThis(models, item_id=4, k=2, max_k=4)
    page = w.html.value
    assert "Movie D (1993) [4]" in page and "Drama, Romance" in page
    for name, model in models.items():
        expected = model.similar_items(4, k=2)["title"].tolist()
        assert _titles(_column(page, name)) == expected
    assert _titles(_column(page, "embedding"))[0] == "Movie C"  # Drama+Romance -> Drama


def test_more_like_this_controls_update_the_html(models):
    w = MoreLikeThis(models, k=1, max_k=4)
    assert w.item.value == 1  # items sorted by title: Movie A first
    w.item.value = 5
    assert "Movie E (1994) [5]" in w.html.value
    assert list(w.last_["genres"]["item_id"]) == list(models["genres"].similar_items(5, k=1)["item_id"])
    w.k.value = 3
    assert all(len(frame) == 3 for frame in w.last_.values())
    assert len(_titles(_column(w.html.value, "tf-idf"))) == 3
    assert w.update(item_id=5, k=3) == w.html.value


def test_update_moves_the_controls_and_the_page_follows(models):
    w = MoreLikeThis(models, item_id=1, k=2, max_k=4)
    mlt_page = w.update(item_id=5, k=3)
    # The picker names the movie the page is about (lesson 02 once read "Toy Story" above Star Wars).
    assert (w.item.value, w.item.label, w.k.value) == (5, "Movie E (1994) [5]", 3)
    assert mlt_page == w.html.value == MoreLikeThis(models, item_id=5, k=3, max_k=4).html.value
    box = QueryBox(models, query="romance", k=1, max_k=3)
    page = box.update(query="a romantic love story", k=2)
    assert (box.query.value, box.k.value) == ("a romantic love story", 2)
    assert page == QueryBox(models, query="a romantic love story", k=2, max_k=3).html.value
    with pytest.raises(KeyError, match="item_id=42 is not offered"):
        w.update(item_id=42, k=1)
    assert (w.item.value, w.k.value) == (5, 3) and w.html.value == mlt_page  # nothing moved


def test_query_box_searches_and_reports_what_a_model_cannot_do(models):
    w = QueryBox(models, query="romance", k=1, max_k=3)
    assert _titles(_column(w.html.value, "tf-idf")) == ["Movie D"]
    assert _titles(_column(w.html.value, "embedding")) == ["Movie D"]
    assert "cannot encode free text" in _column(w.html.value, "genres")  # no crash, a reason
    w.query.value = "spaceship"  # not a word of any item text
    assert "vocabulary" in _column(w.html.value, "tf-idf")
    assert len(_titles(_column(w.html.value, "embedding"))) == 1
    w.query.value = "   "
    assert "query is empty" in w.html.value
    w.k.value = 3
    w.query.value = "a romantic love story"
    assert _titles(_column(w.html.value, "embedding"))[0] == "Movie D"
    assert len(w.last_["embedding"]) == 3


def test_html_is_escaped(models):
    w = QueryBox(models, query="<script>alert(1)</script> drama", k=1)
    assert "<script>" not in w.html.value and "&lt;script&gt;" in w.html.value


def test_bad_arguments_get_documented_errors(tiny, models):
    with pytest.raises(ValueError, match="models is empty"):
        MoreLikeThis({})
    with pytest.raises(NotFittedError, match="'raw'"):
        MoreLikeThis({"raw": GenreProfile()})
    with pytest.raises(TypeError, match="not a content model"):
        QueryBox({"ease": EASE().fit(tiny)})
    with pytest.raises(TypeError, match="no search method"):
        QueryBox({"odd": type("Similar", (), {"similar_items": None, "train_": tiny})()})
    with pytest.raises(ValueError, match="k=0"):
        MoreLikeThis(models, k=0)
    with pytest.raises(ValueError, match="k=9"):
        QueryBox(models, k=9, max_k=5)
    with pytest.raises(KeyError, match="item id 99"):
        MoreLikeThis(models, item_id=99)
    with pytest.raises(TypeError, match="query must be a str"):
        QueryBox(models, query=3)
    w = MoreLikeThis(models)
    with pytest.raises(KeyError, match="item_id=42 is not offered by the 'movie' control"):
        w.update(item_id=42)
    with pytest.raises(ValueError, match="k=31"):
        w.update(k=31)


def test_item_map_colours_the_most_frequent_labels():
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from recsys_lessons.plots import item_map

    coords = np.arange(100, dtype=float).reshape(50, 2)
    labels = ["Drama"] * 25 + ["Comedy"] * 15 + ["Horror"] * 10
    ax = item_map(coords, labels, max_labels=2)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["other", "Drama (25)", "Comedy (15)"]
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), coords[40:])  # Horror drawn as "other"
    with pytest.raises(ValueError, match="shape"):
        item_map(coords[:, :1], labels)
    with pytest.raises(ValueError, match="49 labels"):
        item_map(coords, labels[:-1])
