r"""The 1-D Fourier neural operator (Li et al., "Fourier Neural Operator for Parametric PDEs", 2021).

A Fourier layer acts on ``v`` of shape (B, C, nx) on a periodic grid as

.. math::  (K v)_o(x_j) = \mathcal{F}^{-1}\Big[\textstyle\sum_i W_{i o k}\, \hat v_{i k}\Big](x_j),
           \qquad k = 0, \dots, \text{modes} - 1,

with all higher modes set to zero; for real ``v`` this is the real Fourier multiplier with symbol
``m(k) = W_k``, ``m(-k) = conj(W_k)`` for ``0 < k < modes`` and ``m(0) = Re W_0``. The operator
stacks ``v <- GELU(K v + W v + b)`` (a pointwise linear map beside the kernel), between a pointwise
lifting of the input channels and a two-layer pointwise projection, as in the LPSDA FNO1d
(which also applies GELU after the last Fourier layer).

Channels-first layout throughout, so the pointwise maps are one ``einsum``/``conv1d`` each and the
spectral product is one batched complex matrix product per mode; the inverse FFT pads the
dropped modes itself (no zero tensor of the full spectrum is built).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from pdesym.errors import PdesymError
from pdesym.operators.config import FNOConfig

__all__ = ["FNO1d", "PointwiseLinear", "SpectralConv1d"]


def _check_generator(generator: torch.Generator | None) -> torch.Generator:
    # Parameters are drawn on the CPU in float64 and cast afterwards, so one seed gives the same
    # initial network on every device and in both precisions.
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    return generator


class SpectralConv1d(nn.Module):
    """Fourier layer ``K``: keep the lowest ``modes`` modes, mix channels per mode, drop the rest.

    ``weight`` is stored as a real tensor (in_channels, out_channels, modes, 2) holding the real and
    imaginary parts of ``W``, so that dtype casts and optimisers treat it like any real parameter.
    Initialisation as Li et al.: real and imaginary parts uniform on [0, 1/(in*out)).
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int, *,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.modes = modes
        scale = 1.0 / (in_channels * out_channels)
        init = torch.rand(in_channels, out_channels, modes, 2, dtype=torch.float64,
                          generator=_check_generator(generator))
        self.weight = nn.Parameter(scale * init)

    @property
    def multiplier(self) -> torch.Tensor:
        """The complex weights ``W`` of shape (in_channels, out_channels, modes)."""
        return torch.view_as_complex(self.weight)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, nx) -> (B, out_channels, nx); needs ``modes <= nx // 2``."""
        nx = v.shape[-1]
        v_hat = torch.fft.rfft(v, dim=-1)[..., : self.modes]
        # (modes, B, in) @ (modes, in, out): one batched matmul over the kept modes.
        out_hat = torch.matmul(v_hat.permute(2, 0, 1), self.multiplier.permute(2, 0, 1)).permute(1, 2, 0)
        return torch.fft.irfft(out_hat, n=nx, dim=-1)

    def extra_repr(self) -> str:
        """Sizes shown by ``repr(model)``."""
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, modes={self.modes}"


class PointwiseLinear(nn.Module):
    """``y[:, o, j] = sum_i A[o, i] v[:, i, j] + b[o]``: a linear map applied at each grid point.

    Initialised like ``torch.nn.Linear``: entries uniform on ``[-1/sqrt(in), 1/sqrt(in)]``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        generator = _check_generator(generator)
        bound = 1.0 / math.sqrt(in_channels)
        self.weight = nn.Parameter(
            (2 * torch.rand(out_channels, in_channels, dtype=torch.float64, generator=generator) - 1) * bound
        )
        self.bias = nn.Parameter((2 * torch.rand(out_channels, dtype=torch.float64, generator=generator) - 1) * bound)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, nx) -> (B, out_channels, nx)."""
        return F.conv1d(v, self.weight[:, :, None], self.bias)


class FNO1d(nn.Module):
    r"""Fourier neural operator mapping ``time_window`` snapshots to the next ``time_future``.

    ``forward(u, dx, dt)``: ``u`` (B, time_window, nx), ``dx`` and ``dt`` (B,) ->
    (B, time_future, nx). The extra channels of ``config.extra_channels`` (x/L, dx, dt) are
    appended to the snapshots before the lifting. Parameters are drawn from ``generator`` on the
    CPU in float64; move and cast the module with ``.to(device, dtype)``.
    """

    def __init__(self, config: FNOConfig, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        generator = _check_generator(generator)
        self.config = config
        width = config.width
        self.lift = PointwiseLinear(config.in_channels, width, generator=generator)
        self.spectral = nn.ModuleList(
            SpectralConv1d(width, width, config.modes, generator=generator) for _ in range(config.layers)
        )
        self.pointwise = nn.ModuleList(
            PointwiseLinear(width, width, generator=generator) for _ in range(config.layers)
        )
        self.project_hidden = PointwiseLinear(width, config.projection_width, generator=generator)
        self.project_out = PointwiseLinear(config.projection_width, config.time_future, generator=generator)

    def input_channels(self, u: torch.Tensor, dx: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        """The snapshots with the extra channels appended: (B, time_window + extra, nx)."""
        b, _, nx = u.shape
        extra = []
        for name in self.config.extra_channels:
            if name == "x":
                grid = torch.arange(nx, dtype=u.dtype, device=u.device) / nx
                extra.append(grid.expand(b, 1, nx))
            else:
                value = dx if name == "dx" else dt
                extra.append(value.to(dtype=u.dtype, device=u.device)[:, None, None].expand(b, 1, nx))
        return torch.cat([u, *extra], dim=1) if extra else u

    def forward(self, u: torch.Tensor, dx: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        """Predict the next ``time_future`` snapshots: (B, time_window, nx) -> (B, time_future, nx)."""
        if u.ndim != 3 or u.shape[1] != self.config.time_window or u.shape[2] < 2 * self.config.modes:
            raise PdesymError(
                f"FNO1d expects u of shape (B, {self.config.time_window}, nx >= {2 * self.config.modes}), "
                f"got {tuple(u.shape)}."
            )
        v = self.lift(self.input_channels(u, dx, dt))
        for spectral, pointwise in zip(self.spectral, self.pointwise):
            v = F.gelu(spectral(v) + pointwise(v))
        return self.project_out(F.gelu(self.project_hidden(v)))

    def parameter_count(self) -> int:
        """Number of real trainable numbers."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
