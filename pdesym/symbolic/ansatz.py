r"""Solving the determining equations in a finite basis: exact rational null space.

Each of ξ, τ, φ is written as :math:`\sum_{f}\sum_{|m|\le d} a_{f,m}\, m(x,t,u)\, f`, with m the
monomials in x, t, u up to the degree d and f ranging over 1 and the user's functions
(``exp(t/50)``, ``sqrt(t + 1)``). A determining equation :math:`\sum c_\alpha \partial^\alpha F = 0`
becomes linear in the :math:`a`; collecting the coefficients of the function terms (monomial ×
fixed non-polynomial factor) gives a sparse matrix over :math:`\mathbb{Q}` (or
:math:`\mathbb{Q}(\text{parameters})`) whose null space is the symmetry algebra inside the basis.

Speed: nothing is simplified. :math:`\partial^\alpha(m f) = \sum_\beta \binom{\alpha}{\beta}
\partial^\beta m\, \partial^{\alpha-\beta} f` with :math:`\partial^\gamma f = N_\gamma / D_f`
precomputed once per user function; products are dictionaries of function terms; the matrix is a
sparse ``DomainMatrix`` and its null space is computed with exact fraction-free arithmetic.
"""

from __future__ import annotations

import io
import tokenize
from collections import defaultdict
from dataclasses import dataclass
from functools import reduce
from itertools import product
from math import comb, perm
from typing import Sequence

import sympy as sp
from sympy import QQ
from sympy.parsing.sympy_parser import convert_xor, implicit_multiplication, parse_expr, standard_transformations
from sympy.polys.constructor import construct_domain
from sympy.polys.matrices import DomainMatrix

from pdesym.equations import _CONSTANTS, _FUNCTIONS, T, U, X, jet_symbols_of
from pdesym.errors import PdesymError
from pdesym.symbolic.algebra import function_terms
from pdesym.symbolic.determining import DeterminingSystem
from pdesym.symbolic.vectorfield import VectorField, tidy

__all__ = ["parse_basis", "monomials", "AnsatzSolution", "solve_ansatz", "MAX_DEGREE"]

#: Highest monomial degree accepted (the matrix has 3·C(d+3, 3)·(1 + #functions) columns).
MAX_DEGREE = 8
_FIELDS = ("xi", "tau", "phi")
_VARS = (X, T, U)


# --------------------------------------------------------------------------- user functions
def _parse_one(text: str) -> sp.Expr:
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        raise PdesymError(f"Cannot read the basis function {text!r}; write it like 'exp(t/50)'.") from None
    for i, tok in enumerate(toks):
        if tok.type == tokenize.ERRORTOKEN and tok.string.strip():
            raise PdesymError(f"Unexpected character {tok.string!r} in the basis function {text!r}.")
        if tok.type == tokenize.OP and tok.string not in "+-*/**^().":
            raise PdesymError(f"Unexpected operator {tok.string!r} in the basis function {text!r}.")
        if tok.type == tokenize.NAME:
            nxt = toks[i + 1].string if i + 1 < len(toks) else ""
            name = tok.string
            if name in _FUNCTIONS:
                if nxt != "(":
                    raise PdesymError(f"{name!r} is a function: write it as {name}(...) in the basis.")
            elif name in ("x", "t", "u") or name in _CONSTANTS:
                if nxt == "(":
                    raise PdesymError(f"{name!r} is not a function in the basis function {text!r}.")
            elif nxt == "(":
                raise PdesymError(
                    f"Unknown function {name!r} in the basis function {text!r}; allowed: {', '.join(sorted(_FUNCTIONS))}."
                )
            else:
                raise PdesymError(
                    f"Unknown name {name!r} in the basis function {text!r}; basis functions use x, t, u, numbers "
                    f"and {', '.join(sorted(_FUNCTIONS))}."
                )
    local = {"x": X, "t": T, "u": U, **_CONSTANTS}
    local.update({n: ctor for n, (ctor, _, _) in _FUNCTIONS.items()})
    try:
        expr = parse_expr(text, local_dict=local, global_dict={"Integer": sp.Integer, "Float": sp.Float,
                                                               "Rational": sp.Rational, "Symbol": sp.Symbol},
                          transformations=standard_transformations + (implicit_multiplication, convert_xor))
    except (SyntaxError, TypeError, tokenize.TokenError, sp.SympifyError, AttributeError, ValueError) as exc:
        detail = getattr(exc, "msg", None) or (exc.args[0] if exc.args else type(exc).__name__)
        raise PdesymError(f"Cannot parse the basis function {text!r}: {detail}.") from None
    expr = sp.nsimplify(expr, rational=True)
    if not isinstance(expr, sp.Expr) or not (expr.free_symbols & {X, T, U}) or expr.has(sp.zoo, sp.nan, sp.oo):
        raise PdesymError(f"The basis function {text!r} must be a finite expression in x, t or u (not a constant).")
    return expr


