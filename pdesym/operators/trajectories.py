r"""A batch of trajectories on uniform periodic grids, with each sample's own grid and time step.

Symmetry transformations change more than the field: a Galilean boost moves x with t, a scaling
changes dx and dt, a time translation moves the window of valid snapshots. So the record that
training passes to an augmentation carries, per sample, the spacings ``dx`` and ``dt``, the
origins ``x0`` and ``t0``, the range ``[first, stop)`` of snapshot indices that hold valid data
(Ko et al. crop the time range when a flow moves t), and the index ``sample`` of the source
trajectory in the training set (so an augmentation may cache per-trajectory work).

Grid of sample b: ``x_j = x0_b + j dx_b`` (j = 0..nx-1, periodic with period ``L_b = nx dx_b``),
``t_n = t0_b + n dt_b`` (n = 0..nt-1).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pdesym.errors import PdesymError

__all__ = ["Trajectories", "as_trajectories"]

# Relative tolerance on the spacing of a grid read from file before it counts as non-uniform.
_UNIFORM_RTOL = 1e-6


@dataclass(frozen=True, eq=False)  # tensors inside: compare fields explicitly
class Trajectories:
    """Trajectories ``u[b, n, j] = u_b(t0_b + n dt_b, x0_b + j dx_b)`` of a periodic 1-D field.

    Shapes: ``u`` (B, nt, nx); ``dx``, ``dt``, ``x0``, ``t0`` (B,) in ``u``'s dtype;
    ``first``, ``stop``, ``sample`` (B,) int64. Build one with :meth:`from_grid` or
    :func:`as_trajectories`; transform one with :func:`dataclasses.replace`.
    """

    u: torch.Tensor
    dx: torch.Tensor
    dt: torch.Tensor
    x0: torch.Tensor
    t0: torch.Tensor
    first: torch.Tensor
    stop: torch.Tensor
    sample: torch.Tensor

    def __post_init__(self) -> None:
        u = self.u
        if not isinstance(u, torch.Tensor) or u.ndim != 3 or not u.is_floating_point():
            shape = tuple(u.shape) if isinstance(u, torch.Tensor) else type(u).__name__
            raise PdesymError(f"Trajectories.u must be a real tensor of shape (B, nt, nx), got {shape}.")
        b = u.shape[0]
        for name in ("dx", "dt", "x0", "t0", "first", "stop", "sample"):
            value = getattr(self, name)
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != (b,):
                got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                raise PdesymError(f"Trajectories.{name} must be a tensor of shape ({b},), got {got}.")
            if value.device != u.device:
                raise PdesymError(
                    f"Trajectories.{name} is on {value.device} but u is on {u.device}; move both together."
                )
        for name in ("first", "stop", "sample"):
            if getattr(self, name).dtype != torch.int64:
                raise PdesymError(f"Trajectories.{name} must hold int64 indices, got {getattr(self, name).dtype}.")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_grid(cls, u: Any, x: Any, t: Any) -> "Trajectories":
        """Build the record from samples ``u`` (N, nt, nx) on grids ``x`` and ``t``.

        ``x`` is (nx,) or (N, nx) and ``t`` is (nt,) or (N, nt), uniform, x without the periodic
        end point (the LPSDA layout). The spacings are taken from the end points,
        ``dx = (x[-1] - x[0]) / (nx - 1)``, which is exact to rounding for a uniform grid.
        """
        u_t = _as_tensor(u, "u")
        if u_t.ndim == 2:
            u_t = u_t[None]
        if u_t.ndim != 3:
            raise PdesymError(f"u must have shape (N, nt, nx), got {tuple(u_t.shape)}.")
        if not torch.isfinite(u_t).all():
            bad = int((~torch.isfinite(u_t)).flatten(1).any(1).nonzero()[0, 0])
            raise PdesymError(f"u holds non-finite values (first in trajectory {bad}); clean or drop it.")
        n, nt, nx = u_t.shape
        x0, dx = _uniform_axis(x, n, nx, "x", u_t)
        t0, dt = _uniform_axis(t, n, nt, "t", u_t)
        device = u_t.device
        return cls(
            u=u_t, dx=dx, dt=dt, x0=x0, t0=t0,
            first=torch.zeros(n, dtype=torch.int64, device=device),
            stop=torch.full((n,), nt, dtype=torch.int64, device=device),
            sample=torch.arange(n, dtype=torch.int64, device=device),
        )

    @classmethod
    def from_spacing(cls, u: Any, dx: Any, dt: Any, *, x0: Any = 0.0, t0: Any = 0.0) -> "Trajectories":
        """Build the record from samples ``u`` (N, nt, nx) and spacings (scalars or (N,) arrays)."""
        u_t = _as_tensor(u, "u")
        if u_t.ndim != 3:
            raise PdesymError(f"u must have shape (N, nt, nx), got {tuple(u_t.shape)}.")
        n, nt, _ = u_t.shape
        values = {}
        for name, value in (("dx", dx), ("dt", dt), ("x0", x0), ("t0", t0)):
            v = _as_tensor(value, name).to(device=u_t.device, dtype=u_t.dtype).reshape(-1)
            if v.numel() == 1:
                v = v.expand(n)
            if v.shape != (n,):
                raise PdesymError(f"{name} must be a number or hold one value per trajectory ({n}), got {v.numel()}.")
            values[name] = v.clone()
        if not bool((values["dx"] > 0).all() and (values["dt"] > 0).all()):
            raise PdesymError("dx and dt must be positive for every trajectory.")
        return cls(
            u=u_t, **values,
            first=torch.zeros(n, dtype=torch.int64, device=u_t.device),
            stop=torch.full((n,), nt, dtype=torch.int64, device=u_t.device),
            sample=torch.arange(n, dtype=torch.int64, device=u_t.device),
        )

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return int(self.u.shape[0])

    @property
    def nt(self) -> int:
        """Number of stored snapshots per trajectory."""
        return int(self.u.shape[1])

    @property
    def nx(self) -> int:
        """Number of grid points per snapshot."""
        return int(self.u.shape[2])

    @property
    def length(self) -> torch.Tensor:
        """Period L = nx dx of each sample, shape (B,)."""
        return self.dx * self.nx

    @property
    def x(self) -> torch.Tensor:
        """Grid points x0 + j dx, shape (B, nx)."""
        j = torch.arange(self.nx, dtype=self.u.dtype, device=self.u.device)
        return self.x0[:, None] + self.dx[:, None] * j

    @property
    def t(self) -> torch.Tensor:
        """Snapshot times t0 + n dt, shape (B, nt)."""
        n = torch.arange(self.nt, dtype=self.u.dtype, device=self.u.device)
        return self.t0[:, None] + self.dt[:, None] * n

    def select(self, index: torch.Tensor) -> "Trajectories":
        """The samples ``index`` (a 1-D int64 tensor), in that order."""
        index = index.to(self.u.device)
        return Trajectories(**{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)})

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "Trajectories":
        """Move to ``device`` and cast the real fields to ``dtype`` (indices stay int64)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            cast = dtype if value.is_floating_point() else None
            out[f.name] = value.to(device=device, dtype=cast)
        return Trajectories(**out)


