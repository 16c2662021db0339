r"""Transform whole sampled trajectories by a group element and resample them onto a uniform grid.

A point symmetry :math:`g` maps the graph of a solution, :math:`(x, t, u(x, t)) \mapsto
(\tilde x, \tilde t, \tilde u)`, to the graph of another solution :math:`\tilde u(\tilde x, \tilde t)`.
To sample :math:`\tilde u` on a target grid point :math:`(\tilde x, \tilde t)` we pull the point
back, :math:`(x_s, t_s) = \pi\, g^{-1}(\tilde x, \tilde t, \tilde u)`, read :math:`u_s = u(x_s, t_s)`
from the stored trajectory (band-limited in x, Lagrange in t, :mod:`pdesym.augment.resample`) and
push forward: :math:`\tilde u = \varphi\text{-part of } g(x_s, t_s, u_s)`. When ξ and τ do not
depend on u (every exact algebra in pdesym) the pull-back does not need :math:`\tilde u` and one
pass is exact; otherwise the pass is iterated to a fixed point.

Target grid. Periodic data stay periodic only if the spatial period maps to a period; the target
grid is the stored grid with its spacings multiplied by the measured stretch factors,
:math:`\tilde{dx} = s_x\,dx`, :math:`\tilde{dt} = s_t\,dt` and origins :math:`s_x x_0`, :math:`s_t t_0`,
where :math:`s_x` is the image length of one period (at the middle time) over L and :math:`s_t` the
image length of the stored time span over its length. For translations and boosts
:math:`s_x = s_t = 1` (the stored grid itself); for scalings the grid is the image of the stored
grid (no interpolation at all), as in the LPSDA benchmark.

Time cropping (as Ko et al. and LPSDA do when t moves): a target snapshot is valid when every
pulled-back time lies in the stored valid window; ``first``/``stop`` of the result bound the valid
snapshots and the rest hold end-stencil extrapolations that training never reads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from pdesym.augment.group import GroupAction
from pdesym.augment.resample import sample_trajectories
from pdesym.errors import PdesymError
from pdesym.operators.trajectories import Trajectories

__all__ = ["TransformReport", "transform_trajectories"]

# Stretch factors within this of 1 are taken as exactly 1, so that translations and boosts keep
# the stored spacings bit for bit.
_UNIT_TOL = 1e-12
# Pulled-back times may leave the stored window by this fraction of a step and still count as inside.
_WINDOW_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class TransformReport:
    """Diagnostics of one call: fixed-point iterations used and the last update size (0 when one
    pass is exact), and the per-sample periodicity defect (the change of the image period over the
    stored times, relative to L; 0 for maps that keep the periodic domain)."""

    iterations: int
    update: float
    period_defect: torch.Tensor


def _stretch(action: GroupAction, traj: Trajectories, eps: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Stretch factors s_x, s_t and the periodicity defect per sample, from images of grid points."""
    b, nt = len(traj), traj.nt
    rows = torch.arange(b, device=traj.u.device)
    first, last = traj.first, traj.stop - 1
    mid = (first + last) // 2
    t_grid = traj.t
    t_first, t_last, t_mid = t_grid[rows, first], t_grid[rows, last], t_grid[rows, mid]
    u_first, u_last, u_mid = traj.u[rows, first, 0], traj.u[rows, last, 0], traj.u[rows, mid, 0]
    length = traj.length
    # Points (B, 6): period ends at three times, for s_x and its drift in t; time ends for s_t.
    x = torch.stack([traj.x0, traj.x0 + length] * 3, dim=1)
    t = torch.stack([t_mid, t_mid, t_first, t_first, t_last, t_last], dim=1)
    u = torch.stack([u_mid, u_mid, u_first, u_first, u_last, u_last], dim=1)
    gx, gt, _ = action.apply(x, t, u, eps)
    periods = torch.stack([gx[:, 1] - gx[:, 0], gx[:, 3] - gx[:, 2], gx[:, 5] - gx[:, 4]], dim=1)
    s_x = periods[:, 0] / length
    defect = (periods.max(1).values - periods.min(1).values) / length
    span = t_last - t_first
    s_t = (gt[:, 4] - gt[:, 2]) / span if nt > 1 else torch.ones_like(s_x)
    s_x = torch.where((s_x - 1).abs() < _UNIT_TOL, torch.ones_like(s_x), s_x)
    s_t = torch.where((s_t - 1).abs() < _UNIT_TOL, torch.ones_like(s_t), s_t)
    if bool((s_x <= 0).any() or (s_t <= 0).any()):
        raise PdesymError("The group element reverses the direction of x or t for some sample; draw smaller "
                          "group parameters.")
    return s_x, s_t, defect


