r"""Running one pdesym job over several processes and machines with ``torch.distributed``.

pdesym does not ship its own launcher: a job is spread with ``torchrun`` (one process per GPU or
per CPU slot, ``--nnodes`` for several machines), which sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``. This module reads that environment, starts
the process group (``nccl`` on CUDA, ``gloo`` on CPU) and says which share of the work is whose:

* generation shards trajectory indices into contiguous blocks ``[lo, hi)``; each trajectory's
  initial condition depends only on (seed, index), so the union is the same dataset for any
  number of ranks;
* training (FNO, neural discovery) keeps the random stream identical on every rank, so every
  rank draws the same batch, and each rank takes its rows :func:`batch_rows` of it; gradients
  are averaged by :class:`torch.nn.parallel.DistributedDataParallel` after the loss is scaled by
  :func:`loss_scale`, which makes the averaged gradient equal to the single-process gradient of
  the batch mean.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from pdesym.errors import PdesymError

__all__ = [
    "DistributedContext",
    "environment_world",
    "init_distributed",
    "current_context",
    "shard_range",
    "batch_rows",
    "loss_scale",
    "barrier",
]

_TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistributedContext:
    """Who this process is: ``rank`` of ``world_size``, ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that writes shared outputs (rank 0)."""
        return self.rank == 0

    def device(self, requested: torch.device) -> torch.device:
        """The CUDA device of this local rank when ``requested`` is CUDA, else ``requested``."""
        if requested.type == "cuda" and self.is_distributed:
            return torch.device("cuda", self.local_rank % max(torch.cuda.device_count(), 1))
        return requested


def environment_world() -> DistributedContext | None:
    """The context described by torchrun's environment variables, or None outside torchrun."""
    if not all(name in os.environ for name in _TORCHRUN_VARIABLES):
        return None
    try:
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local = int(os.environ.get("LOCAL_RANK", rank))
    except ValueError as exc:
        raise PdesymError(f"The torchrun environment is malformed ({exc}); launch with torchrun.") from None
    if not 0 <= rank < world:
        raise PdesymError(f"RANK={rank} is outside WORLD_SIZE={world}; launch with torchrun.")
    return DistributedContext(rank=rank, world_size=world, local_rank=local)


def init_distributed(backend: str = "auto", *, timeout_s: float = 600.0) -> DistributedContext:
    """Join the process group that torchrun describes (a no-op single-process context outside it).

    ``backend="auto"`` picks ``nccl`` when CUDA is available, ``gloo`` otherwise.
    """
    if dist.is_available() and dist.is_initialized():
        return current_context()
    context = environment_world()
    if context is None:
        raise PdesymError(
            "--distributed needs the environment set by torchrun (RANK, WORLD_SIZE, MASTER_ADDR, "
            "MASTER_PORT); launch with `torchrun --nproc_per_node N -m pdesym ...`."
        )
    if not dist.is_available():
        raise PdesymError("This torch build has no torch.distributed; install a standard torch wheel.")
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(context.local_rank % torch.cuda.device_count())
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout_s))
    return current_context()


def current_context() -> DistributedContext:
    """The context of an initialised process group, or the single-process context."""
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", rank))
        return DistributedContext(rank=rank, world_size=world, local_rank=local, backend=dist.get_backend())
    return DistributedContext()


def shard_range(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """Contiguous block ``[lo, hi)`` of ``n`` items owned by ``rank``: sizes differ by at most one."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise PdesymError(f"rank {rank} is outside a world of {world_size} processes.")
    base, extra = divmod(n, world_size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def batch_rows(batch_size: int, context: DistributedContext) -> slice:
    """The rows of a batch (drawn identically on all ranks) that this rank computes."""
    lo, hi = shard_range(batch_size, context.rank, context.world_size)
    return slice(lo, hi)


def loss_scale(batch_size: int, context: DistributedContext) -> float:
    r"""Factor turning a local row *sum* into this rank's share of the global batch mean.

    DDP averages gradients over ranks, so the local loss is ``sum_local * W / B``: then
    ``(1/W) Σ_r sum_r W / B = Σ_all / B``, the single-process mean, however the rows split.
    """
    return context.world_size / batch_size


def barrier(context: DistributedContext) -> None:
    """Wait for every rank (a no-op in one process)."""
    if context.is_distributed:
        dist.barrier()
