r"""Viscous Burgers :math:`u_t + a\,u u_x = \nu u_{xx}` through the exact Cole–Hopf map.

With :math:`w = a u = m + z`, m the (conserved) mean and :math:`\Psi(y) = \int_0^y z`, the Hopf
formula (Hopf 1950, Cole 1951) gives the exact periodic solution

.. math::
    w(x, t) = m + \frac{\int \frac{\xi - y}{t}\, G_t(\xi - y)\, \varphi_0(y)\,dy}
                     {\int G_t(\xi - y)\,\varphi_0(y)\,dy},\qquad
    \xi = x - m t,\quad \varphi_0 = e^{-\Psi/(2\nu)},

with :math:`G_t` the heat kernel. Solving the heat equation for :math:`\varphi` spectrally is
*not* stable: :math:`\varphi_0` spans :math:`e^{\Delta\Psi/(2\nu)}` (1e40 for nu = 0.01), and an
FFT keeps only absolute accuracy relative to its largest value. Here the integrals are sums of
positive terms (the periodised kernel by its images, never by a Fourier series), which keep
full relative accuracy; their trapezoid rule on a periodic internal grid of ``refine * nx``
points converges spectrally, and :math:`\Psi` there is the exact antiderivative of the
trigonometric interpolant of :math:`u_0`. Time is exact (no time stepping); the stored values
are point values on the nx-point grid, so a shock thinner than the stored grid is still exact
there.

:func:`hopf_oracle` evaluates the same formula independently (scipy adaptive quadrature on the
real line, analytic potential) for tests.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from pdesym.errors import PdesymError

__all__ = ["colehopf_solve", "hopf_oracle", "MAX_LOG_RANGE"]

#: Largest :math:`(\max\Psi - \min\Psi)/(2\nu)` the positive sums handle without underflow.
MAX_LOG_RANGE = 600.0


def _antiderivative(z: torch.Tensor, length: float, ny: int, shift: torch.Tensor | float = 0.0) -> torch.Tensor:
    r""":math:`\Psi(y_j - s)` on ``ny`` points for zero-mean samples z (B, nx): trig interpolant, exact."""
    nx = z.shape[-1]
    zh = torch.fft.rfft(z)
    zh[..., 0] = 0
    zh[..., -1] = 0  # Nyquist mode: no real antiderivative; band-limited data has none
    k = torch.arange(zh.shape[-1], device=z.device, dtype=torch.float64) * (2 * math.pi / length)
    kk = k.clone()
    kk[0] = 1.0
    psi_hat = zh / (1j * kk).to(zh.dtype)
    psi_hat[..., 0] = 0
    if not isinstance(shift, float) or shift != 0.0:
        phase = torch.exp(-1j * k.to(zh.dtype) * torch.as_tensor(shift, device=z.device).to(zh.dtype)[..., None])
        psi_hat = psi_hat * phase
    padded = torch.zeros(*z.shape[:-1], ny // 2 + 1, dtype=zh.dtype, device=z.device)
    padded[..., : psi_hat.shape[-1]] = psi_hat
    return torch.fft.irfft(padded, n=ny) * (ny / nx)


def colehopf_solve(u0: torch.Tensor, length: float, t_out: torch.Tensor, *, nu: float, a: float = 1.0,
                   refine: int = 2) -> torch.Tensor:
    r"""Exact periodic Burgers solution :math:`u_t + a u u_x = \nu u_{xx}` at ``t_out``.

    Args:
        u0: initial values (B, nx) on :math:`x_j = jL/n_x` (float64 recommended).
        length: the period L.
        t_out: output times (nt,), >= 0.
        nu: viscosity (> 0); a: the coefficient of :math:`u u_x` (!= 0).
        refine: the internal quadrature grid has ``refine * nx`` points (raised automatically
            when an early output time needs a finer one).

    Returns:
        u of shape (B, nt, nx).
    """
    if nu <= 0 or a == 0:
        raise PdesymError(f"The Cole-Hopf map needs nu > 0 and a non-zero u*u_x coefficient, got nu={nu}, a={a}.")
    B, nx = u0.shape
    real = u0.dtype
    w0 = (a * u0).to(torch.float64)
    m = w0.mean(-1)
    z = w0 - m[:, None]
    ts = [float(t) for t in t_out]
    positive = [t for t in ts if t > 0]
    # the integrand's narrowest scale is about sqrt(2 nu t) at the first output time; a spacing
    # of 0.3 of it leaves the trapezoid error below 1e-20 (exp(-2 pi^2 / 0.3^2) for a Gaussian)
    if positive:
        h_max = 0.3 * math.sqrt(2 * nu * min(positive))
        refine = max(refine, math.ceil(length / (h_max * nx)))
    ny = refine * nx
    if ny > 2**16:
        raise PdesymError(
            f"Output time {min(positive):.3g} is too early for the Cole-Hopf quadrature at nu={nu}; "
            "start the stored times later or use method='etdrk4'."
        )
    psi0 = _antiderivative(z, length, ny)
    spread = float(((psi0.amax(-1) - psi0.amin(-1)) / (2 * nu)).max()) if B else 0.0
    if spread > MAX_LOG_RANGE:
        raise PdesymError(
            f"The initial condition is too steep for the Cole-Hopf map at nu={nu} "
            f"(potential range / 2nu = {spread:.0f} > {MAX_LOG_RANGE:.0f}); use method='etdrk4' on a finer grid."
        )
    h = length / ny
    # x_i = y_{i*refine}: the kernel matrix is K[i, j] = k[(i*refine - j) mod ny]
    idx = (torch.arange(nx, device=u0.device)[:, None] * refine - torch.arange(ny, device=u0.device)) % ny
    d = torch.arange(ny, device=u0.device, dtype=torch.float64) * h
    d = torch.where(d >= length / 2, d - length, d)  # wrapped distance in [-L/2, L/2)
    out = torch.empty(B, len(ts), nx, dtype=torch.float64, device=u0.device)
    has_mean = bool((m != 0).any())
    for n, t in enumerate(ts):
        if t == 0:
            out[:, n] = w0
            continue
        images = math.ceil((math.sqrt(4 * nu * t * (spread + 40)) + length / 2) / length)
        shifts = torch.arange(-images, images + 1, device=u0.device, dtype=torch.float64) * length
        dn = d[:, None] + shifts  # (ny, images)
        g = torch.exp(-dn**2 / (4 * nu * t))
        k0 = g.sum(-1)
        k1 = (g * dn).sum(-1) / t
        psi = _antiderivative(z, length, ny, shift=m * t) if has_mean else psi0
        phi0 = torch.exp(-(psi - psi.amin(-1, keepdim=True)) / (2 * nu))  # (B, ny) in (0, 1]
        s = phi0 @ torch.cat([k0[idx], k1[idx]]).T  # one GEMM for both sums: (B, 2 nx)
        out[:, n] = m[:, None] + s[:, nx:] / s[:, :nx]
    return (out / a).to(real)


def hopf_oracle(potential: Callable[[np.ndarray], np.ndarray], x: float, t: float, *, nu: float,
                mean: float = 0.0) -> float:
    r"""Burgers :math:`u_t + u u_x = \nu u_{xx}` at one (x, t) by adaptive quadrature of Hopf's formula.

    ``potential`` is :math:`\Psi` (antiderivative of the zero-mean part of :math:`u_0`,
    vectorised, defined on the real line); ``mean`` the mean of :math:`u_0`. Independent of
    :func:`colehopf_solve`: no grid, no periodisation, scipy's QUADPACK on the real line.
    """
    from scipy.integrate import quad

    xi = x - mean * t
    ys = np.linspace(xi - 40.0, xi + 40.0, 200001)
    e = ((xi - ys) ** 2 / (2 * t) + potential(ys)) / (2 * nu)
    j = int(np.argmin(e))
    emin, ystar = float(e[j]), float(ys[j])
    radius = math.sqrt(2 * t * (2 * nu * 760 + float(np.ptp(potential(ys)))))

    def weight(y):
        return math.exp(emin - ((xi - y) ** 2 / (2 * t) + float(potential(np.array([y]))[0])) / (2 * nu))

    lo, hi = xi - radius, xi + radius
    opts = dict(limit=2000, epsabs=0.0, epsrel=1e-13, points=[ystar])
    s0 = quad(weight, lo, hi, **opts)[0]
    s1 = quad(lambda y: (xi - y) / t * weight(y), lo, hi, **opts)[0]
    return mean + s1 / s0
