"""Dataset I/O and generation speed: the streaming writer and ``--threads`` of ``pdesym generate``.

Table 1, writing: MiB/s of :func:`pdesym.datasets.write_dataset` (chunks appended to resizable
chunked datasets, temp file + rename, finiteness check) against the baseline of one plain
``h5py`` ``create_dataset(data=u)`` of the whole array in memory (what LPSDA's script does),
run in the same process; ratio = streaming / baseline. Also the tracemalloc peak of each.

Table 2, generation: trajectories/s of :func:`pdesym.datasets.generate_dataset` for a preset
with 1, 2, ... torch threads; ratio against 1 thread (the CLI's default, chosen from this table).

    python benchmarks/bench_datasets.py                 # both tables (about a minute)
    python benchmarks/bench_datasets.py --quick         # small sizes
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import torch

from pdesym.datasets import generate_dataset, write_dataset


def _chunks(n: int, chunk: int, nt: int, nx: int):
    rng = np.random.default_rng(0)
    x, t = np.linspace(0, 1, nx, endpoint=False), np.arange(nt, dtype=float)
    for start in range(0, n, chunk):
        yield SimpleNamespace(u=rng.standard_normal((min(chunk, n - start), nt, nx)), x=x, t=t, seeds=None)


def _measure(fn) -> tuple[float, int]:
    tracemalloc.start()
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak


def bench_write(directory: Path, n: int, nt: int, nx: int, chunk: int) -> None:
    mib = n * nt * nx * 8 / 2**20

    def baseline() -> None:
        u = np.concatenate([c.u for c in _chunks(n, chunk, nt, nx)])
        with h5py.File(directory / "plain.h5", "w") as f:
            f.create_dataset(f"train/pde_{nt}-{nx}", data=u)

    def streaming() -> None:
        write_dataset(directory / "stream.h5", {"train": _chunks(n, chunk, nt, nx)}, force=True)

    streaming()  # warm-up (imports, h5py caches)
    tb, pb = _measure(baseline)
    ts, ps = _measure(streaming)
    print(f"\nWriting N={n} trajectories of {nt}x{nx} float64 ({mib:.0f} MiB), chunk {chunk}")
    print(f"{'method':<28}{'MiB/s':>10}{'peak MiB':>10}{'ratio':>8}")
    print(f"{'h5py, whole array (base)':<28}{mib / tb:>10.0f}{pb / 2**20:>10.1f}{1.0:>8.2f}")
    print(f"{'pdesym write_dataset':<28}{mib / ts:>10.0f}{ps / 2**20:>10.1f}{tb / ts:>8.2f}")


def bench_generate(directory: Path, preset: str, n: int, threads: list[int], nx: int | None) -> None:
    print(f"\nGenerating {n} {preset} trajectories (nx={nx or 'preset'}) on the CPU")
    print(f"{'threads':<10}{'traj/s':>10}{'ratio':>8}")
    base = None
    for k in threads:
        torch.set_num_threads(k)
        t0 = time.perf_counter()
        generate_dataset(preset, directory / f"gen{k}.h5", n_train=n, n_valid=0, n_test=0, nx=nx, device="cpu",
                         chunk=n, force=True)
        rate = n / (time.perf_counter() - t0)
        base = base or rate
        print(f"{k:<10}{rate:>10.2f}{rate / base:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--preset", default="kdv")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        directory = Path(d)
        if args.quick:
            bench_write(directory, 500, 40, 64, 25)
            bench_generate(directory, args.preset, 4, [1, 2], 64)
        else:
            bench_write(directory, 2000, 140, 256, 64)
            bench_generate(directory, args.preset, 16, [1, 2], None)


if __name__ == "__main__":
    main()
