"""Equation parsing, presets, the solver split and the torch compilation of K."""

import math

import pytest
import sympy as sp
import torch

from pdesym.equations import (
    EQUATION_PRESETS,
    Equation,
    T,
    U,
    derivative_orders,
    derivative_symbol,
    get_equation,
)
from pdesym.errors import PdesymError

ux, uxx, uxxx, uxxxx, ut, utt = (derivative_symbol(*o) for o in [(1, 0), (2, 0), (3, 0), (4, 0), (0, 1), (0, 2)])


def test_jet_symbols_round_trip():
    for nx in range(5):
        for nt in range(3):
            assert derivative_orders(derivative_symbol(nx, nt)) == (nx, nt)
    assert derivative_orders(sp.Symbol("v_x")) is None
    assert derivative_symbol(0, 0) == U


@pytest.mark.parametrize(
    "name, rhs, order",
    [
        ("kdv", -U * ux - uxxx, 3),
        ("ks", -U * ux - uxx - uxxxx, 4),
        ("burgers", sp.Rational(1, 100) * uxx - U * ux, 2),
        ("heat", sp.Rational(1, 100) * uxx, 2),
        ("nkdv", -sp.exp(T / 50) * (U * ux + uxxx), 3),
        ("ckdv", -U * ux - uxxx - U / (2 * (T + 1)), 3),
    ],
)
def test_presets_solved_form(name, rhs, order):
    eq = Equation.from_preset(name)
    assert eq.leading == ut and eq.is_evolution and eq.order == order
    assert sp.simplify(eq.rhs_numeric - rhs) == 0


def test_text_forms_agree_with_preset():
    a = Equation.from_text("u_t = nu*u_xx - u*u_x, nu=0.01")
    b = Equation.from_preset("burgers")
    c = Equation.from_text("u_t + u u_x - nu u_xx = 0", {"nu": 0.01})
    for e in (a, c):
        assert sp.simplify(e.rhs_numeric - b.rhs_numeric) == 0
    assert a.params == {"nu": sp.Rational(1, 100)}


def test_split_linear_and_rest():
    s = Equation.from_preset("ks").split()
    assert s.coeffs == (0.0, 0.0, -1.0, 0.0, -1.0)
    assert sp.simplify(s.nonlinear + U * ux) == 0
    assert s.nonlinear_orders == (0, 1)
    k = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    # L(k) = -(ik)^2 - (ik)^4 = k^2 - k^4
    assert torch.allclose(s.symbol(k).real, k**2 - k**4) and torch.all(s.symbol(k).imag == 0)
    ck = Equation.from_preset("ckdv").split()
    assert ck.coeffs == (0.0, 0.0, 0.0, -1.0)  # u/(2(t+1)) is linear but t-dependent: stays in N
    assert T in ck.nonlinear.free_symbols


def test_time_factor_of_nkdv():
    g, K0 = Equation.from_preset("nkdv").time_factor
    assert sp.simplify(g - sp.exp(T / 50)) == 0
    assert sp.simplify(K0 + U * ux + uxxx) == 0
    assert Equation.from_preset("kdv").time_factor is None
    assert Equation.from_preset("ckdv").time_factor is None


def test_other_leading_derivatives_and_symbolic_parameters():
    wave = Equation.from_text("u_tt = c^2*u_xx")
    assert wave.leading == utt and not wave.is_evolution and wave.free_parameters == ("c",)
    with pytest.raises(PdesymError, match="has no value"):
        wave.substitute(wave.rhs)
    lap = Equation.from_text("u_xx + u_tt = 0")
    assert lap.leading == utt and sp.simplify(lap.rhs + uxx) == 0
    with pytest.raises(PdesymError, match="evolution equation"):
        wave.split()


def test_rhs_function_matches_sympy():
    eq = Equation.from_text("u_t = sqrt(2)*u_xx + exp(-t)*sin(x)*u**2 - pi*u_x")
    f = eq.rhs_function()
    g = torch.Generator().manual_seed(0)
    x, u, u1, u2 = (torch.rand(7, generator=g, dtype=torch.float64) for _ in range(4))
    got = f(x, 0.3, {"u": u, "u_x": u1, "u_xx": u2})
    want = math.sqrt(2) * u2 + math.exp(-0.3) * torch.sin(x) * u**2 - math.pi * u1
    assert torch.allclose(got, want, rtol=1e-14, atol=0)


def test_dict_round_trip():
    for name in EQUATION_PRESETS:
        eq = Equation.from_preset(name)
        back = Equation.from_dict(eq.to_dict())
        assert back.name == name and sp.simplify(back.rhs_numeric - eq.rhs_numeric) == 0


@pytest.mark.parametrize(
    "text, words",
    [
        ("kdvv", "Unknown preset 'kdvv'"),
        ("u_t = f(u)", "Unknown function 'f'"),
        ("u_t = v_x", "no systems"),
        ("u_t = u_xx, v_t = v_xx", "no systems"),
        ("u_y = u", "derivatives are in x and t"),
        ("u = x", "no derivative of u"),
        ("u_t = u_xx +", "Cannot parse"),
        ("u_t = u_xx = 1", "more than one '='"),
        ("u_t = $", "Unexpected character"),
        ("u_t = exp", "is a function"),
        ("u_t = u_xx, nu=1", "does not appear"),
        ("u_t = nu*u_xx, nu=abc", "must be a number"),
        ("u_t**2 + u_t + u_x**2 = 0", "cannot be solved for a leading derivative"),
        ("u_t = (u*u_x)_x", "is not a name pdesym reads"),
    ],
)
def test_bad_text_is_one_clear_sentence(text, words):
    with pytest.raises(PdesymError) as info:
        get_equation(text)
    msg = str(info.value)
    assert words in msg and "\n" not in msg
