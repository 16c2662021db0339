r"""LPSDA-style random initial conditions with counter-based, per-trajectory randomness.

Trajectory i of a data set with seed s is

.. math:: u_0(x) = \sum_{j=1}^{J} A_j \sin(2\pi \ell_j x / L + \phi_j),\quad
          A_j \sim U[-A, A],\ \ell_j \sim U\{1..\ell_{max}\},\ \phi_j \sim U[0, 2\pi),

as in Brandstetter, Welling & Worrall, "Lie Point Symmetry Data Augmentation for Neural PDE
Solvers" (ICML 2022; ``generate/generate_data.py`` and ``equations/PDEs.py`` of its code), whose
KdV and KS settings are the defaults here: J = 10, A = 0.5, :math:`\ell \in \{1, 2\}`. Its random
numbers come from SplitMix64 (Steele et al. 2014) keyed by (seed, i) only — a counter-based
stream — so a trajectory is the same whether it is made alone, in any batch, or on any process
of a sharded run.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from pdesym.devices import resolve_device, resolve_dtype
from pdesym.errors import PdesymError

__all__ = ["random_initial_conditions", "trajectory_seeds", "splitmix64", "uniforms"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser of ``z + golden`` (uint64 array; arithmetic modulo 2^64)."""
    with np.errstate(over="ignore"):
        z = np.asarray(z, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def trajectory_seeds(seed: int, start: int, n: int) -> np.ndarray:
    """Per-trajectory keys (uint64) of trajectories start..start+n-1 for ``seed``."""
    if int(seed) < 0 or int(start) < 0 or int(n) < 0:
        raise PdesymError(f"seed, start and n must be >= 0, got seed={seed}, start={start}, n={n}.")
    base = splitmix64(np.array([int(seed) % 2**64], dtype=np.uint64))[0]
    idx = np.arange(int(start), int(start) + int(n), dtype=np.uint64)
    with np.errstate(over="ignore"):
        return splitmix64(base ^ splitmix64(idx))


def uniforms(keys: np.ndarray, count: int) -> np.ndarray:
    """``count`` uniforms in [0, 1) per key, shape (len(keys), count), 53-bit resolution."""
    with np.errstate(over="ignore"):
        ctr = keys[:, None] + np.arange(1, count + 1, dtype=np.uint64)[None, :] * _GOLDEN
    return (splitmix64(ctr) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def random_initial_conditions(
    n: int,
    nx: int,
    length: float,
    *,
    seed: int,
    start: int = 0,
    modes: int = 10,
    amplitude: float = 0.5,
    max_wavenumber: int = 2,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
) -> torch.Tensor:
    r"""Initial conditions of trajectories start..start+n-1, shape (n, nx) on :math:`x_j = jL/n_x`.

    :math:`u_0 = \sum_{j<J} A_j \sin(2\pi\ell_j x/L + \phi_j)` with J = ``modes``,
    :math:`|A_j| \le` ``amplitude``, :math:`\ell_j \in \{1..\,` ``max_wavenumber`` :math:`\}`.
    Row i depends only on (seed, start + i).
    """
    if modes < 1 or max_wavenumber < 1 or not amplitude >= 0:
        raise PdesymError(f"Need modes >= 1, max_wavenumber >= 1 and amplitude >= 0, got "
                          f"{modes}, {max_wavenumber}, {amplitude}.")
    if 2 * max_wavenumber >= nx:
        raise PdesymError(f"max_wavenumber={max_wavenumber} is not resolved on nx={nx} points.")
    dev = resolve_device(device) if device is not None else torch.device("cpu")
    dt_ = resolve_dtype(dtype) if dtype is not None else torch.float64
    r = uniforms(trajectory_seeds(seed, start, n), 3 * modes)
    amp = torch.from_numpy(amplitude * (2 * r[:, :modes] - 1))
    ell = torch.from_numpy(np.minimum(np.floor(r[:, modes:2 * modes] * max_wavenumber), max_wavenumber - 1) + 1)
    phase = torch.from_numpy(2 * math.pi * r[:, 2 * modes:])
    x = torch.arange(nx, dtype=torch.float64) * (length / nx)
    # (n, J, 1) * (nx,) -> (n, J, nx), summed over the modes in float64, then cast
    u = (amp[..., None] * torch.sin(2 * math.pi / length * ell[..., None] * x + phase[..., None])).sum(1)
    return u.to(device=dev, dtype=dt_)
