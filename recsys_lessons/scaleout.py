"""Scaling out from the command line: a data-parallel training run, and the GPU check.

``train`` fits the package's biased matrix factorisation (:class:`~recsys_lessons.models.mf.BiasedMFModule`)
on MovieLens ratings through :func:`recsys_lessons.train.train_loop`, as one process or as many
under ``torchrun``::

    python -m recsys_lessons.scaleout train --out build/ddp/one            # one process
    torchrun --standalone --nproc_per_node=2 -m recsys_lessons.scaleout train --out build/ddp/two

Every rank writes ``weights-rank<R>.pt`` (its final weights, to compare ranks) and
``history-rank<R>.json``; rank 0 alone writes ``checkpoint.pt``. With the same
``--global-batch-size`` both runs take the same optimiser steps on the same samples (see
:mod:`recsys_lessons.distributed`), so all weight files agree up to floating-point rounding.

``gpu-check`` (``make gpu-check``) times one epoch of each neural model of the course on the CPU
and on CUDA with mixed precision and prints the throughput side by side; without a GPU it says so
and exits normally.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .data import Interactions, load_movielens, split_last_item
from .distributed import distributed, sharded_batches, unwrap, wrap_model
from .storage import atomic_file
from .train import cpu_threads, set_seed, train_loop

__all__ = ["NeuralRun", "launch", "main", "neural_runs", "rating_tensors", "train_command", "train_ratings"]


def rating_tensors(ratings: int | None = None, seed: int = 0) -> tuple[torch.utils.data.TensorDataset, int, int]:
    """ML-100K ratings as ``TensorDataset(users, items, ratings)`` on the full user/item index.

    Args:
        ratings: keep this many ratings, drawn at random with ``seed`` (``None``: all 100,000).
        seed: the draw's seed.

    Returns:
        ``(dataset, n_users, n_items)``.

    Raises:
        ValueError: ``ratings`` is not between 1 and the number of ratings.
    """
    full = Interactions.from_dataset(load_movielens("100k"))
    f = full.frame
    if ratings is not None:
        if not 1 <= ratings <= len(f):
            raise ValueError(f"ratings={ratings}; expected between 1 and {len(f)}")
        keep = np.sort(np.random.default_rng(seed).choice(len(f), size=ratings, replace=False))
        f = f.iloc[keep]
    data = torch.utils.data.TensorDataset(
        torch.tensor(f["user_idx"].to_numpy(), dtype=torch.long),  # copies: pandas' arrays are read-only
        torch.tensor(f["item_idx"].to_numpy(), dtype=torch.long),
        torch.tensor(f["rating"].to_numpy(np.float32)),
    )
    return data, full.n_users, full.n_items


def train_ratings(args: argparse.Namespace) -> int:
    """The ``train`` command: one rank of a (possibly single-process) data-parallel MF run."""
    from .models.mf import BiasedMFModule  # the model layer loads only for this command

    out = Path(args.out)
    with distributed() as ctx:
        data, n_users, n_items = rating_tensors(args.ratings, seed=args.seed)
        set_seed(args.seed)  # every rank draws the same initial weights (DDP would copy rank 0's anyway)
        mean = float(data.tensors[2].mean())
        model = wrap_model(BiasedMFModule(n_users, n_items, args.dim, global_bias=mean), ctx)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

        def loss_fn(m: torch.nn.Module, batch: Sequence[torch.Tensor]) -> torch.Tensor:
            users, items, rating = batch  # each (batch / world_size,)
            return torch.nn.functional.mse_loss(m(users, items), rating)  # through m: DDP syncs the gradients

        with cpu_threads(1 if ctx.device.type == "cpu" else None):  # two processes on two cores
            history = train_loop(
                model,
                sharded_batches(data, args.global_batch_size, ctx, seed=args.seed),
                loss_fn,
                optimizer,
                args.epochs,
                device=ctx.device,
                progress=False,
                checkpoint=out / "checkpoint.pt",
            )
        state = {k: v.detach().cpu() for k, v in unwrap(model).state_dict().items()}  # no DDP prefix
        with atomic_file(out / f"weights-rank{ctx.rank}.pt", "the rank's weights") as tmp:
            torch.save(state, tmp)
        summary = {
            "rank": ctx.rank,
            "world_size": ctx.world_size,
            "backend": ctx.backend,
            "device": str(ctx.device),
            "ratings": len(data),
            "global_batch_size": args.global_batch_size,
            "per_rank_batch_size": args.global_batch_size // ctx.world_size,
            "train_loss": history.train_loss,
            "seconds": history.seconds,
        }
        with atomic_file(out / f"history-rank{ctx.rank}.json", "the rank's history") as tmp:
            tmp.write_text(json.dumps(summary, indent=1))
        losses = ", ".join(f"{x:.4f}" for x in history.train_loss)
        line = (
            f"rank {ctx.rank}/{ctx.world_size} ({ctx.backend or 'no process group'}, {ctx.device}): "
            f"per-rank batch {summary['per_rank_batch_size']}, epoch losses [{losses}]\n"
        )
        sys.stdout.write(line)  # one write: the ranks share torchrun's stdout, and lines must not interleave
        sys.stdout.flush()
    return 0


def train_command(
    out: str | os.PathLike[str],
    *,
    nproc: int | None = None,
    epochs: int = 2,
    global_batch_size: int = 1024,
    ratings: int | None = None,
    seed: int = 42,
) -> list[str]:
    """The argv of a ``train`` run: torchrun with ``nproc`` local ranks, or one plain process.

    ``python -m torch.distributed.run`` is the ``torchrun`` script without relying on ``PATH``;
    ``--standalone`` runs the rendezvous on this machine on a free port.
    """
    launcher = [] if nproc is None else ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    train = ["-m", "recsys_lessons.scaleout", "train", "--out", os.fspath(out), "--epochs", str(epochs),
             "--global-batch-size", str(global_batch_size), "--seed", str(seed)]  # fmt: skip
    if ratings is not None:
        train += ["--ratings", str(ratings)]
    return [sys.executable, *launcher, *train]


def launch(argv: Sequence[str], timeout: float = 600.0) -> str:
    """Run a :func:`train_command` (one math thread per process) and return what it printed.

    Raises:
        RuntimeError: the run failed; the message holds the end of its output.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # two processes on two cores
    done = subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603 - an argv list, no shell
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}:\n{tail}")
    return done.stdout


