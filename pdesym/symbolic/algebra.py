r"""Lie algebras of vector fields: canonical bases, commutators, closure, distances between spans.

Canonical basis
    Every component is expanded into *function terms* (a monomial in x, t, u times a fixed
    non-polynomial factor such as ``exp(t/50)`` or ``√(t + 1)``) with coefficients in
    :math:`\mathbb{Q}` or :math:`\mathbb{Q}(\text{parameters})`. The span's coefficient matrix over
    a fixed ordering of (function term, component) columns — polynomial terms first, by degree,
    then x before t before u, components ξ, τ, φ — is put in reduced row-echelon form and each row
    scaled to integer (or polynomial) coefficients with no common factor and a positive pivot.
    The same span always gives the same generators: KdV gives ∂x, ∂t, t∂x + ∂u, x∂x + 3t∂t − 2u∂u.

Structure constants
    :math:`[e_i, e_j] = \sum_k c_{ij}^k e_k`, solved exactly in the canonical coordinates;
    a bracket outside the span is reported (the span is not closed).

Numeric comparison
    :func:`principal_cosines` and :func:`grassmann_distance` compare two spans sampled at the
    same points (arrays of shape (k, n_points, 3), torch or numpy): cosines of the principal
    angles between the column spaces (Björck & Golub 1973) and :math:`\|\theta\|_2`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import Mapping, Sequence

import numpy as np
import sympy as sp
import torch
from sympy.polys.constructor import construct_domain
from sympy.polys.matrices import DomainMatrix
from sympy.simplify.fu import TR8

from pdesym.equations import T, U, X
from pdesym.errors import PdesymError
from pdesym.symbolic.vectorfield import VectorField, tidy

#: Sampled fields are torch tensors or numpy arrays; the result has the input's kind.
_Array = torch.Tensor | np.ndarray

__all__ = [
    "function_terms",
    "normalize_terms",
    "simplest",
    "canonical_basis",
    "coordinates",
    "StructureConstants",
    "structure_constants",
    "sample_fields",
    "principal_cosines",
    "grassmann_distance",
]

_VARS = (X, T, U)


def _split_term(term: sp.Expr, extra: Sequence[sp.Symbol] = ()) -> tuple[sp.Expr, tuple[int, int, int], sp.Expr]:
    """(coefficient, monomial exponents in x t u, non-polynomial factor) of one product term.

    Powers of x, t, u are split into an integer part (the monomial, possibly negative) and a
    fractional rest in [0, 1) kept with the factor, so t^(3/2) and t·t^(1/2) agree.
    """
    coeff, func = term.as_independent(*_VARS, *extra, as_Add=False)
    exps = [0, 0, 0]
    rest = []
    for f in sp.Mul.make_args(func):
        base, e = f.as_base_exp()
        if base in _VARS and e.is_Rational:
            whole = sp.floor(e)
            exps[_VARS.index(base)] += int(whole)
            if e != whole:
                rest.append(base ** (e - whole))
        elif f != 1:
            rest.append(f)
    return coeff, tuple(exps), sp.Mul(*rest)


def function_terms(expr: sp.Expr, extra: Sequence[sp.Symbol] = ()) -> dict[tuple[tuple[int, int, int], sp.Expr], sp.Expr]:
    """``{(monomial exponents, non-polynomial factor): coefficient}`` of an expanded expression.

    Coefficients are what does not depend on x, t, u (numbers, parameters); symbols in
    ``extra`` count as functions (placeholders of :func:`normalize_terms`).
    """
    out: dict = {}
    for term in _terms(sp.sympify(expr)):
        if term == 0:
            continue
        coeff, mono, factor = _split_term(term, extra)
        key = (mono, factor)
        out[key] = out.get(key, 0) + coeff
    return {k: v for k, v in out.items() if v != 0}


def _has_power_of_sum(expr: sp.Expr) -> bool:
    return any(isinstance(a, sp.Pow) and not a.base.is_Symbol and not a.base.is_number
               and not (a.exp.is_Integer and a.exp > 0) for a in sp.preorder_traversal(expr))


def _linear_in_functions(expr: sp.Expr) -> sp.Expr:
    """Products and powers of sin/cos as sums of sin(kt), cos(kt) (sin² + cos² = 1 shows);
    sinh, cosh, tanh as exponentials."""
    if expr.has(sp.sinh, sp.cosh, sp.tanh):
        expr = expr.replace(sp.sinh, lambda a: (sp.exp(a) - sp.exp(-a)) / 2)
        expr = expr.replace(sp.cosh, lambda a: (sp.exp(a) + sp.exp(-a)) / 2)
        expr = expr.replace(sp.tanh, lambda a: (sp.exp(a) - sp.exp(-a)) / (sp.exp(a) + sp.exp(-a)))
    if expr.has(sp.sin, sp.cos):
        expr = sp.expand(TR8(sp.expand(expr)))
    return expr


def _terms(expr: sp.Expr) -> tuple[sp.Expr, ...]:
    """Additive terms, each a product of a coefficient, powers of x, t, u and powers of
    irreducible sums: the denominator is factored once and not expanded again (sympy's
    ``expand`` would turn (t + 1)^(-3/2) into 1/(t√(t + 1) + √(t + 1)))."""
    expr = _linear_in_functions(expr)
    if not _has_power_of_sum(expr):
        return sp.Add.make_args(sp.expand(expr))
    num, den = sp.fraction(sp.together(expr))
    den = sp.factor(den)
    inv = sp.Pow(den, -1)
    return tuple(sp.Mul(t, inv) for t in sp.Add.make_args(sp.expand(num)))


def _power_classes(factor: sp.Expr) -> tuple[dict[tuple[sp.Expr, sp.Expr], sp.Expr], sp.Expr]:
    """({(base, exponent mod 1): exponent}, rest) for the powers of sums in a factor.

    Powers of the same sum are merged first: (t + 1)^(-1)·(t + 1)^(-1/2) is (t + 1)^(-3/2).
    """
    totals: dict = {}
    rest = []
    for f in sp.Mul.make_args(factor):
        base, e = f.as_base_exp()
        if base.is_Add and e.is_Rational:
            totals[base] = totals.get(base, 0) + e
        else:
            rest.append(f)
    out = {}
    for base, e in totals.items():
        if e.is_Integer and e > 0:
            rest.append(base ** e)
        elif e != 0:
            out[(base, e - sp.floor(e))] = e
    return out, sp.Mul(*rest)


def normalize_terms(dicts: Sequence[dict]) -> tuple[list[dict], dict]:
    r"""Rewrite several function-term dicts over one set of linearly independent functions.

    Powers of a sum B with exponents in one class mod 1 (:math:`\sqrt{t+1}` and
    :math:`1/\sqrt{t+1}`) are written as :math:`B^{m}\cdot\mathrm{expand}(B^{e-m})` with m the
    smallest exponent of the class, so that :math:`t/\sqrt{t+1} + 1/\sqrt{t+1}` and
    :math:`\sqrt{t+1}` get the same terms. :math:`B^m` is kept as a placeholder symbol while
    collecting; the returned mapping turns placeholders back into powers.
    """
    lowest: dict = {}
    for d in dicts:
        for (_, factor) in d:
            for cls, e in _power_classes(factor)[0].items():
                lowest[cls] = min(lowest.get(cls, e), e)
    lowest = {cls: m for cls, m in lowest.items() if cls[1] != 0 or m < 0}
    if not lowest:
        return list(dicts), {}
    holders = {cls: sp.Symbol(f"_power{i}", positive=True) for i, cls in enumerate(sorted(lowest, key=sp.default_sort_key))}
    out = []
    for d in dicts:
        new: dict = {}
        for (mono, factor), coeff in d.items():
            present, rest = _power_classes(factor)
            expr = coeff * X ** mono[0] * T ** mono[1] * U ** mono[2] * rest
            for (base, cls), m in lowest.items():
                e = present.get((base, cls), sp.Integer(0) if cls == 0 else None)
                if e is None:
                    continue
                expr = expr * holders[(base, cls)] * sp.expand(base ** (e - m))
            for cls, e in present.items():
                if cls not in lowest:
                    expr = expr * cls[0] ** e
            for key, c in function_terms(expr, list(holders.values())).items():
                new[key] = new.get(key, 0) + c
        out.append({k: v for k, v in new.items() if v != 0})
    back = {h: cls[0] ** lowest[cls] for cls, h in holders.items()}
    return out, back


def _column_key(col: tuple) -> tuple:
    (mono, factor), comp = col
    return (factor != 1, sum(mono), tuple(-e for e in mono), sp.default_sort_key(factor), comp)


def _superposition_column(col: tuple) -> bool:
    """φ-columns free of u: the span of a superposition family β(x, t)∂u."""
    (mono, factor), comp = col
    return comp == 2 and mono[2] == 0 and U not in factor.free_symbols


def _matrix(fields: Sequence[VectorField], columns: list | None = None, *, last_superposition: bool = False):
    """Rows of coefficients over (function term, component) columns, the columns, and the map
    from power placeholders back to powers (see :func:`normalize_terms`)."""
    comps, back = normalize_terms([function_terms(c) for f in fields for c in f.components])
    rows = []
    cols: set = set()
    for i in range(len(fields)):
        row = {}
        for comp in range(3):
            for key, coeff in comps[3 * i + comp].items():
                row[(key, comp)] = coeff
        rows.append(row)
        cols |= set(row)
    if columns is None:
        columns = sorted(cols, key=(lambda c: (_superposition_column(c), _column_key(c))) if last_superposition
                         else _column_key)
    elif not cols <= set(columns):
        columns = list(columns) + sorted(cols - set(columns), key=_column_key)
    values = [c for row in rows for c in row.values()]
    domain, converted = construct_domain(values or [sp.Integer(0)], field=True)
    it = iter(converted)
    index = {c: j for j, c in enumerate(columns)}
    data = {}
    for i, row in enumerate(rows):
        data[i] = {index[c]: next(it) for c in row}
    data = {i: {j: v for j, v in r.items() if v} for i, r in data.items()}
    return DomainMatrix({i: r for i, r in data.items() if r},
                        (len(rows), len(columns)), domain), columns, back


def _primitive_row(values: list, domain) -> list:
    """Scale an exact row to integer/polynomial entries with no common factor, positive pivot."""
    exprs = [domain.to_sympy(v) for v in values]
    nonzero = [e for e in exprs if e != 0]
    if not nonzero:
        return exprs
    dens = [sp.fraction(sp.together(e))[1] for e in nonzero]
    lcm = reduce(sp.lcm, dens, sp.Integer(1))
    scaled = [sp.cancel(e * lcm) for e in exprs]
    nums = [e for e in scaled if e != 0]
    g = reduce(sp.gcd, nums)
    if g != 0 and g != 1:
        scaled = [sp.cancel(e / g) for e in scaled]
    pivot = next(e for e in scaled if e != 0)
    lead = sp.Poly(pivot, *sorted(pivot.free_symbols, key=str)).LC() if pivot.free_symbols else pivot
    if lead.is_number and lead < 0:
        scaled = [-e for e in scaled]
    return [sp.expand(e) for e in scaled]


def _fields_from_rows(rows, columns, back) -> list[VectorField]:
    out = []
    for row in rows:
        comps = [sp.Integer(0)] * 3
        for value, ((mono, factor), comp) in zip(row, columns):
            if value != 0:
                comps[comp] += value * X ** mono[0] * T ** mono[1] * U ** mono[2] * factor.xreplace(back)
        out.append(VectorField(*(simplest(c) for c in comps)))
    return out


def simplest(expr: sp.Expr) -> sp.Expr:
    """The shortest of a few equivalent forms (expanded, factored, cancelled) of a component."""
    expr = tidy(expr)
    if expr.is_polynomial(X, T, U):
        return expr
    candidates = [expr]
    for fn in (sp.factor, sp.cancel, lambda e: sp.expand(sp.powsimp(sp.factor(e)))):
        try:
            candidates.append(fn(expr))
        except (sp.PolynomialError, NotImplementedError, TypeError):
            pass
    return min(candidates, key=lambda e: (sp.count_ops(e), len(str(e))))


def canonical_basis(fields: Sequence[VectorField], *, modulo_superposition: bool = False) -> list[VectorField]:
    """The canonical basis of the span of ``fields`` (RREF over a fixed column order, primitive rows).

    Duplicates and linear combinations drop out; the result's length is the dimension. With
    ``modulo_superposition`` the columns of u-free φ terms come last and rows made only of them
    (members β(x, t)∂u of a superposition family, reported separately) are dropped.
    """
    fields = [f for f in fields]
    if not fields:
        return []
    M, columns, back = _matrix(fields, last_superposition=modulo_superposition)
    R, pivots = M.rref()
    dense = R.to_dense().rep.to_ddm()
    keep = [i for i, p in enumerate(pivots) if not (modulo_superposition and _superposition_column(columns[p]))]
    rows = [_primitive_row(list(dense[i]), M.domain) for i in keep]
    return _fields_from_rows(rows, columns, back)


def coordinates(basis: Sequence[VectorField], field: VectorField) -> list[sp.Expr] | None:
    """Exact c with field = Σ c_i basis_i, or None when the field is not in the span."""
    if not basis:
        return None if not field.is_zero() else []
    M, _, _ = _matrix(list(basis) + [field])
    n = len(basis)
    A = M.transpose()  # columns are the fields
    R, pivots = A.rref()
    if n in pivots:
        return None
    dense = R.to_dense().rep.to_ddm()
    coeffs = [sp.Integer(0)] * n
    for row, p in enumerate(pivots):
        coeffs[p] = M.domain.to_sympy(dense[row][n])
    # rref of [A | v] with independent basis columns gives the coordinates directly
    if len(pivots) < n:
        raise PdesymError("The basis passed to coordinates() is linearly dependent; pass a canonical basis.")
    return [sp.simplify(c) if c.free_symbols else c for c in coeffs]


@dataclass(frozen=True)
class StructureConstants:
    r"""Commutators of a basis: ``table[i][j]`` = coordinates of :math:`[e_i, e_j]` (None if outside).

    ``closed`` is True when every bracket lies in the span; ``outside`` lists the (i, j) whose
    bracket does not.
    """

    table: tuple[tuple[tuple[sp.Expr, ...] | None, ...], ...]
    closed: bool
    outside: tuple[tuple[int, int], ...]

    def bracket_text(self, i: int, j: int, names: Sequence[str] | None = None) -> str:
        """``2X1 − X3`` for :math:`[e_i, e_j]` (``?`` when outside the span)."""
        coords = self.table[i][j]
        if coords is None:
            return "∉ span"
        names = names or [f"X{k + 1}" for k in range(len(coords))]
        return _combination_text(coords, names)

    def to_json(self) -> list[list[list[str] | None]]:
        """Nested lists of exact coefficient strings."""
        return [[None if c is None else [sp.sstr(v) for v in c] for c in row] for row in self.table]


def _combination_text(coords: Sequence[sp.Expr], names: Sequence[str]) -> str:
    from pdesym.symbolic.printing import expr_text

    out = ""
    for c, name in zip(coords, names):
        if c == 0:
            continue
        neg = bool(c.could_extract_minus_sign())
        mag = -c if neg else c
        if mag == 1:
            body = name
        elif mag.is_Rational:
            body = (str(mag.p) if mag.p != 1 else "") + name + (f"/{mag.q}" if mag.q != 1 else "")
        else:
            body = (f"({expr_text(mag)})" if mag.is_Add else expr_text(mag)) + name
        if not out:
            out = ("−" if neg else "") + body
        else:
            out += (" − " if neg else " + ") + body
    return out or "0"


def structure_constants(basis: Sequence[VectorField]) -> StructureConstants:
    r"""All brackets :math:`[e_i, e_j]` in the coordinates of ``basis`` (antisymmetric table)."""
    n = len(basis)
    table: list[list] = [[None] * n for _ in range(n)]
    outside = []
    zero = tuple(sp.Integer(0) for _ in range(n))
    for i in range(n):
        table[i][i] = zero
        for j in range(i + 1, n):
            b = basis[i].bracket(basis[j])
            c = zero if all(comp == 0 for comp in b.components) else coordinates(basis, b)
            if c is None:
                outside.append((i, j))
                table[i][j] = table[j][i] = None
            else:
                table[i][j] = tuple(c)
                table[j][i] = tuple(-v for v in c)
    return StructureConstants(tuple(tuple(r) for r in table), not outside, tuple(outside))


# --------------------------------------------------------------------------- numeric spans
def sample_fields(fields: Sequence[VectorField], x: _Array, t: _Array, u: _Array, *,
                  params: Mapping[str, float] | None = None) -> _Array:
    """Evaluate fields at points: returns shape (k, n_points, 3) (torch for torch input, else numpy)."""
    is_torch = isinstance(x, torch.Tensor)
    module = "torch" if is_torch else "numpy"
    values = [f.numeric(module, params=params)(x, t, u).reshape(-1, 3) for f in fields]
    return torch.stack(values) if is_torch else np.stack(values)


def principal_cosines(a: _Array, b: _Array) -> _Array:
    r"""Cosines of the principal angles between the spans of two sampled field stacks.

    ``a``: (k_a, n_points, 3) or (k_a, m); ``b`` likewise with the same trailing size; torch or
    numpy. Each span is orthonormalised (QR of the flattened samples) and the cosines are the
    singular values of :math:`Q_a^\top Q_b`, sorted descending, clipped to [0, 1]; there are
    min(k_a, k_b) of them. Rank-deficient stacks raise an error naming the stack.
    """
    lib = torch if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor) else np
    if lib is torch:
        a = torch.as_tensor(a)
        b = torch.as_tensor(b, dtype=a.dtype, device=a.device)
        A, B = a.reshape(a.shape[0], -1).T, b.reshape(b.shape[0], -1).T
    else:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        A, B = a.reshape(a.shape[0], -1).T, b.reshape(b.shape[0], -1).T
    if A.shape[0] != B.shape[0]:
        raise PdesymError(f"The two spans are sampled at different sizes ({A.shape[0]} vs {B.shape[0]} values).")
    qa, qb = _orthonormal(A, "a", lib), _orthonormal(B, "b", lib)
    s = lib.linalg.svd(qa.T @ qb)[1] if lib is np else torch.linalg.svdvals(qa.T @ qb)
    return s.clip(0.0, 1.0) if lib is np else s.clamp(0.0, 1.0)


def _orthonormal(A, name, lib):
    if lib is torch:
        u, s, _ = torch.linalg.svd(A, full_matrices=False)
    else:
        u, s, _ = np.linalg.svd(A, full_matrices=False)
    if s.shape[0] == 0 or float(s[-1]) <= float(s[0]) * 1e-12:
        raise PdesymError(f"The sampled fields of span {name} are linearly dependent (or zero); pass a basis.")
    return u


def grassmann_distance(a: _Array, b: _Array) -> float:
    r"""Grassmann distance :math:`\|\theta\|_2` between two sampled spans (principal angles θ).

    For spans of different dimension the missing directions count as right angles (π/2 each),
    so the distance is 0 only for equal spans.
    """
    cos = principal_cosines(a, b)
    if isinstance(cos, torch.Tensor):
        theta = torch.arccos(cos)
        extra = abs(int(a.shape[0]) - int(b.shape[0])) * (np.pi / 2) ** 2
        return float(torch.sqrt((theta ** 2).sum() + extra))
    theta = np.arccos(cos)
    extra = abs(int(np.shape(a)[0]) - int(np.shape(b)[0])) * (np.pi / 2) ** 2
    return float(np.sqrt((theta ** 2).sum() + extra))