def parse_basis(basis: str | Sequence[str | sp.Expr] | None) -> tuple[sp.Expr, ...]:
    """User basis functions from ``"exp(t/50), sqrt(t+1)"`` or a list of strings/expressions.

    The same names as in equations are allowed (x, t, u, numbers, exp, log, sin, ..., sqrt).
    Duplicates and constants are refused with one sentence.
    """
    if basis is None:
        return ()
    if isinstance(basis, str):
        from pdesym.equations import _split_top_level

        items = _split_top_level(basis)
        if not items and basis.strip():
            raise PdesymError(f"Cannot read the basis {basis!r}; write it like 'exp(t/50), sqrt(t+1)'.")
    else:
        items = list(basis)
    out: list[sp.Expr] = []
    for item in items:
        expr = _parse_one(item) if isinstance(item, str) else sp.sympify(item)
        if isinstance(item, sp.Basic) and (not (expr.free_symbols & {X, T, U}) or jet_symbols_of(expr) - {U}):
            raise PdesymError(f"The basis function {item} must be a non-constant expression in x, t, u.")
        if expr in out:
            raise PdesymError(f"The basis function {item!s} is given twice.")
        out.append(expr)
    return tuple(out)


def monomials(degree: int) -> list[tuple[int, int, int]]:
    """Exponents (i, j, k) of :math:`x^i t^j u^k` with i + j + k ≤ degree, by degree."""
    return [(i, j, d - i - j) for d in range(degree + 1) for i in range(d, -1, -1) for j in range(d - i, -1, -1)]


# --------------------------------------------------------------------------- term algebra
class _Terms:
    """Products of function-term dictionaries with cached products of non-polynomial factors."""

    def __init__(self):
        self._cache: dict = {}

    def factor_product(self, a: sp.Expr, b: sp.Expr) -> dict:
        if a == 1:
            return {((0, 0, 0), b): sp.Integer(1)}
        if b == 1:
            return {((0, 0, 0), a): sp.Integer(1)}
        key = (a, b) if sp.default_sort_key(a) <= sp.default_sort_key(b) else (b, a)
        if key not in self._cache:
            self._cache[key] = function_terms(a * b)
        return self._cache[key]

    def multiply(self, p: dict, q: dict) -> dict:
        out: dict = defaultdict(lambda: sp.Integer(0))
        for (m1, f1), c1 in p.items():
            for (m2, f2), c2 in q.items():
                for (m3, f3), c3 in self.factor_product(f1, f2).items():
                    out[((m1[0] + m2[0] + m3[0], m1[1] + m2[1] + m3[1], m1[2] + m2[2] + m3[2]), f3)] += c1 * c2 * c3
        return {k: v for k, v in out.items() if v != 0}


def _derivatives_over_common_denominator(f: sp.Expr, orders: set) -> tuple[sp.Expr, dict]:
    r""":math:`D_f` and :math:`N_\gamma` with :math:`\partial^\gamma f = N_\gamma / D_f` for γ in ``orders``."""
    derivs = {}
    for g in orders:
        d = f
        for v, n in zip(_VARS, g):
            if n:
                d = sp.diff(d, v, n)
        derivs[g] = sp.fraction(sp.together(d))
    common = reduce(sp.lcm, [den for _, den in derivs.values()], sp.Integer(1))
    return common, {g: sp.expand(sp.cancel(num * common / den)) for g, (num, den) in derivs.items()}


@dataclass(frozen=True)
class AnsatzSolution:
    """The null space found in the basis: fields (not yet canonical), sizes, the domain used."""

    fields: tuple[VectorField, ...]
    unknowns: int
    rows: int
    domain: str


