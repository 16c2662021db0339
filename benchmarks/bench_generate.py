"""Data generation speed and accuracy: pdesym's batched solvers vs an adaptive reference integrator.

For each preset row (kdv, ks, burgers) ``n`` trajectories of the preset are generated with
pdesym (ETDRK4, or the exact Cole-Hopf map for Burgers) and, in the same process, with the
baseline the LPSDA benchmark data were made with in spirit: an adaptive integrator at
rtol = atol = 1e-9 on the *same* dealiased pseudo-spectral right-hand side (torchdiffeq dopri5).
The baseline is timed on a subset of ``--ref-n`` trajectories (batched) and scaled to n; for
KS, whose k^4 term limits an explicit method to tiny steps (about 1e4 per time unit here), it
runs over the first 2 time units and is scaled to the whole span as well.
Both are compared with a fine solution on that subset: ETDRK4 at dt/8 (KdV, KS) or the
Cole-Hopf map on a 2x finer quadrature grid (Burgers). Errors are max over trajectories and
stored snapshots of max|u - u_fine| / max|u_fine|; for chaotic KS only snapshots within
2 time units after the warm-up are compared (later the chaos amplifies any error alike),
and both integrators start from the same warmed-up state.

    python benchmarks/bench_generate.py --n 1024 --threads 2
    python benchmarks/bench_generate.py --study          # the KdV dt / resolution study of presets.py

On a CPU shared with other jobs use --threads 1: oversubscribed intra-op threads can be 10x slower.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torchdiffeq import odeint

from pdesym.solvers import SpectralGrid, get_solver_preset, random_initial_conditions, solve
from pdesym.solvers.colehopf import colehopf_solve
from pdesym.solvers.methods import spectral_rhs


def rel_error(u: torch.Tensor, ref: torch.Tensor) -> float:
    """max over trajectories and snapshots of max|u - ref| / max|ref|."""
    return float(((u - ref).abs().amax(-1) / ref.abs().amax(-1).clamp_min(1e-300)).max())


def initial(p, n: int, nx: int | None = None) -> torch.Tensor:
    return random_initial_conditions(n, nx or p.nx, p.length, seed=0, modes=p.modes, amplitude=p.amplitude,
                                     max_wavenumber=p.max_wavenumber)


def row(name: str, n: int, ref_n: int) -> dict:
    p = get_solver_preset(name)
    u0 = initial(p, n)
    t_out = torch.linspace(0.0, p.t_end, p.nt_out, dtype=torch.float64)
    if p.warmup > 0:  # both integrators start from the same state after the warm-up
        u0 = solve(p.equation, u0, length=p.length, t_out=torch.tensor([p.warmup]), dt=p.dt).u[:, 0]
    start = time.perf_counter()
    sol = solve(p.equation, u0, length=p.length, t_out=t_out, dt=p.dt, method=p.method)
    ours = time.perf_counter() - start

    sub = u0[:ref_n]
    keep = t_out <= (p.t_end if p.warmup == 0 else 2.0) + 1e-9
    rhs = spectral_rhs(p.equation.split(), SpectralGrid(p.length, p.nx))
    start = time.perf_counter()
    base = odeint(rhs, sub, t_out[keep], method="dopri5", rtol=1e-9, atol=1e-9).transpose(0, 1)
    baseline = (time.perf_counter() - start) * n / ref_n * p.t_end / float(t_out[keep][-1])

    if sol.method == "colehopf":
        fine = colehopf_solve(sub, p.length, t_out, nu=float(p.equation.params["nu"]), refine=8)
    else:
        fine = solve(p.equation, sub, length=p.length, t_out=t_out, dt=p.dt / 8, method="etdrk4").u
    return {
        "row": name, "method": sol.method, "n": n, "ours_s": ours, "base_s": baseline,
        "ours_err": rel_error(sol.u[:ref_n, keep], fine[:, keep]), "base_err": rel_error(base, fine[:, keep]),
    }


def study(n: int) -> None:
    """KdV preset: error vs a dt/8 solution for candidate steps, and nx vs 2nx at the chosen dt."""
    p = get_solver_preset("kdv")
    t_out = torch.linspace(0.0, p.t_end, p.nt_out, dtype=torch.float64)
    u0 = initial(p, n)
    fine = solve(p.equation, u0, length=p.length, t_out=t_out, dt=0.0125).u
    print(f"KdV dt study, {n} trajectories, T = {p.t_end}, amplitude {p.amplitude}, reference dt = 0.0125")
    print("| dt | step used | max rel. error | seconds |\n|---|---|---|---|")
    gap = p.t_end / (p.nt_out - 1)
    for dt in (0.02, 0.04, 0.05, 0.06, 0.08, 0.1, 0.12, 0.15):
        start = time.perf_counter()
        u = solve(p.equation, u0, length=p.length, t_out=t_out, dt=dt).u
        used = gap / math.ceil(gap / dt - 1e-9)
        print(f"| {dt} | {used:.4f} | {rel_error(u, fine):.2e} | {time.perf_counter() - start:.2f} |")
    doubled = solve(p.equation, initial(p, n, 2 * p.nx), length=p.length, t_out=t_out, dt=0.0125).u[..., ::2]
    spec = torch.fft.rfft(fine[:, -1]).abs()
    print(f"\nspatial: nx = {p.nx} vs {2 * p.nx} at the stored points: max rel. error {rel_error(fine, doubled):.2e}; "
          f"spectrum beyond 2/3 of the kept modes / max: {float((spec[:, 57:86].amax(-1) / spec.amax(-1)).max()):.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024, help="trajectories per row")
    parser.add_argument("--ref-n", type=int, default=8, help="trajectories the baseline is timed on")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--rows", default="kdv,ks,burgers", help="comma-separated presets")
    parser.add_argument("--study", action="store_true", help="run the KdV dt/resolution study instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    if args.study:
        study(min(args.n, 64))
        return
    print(f"float64, {args.threads} thread(s); baseline: torchdiffeq dopri5 rtol=atol=1e-9 on the same RHS, "
          f"timed on {args.ref_n} trajectories and scaled")
    print("| preset | pdesym method | n | pdesym s | traj/s | dopri5 s (scaled) | traj/s | speed-up | "
          "pdesym error | dopri5 error |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.rows.split(","):
        r = row(name.strip(), args.n, min(args.ref_n, args.n))
        print(f"| {r['row']} | {r['method']} | {r['n']} | {r['ours_s']:.2f} | {r['n'] / r['ours_s']:.1f} | "
              f"{r['base_s']:.1f} | {r['n'] / r['base_s']:.2f} | {r['base_s'] / r['ours_s']:.0f}x | "
              f"{r['ours_err']:.1e} | {r['base_err']:.1e} |", flush=True)


if __name__ == "__main__":
    main()
