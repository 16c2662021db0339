r"""Training of a 1-D FNO on trajectories, with on-the-fly augmentation, checkpoints and resume.

One optimisation step (the LPSDA / Ko et al. protocol, see :mod:`pdesym.operators.config`):

1. take a batch of whole training trajectories (a :class:`Trajectories`, per-sample dx, dt, x0,
   t0 and valid snapshot range travel with it);
2. apply ``augment(batch, generator)`` -- a symmetry transformation of whole trajectories, so it
   acts *before* any window is cut;
3. draw the number of pushforward steps ``p`` (0 .. min(epoch, unrolling)) and, per sample, a
   start time ``s`` with ``first <= s`` and ``s + time_window + (1 + p) time_future <= stop``;
4. unroll the model ``p`` times without gradient from the window at ``s`` and take a gradient step
   on ``sum_(n, x) (prediction - truth)^2`` (mean over the batch) for the next ``time_future``
   snapshots.

All random draws (model initialisation aside, which has its own generator seeded ``2 seed``) come
from one CPU ``torch.Generator`` seeded ``2 seed + 1``: the shuffles, the windows, the pushforward
depths and the augmentation's group parameters. Its state is saved in every checkpoint, so ``resume=True``
continues to exactly the numbers of an uninterrupted run.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from pdesym.devices import DEVICES, resolve_device
from pdesym.distributed import batch_rows, current_context, loss_scale
from pdesym.errors import PdesymError
from pdesym.operators.checkpoints import read_checkpoint, write_checkpoint
from pdesym.operators.config import FNOConfig
from pdesym.operators.evaluation import RolloutMetrics, evaluate_rollout
from pdesym.operators.fno import FNO1d
from pdesym.operators.trajectories import Trajectories, as_trajectories

__all__ = [
    "DEVICES",
    "Augmentation",
    "EpochRecord",
    "TrainedOperator",
    "TrainingProgress",
    "cut_windows",
    "load_operator",
    "resolve_device",
    "sample_window_starts",
    "train_operator",
]

#: A symmetry transformation of a batch of whole trajectories. It must draw every random number
#: from the generator it is given (a CPU generator) and return trajectories of the same shape.
Augmentation = Callable[[Trajectories, torch.Generator], Trajectories]

@dataclass(frozen=True)
class TrainingProgress:
    """Reported to the ``progress`` callback after every pass over the training data."""

    epoch: int  # 0-based epoch of this pass
    epochs: int
    step: int  # optimisation steps done so far in the run
    total_steps: int
    train_mse: float  # mean per-point squared error of the epoch so far
    epoch_done: bool  # True on the last pass of an epoch, after the checkpoint is written
    valid_nmse: float | None = None  # rollout NMSE on the validation data at the end of the epoch


@dataclass(frozen=True)
class EpochRecord:
    """One line of the training history."""

    epoch: int
    train_mse: float
    lr: float
    seconds: float
    valid_nmse: float | None = None
    valid_nmse_std: float | None = None


@dataclass
class TrainedOperator:
    """A trained FNO with its configuration, seed and history.

    ``model`` holds the parameters of ``best_epoch``: the epoch with the smallest validation
    rollout NMSE when validation data were given (the reference protocol), else the last epoch.
    """

    model: FNO1d
    config: FNOConfig
    seed: int
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = -1
    checkpoint: Path | None = None

    def evaluate(self, data: Any, *, start: int | None = None, batch_size: int = 64) -> RolloutMetrics:
        """Rollout NMSE of the model on ``data`` (see :func:`pdesym.operators.evaluate_rollout`)."""
        return evaluate_rollout(self.model, data, start=start, batch_size=batch_size)

    def to_dict(self) -> dict[str, Any]:
        """Configuration, seed and history as JSON-able data."""
        return {
            "config": self.config.to_dict(), "seed": self.seed, "best_epoch": self.best_epoch,
            "parameters": self.model.parameter_count(), "history": [asdict(r) for r in self.history],
        }


def sample_window_starts(batch: Trajectories, config: FNOConfig, pushforward: int,
                         generator: torch.Generator) -> torch.Tensor:
    """Draw one start index per sample, uniformly among the admissible ones; returns (B,) int64 on CPU.

    Admissible: ``first <= s`` and ``s + time_window + (1 + pushforward) * time_future <= stop``,
    and for ``window_starts = "aligned"`` also ``s = time_window (mod time_future)``.
    """
    tw, tf = config.time_window, config.time_future
    first, stop = batch.first.cpu(), batch.stop.cpu()
    if bool((first < 0).any() or (stop > batch.nt).any()):
        raise PdesymError(
            f"Trajectories.first and .stop must lie in [0, nt = {batch.nt}], got first >= {int(first.min())} "
            f"and stop <= {int(stop.max())}."
        )
    last = stop - tw - (1 + pushforward) * tf  # last admissible start
    if config.window_starts == "aligned":
        phase = tw % tf
        lo = torch.div(first - phase + tf - 1, tf, rounding_mode="floor")
        hi = torch.div(last - phase, tf, rounding_mode="floor")
    else:
        phase, lo, hi = 0, first, last
    if bool((hi < lo).any()):
        b = int((hi < lo).nonzero()[0, 0])
        raise PdesymError(
            f"Training sample {int(batch.sample[b])} has only the snapshots [{int(first[b])}, {int(batch.stop[b])}) "
            f"valid, fewer than the {tw + (1 + pushforward) * tf} a window needs; crop less in the augmentation "
            "or shorten the windows."
        )
    u01 = torch.rand(len(batch), dtype=torch.float64, generator=generator)
    count = (hi - lo + 1).to(torch.float64)
    k = lo + torch.minimum(torch.floor(u01 * count).to(torch.int64), hi - lo)
    return k * tf + phase if config.window_starts == "aligned" else k


def cut_windows(u: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """``u[b, starts[b] : starts[b] + length]`` for every b, without a loop: (B, length, nx)."""
    index = starts.to(u.device)[:, None] + torch.arange(length, device=u.device)
    return u[torch.arange(u.shape[0], device=u.device)[:, None], index]


def _fingerprint(data: Trajectories) -> list[float]:
    u = data.u.detach().to(torch.float64)
    return [float(len(data)), float(data.nt), float(data.nx), float(u.sum()), float(u.pow(2).sum()),
            float(data.dx.to(torch.float64).sum()), float(data.dt.to(torch.float64).sum())]


def train_operator(
    train: Any,
    *,
    config: FNOConfig = FNOConfig(),
    valid: Any | None = None,
    augment: Augmentation | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: Callable[[TrainingProgress], None] | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    checkpoint_every: int = 1,
) -> TrainedOperator:
    """Train an :class:`FNO1d` on ``train`` trajectories by the protocol of the module docstring.

    ``train`` and ``valid``: a :class:`Trajectories` or a record with ``u`` (N, nt, nx) and ``x``,
    ``t`` or ``dx``, ``dt`` (see :func:`pdesym.operators.as_trajectories`).
    ``augment``: applied to every training batch of whole trajectories before windows are cut
    (``None``: no augmentation; :class:`pdesym.operators.RandomTranslation` is the built-in one).
    ``checkpoint``: a ``.pt`` path written every ``checkpoint_every`` epochs and at the end, with a
    JSON summary beside it; an existing file is refused unless ``resume=True``, which continues
    from it (same config, seed and data required) to the result of an uninterrupted run.
    ``progress`` is called after every pass over the data. Returns the :class:`TrainedOperator`
    of the best validation epoch (or the last epoch without validation data).
    """
    if not isinstance(config, FNOConfig):
        raise PdesymError(f"config must be an FNOConfig, got {type(config).__name__}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise PdesymError(f"seed must be a non-negative integer, got {seed!r}.")
    if augment is not None and not callable(augment):
        raise PdesymError(f"augment must be a callable (batch, generator) -> batch, got {type(augment).__name__}.")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise PdesymError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}.")
    device = resolve_device(device)
    dtype = config.torch_dtype
    data = as_trajectories(train)
    config.check_data(nx=data.nx, nt=data.nt, n_trajectories=len(data))
    valid_data = None
    if valid is not None:
        valid_data = as_trajectories(valid)
        if len(valid_data) == 0:
            raise PdesymError("The validation data hold no trajectories; give at least one or pass valid=None.")
        if valid_data.nx != data.nx:
            raise PdesymError(
                f"Validation data have nx = {valid_data.nx} but training data nx = {data.nx}; use one grid."
            )
    fingerprint = _fingerprint(data)
    # Trajectories stay in float64 so that augmentations (flows, resampling) work at full
    # precision; only the windows fed to the network are cast to its dtype.
    data = data.to(device, torch.float64)

    # Two independent streams from one seed: 2*seed draws the initial network, 2*seed + 1 every
    # training choice (so changing the data or the augmentation never changes the initial model).
    model = FNO1d(config, generator=torch.Generator().manual_seed(2 * seed)).to(device=device, dtype=dtype)
    # Under torchrun every rank draws the same batches from the same stream and computes its own
    # rows of them; DDP averages the gradients, so the run follows the single-process one.
    context = current_context()
    network = model
    if context.is_distributed:
        network = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(config.lr_milestones),
                                                     gamma=config.lr_decay)
    generator = torch.Generator().manual_seed(2 * seed + 1)
    history: list[EpochRecord] = []
    best: dict[str, Any] = {"epoch": -1, "nmse": math.inf, "model": None}
    start_epoch = 0

    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.exists() and not resume:
        raise PdesymError(f"The checkpoint {path} exists; pass resume=True to continue it or choose another path.")
    if resume:
        if path is None:
            raise PdesymError("resume=True needs the checkpoint path to resume from.")
        state = read_checkpoint(path)
        saved = FNOConfig.from_dict(state["config"])
        if saved != config:
            raise PdesymError(
                f"The checkpoint {path} was written with a different FNOConfig; resume with the same config."
            )
        if state["seed"] != seed:
            raise PdesymError(
                f"The checkpoint {path} was written with seed {state['seed']}, not {seed}; resume with the same seed."
            )
        if state["data"] != fingerprint:
            raise PdesymError(
                f"The checkpoint {path} was trained on different data; resume with the same training set."
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        history = [EpochRecord(**r) for r in state["history"]]
        best = {"epoch": state["best_epoch"], "nmse": state["best_nmse"],
                "model": state["best_model"]}
        start_epoch = int(state["epochs_done"])

    n = len(data)
    batches_per_pass = -(-n // config.batch_size)
    total_steps = config.epochs * config.passes_per_epoch * batches_per_pass
    tw, tf = config.time_window, config.time_future
    step = start_epoch * config.passes_per_epoch * batches_per_pass

    def save(epochs_done: int) -> None:
        if path is None or not context.is_main:
            return
        state = {
            "config": config.to_dict(), "seed": seed, "epochs_done": epochs_done, "data": fingerprint,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "generator": generator.get_state(), "history": [asdict(r) for r in history],
            "best_epoch": best["epoch"], "best_nmse": best["nmse"], "best_model": best["model"],
        }
        summary = {
            "config": config.to_dict(), "seed": seed, "epochs_done": epochs_done, "best_epoch": best["epoch"],
            "parameters": model.parameter_count(), "augment": repr(augment),
            "train_shape": [n, data.nt, data.nx], "history": [asdict(r) for r in history],
        }
        write_checkpoint(path, state, summary)

    for epoch in range(start_epoch, config.epochs):
        began = time.perf_counter()
        model.train()
        max_unroll = min(epoch, config.unrolling)
        squared_sum, counted = torch.zeros((), dtype=torch.float64, device=device), 0
        for pass_index in range(config.passes_per_epoch):
            order = torch.randperm(n, generator=generator)
            for lo in range(0, n, config.batch_size):
                index = order[lo:lo + config.batch_size]
                batch = data.select(index)
                if augment is not None:
                    batch = augment(batch, generator)
                    if not isinstance(batch, Trajectories) or batch.u.shape != (len(index), data.nt, data.nx):
                        got = tuple(batch.u.shape) if isinstance(batch, Trajectories) else type(batch).__name__
                        raise PdesymError(f"The augmentation must return Trajectories of the batch's shape, got {got}.")
                pushforward = int(torch.randint(max_unroll + 1, (1,), generator=generator))
                starts = sample_window_starts(batch, config, pushforward, generator)
                rows = batch_rows(len(starts), context)
                dx, dt = batch.dx[rows], batch.dt[rows]
                inputs = cut_windows(batch.u[rows], starts[rows], tw).to(dtype)
                targets = cut_windows(batch.u[rows], starts[rows] + tw + pushforward * tf, tf).to(dtype)
                if pushforward:
                    with torch.no_grad():
                        for _ in range(pushforward):
                            inputs = torch.cat([inputs, model(inputs, dx, dt)], dim=1)[:, -tw:]
                optimizer.zero_grad(set_to_none=True)
                row_sum = (network(inputs, dx, dt) - targets).pow(2).sum()
                (row_sum * loss_scale(len(starts), context)).backward()
                optimizer.step()
                squared_sum += row_sum.detach().to(torch.float64)
                counted += len(starts)
                step += 1
            last_pass = pass_index == config.passes_per_epoch - 1
            total = squared_sum.clone()
            if context.is_distributed:
                torch.distributed.all_reduce(total)
            train_mse = float(total) / (counted * tf * data.nx)
            if not math.isfinite(train_mse):
                raise PdesymError(
                    f"Training diverged in epoch {epoch} (non-finite loss); lower the learning rate or check the data."
                )
            if not last_pass and progress is not None:
                progress(TrainingProgress(epoch, config.epochs, step, total_steps, train_mse, False))
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        valid_metrics = evaluate_rollout(model, valid_data) if valid_data is not None else None
        record = EpochRecord(
            epoch=epoch, train_mse=train_mse, lr=lr, seconds=time.perf_counter() - began,
            valid_nmse=None if valid_metrics is None else valid_metrics.mean,
            valid_nmse_std=None if valid_metrics is None else valid_metrics.std,
        )
        history.append(record)
        if valid_metrics is None:  # no selection: the last epoch is the result
            best = {"epoch": epoch, "nmse": math.inf, "model": None}
        elif valid_metrics.mean < best["nmse"]:
            best = {"epoch": epoch, "nmse": valid_metrics.mean,
                    "model": {k: v.detach().clone() for k, v in model.state_dict().items()}}
        if (epoch + 1) % checkpoint_every == 0 or epoch + 1 == config.epochs:
            save(epoch + 1)
        if progress is not None:
            progress(TrainingProgress(epoch, config.epochs, step, total_steps, train_mse, True, record.valid_nmse))

    if best["model"] is not None:
        model.load_state_dict(best["model"])
    model.eval()
    return TrainedOperator(model=model, config=config, seed=seed, history=history,
                           best_epoch=best["epoch"], checkpoint=path)


def load_operator(checkpoint: str | Path, *, device: str | torch.device = "auto") -> TrainedOperator:
    """The trained operator stored in ``checkpoint`` (its best epoch), on ``device``."""
    path = Path(checkpoint)
    state = read_checkpoint(path)
    config = FNOConfig.from_dict(state["config"])
    model = FNO1d(config).to(dtype=config.torch_dtype)
    model.load_state_dict(state["best_model"] if state["best_model"] is not None else state["model"])
    model = model.to(resolve_device(device)).eval()
    return TrainedOperator(model=model, config=config, seed=int(state["seed"]),
                           history=[EpochRecord(**r) for r in state["history"]],
                           best_epoch=int(state["best_epoch"]), checkpoint=path)