def solve_ansatz(system: DeterminingSystem, *, degree: int = 3, basis: Sequence[sp.Expr] = ()) -> AnsatzSolution:
    r"""All solutions of the determining system with ξ, τ, φ in span{m·f : |m| ≤ degree, f ∈ {1} ∪ basis}.

    Exact: the rows are the coefficients of linearly independent function terms and the null
    space is computed over :math:`\mathbb{Q}` or :math:`\mathbb{Q}(\text{parameters})`.
    """
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1 or degree > MAX_DEGREE:
        raise PdesymError(f"The ansatz degree must be an integer from 1 to {MAX_DEGREE}, got {degree!r}.")
    funcs = [sp.Integer(1), *basis]
    monos = monomials(degree)
    orders = {alpha for e in system.equations for (_, alpha) in e}
    needed = {g for alpha in orders for g in product(*(range(a + 1) for a in alpha))}
    dens, nums = [], []
    for f in funcs:
        if f == 1:
            dens.append(sp.Integer(1))
            nums.append({g: (sp.Integer(1) if g == (0, 0, 0) else sp.Integer(0)) for g in needed})
        else:
            d, n = _derivatives_over_common_denominator(f, needed)
            dens.append(d)
            nums.append(n)
    lcm = reduce(sp.lcm, dens, sp.Integer(1))
    algebra = _Terms()
    scale = [function_terms(sp.cancel(lcm / d)) for d in dens]
    num_terms = [{g: algebra.multiply(function_terms(v), scale[i]) for g, v in n.items()} for i, n in enumerate(nums)]

    ncols = 3 * len(funcs) * len(monos)
    col = {(fi, k, mi): (fi * len(funcs) + k) * len(monos) + mi
           for fi in range(3) for k in range(len(funcs)) for mi in range(len(monos))}
    rows: dict = defaultdict(lambda: defaultdict(lambda: sp.Integer(0)))
    for eidx, equation in enumerate(system.equations):
        for (name, alpha), coeff in equation.items():
            fi = _FIELDS.index(name)
            cterms = function_terms(coeff)
            for k in range(len(funcs)):
                for beta in product(*(range(a + 1) for a in alpha)):
                    gamma = tuple(a - b for a, b in zip(alpha, beta))
                    ng = num_terms[k].get(gamma)
                    if not ng:
                        continue
                    binom = comb(alpha[0], beta[0]) * comb(alpha[1], beta[1]) * comb(alpha[2], beta[2])
                    prod_terms = algebra.multiply(cterms, ng)
                    for mi, m in enumerate(monos):
                        if m[0] < beta[0] or m[1] < beta[1] or m[2] < beta[2]:
                            continue
                        ff = binom * perm(m[0], beta[0]) * perm(m[1], beta[1]) * perm(m[2], beta[2])
                        dm = (m[0] - beta[0], m[1] - beta[1], m[2] - beta[2])
                        j = col[(fi, k, mi)]
                        for (pm, factor), c in prod_terms.items():
                            rows[(eidx, (pm[0] + dm[0], pm[1] + dm[1], pm[2] + dm[2]), factor)][j] += ff * c
    entries = [(i, j, v) for i, row in enumerate(rows.values()) for j, v in row.items() if v != 0]
    if all(v.is_Rational for _, _, v in entries):
        domain = QQ
        data: dict = defaultdict(dict)
        for i, j, v in entries:
            data[i][j] = QQ(int(v.p), int(v.q))
    else:
        domain, values = construct_domain([v for _, _, v in entries], field=True)
        data = defaultdict(dict)
        for (i, j, _), v in zip(entries, values):
            if v:
                data[i][j] = v
    M = DomainMatrix(dict(data), (max(len(rows), 1), ncols), domain)
    null = M.nullspace().to_dense().rep.to_ddm() if ncols else []
    fields = []
    for vec in null:
        comps = [sp.Integer(0)] * 3
        for (fi, k, mi), j in col.items():
            if vec[j]:
                m = monos[mi]
                comps[fi] += domain.to_sympy(vec[j]) * X ** m[0] * T ** m[1] * U ** m[2] * funcs[k]
        fields.append(VectorField(*(tidy(c) for c in comps)))
    return AnsatzSolution(tuple(fields), ncols, len(rows), str(domain))
