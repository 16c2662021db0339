"""Human names of symmetry generators, read off the form of the field (never the equation).

The rules look only at which variables each component depends on and how: ∂x is a translation
in x whatever the equation; t∂x + ∂u a Galilean boost; x∂x + 3t∂t − 2u∂u a scaling;
tx∂x + t²∂t + (x − tu)∂u a projective transformation. Fields that fit no rule get no name.
"""

from __future__ import annotations

import sympy as sp

from pdesym.equations import T, U, X
from pdesym.symbolic.vectorfield import VectorField

__all__ = ["generator_name"]

_VARS = (X, T, U)


def _const(e: sp.Expr) -> bool:
    return not (e.free_symbols & set(_VARS)) and not e.has(sp.core.function.AppliedUndef)


def _monomials(e: sp.Expr) -> dict[tuple[int, int, int], sp.Expr] | None:
    """Exponent tuple -> coefficient for a polynomial in x, t, u (None if not polynomial)."""
    e = sp.expand(e)
    if e == 0:
        return {}
    if not e.is_polynomial(*_VARS):
        return None
    return {m: c for m, c in sp.Poly(e, *_VARS).terms()}


def _within(e: sp.Expr, allowed: set[tuple[int, int, int]]) -> bool:
    m = _monomials(e)
    return m is not None and set(m) <= allowed


def generator_name(field: VectorField) -> str:
    """A name from the field's form: translation, Galilean boost, scaling, projective, ... or ''."""
    xi, tau, phi = (sp.expand(c) for c in field.components)
    zero = [c == 0 for c in (xi, tau, phi)]
    one, x, t, u = (0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)
    if zero[1] and zero[2] and not zero[0] and _const(xi):
        return "translation in x"
    if zero[0] and zero[2] and not zero[1] and _const(tau):
        return "translation in t"
    if zero[0] and zero[1] and not zero[2]:
        if _const(phi):
            return "translation in u"
        if _within(phi, {u}):
            return "scaling of u"
        if not (phi.free_symbols & {U}):
            return "superposition (a solution added to u)"
    if zero[1] and _within(xi, {t, one}) and _monomials(xi).get(t, 0) != 0 and not zero[2] \
            and _within(phi, {one, x, u, (1, 0, 1)}):
        return "Galilean boost"
    if _within(xi, {x, one}) and _within(tau, {t, one}) and _within(phi, {u, one}):
        linear = [_monomials(xi).get(x, 0), _monomials(tau).get(t, 0), _monomials(phi).get(u, 0)]
        if any(c != 0 for c in linear):
            return "scaling"
    mt = _monomials(tau)
    mx = _monomials(xi)
    if mt is not None and mx is not None and mt.get((0, 2, 0), 0) != 0 and mx.get((1, 1, 0), 0) != 0:
        return "projective"
    if zero[2] or _within(phi, {u}):
        if _within(xi, {t, one}) and _within(tau, {x, one}):
            a, b = _monomials(xi).get(t, 0), _monomials(tau).get(x, 0)
            if a != 0 and b != 0:
                ab = a * b
                if ab.is_positive or (ab.is_nonnegative and ab.free_symbols):
                    return "Lorentz boost (hyperbolic rotation)"
                if ab.is_negative or (ab.is_nonpositive and ab.free_symbols):
                    return "rotation"
    if zero[1] and _within(xi, {u}) and _within(phi, {x}) and not zero[0] and not zero[2]:
        ab = _monomials(xi)[u] * _monomials(phi)[x]
        if ab.is_negative or (ab.is_nonpositive and ab.free_symbols):
            return "rotation in (x, u)"
        if ab.is_positive or (ab.is_nonnegative and ab.free_symbols):
            return "hyperbolic rotation in (x, u)"
    if zero[1] and not zero[0] and xi.free_symbols & set(_VARS) <= {T} and phi.free_symbols & set(_VARS) <= {T} \
            and not zero[2]:
        return "generalized Galilean boost"
    if zero[0] and zero[2] and tau.free_symbols & set(_VARS) == {T}:
        return "time reparametrization"
    return ""
