r"""Readable text of symbolic expressions and vector fields: ``tx∂x + t²∂t + (x − tu)∂u``.

Plain sympy printing gives ``-t*u + x``; a person reading a symmetry algebra wants the
notation of a paper. This module prints sympy expressions in unicode (superscripts, ``√``,
``−``, juxtaposed factors, Greek parameter names) and vector fields component by component with
common factors pulled out, plus the LaTeX counterparts. Term order is fixed (highest degree
in x, t, u first, a positive term first), so the same field always prints the same way.
"""

from __future__ import annotations

import sympy as sp

from pdesym.equations import T, U, X

__all__ = ["expr_text", "field_text", "field_latex", "symbol_text"]

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "lam": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ",
    "omega": "ω",
}
_SUPERSCRIPT = str.maketrans("0123456789-/()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᐟ⁽⁾")
#: Variables print in this order inside a product (t x u reads as in the literature: tx∂x).
_VARIABLE_RANK = {T: 0, X: 1, U: 2}
_DERIVATIVE_NAMES = {X: "∂x", T: "∂t", U: "∂u"}


def symbol_text(name: str) -> str:
    """A parameter or function name, Greek names as letters (``nu`` -> ``ν``)."""
    base, _, digits = name.partition("_") if "_" in name else (name, "", "")
    if base in _GREEK:
        return _GREEK[base] + (digits.translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")) if digits.isdigit() else ("_" + digits if digits else ""))
    return name


def _degree(term: sp.Expr) -> tuple[int, tuple[int, int, int]]:
    powers = term.as_powers_dict()
    exps = []
    for v in (X, T, U):
        e = powers.get(v, 0)
        exps.append(int(e) if getattr(e, "is_Integer", False) else 0)
    return sum(exps), tuple(-e for e in exps)


def _term_key(term: sp.Expr):
    deg, exps = _degree(term)
    nonpoly = any(not (f.is_Symbol or f.is_Number or (f.is_Pow and f.base.is_Symbol and f.exp.is_Integer))
                  for f in sp.Mul.make_args(term))
    return (nonpoly, -deg, exps, sp.default_sort_key(term))


def _sorted_terms(expr: sp.Expr) -> list[sp.Expr]:
    terms = sorted(sp.Add.make_args(expr), key=_term_key)
    # Start with a positive term where there is one: "x − tu", not "−tu + x".
    if terms and _is_negative(terms[0]):
        for i, term in enumerate(terms):
            if not _is_negative(term):
                terms.insert(0, terms.pop(i))
                break
    return terms


def _is_negative(term: sp.Expr) -> bool:
    coeff, _ = term.as_coeff_Mul()
    return bool(coeff.is_negative)


def _float_text(value: sp.Expr) -> str:
    """Shortest round-trip-ish text of a floating coefficient (learned fields carry floats)."""
    return f"{float(value):.6g}"


def _atom_text(expr: sp.Expr) -> str:
    """Text of a factor, parenthesised where juxtaposition would be ambiguous."""
    if expr.is_Float:
        return _float_text(expr) if expr >= 0 else f"({_float_text(expr)})"
    text = expr_text(expr)
    if expr.is_Add or (expr.is_Mul and len(sp.Mul.make_args(expr)) > 1) or (expr.is_Rational and not expr.is_Integer):
        return f"({text})"
    if expr.is_Number and expr.is_negative:
        return f"({text})"
    return text


def _power_text(base: sp.Expr, exp: sp.Expr) -> str:
    if exp == sp.Rational(1, 2):
        inner = expr_text(base)
        return "√" + (inner if (base.is_Symbol or (base.is_Integer and base > 0)) else f"({inner})")
    if exp.is_Integer and exp > 1:
        if base.is_Symbol:
            return expr_text(base) + str(exp).translate(_SUPERSCRIPT)
        return _atom_text(base) + str(exp).translate(_SUPERSCRIPT)
    return _atom_text(base) + "^" + (str(exp) if (exp.is_Integer and exp > 0) else f"({expr_text(exp)})")


def _factor_text(factor: sp.Expr) -> tuple[str, bool]:
    """(text, is_call): is_call marks exp(...)-like factors that need a '·' before them."""
    if factor.is_Symbol:
        return symbol_text(factor.name), False
    if factor.is_Pow:
        if factor.base == sp.E:
            return f"exp({expr_text(factor.exp)})", True
        return _power_text(factor.base, factor.exp), False
    if isinstance(factor, sp.exp):
        return f"exp({expr_text(factor.args[0])})", True
    if isinstance(factor, sp.Function) or isinstance(factor, sp.Derivative):
        if isinstance(factor, sp.Derivative):
            fn = factor.expr
            name = symbol_text(getattr(fn.func, "__name__", str(fn.func)))
            sub = "".join(str(v) * int(n) for v, n in factor.variable_count)
            return f"{name}_{sub}", False
        name = getattr(factor.func, "__name__", str(factor.func))
        if isinstance(factor, sp.core.function.AppliedUndef):
            return symbol_text(name), False
        if name == "Abs":
            return f"|{expr_text(factor.args[0])}|", False
        return f"{name}({', '.join(expr_text(a) for a in factor.args)})", True
    return _atom_text(factor), False


def _product_text(factors: list[sp.Expr]) -> str:
    """Juxtaposed factors in a fixed order; a leading '·' marks a first factor like exp(...)."""
    def key(f):
        base = f.base if f.is_Pow else f
        rank = -2 if f.is_number else _VARIABLE_RANK.get(base, -1 if base.is_Symbol else 3)
        return (rank, sp.default_sort_key(f))

    out = ""
    for f in sorted(factors, key=key):
        text, is_call = _factor_text(f)
        if is_call or (out and out[-1].isdigit() and text[:1].isdigit()):
            out += "·"
        out += text
    return out


def _joined(prefix: str, product: str) -> str:
    """``prefix`` followed by a product text, keeping the '·' only where something precedes it."""
    if product.startswith("·") and not prefix:
        return product[1:]
    return prefix + product


def _term_text(term: sp.Expr) -> tuple[str, str]:
    """(sign, body) of one product term; ``body`` is '' for ±1."""
    coeff, rest = term.as_coeff_Mul()
    sign = "−" if coeff.is_negative else "+"
    coeff = abs(coeff)
    num_factors, den_factors = [], []
    for f in sp.Mul.make_args(rest):
        if f == 1:
            continue
        if f.is_Pow and f.exp.is_negative and f.exp.is_Rational:
            den_factors.append(f.base ** (-f.exp))
        else:
            num_factors.append(f)
    p, q = (coeff.p, coeff.q) if coeff.is_Rational else (coeff, 1)
    body = _product_text(num_factors)
    if coeff.is_Rational:
        if p != 1 or not body:
            body = _joined(str(p), body) if body else str(p)
        else:
            body = _joined("", body)
    elif coeff.is_Float:  # approximate (fitted) coefficients: 4 significant digits, no recursion
        text = f"{float(coeff):.4g}"
        body = _joined(text, body) if body else text
    else:
        body = _joined(_atom_text(coeff), body)
    if q != 1:
        den_factors.insert(0, sp.Integer(q))
    if den_factors:
        single = den_factors[0]
        den = _joined("", _product_text(den_factors))
        if len(den_factors) == 1 and single.is_Add:
            den = f"({expr_text(den_factors[0])})"
        elif not (len(den_factors) == 1 and (single.is_Symbol or single.is_Integer or single.is_Pow
                                             or isinstance(single, sp.Function))):
            den = f"({den})"
        body = f"{body}/{den}"
    return sign, body


def expr_text(expr: sp.Expr) -> str:
    """Unicode text of a sympy expression: ``2νt + x²``, ``√(t + 1)``, ``exp(t/50)``."""
    expr = sp.sympify(expr)
    if expr.is_Add:
        out = ""
        for i, term in enumerate(_sorted_terms(expr)):
            sign, body = _term_text(term)
            out += ("−" if sign == "−" else "") + body if i == 0 else f" {sign} {body}"
        return out
    if expr.is_Float:
        return _float_text(expr)
    if expr.is_Mul or expr.is_Number:
        sign, body = _term_text(expr)
        return ("−" if sign == "−" else "") + body
    if expr.is_Pow and expr.exp.is_negative and expr.exp.is_Rational:
        return _term_text(expr)[1]
    return _factor_text(expr)[0]


def _signed_factors(expr: sp.Expr) -> tuple[bool, sp.Expr, list[sp.Expr]]:
    """(negative, |numeric coefficient|, other factors) with common factors and signs pulled out.

    ``u(−x² − 2νt)`` becomes (True, 1, [u, x² + 2νt]).
    """
    expr = sp.factor_terms(expr)
    coeff, rest = expr.as_coeff_Mul()
    negative = bool(coeff.is_negative)
    factors = []
    for f in sp.Mul.make_args(rest):
        if f == 1:
            continue
        if f.is_Add and all(_is_negative(term) for term in f.args):
            negative = not negative
            f = -f
        factors.append(f)
    return negative, abs(coeff), factors


def _component_parts(expr: sp.Expr) -> tuple[str, str, str]:
    """(sign, numerator text, denominator text) of one component, common factors pulled out."""
    negative, coeff, factors = _signed_factors(expr)
    sums, others, dens = [], [], []
    for f in factors:
        if f.is_Pow and f.exp.is_negative and f.exp.is_Rational:
            dens.append(f.base ** (-f.exp))
        elif f.is_Add:
            sums.append(f)
        else:
            others.append(f)
    if coeff.is_Rational and coeff.q != 1:
        dens.insert(0, sp.Integer(coeff.q))
        coeff = sp.Integer(coeff.p)
    num = ""
    if coeff != 1:
        num = str(coeff) if coeff.is_Rational else _atom_text(coeff)
    for s_ in sums:
        num += f"({expr_text(s_)})"
    prod = _product_text(others)
    if prod:
        num = _joined(num, prod)
    den = ""
    if dens:
        den_expr = sp.Mul(*dens)
        den = expr_text(den_expr)
        if den_expr.is_Add or len(dens) > 1 or (den_expr.is_Mul and len(sp.Mul.make_args(den_expr)) > 1):
            den = f"({den})"
    return ("−" if negative else "+"), num, den


def field_text(xi: sp.Expr, tau: sp.Expr, phi: sp.Expr) -> str:
    """``x∂x + 3t∂t − 2u∂u`` for the field ξ∂x + τ∂t + φ∂u (``0`` for the zero field)."""
    out = ""
    for comp, var in ((xi, X), (tau, T), (phi, U)):
        comp = sp.sympify(comp)
        if comp == 0:
            continue
        sign, num, den = _component_parts(comp)
        body = num + _DERIVATIVE_NAMES[var] + (f"/{den}" if den else "")
        if not out:
            out = ("−" if sign == "−" else "") + body
        else:
            out += f" {sign} {body}"
    return out or "0"


def field_latex(xi: sp.Expr, tau: sp.Expr, phi: sp.Expr) -> str:
    r"""LaTeX of ξ∂x + τ∂t + φ∂u: ``x \partial_x + 3 t \partial_t - 2 u \partial_u``."""
    out = ""
    for comp, name in ((xi, "x"), (tau, "t"), (phi, "u")):
        comp = sp.sympify(comp)
        if comp == 0:
            continue
        negative, coeff, factors = _signed_factors(comp)
        parts = ([coeff] if coeff != 1 else []) + factors
        mag = sp.Integer(1) if not parts else parts[0] if len(parts) == 1 else sp.Mul(*parts, evaluate=False)
        if mag == 1:
            body = ""
        elif mag.is_Add:
            body = rf"\left({sp.latex(mag)}\right) "
        else:
            body = sp.latex(mag) + " "
        term = body + rf"\partial_{name}"
        if not out:
            out = ("-" if negative else "") + term
        else:
            out += (" - " if negative else " + ") + term
    return out or "0"
