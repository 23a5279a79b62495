"""Lesson 03 (BERT and cross-entropy): candidates before and after re-ranking."""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np

from ..data import Interactions
from .base import LessonWidget, dropdown, html_view, int_slider

__all__ = ["RerankExplorer"]


class RerankExplorer(LessonWidget):
    """Pick a user and a re-ranker; see the candidate list before and after re-ranking.

    The left table is the candidate generator's order (e.g. EASE's top ``k``), the right one the
    same items re-ordered by the chosen re-ranker's scores; the user's held-out next item is
    shaded wherever it appears, and each re-ranked row shows how many places it moved. All scores
    are precomputed, so moving a control only re-sorts arrays.

    Args:
        train: training interactions (history text and titles).
        users: ``(n,)`` distinct user indices the lists belong to.
        candidates: ``(n, k)`` item indices in the candidate generator's order, best first.
        scores: ``{re-ranker name: (n, k) scores}`` aligned with ``candidates`` (higher is better).
        targets: ``(n,)`` held-out next item index per user (``-1`` for none), shaded in the lists.
        show: rows shown initially.
        n_history: liked titles shown as the user's history.

    Attributes:
        user, reranker, show: the ``Dropdown``/``Dropdown``/``IntSlider`` controls (``controls``
            maps ``user_id``/``reranker``/``show`` to them; the user picker's values are raw user ids).
        html: the ``HTML`` view; widget: the assembled ``VBox``.
        last_: the HTML on display.

    Raises:
        ValueError: shapes that do not line up, repeated users, no re-ranker, a bad ``show``, or
            ``train`` without an item table.
    """

    main_control = "reranker"

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
        if len(np.unique(users)) != len(users):
            raise ValueError("users has repeated entries; pass each user once")
        if not scores:
            raise ValueError("scores is empty; pass {re-ranker name: (n, k) scores}")
        self.scores = {name: np.asarray(s, dtype=np.float64) for name, s in scores.items()}
        for name, s in self.scores.items():
            if s.shape != candidates.shape:
                raise ValueError(f"scores[{name!r}] has shape {s.shape}, candidates {candidates.shape}")
        targets = np.full(len(users), -1) if targets is None else np.asarray(targets, dtype=np.int64)
        if targets.shape != users.shape:
            raise ValueError(f"targets has shape {targets.shape}, expected {users.shape}")
        if train.items is None:
            raise ValueError("train has no item table; the lists show titles (load MovieLens with its items)")
        self.train, self.users, self.candidates, self.targets = train, users, candidates, targets
        self.titles = train.items["title"].astype(str).to_numpy()
        self.histories = user_histories(train, users, n_history)
        user_ids = [int(train.user_ids[u]) for u in users]
        self._position = {uid: pos for pos, uid in enumerate(user_ids)}
        self.user = dropdown("user_id", [(f"user {uid}", uid) for uid in user_ids], user_ids[0], "user")
        self.reranker = dropdown("reranker", list(self.scores), next(iter(self.scores)), "re-ranker")
        self.show = int_slider("show", show, 1, candidates.shape[1], "show")
        self.html = html_view()
        self._assemble({"user_id": self.user, "reranker": self.reranker, "show": self.show}, [self.html])

    def lists(self, pos: int, reranker: str) -> tuple[np.ndarray, np.ndarray]:
        """Item indices before (generator order) and after re-ranking, for the ``pos``-th user."""
        cand = self.candidates[pos]
        order = np.argsort(-self.scores[reranker][pos], kind="stable")  # ties keep the generator's order
        return cand, cand[order]

    def update(self, user_id: int | None = None, reranker: str | None = None, show: int | None = None) -> str:
        """Move the given controls (others keep their values), redraw, return the view's HTML.

        Raises:
            KeyError: a user or re-ranker the pickers do not offer. ValueError: ``show`` out of range.
        """
        return self._apply({"user_id": user_id, "reranker": reranker, "show": show})

    def _draw(self, user_id: int, reranker: str, show: int) -> str:
        pos = self._position[user_id]
        before, after = self.lists(pos, reranker)
        target = int(self.targets[pos])
        old_rank = {int(i): r for r, i in enumerate(before)}

        def table(title: str, items: np.ndarray, moves: bool) -> str:
            rows = []
            for r, i in enumerate(items[:show]):
                shade = " style='background:#d9f2d9'" if int(i) == target else ""
                move = ""
                if moves:
                    d = old_rank[int(i)] - r
                    colour = "#2a7" if d > 0 else "#c33" if d < 0 else "#888"
                    arrow = f"▲{d}" if d > 0 else f"▼{-d}" if d < 0 else "="
                    move = f"<td style='padding:2px 6px;color:{colour}'>{arrow}</td>"
                rows.append(
                    f"<tr{shade}><td style='padding:2px 6px'>{r + 1}</td>"
                    f"<td style='padding:2px 6px'>{html.escape(self.titles[i])}</td>{move}</tr>"
                )
            return f"<div style='margin-right:24px'><b>{html.escape(title)}</b><table>{''.join(rows)}</table></div>"

        where = np.flatnonzero(after == target)
        if where.size:
            status = (
                f"held-out next item: <b>{html.escape(self.titles[target])}</b> — rank "
                f"{int(np.flatnonzero(before == target)[0]) + 1} before, {int(where[0]) + 1} after"
            )
        elif target >= 0:
            status = "held-out next item is not among the candidates: re-ranking cannot help this user"
        else:
            status = ""
        self.html.value = (
            f"<div><b>history</b>: {html.escape(self.histories[pos])}</div><div>{status}</div>"
            f"<div style='display:flex'>{table('before (candidate order)', before, False)}"
            f"{table(f'after ({reranker})', after, True)}</div>"
        )
        return self.html.value
