"""Lesson 05's blend widget: one weight slider per base model of a weighted hybrid, live top-10 and metrics.

The controls drive the view (see :class:`~recsys_lessons.widgets.base.LessonWidget`): moving a
slider (or picking a user) re-blends the precomputed, per-user normalised scores, re-ranks every
test user with :func:`~recsys_lessons.evaluation.top_k` and rewrites one ``HTML`` widget with the
chosen user's top-k and the test metrics. :meth:`BlendExplorer.update` moves the controls, then
redraws once, so the controls always show what the view shows; a headless test sets values and
reads ``view.value``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import torch

from .. import metrics as M
from ..data import Interactions
from ..evaluation import top_k
from ..models.hybrid import Weighted
from .base import LessonWidget, dropdown, fitted_train, float_slider, html_view

__all__ = ["BlendExplorer"]


class BlendExplorer(LessonWidget):
    """Blend the base models of a fitted :class:`~recsys_lessons.models.hybrid.Weighted` by hand.

    Every member's scores for the test users are normalised once (the hybrid's ``norm``, over
    unseen items); a change of weights is then one weighted sum, one top-k and the metrics.

    Args:
        hybrid: a fitted ``Weighted``; its weights are the sliders' starting values.
        test: held-out interactions on the hybrid's index (hits and metrics).
        k: list length of the view and the metrics.
        max_weight: upper end of every slider (the lower end is 0).
        step: slider step.

    Attributes:
        user: the user ``Dropdown`` (raw ids of the test users; ``controls["user_id"]``).
        sliders: ``{model name: FloatSlider}``, one per base model (``controls[name]``; the first
            model's slider is the main control).
        view: the ``HTML`` widget with the metrics line and the chosen user's top-k.
        widget: the assembled ``VBox``.
        metrics_: the metrics of the current blend (``ndcg@k``, ``precision@k``, ``recall@k``,
            ``coverage@k``); also ``last_``.
        ranked_: ``(n_test_users, k)`` the current top-k of every test user.

    Raises:
        TypeError: ``hybrid`` is not a ``Weighted`` or ``test`` not ``Interactions``.
        NotFittedError: an unfitted hybrid.
        ValueError: ``test`` on another index or without users, a bad ``k``, ``max_weight`` or
            ``step``, starting weights outside ``[0, max_weight]``, or a base model named ``user_id``.
    """

    def __init__(
        self, hybrid: Weighted, test: Interactions, k: int = 10, max_weight: float = 2.0, step: float = 0.05
    ) -> None:
        train = fitted_train(hybrid, Weighted, test)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= train.n_items:
            raise ValueError(f"k={k!r}; expected an integer in 1..{train.n_items}")
        if not max_weight > 0:
            raise ValueError(f"max_weight={max_weight!r}; expected a positive number")
        if ((hybrid.weights_ < 0) | (hybrid.weights_ > max_weight)).any():
            raise ValueError(
                f"the hybrid's weights {hybrid.weights_.tolist()} are outside the sliders' range [0, {max_weight}]"
            )
        self.hybrid, self.test, self.k = hybrid, test, int(k)
        self.users = np.flatnonzero(np.diff(test.matrix.indptr))  # test users, index positions
        if self.users.size == 0:
            raise ValueError("test has no user with a held-out item")
        self.names = [name for name, _ in hybrid.estimators_]
        if "user_id" in self.names:  # the user picker's keyword in update()
            raise ValueError("a base model is named 'user_id'; rename it (update() takes user_id= for the user)")
        normalised = hybrid.normalised_scores(self.users)
        seen = train.binary()[self.users].toarray() > 0
        # torch tensors, so a blend goes to top_k without a copy; the numpy views share their memory.
        self._seen = torch.from_numpy(seen)  # (n_test_users, n_items): set to -inf in every blend
        # (n_models, n_test_users, n_items)
        self._stack = np.stack([normalised[n].astype(np.float32) for n in self.names])
        self._stack_t = torch.from_numpy(self._stack)
        self._relevant = test.matrix[self.users]
        self._titles = train.items["title"].to_numpy() if train.items is not None else train.item_ids.astype(str)
        self._row = {int(train.user_ids[u]): r for r, u in enumerate(self.users)}

        self.user = dropdown("user_id", list(self._row), next(iter(self._row)), "user")
        self.sliders = {
            name: float_slider(name, float(w), 0.0, float(max_weight), step, name, continuous_update=False)
            for name, w in zip(self.names, hybrid.weights_, strict=True)
        }
        self.view = html_view()
        self.main_control = self.names[0]  # the blend is the point; the first model leads it
        controls = {"user_id": self.user, **self.sliders}
        self._assemble(controls, [self.view], top=list(controls.values()))  # one control per line

    # -- pure pieces ------------------------------------------------------------------------
    def weights(self) -> dict[str, float]:
        """The sliders' current weights, ``{model name: weight}``."""
        return {name: float(s.value) for name, s in self.sliders.items()}

    def blend(self, weights: Mapping[str, float]) -> np.ndarray:
        """``(n_test_users, n_items)`` blended scores for ``weights`` (seen items ``-inf``)."""
        return self._blend(weights).numpy()

    def _blend(self, weights: Mapping[str, float]) -> torch.Tensor:
        w = torch.tensor([weights[n] for n in self.names], dtype=torch.float32)
        out = torch.tensordot(w, self._stack_t, dims=1)  # (n_users, n_items)
        return out.masked_fill_(self._seen, -torch.inf)

    # -- the controls drive the view ----------------------------------------------------------
    def update(self, user_id: int | None = None, **weights: float) -> str:
        """Set the user and any model's weight (by name), redraw once, and return the view's HTML.

        Example: ``explorer.update(user_id=42, EASE=1.0, **{"item-kNN": 0.3})``.

        Raises:
            KeyError: an unknown user id (not a test user) or model name.
            ValueError: a weight outside the slider's range.
        """
        unknown = set(weights) - set(self.sliders)
        if unknown:
            raise KeyError(f"unknown models {sorted(unknown)}; the sliders are {self.names}")
        self._apply({"user_id": user_id, **weights})
        return self.view.value

    def _draw(self, user_id: int, **weights: float) -> dict[str, float]:
        w = {name: float(weights[name]) for name in self.names}
        self.ranked_ = top_k(self._blend(w), self.k)  # (n_test_users, k)
        k = self.k
        self.metrics_ = {
            # means over the test users (floats)
            f"ndcg@{k}": float(M.ndcg_at_k(self.ranked_, self._relevant, k)),
            f"precision@{k}": float(M.precision_at_k(self.ranked_, self._relevant, k)),
            f"recall@{k}": float(M.recall_at_k(self.ranked_, self._relevant, k)),
            f"coverage@{k}": float(M.catalogue_coverage(self.ranked_, self.hybrid.train_.n_items)),
        }
        row = self._row[user_id]
        items = self.ranked_[row]
        held = set(self._relevant[row].indices.tolist())
        contrib = {n: self._stack[m, row, items] * w[n] for m, n in enumerate(self.names)}
        head = "".join(
            f"<th style='text-align:left;padding:2px 8px'>{html.escape(c)}</th>"
            for c in ["rank", "title", *(f"{n} × w" for n in self.names), "hit"]
        )
        body = []
        for r, item in enumerate(items):
            hit = int(item) in held
            cells = [str(r + 1), html.escape(str(self._titles[item]))] + [f"{contrib[n][r]:+.2f}" for n in self.names]
            cells.append("✓" if hit else "")
            style = " style='background:#d9f2d9'" if hit else ""
            body.append(f"<tr{style}>" + "".join(f"<td style='padding:2px 8px'>{c}</td>" for c in cells) + "</tr>")
        # each weight as its slider's readout writes it, so the controls and the view agree
        weights_text = ", ".join(f"{html.escape(n)} {format(v, self.sliders[n].readout_format)}" for n, v in w.items())
        metric_text = " · ".join(f"{name} <b>{value:.4f}</b>" for name, value in self.metrics_.items())
        self.view.value = (
            f"<div class='blend-metrics'>All {len(self.users)} test users: {metric_text}</div>"
            f"<div>weights: {weights_text}</div>"
            f"<b>user {user_id}: top-{k} ({sum(int(i) in held for i in items)} held-out hits)</b>"
            f"<table><tr>{head}</tr>{''.join(body)}</table>"
        )
        return self.metrics_
