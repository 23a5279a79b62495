"""Latency of the lesson-01 RecommendationExplorer on ML-100K: milliseconds per control change.

Fits the lesson's models on the benchmark split (BPR and MF with a short budget: the latency
of a fitted model does not depend on how long it trained), then moves each control many times
and times the synchronous ``observe`` round trip (recompute + HTML refresh).

Run: ``python benchmarks/explorer_latency.py`` (target: < 100 ms per change).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from recsys_lessons import load_movielens, split_stratified
from recsys_lessons.models import BPR, EASE, ItemKNN, MatrixFactorization, Popularity, UserKNN
from recsys_lessons.widgets import RecommendationExplorer


def main(n_changes: int = 200, seed: int = 0) -> None:
    train, test = split_stratified(load_movielens("100k"), 0.75, by="item", seed=42)
    models = {
        "popularity": Popularity().fit(train),
        "userknn": UserKNN().fit(train),
        "itemknn": ItemKNN().fit(train),
        "mf": MatrixFactorization(epochs=3, valid_fraction=0.0).fit(train),
        "bpr": BPR(epochs=3, valid_fraction=0.0).fit(train),
        "ease": EASE().fit(train),
    }
    t0 = time.perf_counter()
    explorer = RecommendationExplorer(models, train, test)
    print(f"construction (first render): {1e3 * (time.perf_counter() - t0):.1f} ms")
    rng = np.random.default_rng(seed)
    users = list(explorer.user.options)
    names = list(models)
    timings: dict[str, list[float]] = {"user": [], "model": [], "k": []}
    for step in range(n_changes):
        control = ("user", "model", "k")[step % 3]
        if control == "user":
            target, value = explorer.user, int(rng.choice(users))
        elif control == "model":
            target, value = explorer.model, names[int(rng.integers(len(names)))]
        else:
            target, value = explorer.k, int(rng.integers(1, 51))
        if target.value == value:
            continue
        t0 = time.perf_counter()
        target.value = value  # fires observe -> update() synchronously
        timings[control].append(1e3 * (time.perf_counter() - t0))
    all_ms = [t for ts in timings.values() for t in ts]
    print(f"{'control':8s} {'changes':>7s} {'median ms':>10s} {'p95 ms':>8s} {'max ms':>8s}")
    for control, ts in [*timings.items(), ("all", all_ms)]:
        print(f"{control:8s} {len(ts):7d} {statistics.median(ts):10.1f} {np.percentile(ts, 95):8.1f} {max(ts):8.1f}")
    per_model = {}
    for name in names:  # one user change per model, worst case over 20 users
        explorer.model.value = name
        ts = []
        for u in users[:20]:
            t0 = time.perf_counter()
            explorer.update(user_id=u)
            ts.append(1e3 * (time.perf_counter() - t0))
        per_model[name] = max(ts)
    print("worst update per model (ms):", ", ".join(f"{k} {v:.1f}" for k, v in per_model.items()))


if __name__ == "__main__":
    main()
