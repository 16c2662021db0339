r"""Linear differential expressions in unknown functions of (x, t, u).

The determining equations of a Lie point symmetry are linear in ξ, τ, φ and their derivatives.
They are stored as plain dicts ``{(name, (a, b, c)): coefficient}`` meaning
:math:`\sum \text{coefficient}\cdot\partial_x^a\partial_t^b\partial_u^c\,\text{name}`, with each
function depending on a subset of the variables (``depends[name]``, indices into
:data:`VARIABLES`). Coefficients are sympy expressions in x, t, u and parameters. The direct
solver differentiates, substitutes and splits these; :func:`to_sympy` gives the readable form.
"""

from __future__ import annotations

from math import comb
from typing import Iterable, Mapping

import sympy as sp

from pdesym.equations import T, U, X

__all__ = ["VARIABLES", "Key", "LinExpr", "clean", "derivative", "diff", "function_symbol", "substitute",
           "to_sympy", "tidy_coefficient", "add_into", "scale"]

VARIABLES: tuple[sp.Symbol, sp.Symbol, sp.Symbol] = (X, T, U)
Key = tuple[str, tuple[int, int, int]]
LinExpr = dict[Key, sp.Expr]


def _has_denominator(expr: sp.Expr) -> bool:
    return any(a.is_Pow and a.exp.is_negative and (a.base.free_symbols & {X, T, U})
               for a in sp.preorder_traversal(expr) if isinstance(a, sp.Pow))


def tidy_coefficient(expr: sp.Expr) -> sp.Expr:
    """Expanded coefficient; rational functions of x, t, u cancelled so that zero shows as 0."""
    expr = sp.expand(expr)
    if expr != 0 and _has_denominator(expr):
        expr = sp.expand(sp.cancel(sp.together(expr)))
        if _has_denominator(expr):
            num, den = sp.fraction(sp.cancel(sp.together(expr)))
            expr = sp.expand(num) / den
    return expr


def add_into(out: LinExpr, key: Key, value: sp.Expr) -> None:
    """``out[key] += value`` (no simplification)."""
    if value == 0:
        return
    prev = out.get(key)
    out[key] = value if prev is None else prev + value


def scale(expr: LinExpr, factor: sp.Expr) -> LinExpr:
    """``factor * expr``."""
    return {k: factor * c for k, c in expr.items()}


def clean(expr: LinExpr) -> LinExpr:
    """Coefficients tidied, zero terms dropped."""
    out = {}
    for k, c in expr.items():
        c = tidy_coefficient(c)
        if c != 0:
            out[k] = c
    return out


def diff(expr: LinExpr, var: int, depends: Mapping[str, tuple[int, ...]]) -> LinExpr:
    r""":math:`\partial_v` of a linear differential expression (product rule on coefficients)."""
    sym = VARIABLES[var]
    out: LinExpr = {}
    for (name, alpha), c in expr.items():
        dc = sp.diff(c, sym)
        if dc != 0:
            add_into(out, (name, alpha), dc)
        if var in depends[name]:
            beta = list(alpha)
            beta[var] += 1
            add_into(out, (name, tuple(beta)), c)
    return out


def derivative(expr: LinExpr, alpha: tuple[int, int, int], depends: Mapping[str, tuple[int, ...]]) -> LinExpr:
    r""":math:`\partial^\alpha` of a linear differential expression."""
    out = expr
    for var, n in enumerate(alpha):
        for _ in range(n):
            out = diff(out, var, depends)
    return out


def substitute(expr: LinExpr, name: str, replacement: LinExpr,
               depends: Mapping[str, tuple[int, ...]]) -> LinExpr:
    r"""``expr`` with the function ``name`` replaced by ``replacement`` (and its derivatives).

    :math:`\partial^\alpha(\sum_m p_m \partial^{\gamma_m} G_m) = \sum_m \sum_{\beta\le\alpha}
    \binom{\alpha}{\beta} \partial^\beta p_m\, \partial^{\alpha-\beta+\gamma_m} G_m` (Leibniz).
    """
    cache: dict[tuple[int, int, int], LinExpr] = {}
    out: LinExpr = {}
    for (fname, alpha), c in expr.items():
        if fname != name:
            add_into(out, (fname, alpha), c)
            continue
        if alpha not in cache:
            cache[alpha] = _leibniz(replacement, alpha, depends)
        for key, value in cache[alpha].items():
            add_into(out, key, c * value)
    return out


def _leibniz(replacement: LinExpr, alpha: tuple[int, int, int], depends) -> LinExpr:
    out: LinExpr = {}
    for (gname, gamma), p in replacement.items():
        gvars = depends[gname]
        for b0 in range(alpha[0] + 1):
            for b1 in range(alpha[1] + 1):
                for b2 in range(alpha[2] + 1):
                    rest = (alpha[0] - b0, alpha[1] - b1, alpha[2] - b2)
                    if any(r and v not in gvars for v, r in enumerate(rest)):
                        continue
                    dp = p
                    for var, n in enumerate((b0, b1, b2)):
                        if n:
                            dp = sp.diff(dp, VARIABLES[var], n)
                    if dp == 0:
                        continue
                    mult = comb(alpha[0], b0) * comb(alpha[1], b1) * comb(alpha[2], b2)
                    key = (gname, (gamma[0] + rest[0], gamma[1] + rest[1], gamma[2] + rest[2]))
                    add_into(out, key, mult * dp)
    return out


def function_symbol(name: str, variables: Iterable[int]) -> sp.Expr:
    """The sympy applied function ``name(x, t)`` for a function of those variables (a constant
    is a plain symbol)."""
    args = [VARIABLES[v] for v in variables]
    return sp.Function(name)(*args) if args else sp.Symbol(name)


def to_sympy(expr: LinExpr, depends: Mapping[str, tuple[int, ...]]) -> sp.Expr:
    """The expression with sympy ``Derivative`` objects of applied functions."""
    total = sp.Integer(0)
    for (name, alpha), c in sorted(expr.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        f = function_symbol(name, depends[name])
        counts = [(VARIABLES[v], n) for v, n in enumerate(alpha) if n]
        total += c * (sp.Derivative(f, *counts) if counts else f)
    return total
