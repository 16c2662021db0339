"""float32 vs float64 ETDRK4 on the exact KdV soliton u = 3c sech²(√c (x − ct − x0)/2) (L = 64, nx = 256, T = 10).

Measured on the project's CPU (dt = 0.02): relative L2 error 2.7e-7 in float64 (time-stepping error)
and 1.5e-5 in float32 (round-off accumulated over 500 steps); benchmarks/bench_scale.py prints both.
"""

import math

import torch

from pdesym.equations import Equation
from pdesym.solvers import solve


def _soliton(x, t, *, c=1.0, x0=20.0, length=64.0):
    xi = torch.remainder(x - c * t - x0 + length / 2, length) - length / 2
    return 3 * c / torch.cosh(math.sqrt(c) * xi / 2) ** 2


def test_float32_soliton_error_bound_and_float64_reference():
    length, nx, t_end, dt = 64.0, 256, 10.0, 0.02
    x = torch.arange(nx, dtype=torch.float64) * length / nx
    exact = _soliton(x, t_end)
    errors = {}
    for dtype in (torch.float64, torch.float32):
        sol = solve(Equation.from_preset("kdv"), _soliton(x, 0.0)[None].to(dtype), length=length,
                    t_out=torch.tensor([0.0, t_end]), dt=dt)
        assert sol.u.dtype == dtype and sol.method == "etdrk4"
        errors[dtype] = float((sol.u[0, -1].to(torch.float64) - exact).norm() / exact.norm())
    assert errors[torch.float64] <= 1e-6, errors
    assert errors[torch.float32] <= 1e-4, errors
    # float32 is limited by its own round-off (eps 1.2e-7 per operation), not by the scheme
    assert errors[torch.float32] > 10 * errors[torch.float64], errors
