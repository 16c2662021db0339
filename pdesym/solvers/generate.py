"""``generate_batch``: random initial conditions of a preset (or typed equation), solved and stored."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import sympy as sp
import torch

from pdesym.devices import resolve_device, resolve_dtype
from pdesym.equations import EQUATION_PRESETS, Equation, get_equation
from pdesym.errors import PdesymError
from pdesym.solvers.initial import random_initial_conditions, trajectory_seeds
from pdesym.solvers.methods import BlowUpError, solve
from pdesym.solvers.presets import SOLVER_PRESETS, TEXT_DEFAULTS, SolverPreset

__all__ = ["GeneratedBatch", "generate_batch", "resolve_preset", "batch_size_for_memory", "suggest_batch_size",
           "DEFAULT_BATCH", "MAX_BATCH"]

#: Trajectories per batch on the CPU (and whenever the device cannot say how much memory is free).
DEFAULT_BATCH = 64
#: Upper bound of an automatic batch size (more gives no further speed on one GPU).
MAX_BATCH = 65536
# Work arrays of one ETDRK4 batch, in units of a real row of nx values: v, a, b, c and their N
# (complex, nx/2+1 each = one real row), E/Q products, one rfft/irfft pair (cuFFT work space of
# about the same size), and, on CUDA, the intermediates of the captured graph steps. Measured
# peaks of the CPU solver are ~25 rows; 48 leaves room for the graph pool and the allocator.
_WORK_ROWS = 48
# Fraction of the free device memory a batch may take: the rest is for the writer's host copies,
# fragmentation and whatever else the process holds.
_MEMORY_FRACTION = 0.5


@dataclass(frozen=True, eq=False)
class GeneratedBatch:
    """u (n, nt_out, nx), x (nx,), t (nt_out,), per-trajectory seeds (n,) int64, and settings
    (a JSON-able dict for provenance attributes: equation, domain, solver, method, seeds)."""

    u: torch.Tensor
    x: torch.Tensor
    t: torch.Tensor
    seeds: torch.Tensor
    settings: dict


def resolve_preset(spec: str | Equation, *, nx: int | None = None, nt_out: int | None = None,
                   dt: float | None = None, length: float | None = None,
                   t_end: float | None = None) -> SolverPreset:
    """The preset of ``spec`` (a preset name, an Equation, or equation text) with overrides.

    A typed equation that *is* a preset's equation (same solved form u_t = K, compared
    symbolically) gets that preset's settings; any other gets the domain of kdv
    (:data:`TEXT_DEFAULTS`). length / t_end / nx / nt_out / dt override either.
    """
    if isinstance(spec, Equation):
        eq = spec
    elif isinstance(spec, str):
        eq = get_equation(spec)
    else:
        raise PdesymError(f"Give a preset name, an equation text or an Equation, got {type(spec).__name__}.")
    match = eq.name if eq.name in SOLVER_PRESETS and eq.name in EQUATION_PRESETS else _same_as_preset(eq)
    if match:
        base = replace(SOLVER_PRESETS[match], equation=eq)
    else:
        base = replace(TEXT_DEFAULTS, name="", equation=eq, source="pdesym defaults for typed equations "
                       "(the kdv domain)")
    changes = {k: v for k, v in dict(nx=nx, nt_out=nt_out, dt=dt, length=length, t_end=t_end).items()
               if v is not None}
    for key in ("nx", "nt_out"):
        if key in changes and (int(changes[key]) != changes[key] or changes[key] < (4 if key == "nx" else 1)):
            raise PdesymError(f"{key} must be a positive integer, got {changes[key]!r}.")
    for key in ("dt", "length", "t_end"):
        if key in changes and not float(changes[key]) > 0:
            raise PdesymError(f"{key} must be a positive number, got {changes[key]!r}.")
    return replace(base, **changes)


def _same_as_preset(eq: Equation) -> str:
    """The preset whose solved form equals ``eq``'s (symbolically), or ""."""
    if eq.free_parameters or not eq.is_evolution:
        return ""
    for name, preset in SOLVER_PRESETS.items():
        other = preset.equation
        if other.leading == eq.leading and sp.simplify(other.rhs_numeric - eq.rhs_numeric) == 0:
            return name
    return ""


