"""Latency of the lesson-04 LongTailExplorer on ML-100K: milliseconds per move of the α slider.

Fits EASE (lesson 01's setting) wrapped in the popularity penalty on the benchmark split, builds
the widget (candidates and the trade-off curve are computed once), then moves the α slider and the
user picker many times and times the synchronous ``observe`` round trip (re-rank every test user's
candidates, NDCG@10 and coverage@10, the user's top-10, the HTML and SVG).

Run: ``python benchmarks/longtail_widget.py`` (target: < 100 ms per change).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from recsys_lessons import load_movielens, split_stratified
from recsys_lessons.models import EASE
from recsys_lessons.models.rerank import PopularityPenalty
from recsys_lessons.widgets.longtail import LongTailExplorer


def main(n_changes: int = 100, seed: int = 0) -> None:
    train, test = split_stratified(load_movielens("100k"), 0.75, by="item", seed=42)
    model = PopularityPenalty(EASE(lam=400.0, dropout=0.5)).fit(train)
    t0 = time.perf_counter()
    explorer = LongTailExplorer(model, test)
    print(f"construction (candidates, curve, first render): {1e3 * (time.perf_counter() - t0):.1f} ms")
    rng = np.random.default_rng(seed)
    users = list(explorer.user.options)
    timings: dict[str, list[float]] = {"alpha": [], "user": []}
    for step in range(n_changes):
        t = time.perf_counter()
        if step % 2 == 0:
            explorer.alpha.value = float(np.round(rng.uniform(explorer.alpha.min, explorer.alpha.max), 2))
            timings["alpha"].append(time.perf_counter() - t)
        else:
            explorer.user.value = users[int(rng.integers(len(users)))]
            timings["user"].append(time.perf_counter() - t)
    for name, values in timings.items():
        ms = [1e3 * v for v in values]
        print(f"{name:>5}: median {statistics.median(ms):6.1f} ms, max {max(ms):6.1f} ms over {len(ms)} changes")
    worst = max(max(v) for v in timings.values()) * 1e3
    print(f"worst update: {worst:.1f} ms ({'under' if worst < 100 else 'OVER'} the 100 ms target)")


if __name__ == "__main__":
    main()
