"""Cost of the characteristic residual of neural fields: Taylor mode vs nested jvp.

Run: ``PYTHONPATH=. python benchmarks/bench_prolongation.py [--points 2000] [--repeat 5]``

An MLP field (3 -> 32 -> 32 -> 3K, tanh, K = 6) on on-shell jets of solver data; the time of
``characteristic_residual`` + backward to the weights, (a) through nested forward-mode
``torch.func.jvp`` (any callable; 2^n passes for spatial order n) and (b) through the field's own
Taylor mode (:mod:`pdesym.taylor`, one pass of O(n²) series work per layer), with the plain
forward + backward of the network as the baseline unit. Equal results are asserted.
"""

from __future__ import annotations

import argparse
import time

import torch

from pdesym import taylor
from pdesym.jets import compute_jets
from pdesym.prolongation import characteristic_residual
from pdesym.solvers import generate_batch

K = 6


class Field(torch.nn.Module):
    """(x, t, u) -> (N, K, 3) with its own Taylor mode."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(3, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32),
                                       torch.nn.Tanh(), torch.nn.Linear(32, 3 * K))

    def forward(self, x, t, u):
        return self.net(torch.stack([x, t, u], -1)).reshape(*x.shape, K, 3)

    def x_derivatives(self, jets, n):
        return taylor.sequential_x_derivatives(self.net, jets, n)

    def t_derivative(self, jets):
        return taylor.sequential_t_derivative(self.net, jets)


def _best(fn, repeat):
    best = float("inf")
    out = None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    field = Field()
    generic = lambda x, t, u: field(x, t, u)  # noqa: E731  (hides the Taylor-mode methods)
    print(f"MLP 3-32-32-{3 * K} tanh, K = {K} fields, {args.points} jet points, threads {torch.get_num_threads()}")
    print(f"{'equation':9s} {'order':>5s} {'plain f+b':>10s} {'jvp':>9s} {'taylor':>9s} {'jvp/taylor':>10s} {'taylor/plain':>12s}")
    for name in ("burgers", "kdv", "ks"):
        b = generate_batch(name, 4, seed=0, nx=128, nt_out=20, t_end=2.0, device="cpu")
        jets = compute_jets(b.u, b.x, b.t, name).sample(args.points, 0)

        def run(f):
            field.zero_grad()
            r = characteristic_residual(f, jets)
            r.pow(2).mean().backward()
            return r.detach()

        def plain():
            field.zero_grad()
            field(jets.x, jets.t, jets.u).pow(2).mean().backward()

        run(generic), run(field)  # warm-up (functorch's first use costs seconds)
        t_plain, _ = _best(plain, args.repeat)
        t_jvp, r1 = _best(lambda: run(generic), args.repeat)
        t_tay, r2 = _best(lambda: run(field), args.repeat)
        assert torch.allclose(r1, r2, rtol=1e-9, atol=1e-11)
        order = {"burgers": 2, "kdv": 3, "ks": 4}[name]
        print(f"{name:9s} {order:5d} {t_plain * 1e3:8.2f}ms {t_jvp * 1e3:7.1f}ms {t_tay * 1e3:7.1f}ms "
              f"{t_jvp / t_tay:9.1f}x {t_tay / t_plain:11.1f}x")


if __name__ == "__main__":
    main()
