"""Throughput of whole-trajectory symmetry transformations (pdesym.augment) on the CPU.

Baseline, run in the same process: the same transformation with every point resampled by the
direct per-point path (``fast=False``: a Lagrange stencil per point in t and a direct sum over
all Fourier modes per point in x) -- what a generic "evaluate the interpolant at the pulled-back
points" implementation does. pdesym's fast paths use a Fourier phase ramp when the pulled-back
points are a shift of the grid along a snapshot (translations, boosts), whole-snapshot Lagrange
interpolation when the pulled-back time is constant along x, and a gather when it falls on
stored snapshots (scalings). The ratio column is baseline seconds over pdesym seconds; the
maximum difference between the two results is printed as a check.

    python benchmarks/bench_augment.py --threads 1
"""

from __future__ import annotations

import argparse
import time

import torch

from pdesym.augment import GroupAction, transform_trajectories
from pdesym.operators import Trajectories
from pdesym.symbolic import find_symmetries


def _time(fn, repeats: int) -> float:
    fn()
    began = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - began) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    fields = find_symmetries("kdv").fields
    sizes = [(4, 140, 64)] if args.quick else [(4, 140, 64), (16, 140, 128), (16, 140, 256)]
    cases = {
        "x-translation + boost": ([fields[0], fields[2]], [0.7, 0.3]),
        "all four (time shift 0.37 dt)": (fields, [0.7, 0.0, 0.3, 0.02]),
    }
    print(f"{'case':32s} {'B x nt x nx':>14s} {'pdesym ms':>10s} {'baseline ms':>12s} {'ratio':>7s} {'max diff':>9s}")
    for b, nt, nx in sizes:
        g = torch.Generator().manual_seed(0)
        x = torch.arange(nx, dtype=torch.float64) * 128.0 / nx
        k = torch.arange(1, 4, dtype=torch.float64)
        phase = torch.rand(b, 3, dtype=torch.float64, generator=g) * 6.28
        t = torch.arange(nt, dtype=torch.float64) * 0.72
        u = torch.sin(2 * torch.pi * k[None, :, None, None] * x / 128.0 + phase[:, :, None, None]
                      + 0.01 * t[None, None, :, None]).sum(1)
        traj = Trajectories.from_grid(u, x, t)
        for name, (gens, values) in cases.items():
            action = GroupAction.from_fields(gens)
            eps = torch.tensor(values, dtype=torch.float64).repeat(b, 1)
            if len(values) == 4:
                eps[:, 1] = 0.37 * 0.72
            ours = _time(lambda: transform_trajectories(traj, action, eps), args.repeats)
            base = _time(lambda: transform_trajectories(traj, action, eps, fast=False), max(1, args.repeats // 2))
            diff = (transform_trajectories(traj, action, eps).u
                    - transform_trajectories(traj, action, eps, fast=False).u).abs().max()
            print(f"{name:32s} {f'{b}x{nt}x{nx}':>14s} {1e3 * ours:10.1f} {1e3 * base:12.1f} "
                  f"{base / ours:7.1f} {float(diff):9.1e}")


if __name__ == "__main__":
    main()
