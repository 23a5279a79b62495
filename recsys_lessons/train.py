"""Device choice, seeding and the one training loop every neural model in the course uses.

The loop is deliberately small and explicit so a learner can read it in one sitting:
for each epoch, draw fresh batches (negative sampling happens there), move them to the device,
compute the loss, step the optimiser (with gradient clipping and an optional per-step schedule),
then evaluate on validation data and keep the best weights (early stopping). On CUDA the forward
pass runs under mixed precision with a gradient scaler; on MPS and CPU it runs in float32.

The same loop runs data-parallel under ``torchrun``: give it a model wrapped by
:func:`recsys_lessons.distributed.wrap_model` and batches from
:func:`recsys_lessons.distributed.sharded_batches`; it then logs the loss averaged over the ranks,
shows progress and writes checkpoints on rank 0 only.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from .distributed import all_reduce_mean, is_main_process, save_checkpoint

__all__ = [
    "History",
    "budget",
    "cpu_threads",
    "get_device",
    "set_seed",
    "to_device",
    "train_loop",
]

Batch = torch.Tensor | Sequence[torch.Tensor] | Mapping[str, torch.Tensor]


def budget() -> Literal["ci", "full", "long"]:
    """The run budget from ``RECSYS_LESSONS_BUDGET``.

    ``"ci"`` shrinks epochs and samples so every notebook runs in minutes (set by ``make test``);
    ``"full"`` (the default) is what the committed outputs show and fits a class period on a laptop
    CPU; ``"long"`` keeps the bigger runs for those with time or a GPU.

    Raises:
        ValueError: for any other value.
    """
    value = os.environ.get("RECSYS_LESSONS_BUDGET", "full").strip().lower() or "full"
    if value not in ("ci", "full", "long"):
        raise ValueError(f"RECSYS_LESSONS_BUDGET={value!r}; expected 'ci', 'full' or 'long'")
    return value  # type: ignore[return-value]


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Pick the device: the argument, else ``$RECSYS_LESSONS_DEVICE``, else CUDA, MPS, CPU.

    Args:
        device: ``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"`` or a ``torch.device``; ``None`` or
            ``"auto"`` picks the best available.

    Raises:
        ValueError: if the requested device is not available on this machine, or unknown.
    """
    if device is None or device == "auto":
        device = os.environ.get("RECSYS_LESSONS_DEVICE") or "auto"
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device={device!r} is not a device name ({exc})") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but CUDA is not available here")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} requested but Apple MPS is not available here")
    return dev


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (all devices) and return a CPU generator seeded the same.

    CPU runs with the same seed give identical numbers; GPU kernels may still differ in the last bits.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds the legacy global RNG that libraries still use
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(int(seed))


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Run torch CPU ops on ``n`` threads inside the block, then restore the previous setting.

    Two reasons to pin: small models (a few thousand embedding rows per step) run faster on one
    thread than on several spinning threads of a shared machine; and some multi-threaded CPU
    reductions add up in an order that depends on thread scheduling (measured: BERT4Rec with a
    sampled loss gave different numbers in two runs on two threads, identical ones on one).

    Args:
        n: threads, or ``None`` to leave the setting alone.

    Raises:
        ValueError: ``n`` is not a positive integer.
    """
    if n is None:
        yield
        return
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"num_threads={n!r}; expected a positive integer or None")
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move a tensor, or a tuple/list/dict of tensors, to ``device`` (other values pass through)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


@dataclass
class History:
    """What happened during training.

    Attributes:
        train_loss: mean training loss per epoch.
        valid: the validation metric per epoch (empty without a validation function).
        best_epoch: index of the epoch whose weights were kept (the last one without validation).
        seconds: wall-clock seconds per epoch.
        stopped_early: whether patience ran out before the last epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    valid: list[float] = field(default_factory=list)
    best_epoch: int = -1
    seconds: list[float] = field(default_factory=list)
    stopped_early: bool = False

    def as_frame(self):
        """The history as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        data = {"epoch": range(len(self.train_loss)), "train_loss": self.train_loss, "seconds": self.seconds}
        if self.valid:
            data["valid"] = self.valid
        return pd.DataFrame(data)


def train_loop(
    model: torch.nn.Module,
    batches: Callable[[int], Iterable[Batch]],
    loss_fn: Callable[[Any, Any], torch.Tensor],  # (model, batch) -> loss; model is ``model``
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    device: torch.device | str | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    grad_clip: float | None = None,
    validate: Callable[[Any], float] | None = None,
    mode: Literal["max", "min"] = "max",
    patience: int | None = None,
    mixed_precision: bool | None = None,
    progress: bool = True,
    desc: str = "train",
    checkpoint: str | os.PathLike[str] | None = None,
) -> History:
    """Train ``model`` and return its :class:`History`.

    Args:
        model: the module; it is moved to ``device``.
        batches: ``epoch -> iterable of batches``; called once per epoch so that sampling (e.g.
            negatives) can be redrawn with an epoch-dependent seed.
        loss_fn: ``(model, batch on device) -> scalar loss tensor``.
        optimizer: built over ``model.parameters()``.
        epochs: maximum number of epochs (>= 1).
        device: see :func:`get_device`.
        scheduler: stepped after every optimiser step (e.g. transformers' ``get_linear_schedule_with_warmup``).
        grad_clip: clip the global gradient norm to this value.
        validate: ``model -> metric`` run after each epoch in eval mode without gradients; the
            best epoch's weights are restored at the end.
        mode: whether a larger (``"max"``) or smaller (``"min"``) validation metric is better.
        patience: stop after this many epochs without improvement (needs ``validate``).
        mixed_precision: autocast with a gradient scaler; default on for CUDA only.
        progress: show a tqdm bar per epoch (on rank 0 only in a distributed run).
        desc: label of the progress bar.
        checkpoint: write the model's state dict here after every epoch and once more at the end
            with the kept weights (rank 0 only, atomically; see
            :func:`recsys_lessons.distributed.save_checkpoint`).

    Under ``torchrun`` every rank runs this function with the same arguments; ``validate`` sees the
    same weights on every rank (DDP keeps them equal), so with the same validation data every rank
    takes the same early-stopping decision.

    Raises:
        ValueError: ``epochs`` < 1, ``patience`` without ``validate``, bad ``mode``, or a loss that
            becomes NaN/inf (the message names the epoch and step).
    """
    if epochs < 1:
        raise ValueError(f"epochs={epochs!r}; expected at least 1")
    if mode not in ("max", "min"):
        raise ValueError(f"mode={mode!r}; expected 'max' or 'min'")
    if patience is not None and validate is None:
        raise ValueError("patience needs a validate function")
    dev = get_device(device)
    model.to(dev)
    use_amp = (dev.type == "cuda") if mixed_precision is None else bool(mixed_precision and dev.type == "cuda")
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)

    history = History()
    best_value, best_state, since_best = -math.inf if mode == "max" else math.inf, None, 0
    for epoch in range(epochs):
        model.train()
        start, total, n = time.perf_counter(), 0.0, 0
        bar = tqdm(
            batches(epoch),
            desc=f"{desc} epoch {epoch + 1}/{epochs}",
            disable=not (progress and is_main_process()),
            leave=False,
        )
        for step, batch in enumerate(bar):
            batch = to_device(batch, dev)
            with torch.autocast(device_type=dev.type, dtype=amp_dtype, enabled=use_amp):
                loss = loss_fn(model, batch)
            if not torch.isfinite(loss):
                raise ValueError(f"loss became {loss.item()} at epoch {epoch}, step {step}")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if grad_clip is not None:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            total += loss.item()
            n += 1
            if step % 20 == 0:
                bar.set_postfix(loss=f"{total / n:.4f}")
        bar.close()
        history.train_loss.append(all_reduce_mean(total / max(n, 1)))  # one process: the value itself
        history.seconds.append(time.perf_counter() - start)
        if checkpoint is not None:
            save_checkpoint(model, checkpoint)

        if validate is None:
            history.best_epoch = epoch
            continue
        model.eval()
        with torch.no_grad():
            value = float(validate(model))
        history.valid.append(value)
        better = value > best_value if mode == "max" else value < best_value
        if better:
            best_value, since_best, history.best_epoch = value, 0, epoch
            best_state = copy.deepcopy({k: v.detach().clone() for k, v in model.state_dict().items()})
        else:
            since_best += 1
            if patience is not None and since_best >= patience:
                history.stopped_early = epoch < epochs - 1
                break
    if best_state is not None:
        model.load_state_dict(best_state)
        if checkpoint is not None:
            save_checkpoint(model, checkpoint)
    model.eval()
    return history
