"""Checks for the appendix on scaling out (06).

* :func:`check_rank_positions` (warm-up): which samples ``DistributedSampler`` hands one rank.
* :func:`check_softmax_memory` (stretch): the bytes a rank needs for a full-softmax output layer.
* :func:`check_broken_equivalence` (open-ended): a changed torchrun run that no longer matches one
  process, where the ranks still agree with each other.

Each check runs the learner's answer on concrete cases and names the first value that differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import TensorDataset
from torch.utils.data.distributed import DistributedSampler

from ..distributed import output_layer_memory
from .feedback import Feedback, fmt

__all__ = ["check_broken_equivalence", "check_rank_positions", "check_softmax_memory"]

# (n_samples, world_size, rank): an even split, a padded one, a rank past the real samples' end.
_SHARD_CASES = ((12, 3, 1), (10, 4, 3), (5, 4, 2), (7, 2, 0))
# The rounding tolerance of tests/test_distributed.py: a real change moves weights by far more.
_ROUNDING = 1e-5


def _call(exercise: str, fn: Callable, *args) -> tuple[object, Feedback | None]:
    try:
        return fn(*args), None
    except Exception as err:  # the learner's code failed: say so instead of crashing the cell
        return None, Feedback(exercise, False, f"your function raised {type(err).__name__}: {err}")


def check_rank_positions(fn: Callable[[int, int, int], Sequence[int]], exercise: str = "Exercise 1") -> Feedback:
    """Check ``fn(n_samples, world_size, rank) -> sample indices`` against torch's own sampler.

    The reference is ``list(DistributedSampler(dataset, world_size, rank, shuffle=False))``
    on four cases, two of which need padding.
    """
    for n, world, rank in _SHARD_CASES:
        got, error = _call(exercise, fn, n, world, rank)
        if error is not None:
            return error
        sampler: DistributedSampler = DistributedSampler(
            TensorDataset(torch.arange(n)), num_replicas=world, rank=rank, shuffle=False
        )
        want = [int(i) for i in sampler]
        try:
            got_list = [int(i) for i in got]  # type: ignore[union-attr, attr-defined]
        except (TypeError, ValueError):
            return Feedback(exercise, False, f"your function returned {type(got).__name__}; expected a list of ints")
        case = f"n_samples={n}, world_size={world}, rank={rank}"
        if len(got_list) != len(want):
            hint = (
                "the sampler pads the data by repeating its first samples until every rank has the same count, "
                "ceil(n_samples / world_size)"
                if len(got_list) < len(want)
                else "each rank gets ceil(n_samples / world_size) samples, no more"
            )
            return Feedback(
                exercise, False, f"for {case} you return {len(got_list)} samples, expected {len(want)} — {hint}."
            )
        per_rank = len(want)
        block = [i % n for i in range(rank * per_rank, (rank + 1) * per_rank)]
        for position, (g, w) in enumerate(zip(got_list, want, strict=True)):
            if g != w:
                hint = (
                    "the sampler deals the samples out in turn (rank, rank + world_size, ...), not in contiguous blocks"
                    if got_list == block
                    else "rank r gets positions r, r + world_size, ... of the index list padded with its own start"
                )
                return Feedback(exercise, False, f"for {case} your sample {position} is {g}, expected {w} — {hint}.")
    return Feedback(
        exercise, True, f"your shards match DistributedSampler on all {len(_SHARD_CASES)} cases, padding included."
    )


# (n_items, hidden, batch_size, positions, world_size): ML-100K, ML-20M's rated films, 1M items on 8 GPUs.
_MEMORY_CASES = ((1682, 64, 64, 10, 1), (26744, 64, 256, 10, 4), (1_000_000, 128, 1024, 20, 8))


def check_softmax_memory(fn: Callable[[int, int, int, int, int], float], exercise: str = "Exercise 2") -> Feedback:
    """Check ``fn(n_items, hidden, batch_size, positions, world_size) -> bytes`` of a full softmax.

    The reference is :func:`recsys_lessons.distributed.output_layer_memory` (float32, Adam).
    """
    for n_items, hidden, batch, positions, world in _MEMORY_CASES:
        got, error = _call(exercise, fn, n_items, hidden, batch, positions, world)
        if error is not None:
            return error
        if not isinstance(got, (int, float, np.integer, np.floating)) or isinstance(got, bool):
            return Feedback(exercise, False, f"your function returned {type(got).__name__}; expected a number of bytes")
        parts = output_layer_memory(n_items, hidden, batch, positions, world_size=world)
        want = parts["total"]
        if abs(float(got) - want) <= 1e-9 * want:
            continue
        case = f"n_items={n_items:,}, hidden={hidden}, batch_size={batch}, positions={positions}, world_size={world}"
        ratio = float(got) / want
        logits_full_batch = parts["logits"] * world
        if np.isclose(float(got), parts["parameters"] / 4 + parts["logits"]) or np.isclose(
            float(got), parts["parameters"] / 2 + parts["logits"]
        ):
            hint = "count the item table four times: weights, their gradient and Adam's two moments"
        elif np.isclose(float(got), parts["parameters"] + logits_full_batch):
            hint = "each rank scores only its share of the batch, batch_size / world_size sequences"
        elif np.isclose(float(got), parts["parameters"] + parts["logits"] / 2):
            hint = "the logits are kept for the backward pass and get a gradient of the same size: count them twice"
        elif np.isclose(ratio, 8) or np.isclose(ratio, 0.125):
            hint = "bytes, not bits: a float32 is 4 bytes"
        else:
            hint = "parameters = 4·n_items·(hidden+1)·4 bytes, plus 2 copies of the rank's logits"
        return Feedback(
            exercise,
            False,
            f"for {case} you give {round(float(got)):,} bytes, expected {want:,} ({ratio:.3g}x) — {hint}.",
        )
    return Feedback(
        exercise, True, f"your byte counts match on all {len(_MEMORY_CASES)} cases, up to a million items on 8 ranks."
    )


def check_broken_equivalence(
    rank_weights: Sequence[Mapping[str, torch.Tensor]],
    single: Mapping[str, torch.Tensor],
    exercise: str = "Exercise 3",
) -> Feedback:
    """Check that a changed torchrun run still agrees across ranks but no longer matches one process.

    Args:
        rank_weights: the final state dicts of every rank of the changed run.
        single: the single-process run's final state dict.
        exercise: the exercise's name.
    """
    if len(rank_weights) < 2:
        return Feedback(exercise, False, f"give the weights of every rank (at least 2), got {len(rank_weights)}")
    first = rank_weights[0]
    if set(first) != set(single):
        return Feedback(exercise, False, f"the runs hold different parameters: {sorted(set(first) ^ set(single))}")
    for r, other in enumerate(rank_weights[1:], start=1):
        for name in first:
            if not torch.equal(first[name], other[name]):
                gap = float((first[name] - other[name]).abs().max())
                return Feedback(
                    exercise,
                    False,
                    f"rank {r}'s {name} differs from rank 0's by up to {fmt(gap)}: DDP keeps the ranks bit-identical, "
                    "so these files are probably not from the same run",
                )
    gaps = {name: float((first[name].float() - single[name].float()).abs().max()) for name in first}
    name = max(gaps, key=gaps.__getitem__)
    if gaps[name] <= _ROUNDING:
        return Feedback(
            exercise,
            False,
            f"the largest difference from one process is {fmt(gaps[name])} (in {name}), within rounding "
            f"({_ROUNDING:g}): your change left every optimiser step the same",
        )
    return Feedback(
        exercise,
        True,
        f"the ranks agree bit for bit, and differ from one process by up to {fmt(gaps[name])} in {name}, "
        f"{gaps[name] / _ROUNDING:.0f}x the rounding tolerance: your change altered what the optimiser saw.",
    )