@torch.no_grad()
def transform_trajectories(traj: Trajectories, action: GroupAction, eps: torch.Tensor, *, order: int = 8,
                           iterations: int = 20, tol: float = 1e-12, report: bool = False, fast: bool = True
                           ) -> Trajectories | tuple[Trajectories, TransformReport]:
    r"""Apply :math:`g_\varepsilon` (``eps`` (B, k), one row per sample) to whole trajectories.

    Returns :class:`Trajectories` of the same shape on the target grid described in the module
    docstring, with ``first``/``stop`` marking the snapshots whose pre-images lie in the stored
    window. ``order`` is the Lagrange order in t; ``iterations``/``tol`` bound the fixed point used
    when ξ or τ depend on u. With ``report=True`` also returns a :class:`TransformReport`.
    ``fast=False`` resamples every point by the direct per-point path (reference and baseline).
    """
    if not isinstance(traj, Trajectories):
        raise PdesymError(f"transform_trajectories needs Trajectories, got {type(traj).__name__}.")
    eps = torch.as_tensor(eps, dtype=traj.u.dtype, device=traj.u.device)  # a list of floats stays exact in float64
    if eps.ndim == 1 and action.size == 1:
        eps = eps[:, None]
    if eps.shape != (len(traj), action.size):
        raise PdesymError(f"Group parameters must have shape ({len(traj)}, {action.size}) -- one row per "
                          f"trajectory, one column per generator -- got {tuple(eps.shape)}.")
    if not bool(torch.isfinite(eps).all()):
        raise PdesymError("Group parameters must be finite numbers.")
    b, nt, nx = traj.u.shape
    s_x, s_t, defect = _stretch(action, traj, eps)
    dx, dt = traj.dx * s_x, traj.dt * s_t
    x0, t0 = traj.x0 * s_x, traj.t0 * s_t
    j = torch.arange(nx, dtype=traj.u.dtype, device=traj.u.device)
    n = torch.arange(nt, dtype=traj.u.dtype, device=traj.u.device)
    xt = (x0[:, None] + dx[:, None] * j)[:, None, :].expand(b, nt, nx)
    tt = (t0[:, None] + dt[:, None] * n)[:, :, None].expand(b, nt, nx)

    # Stored valid window of the source, in time.
    rows = torch.arange(b, device=traj.u.device)
    src_t = traj.t
    lo = src_t[rows, traj.first] - _WINDOW_TOL * traj.dt
    hi = src_t[rows, traj.stop - 1] + _WINDOW_TOL * traj.dt

    guess = traj.u  # first guess of ũ on the target grid (only read when the base map depends on u)
    steps, update = 0, 0.0
    for steps in range(1, (iterations if action.base_depends_on_u else 1) + 1):
        xs, ts, _ = action.apply(xt, tt, guess, eps, inverse=True)
        inside = (ts >= lo[:, None, None]) & (ts <= hi[:, None, None])
        ts_clamped = torch.minimum(torch.maximum(ts, lo[:, None, None]), hi[:, None, None])
        us = sample_trajectories(traj.u, traj.x0, traj.dx, traj.t0, traj.dt, xs, ts_clamped, order=order,
                                 fast=fast)
        _, _, new = action.apply(xs, ts, us, eps)
        update = float((new - guess).abs().max()) if action.base_depends_on_u else 0.0
        guess = new
        if update <= tol * max(1.0, float(new.abs().max())):
            break
    if not bool(torch.isfinite(guess).all()):
        raise PdesymError("The transformed trajectories hold non-finite values; the group parameters are too large "
                          "for this generator (its flow leaves the domain).")
    valid = inside.all(-1)  # (B, nt)
    any_valid = valid.any(1)
    if not bool(any_valid.all()):
        bad = int((~any_valid).nonzero()[0, 0])
        raise PdesymError(f"Sample {bad} has no snapshot left after the time shift; draw smaller group "
                          "parameters for the generators that move t.")
    first = valid.to(torch.int64).argmax(1)
    stop = nt - valid.flip(1).to(torch.int64).argmax(1)
    out = dataclasses.replace(traj, u=guess, dx=dx, dt=dt, x0=x0, t0=t0, first=first, stop=stop)
    if report:
        return out, TransformReport(steps, update, defect)
    return out
