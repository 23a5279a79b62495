"""Lesson-01 models on the benchmark protocol: NDCG/P/R@10, MF test RMSE and fit times.

Protocol: ``split_stratified(ml100k, 0.75, by="item", seed=42)``, top-10, training items removed,
measured by :func:`recsys_lessons.evaluate`. Hyper-parameters are the ones the lesson-01 notebook
picks on a validation split carved from train (never on test).

Run: ``python benchmarks/lesson01_models.py`` (pass ``--device cuda`` to train BPR/MF on a GPU).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from recsys_lessons import evaluate, load_movielens, split_stratified
from recsys_lessons import metrics as M
from recsys_lessons.models import BPR, EASE, ItemKNN, MatrixFactorization, Popularity, UserKNN

PUBLISHED = {"BiVAE": 0.475, "BPR (cornac)": 0.442, "SAR": 0.388, "SVD RMSE": 0.939}


def main(device: str | None = None) -> pd.DataFrame:
    train, test = split_stratified(load_movielens("100k"), 0.75, by="item", seed=42)
    models = {
        "Popularity": Popularity(),
        "UserKNN": UserKNN(k=100, shrink=10.0),
        "ItemKNN": ItemKNN(k=200, shrink=10.0),
        "MF (explicit)": MatrixFactorization(dim=64, epochs=60, reg=0.1, device=device),
        "BPR": BPR(dim=64, epochs=50, lr=0.03, lr_decay=0.75, reg=0.01, n_negatives=4, device=device),
        "EASE (plain, lam=500)": EASE(lam=500.0),
        "EASE (lam=400, dropout=0.5)": EASE(lam=400.0, dropout=0.5),
    }
    rows = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(train)
        seconds = time.perf_counter() - t0
        row = evaluate(model, train, test, 10, metrics=("ndcg", "precision", "recall")).to_dict()
        row["fit s"] = seconds
        rows[name] = row
    f = test.frame
    mf = models["MF (explicit)"]
    rmse = M.rmse(f["rating"].to_numpy(), mf.predict(f["user_idx"].to_numpy(), f["item_idx"].to_numpy()))
    table = pd.DataFrame(rows).T
    with pd.option_context("display.width", 120):
        print(table.round(4).to_string())
    print(f"\nexplicit MF test RMSE: {rmse:.4f} (published SVD: {PUBLISHED['SVD RMSE']})")
    print("published NDCG@10:", ", ".join(f"{k} {v}" for k, v in PUBLISHED.items() if "RMSE" not in k))
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    main(parser.parse_args().device)
