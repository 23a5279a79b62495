"""Lesson 04 widget: move the popularity penalty α, watch one user's list and the trade-off curve.

The controls drive the view (see :class:`~recsys_lessons.widgets.base.LessonWidget`): moving the
``alpha`` slider or picking another user redraws one ``HTML`` value (the user's top-k with tail
items marked, the NDCG@k / coverage@k of every test user's list at this α, and the trade-off curve
with the current point as an inline SVG), so a headless test can set a control and read the result.
:meth:`LongTailExplorer.update` moves the controls, then redraws once.

Everything expensive happens once in the constructor (the base model's candidates for every test
user and the curve over a grid of α); a redraw re-sorts ``(n_users, n_candidates)`` arrays.
"""

from __future__ import annotations

import html

import numpy as np
import scipy.sparse as sp

from .. import metrics as M
from ..data import Interactions
from ..models.rerank import PopularityPenalty
from .base import LessonWidget, dropdown, fitted_train, float_slider, html_view

__all__ = ["LongTailExplorer"]


class LongTailExplorer(LessonWidget):
    """A popularity-penalty slider over a fitted :class:`~recsys_lessons.models.rerank.PopularityPenalty`.

    Args:
        model: a fitted ``PopularityPenalty`` (its base model supplies the candidates; its ``alpha``
            is the slider's first value).
        test: held-out interactions on the model's index (hits and the curve's NDCG).
        alphas: the grid the curve is drawn on (sorted, >= 0); the slider spans it in steps of half
            its finest spacing.
        user_id: the raw user id shown first (default: the first test user).
        k: list length.
        head_share: head definition for the tail marks.

    Attributes:
        alpha: the ``FloatSlider`` (the main control; ``controls["alpha"]``).
        user: the ``Dropdown`` of test users (``controls["user_id"]``).
        html: the ``HTML`` view. curve: ``(len(alphas), 2)`` NDCG@k and coverage@k per grid α.
        widget: the assembled ``VBox``.
        last_: ``{"alpha", "ndcg", "coverage", "items"}`` of the view on display (``items``: the
            user's top-k item indices).

    Raises:
        TypeError: ``model`` is not a ``PopularityPenalty`` or ``test`` not ``Interactions``.
        NotFittedError: ``model`` is not fitted.
        ValueError: ``test`` on another index, a bad grid or ``k``, or ``model.alpha`` outside the grid.
        KeyError: ``user_id`` is not a test user (has no test items).
    """

    main_control = "alpha"

    def __init__(
        self,
        model: PopularityPenalty,
        test: Interactions,
        alphas: np.ndarray | None = None,
        user_id: int | None = None,
        k: int = 10,
        head_share: float = 0.8,
    ) -> None:
        train = fitted_train(model, PopularityPenalty, test)
        alphas = np.linspace(0.0, 3.0, 13) if alphas is None else np.asarray(alphas, dtype=np.float64)
        if alphas.ndim != 1 or alphas.size < 2 or (alphas < 0).any() or (np.diff(alphas) <= 0).any():
            raise ValueError("alphas must be an increasing 1-D grid of at least 2 values >= 0")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= model.n_candidates:
            raise ValueError(f"k={k!r}; expected an integer in 1..n_candidates={model.n_candidates}")
        self.model, self.train, self.test, self.k = model, train, test, int(k)
        rel = sp.csr_matrix(test.binary())
        self.users = np.flatnonzero(np.diff(rel.indptr))  # test users, index order
        self.relevant = rel[self.users]
        _, self.cands, self.relevance, self.valid = model.candidates(self.users)
        self.popularity = train.item_popularity()
        self.tail = ~M.head_items(self.popularity, head_share)
        self.titles = (
            train.items["title"].astype(str).to_numpy() if train.items is not None else train.item_ids.astype(str)
        )
        self.alphas = alphas
        self.curve = np.array([self.point(a) for a in alphas])  # (n_alphas, 2)
        raw_users = [int(u) for u in train.user_ids[self.users]]
        self.alpha = float_slider(
            "alpha",
            model.alpha,
            alphas[0],
            alphas[-1],
            float(np.min(np.diff(alphas))) / 2,
            "α",
            # False: with True the front end echoes every value the kernel sets back to it, and a
            # stale echo can win when update() runs in a loop (the slider would end on an old α)
            continuous_update=False,
        )
        self.user = dropdown("user_id", raw_users, raw_users[0] if user_id is None else user_id, "user")
        self.html = html_view()
        # The global (NDCG, coverage) point of the last α drawn: a new user at the same α keeps it.
        self._point: tuple[float | None, tuple[float, float]] = (None, (0.0, 0.0))
        self._assemble({"alpha": self.alpha, "user_id": self.user}, [self.html])

    # -- pure computations ---------------------------------------------------------------------
    def ranked(self, alpha: float, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Top-``k`` item indices of the test users (``rows`` of :attr:`users`) at this α."""
        new = np.where(
            self.valid[rows], self.model.rerank_scores(self.relevance[rows], self.cands[rows], alpha), -np.inf
        )
        pos = np.argsort(-new, axis=1, kind="stable")[:, : self.k]
        return np.take_along_axis(self.cands[rows], pos, 1)

    def point(self, alpha: float) -> tuple[float, float]:
        """``(NDCG@k, coverage@k)`` of every test user's list at this α."""
        ranked = self.ranked(alpha)
        ndcg = float(M.ndcg_at_k(ranked, self.relevant, self.k))  # the mean over users (a float)
        return ndcg, M.catalogue_coverage(ranked, self.train.n_items)

    # -- the view --------------------------------------------------------------------------------
    def update(self, alpha: float | None = None, user_id: int | None = None) -> str:
        """Move the given controls (others keep their values), redraw once, return the view's HTML.

        Raises:
            TypeError: ``alpha`` is not a real number. ValueError: ``alpha`` outside the slider's range.
            KeyError: ``user_id`` is not a test user.
        """
        self._apply({"alpha": alpha, "user_id": user_id})
        return self.html.value

    def _draw(self, alpha: float, user_id: int) -> dict:
        alpha = float(alpha)
        row = int(np.searchsorted(self.users, self.train.user_index(user_id)))
        items = self.ranked(alpha, slice(row, row + 1))[0]
        if self._point[0] != alpha:
            self._point = (alpha, self.point(alpha))
        ndcg, coverage = self._point[1]
        held = set(self.relevant[row].indices.tolist())
        base_ndcg, base_cov = self.curve[0]
        rows = []
        for rank, i in enumerate(items, 1):
            shade = " style='background:#d9f2d9'" if i in held else ""
            tail = "◆ tail" if self.tail[i] else ""
            rows.append(
                f"<tr{shade}><td>{rank}</td><td>{html.escape(self.titles[i])}</td>"
                f"<td style='text-align:right'>{self.popularity[i]}</td><td>{tail}</td>"
                f"<td>{'✓' if i in held else ''}</td></tr>"
            )
        n_tail = int(self.tail[items].sum())
        table = (
            "<table><tr><th>rank</th><th>title</th><th>training ratings</th><th>tail?</th><th>hit</th></tr>"
            + "".join(rows)
            + "</table>"
        )
        # α as the slider's readout writes it, so the control and the view name the same value
        shown = format(alpha, self.alpha.readout_format)
        summary = (
            f"<p>α = {shown}: NDCG@{self.k} <b>{ndcg:.4f}</b> ({ndcg / base_ndcg:.1%} of α = 0), "
            f"coverage@{self.k} <b>{coverage:.4f}</b> ({coverage / base_cov:.2f}× α = 0); "
            f"user {user_id}: {n_tail} of {self.k} in the long tail.</p>"
        )
        self.html.value = (
            f"<div style='display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start'><div>{summary}{table}</div>"
            f"{self._svg(ndcg, coverage)}</div>"
        )
        return {"alpha": alpha, "ndcg": ndcg, "coverage": coverage, "items": items}

    def _svg(self, ndcg: float, coverage: float, width: int = 360, height: int = 260) -> str:
        """The trade-off curve (coverage on x, NDCG on y) with the current point, as inline SVG."""
        pad = 40
        cov, nd = self.curve[:, 1], self.curve[:, 0]
        x0, x1 = 0.0, max(cov.max(), coverage) * 1.05
        y0, y1 = min(nd.min(), ndcg) * 0.95, max(nd.max(), ndcg) * 1.02

        def xy(c: float, n: float) -> tuple[float, float]:
            """SVG coordinates of (coverage, NDCG): y grows downwards."""
            x = pad + (c - x0) / (x1 - x0) * (width - 1.5 * pad)
            y = height - pad - (n - y0) / (y1 - y0) * (height - 1.5 * pad)
            return x, y

        line = " ".join(f"{px:.1f},{py:.1f}" for px, py in (xy(c, n) for c, n in zip(cov, nd, strict=True)))
        px, py = xy(coverage, ndcg)
        bx, by = xy(self.curve[0, 1], self.curve[0, 0])
        gx = xy(2 * self.curve[0, 1], 0.95 * self.curve[0, 0])
        return (
            f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg' style='font:11px sans-serif'>"
            f"<rect x='{gx[0]:.1f}' y='{pad / 2}' width='{max(width - pad / 2 - gx[0], 0):.1f}' "
            f"height='{max(gx[1] - pad / 2, 0):.1f}' fill='#e6f4ea'/>"
            f"<text x='{width - pad / 2 - 4}' y='{pad / 2 + 12}' text-anchor='end' fill='#1a7f37'>"
            "≥ 2× coverage, ≥ 95% NDCG</text>"
            f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad / 2}' y2='{height - pad}' stroke='black'/>"
            f"<line x1='{pad}' y1='{height - pad}' x2='{pad}' y2='{pad / 2}' stroke='black'/>"
            f"<text x='{width / 2}' y='{height - 8}' text-anchor='middle'>coverage@{self.k}</text>"
            f"<text x='12' y='{height / 2}' transform='rotate(-90 12 {height / 2})' text-anchor='middle'>"
            f"NDCG@{self.k}</text>"
            f"<polyline points='{line}' fill='none' stroke='#1f77b4' stroke-width='2'/>"
            f"<circle cx='{bx:.1f}' cy='{by:.1f}' r='4' fill='grey'><title>α = 0</title></circle>"
            f"<circle cx='{px:.1f}' cy='{py:.1f}' r='6' fill='#d62728'><title>current α</title></circle>"
            "</svg>"
        )
