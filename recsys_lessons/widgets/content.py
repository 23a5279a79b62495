"""Lesson 02 (content-based filtering): "more like this" and the free-text query box."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..models.base import NotFittedError
from .base import LessonWidget, dropdown, html_view, int_slider, text_box

__all__ = ["MoreLikeThis", "QueryBox"]


class _ContentWidget(LessonWidget):
    """Shared checks and rendering for the lesson-02 widgets (content models side by side)."""

    def _check_models(self, models: Mapping[str, Any], method: str) -> None:
        if not models:
            raise ValueError("models is empty; pass {name: fitted content model}")
        for name, model in models.items():
            if not hasattr(model, "similar_items"):
                raise TypeError(f"model {name!r} ({type(model).__name__}) is not a content model")
            if not hasattr(model, method):
                raise TypeError(f"model {name!r} ({type(model).__name__}) has no {method} method")
            if getattr(model, "train_", None) is None:
                raise NotFittedError(f"model {name!r} is not fitted; call fit(train) first")
        first = next(iter(models.values())).train_
        for name, model in models.items():
            if not np.array_equal(model.train_.item_ids, first.item_ids):
                raise ValueError(f"model {name!r} was fitted on another item index")
        self.models = dict(models)
        self.index = first

    @staticmethod
    def _columns_html(results: Mapping[str, pd.DataFrame | str]) -> str:
        """One column per model: a ranked table, or the message a model gave instead."""
        cols = []
        for name, res in results.items():
            if isinstance(res, str):
                body = f"<div><i>{html.escape(res)}</i></div>"  # under the name, not run into it
            else:
                rows = "".join(
                    f"<tr><td>{r.rank}</td><td>{html.escape(str(r.title))}</td>"
                    f"<td style='color:#666'>{html.escape(str(r.genres))}</td><td>{r.similarity:.3f}</td></tr>"
                    for r in res.itertuples()
                )
                body = (
                    "<table><tr><th>#</th><th style='text-align:left'>title</th>"
                    f"<th style='text-align:left'>genres</th><th>cosine</th></tr>{rows}</table>"
                )
            cols.append(f"<div style='flex:1;min-width:22em'><b>{html.escape(name)}</b>{body}</div>")
        return f"<div style='display:flex;gap:2em;flex-wrap:wrap'>{''.join(cols)}</div>"


class MoreLikeThis(_ContentWidget):
    """ "More like this": pick a movie, see its ``k`` nearest movies under each content model.

    Args:
        models: ``{name: fitted content model}`` (anything with ``similar_items``), one index.
        item_ids: raw item ids offered in the picker (default: every item, sorted by title).
        item_id: the movie shown first (default: the first offered).
        k: initial number of neighbours.
        max_k: largest ``k`` on the slider.

    Attributes:
        item, k: the ``Dropdown`` and ``IntSlider`` controls (``controls`` maps ``item_id``/``k``
            to them). html: the ``HTML`` view. widget: the assembled ``VBox``.
        last_: ``{model name: similar_items table}`` on display.

    Raises:
        ValueError: no models, models on different indexes, bad ``k``/``max_k``, no items.
        TypeError: a model without ``similar_items``.
        NotFittedError: an unfitted model.
        KeyError: an unknown item id, or ``item_id`` not among ``item_ids``.
    """

    main_control = "item_id"

    def __init__(
        self,
        models: Mapping[str, Any],
        item_ids: Sequence[int] | None = None,
        item_id: int | None = None,
        k: int = 10,
        max_k: int = 30,
    ) -> None:
        self._check_models(models, "similar_items")
        items = self.index.items
        if item_ids is None:
            item_ids = items.sort_values(["title", "item_id"])["item_id"].tolist()
        item_ids = [int(i) for i in item_ids]
        if not item_ids:
            raise ValueError("no items to pick from")
        for i in [*item_ids, *([] if item_id is None else [item_id])]:
            self.index.item_index(i)  # KeyError naming an unknown id, before any widget exists
        self.item = dropdown(
            "item_id",
            [(self._label(i), i) for i in item_ids],
            item_ids[0] if item_id is None else int(item_id),
            "movie",
            layout={"width": "36em"},
        )
        self.k = int_slider("k", k, 1, max_k, "k", continuous_update=False)
        self.html = html_view()
        self._assemble({"item_id": self.item, "k": self.k}, [self.html])

    def _label(self, item_id: int) -> str:
        row = self.index.items.iloc[self.index.item_index(item_id)]
        year = "" if pd.isna(row["year"]) else f" ({int(row['year'])})"
        return f"{row['title']}{year} [{item_id}]"

    def results(self, item_id: int, k: int) -> dict[str, pd.DataFrame]:
        """``{model name: similar_items(item_id, k)}`` (pure; no widget state changes).

        Raises:
            KeyError: unknown ``item_id``. ValueError: ``k`` outside 1..max_k.
        """
        self._check("k", k)
        return {name: m.similar_items(item_id, k=int(k)) for name, m in self.models.items()}

    def update(self, item_id: int | None = None, k: int | None = None) -> str:
        """Move the given controls (others keep their values), redraw, return the view's HTML.

        Raises:
            KeyError: a movie the picker does not offer. ValueError: ``k`` outside 1..max_k.
        """
        self._apply({"item_id": item_id, "k": k})
        return self.html.value

    def _draw(self, item_id: int, k: int) -> dict[str, pd.DataFrame]:
        results = self.results(item_id, k)
        row = self.index.items.iloc[self.index.item_index(item_id)]
        head = (
            f"<p>Movies most similar to <b>{html.escape(self._label(item_id))}</b> "
            f"<span style='color:#666'>({html.escape(', '.join(row['genres']))})</span></p>"
        )
        self.html.value = head + self._columns_html(results)
        return results


class QueryBox(_ContentWidget):
    """Free-text search: type a sentence, see the ``k`` best-matching movies under each model.

    A model that cannot answer (TF-IDF when no query word is in its vocabulary, a genre model
    that cannot read text, an empty query) shows its reason in its column instead of failing.

    Args:
        models: ``{name: fitted content model}`` (anything with ``search``), one item index.
        query: the initial query.
        k: initial number of results.
        max_k: largest ``k`` on the slider.

    Attributes:
        query, k: the ``Text`` and ``IntSlider`` controls (the query applies on Enter;
            ``controls`` maps ``query``/``k`` to them). html: the ``HTML`` view.
        widget: the assembled ``VBox``. last_: ``{model name: results table or reason}`` on display.

    Raises:
        ValueError: no models, models on different indexes, bad ``k``/``max_k``.
        TypeError: a model without ``search`` or a non-str query.
        NotFittedError: an unfitted model.
    """

    main_control = "query"

    def __init__(
        self,
        models: Mapping[str, Any],
        query: str = "space adventure with robots",
        k: int = 10,
        max_k: int = 30,
    ) -> None:
        self._check_models(models, "search")
        self.query = text_box("query", query, "query", continuous_update=False, layout={"width": "36em"})
        self.k = int_slider("k", k, 1, max_k, "k", continuous_update=False)
        self.html = html_view()
        self._assemble({"query": self.query, "k": self.k}, [self.html])

    def results(self, query: str, k: int) -> dict[str, pd.DataFrame | str]:
        """``{model name: search(query, k)}``, or the model's reason when it cannot answer (pure).

        Raises:
            TypeError: ``query`` is not a str. ValueError: ``k`` outside 1..max_k.
        """
        self._check("query", query)
        self._check("k", k)
        out: dict[str, pd.DataFrame | str] = {}
        for name, model in self.models.items():
            try:
                out[name] = model.search(query, k=int(k))
            except (ValueError, NotImplementedError) as exc:  # a user typing must never crash the widget
                out[name] = str(exc)
        return out

    def update(self, query: str | None = None, k: int | None = None) -> str:
        """Move the given controls (others keep their values), search, return the view's HTML.

        Raises:
            TypeError: a non-str query. ValueError: ``k`` outside 1..max_k.
        """
        self._apply({"query": query, "k": k})
        return self.html.value

    def _draw(self, query: str, k: int) -> dict[str, pd.DataFrame | str]:
        results = self.results(query, k)
        self.html.value = f"<p>Best matches for <b>{html.escape(query)}</b></p>" + self._columns_html(results)
        return results
