r"""An equation solved for a leading derivative, and the elimination of its consequences.

For :math:`\Delta = 0` solved as :math:`u_L = K` (``u_t = K`` for evolution equations), the
*principal* jet variables are :math:`u_{L+J}` (all derivatives of the leading one); they are
functions of the *parametric* ones on solutions: :math:`u_{L+J} = D^J K` with principal
derivatives in :math:`D^J K` eliminated again. The elimination terminates because K contains
only jet variables that rank below :math:`u_L` in a ranking compatible with differentiation
(lexicographic in (n_t, n_x) for evolution equations, orderly for wave-type ones).
Coordinates on the solution manifold are x, t and the parametric jet variables; splitting
:math:`\mathrm{pr}\,V(\Delta)|_{\Delta=0}` by them gives the determining equations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from pdesym.equations import T, U, X, Equation, derivative_orders, derivative_symbol, jet_symbols_of
from pdesym.errors import PdesymError

__all__ = ["SolvedForm", "total_derivative", "RANKINGS"]

#: Rankings of jet variables u_{x^i t^j}, as sort keys on (i, j); each is compatible with
#: differentiation (a < b implies a + e < b + e) and a well-order.
RANKINGS: dict[str, Callable[[tuple[int, int]], tuple]] = {
    "t-lex": lambda o: (o[1], o[0]),
    "x-lex": lambda o: (o[0], o[1]),
    "orderly-t": lambda o: (o[0] + o[1], o[1]),
    "orderly-x": lambda o: (o[0] + o[1], o[0]),
}


def total_derivative(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    r"""Total derivative :math:`D_x f = f_x + \sum_J u_{J+x}\, \partial f/\partial u_J` (or :math:`D_t`).

    ``expr`` is a function of x, t, jet variables and anything constant (parameters); arbitrary
    functions of (x, t, u) are differentiated by the chain rule through their arguments.
    """
    step = (1, 0) if var == X else (0, 1)
    out = sp.diff(expr, var)
    for s in jet_symbols_of(expr):
        nx, nt = derivative_orders(s)
        out += derivative_symbol(nx + step[0], nt + step[1]) * sp.diff(expr, s)
    return out


def _finish(expr: sp.Expr) -> sp.Expr:
    jets = jet_symbols_of(expr)
    return sp.expand(expr) if expr.is_polynomial(*jets) else expr


@dataclass
class SolvedForm:
    r"""The equation as :math:`u_L = K` with a ranking that makes the elimination terminate.

    Attributes:
        equation: the source equation.
        leading: :math:`u_L` (the equation's own leading derivative when it works).
        rhs: K with parameter values substituted (free parameters stay symbols).
        delta: :math:`\Delta` with parameter values substituted.
        ranking: the name of the ranking in :data:`RANKINGS`.
    """

    equation: Equation
    leading: sp.Symbol
    rhs: sp.Expr
    delta: sp.Expr
    ranking: str
    _memo: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, equation: Equation) -> "SolvedForm":
        """Solve ``equation`` for a leading derivative whose consequences can be eliminated."""
        values = {equation.parameter_symbols[k]: v for k, v in equation.params.items()
                  if v is not None and k in equation.parameter_symbols}
        delta = sp.sympify(equation.delta).xreplace(values)
        candidates = [(equation.leading, sp.sympify(equation.rhs).xreplace(values))]
        jets = sorted(jet_symbols_of(delta) - {U, equation.leading}, key=lambda s: (-sum(derivative_orders(s)), s.name))
        for s in jets:
            expanded = sp.expand(delta)
            a = expanded.coeff(s, 1)
            if a == 0 or s in a.free_symbols:
                continue
            b = sp.expand(expanded - a * s)
            if s in b.free_symbols:
                continue
            candidates.append((s, _finish(sp.cancel(-b / a)) if not (-b / a).is_polynomial(*jet_symbols_of(b)) else sp.expand(-b / a)))
        for leading, rhs in candidates:
            lo = derivative_orders(leading)
            others = [derivative_orders(s) for s in jet_symbols_of(rhs)]
            if any(o[0] >= lo[0] and o[1] >= lo[1] for o in others):
                continue  # K contains a derivative of u_L: not a solved form
            for name, key in RANKINGS.items():
                if all(key(o) < key(lo) for o in others):
                    return cls(equation, leading, rhs, delta, name)
        raise PdesymError(
            f"The equation {equation.text!r} cannot be solved for a leading derivative whose "
            "derivatives do not appear on the other side; pdesym needs a form like u_t = K(x, t, u, u_x, ...) "
            "or u_tt = K(x, t, u, u_x, u_xt, ...)."
        )

    @property
    def leading_orders(self) -> tuple[int, int]:
        """(n_x, n_t) of the leading derivative."""
        return derivative_orders(self.leading)

    def is_principal(self, orders: tuple[int, int]) -> bool:
        """True for derivatives of the leading derivative (eliminated on solutions)."""
        a, b = self.leading_orders
        return orders[0] >= a and orders[1] >= b

    def reduced(self, orders: tuple[int, int]) -> sp.Expr:
        r"""The jet variable :math:`u_{x^i t^j}` on solutions, in parametric jet variables only."""
        if not self.is_principal(orders):
            return derivative_symbol(*orders)
        if orders in self._memo:
            return self._memo[orders]
        a, b = self.leading_orders
        i, j = orders[0] - a, orders[1] - b
        if i == 0 and j == 0:
            value = self.rhs
        else:
            base = self.reduced((orders[0] - 1, orders[1]) if i > 0 else (orders[0], orders[1] - 1))
            value = self.on_shell(total_derivative(base, X if i > 0 else T))
        value = _finish(value)
        self._memo[orders] = value
        return value

    def on_shell(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every principal jet variable replaced by its reduced value."""
        subs = {s: self.reduced(derivative_orders(s)) for s in jet_symbols_of(expr)
                if self.is_principal(derivative_orders(s))}
        return expr.xreplace(subs) if subs else expr
