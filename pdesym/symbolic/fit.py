r"""From numeric vector fields to closed forms: least squares, canonical span, round and verify.

1. Fit: numeric fields (callables such as learned MLPs, sampled on the data's points) are
   projected by least squares onto a dictionary :math:`f_m(x, t, u)` (monomials up to a
   degree times user functions), columns scaled to unit norm.
2. Canonical span: the coefficient rows are put in reduced row-echelon form over the same
   column order as :func:`pdesym.symbolic.canonical_basis` (polynomial terms by degree, x before
   t before u, components ξ, τ, φ), pivots chosen in data-scaled coordinates.
3. Round and verify: each row is rounded to rationals (zero-tolerances 0.01–0.2, denominators
   1–3) and a candidate is kept only if :func:`pdesym.symbolic.verify` proves it exactly.
   Verified rows go through :func:`canonical_basis`; the rest are returned as *approximate*
   fields with their validity, never dropped.
4. Distance to the exact algebra: :func:`pdesym.symbolic.principal_cosines` of the sampled spans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Sequence

import sympy as sp
import torch

from pdesym.equations import Equation, get_equation
from pdesym.symbolic.algebra import canonical_basis, principal_cosines
from pdesym.symbolic.prolongation import verify
from pdesym.symbolic.symmetries import _modulo_superposition, superposition_family
from pdesym.symbolic.vectorfield import VectorField

if TYPE_CHECKING:
    from pdesym.discovery.dictionary import FunctionDictionary
    from pdesym.jets import Jets

__all__ = ["TOLERANCES", "DENOMINATORS", "FitResult", "canonical_column_order", "numeric_rref",
           "round_and_verify", "fit_span", "fit_fields", "span_cosines"]

#: Zero-tolerances and denominators swept by "round and verify" (DESIGN §7.1).
TOLERANCES = (0.01, 0.02, 0.05, 0.1, 0.2)
DENOMINATORS = (1, 2, 3)


@dataclass
class FitResult:
    """Closed forms of a numeric span.

    Attributes:
        exact: verified generators in canonical form (as :func:`canonical_basis` gives them).
        approximate: the rows that did not verify, with float coefficients (4 significant digits).
        approximate_validity: their infinitesimal validity on the data (None when not computed).
        coefficients: the numeric RREF rows (r, 3M) over the dictionary, original coordinates.
        cosines: principal cosines of the numeric span against ``reference`` (None without one).
        misfit: relative least-squares misfit of the dictionary fit (0 for dictionary spans).
    """

    exact: list[VectorField]
    approximate: list[VectorField]
    approximate_validity: list[float] | None
    coefficients: torch.Tensor
    cosines: torch.Tensor | None = None
    misfit: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def fields(self) -> list[VectorField]:
        """Verified generators first, then the approximate ones."""
        return list(self.exact) + list(self.approximate)

    @property
    def verified(self) -> list[bool]:
        """True for each exact generator, False for each approximate one (same order as ``fields``)."""
        return [True] * len(self.exact) + [False] * len(self.approximate)


def canonical_column_order(dictionary: "FunctionDictionary") -> list[int]:
    """Indices of the 3M dictionary columns (block order ξ | τ | φ) in canonical-basis order."""
    from pdesym.symbolic.algebra import _column_key, function_terms

    M = len(dictionary)
    keys = []
    for s in range(3):
        for m, term in enumerate(dictionary.terms):
            (key, _coeff), = function_terms(term).items()
            keys.append((_column_key((key, s)), s * M + m))
    return [idx for _, idx in sorted(keys, key=lambda kv: kv[0])]


def numeric_rref(rows: torch.Tensor, order: Sequence[int], scales: torch.Tensor | None = None, *,
                 pivot_tol: float = 1e-6) -> tuple[torch.Tensor, list[int]]:
    r"""Reduced row-echelon form of a numeric span (r, C) with pivots searched in ``order``.

    Pivoting happens in scaled coordinates (column c times ``scales[c]``, e.g. the column's
    size on the data) on orthonormalised rows, so ``pivot_tol`` is relative; the returned rows
    are in original coordinates with each pivot entry equal to 1.
    """
    rows = torch.as_tensor(rows, dtype=torch.float64)
    C = rows.shape[1]
    s = torch.ones(C, dtype=torch.float64) if scales is None else torch.as_tensor(scales, dtype=torch.float64).cpu()
    Y = rows.cpu() * s
    Y = torch.linalg.qr(Y.T).Q.T if Y.shape[0] else Y  # orthonormal rows, same span
    r = 0
    pivots = []
    for col in order:
        if r == Y.shape[0]:
            break
        i = r + int(torch.argmax(Y[r:, col].abs()))
        if float(Y[i, col].abs()) <= pivot_tol:
            continue
        Y[[r, i]] = Y[[i, r]]
        Y[r] = Y[r] / Y[r, col]
        others = [k for k in range(Y.shape[0]) if k != r]
        Y[others] -= Y[others, col:col + 1] * Y[r]
        pivots.append(col)
        r += 1
    Y = Y[:r]
    out = Y / s * torch.stack([s[p] for p in pivots]).unsqueeze(1) if r else Y
    return out, pivots


def _candidates(row: Sequence[float], tolerances, denominators):
    """Rational roundings of ``row``: for each zero-tolerance and denominator, the row scaled so
    that its pivot (first nonzero entry), then each other entry in turn, is 1, rounded to
    multiples of 1/q (accepted only within tol·max(1, |v|))."""
    seen = set()
    nonzero = [i for i, v in enumerate(row) if abs(v) > 1e-12]
    if not nonzero:
        return
    peak = max(abs(row[i]) for i in nonzero)
    for tol in tolerances:
        anchors = [i for i in nonzero if abs(row[i]) >= tol * peak]
        for anchor in anchors:
            scaled = [v / row[anchor] for v in row]
            for q in denominators:
                vals = []
                ok = True
                for v in scaled:
                    if abs(v) < tol:
                        vals.append(Fraction(0))
                        continue
                    f = Fraction(round(v * q), q)
                    if abs(float(f) - v) > tol * max(1.0, abs(v)) or f == 0:
                        ok = False
                        break
                    vals.append(f)
                key = tuple(vals)
                if ok and key not in seen:
                    seen.add(key)
                    yield vals


def round_and_verify(row: Sequence[float], dictionary: "FunctionDictionary", equation: Equation, *,
                     tolerances: Sequence[float] = TOLERANCES,
                     denominators: Sequence[int] = DENOMINATORS) -> VectorField | None:
    """The first rational rounding of a coefficient row (3M,) that is an exact symmetry, else None."""
    for vals in _candidates([float(v) for v in row], tolerances, denominators):
        if all(v == 0 for v in vals):
            continue
        f = dictionary.field([sp.Rational(v.numerator, v.denominator) for v in vals])
        if verify(equation, f):
            return f
    return None


def _approximate(row: Sequence[float], dictionary) -> VectorField:
    vals = [float(f"{float(v):.4g}") if abs(float(v)) > 1e-12 else 0.0 for v in row]
    return dictionary.field([sp.Float(v) if v != 0 else 0 for v in vals])


def fit_span(rows: torch.Tensor, dictionary: "FunctionDictionary", equation: Equation | str, *,
             scales: torch.Tensor | None = None, tolerances: Sequence[float] = TOLERANCES,
             denominators: Sequence[int] = DENOMINATORS,
             validity: Callable[[torch.Tensor], torch.Tensor] | None = None) -> FitResult:
    r"""Closed forms of the span of coefficient rows (r, 3M) over ``dictionary``.

    Numeric RREF in canonical column order (:func:`numeric_rref`), then round-and-verify per row;
    verified fields are returned in canonical form, the others as approximate fields. ``validity``
    (optional) maps a (k, 3M) coefficient tensor to k validities for the approximate rows.
    """
    eq = get_equation(equation) if isinstance(equation, str) else equation
    rref, _ = numeric_rref(rows, canonical_column_order(dictionary), scales)
    exact, approx, approx_rows = [], [], []
    for row in rref:
        f = round_and_verify(row.tolist(), dictionary, eq, tolerances=tolerances, denominators=denominators)
        if f is not None and exact and len(canonical_basis([*exact, f])) == len(exact):
            # rounding dropped this row's small entries onto the span already found (e.g. a boost
            # 50·exp(t/50)∂x + ∂u rounded to ∂x): keep the dimension, as an approximate field
            f = None
        if f is None:
            approx.append(_approximate(row.tolist(), dictionary))
            approx_rows.append(row)
        else:
            exact.append(f)
    notes = []
    family = superposition_family(eq)
    if family is not None and exact:
        # linear equations: β(x, t)∂u members are reported as the family, as find_symmetries does
        kept = _modulo_superposition(eq, exact)
        exact = canonical_basis(kept, modulo_superposition=True) if kept else []
        notes.append(f"The equation is linear: every {family.text()} is a symmetry; members of this family "
                     "in the null space are not listed as separate generators.")
    else:
        exact = canonical_basis(exact) if exact else []
    approx_val = None
    if validity is not None and approx_rows:
        approx_val = [float(v) for v in validity(torch.stack(approx_rows))]
    return FitResult(exact, approx, approx_val, rref, notes=notes)


def span_cosines(a: Any, b: Any, x: torch.Tensor, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    r"""Principal cosines between two field spans sampled at points, components scaled by the
    points' spread (ξ/σ_x, τ/σ_t, φ/σ_u) so that the comparison does not depend on units.

    ``a``, ``b``: anything :func:`pdesym.prolongation.as_field_function` accepts.
    """
    from pdesym.prolongation import as_field_function

    scale = torch.stack([x.std(), t.std(), u.std()]).clamp_min(torch.finfo(x.dtype).tiny)
    va = as_field_function(a)[0](x, t, u) / scale  # (N, K, 3)
    vb = as_field_function(b)[0](x, t, u) / scale
    return principal_cosines(va.transpose(0, 1), vb.transpose(0, 1))


def fit_fields(fields: Any, x: torch.Tensor, t: torch.Tensor, u: torch.Tensor, equation: Equation | str, *,
               degree: int = 2, basis: str | Sequence[str] | None = None, reference: Sequence[VectorField] | None = None,
               jets: "Jets | None" = None, normalisation: str = "V", tolerances: Sequence[float] = TOLERANCES,
               denominators: Sequence[int] = DENOMINATORS) -> FitResult:
    r"""Fit numeric fields (callable or VectorFields) sampled at points (x, t, u) (each (N,)) to a basis.

    Least squares :math:`\min_c \|\sum_m c_m f_m - g\|` per component with unit-norm columns,
    then :func:`fit_span`. ``reference`` (default: none) adds principal cosines of the learned
    span against it (e.g. ``find_symmetries(eq).fields``); ``jets`` (on-shell jets of the data)
    adds the infinitesimal validity (``normalisation``) of every approximate field.
    """
    from pdesym.discovery.dictionary import DictionaryFields, FunctionDictionary
    from pdesym.prolongation import as_field_function

    eq = get_equation(equation) if isinstance(equation, str) else equation
    dictionary = FunctionDictionary(degree, basis)
    with torch.no_grad():
        values = as_field_function(fields)[0](x, t, u)  # (N, K, 3)
        F = dictionary(x, t, u)  # (N, M)
        norms = F.norm(dim=0).clamp_min(torch.finfo(F.dtype).tiny)
        rhs = values.reshape(values.shape[0], -1)  # (N, 3K)
        sol = torch.linalg.lstsq(F / norms, rhs).solution / norms.unsqueeze(1)  # (M, 3K)
        misfit = float((F @ sol - rhs).norm() / rhs.norm().clamp_min(torch.finfo(F.dtype).tiny))
        K = values.shape[1]
        coeffs = sol.T.reshape(K, 3, -1).reshape(K, -1)
        pscale = torch.stack([x.std(), t.std(), u.std()]).clamp_min(torch.finfo(x.dtype).tiny)
        col_scale = (norms.unsqueeze(0) / pscale.unsqueeze(1)).reshape(-1)
    validity = None
    if jets is not None:
        from pdesym.validity import infinitesimal_validity

        def validity(rows: torch.Tensor) -> torch.Tensor:
            return infinitesimal_validity(DictionaryFields(dictionary, rows), jets, eq, normalisation=normalisation)

    result = fit_span(coeffs, dictionary, eq, scales=col_scale, tolerances=tolerances, denominators=denominators,
                      validity=validity)
    result.misfit = misfit
    if reference:
        result.cosines = span_cosines(DictionaryFields(dictionary, coeffs), list(reference), x, t, u)
    return result
