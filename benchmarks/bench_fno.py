"""Training speed of pdesym's 1-D FNO on the CPU: optimisation steps per second by size and batch.

Baseline, run in the same process: a textbook FNO1d with the same architecture and parameter
count, written the way the reference implementations lay it out (channels-last lifting with
permutes, a zero-filled full spectrum per layer, ``einsum`` mode product, ``Conv1d`` skip).
The ratio column is pdesym steps/s over baseline steps/s. A second table measures the whole
``train_operator`` loop (window cutting, RandomTranslation augmentation, AdamW) against bare
model steps, i.e. the overhead of the training machinery.

    python benchmarks/bench_fno.py --threads 1           # full table (about 2 minutes)
    python benchmarks/bench_fno.py --quick --threads 2   # small sizes only, two threads

On a CPU shared with other jobs use one thread: measured on the project's loaded 2-core machine,
two intra-op threads made the cpu-small step 10-100x slower (thread-pool spin-waiting), and the
rate varied by 10x between repeats.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn
from torch.nn import functional as F

from pdesym.operators import FNO1d, RandomTranslation, Trajectories, get_fno_config, train_operator


class TextbookSpectral(nn.Module):
    def __init__(self, width: int, modes: int) -> None:
        super().__init__()
        self.modes = modes
        self.weights = nn.Parameter(torch.rand(width, width, modes, dtype=torch.cfloat) / width**2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_ft = torch.fft.rfft(x)
        out = torch.zeros(x.shape[0], self.weights.shape[1], x.shape[-1] // 2 + 1, dtype=torch.cfloat)
        out[:, :, : self.modes] = torch.einsum("bix,iox->box", x_ft[:, :, : self.modes], self.weights)
        return torch.fft.irfft(out, n=x.shape[-1])


class TextbookFNO(nn.Module):
    """Same maps as FNO1d with extra channels (dx, dt), in the reference layout (float32 only)."""

    def __init__(self, config) -> None:
        super().__init__()
        self.lift = nn.Linear(config.in_channels, config.width)
        self.spectral = nn.ModuleList(TextbookSpectral(config.width, config.modes) for _ in range(config.layers))
        self.skip = nn.ModuleList(nn.Conv1d(config.width, config.width, 1) for _ in range(config.layers))
        self.fc1 = nn.Linear(config.width, config.projection_width)
        self.fc2 = nn.Linear(config.projection_width, config.time_future)

    def forward(self, u: torch.Tensor, dx: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        nx = u.shape[-1]
        x = torch.cat([u.permute(0, 2, 1), dx[:, None, None].repeat(1, nx, 1), dt[:, None, None].repeat(1, nx, 1)], -1)
        x = self.lift(x).permute(0, 2, 1)
        for spectral, skip in zip(self.spectral, self.skip):
            x = F.gelu(spectral(x) + skip(x))
        return self.fc2(F.gelu(self.fc1(x.permute(0, 2, 1)))).permute(0, 2, 1)


def steps_per_second(model: nn.Module, batch: int, nx: int, config, dtype: torch.dtype, seconds: float) -> float:
    """Full optimisation steps (forward, backward, AdamW) per second on random windows."""
    g = torch.Generator().manual_seed(0)
    u = torch.randn(batch, config.time_window, nx, generator=g, dtype=dtype)
    y = torch.randn(batch, config.time_future, nx, generator=g, dtype=dtype)
    d = torch.full((batch,), 0.5, dtype=dtype)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        (model(u, d, d) - y).pow(2).sum(dim=(1, 2)).mean().backward()
        opt.step()

    for _ in range(2):
        step()
    count, began = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - began < seconds:
        step()
        count += 1
    return count / (time.perf_counter() - began)


def advection(n: int, nt: int, nx: int, seed: int) -> Trajectories:
    g = torch.Generator().manual_seed(seed)
    x = torch.arange(nx, dtype=torch.float64) * 2 * math.pi / nx
    t = torch.arange(nt, dtype=torch.float64) * 0.05
    k = torch.arange(1, 6, dtype=torch.float64)
    a = (2 * torch.rand(n, 5, generator=g, dtype=torch.float64) - 1) / k
    phi = 2 * math.pi * torch.rand(n, 5, generator=g, dtype=torch.float64)
    u = (a[:, None, None] * torch.sin(k * (x[:, None] - t[:, None, None]) + phi[:, None, None])).sum(-1)
    return Trajectories.from_grid(u, x, t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    nx = 256
    cases = [("cpu-small", b, torch.float32) for b in (4, 16, 64)] + [("cpu-small", 16, torch.float64)]
    if not args.quick:
        cases += [("lpsda", b, torch.float32) for b in (4, 16)]
    print(f"# FNO1d training speed, nx = {nx}, time_window = time_future = 20, {args.threads} thread(s), "
          f"torch {torch.__version__}")
    print(f"{'preset':10} {'params':>9} {'batch':>5} {'dtype':>8} {'pdesym steps/s':>15} {'textbook steps/s':>17} "
          f"{'ratio':>6} {'samples/s':>10}")
    for preset, batch, dtype in cases:
        config = get_fno_config(preset)
        ours = FNO1d(config).to(dtype)
        ours_rate = steps_per_second(ours, batch, nx, config, dtype, args.seconds)
        if dtype == torch.float32:
            base = TextbookFNO(config)
            assert sum(p.numel() * (2 if p.is_complex() else 1) for p in base.parameters()) == ours.parameter_count()
            base_rate = steps_per_second(base, batch, nx, config, dtype, args.seconds)
            ratio = f"{ours_rate / base_rate:6.2f}"
            base_text = f"{base_rate:17.2f}"
        else:
            base_text, ratio = f"{'-':>17}", f"{'-':>6}"
        print(f"{preset:10} {ours.parameter_count():9d} {batch:5d} {str(dtype)[6:]:>8} {ours_rate:15.2f} {base_text} "
              f"{ratio} {ours_rate * batch:10.1f}", flush=True)

    # Whole training loop vs bare steps: cpu-small, 16 trajectories of nt = 140, batch 16.
    config = get_fno_config("cpu-small", epochs=1, passes_per_epoch=20)
    data = advection(16, 140, nx, seed=1)
    bare = steps_per_second(FNO1d(config).float(), 16, nx, config, torch.float32, args.seconds)
    rows = []
    for name, augment in [("none", None), ("RandomTranslation", RandomTranslation())]:
        began = time.perf_counter()
        train_operator(data, config=config, augment=augment, seed=0, device="cpu")
        rows.append((name, config.passes_per_epoch / (time.perf_counter() - began)))
    print()
    print("# train_operator loop (cpu-small, 16 trajectories x 140 x 256, batch 16) vs bare model steps")
    print(f"{'augmentation':18} {'loop steps/s':>12} {'bare steps/s':>12} {'loop/bare':>9}")
    for name, rate in rows:
        print(f"{name:18} {rate:12.2f} {bare:12.2f} {rate / bare:9.2f}")


if __name__ == "__main__":
    main()
