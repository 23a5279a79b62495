"""Data-parallel training with PyTorch's own engine: ``torchrun`` + ``DistributedDataParallel``.

Nothing here is a new engine. ``torchrun`` (``python -m torch.distributed.run``) starts one process
per device and tells each its place through environment variables (``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``); :func:`init_distributed` reads them and joins the
process group (gloo on CPU, NCCL on CUDA). :func:`wrap_model` puts the module in
``torch.nn.parallel.DistributedDataParallel``, which broadcasts rank 0's weights at construction and
averages the gradients of all ranks during ``backward()``, so every rank takes the same optimiser
step. :func:`sharded_batches` gives each rank its share of every global batch through a
``torch.utils.data.distributed.DistributedSampler`` (re-shuffled each epoch with ``set_epoch``).

Why the result equals one process with the same global batch ``B`` on ``W`` ranks: the sampler
draws one permutation of the dataset from ``seed + epoch`` (the same on every rank) and gives rank
``r`` the positions ``r, r + W, r + 2W, ...``. Rank ``r``'s ``k``-th local batch of ``B / W`` samples
therefore holds positions ``k·B + r + j·W`` for ``j < B / W``: over all ranks exactly the positions
``k·B … (k + 1)·B - 1``, the ``k``-th batch of one process reading the same permutation. Each rank's
loss is a mean over its ``B / W`` samples and DDP averages the ``W`` gradients, which is the gradient
of the mean over all ``B``. Only the order of floating-point additions differs. Two caveats the
sampler documents: with ``drop_last=False`` it pads the permutation by repeating its first samples
until its length is a multiple of ``W`` (so with ``len(dataset) % W != 0`` a few samples count twice
per epoch, unlike one process); and without ``set_epoch`` every epoch reuses epoch 0's order.

The training loop (:func:`recsys_lessons.train.train_loop`) needs three things from here and
nothing else: :func:`is_main_process` (progress bars and checkpoints on rank 0 only),
:func:`all_reduce_mean` (the logged loss is the mean over ranks, not rank 0's share) and
:func:`save_checkpoint` (rank 0 writes, atomically; the others wait at a barrier).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from .storage import atomic_file

__all__ = [
    "DistContext",
    "all_reduce_mean",
    "distributed",
    "init_distributed",
    "is_main_process",
    "output_layer_memory",
    "save_checkpoint",
    "sharded_batches",
    "teardown",
    "unwrap",
    "wrap_model",
]

# The variables torchrun sets for every process it starts.
_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE")


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the run.

    Attributes:
        rank: global index of the process, ``0 … world_size - 1``.
        local_rank: index on this machine (selects the GPU).
        world_size: number of processes in the run (1 without torchrun).
        device: the device this process trains on.
        backend: ``"gloo"`` or ``"nccl"``, or ``None`` when no process group was started.
    """

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: str | None

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the process that logs and writes files."""
        return self.rank == 0


def _env_int(name: str) -> int:
    raw = os.environ[name]
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer; torchrun sets it to the process's place") from None
    if value < 0:
        raise ValueError(f"{name}={value}; expected a non-negative integer")
    return value


def init_distributed(backend: str | None = None, *, timeout_seconds: float = 300.0) -> DistContext:
    """Join the process group torchrun set up, or describe a single process when run without it.

    Args:
        backend: ``"gloo"`` or ``"nccl"``; default NCCL when CUDA is available, else gloo.
        timeout_seconds: how long a collective waits for the other ranks before failing.

    Returns:
        The :class:`DistContext`. Under torchrun each process gets the GPU ``cuda:LOCAL_RANK`` (or
        the CPU); without ``WORLD_SIZE`` in the environment it is rank 0 of 1, no group started.

    Raises:
        ValueError: an unknown backend, NCCL without CUDA, malformed or inconsistent torchrun
            variables (``RANK >= WORLD_SIZE``, only some of them set), or more local ranks than GPUs.
    """
    if backend not in (None, "gloo", "nccl"):
        raise ValueError(f"backend={backend!r}; expected 'gloo', 'nccl' or None")
    present = [name for name in _ENV if name in os.environ]
    if not present:
        device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
        return DistContext(rank=0, local_rank=0, world_size=1, device=device, backend=None)
    if len(present) < len(_ENV):
        missing = sorted(set(_ENV) - set(present))
        raise ValueError(f"torchrun variables incomplete: {present} set but {missing} missing; start with torchrun")
    rank, local_rank, world_size = (_env_int(name) for name in _ENV)
    if world_size < 1 or rank >= world_size:
        raise ValueError(f"RANK={rank}, WORLD_SIZE={world_size}; expected 0 <= RANK < WORLD_SIZE")
    use_cuda = torch.cuda.is_available() if backend is None else backend == "nccl"
    if use_cuda:
        if not torch.cuda.is_available():
            raise ValueError("backend='nccl' needs CUDA, which is not available here; use 'gloo'")
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK={local_rank} but this machine has {torch.cuda.device_count()} GPU(s); "
                "start at most one process per GPU (--nproc_per_node)"
            )
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    chosen = "nccl" if use_cuda else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=chosen, timeout=timedelta(seconds=timeout_seconds))
    return DistContext(rank=rank, local_rank=local_rank, world_size=world_size, device=device, backend=chosen)


def teardown() -> None:
    """Leave the process group (if one was started); safe to call twice."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def distributed(backend: str | None = None) -> Iterator[DistContext]:
    """``with distributed() as ctx:`` — :func:`init_distributed`, then :func:`teardown` however the block ends."""
    ctx = init_distributed(backend)
    try:
        yield ctx
    finally:
        teardown()