@dataclass(frozen=True)
class NeuralRun:
    """One epoch of one neural model on a small slice of ML-100K.

    Attributes:
        name: the model's name.
        examples: training examples in the epoch (ratings, triples' positives, sequences, pairs).
        fit: ``device -> (first-epoch mean loss, epoch seconds)``.
    """

    name: str
    examples: int
    fit: Callable[[str], tuple[float, float]]


def neural_runs(users: int = 200) -> list[NeuralRun]:
    """The course's neural models, each for one epoch on the first ``users`` users of ML-100K.

    Dropout is off where the constructor allows it: CPU and CUDA draw different dropout masks, and
    the point of comparing their losses is the arithmetic, not the noise.
    """
    from .models.bert4rec import BERT4Rec
    from .models.bert_ce import CrossEncoder
    from .models.mf import BPR, MatrixFactorization
    from .models.pairs import build_pairs

    full = Interactions.from_dataset(load_movielens("100k"))
    small = full.subset(full.frame["user_idx"].to_numpy() < users)
    train, _ = split_last_item(small)

    def factor(cls: type, **kw) -> Callable[[str], tuple[float, float]]:
        def fit(device: str) -> tuple[float, float]:
            m = cls(epochs=1, valid_fraction=0.0, seed=0, device=device, **kw).fit(train)
            return m.history_.train_loss[0], m.history_.seconds[0]

        return fit

    def bert4rec(device: str) -> tuple[float, float]:
        m = BERT4Rec(epochs=1, dropout=0.0, warmup=0.0, seed=0, device=device, progress=False).fit(train)
        return m.history_.train_loss[0], m.history_.seconds[0]

    pairs = build_pairs(train, n_history=3, n_negatives=3, max_users=min(users, 16), seed=0)

    def cross_encoder(device: str) -> tuple[float, float]:
        m = CrossEncoder(batch_size=16, epochs=1, warmup=0.0, seed=0, device=device, progress=False).fit(pairs)
        return m.history_.train_loss[0], m.history_.seconds[0]

    return [
        NeuralRun("MatrixFactorization", len(train), factor(MatrixFactorization)),
        NeuralRun("BPR", len(train), factor(BPR)),
        NeuralRun("BERT4Rec", int((np.diff(train.matrix.indptr) > 0).sum()), bert4rec),
        NeuralRun("CrossEncoder", len(pairs), cross_encoder),
    ]


def gpu_check(args: argparse.Namespace) -> int:
    """The ``gpu-check`` command: throughput of one epoch per model, CPU against CUDA."""
    if not torch.cuda.is_available():
        print(
            f"gpu-check: no CUDA GPU on this machine (torch {torch.__version__}, CUDA build: "
            f"{torch.version.cuda or 'none'}), so there is nothing to compare. On a machine with an "
            "NVIDIA GPU and a CUDA build of torch, `make gpu-check` times each neural model there against "
            "the CPU, and `pytest -m cuda` checks their losses agree."
        )
        return 0
    print(f"gpu-check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    header = ("model", "examples", "CPU ex/s", "CUDA ex/s", "speed-up", "loss CPU", "loss CUDA")
    print(f"{header[0]:<20} " + " ".join(f"{h:>10}" for h in header[1:]))
    for run in neural_runs(args.users):
        cpu_loss, cpu_s = run.fit("cpu")
        run.fit("cuda")  # warm-up: the CUDA context, kernels and cuBLAS handles are made on first use
        # The loop reads every step's loss with .item(), which waits for the GPU, so the epoch's
        # clock covers the GPU's work too.
        cuda_loss, cuda_s = run.fit("cuda")
        print(
            f"{run.name:<20} {run.examples:>10} {run.examples / cpu_s:>10.0f} {run.examples / cuda_s:>10.0f} "
            f"{cpu_s / cuda_s:>9.1f}x {cpu_loss:>10.4f} {cuda_loss:>10.4f}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recsys_lessons.scaleout {train,gpu-check} ...``."""
    parser = argparse.ArgumentParser(prog="python -m recsys_lessons.scaleout", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="data-parallel MF on ML-100K (run under torchrun for several processes)")
    t.add_argument("--out", required=True, help="folder for the checkpoint, weights and histories")
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--global-batch-size", type=int, default=1024, help="samples per step over all ranks")
    t.add_argument("--dim", type=int, default=16)
    t.add_argument("--lr", type=float, default=0.01)
    t.add_argument("--ratings", type=int, default=None, help="train on this many ratings (default all)")
    t.add_argument("--seed", type=int, default=42)
    g = sub.add_parser("gpu-check", help="one epoch of each neural model on the CPU and on CUDA")
    g.add_argument("--users", type=int, default=200, help="users of ML-100K in the small training set")
    args = parser.parse_args(argv)
    return train_ratings(args) if args.command == "train" else gpu_check(args)


if __name__ == "__main__":
    sys.exit(main())
