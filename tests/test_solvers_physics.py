"""Solvers against physics oracles: Cole-Hopf, KdV invariants, KS convergence, time-dependent KdVs."""

import math

import numpy as np
import pytest
import torch
from torchdiffeq import odeint

from pdesym.equations import Equation
from pdesym.solvers import BlowUpError, SpectralGrid, generate_batch, get_solver_preset, solve
from pdesym.solvers.colehopf import colehopf_solve, hopf_oracle
from pdesym.solvers.methods import spectral_rhs


def test_burgers_colehopf_matches_exact_hopf_formula_and_is_grid_converged():
    length, nx, nu = 2 * math.pi, 256, 0.01
    x = torch.arange(nx) * length / nx
    u0 = torch.sin(x) + 0.3 * torch.cos(2 * x + 0.4) + 0.2  # mean 0.2: Galilean part exercised
    potential = lambda y: (1 - np.cos(y)) + 0.15 * (np.sin(2 * y + 0.4) - np.sin(0.4))  # noqa: E731
    t = torch.tensor([0.0, 0.5, 1.5, 4.0])  # a shock forms near t = 1
    sol = solve(Equation.from_preset("burgers"), u0[None], length=length, t_out=t, dt=0.01)
    assert sol.method == "colehopf"
    scale = float(sol.u.abs().max())
    worst = 0.0
    for n in (1, 2, 3):
        for i in range(0, nx, 17):
            exact = hopf_oracle(potential, float(x[i]), float(t[n]), nu=nu, mean=0.2)
            worst = max(worst, abs(exact - float(sol.u[0, n, i])) / scale)
    assert worst <= 1e-6, worst
    assert float(sol.u[0, -1].diff().abs().max()) > 0.2  # a steep front really is there
    finer = colehopf_solve(u0[None], length, t, nu=nu, refine=8)
    assert float((finer - sol.u).abs().max()) / scale <= 1e-6


def test_kdv_invariants_over_a_preset_trajectory():
    p = get_solver_preset("kdv")
    b = generate_batch("kdv", 1, seed=3, device="cpu")
    u = b.u[0]
    grid = SpectralGrid(p.length, p.nx)
    ux = grid.derivative(u)
    mass = grid.integral(u)
    l2 = grid.integral(u**2)
    energy = grid.integral(u**3 / 3 - ux**2)
    assert float(b.t[-1]) == pytest.approx(100.0)
    assert float((mass - mass[0]).abs().max()) <= 1e-12
    assert float(((l2 - l2[0]) / l2[0]).abs().max()) <= 1e-6
    assert float(((energy - energy[0]) / energy[0]).abs().max()) <= 1e-6


def test_ks_converges_in_dt_up_to_t60():
    p = get_solver_preset("ks")
    start = generate_batch("ks", 2, seed=5, nt_out=2, t_end=1.0, device="cpu").u[:, 0]  # after warm-up
    t = torch.linspace(0, 60, 7)
    runs = [solve(p.equation, start, length=p.length, t_out=t, dt=dt).u for dt in (0.04, 0.02, 0.01)]
    d1 = (runs[0] - runs[1]).abs().amax(-1)[:, 1:]
    d2 = (runs[1] - runs[2]).abs().amax(-1)[:, 1:]
    ratio = d1 / d2
    assert float(ratio.min()) >= 10, ratio


@pytest.mark.parametrize("name", ["ckdv", "nkdv"])
def test_time_dependent_kdv_matches_tight_adaptive_reference(name):
    p = get_solver_preset(name)
    b = generate_batch(name, 2, seed=2, t_end=5.0, nt_out=6, device="cpu")
    grid = SpectralGrid(p.length, p.nx)
    # reference: adaptive dopri5 in the original time t on the unsplit equation
    rhs = spectral_rhs(p.equation.split(), grid)
    ref = odeint(rhs, b.u[:, 0], b.t, method="dopri5", rtol=1e-11, atol=1e-13).transpose(0, 1)
    err = float(((b.u - ref).abs().amax(-1) / ref.abs().amax(-1)).max())
    assert err <= 1e-6, err
    if name == "nkdv":
        assert "re-parametrised" in b.settings["solver_message"]


def test_blow_up_names_trajectory_and_time():
    p = get_solver_preset("ks")
    u0 = torch.zeros(3, p.nx)
    u0[1] = 5 * torch.sin(2 * math.pi * torch.arange(p.nx) / p.nx)
    with pytest.raises(BlowUpError) as info:
        solve(p.equation, u0, length=p.length, t_out=torch.linspace(0, 50, 11), dt=2.0)
    assert info.value.index == 1 and 0 < info.value.time <= 50
    assert "Trajectory 1" in str(info.value) and "t =" in str(info.value)


@pytest.mark.parametrize("text", ["u_t = 3*u_x**2*u_xx", "u_t = (1 + u**2)*u_xx"])
def test_non_splitting_equation_uses_reported_fallback(text):
    length, nx = 2 * math.pi, 64
    x = torch.arange(nx) * length / nx
    u0 = (0.5 * torch.sin(x) + 0.2 * torch.cos(2 * x))[None]
    t = torch.tensor([0.0, 0.2, 0.5])
    sol = solve(Equation.from_text(text), u0, length=length, t_out=t, dt=1e-3)
    assert sol.method == "dopri5" and "fallback" in sol.message
    # both are parabolic (maximum principle); 3 u_x^2 u_xx = (u_x^3)_x also conserves the mass
    assert float(sol.u[0, -1].max()) < float(u0.max()) and float(sol.u[0, -1].min()) > float(u0.min())
    if text.startswith("u_t = 3"):
        mass = SpectralGrid(length, nx).integral(sol.u[0])
        assert float((mass - mass[0]).abs().max()) <= 1e-10
    loose = solve(Equation.from_text(text), u0, length=length, t_out=t, dt=1e-3, rtol=1e-6, atol=1e-8)
    assert float((loose.u - sol.u).abs().max()) <= 1e-5


def test_explicit_x_dependence_must_be_periodic_with_the_domain():
    """The spectral solvers are periodic in x: a coefficient x would jump at the seam, so it is
    refused; periodic coefficients (any trig form sympy can reduce) are accepted."""
    from pdesym.equations import get_equation
    from pdesym.errors import PdesymError
    from pdesym.solvers.methods import require_periodic_in_x

    with pytest.raises(PdesymError, match="not periodic with the domain length 128"):
        require_periodic_in_x(get_equation("u_t = u_xx + 0.01*x*u_x"), 128.0)
    with pytest.raises(PdesymError, match="not periodic"):
        require_periodic_in_x(get_equation("u_t = u_xx + sin(x)*u"), 10.0)  # period 2π, not 10
    for ok in ("u_t = u_xx + 0.1*sin(2*pi*x/128)*u_x", "u_t = u_xx + cos(pi*x/64)**2*u", "u_t = u_xx + u*u_x"):
        require_periodic_in_x(get_equation(ok), 128.0)
    require_periodic_in_x(get_equation("u_t = u_xx + sin(x)*u"), 2 * math.pi)
