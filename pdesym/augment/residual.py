r"""How well sampled trajectories satisfy an evolution equation :math:`u_t = K(x, t, u, u_x, \dots)`.

Per trajectory, over its valid interior snapshots,

.. math::  r_b = \frac{\lVert D_t u - K(x, t, u, D_x u, D_x^2 u, \dots)\rVert_2}{\lVert D_t u\rVert_2},

with spectral x-derivatives on the periodic grid (per-sample period) and the fourth-order central
difference :math:`D_t u_n = (u_{n-2} - 8u_{n-1} + 8u_{n+1} - u_{n+2}) / (12\,dt)`. A symmetry maps
solutions to solutions, so augmented data keep the residual of their source (discretisation
error only); a non-symmetry makes it O(1).
"""

from __future__ import annotations

import math

import torch

from pdesym.equations import Equation, get_equation
from pdesym.errors import PdesymError
from pdesym.operators.trajectories import Trajectories

__all__ = ["relative_residual", "spectral_derivative"]


def spectral_derivative(u: torch.Tensor, length: torch.Tensor, order: int) -> torch.Tensor:
    """The ``order``-th x-derivative of periodic samples ``u`` (B, ..., nx), period ``length`` (B,)."""
    nx = u.shape[-1]
    m = torch.arange(nx // 2 + 1, dtype=u.dtype, device=u.device)
    k = 2 * math.pi * m / length.reshape(-1, *([1] * (u.ndim - 1)))
    factor = (1j * k) ** order
    if order % 2 == 1 and nx % 2 == 0:
        factor[..., -1] = 0  # the Nyquist mode has no odd derivative on the grid
    return torch.fft.irfft(torch.fft.rfft(u, dim=-1) * factor, n=nx, dim=-1)


@torch.no_grad()
def relative_residual(traj: Trajectories, equation: Equation | str) -> torch.Tensor:
    """Relative residual r_b (B,) of each trajectory (see the module docstring); needs at least five
    valid snapshots per trajectory."""
    eq = get_equation(equation) if isinstance(equation, str) else equation
    if not eq.is_evolution:
        raise PdesymError(f"The residual needs an evolution equation u_t = K(...); {eq.text!r} is not one.")
    if bool(((traj.stop - traj.first) < 5).any()):
        raise PdesymError("The residual needs at least 5 valid snapshots per trajectory.")
    fn = eq.rhs_function()
    u = traj.u
    jets = {}
    for name in fn.jet_names:
        suffix = name.split("_", 1)[1] if "_" in name else ""  # jet names: u, u_x, u_xx, ...
        nxo, nto = suffix.count("x"), suffix.count("t")
        if nto:
            raise PdesymError(f"The right-hand side of {eq.text!r} reads a time derivative ({name}).")
        jets[name] = u if nxo == 0 else spectral_derivative(u, traj.length, nxo)
    x = traj.x[:, None, :]
    t = traj.t[:, :, None]
    k = fn(x, t, jets)[:, 2:-2]
    dt = traj.dt[:, None, None]
    ut = (u[:, :-4] - 8 * u[:, 1:-3] + 8 * u[:, 3:-1] - u[:, 4:]) / (12 * dt)
    n = torch.arange(2, traj.nt - 2, device=u.device)
    mask = ((n >= traj.first[:, None] + 2) & (n < traj.stop[:, None] - 2)).to(u.dtype)[..., None]
    err = ((ut - k).pow(2) * mask).sum((1, 2))
    norm = (ut.pow(2) * mask).sum((1, 2)).clamp_min(torch.finfo(u.dtype).tiny)
    return (err / norm).sqrt()

