r"""Periodic pseudo-spectral grid: points, real-FFT wavenumbers, derivatives, 2/3-rule dealiasing.

On :math:`[0, L)` with :math:`n_x` points, :math:`x_j = jL/n_x` and the real FFT holds the
modes :math:`k_m = 2\pi m/L`, :math:`m = 0..n_x/2`. A derivative is the multiplier
:math:`(ik)^n`; for odd n the Nyquist mode is zeroed (its derivative is not real).
The 2/3 rule (Orszag 1971) keeps :math:`3m < n_x`, so quadratic products alias only into the
discarded modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch

from pdesym.errors import PdesymError

__all__ = ["SpectralGrid"]


@dataclass(frozen=True, eq=False)
class SpectralGrid:
    """A periodic grid of ``nx`` points on ``[0, length)`` and its real-FFT wavenumbers.

    Args:
        length: the period L (> 0).
        nx: number of points (even, >= 4).
        device, dtype: where and in which real precision the tensors live.
    """

    length: float
    nx: int
    device: torch.device = torch.device("cpu")
    dtype: torch.dtype = torch.float64

    def __post_init__(self) -> None:
        if not (self.length > 0 and math.isfinite(self.length)):
            raise PdesymError(f"The domain length must be a positive number, got {self.length!r}.")
        if int(self.nx) != self.nx or self.nx < 4 or self.nx % 2:
            raise PdesymError(f"The number of grid points nx must be an even integer >= 4, got {self.nx!r}.")

    @property
    def complex_dtype(self) -> torch.dtype:
        """complex128 for float64, complex64 for float32."""
        return torch.complex128 if self.dtype == torch.float64 else torch.complex64

    @property
    def dx(self) -> float:
        """Grid spacing L / nx."""
        return self.length / self.nx

    @cached_property
    def x(self) -> torch.Tensor:
        """Grid points :math:`x_j = j L / n_x`, shape (nx,)."""
        return torch.arange(self.nx, device=self.device, dtype=torch.float64).mul_(self.dx).to(self.dtype)

    @cached_property
    def k(self) -> torch.Tensor:
        """Real-FFT wavenumbers :math:`2\\pi m / L`, m = 0..nx/2, shape (nx//2 + 1,), real."""
        m = torch.arange(self.nx // 2 + 1, device=self.device, dtype=torch.float64)
        return (m * (2 * math.pi / self.length)).to(self.dtype)

    @cached_property
    def dealias_mask(self) -> torch.Tensor:
        """1 where the 2/3 rule keeps a mode (3m < nx), else 0; real, shape (nx//2 + 1,)."""
        m = torch.arange(self.nx // 2 + 1, device=self.device)
        return (3 * m < self.nx).to(self.dtype)

    def derivative_multiplier(self, order: int, *, dealias: bool = False) -> torch.Tensor:
        """:math:`(ik)^n` as a complex tensor (Nyquist zeroed for odd n), optionally times the mask."""
        k = self.k.to(torch.float64)
        real = torch.zeros_like(k)
        imag = torch.zeros_like(k)
        power = k**order * (-1.0) ** (order // 2)  # i^n taken exactly
        if order % 2 == 0:
            real = power
        else:
            imag = power
            imag[-1] = 0.0
        out = torch.complex(real, imag)
        if dealias:
            out = out * self.dealias_mask.to(torch.float64)
        return out.to(self.complex_dtype)

    def derivative(self, u: torch.Tensor, order: int = 1) -> torch.Tensor:
        """:math:`\\partial_x^n u` of real samples ``u`` (..., nx), spectrally."""
        return torch.fft.irfft(torch.fft.rfft(u) * self.derivative_multiplier(order), n=self.nx)

    def integral(self, u: torch.Tensor) -> torch.Tensor:
        """:math:`\\int_0^L u\\,dx` by the trapezoid rule (exact for the resolved Fourier modes)."""
        return u.sum(-1) * self.dx
