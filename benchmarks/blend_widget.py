"""Latency of the lesson-05 blend widget on ML-100K: milliseconds per slider or user change.

Fits a weighted hybrid of EASE, item-kNN and user-kNN on the benchmark split, builds the
:class:`~recsys_lessons.widgets.hybrid.BlendExplorer` (which normalises every member's scores
once), then moves the controls many times and times the synchronous ``observe`` round trip:
re-blend all 943 test users, top-10 with ``top_k``, four metrics, the HTML view.

Run: ``python benchmarks/blend_widget.py`` (target: < 100 ms per change).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from recsys_lessons import load_movielens, split_stratified
from recsys_lessons.models import EASE, ItemKNN, UserKNN
from recsys_lessons.models.hybrid import Weighted
from recsys_lessons.widgets.hybrid import BlendExplorer


def main(n_changes: int = 150, seed: int = 0) -> None:
    train, test = split_stratified(load_movielens("100k"), 0.75, by="item", seed=42)
    hybrid = Weighted([("EASE", EASE(400.0, dropout=0.5)), ("item-kNN", ItemKNN()), ("user-kNN", UserKNN())]).fit(train)
    t0 = time.perf_counter()
    explorer = BlendExplorer(hybrid, test)
    print(f"construction (normalise once + first render): {1e3 * (time.perf_counter() - t0):.1f} ms")
    rng = np.random.default_rng(seed)
    users = list(explorer.user.options)
    timings: dict[str, list[float]] = {"slider": [], "user": []}
    for step in range(n_changes):
        if step % 3 == 2:
            control, target, value = "user", explorer.user, int(rng.choice(users))
        else:
            name = explorer.names[int(rng.integers(len(explorer.names)))]
            control, target, value = "slider", explorer.sliders[name], round(float(rng.uniform(0, 2)), 2)
        if target.value == value:
            continue
        t0 = time.perf_counter()
        target.value = value  # fires observe -> re-blend, top-k, metrics, HTML, synchronously
        timings[control].append(1e3 * (time.perf_counter() - t0))
    all_ms = [t for ts in timings.values() for t in ts]
    print(f"{'control':8s} {'changes':>7s} {'median ms':>10s} {'p95 ms':>8s} {'max ms':>8s}")
    for control, ts in [*timings.items(), ("all", all_ms)]:
        print(f"{control:8s} {len(ts):7d} {statistics.median(ts):10.1f} {np.percentile(ts, 95):8.1f} {max(ts):8.1f}")
    verdict = "meets" if np.percentile(all_ms, 95) < 100 else "MISSES"
    print(f"p95 {np.percentile(all_ms, 95):.1f} ms per change: {verdict} the 100 ms target")


if __name__ == "__main__":
    main()
