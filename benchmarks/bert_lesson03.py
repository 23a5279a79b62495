"""Throughput of the lesson-03 models on this machine: prints figures, asserts nothing.

    python benchmarks/bert_lesson03.py [--pairs 64] [--epochs 2]

* cross-encoder (bundled MiniLM, one-logit head): training and scoring pairs per second;
* BERT4Rec (2 layers, hidden 64) on ML-100K: seconds per epoch for each loss formulation.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from recsys_lessons import get_device, load_movielens, split_last_item
from recsys_lessons.models.bert4rec import BERT4Rec
from recsys_lessons.models.bert_ce import CrossEncoder
from recsys_lessons.models.pairs import build_pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=64, help="training pairs for the cross-encoder")
    parser.add_argument("--epochs", type=int, default=2, help="BERT4Rec epochs per loss")
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    print(f"device {get_device()}, torch threads {torch.get_num_threads()}")
    train, _ = split_last_item(load_movielens("100k"))

    pairs = build_pairs(train, n_negatives=3, max_users=max(1, args.pairs // 4), seed=0, negatives="popularity")
    ce = CrossEncoder(max_length=args.max_length, progress=False).fit(pairs)
    print(
        f"cross-encoder training: {len(pairs) / ce.fit_seconds_:.1f} pairs/s "
        f"({len(pairs)} pairs, max_length {args.max_length})"
    )
    start = time.perf_counter()
    ce.predict(pairs.history.tolist(), pairs.candidate.tolist(), progress=False)
    print(f"cross-encoder scoring:  {len(pairs) / (time.perf_counter() - start):.1f} pairs/s")

    for loss in ("bce", "bce_many", "sampled_softmax", "softmax"):
        model = BERT4Rec(loss=loss, epochs=args.epochs, batch_size=32, progress=False).fit(train)
        print(f"BERT4Rec {loss:16s} {np.mean(model.history_.seconds):.2f} s/epoch")


if __name__ == "__main__":
    main()