def generate_batch(
    spec: str | Equation,
    n: int,
    *,
    seed: int,
    start: int = 0,
    nx: int | None = None,
    nt_out: int | None = None,
    dt: float | None = None,
    length: float | None = None,
    t_end: float | None = None,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "float64",
) -> GeneratedBatch:
    """Trajectories start..start+n-1 of ``spec`` for ``seed``: random initial conditions solved
    to the stored times :math:`t_n = warmup + n\\,t_{end}/(n_t - 1)`.

    Trajectory i depends only on (seed, start + i) and the settings, not on n or on the batch.
    """
    if int(n) != n or n < 1:
        raise PdesymError(f"n must be a positive integer, got {n!r}.")
    preset = resolve_preset(spec, nx=nx, nt_out=nt_out, dt=dt, length=length, t_end=t_end)
    dev = resolve_device(device)
    dt_ = resolve_dtype(dtype)
    u0 = random_initial_conditions(n, preset.nx, preset.length, seed=seed, start=start, modes=preset.modes,
                                   amplitude=preset.amplitude, max_wavenumber=preset.max_wavenumber,
                                   device=dev, dtype=dt_)
    t_out = preset.warmup + torch.linspace(0.0, preset.t_end, preset.nt_out, dtype=torch.float64)
    try:
        sol = solve(preset.equation, u0, length=preset.length, t_out=t_out, dt=preset.dt,
                    method=preset.method, device=dev, dtype=dt_)
    except BlowUpError as exc:
        raise BlowUpError(start + exc.index, exc.time,
                          f"{preset.equation.label}, seed {seed}; try a smaller dt than {preset.dt:g}") from None
    seeds = torch.from_numpy(trajectory_seeds(seed, start, n).view("int64").copy())
    settings = {
        **preset.to_dict(),
        "seed": int(seed),
        "start": int(start),
        "n": int(n),
        "dtype": str(dt_).replace("torch.", ""),
        "device": str(dev),
        "solver": sol.method,
        "solver_message": sol.message,
        "t_start": float(t_out[0]),
    }
    return GeneratedBatch(sol.u, sol.x, sol.t, seeds, settings)


def batch_size_for_memory(free_bytes: int, nx: int, nt_out: int, itemsize: int,
                          host_bytes: int | None = None) -> int:
    r"""Largest batch whose arrays fit in half of ``free_bytes`` (device) and whose stored output
    fits in an eighth of ``host_bytes`` (the writer holds up to ~4 batches on the host: the one
    being copied, two queued, one being written), in [1, MAX_BATCH].

    Device bytes per trajectory :math:`\approx s\,n_x (n_t + 48)` (s = ``itemsize``): the stored
    snapshots plus the solver's work arrays; host bytes per trajectory :math:`s\,n_x n_t`.
    """
    per = itemsize * nx * (nt_out + _WORK_ROWS)
    batch = (_MEMORY_FRACTION * free_bytes) // max(per, 1)
    if host_bytes is not None:
        batch = min(batch, (host_bytes // 8) // max(itemsize * nx * nt_out, 1))
    return int(max(1, min(MAX_BATCH, batch)))


def _available_host_bytes() -> int | None:
    """Free physical memory (POSIX sysconf), or None where the platform cannot say."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def suggest_batch_size(nx: int, nt_out: int, device: str | torch.device = "auto",
                       dtype: str | torch.dtype = "float64") -> int:
    """Trajectories per batch: from the free memory (``torch.cuda.mem_get_info``, and the free host
    memory for the writer's copies) on CUDA, :data:`DEFAULT_BATCH` on the CPU. CPU rates flatten
    past 64 (kdv, nx 256, 140 snapshots, one thread: 346 traj/s at 64, 430 at 256 and 1024, 201 at
    4096 where the output no longer fits in cache; benchmarks/bench_scale.py), and 64 keeps a
    batch's output at ~18 MiB."""
    dev = resolve_device(device)
    if dev.type != "cuda":
        return DEFAULT_BATCH
    free, _total = torch.cuda.mem_get_info(dev)
    itemsize = torch.empty((), dtype=resolve_dtype(dtype)).element_size()
    return batch_size_for_memory(int(free), int(nx), int(nt_out), itemsize, _available_host_bytes())
