"""Device choice, seeding and the shared training loop."""

from __future__ import annotations

import pytest
import torch
from transformers import get_linear_schedule_with_warmup

from recsys_lessons.train import History, budget, cpu_threads, get_device, set_seed, train_loop


def _regression(seed=0):
    g = set_seed(seed)
    x = torch.randn(128, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    return x, y


def _batches(x, y, size=32):
    def make(epoch):
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
        for i in range(0, len(x), size):
            idx = perm[i : i + size]
            yield x[idx], y[idx]

    return make


def mse(model, batch):
    xb, yb = batch
    return ((model(xb).squeeze(-1) - yb) ** 2).mean()


def test_get_device(monkeypatch):
    monkeypatch.delenv("RECSYS_LESSONS_DEVICE", raising=False)
    assert get_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert get_device() == torch.device("cpu") or get_device().type == "mps"
        with pytest.raises(ValueError, match="CUDA is not available"):
            get_device("cuda")
    monkeypatch.setenv("RECSYS_LESSONS_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="not a device name"):
        get_device("tpu9")


def test_budget(monkeypatch):
    monkeypatch.setenv("RECSYS_LESSONS_BUDGET", "ci")
    assert budget() == "ci"
    monkeypatch.delenv("RECSYS_LESSONS_BUDGET")
    assert budget() == "full"
    monkeypatch.setenv("RECSYS_LESSONS_BUDGET", " Long ")
    assert budget() == "long"
    monkeypatch.setenv("RECSYS_LESSONS_BUDGET", "huge")
    with pytest.raises(ValueError, match="'huge'"):
        budget()


def test_set_seed_reproducible():
    set_seed(7)
    a = torch.randn(3)
    set_seed(7)
    assert torch.equal(a, torch.randn(3))
    with pytest.raises(TypeError, match="seed must be an int"):
        set_seed(1.5)


def test_loop_learns_and_is_reproducible():
    results = []
    for _ in range(2):
        x, y = _regression()
        set_seed(1)
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        hist = train_loop(model, _batches(x, y), mse, opt, epochs=15, progress=False)
        results.append((hist.train_loss, model.weight.detach().clone()))
    losses, weight = results[0]
    assert losses[-1] < 1e-3 < losses[0]
    torch.testing.assert_close(weight, torch.tensor([[1.0, -2.0, 0.5]]), atol=0.02, rtol=0)
    assert results[0][0] == results[1][0] and torch.equal(results[0][1], results[1][1])


def test_early_stopping_restores_best_weights():
    x, y = _regression()
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    seen = []

    def validate(m):
        # A metric that peaks at epoch 2 and then gets worse: the loop must keep epoch 2's weights.
        seen.append(m.weight.detach().clone())
        return [0.1, 0.2, 0.9, 0.5, 0.4, 0.3, 0.2][len(seen) - 1]

    hist = train_loop(model, _batches(x, y), mse, opt, epochs=7, validate=validate, patience=2, progress=False)
    assert isinstance(hist, History) and hist.best_epoch == 2 and hist.stopped_early
    assert len(hist.valid) == 5  # epochs 0..4: two without improvement after the best
    assert torch.equal(model.weight, seen[2])
    assert list(hist.as_frame().columns) == ["epoch", "train_loss", "seconds", "valid"]


def test_scheduler_and_clipping():
    x, y = _regression()
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = get_linear_schedule_with_warmup(opt, num_warmup_steps=4, num_training_steps=8)
    train_loop(model, _batches(x, y), mse, opt, epochs=2, scheduler=sched, grad_clip=0.5, progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0)  # stepped once per batch: decayed to zero at the last step


def test_loop_bad_inputs():
    x, y = _regression()
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1e30)
    with pytest.raises(ValueError, match="epochs=0"):
        train_loop(model, _batches(x, y), mse, opt, epochs=0)
    with pytest.raises(ValueError, match="patience needs a validate"):
        train_loop(model, _batches(x, y), mse, opt, epochs=1, patience=2)
    with pytest.raises(ValueError, match="mode='best'"):
        train_loop(model, _batches(x, y), mse, opt, epochs=1, mode="best")
    with pytest.raises(ValueError, match="loss became"):
        train_loop(model, _batches(x, y), mse, opt, epochs=5, progress=False)


def test_cpu_threads_pins_and_restores():
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # a setting different from the pin, whatever OMP_NUM_THREADS says
    try:
        with cpu_threads(2):
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 3
        with pytest.raises(RuntimeError, match="inside"), cpu_threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 3  # restored on the error path too
    finally:
        torch.set_num_threads(before)
    with pytest.raises(RuntimeError):  # restored even when the block fails
        with cpu_threads(1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with cpu_threads(None):
        assert torch.get_num_threads() == before
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="num_threads"):
            with cpu_threads(bad):
                pass
