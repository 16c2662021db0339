r"""Evaluate sampled trajectories between grid points: band-limited in x, Lagrange in t.

A trajectory ``u[n, j] = u(t0 + n dt, x0 + j dx)`` on a periodic x-grid of period ``L = nx dx``
is continued in x by its trigonometric interpolant

.. math::  u(x) = \frac{1}{n_x}\sum_{k} \hat u_k\, e^{2\pi i k (x - x_0)/L}, \qquad |k| \le n_x/2,

(exact for band-limited fields; the Nyquist term, if any, as a cosine), and in t by the Lagrange
polynomial through the ``order`` snapshots nearest to the query time (exact for polynomials of
degree < order; one-sided near the ends of the stored window). Query points whose x is a constant
shift of the grid along a snapshot use a Fourier phase ramp (O(nx log nx)); others a direct
sum over modes in bounded chunks.
"""

from __future__ import annotations

import math

import torch

from pdesym.errors import PdesymError

__all__ = ["fourier_interpolate", "lagrange_stencil", "interpolate_time", "sample_trajectories"]

# Memory bound (complex entries) of one chunk of the direct non-uniform Fourier sum.
_CHUNK_ENTRIES = 1 << 22
# Relative tolerance under which query points count as a constant shift of the grid.
_SHIFT_RTOL = 1e-13
# Query times within this fraction of a step of a stored snapshot are taken at the snapshot.
_SNAP = 1e-10


def _expand(v: torch.Tensor, ndim: int) -> torch.Tensor:
    return v.reshape(v.shape[0], *([1] * (ndim - 1)))


