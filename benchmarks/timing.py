"""Timing helpers shared by the benchmark scripts: repeats, interleaving, medians with spread.

The machine is shared and noisy, so every figure is a median over repeats with its range, and
a ratio against a peer is taken between two functions measured in the same loop, alternating
(ours, peer, ours, peer, ...) so that a burst of load hits both alike.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass
class Timing:
    """Wall-clock seconds (and process CPU seconds, all threads) of each repeat of one function."""

    seconds: list[float]
    cpu: list[float] | None = None
    result: object = None  # what the last call returned (to check values without another call)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def low(self) -> float:
        return min(self.seconds)

    @property
    def high(self) -> float:
        return max(self.seconds)

    def fmt(self, unit: str = "ms") -> str:
        """``"12.3 ms (11.9–14.0, n=21)"``: median, then min–max over the repeats."""
        scale = {"ms": 1e3, "s": 1.0, "us": 1e6}[unit]
        digits = 1 if self.median * scale >= 10 else 2
        m, lo, hi = (f"{v * scale:.{digits}f}" for v in (self.median, self.low, self.high))
        return f"{m} {unit} ({lo}–{hi}, n={len(self.seconds)})"

    def fmt_cpu(self, unit: str = "ms") -> str:
        """Median process CPU time: on a busy machine wall time waits for a core, CPU time does not."""
        if not self.cpu:
            return ""
        scale = {"ms": 1e3, "s": 1.0, "us": 1e6}[unit]
        m = statistics.median(self.cpu) * scale
        return f"{m:.{1 if m >= 10 else 2}f} {unit}"


def race(functions: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, Timing]:
    """Time each function ``repeats`` times, interleaved, after ``warmup`` untimed rounds.

    Returns:
        ``{name: Timing}`` in the order given.
    """
    for _ in range(warmup):
        for fn in functions.values():
            fn()
    out: dict[str, list[float]] = {name: [] for name in functions}
    cpu: dict[str, list[float]] = {name: [] for name in functions}
    last: dict[str, object] = {}
    for _ in range(repeats):
        for name, fn in functions.items():
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            last[name] = fn()
            out[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {name: Timing(ts, cpu[name], last.get(name)) for name, ts in out.items()}


def ratio(slow: Timing, fast: Timing) -> str:
    """``"8.4×"``: the median of the slower over the median of the faster."""
    return f"{slow.median / fast.median:.1f}×"


def load_average() -> str:
    """The 1-minute load average (how busy the shared machine was), or ``"n/a"``."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


def peak_rss_mib() -> float:
    """The peak resident set of this process so far, in MiB (Linux ``ru_maxrss`` is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
