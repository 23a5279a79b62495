"""Data-parallel training: torchrun + DDP + DistributedSampler give the single-process result.

The end-to-end test starts two CPU processes with ``python -m torch.distributed.run`` (torchrun)
on the gloo backend, trains the package's biased MF on 20,000 ML-100K ratings for two epochs, and
compares the weights the two ranks end with, with each other and with one ordinary process run
with the same global batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from recsys_lessons import distributed as D
from recsys_lessons.scaleout import launch, train_command
from recsys_lessons.train import train_loop


def ctx(rank: int, world_size: int) -> D.DistContext:
    return D.DistContext(rank=rank, local_rank=rank, world_size=world_size, device=torch.device("cpu"), backend=None)


def run_training(out: Path, nproc: int | None) -> str:
    """One ``scaleout train`` run: a plain process (``nproc=None``) or torchrun with ``nproc`` ranks."""
    return launch(train_command(out, nproc=nproc, ratings=20000, epochs=2, global_batch_size=500, seed=7))


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)


@pytest.mark.data
@pytest.mark.slow
def test_two_torchrun_ranks_end_equal_to_each_other_and_to_one_process(tmp_path):
    printed = run_training(tmp_path / "two", nproc=2)
    assert "rank 0/2 (gloo, cpu)" in printed and "rank 1/2 (gloo, cpu)" in printed
    run_training(tmp_path / "one", nproc=None)
    r0, r1 = weights(tmp_path / "two" / "weights-rank0.pt"), weights(tmp_path / "two" / "weights-rank1.pt")
    one = weights(tmp_path / "one" / "weights-rank0.pt")
    assert set(r0) == set(r1) == set(one) and {"user.weight", "item.weight"} <= set(one)
    for name in one:
        # DDP hands every rank the same averaged gradient, so the ranks take bit-identical steps.
        assert torch.equal(r0[name], r1[name]), name
        # One process sums the same 500 samples' gradients in another order than (mean of 250 + mean
        # of 250) / 2, so float32 rounding differs at every step, and Adam, which divides each
        # gradient by its own running scale, carries it forward even for near-zero gradients.
        # Measured: at most 1.3e-7 here (20,000 ratings, 2 epochs), 1.5e-6 on 4,000 ratings and 1
        # epoch. The tolerance, 1e-5, is 1,000x below one Adam step (lr = 0.01): a real difference
        # in what a step saw (a sample twice, a missing gradient average) moves weights by ~lr.
        torch.testing.assert_close(r0[name], one[name], rtol=0.0, atol=1e-5, msg=name)
    # the checkpoint is rank 0's final state, written by rank 0 alone (no per-rank copies)
    ckpt = weights(tmp_path / "two" / "checkpoint.pt")
    assert all(torch.equal(ckpt[k], r0[k]) for k in r0)
    assert sorted(p.name for p in (tmp_path / "two").glob("*.pt")) == [
        "checkpoint.pt",
        "weights-rank0.pt",
        "weights-rank1.pt",
    ]
    # the logged loss is the mean over ranks: identical on both, and equal to one process's
    h0, h1, h = (
        json.loads((tmp_path / d / f"history-rank{r}.json").read_text())
        for d, r in (("two", 0), ("two", 1), ("one", 0))
    )
    assert h0["train_loss"] == h1["train_loss"]
    assert (h0["world_size"], h0["per_rank_batch_size"], h0["backend"]) == (2, 250, "gloo")
    assert (h["world_size"], h["per_rank_batch_size"], h["backend"]) == (1, 500, None)
    assert h0["train_loss"] == pytest.approx(h["train_loss"], rel=1e-6)
    assert h["train_loss"][1] < h["train_loss"][0]  # it trains


def test_the_ranks_shares_of_a_global_batch_are_that_batch_of_one_process():
    data = torch.utils.data.TensorDataset(torch.arange(40))
    one = list(D.sharded_batches(data, 8, ctx(0, 1), seed=3)(epoch=2))
    ranks = [list(D.sharded_batches(data, 8, ctx(r, 2), seed=3)(epoch=2)) for r in (0, 1)]
    assert len(one) == len(ranks[0]) == len(ranks[1]) == 5
    for k, (batch,) in enumerate(one):
        shares = torch.cat([ranks[0][k][0], ranks[1][k][0]])
        assert sorted(shares.tolist()) == sorted(batch.tolist())
        assert len(ranks[0][k][0]) == len(ranks[1][k][0]) == 4
    # set_epoch reshuffles: another epoch, another order; the same epoch, the same order
    again = [b for (b,) in D.sharded_batches(data, 8, ctx(0, 1), seed=3)(epoch=2)]
    other = [b for (b,) in D.sharded_batches(data, 8, ctx(0, 1), seed=3)(epoch=3)]
    assert torch.equal(torch.cat(again), torch.cat([b for (b,) in one]))
    assert not torch.equal(torch.cat(other), torch.cat(again))


def test_an_uneven_dataset_is_padded_with_repeats_as_the_sampler_documents():
    data = torch.utils.data.TensorDataset(torch.arange(5))
    seen = [torch.cat([b for (b,) in D.sharded_batches(data, 2, ctx(r, 2))(0)]) for r in (0, 1)]
    both = torch.cat(seen).tolist()
    assert len(both) == 6 and set(both) == set(range(5))  # one sample twice
    dropped = [torch.cat([b for (b,) in D.sharded_batches(data, 2, ctx(r, 2), drop_last=True)(0)]) for r in (0, 1)]
    assert len(torch.cat(dropped)) == 4 and len(set(torch.cat(dropped).tolist())) == 4


def test_bad_global_batch_sizes_are_refused():
    data = torch.utils.data.TensorDataset(torch.arange(10))
    with pytest.raises(ValueError, match="global_batch_size=5 does not split evenly over world_size=2"):
        D.sharded_batches(data, 5, ctx(0, 2))
    with pytest.raises(ValueError, match="global_batch_size=0"):
        D.sharded_batches(data, 0, ctx(0, 1))


def test_without_torchrun_it_is_one_process_and_nothing_is_started(monkeypatch):
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    c = D.init_distributed()
    assert (c.rank, c.world_size, c.backend, c.is_main) == (0, 1, None, True)
    assert not torch.distributed.is_initialized()
    assert D.is_main_process() and D.all_reduce_mean(2.5) == 2.5
    model = torch.nn.Linear(2, 1)
    assert D.wrap_model(model, c) is model and D.unwrap(model) is model
    D.teardown()  # nothing to leave: no error


def test_malformed_torchrun_variables_get_a_clear_error(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ValueError, match=r"incomplete.*'LOCAL_RANK', 'WORLD_SIZE'"):
        D.init_distributed()
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE='two' is not an integer"):
        D.init_distributed()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="RANK=2, WORLD_SIZE=2"):
        D.init_distributed()
    with pytest.raises(ValueError, match="backend='mpi'"):
        D.init_distributed("mpi")
    if not torch.cuda.is_available():
        monkeypatch.setenv("RANK", "0")
        with pytest.raises(ValueError, match=r"nccl.*needs CUDA"):
            D.init_distributed("nccl")


def test_the_checkpoint_is_written_by_rank_0_only(tmp_path, monkeypatch):
    model = torch.nn.Linear(3, 1)
    D.save_checkpoint(model, tmp_path / "main.pt")
    assert torch.equal(weights(tmp_path / "main.pt")["weight"], model.weight.detach())
    monkeypatch.setattr(D, "is_main_process", lambda: False)
    D.save_checkpoint(model, tmp_path / "other.pt")
    assert list(tmp_path.iterdir()) == [tmp_path / "main.pt"]  # no file, no temporary left behind


def test_train_loop_checkpoints_the_kept_weights(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.utils.data.TensorDataset(x, y)
    history = train_loop(
        model,
        D.sharded_batches(data, 16, ctx(0, 1), seed=0),
        lambda m, b: torch.nn.functional.mse_loss(m(b[0]).squeeze(-1), b[1]),
        opt,
        3,
        device="cpu",
        progress=False,
        checkpoint=tmp_path / "ckpt" / "model.pt",
    )
    assert history.train_loss[-1] < history.train_loss[0]
    saved = weights(tmp_path / "ckpt" / "model.pt")
    assert torch.equal(saved["weight"], model.weight.detach()) and torch.equal(saved["bias"], model.bias.detach())


def test_output_layer_memory_by_hand():
    # ML-100K's 1,682 items, 64-wide vectors, 64 sequences of 10 masked positions, float32
    m = D.output_layer_memory(1682, 64, 64, 10)
    assert m["parameters"] == 4 * 1682 * 65 * 4 == 1_749_280  # weights + bias, gradient, Adam's 2 moments
    assert m["logits"] == 2 * 64 * 10 * 1682 * 4 == 8_611_840  # logits and their gradient
    assert m["total"] == m["parameters"] + m["logits"]
    split = D.output_layer_memory(1682, 64, 64, 10, world_size=2)
    assert split["parameters"] == m["parameters"] and split["logits"] == m["logits"] // 2  # DDP copies the table
    assert D.output_layer_memory(1682, 64, 64, 10, n_negatives=64)["logits"] == 2 * 64 * 10 * 65 * 4
    assert D.output_layer_memory(1682, 64, 64, 10, bytes_per_value=2)["total"] == m["total"] // 2
    with pytest.raises(ValueError, match="n_items=0"):
        D.output_layer_memory(0, 64, 64, 10)
    with pytest.raises(ValueError, match="batch_size=63 does not split evenly over world_size=2"):
        D.output_layer_memory(1682, 64, 63, 10, world_size=2)


def test_a_failing_run_raises_with_its_output(tmp_path):
    argv = train_command(tmp_path, global_batch_size=3, ratings=10)
    argv[argv.index("--epochs") + 1] = "zero"  # the command line refuses it before any data loads
    with pytest.raises(RuntimeError, match=r"exited with 2:[\s\S]*invalid int value: 'zero'"):
        launch(argv)