def as_trajectories(data: Any) -> Trajectories:
    """Turn ``data`` into :class:`Trajectories`.

    Accepts a :class:`Trajectories` (returned as is) or any record with an attribute ``u``
    (tensor, array or h5py dataset) and either the grids ``x`` and ``t`` (shared, 1-D, or per
    trajectory, 2-D) or the spacings ``dx`` and ``dt``: the solvers' ``TrajectoryBatch``, a split
    read by :mod:`pdesym.datasets`.
    """
    if isinstance(data, Trajectories):
        return data
    get = lambda name: getattr(data, name, None)  # noqa: E731 - records may lack any of them
    if get("u") is not None:
        u = get("u")
        if not isinstance(u, (torch.Tensor, np.ndarray)) and hasattr(u, "shape"):
            u = np.asarray(u[...])  # a lazy h5py dataset: read it
        if get("x") is not None and get("t") is not None:
            return Trajectories.from_grid(u, get("x"), get("t"))
        if get("dx") is not None and get("dt") is not None:
            x0 = get("x")[..., 0] if get("x") is not None else 0.0
            t0 = get("t")[..., 0] if get("t") is not None else 0.0
            return Trajectories.from_spacing(u, get("dx"), get("dt"), x0=x0, t0=t0)
    raise PdesymError(
        f"Cannot read trajectories from a {type(data).__name__}; give a Trajectories or a record with u and "
        "either x and t or dx and dt."
    )


def _as_tensor(value: Any, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        out = value
    else:
        try:
            out = torch.as_tensor(np.asarray(value))
        except (TypeError, ValueError) as exc:
            raise PdesymError(f"{name} must be an array of numbers, got {type(value).__name__}.") from exc
    if not out.is_floating_point():
        out = out.to(torch.float64)
    return out


def _uniform_axis(values: Any, n: int, size: int, name: str, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Origin and spacing, each (n,), of a uniform axis given as (size,) or (n, size)."""
    axis = _as_tensor(values, name).to(device=like.device, dtype=like.dtype)
    if axis.ndim == 1:
        axis = axis.expand(n, -1)
    if tuple(axis.shape) != (n, size):
        raise PdesymError(f"{name} must have shape ({size},) or ({n}, {size}) to match u, got {tuple(axis.shape)}.")
    if size < 2:
        raise PdesymError(f"The {name} axis needs at least 2 points to define a spacing, got {size}.")
    step = (axis[:, -1] - axis[:, 0]) / (size - 1)
    if not bool((step > 0).all()):
        raise PdesymError(f"{name} must increase along each trajectory; found a non-positive spacing.")
    if n == 0:  # an empty set has no grid to check; callers refuse it with their own sentence
        return axis[:, 0].clone(), step
    deviation = (torch.diff(axis, dim=1) - step[:, None]).abs().max()
    if float(deviation) > _UNIFORM_RTOL * float(step.abs().max()):
        raise PdesymError(
            f"{name} is not uniformly spaced (spacings differ by {float(deviation):.3g}); "
            "resample it onto a uniform grid."
        )
    return axis[:, 0].clone(), step
