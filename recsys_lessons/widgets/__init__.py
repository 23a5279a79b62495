"""Interactive widgets for the notebooks (ipywidgets 8). Nothing in the package imports this module.

Each widget keeps its logic in a pure ``update``-style method that returns the HTML it shows, so
tests can move a control headless (setting ``.value`` fires ``observe`` synchronously) and read
the result; no widget relies on an ``Output`` capture.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..data import Interactions
from ..models.base import NotFittedError, Recommender

__all__: list[str] = ["MoreLikeThis", "QueryBox", "RecommendationExplorer", "RerankExplorer"]

# --- lesson 01: collaborative filtering -------------------------------------------------------
class RecommendationExplorer:
    """Pick a user, a model and a list length; see the user's taste and the model's top-k.

    The left panel lists the user's top-rated training items; the right panel lists the model's
    top-``k`` (seen items excluded) with titles and scores, and marks held-out hits: items the user
    rated in ``test``. Every control change calls :meth:`update`, which returns the new
    recommendation table and refreshes the HTML, so the widget also works headless.

    Args:
        models: ``{name: fitted recommender}``; all fitted on the same ``train``.
        train: the training interactions (history panel, seen-item mask).
        test: held-out interactions on the same index, for marking hits (optional).
        users: raw user ids offered in the user picker (default: every user with training data).
        k: initial list length.
        max_k: largest list length on the slider.
        history_size: how many top-rated training items to show.

    Attributes:
        user, model, k: the ``Dropdown``/``Dropdown``/``IntSlider`` controls.
        history_html, recs_html, summary: the ``HTML`` outputs.
        widget: the assembled ``VBox`` (displayed when the explorer is the cell's value).

    Raises:
        ValueError: no models, a bad ``k``/``max_k``/``history_size``, or ``test`` on another index.
        TypeError: ``train``/``test`` not ``Interactions``.
        NotFittedError: a model that is not fitted.
    """

    def __init__(
        self,
        models: Mapping[str, Recommender],
        train: Interactions,
        test: Interactions | None = None,
        users: Sequence[int] | None = None,
        k: int = 10,
        max_k: int = 50,
        history_size: int = 10,
    ) -> None:
        if not models:
            raise ValueError("models is empty; pass {name: fitted model}")
        for name, model in models.items():
            if getattr(model, "train_", None) is None:
                raise NotFittedError(f"model {name!r} is not fitted; call fit(train) first")
        if not isinstance(train, Interactions) or (test is not None and not isinstance(test, Interactions)):
            raise TypeError("train and test must be Interactions objects")
        if test is not None and (test.shape != train.shape or not np.array_equal(test.item_ids, train.item_ids)):
            raise ValueError("test is on a different index than train; split one Interactions object")
        if not isinstance(max_k, (int, np.integer)) or max_k < 1:
            raise ValueError(f"max_k={max_k!r}; expected a positive integer")
        self._check_k(k, max_k)
        if not isinstance(history_size, (int, np.integer)) or history_size < 0:
            raise ValueError(f"history_size={history_size!r}; expected a non-negative integer")
        self.models = dict(models)
        self.train, self.test, self.history_size = train, test, int(history_size)
        if users is None:
            users = train.user_ids[np.flatnonzero(np.diff(train.matrix.indptr))]
        users = [int(u) for u in users]
        for u in users:
            train.user_index(u)  # KeyError naming an unknown id, before any widget exists
        if not users:
            raise ValueError("no users to explore")
        self.user = widgets.Dropdown(options=users, value=users[0], description="user")
        self.model = widgets.Dropdown(options=list(self.models), value=next(iter(self.models)), description="model")
        self.k = widgets.IntSlider(value=int(k), min=1, max=int(max_k), description="k", continuous_update=False)
        self.history_html = widgets.HTML(layout=widgets.Layout(margin="0 2em 0 0"))
        self.recs_html = widgets.HTML()
        self.summary = widgets.HTML()
        for control in (self.user, self.model, self.k):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.user, self.model, self.k]),
                self.summary,
                widgets.HBox([self.history_html, self.recs_html]),
            ]
        )
        self.update()

    @staticmethod
    def _check_k(k: int, max_k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= max_k:
            raise ValueError(f"k={k!r}; expected an integer in 1..{max_k}")

    # -- pure functions (no widget state) ----------------------------------------------------
    def history(self, user_id: int) -> pd.DataFrame:
        """The user's top-rated training items (rating, then most recent first).

        Raises:
            KeyError: unknown ``user_id``.
        """
        u = self.train.user_index(user_id)
        f = self.train.frame
        rows = f[f["user_idx"] == u].sort_values(["rating", "timestamp"], ascending=False).head(self.history_size)
        out = pd.DataFrame({"item_id": rows["item_id"].to_numpy(), "rating": rows["rating"].to_numpy()})
        if self.train.items is not None:
            out.insert(1, "title", self.train.items["title"].to_numpy()[rows["item_idx"].to_numpy()])
        return out

    def recommendations(self, user_id: int, model: str, k: int) -> pd.DataFrame:
        """The model's top-``k`` for the user with a boolean ``hit`` column (held-out item).

        Raises:
            KeyError: unknown ``user_id`` or model name.
            ValueError: ``k`` outside 1..max_k.
        """
        if model not in self.models:
            raise KeyError(f"model {model!r} is not one of {list(self.models)}")
        self._check_k(k, self.k.max)
        recs = self.models[model].recommend(user_id, k=int(k), exclude_seen=True)
        held = set()
        if self.test is not None:
            u = self.test.user_index(user_id)
            held = set(self.test.item_ids[self.test.matrix[u].indices].tolist())
        recs["hit"] = recs["item_id"].isin(held)
        return recs

    # -- widget plumbing ---------------------------------------------------------------------
    def update(self, user_id: int | None = None, model: str | None = None, k: int | None = None) -> pd.DataFrame:
        """Recompute for the given (default: current) controls, refresh the HTML, return the top-k.

        Raises:
            KeyError: unknown user or model. ValueError: bad ``k``.
        """
        user_id = self.user.value if user_id is None else user_id
        model = self.model.value if model is None else model
        k = self.k.value if k is None else k
        recs = self.recommendations(user_id, model, k)
        hist = self.history(user_id)
        self.history_html.value = _table_html(
            f"User {user_id}: top-rated training items", hist, {"rating": "{:.0f}"}
        )
        shown = recs.assign(hit=np.where(recs["hit"], "✓", ""))
        self.recs_html.value = _table_html(f"{model}: top-{k}", shown, {"score": "{:.3f}"}, highlight="hit")
        n_test = 0 if self.test is None else int(self.test.matrix[self.test.user_index(user_id)].nnz)
        self.summary.value = (
            f"<b>{int(recs['hit'].sum())}</b> of the top-{k} are held-out items of user {user_id} "
            f"(precision@{k} = {recs['hit'].mean():.2f}; the user has {n_test} held-out items)"
        )
        self.last_ = recs
        return recs

    def _on_change(self, change: dict) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _table_html(title: str, frame: pd.DataFrame, formats: dict[str, str], highlight: str | None = None) -> str:
    """A small HTML table (values escaped); rows whose ``highlight`` column is non-empty are shaded."""
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        style = " style='background:#d9f2d9'" if highlight is not None and row[highlight] else ""
        cells = "".join(
            f"<td style='padding:2px 8px'>{html.escape(formats.get(c, '{}').format(row[c]))}</td>" for c in frame.columns
        )
        body.append(f"<tr{style}>{cells}</tr>")
    return f"<b>{html.escape(title)}</b><table>{'<tr>' + head + '</tr>'}{''.join(body)}</table>"


# --- lesson 02: content-based filtering -------------------------------------------------------
class _ContentWidget:
    """Shared checks and rendering for the lesson-02 widgets (content models side by side)."""

    def __init__(self, models: Mapping[str, Recommender], k: int, max_k: int) -> None:
        if not models:
            raise ValueError("models is empty; pass {name: fitted content model}")
        for name, model in models.items():
            if not hasattr(model, "similar_items"):
                raise TypeError(f"model {name!r} ({type(model).__name__}) is not a content model")
            if getattr(model, "train_", None) is None:
                raise NotFittedError(f"model {name!r} is not fitted; call fit(train) first")
        first = next(iter(models.values())).train_
        for name, model in models.items():
            if not np.array_equal(model.train_.item_ids, first.item_ids):
                raise ValueError(f"model {name!r} was fitted on another item index")
        if isinstance(max_k, bool) or not isinstance(max_k, (int, np.integer)) or max_k < 1:
            raise ValueError(f"max_k={max_k!r}; expected a positive integer")
        self._check_k(k, max_k)
        self.models = dict(models)
        self.index = first
        self.k = widgets.IntSlider(value=int(k), min=1, max=int(max_k), description="k", continuous_update=False)
        self.html = widgets.HTML()

    @staticmethod
    def _check_k(k: int, max_k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= max_k:
            raise ValueError(f"k={k!r}; expected an integer in 1..{max_k}")

    @staticmethod
    def _columns_html(results: Mapping[str, pd.DataFrame | str]) -> str:
        """One column per model: a ranked table, or the message a model gave instead."""
        cols = []
        for name, res in results.items():
            if isinstance(res, str):
                body = f"<i>{html.escape(res)}</i>"
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

    def _on_change(self, change: dict) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class MoreLikeThis(_ContentWidget):
    """"More like this": pick a movie, see its ``k`` nearest movies under each content model.

    Args:
        models: ``{name: fitted content model}`` (anything with ``similar_items``), one index.
        item_ids: raw item ids offered in the picker (default: every item, sorted by title).
        item_id: the movie shown first (default: the first offered).
        k: initial number of neighbours.
        max_k: largest ``k`` on the slider.

    Attributes:
        item, k: the ``Dropdown`` and ``IntSlider`` controls.
        html: the ``HTML`` output. widget: the assembled ``VBox``.

    Raises:
        ValueError: no models, models on different indexes, bad ``k``/``max_k``, no items.
        TypeError: a model without ``similar_items``.
        NotFittedError: an unfitted model.
        KeyError: an unknown item id.
    """

    def __init__(
        self,
        models: Mapping[str, Recommender],
        item_ids: Sequence[int] | None = None,
        item_id: int | None = None,
        k: int = 10,
        max_k: int = 30,
    ) -> None:
        super().__init__(models, k, max_k)
        items = self.index.items
        if item_ids is None:
            item_ids = items.sort_values(["title", "item_id"])["item_id"].tolist()
        item_ids = [int(i) for i in item_ids]
        if not item_ids:
            raise ValueError("no items to pick from")
        for i in [*item_ids, *([] if item_id is None else [item_id])]:
            self.index.item_index(i)  # KeyError naming an unknown id, before any widget exists
        self.item = widgets.Dropdown(
            options=[(self._label(i), i) for i in item_ids],
            value=item_ids[0] if item_id is None else int(item_id),
            description="movie",
            layout=widgets.Layout(width="36em"),
        )
        for control in (self.item, self.k):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.item, self.k]), self.html])
        self.update()

    def _label(self, item_id: int) -> str:
        row = self.index.items.iloc[self.index.item_index(item_id)]
        year = "" if pd.isna(row["year"]) else f" ({int(row['year'])})"
        return f"{row['title']}{year} [{item_id}]"

    def results(self, item_id: int, k: int) -> dict[str, pd.DataFrame]:
        """``{model name: similar_items(item_id, k)}`` (pure; no widget state changes).

        Raises:
            KeyError: unknown ``item_id``. ValueError: ``k`` outside 1..max_k.
        """
        self._check_k(k, self.k.max)
        return {name: m.similar_items(item_id, k=int(k)) for name, m in self.models.items()}

    def update(self, item_id: int | None = None, k: int | None = None) -> str:
        """Recompute for the given (default: current) movie and ``k``; refresh and return the HTML.

        Raises:
            KeyError: unknown ``item_id``. ValueError: bad ``k``.
        """
        item_id = self.item.value if item_id is None else item_id
        k = self.k.value if k is None else k
        results = self.results(item_id, k)
        row = self.index.items.iloc[self.index.item_index(item_id)]
        head = (
            f"<p>Movies most similar to <b>{html.escape(self._label(item_id))}</b> "
            f"<span style='color:#666'>({html.escape(', '.join(row['genres']))})</span></p>"
        )
        self.html.value = head + self._columns_html(results)
        self.last_ = results
        return self.html.value


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
        query, k: the ``Text`` and ``IntSlider`` controls (the query applies on Enter).
        html: the ``HTML`` output. widget: the assembled ``VBox``.

    Raises:
        ValueError: no models, models on different indexes, bad ``k``/``max_k``.
        TypeError: a model without ``search`` or a non-str query.
        NotFittedError: an unfitted model.
    """

    def __init__(
        self,
        models: Mapping[str, Recommender],
        query: str = "space adventure with robots",
        k: int = 10,
        max_k: int = 30,
    ) -> None:
        super().__init__(models, k, max_k)
        for name, model in models.items():
            if not hasattr(model, "search"):
                raise TypeError(f"model {name!r} ({type(model).__name__}) has no search method")
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        self.query = widgets.Text(
            value=query, description="query", continuous_update=False, layout=widgets.Layout(width="36em")
        )
        for control in (self.query, self.k):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.query, self.k]), self.html])
        self.update()

    def results(self, query: str, k: int) -> dict[str, pd.DataFrame | str]:
        """``{model name: search(query, k)}``, or the model's reason when it cannot answer (pure).

        Raises:
            TypeError: ``query`` is not a str. ValueError: ``k`` outside 1..max_k.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        self._check_k(k, self.k.max)
        out: dict[str, pd.DataFrame | str] = {}
        for name, model in self.models.items():
            try:
                out[name] = model.search(query, k=int(k))
            except (ValueError, NotImplementedError) as exc:  # a user typing must never crash the widget
                out[name] = str(exc)
        return out

    def update(self, query: str | None = None, k: int | None = None) -> str:
        """Search for the given (default: current) query and ``k``; refresh and return the HTML.

        Raises:
            TypeError: a non-str query. ValueError: bad ``k``.
        """
        query = self.query.value if query is None else query
        k = self.k.value if k is None else k
        results = self.results(query, k)
        self.html.value = f"<p>Best matches for <b>{html.escape(query)}</b></p>" + self._columns_html(results)
        self.last_ = results
        return self.html.value



# --- lesson 03: BERT and cross-entropy --------------------------------------------------------
class RerankExplorer:
    """Pick a user and a re-ranker; see the candidate list before and after re-ranking.

    The left table is the candidate generator's order (e.g. EASE's top ``k``), the right one the
    same items re-ordered by the chosen re-ranker's scores; the user's held-out next item is
    shaded wherever it appears, and each re-ranked row shows how many places it moved. All scores
    are precomputed, so moving a control only re-sorts arrays: :meth:`update` returns the HTML.

    Args:
        train: training interactions (history text and titles).
        users: ``(n,)`` user indices the lists belong to.
        candidates: ``(n, k)`` item indices in the candidate generator's order, best first.
        scores: ``{re-ranker name: (n, k) scores}`` aligned with ``candidates`` (higher is better).
        targets: ``(n,)`` held-out next item index per user (``-1`` for none), shaded in the lists.
        show: rows shown initially.
        n_history: liked titles shown as the user's history.

    Attributes:
        user, reranker, show: the ``Dropdown``/``Dropdown``/``IntSlider`` controls.
        html: the ``HTML`` output; widget: the assembled ``VBox``.

    Raises:
        ValueError: shapes that do not line up, no re-ranker, or a bad ``show``.
    """

    def __init__(
        self,
        train: Interactions,
        users: np.ndarray,
        candidates: np.ndarray,
        scores: Mapping[str, np.ndarray],
        targets: np.ndarray | None = None,
        show: int = 10,
        n_history: int = 5,
    ) -> None:
        from ..models.pairs import user_histories

        users = np.asarray(users, dtype=np.int64)
        candidates = np.asarray(candidates, dtype=np.int64)
        if candidates.ndim != 2 or candidates.shape[0] != len(users):
            raise ValueError(f"candidates must be (len(users)={len(users)}, k), got {candidates.shape}")
        if not scores:
            raise ValueError("scores is empty; pass {re-ranker name: (n, k) scores}")
        self.scores = {name: np.asarray(s, dtype=np.float64) for name, s in scores.items()}
        for name, s in self.scores.items():
            if s.shape != candidates.shape:
                raise ValueError(f"scores[{name!r}] has shape {s.shape}, candidates {candidates.shape}")
        targets = np.full(len(users), -1) if targets is None else np.asarray(targets, dtype=np.int64)
        if targets.shape != users.shape:
            raise ValueError(f"targets has shape {targets.shape}, expected {users.shape}")
        k = candidates.shape[1]
        if not isinstance(show, (int, np.integer)) or not 1 <= show <= k:
            raise ValueError(f"show={show!r}; expected an integer in 1..{k}")
        self.train, self.users, self.candidates, self.targets = train, users, candidates, targets
        self.titles = train.items["title"].astype(str).to_numpy()
        self.histories = user_histories(train, users, n_history)
        self.user = widgets.Dropdown(
            options=[(f"user {train.user_ids[u]}", pos) for pos, u in enumerate(users)], value=0, description="user"
        )
        self.reranker = widgets.Dropdown(options=list(self.scores), description="re-ranker")
        self.show = widgets.IntSlider(value=int(show), min=1, max=k, description="show")
        self.html = widgets.HTML()
        for control in (self.user, self.reranker, self.show):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.user, self.reranker, self.show]), self.html])
        self.update()

    def lists(self, pos: int, reranker: str) -> tuple[np.ndarray, np.ndarray]:
        """Item indices before (generator order) and after re-ranking, for the ``pos``-th user."""
        cand = self.candidates[pos]
        order = np.argsort(-self.scores[reranker][pos], kind="stable")  # ties keep the generator's order
        return cand, cand[order]

    def update(self) -> str:
        """Re-render for the current controls; returns (and shows) the HTML."""
        pos, name, n = int(self.user.value), self.reranker.value, int(self.show.value)
        before, after = self.lists(pos, name)
        target = int(self.targets[pos])
        old_rank = {int(i): r for r, i in enumerate(before)}

        def table(title: str, items: np.ndarray, moves: bool) -> str:
            rows = []
            for r, i in enumerate(items[:n]):
                shade = " style='background:#d9f2d9'" if int(i) == target else ""
                move = ""
                if moves:
                    d = old_rank[int(i)] - r
                    move = f"<td style='padding:2px 6px;color:{'#2a7' if d > 0 else '#c33' if d < 0 else '#888'}'>" + (
                        f"▲{d}" if d > 0 else f"▼{-d}" if d < 0 else "=") + "</td>"
                rows.append(f"<tr{shade}><td style='padding:2px 6px'>{r + 1}</td>"
                            f"<td style='padding:2px 6px'>{html.escape(self.titles[i])}</td>{move}</tr>")
            return f"<div style='margin-right:24px'><b>{html.escape(title)}</b><table>{''.join(rows)}</table></div>"

        where = np.flatnonzero(after == target)
        status = (
            f"held-out next item: <b>{html.escape(self.titles[target])}</b> — rank "
            f"{int(np.flatnonzero(before == target)[0]) + 1} before, {int(where[0]) + 1} after"
            if where.size else "held-out next item is not among the candidates: re-ranking cannot help this user"
            if target >= 0 else ""
        )
        out = (
            f"<div><b>history</b>: {html.escape(self.histories[pos])}</div><div>{status}</div>"
            f"<div style='display:flex'>{table('before (candidate order)', before, False)}"
            f"{table(f'after ({name})', after, True)}</div>"
        )
        self.html.value = out
        return out

    def _on_change(self, change: dict) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
