"""Lesson 01 (collaborative filtering): the recommendation explorer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..data import Interactions
from ..models.base import NotFittedError, Recommender
from .base import LessonWidget, dropdown, html_view, int_slider, table_html

__all__ = ["RecommendationExplorer"]


class RecommendationExplorer(LessonWidget):
    """Pick a user, a model and a list length; see the user's taste and the model's top-k.

    The left panel lists the user's top-rated training items; the right panel lists the model's
    top-``k`` (seen items excluded) with titles and scores, and marks held-out hits: items the user
    rated in ``test``. ``update(user_id=…, model=…, k=…)`` moves the controls and returns the new
    recommendation table, so the controls always name what the tables show.

    Args:
        models: ``{name: fitted recommender}``; all fitted on the same ``train``.
        train: the training interactions (history panel, seen-item mask).
        test: held-out interactions on the same index, for marking hits (optional).
        users: raw user ids offered in the user picker (default: every user with training data).
        k: initial list length.
        max_k: largest list length on the slider.
        history_size: how many top-rated training items to show.

    Attributes:
        user, model, k: the ``Dropdown``/``Dropdown``/``IntSlider`` controls (``controls`` maps
            ``user_id``/``model``/``k`` to them).
        summary, history_html, recs_html: the ``HTML`` views.
        widget: the assembled ``VBox`` (displayed when the explorer is the cell's value).
        last_: the recommendation table on display (``DataFrame`` with a boolean ``hit`` column).

    Raises:
        ValueError: no models, a bad ``k``/``max_k``/``history_size``, or ``test`` on another index.
        TypeError: ``train``/``test`` not ``Interactions``.
        NotFittedError: a model that is not fitted.
        KeyError: a user id that ``train`` does not know.
    """

    main_control = "user_id"

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
        if isinstance(history_size, bool) or not isinstance(history_size, (int, np.integer)) or history_size < 0:
            raise ValueError(f"history_size={history_size!r}; expected a non-negative integer")
        self.models = dict(models)
        self.train, self.test, self.history_size = train, test, int(history_size)
        with_data = train.user_ids[np.flatnonzero(np.diff(train.matrix.indptr))]
        offered = [int(u) for u in (with_data if users is None else users)]
        for u in offered:
            train.user_index(u)  # KeyError naming an unknown id, before any widget exists
        if not offered:
            raise ValueError("no users to explore")
        self.user = dropdown("user_id", offered, offered[0], "user")
        self.model = dropdown("model", list(self.models), next(iter(self.models)), "model")
        self.k = int_slider("k", k, 1, max_k, "k", continuous_update=False)
        self.summary = html_view()
        self.history_html = html_view(margin="0 2em 0 0")
        self.recs_html = html_view()
        self._assemble(
            {"user_id": self.user, "model": self.model, "k": self.k},
            [self.summary, self.history_html, self.recs_html],
            body=[self.summary, widgets.HBox([self.history_html, self.recs_html])],
        )

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
        self._check("k", k)
        recs = self.models[model].recommend(user_id, k=int(k), exclude_seen=True)
        held: set[int] = set()
        if self.test is not None:
            u = self.test.user_index(user_id)
            held = set(self.test.item_ids[self.test.matrix[u].indices].tolist())
        recs["hit"] = recs["item_id"].isin(held)
        return recs

    # -- the view ----------------------------------------------------------------------------
    def update(self, user_id: int | None = None, model: str | None = None, k: int | None = None) -> pd.DataFrame:
        """Move the given controls (others keep their values), redraw, return the top-k table.

        Raises:
            KeyError: a user or model the pickers do not offer. ValueError: ``k`` outside 1..max_k.
        """
        return self._apply({"user_id": user_id, "model": model, "k": k})

    def _draw(self, user_id: int, model: str, k: int) -> pd.DataFrame:
        recs = self.recommendations(user_id, model, k)
        self.history_html.value = table_html(
            f"User {user_id}: top-rated training items", self.history(user_id), {"rating": "{:.0f}"}
        )
        shown = recs.assign(hit=np.where(recs["hit"], "✓", ""))
        self.recs_html.value = table_html(f"{model}: top-{k}", shown, {"score": "{:.3f}"}, highlight="hit")
        n_test = 0 if self.test is None else int(self.test.matrix[self.test.user_index(user_id)].nnz)
        self.summary.value = (
            f"<b>{int(recs['hit'].sum())}</b> of the top-{k} are held-out items of user {user_id} "
            f"(precision@{k} = {recs['hit'].mean():.2f}; the user has {n_test} held-out items)"
        )
        return recs
