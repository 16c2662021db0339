r"""Autoregressive rollout of a trained operator and its normalised mean squared error.

Protocol of LPSDA / Ko et al. (``test_unrolled_losses``): the rollout starts from the true window
``u[start : start + time_window]`` with ``start = time_window`` (the first window is left out
because time-translation augmentation draws training windows from it), feeds each prediction back
as the next input, and runs to the end of the trajectory. Per trajectory b,

.. math::  \mathrm{NMSE}_b = \sum_{n} \frac{\lVert \tilde u_{b,n} - u_{b,n} \rVert^2}{\lVert u_{b,n} \rVert^2},

summed over every predicted snapshot n (discrete l2 norms over x); reported as mean and standard
deviation over the test trajectories. (The reference code divides the batch sum by its training
batch size rather than the test batch size; that equals the mean over trajectories when the two
agree, which is the LPSDA set-up. LPSDA reports a bootstrap std of batch means; pdesym the plain
std over trajectories.) With nt = 140 and time_window = 20 the sum runs over 100 snapshots.

The one-step error uses the same sum, but each window is predicted from the *true* previous one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from pdesym.errors import PdesymError
from pdesym.operators.fno import FNO1d
from pdesym.operators.trajectories import as_trajectories

__all__ = ["RolloutMetrics", "evaluate_rollout", "normalised_squared_error", "rollout"]


def normalised_squared_error(prediction: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``||prediction - truth||^2 / ||truth||^2`` over the last axis (x), shape of the leading axes.

    A snapshot that is identically zero is normalised by the smallest positive float instead.
    """
    error = (prediction - truth).pow(2).sum(-1)
    norm = truth.pow(2).sum(-1).clamp_min(torch.finfo(truth.dtype).tiny)
    return error / norm


@torch.no_grad()
def rollout(model: FNO1d, window: torch.Tensor, dx: torch.Tensor, dt: torch.Tensor, steps: int) -> torch.Tensor:
    """Predict ``steps`` snapshots after ``window`` (B, time_window, nx) by feeding predictions back.

    Each call of the model predicts ``time_future`` snapshots; the input of the next call is the
    last ``time_window`` snapshots seen so far. The last call is cut to ``steps``. Returns
    (B, steps, nx).
    """
    tw, tf = model.config.time_window, model.config.time_future
    history = window
    predictions = []
    produced = 0
    while produced < steps:
        block = model(history[:, -tw:], dx, dt)
        predictions.append(block)
        history = torch.cat([history[:, -tw:], block], dim=1) if tf < tw else block[:, -tw:]
        produced += tf
    return torch.cat(predictions, dim=1)[:, :steps]


@dataclass(frozen=True, eq=False)  # tensors inside: compare fields explicitly
class RolloutMetrics:
    """Per-trajectory rollout and one-step NMSE and their mean and standard deviation.

    ``per_time`` (N, T) is the normalised error of each predicted snapshot ``times`` (indices into
    the trajectory); ``nmse`` = ``per_time.sum(1)``, ``one_step`` likewise for teacher-forced
    windows.
    """

    nmse: torch.Tensor
    one_step: torch.Tensor
    per_time: torch.Tensor
    times: torch.Tensor
    start: int

    @property
    def mean(self) -> float:
        """Mean rollout NMSE over the trajectories."""
        return float(self.nmse.mean())

    @property
    def std(self) -> float:
        """Standard deviation (N - 1 in the denominator) of the rollout NMSE; 0 for one trajectory."""
        return float(self.nmse.std()) if self.nmse.numel() > 1 else 0.0

    @property
    def one_step_mean(self) -> float:
        """Mean one-step (teacher-forced) NMSE."""
        return float(self.one_step.mean())

    @property
    def one_step_std(self) -> float:
        """Standard deviation of the one-step NMSE."""
        return float(self.one_step.std()) if self.one_step.numel() > 1 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Summary numbers for JSON reports."""
        return {
            "nmse_mean": self.mean, "nmse_std": self.std,
            "one_step_mean": self.one_step_mean, "one_step_std": self.one_step_std,
            "n_trajectories": int(self.nmse.numel()), "start": self.start,
            "n_snapshots": int(self.times.numel()),
        }


@torch.no_grad()
def evaluate_rollout(model: FNO1d, data: Any, *, start: int | None = None, batch_size: int = 64) -> RolloutMetrics:
    """Roll ``model`` out over every trajectory of ``data`` and score it (see the module docstring).

    ``start`` is the first input snapshot (default ``time_window``, the reference protocol; 0
    starts from the first snapshots). ``batch_size`` trajectories are rolled out at once.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise PdesymError(f"batch_size must be a positive integer, got {batch_size!r}.")
    traj = as_trajectories(data)
    config = model.config
    tw, tf = config.time_window, config.time_future
    start = tw if start is None else int(start)
    if len(traj) == 0:
        raise PdesymError("The test data holds no trajectories; give at least one.")
    config.check_grid(traj.nx)
    if start < 0 or start + tw >= traj.nt:
        raise PdesymError(
            f"The rollout start {start} leaves no snapshot to predict in trajectories of nt = {traj.nt} "
            f"with time_window = {tw}; use 0 <= start < {traj.nt - tw}."
        )
    parameter = next(model.parameters())
    was_training = model.training
    model.eval()
    steps = traj.nt - start - tw
    windows = -(-steps // tf)  # teacher-forced windows needed to cover the same snapshots
    nmse, one_step, per_time = [], [], []
    try:
        for lo in range(0, len(traj), batch_size):
            chunk = traj.select(torch.arange(lo, min(lo + batch_size, len(traj)))).to(parameter.device, parameter.dtype)
            truth = chunk.u[:, start + tw:]
            predicted = rollout(model, chunk.u[:, start:start + tw], chunk.dx, chunk.dt, steps)
            errors = normalised_squared_error(predicted, truth)
            # Teacher forcing: every window from the true snapshots, all windows in one batch.
            b = len(chunk)
            offsets = start + tf * torch.arange(windows, device=chunk.u.device)
            index = offsets[:, None] + torch.arange(tw, device=chunk.u.device)
            # A window near the end may reach past nt only in its prediction, never in its input.
            inputs = chunk.u[:, index].reshape(b * windows, tw, traj.nx)
            dx = chunk.dx.repeat_interleave(windows)
            dt = chunk.dt.repeat_interleave(windows)
            forced = model(inputs, dx, dt).reshape(b, windows * tf, traj.nx)[:, :steps]
            per_time.append(errors)
            nmse.append(errors.sum(1))
            one_step.append(normalised_squared_error(forced, truth).sum(1))
    finally:
        model.train(was_training)
    times = torch.arange(start + tw, traj.nt)
    return RolloutMetrics(
        nmse=torch.cat(nmse).cpu(), one_step=torch.cat(one_step).cpu(), per_time=torch.cat(per_time).cpu(),
        times=times, start=start,
    )
