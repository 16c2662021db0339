"""ETDRK4 against exact solutions: KdV soliton (accuracy and 4th order), heat (Fourier decay)."""

import math

import torch

from pdesym.equations import Equation
from pdesym.solvers import solve
from pdesym.solvers.etdrk4 import ETDRK4Coefficients


def _soliton(x, t, *, c=1.0, x0=20.0, length=64.0):
    xi = torch.remainder(x - c * t - x0 + length / 2, length) - length / 2
    return 3 * c / torch.cosh(math.sqrt(c) * xi / 2) ** 2


def test_kdv_soliton_accuracy_and_fourth_order():
    length, nx = 64.0, 256
    x = torch.arange(nx) * length / nx
    exact = _soliton(x, 10.0)
    errors = []
    for dt in (0.04, 0.02, 0.01):
        sol = solve(Equation.from_preset("kdv"), _soliton(x, 0.0)[None], length=length,
                    t_out=torch.tensor([0.0, 10.0]), dt=dt)
        assert sol.method == "etdrk4"
        errors.append(float((sol.u[0, -1] - exact).norm() / exact.norm()))
    assert errors[1] <= 1e-6, errors
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    assert all(12 <= r <= 20 for r in ratios), (errors, ratios)


def test_contour_coefficients_match_closed_forms_and_stay_complex():
    # for moderate |z| the closed forms are accurate; imaginary symbols (dispersion) need the
    # complex coefficients: their imaginary parts are O(1), not rounding noise
    k = torch.linspace(0.5, 3.0, 7, dtype=torch.float64)
    symbol = torch.complex(-0.1 * k**2, k**3)
    h = 0.3
    c = ETDRK4Coefficients.build(symbol, h)
    z = (h * symbol).to(torch.complex128)
    ez = torch.exp(z)
    f1 = h * (-4 - z + ez * (4 - 3 * z + z**2)) / z**3
    Q = h * (torch.exp(z / 2) - 1) / z
    assert torch.allclose(c.f1, f1, rtol=1e-10, atol=0)
    assert torch.allclose(c.Q, Q, rtol=1e-10, atol=0)
    assert float(c.f1.imag.abs().max()) > 1e-3


def test_heat_matches_fourier_decay():
    eq = Equation.from_preset("heat")
    length, nx, nu = 2 * math.pi, 64, 0.01
    x = torch.arange(nx) * length / nx
    u0 = torch.stack([torch.sin(x) + 0.5 * torch.cos(3 * x), 0.2 - torch.sin(5 * x)])
    t = torch.tensor([0.0, 1.0, 7.5, 30.0])
    sol = solve(eq, u0, length=length, t_out=t, dt=0.1)
    e = lambda k: torch.exp(-nu * k**2 * t)[:, None]  # noqa: E731
    exact0 = torch.sin(x) * e(1) + 0.5 * torch.cos(3 * x) * e(3)
    exact1 = 0.2 - torch.sin(5 * x) * e(5)
    assert float((sol.u[0] - exact0).abs().max()) <= 1e-12
    assert float((sol.u[1] - exact1).abs().max()) <= 1e-12
