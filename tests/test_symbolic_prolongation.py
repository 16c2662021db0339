"""Prolongation and the exact symmetry check, against independent oracles.

Oracle for φ^J: Lie's definition. Transform the graph of an explicit function u0(x, t) by
(x, t, u) -> (x + εξ, t + ετ, u + εφ), differentiate the transformed function with the inverse
Jacobian of (x, t) -> (X, T) to first order in ε, and take d/dε at ε = 0. This uses no total
derivatives and no characteristic, so it checks the formula φ^J = D_J Q + ξu_{J,x} + τu_{J,t}.
"""

import sympy as sp

from pdesym.equations import T, U, X, derivative_orders, derivative_symbol, get_equation
from pdesym.symbolic import VectorField, prolong, verify

EPS = sp.Symbol("epsilon")


def _transformed_derivatives(field: VectorField, u0: sp.Expr, order: int) -> dict:
    """d/dε at 0 of every derivative of the transformed function, at the base point."""
    on = {U: u0}
    xi, tau, phi = (c.xreplace(on) for c in field.components)

    def first_order(e):
        return sp.expand(e).coeff(EPS, 0) + EPS * sp.expand(e).coeff(EPS, 1)

    def d_x(g):  # ∂/∂X = (1 − εξ_x)∂x − ετ_x ∂t
        return first_order(sp.diff(g, X) * (1 - EPS * sp.diff(xi, X)) - EPS * sp.diff(tau, X) * sp.diff(g, T))

    def d_t(g):  # ∂/∂T = −εξ_t ∂x + (1 − ετ_t)∂t
        return first_order(-EPS * sp.diff(xi, T) * sp.diff(g, X) + (1 - EPS * sp.diff(tau, T)) * sp.diff(g, T))

    out = {(0, 0): u0 + EPS * phi}
    for total in range(1, order + 1):
        for nt in range(total + 1):
            nx = total - nt
            out[(nx, nt)] = d_x(out[(nx - 1, nt)]) if nx else d_t(out[(nx, nt - 1)])
    return {k: sp.expand(v).coeff(EPS, 1) for k, v in out.items()}


def _on_function(expr: sp.Expr, u0: sp.Expr, order: int) -> sp.Expr:
    subs = {derivative_symbol(i, j): sp.diff(u0, *([X] * i + [T] * j)) for i in range(order + 2)
            for j in range(order + 2 - i) if i + j}
    subs[U] = u0
    return expr.xreplace(subs)


def test_prolongation_matches_lie_definition_to_order_3():
    field = VectorField(X * U + T, T**2 + U, X * U**2 - T)
    u0 = sp.exp(X) + X * T**2 * (1 + X)
    order = 3
    oracle = _transformed_derivatives(field, u0, order)
    coeffs = prolong(field, order)
    assert len(coeffs) == 10  # u and the 9 jet variables of order 1..3
    for sym, value in coeffs.items():
        diff = sp.expand(_on_function(value, u0, order) - oracle[derivative_orders(sym)])
        assert diff == 0, (sym, diff)


def test_prolongation_of_scaling_and_boost_closed_forms_to_order_4():
    """x∂x + 3t∂t − 2u∂u scales u_{x^i t^j} by e^{(−2 − i − 3j)ε}; t∂x + ∂u shifts u_t by −εu_x."""
    scaling = prolong(VectorField(X, 3 * T, -2 * U), 4)
    boost = prolong(VectorField(T, 0, 1), 4)
    for sym in scaling:
        i, j = derivative_orders(sym)
        assert sp.expand(scaling[sym] - (-2 - i - 3 * j) * sym) == 0
        expected = sp.Integer(1) if (i, j) == (0, 0) else (-j * derivative_symbol(i + 1, j - 1) if j else 0)
        assert sp.expand(boost[sym] - expected) == 0, sym


def test_prolongation_order_from_equation_and_unknown_functions():
    xi, tau, phi = (sp.Function(n)(X, T, U) for n in ("xi", "tau", "phi"))
    coeffs = prolong(VectorField(xi, tau, phi), get_equation("burgers"))
    assert set(coeffs) == {U} | {derivative_symbol(i, j) for i in range(3) for j in range(3) if 0 < i + j <= 2}
    # φ^x = D_x φ − u_x D_x ξ − u_t D_x τ, written out
    ux, ut = derivative_symbol(1, 0), derivative_symbol(0, 1)
    expected = (phi.diff(X) + ux * phi.diff(U) - ux * (xi.diff(X) + ux * xi.diff(U))
                - ut * (tau.diff(X) + ux * tau.diff(U)))
    assert sp.expand(coeffs[ux] - expected) == 0


def test_verify_accepts_symmetries_and_rejects_others():
    kdv = get_equation("kdv")
    for f in (VectorField(1, 0, 0), VectorField(0, 1, 0), VectorField(T, 0, 1), VectorField(X, 3 * T, -2 * U)):
        assert verify(kdv, f)
    assert not verify(kdv, VectorField(X, 2 * T, -U))
    burgers = get_equation("burgers")
    assert verify(burgers, VectorField(T * X, T**2, X - T * U))
    assert not verify(burgers, VectorField(0, 0, U))  # u∂u is NOT a Burgers symmetry


def test_verify_wave_equation_non_evolution_form():
    wave = get_equation("u_tt = c**2*u_xx")
    c = wave.parameter_symbols["c"]
    assert verify(wave, VectorField(c**2 * T, X, 0))
    assert verify(wave, VectorField(X**2 + c**2 * T**2, 2 * X * T, 0))  # conformal
    assert not verify(wave, VectorField(X**2, 0, 0))
