"""The GPU path: each neural model trains one epoch on CUDA with mixed precision like on the CPU.

The ``cuda``-marked tests skip on a machine without a CUDA GPU (this project's CI has none); run
them where one is lent with ``pytest -m cuda tests/test_cuda.py`` (and ``make gpu-check`` for the
throughput). The CPU half of the same runs is tested everywhere, so the code the GPU test calls is
known to work up to the device.

Why a loss tolerance at all: on CUDA the loop runs the forward pass under ``torch.autocast``
(bfloat16 where supported, else float16 with a gradient scaler). bfloat16 keeps 8 bits of
mantissa (relative rounding up to 2^-8 ≈ 0.4 % per matmul), float16 11 bits; over one epoch of
optimiser steps the two trajectories drift apart a little. Every batch, mask and negative is drawn
on the CPU from the model's seed, and dropout is off where the constructor allows, so the data are
identical on both devices. The tolerances, on the epoch's mean loss:

- MF and BPR (embedding lookups and dot products, which autocast keeps in float32): 1 %, the
  room for CUDA's other summation order over thousands of steps;
- BERT4Rec (attention and a full-catalogue softmax in reduced precision): 3 %;
- the cross-encoder (MiniLM fine-tuning, whose Hugging Face dropout of 0.1 draws different masks
  on CUDA than on the CPU): 10 %.
"""

from __future__ import annotations

import math

import pytest
import torch

from recsys_lessons.scaleout import NeuralRun, neural_runs

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
TOLERANCE = {"MatrixFactorization": 0.01, "BPR": 0.01, "BERT4Rec": 0.03, "CrossEncoder": 0.10}


@pytest.fixture(scope="module")
def runs() -> dict[str, NeuralRun]:
    return {run.name: run for run in neural_runs(users=60)}


@pytest.mark.data
@pytest.mark.slow
def test_every_neural_model_has_a_one_epoch_run_that_trains_on_the_cpu(runs):
    assert set(runs) == set(TOLERANCE)
    losses = {}
    for name, run in runs.items():
        losses[name], seconds = run.fit("cpu")
        assert run.examples > 0 and math.isfinite(losses[name]) and losses[name] > 0 and seconds > 0, name
    # the CPU reference the GPU is held to is reproducible
    assert runs["MatrixFactorization"].fit("cpu")[0] == losses["MatrixFactorization"]


@pytest.mark.cuda
@pytest.mark.data
@needs_cuda
@pytest.mark.parametrize("name", sorted(TOLERANCE))
def test_one_mixed_precision_epoch_on_cuda_has_the_cpu_loss(runs, name):
    cpu_loss, _ = runs[name].fit("cpu")
    cuda_loss, _ = runs[name].fit("cuda")
    assert cuda_loss == pytest.approx(cpu_loss, rel=TOLERANCE[name]), (
        f"{name}: CUDA loss {cuda_loss:.5f} vs CPU {cpu_loss:.5f} (tolerance {TOLERANCE[name]:.0%})"
    )
