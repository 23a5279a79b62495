"""How cost grows: synthetic catalogues at multiples of ML-100K, time and memory of each step.

    python benchmarks/scaling.py [--results benchmarks/RESULTS.md] [--scales 1,2,5,10] [--budget 240]

A synthetic data set at scale ``s`` has ``943 s`` users and ``1682 s`` items and, like ML-100K,
about 106 interactions per user on a skewed (Zipf-like) item popularity; so interactions grow
as ``s`` and the user × item matrix as ``s²``. Each (step, scale) runs in a fresh interpreter
so its peak memory (resident set) is its own. A step whose predicted time or memory exceeds
the budget is not run; the table says so and what replaces the method there.

Fitted complexities (U users, I items, N interactions, d factors, k cut-off):
* evaluation: scoring O(U·I) (popularity here: a broadcast) plus top-k O(U·I) — quadratic in s;
* EASE: Gram O(N·I) + Cholesky inverse O(I³) time, O(I²) memory — cubic in s;
* item kNN: cosine O(N·I) + neighbour selection O(I²) time, O(I²) memory (dense) — quadratic;
* BPR: one epoch O(N·d) with gathers (the dense path is O(U·I·d), used only while U·I is small).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from recsys_lessons.storage import write_section

BEGIN, END = "<!-- scaling:begin -->", "<!-- scaling:end -->"
BASE_USERS, BASE_ITEMS, PER_USER = 943, 1682, 106
STEPS = ("evaluate", "ease", "itemknn", "userknn", "bpr_epoch")
# Memory each step needs, in bytes, as a function of (users, items, interactions): used to skip
# what cannot fit in this machine's memory before trying.
MEMORY = {
    "evaluate": lambda u, i, n: 4 * 512 * i * 3,  # scored in batches of 512 users
    "ease": lambda u, i, n: 8 * i * i * 4,  # float64 Gram, its factor/inverse, the mirrored copy, B
    "itemknn": lambda u, i, n: 4 * i * i * 4,
    "userknn": lambda u, i, n: 4 * u * u * 4,
    "bpr_epoch": lambda u, i, n: 8 * n * 12,
}


def synthetic(scale: float, seed: int = 0):
    """An ``Interactions`` of ``943·scale`` users and ``1682·scale`` items, ~106 per user."""
    import pandas as pd

    from recsys_lessons.data import Interactions

    rng = np.random.default_rng(seed)
    n_users, n_items = int(BASE_USERS * scale), int(BASE_ITEMS * scale)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    popularity /= popularity.sum()
    per_user = np.clip(rng.geometric(1.0 / PER_USER, n_users), 20, n_items // 2)
    users = np.repeat(np.arange(n_users), per_user)
    items = rng.choice(n_items, size=len(users), p=popularity)
    pairs = np.unique(users.astype(np.int64) * n_items + items)  # drop repeats
    frame = pd.DataFrame(
        {
            "user_id": pairs // n_items + 1,
            "item_id": pairs % n_items + 1,
            "rating": np.ones(len(pairs), np.float32),
            "timestamp": np.zeros(len(pairs), np.int64),
        }
    )
    return Interactions(frame, np.arange(1, n_users + 1), np.arange(1, n_items + 1))


def run_step(step: str, scale: float) -> dict:
    """Run one step at one scale in this process; print and return its JSON record."""
    import resource

    import recsys_lessons as rl
    from recsys_lessons.models import BPR, EASE, ItemKNN, Popularity, UserKNN

    data = synthetic(scale)
    train, test = rl.split_stratified(data, 0.8, by="user", seed=0)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, epoch_seconds = time.perf_counter(), 0.0
    if step == "evaluate":
        model = Popularity().fit(train)
        start = time.perf_counter()
        rl.evaluate(model, train, test, 10, metrics=("ndcg", "precision", "recall", "map"))
    elif step == "ease":
        EASE(lam=400.0).fit(train)
    elif step == "itemknn":
        ItemKNN(k=200).fit(train)
    elif step == "userknn":
        UserKNN(k=100).fit(train)
    elif step == "bpr_epoch":
        # The epoch itself (sampling, steps), not the one-off set-up around it.
        epoch_seconds = BPR(epochs=1, valid_fraction=0.0).fit(train).history_.seconds[0]
    else:
        raise ValueError(f"unknown step {step!r}")
    seconds = epoch_seconds if step == "bpr_epoch" else time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {
        "step": step,
        "scale": scale,
        "users": train.n_users,
        "items": train.n_items,
        "interactions": len(train),
        "seconds": seconds,
        "peak_mib": peak / 1024,
        "step_mib": (peak - base_rss) / 1024,
    }
    print(json.dumps(out), flush=True)
    return out


def _fit_exponent(records: list[dict]) -> float | None:
    """Slope of log(time) against log(scale): 2 means quadratic in s, 3 cubic."""
    pts = [(math.log(r["scale"]), math.log(r["seconds"])) for r in records if r["seconds"] > 0]
    if len(pts) < 2:
        return None
    x, y = np.array(pts).T
    return float(np.polyfit(x, y, 1)[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    parser.add_argument("--scales", default="1,3,10,30")
    parser.add_argument("--budget", type=float, default=60.0, help="skip a step predicted to take longer (s)")
    parser.add_argument("--memory-gib", type=float, default=20.0, help="skip a step predicted to need more")
    parser.add_argument("--run", nargs=2, metavar=("STEP", "SCALE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        run_step(args.run[0], float(args.run[1]))
        return 0
    scales = [float(s) for s in args.scales.split(",")] + [100.0]
    records: dict[str, list[dict]] = {s: [] for s in STEPS}
    skipped: dict[str, list[str]] = {s: [] for s in STEPS}
    for step in STEPS:
        for scale in scales:
            u, i = BASE_USERS * scale, BASE_ITEMS * scale
            need = MEMORY[step](u, i, u * PER_USER) / 2**30
            done = records[step]
            expo = _fit_exponent(done) or {"evaluate": 2, "ease": 3, "itemknn": 2, "userknn": 2, "bpr_epoch": 1}[step]
            guess = done[-1]["seconds"] * (scale / done[-1]["scale"]) ** expo if done else 0.0
            if need > args.memory_gib:
                skipped[step].append(f"{scale:g}×: needs ~{need:.0f} GiB")
                continue
            if guess > args.budget:
                skipped[step].append(f"{scale:g}×: predicted ~{guess:.0f} s")
                continue
            try:
                proc = subprocess.run(  # noqa: S603 - this interpreter on this script
                    [sys.executable, __file__, "--run", step, str(scale)],
                    capture_output=True,
                    text=True,
                    env={**os.environ, "PYTHONWARNINGS": "ignore"},
                    timeout=3 * args.budget,
                )
            except subprocess.TimeoutExpired:
                skipped[step].append(f"{scale:g}×: stopped after {3 * args.budget:.0f} s")
                continue
            if proc.returncode != 0:
                skipped[step].append(f"{scale:g}×: failed ({proc.stderr.strip().splitlines()[-1][:80]})")
                continue
            rec = json.loads(proc.stdout.strip().splitlines()[-1])
            done.append(rec)
            print(f"{step:10s} {scale:5g}× {rec['seconds']:8.2f} s  peak {rec['peak_mib']:8.0f} MiB", flush=True)
    png = args.results.with_name("scaling.png")
    _plot(records, png)
    _write(args.results, records, skipped, png.name)
    return 0


REPLACEMENT = {
    "evaluate": "score and rank in user batches (already the case) — time stays O(U·I), memory O(batch·I)",
    "ease": "beyond ~40k items the I×I inverse does not fit: item kNN with sparse top-k similarities, "
    "or a low-rank EASE",
    "itemknn": "sparse top-k similarities (never the dense I×I matrix), or approximate nearest neighbours",
    "userknn": "the same on the user side (U×U), or item-based models when users outnumber items",
    "bpr_epoch": "scales linearly; for a huge catalogue a sampled softmax (BERT4Rec's lesson-03 point) "
    "replaces full scoring",
}


def _plot(records: dict[str, list[dict]], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for step, recs in records.items():
        if not recs:
            continue
        s = [r["scale"] for r in recs]
        ax_t.loglog(s, [r["seconds"] for r in recs], "o-", label=step)
        ax_m.loglog(s, [r["peak_mib"] for r in recs], "o-", label=step)
    ax_t.set(xlabel="scale (× ML-100K users and items)", ylabel="seconds", title="time")
    ax_m.set(xlabel="scale (× ML-100K users and items)", ylabel="peak resident MiB", title="memory")
    ax_t.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=90)


def _write(results: Path, records: dict[str, list[dict]], skipped: dict[str, list[str]], png_name: str) -> None:
    lines = [
        BEGIN,
        "## How cost grows (synthetic data, multiples of ML-100K's users and items)",
        "",
        f"Measured by `benchmarks/scaling.py` on {os.cpu_count()} cores ({time.strftime('%Y-%m-%d')}); each point "
        "in a fresh interpreter. Interactions grow as the scale s (≈106 per user), the user × item matrix as s².",
        "",
        f"![cost curves]({png_name})",
        "",
        "Peak memory is the process's largest resident set (the interpreter with numpy, scipy and torch "
        "loaded is about 0.5 GiB of it); the next column is what the step added to it.",
        "",
        "| step | scale | users | items | interactions | time | peak memory | added by the step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for step, recs in records.items():
        for r in recs:
            lines.append(
                f"| {step} | {r['scale']:g}× | {r['users']:,} | {r['items']:,} | {r['interactions']:,} | "
                f"{r['seconds']:.2f} s | {r['peak_mib']:,.0f} MiB | {r['step_mib']:,.0f} MiB |"
            )
    lines += [
        "",
        "| step | measured growth (time ∝ s^a) | expected | not run | what replaces it there |",
        "|---|---|---|---|---|",
    ]
    expected = {
        "evaluate": "s² (U·I)",
        "ease": "s³ (I³); memory s²",
        "itemknn": "s² (I²)",
        "userknn": "s² (U²)",
        "bpr_epoch": "s (N·d)",
    }
    for step in STEPS:
        a = _fit_exponent(records[step])
        lines.append(
            f"| {step} | {'—' if a is None else f'a = {a:.2f}'} | {expected[step]} | "
            f"{'; '.join(skipped[step]) or '—'} | {REPLACEMENT[step]} |"
        )
    write_section(results, "\n".join(lines[1:]), BEGIN, END)


if __name__ == "__main__":
    sys.exit(main())
