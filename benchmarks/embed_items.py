"""How long embedding all 1,682 ML-100K item texts takes with the bundled all-MiniLM-L6-v2:
cold cache (the model runs) and warm cache (read back from disk), plus model load time.

    python benchmarks/embed_items.py [--threads N] [--batch-size B]

The cache goes to a temporary folder, so ``data/embeddings`` is neither used nor changed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from recsys_lessons import text as T
from recsys_lessons.data import load_movielens


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    items = load_movielens("100k").items
    encoder, load_s = timed(T.load_encoder)
    print(
        f"items: {len(items):,}; torch threads: {torch.get_num_threads()}; device: {encoder.device}; "
        f"batch size: {args.batch_size}"
    )
    print(f"load encoder (incl. SHA-256 check): {load_s:6.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        emb, cold = timed(lambda: T.embed_items(items, encoder, args.batch_size, cache_dir=tmp, progress=False))
        warm = [
            timed(lambda: T.embed_items(items, encoder, args.batch_size, cache_dir=tmp, progress=False))[1]
            for _ in range(5)
        ]
    print(
        f"cold cache (model runs):            {cold:6.2f} s  -> {emb.shape[0]:,} x {emb.shape[1]}, "
        f"{emb.shape[0] / cold:,.0f} texts/s"
    )
    print(f"warm cache (read from disk):        {min(warm):6.3f} s best of 5, {max(warm):.3f} s worst")
    print(f"ratio cold/warm:                    {cold / min(warm):6.0f}x")


if __name__ == "__main__":
    main()