def wrap_model(model: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """Move ``model`` to ``ctx.device`` and wrap it in DDP when there is more than one process.

    DDP copies rank 0's parameters and buffers to every rank here, and during ``backward()`` it
    all-reduces the gradients bucket by bucket while the rest of the backward pass still runs. The
    gradients only synchronise for a forward pass through the *wrapper* (``model(...)``), so a loss
    function must call the module it is given, not reach into its sub-modules.

    Returns:
        The DDP wrapper, or ``model`` itself in a single process.
    """
    model.to(ctx.device)
    if ctx.world_size == 1 or not dist.is_initialized():
        return model
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DDP wrapper (its state dict has no ``module.`` prefix), else ``model``."""
    if isinstance(model, torch.nn.parallel.DistributedDataParallel):
        return model.module
    return model


def sharded_batches(
    dataset: Dataset, global_batch_size: int, ctx: DistContext, *, seed: int = 0, drop_last: bool = False
) -> Callable[[int], DataLoader]:
    """``epoch -> DataLoader`` of this rank's share of every global batch (for ``train_loop``).

    Args:
        dataset: a map-style dataset (e.g. ``torch.utils.data.TensorDataset``).
        global_batch_size: samples per optimiser step summed over all ranks; each rank loads
            ``global_batch_size // world_size``.
        ctx: from :func:`init_distributed`.
        seed: the shuffle seed, the same on every rank (the sampler adds the epoch).
        drop_last: drop the tail that does not divide evenly among the ranks instead of padding it
            with repeated samples (see the module docstring).

    Raises:
        ValueError: ``global_batch_size`` is not a positive multiple of ``world_size``.
    """
    if not isinstance(global_batch_size, int) or isinstance(global_batch_size, bool) or global_batch_size < 1:
        raise ValueError(f"global_batch_size={global_batch_size!r}; expected a positive integer")
    if global_batch_size % ctx.world_size:
        raise ValueError(
            f"global_batch_size={global_batch_size} does not split evenly over world_size={ctx.world_size}; "
            f"use a multiple of {ctx.world_size}"
        )
    # num_replicas and rank are given, so the sampler also works in a single process without a group.
    sampler: DistributedSampler = DistributedSampler(
        dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed, drop_last=drop_last
    )
    loader = DataLoader(dataset, batch_size=global_batch_size // ctx.world_size, sampler=sampler)

    def for_epoch(epoch: int) -> DataLoader:
        sampler.set_epoch(epoch)  # without it every epoch would replay epoch 0's permutation
        return loader

    return for_epoch


def is_main_process() -> bool:
    """True on rank 0 of a distributed run, and in any ordinary single process."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def all_reduce_mean(value: float) -> float:
    """The mean of ``value`` over all ranks (``value`` itself outside a distributed run).

    Every rank must call it (it is a collective); the loop calls it once per epoch on the epoch's
    mean loss, so the history shows the loss of the whole global batch stream on every rank.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return float(value)
    # NCCL reduces only CUDA tensors; gloo takes CPU ones.
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    t = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / dist.get_world_size()


def save_checkpoint(model: torch.nn.Module, path: str | os.PathLike[str]) -> None:
    """Write the (unwrapped) model's state dict to ``path`` on rank 0 only, atomically.

    The file appears whole or not at all (:func:`recsys_lessons.storage.atomic_file`), so a reader
    or a crash never sees half a checkpoint; in a distributed run the other ranks wait at a barrier
    until it is written, so none runs ahead and reads a stale file.
    """
    if is_main_process():
        state = {k: v.detach().cpu() for k, v in unwrap(model).state_dict().items()}
        with atomic_file(Path(path), "a checkpoint") as tmp:
            torch.save(state, tmp)
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def output_layer_memory(
    n_items: int,
    hidden: int,
    batch_size: int,
    positions: int,
    *,
    world_size: int = 1,
    n_negatives: int | None = None,
    bytes_per_value: int = 4,
) -> dict[str, int]:
    """Bytes one rank holds for the item output layer of a softmax recommender trained with Adam.

    ``parameters = 4 · n_items · (hidden + 1) · bytes``: the item vectors and biases, their
    gradient and Adam's two moment estimates. Data parallelism copies all of it to every rank.

    ``logits = 2 · (batch_size / world_size) · positions · scored · bytes``: the scores of the rank's
    share of the batch, kept for the backward pass, and their gradient, where ``scored`` is
    ``n_items`` for a full softmax and ``1 + n_negatives`` for a sampled one. This part shrinks
    with more ranks (each holds a smaller share of the batch) and with sampling.

    Args:
        n_items: catalogue size (output classes).
        hidden: width of the item vectors.
        batch_size: sequences per optimiser step over all ranks.
        positions: scored positions per sequence (BERT4Rec: the masked ones).
        world_size: ranks sharing the batch.
        n_negatives: ``None`` for a full softmax, else negatives per position (sampled softmax).
        bytes_per_value: 4 for float32, 2 for float16/bfloat16.

    Returns:
        ``{"parameters": ..., "logits": ..., "total": ...}`` in bytes.

    Raises:
        ValueError: a size is not a positive integer, or ``batch_size`` does not split over ``world_size``.
    """
    sizes = {"n_items": n_items, "hidden": hidden, "batch_size": batch_size, "positions": positions,
             "world_size": world_size, "bytes_per_value": bytes_per_value}  # fmt: skip
    if n_negatives is not None:
        sizes["n_negatives"] = n_negatives
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}={value!r}; expected a positive integer")
    if batch_size % world_size:
        raise ValueError(f"batch_size={batch_size} does not split evenly over world_size={world_size}")
    scored = n_items if n_negatives is None else 1 + n_negatives
    parameters = 4 * n_items * (hidden + 1) * bytes_per_value
    logits = 2 * (batch_size // world_size) * positions * scored * bytes_per_value
    return {"parameters": parameters, "logits": logits, "total": parameters + logits}
