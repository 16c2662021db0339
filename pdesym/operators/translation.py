r"""Periodic x-translation of sampled fields, exact for band-limited data, and the augmentation built on it.

For a field sampled on ``x_j = x0 + j dx`` with period ``L = nx dx``,

.. math::  (S_s u)(x_j) = u(x_j - s) = \sum_k \hat u_k\, e^{-2\pi i k s / L}\, e^{2\pi i k j / nx},

so the shift is a phase ramp on the discrete Fourier coefficients. It is exact (to rounding) for
every field whose spectrum has no Nyquist component, and the shifted solution of any
translation-invariant PDE is again a solution: the augmentation every equation in pdesym admits
(the symmetry ``∂x``).
"""

from __future__ import annotations

import dataclasses
import math

import torch

from pdesym.errors import PdesymError
from pdesym.operators.trajectories import Trajectories

__all__ = ["RandomTranslation", "translate"]


def translate(u: torch.Tensor, shift: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Return ``u(x - shift)`` on the same periodic grid, by a Fourier phase ramp along the last axis.

    ``u`` (B, ..., nx); ``shift`` and ``length`` (B,) in the units of x. The Nyquist coefficient
    (even nx) is kept real by ``irfft``, so the result is exact for fields without Nyquist content.
    """
    nx = u.shape[-1]
    if shift.shape != (u.shape[0],) or length.shape != (u.shape[0],):
        raise PdesymError(
            f"translate needs shift and length of shape ({u.shape[0]},), "
            f"got {tuple(shift.shape)} and {tuple(length.shape)}."
        )
    k = torch.arange(nx // 2 + 1, dtype=u.dtype, device=u.device)
    fraction = (shift / length).to(dtype=u.dtype, device=u.device)
    phase = torch.polar(torch.ones_like(k), -2 * math.pi * fraction[:, None] * k)  # (B, nx//2 + 1)
    phase = phase.reshape(u.shape[0], *([1] * (u.ndim - 2)), -1)
    return torch.fft.irfft(torch.fft.rfft(u, dim=-1) * phase, n=nx, dim=-1)


class RandomTranslation:
    """Augmentation: shift each trajectory by ``s ~ U(-max_fraction L/2, max_fraction L/2)`` in x.

    ``max_fraction = 1`` draws shifts uniformly over the whole period. The shift is drawn on the
    CPU from the training generator, so a run is reproducible on every device. Use it as
    ``train_operator(..., augment=RandomTranslation())``.
    """

    def __init__(self, max_fraction: float = 1.0) -> None:
        if not (isinstance(max_fraction, (int, float)) and 0 <= max_fraction <= 1):
            raise PdesymError(f"RandomTranslation.max_fraction must lie in [0, 1], got {max_fraction!r}.")
        self.max_fraction = float(max_fraction)

    def __call__(self, batch: Trajectories, generator: torch.Generator) -> Trajectories:
        draw = torch.rand(len(batch), dtype=torch.float64, generator=generator) - 0.5
        fraction = (self.max_fraction * draw).to(device=batch.u.device, dtype=batch.u.dtype)
        shift = fraction * batch.length
        return dataclasses.replace(batch, u=translate(batch.u, shift, batch.length))

    def __repr__(self) -> str:
        return f"RandomTranslation(max_fraction={self.max_fraction})"