def fourier_interpolate(u: torch.Tensor, xq: torch.Tensor, x0: torch.Tensor, length: torch.Tensor, *,
                        fast: bool = True) -> torch.Tensor:
    r"""The trigonometric interpolant of ``u`` (B, R, nx) on ``x0 + j L / nx`` evaluated at ``xq`` (B, R, m).

    ``x0`` and ``length`` are (B,). Returns (B, R, m). Exact (to rounding) for fields without
    modes above nx/2. ``fast=False`` always takes the direct sum over modes (the reference path).
    """
    if u.ndim != 3 or xq.ndim != 3 or xq.shape[:2] != u.shape[:2]:
        raise PdesymError(f"fourier_interpolate needs u (B, R, nx) and xq (B, R, m), got {tuple(u.shape)} and "
                          f"{tuple(xq.shape)}.")
    b, r, nx = u.shape
    theta = (xq - _expand(x0, 3)) / _expand(length, 3)  # in periods
    if fast and xq.shape[-1] == nx:
        grid = torch.arange(nx, dtype=u.dtype, device=u.device) / nx
        shift = theta - grid
        mean = shift.mean(-1, keepdim=True)
        if float((shift - mean).abs().max()) <= _SHIFT_RTOL * max(1.0, float(theta.abs().max())):
            return _shift(u, mean[..., 0])
    coeffs = torch.fft.rfft(u, dim=-1)  # (B, R, K)
    k = torch.arange(coeffs.shape[-1], dtype=u.dtype, device=u.device)
    weight = torch.full_like(k, 2.0)
    weight[0] = 1.0
    if nx % 2 == 0:
        weight[-1] = 1.0  # the Nyquist term enters once, as a cosine
    coeffs = coeffs * weight / nx
    m = xq.shape[-1]
    out = torch.empty((b, r, m), dtype=u.dtype, device=u.device)
    rows = max(1, _CHUNK_ENTRIES // max(1, b * m * k.numel()))
    for lo in range(0, r, rows):
        hi = min(r, lo + rows)
        phase = torch.polar(torch.ones_like(theta[:, lo:hi, :, None]), 2 * math.pi * theta[:, lo:hi, :, None] * k)
        out[:, lo:hi] = (phase * coeffs[:, lo:hi, None, :]).sum(-1).real
    return out


def _shift(u: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
    """``u`` at ``grid + fraction * L`` per row (B, R): a phase ramp on the rFFT."""
    nx = u.shape[-1]
    k = torch.arange(nx // 2 + 1, dtype=u.dtype, device=u.device)
    phase = torch.polar(torch.ones_like(k), 2 * math.pi * fraction[..., None] * k)
    coeffs = torch.fft.rfft(u, dim=-1) * phase
    if nx % 2 == 0:  # keep the Nyquist term the cosine of the interpolant: Re(c e^{iθ}) -> real part
        coeffs[..., -1] = coeffs[..., -1].real.to(coeffs.dtype)
    return torch.fft.irfft(coeffs, n=nx, dim=-1)


def lagrange_stencil(s: torch.Tensor, nt: int, order: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""First index (int64, shape of ``s``) and weights (``s.shape + (order,)``) of the Lagrange
    interpolant through ``order`` consecutive snapshots around fractional index ``s``.

    Weights :math:`w_m = \prod_{l \ne m} (s - i_0 - l) / (m - l)`; the stencil is centred and moved
    inwards at the ends, so ``0 <= i0 <= nt - order``.
    """
    order = min(order, nt)
    if order < 1:
        raise PdesymError("Time interpolation needs at least one stored snapshot.")
    snapped = torch.round(s)
    s = torch.where((s - snapped).abs() < _SNAP, snapped, s)
    i0 = torch.clamp(torch.floor(s).to(torch.int64) - (order - 1) // 2, 0, nt - order)
    local = (s - i0.to(s.dtype))[..., None]  # position within the stencil
    nodes = torch.arange(order, dtype=s.dtype, device=s.device)
    diff = local - nodes  # (..., order)
    weights = torch.empty(s.shape + (order,), dtype=s.dtype, device=s.device)
    for m in range(order):  # order is small (<= 10): a loop over stencil points, not grid points
        others = [l for l in range(order) if l != m]
        num = torch.prod(diff[..., others], dim=-1) if others else torch.ones_like(s)
        den = math.prod(m - l for l in others) if others else 1.0
        weights[..., m] = num / den
    return i0, weights


def interpolate_time(u: torch.Tensor, s: torch.Tensor, order: int) -> torch.Tensor:
    """Snapshots of ``u`` (B, nt, nx) at fractional indices ``s`` (B, R): (B, R, nx)."""
    b, nt, nx = u.shape
    rows = torch.arange(b, device=u.device)[:, None]
    whole = torch.round(s)
    if bool(((s - whole).abs() < _SNAP).all()):  # every query on a stored snapshot: a gather
        return u[rows, whole.to(torch.int64).clamp(0, nt - 1)]
    i0, w = lagrange_stencil(s, nt, order)
    out = torch.zeros(s.shape + (nx,), dtype=u.dtype, device=u.device)
    for m in range(w.shape[-1]):  # a few stencil points: no (B, R, order, nx) temporary
        out += w[..., m, None] * u[rows, i0 + m]
    return out


def sample_trajectories(u: torch.Tensor, x0: torch.Tensor, dx: torch.Tensor, t0: torch.Tensor, dt: torch.Tensor,
                        xq: torch.Tensor, tq: torch.Tensor, *, order: int = 8, fast: bool = True) -> torch.Tensor:
    r"""Values of trajectories ``u`` (B, nt, nx) at points (``xq``, ``tq``), each (B, R, m).

    Per sample the stored grid is ``x0 + j dx`` (periodic, ``L = nx dx``) and ``t0 + n dt``. Query
    times outside the stored window are extrapolated by the end stencils (callers mark them
    invalid). When ``tq`` is constant along each row (the usual case: τ does not depend on x or u)
    whole snapshots are interpolated in time first; otherwise each point gets its own stencil.
    ``fast=False`` takes the per-point path everywhere (the reference the fast paths are checked against).
    """
    b, nt, nx = u.shape
    length = dx * nx
    s = (tq - _expand(t0, 3)) / _expand(dt, 3)
    row = s[..., :1]
    if fast and float((s - row).abs().max()) <= _SNAP:
        snap = interpolate_time(u, row[..., 0], order)  # (B, R, nx)
        return fourier_interpolate(snap, xq, x0, length)
    # Per-point stencils: interpolate the Fourier coefficients in time, then sum the modes.
    r, m = xq.shape[1:]
    i0, w = lagrange_stencil(s, nt, order)  # (B, R, m), (B, R, m, p)
    p = w.shape[-1]
    coeffs = torch.fft.rfft(u, dim=-1)  # (B, nt, K)
    kk = coeffs.shape[-1]
    k = torch.arange(kk, dtype=u.dtype, device=u.device)
    weight = torch.full_like(k, 2.0)
    weight[0] = 1.0
    if nx % 2 == 0:
        weight[-1] = 1.0
    coeffs = coeffs * weight / nx
    theta = (xq - _expand(x0, 3)) / _expand(length, 3)
    out = torch.empty((b, r, m), dtype=u.dtype, device=u.device)
    rows_per_chunk = max(1, _CHUNK_ENTRIES // max(1, b * m * kk * p))
    brow = torch.arange(b, device=u.device)[:, None, None, None]
    for lo in range(0, r, rows_per_chunk):
        hi = min(r, lo + rows_per_chunk)
        index = i0[:, lo:hi, :, None] + torch.arange(p, device=u.device)  # (B, c, m, p)
        c = (coeffs[brow, index] * w[:, lo:hi, :, :, None]).sum(-2)  # (B, c, m, K)
        phase = torch.polar(torch.ones_like(theta[:, lo:hi, :, None]), 2 * math.pi * theta[:, lo:hi, :, None] * k)
        out[:, lo:hi] = (phase * c).sum(-1).real
    return out
