"""Data generation at scale: solver throughput vs batch size, streaming memory, float32 vs float64.

Table 1, throughput: trajectories/s of :func:`pdesym.solvers.generate_batch` (the batched ETDRK4
solver, no I/O) for batch sizes 1, 4, 16, ... 65536 on the CPU (and CUDA when present); ratio
against batch 1 in the same process. Sizes stop where the next batch would take more than
``--max-seconds`` (predicted from the last rate) or would not fit in memory; the table says so.

Table 2, memory: peak resident set size (``VmHWM`` of a fresh child process, Linux) of
``pdesym generate`` writing N trajectories to HDF5 for two N (1 000 vs 100 000 with ``--full``);
short runs (t_end 1, nx 32, 10 snapshots) because the point is that the streaming writer keeps
memory flat in N, not the solver's speed. Ratio = peak RSS / peak RSS at the smaller N.

Table 3, precision: ETDRK4 on the exact KdV soliton (L = 64, nx = 256, c = 1, T = 10, dt 0.02 and
0.01): relative L2 error and the time of a batch of shifted solitons, float32 vs float64 (speed-up:
float64 time / float32 time).

Table 4, writer thread: trajectories/s of ``generate_dataset`` to HDF5 with the background writer
thread (:class:`pdesym.background.BackgroundAppender`) against synchronous writes, best of three
alternating repeats (ratio: thread / synchronous).

    python benchmarks/bench_scale.py            # quick sizes (a few minutes on a loaded 2-core box)
    python benchmarks/bench_scale.py --full     # preset KdV horizon, N = 100 000 memory run
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from pdesym.equations import Equation
from pdesym.solvers import generate_batch, get_solver_preset, solve

ROOT = Path(__file__).resolve().parents[1]


def _devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def bench_throughput(preset: str, t_end: float | None, nx: int | None, max_seconds: float) -> None:
    p = get_solver_preset(preset)
    horizon = t_end if t_end is not None else p.t_end
    print(f"\n### Throughput vs batch size ({preset}, nx={nx or p.nx}, t_end={horizon:g}, dt={p.dt:g}, "
          f"{p.nt_out} snapshots, float64, torch threads {torch.get_num_threads()})\n")
    print("| device | batch | seconds | traj/s | ratio vs batch 1 |")
    print("|---|---:|---:|---:|---:|")
    for device in _devices():
        base, batch, note = None, 1, "all sizes up to 65536 measured"
        while batch <= 65536:
            if device == "cuda":
                torch.cuda.synchronize()
            try:
                t0 = time.perf_counter()
                generate_batch(preset, batch, seed=0, nx=nx, t_end=t_end, device=device)
                if device == "cuda":
                    torch.cuda.synchronize()
                seconds = time.perf_counter() - t0
            except (RuntimeError, MemoryError) as exc:  # out of memory: the table ends here
                note = f"stopped at batch {batch}: {type(exc).__name__} ({str(exc)[:60]})"
                break
            rate = batch / seconds
            base = base or rate
            print(f"| {device} | {batch} | {seconds:.2f} | {rate:.1f} | {rate / base:.2f} |")
            nxt = batch * 4
            if nxt <= 65536 and nxt / rate > max_seconds:
                note = (f"stopped after batch {batch}: batch {nxt} would take ~{nxt / rate:.0f} s "
                        f"(> {max_seconds:g} s)")
                break
            batch = nxt
        print(f"\n{device}: {note}.")
    if not torch.cuda.is_available():
        print("\ncuda: not measured (no GPU lent).")


# VmHWM (peak RSS of this address space), not ru_maxrss: Linux carries ru_maxrss over exec() from
# the forked copy of the parent, so a child of a big benchmark process would report the parent's peak
_CHILD = """
import sys, time
from pdesym.datasets import generate_dataset
n, out = int(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
generate_dataset("kdv", out, n_train=n, n_valid=0, n_test=0, nx=32, nt_out=10, t_end=1.0, device="cpu", chunk=64,
                 force=True)
seconds = time.perf_counter() - t0
hwm = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(seconds, hwm)
"""


def bench_memory(sizes: list[int]) -> None:
    print("\n### Peak RSS while streaming N trajectories to HDF5 (kdv, nx 32, 10 snapshots, t_end 1, chunk 64, "
          "float64, one fresh process each)\n")
    print("| N | data MiB | seconds | traj/s | peak RSS MiB | ratio vs smallest N |")
    print("|---:|---:|---:|---:|---:|---:|")
    base = None
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as d:
        for n in sizes:
            out = Path(d) / f"m{n}.h5"
            res = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(out)], env=env, capture_output=True,
                                 text=True, timeout=3600)
            if res.returncode:
                print(f"| {n} | failed: {res.stderr.strip().splitlines()[-1][:80]} | | | | |")
                continue
            seconds, kib = (float(v) for v in res.stdout.split()[-2:])
            peak = kib / 1024
            base = base or peak
            data = n * 10 * 32 * 8 / 2**20
            print(f"| {n} | {data:.0f} | {seconds:.1f} | {n / seconds:.0f} | {peak:.0f} | {peak / base:.2f} |")
            out.unlink(missing_ok=True)


def _soliton(x: torch.Tensor, t: float, x0: torch.Tensor | float, *, c: float = 1.0, length: float = 64.0):
    xi = torch.remainder(x - c * t - x0 + length / 2, length) - length / 2
    return 3 * c / torch.cosh(math.sqrt(c) * xi / 2) ** 2


def bench_precision(batch: int) -> None:
    length, nx, t_end = 64.0, 256, 10.0
    x = torch.arange(nx, dtype=torch.float64) * length / nx
    x0 = torch.linspace(10.0, 50.0, batch, dtype=torch.float64)[:, None]
    u0, exact = _soliton(x, 0.0, x0), _soliton(x, t_end, x0)
    eq = Equation.from_preset("kdv")
    print(f"\n### float32 vs float64 on the KdV soliton (L=64, nx=256, c=1, T=10; {batch} shifted solitons "
          "per batch)\n")
    print("| device | dt | dtype | rel. L2 error at T | seconds per batch | float32 speed-up (t64 / t32) |")
    print("|---|---:|---|---:|---:|---:|")
    for device in _devices():
        for dt in (0.02, 0.01):
            times = {}
            for dtype in (torch.float64, torch.float32):
                solve(eq, u0[:2].to(device=device, dtype=dtype), length=length, t_out=torch.tensor([0.0, 0.5]),
                      dt=dt)  # warm-up (plans, caches)
                if device == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                sol = solve(eq, u0.to(device=device, dtype=dtype), length=length,
                            t_out=torch.tensor([0.0, t_end]), dt=dt)
                if device == "cuda":
                    torch.cuda.synchronize()
                times[dtype] = time.perf_counter() - t0
                err = (sol.u[:, -1].double().cpu() - exact).norm(dim=-1) / exact.norm(dim=-1)
                ratio = "1.00" if dtype == torch.float64 else f"{times[torch.float64] / times[dtype]:.2f}"
                print(f"| {device} | {dt:g} | {str(dtype).replace('torch.', '')} | {float(err.max()):.2e} | "
                      f"{times[dtype]:.2f} | {ratio} |")
    if not torch.cuda.is_available():
        print("\ncuda: not measured (no GPU lent).")


def bench_writer_thread(n: int, t_end: float) -> None:
    from pdesym.datasets import generate_dataset

    print(f"\n### Background writer thread vs synchronous writes (generate_dataset kdv, N={n}, nx=256, "
          f"t_end={t_end:g}, 140 snapshots, chunk 64, best of 3)\n")
    print("| device | writes | traj/s | ratio vs synchronous |")
    print("|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as d:
        for device in _devices():
            best = {False: 0.0, True: 0.0}
            for _ in range(3):
                for background in (False, True):
                    t0 = time.perf_counter()
                    generate_dataset("kdv", Path(d) / "w.h5", n_train=n, n_valid=0, n_test=0, nx=256, t_end=t_end,
                                     device=device, chunk=64, force=True, background=background)
                    best[background] = max(best[background], n / (time.perf_counter() - t0))
            for background in (False, True):
                print(f"| {device} | {'thread' if background else 'synchronous'} | {best[background]:.1f} | "
                      f"{best[background] / best[False]:.2f} |")
    if not torch.cuda.is_available():
        print("\ncuda: not measured (no GPU lent).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="paper sizes: preset horizon, N = 100 000")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="largest time of one throughput batch")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    if args.full:
        bench_throughput("kdv", None, None, args.max_seconds)
        bench_memory([1000, 100_000])
        bench_precision(256)
        bench_writer_thread(1024, 10.0)
    else:
        bench_throughput("kdv", 10.0, 256, min(args.max_seconds, 10.0))
        bench_memory([1000, 10_000])
        bench_precision(32)
        bench_writer_thread(256, 10.0)


if __name__ == "__main__":
    main()
