"""The compiled non-linear part (flux / c(t)-linear / point-wise terms) equals N evaluated directly."""

import math

import pytest
import torch

from pdesym.equations import Equation, to_torch
from pdesym.solvers import SpectralGrid
from pdesym.solvers.nonlinear import NonlinearPart, nonlinear_order


@pytest.mark.parametrize(
    "text, flux, linear, rest, order",
    [
        ("u_t + u*u_x + u_xxx = 0", True, False, False, 1),
        ("u_t + u*u_x + u_xxx + u/(2*(t + 1)) = 0", True, True, False, 1),
        ("u_t = u_xx - 3*u**2*u_x + u_x*u_xx + sin(x)*u", True, False, True, 2),
        ("u_t = (1 + u**2)*u_xx", False, False, True, 2),
    ],
)
def test_compiled_nonlinear_part_equals_direct_evaluation(text, flux, linear, rest, order):
    eq = Equation.from_text(text)
    split = eq.split()
    grid = SpectralGrid(2 * math.pi, 96)
    part = NonlinearPart(split.nonlinear, grid)
    assert (part.parts.flux != 0, bool(part.parts.linear), part.parts.rest != 0) == (flux, linear, rest)
    assert part.order == nonlinear_order(split.nonlinear) == order
    # band-limited to |m| <= 5: cubic products stay below the 2/3 cut, so nothing is aliased
    x = grid.x
    u = torch.stack([0.3 * torch.sin(x + 0.2) + 0.2 * torch.cos(3 * x), 0.4 * torch.cos(5 * x - 1.0)])
    jets = {name: grid.derivative(u, name.count("x")) for name in ("u", "u_x", "u_xx", "u_xxx")}
    t = 0.7
    direct = split.nonlinear
    expected = torch.fft.rfft(to_torch(direct)(x, t, jets)) if direct != 0 else 0
    got = part(torch.fft.rfft(u), t)
    assert float((got - expected).abs().max()) <= 1e-12 * 96
