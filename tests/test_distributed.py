"""torch.distributed on CPU: two local gloo processes set up exactly as torchrun would set them."""

from __future__ import annotations

import math
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from pdesym.distributed import (
    DistributedContext,
    batch_rows,
    current_context,
    environment_world,
    init_distributed,
    loss_scale,
    shard_range,
)
from pdesym.errors import PdesymError
from pdesym.operators import Trajectories, get_fno_config, train_operator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def advected_modes(n: int, *, nt: int = 24, nx: int = 32, dt: float = 0.1, seed: int = 0) -> Trajectories:
    """Exact solutions of u_t + u_x = 0 on [0, 2π): random low Fourier modes moving right."""
    g = torch.Generator().manual_seed(seed)
    x = torch.arange(nx, dtype=torch.float64) * (2 * math.pi / nx)
    t = torch.arange(nt, dtype=torch.float64) * dt
    k = torch.arange(1, 4, dtype=torch.float64)
    amp = torch.randn(n, 3, generator=g, dtype=torch.float64) / k
    phase = 2 * math.pi * torch.rand(n, 3, generator=g, dtype=torch.float64)
    arg = k[None, None, None, :] * (x[None, None, :, None] - t[None, :, None, None]) + phase[:, None, None, :]
    return Trajectories.from_grid((amp[:, None, None, :] * torch.sin(arg)).sum(-1), x, t)


CONFIG = get_fno_config("cpu-small").replace(
    modes=6, width=8, layers=2, projection_width=8, time_window=4, time_future=4,
    epochs=2, passes_per_epoch=3, batch_size=5, unrolling=1, lr_milestones=(1,), dtype="float64")


def _train_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    context = init_distributed("gloo")
    assert context == DistributedContext(rank, world, rank, "gloo")
    result = train_operator(advected_modes(7, seed=1), config=CONFIG, seed=3, device="cpu")
    state = {k: v.detach().clone() for k, v in result.model.state_dict().items()}
    torch.save({"state": state, "history": [r.train_mse for r in result.history]}, f"{out}.{rank}")
    torch.distributed.barrier()  # both ranks done before either closes its connections (gloo can abort otherwise)
    torch.distributed.destroy_process_group()


def test_ddp_fno_training_on_two_processes_follows_the_single_process_run(tmp_path):
    """Same seed, same data: 2 gloo ranks (rows split 3+2 and 4+3) end where one process ends."""
    single = train_operator(advected_modes(7, seed=1), config=CONFIG, seed=3, device="cpu")
    out = str(tmp_path / "ddp")
    mp.start_processes(_train_worker, args=(2, _free_port(), out), nprocs=2, join=True, start_method="spawn")
    ranks = [torch.load(f"{out}.{r}", weights_only=False) for r in range(2)]
    expected = single.model.state_dict()
    for saved in ranks:
        for name, value in expected.items():
            assert torch.allclose(saved["state"][name], value, rtol=1e-9, atol=1e-12), name
        assert saved["history"] == pytest.approx([r.train_mse for r in single.history], rel=1e-9)
    # the ranks agree with each other bit for bit: DDP broadcasts one averaged gradient
    assert all(torch.equal(ranks[0]["state"][k], ranks[1]["state"][k]) for k in expected)


def test_shards_cover_every_index_once_in_order():
    for n in (0, 1, 5, 7, 1024):
        for world in (1, 2, 3, 8):
            blocks = [shard_range(n, r, world) for r in range(world)]
            assert blocks[0][0] == 0 and blocks[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))
            sizes = [hi - lo for lo, hi in blocks]
            assert max(sizes) - min(sizes) <= 1
    with pytest.raises(PdesymError, match="outside a world"):
        shard_range(4, 2, 2)


def test_loss_scale_turns_row_sums_into_the_global_mean():
    """(1/W) Σ_r scale·Σ_rows = Σ_all / B for any split of B rows over W ranks."""
    values = torch.arange(1.0, 8.0)
    for world in (1, 2, 3):
        parts = []
        for rank in range(world):
            context = DistributedContext(rank=rank, world_size=world)
            parts.append(values[batch_rows(len(values), context)].sum() * loss_scale(len(values), context))
        assert float(sum(parts) / world) == pytest.approx(float(values.mean()), rel=1e-15)


def test_environment_detection(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert environment_world() is None
    assert current_context() == DistributedContext()
    with pytest.raises(PdesymError, match="torchrun"):
        init_distributed()
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "1")
    with pytest.raises(PdesymError, match="outside WORLD_SIZE"):
        environment_world()
