r"""Prolongation of a point vector field in sympy, and the exact symmetry check.

For :math:`V = \xi\partial_x + \tau\partial_t + \varphi\partial_u` with characteristic
:math:`Q = \varphi - \xi u_x - \tau u_t`, the coefficient of :math:`\partial_{u_J}` in
:math:`\mathrm{pr}\,V` is (Olver, *Applications of Lie Groups to Differential Equations*,
Thm. 2.36)

.. math:: \varphi^J = D_J Q + \xi\, u_{J,x} + \tau\, u_{J,t}.

:func:`verify` applies the infinitesimal criterion :math:`\mathrm{pr}\,V(\Delta) = 0` on
:math:`\Delta = 0` by direct re-substitution, independent of how a field was found (the idea
of sympy's ``checkinfsol``).
"""

from __future__ import annotations

from typing import Mapping

import sympy as sp

from pdesym.equations import T, U, X, Equation, derivative_orders, derivative_symbol, get_equation, jet_symbols_of
from pdesym.errors import PdesymError
from pdesym.symbolic.solved_form import SolvedForm, total_derivative
from pdesym.symbolic.vectorfield import VectorField

__all__ = ["prolong", "characteristic", "symmetry_residual", "verify"]


def characteristic(field: VectorField) -> sp.Expr:
    r"""The characteristic :math:`Q = \varphi - \xi u_x - \tau u_t` of a point vector field."""
    return field.phi - field.xi * derivative_symbol(1, 0) - field.tau * derivative_symbol(0, 1)


def prolong(field: VectorField, equation_or_order: Equation | int) -> dict[sp.Symbol, sp.Expr]:
    r"""The prolongation coefficients :math:`\varphi^J` for every jet variable up to an order.

    Returns a dict from jet symbols (``u``, ``u_x``, ``u_t``, ``u_xt``, ... as made by
    :func:`pdesym.equations.derivative_symbol`) to expressions in x, t and jet variables, for all
    :math:`J = (n_x, n_t)` with :math:`n_x + n_t \le` order (``u`` maps to φ). Given an
    equation, the order is the equation's order. Nothing is eliminated on solutions.
    """
    if isinstance(equation_or_order, Equation):
        order = equation_or_order.order
    else:
        order = equation_or_order
        if isinstance(order, bool) or not isinstance(order, int) or order < 0:
            raise PdesymError(f"The prolongation order must be an integer >= 0, got {order!r}.")
    wanted = [(total - nt, nt) for total in range(1, order + 1) for nt in range(total + 1)]
    out = {U: field.phi}
    out.update({derivative_symbol(*o): sp.expand(v) for o, v in _coefficients(field, wanted).items()})
    return out


def _coefficients(field: VectorField, wanted) -> dict[tuple[int, int], sp.Expr]:
    """φ^J for the orders J in ``wanted`` only (D_J Q along x-then-t chains, memoised)."""
    dq: dict[tuple[int, int], sp.Expr] = {(0, 0): characteristic(field)}

    def d(o):
        if o not in dq:
            nx, nt = o
            prev, var = ((nx - 1, nt), X) if nx > 0 else ((nx, nt - 1), T)
            dq[o] = total_derivative(d(prev), var)
        return dq[o]

    return {o: d(o) + field.xi * derivative_symbol(o[0] + 1, o[1]) + field.tau * derivative_symbol(o[0], o[1] + 1)
            for o in wanted}


def symmetry_residual(equation: Equation | str, field: VectorField) -> sp.Expr:
    r""":math:`\mathrm{pr}\,V(\Delta)` on :math:`\Delta = 0`, in x, t and parametric jet variables.

    Δ is the equation as written (parameter values substituted); principal derivatives are
    eliminated with the solved form. Zero exactly when V is a Lie point symmetry.
    """
    eq = get_equation(equation) if isinstance(equation, str) else equation
    form = SolvedForm.of(eq)
    delta = form.delta
    jets = jet_symbols_of(delta)
    orders = [derivative_orders(s) for s in jets if s != U]
    coeffs = {derivative_symbol(*o): v for o, v in _coefficients(field, orders).items()}
    coeffs[U] = field.phi
    total = field.xi * sp.diff(delta, X) + field.tau * sp.diff(delta, T)
    for s in jets:
        total += coeffs[s] * sp.diff(delta, s)
    return form.on_shell(total)


def _is_zero(expr: sp.Expr) -> bool:
    """Exact zero test: expansion, then function terms over independent functions (powers of
    sums and trigonometric products normalised), then the numerator, then ``simplify``."""
    from pdesym.symbolic.algebra import function_terms, normalize_terms

    expr = sp.expand(expr)
    if expr == 0:
        return True
    (terms,), _ = normalize_terms([function_terms(expr)])
    if all(sp.expand(c) == 0 for c in terms.values()):
        return True
    num = sp.numer(sp.together(expr))
    if sp.expand(num) == 0:
        return True
    return sp.simplify(num) == 0


def verify(equation: Equation | str, field: VectorField, *,
           conditions: Mapping[sp.Expr, sp.Expr] | None = None) -> bool:
    r"""True when V is a Lie point symmetry of the equation: :math:`\mathrm{pr}\,V(\Delta)|_{\Delta=0} = 0`.

    The check is exact (sympy). For a family with arbitrary functions, ``conditions`` maps a
    derivative of a family function to its value on the family's defining equations (for the
    heat equation's :math:`\beta\partial_u`: ``{Derivative(beta(x, t), t): nu*Derivative(beta(x, t), (x, 2))}``);
    derivatives of it are eliminated too.
    """
    residual = symmetry_residual(equation, field)
    if conditions:
        residual = _apply_conditions(residual, conditions)
    return _is_zero(residual)


def _apply_conditions(expr: sp.Expr, conditions: Mapping[sp.Expr, sp.Expr]) -> sp.Expr:
    """Replace derivatives of the conditions' left sides by derivatives of their right sides."""
    for _ in range(20):
        changed = False
        for d in sorted(expr.atoms(sp.Derivative), key=sp.default_sort_key):
            for lhs, rhs in conditions.items():
                lhs_vars = dict(lhs.variable_count) if isinstance(lhs, sp.Derivative) else {}
                fn = lhs.expr if isinstance(lhs, sp.Derivative) else lhs
                if d.expr != fn:
                    continue
                have = dict(d.variable_count)
                if all(have.get(v, 0) >= n for v, n in lhs_vars.items()):
                    extra = [(v, have.get(v, 0) - lhs_vars.get(v, 0)) for v in have]
                    value = rhs
                    for v, n in extra:
                        if n:
                            value = sp.diff(value, v, n)
                    expr = expr.xreplace({d: value})
                    changed = True
                    break
        if not changed:
            break
        expr = sp.expand(expr.doit())
    return expr
