r"""Dictionaries of functions of (x, t, u) and vector fields that are linear combinations over them.

A :class:`FunctionDictionary` is the list :math:`f_1, \dots, f_M` of monomials
:math:`x^i t^j u^k` (i + j + k ≤ degree) times 1 and optional user functions (``exp(t/50)``,
``sqrt(t + 1)``, read by :func:`pdesym.symbolic.parse_basis`). A field over it is
:math:`V = \sum_m (a_m f_m\,\partial_x + b_m f_m\,\partial_t + c_m f_m\,\partial_u)`; a batch of K
fields is a coefficient tensor (K, 3, M) (:class:`DictionaryFields`), and the 3M *elementary*
fields :math:`f_m\partial_x | f_m\partial_t | f_m\partial_u` are the columns of every linear
system built on the dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial
from typing import TYPE_CHECKING, Sequence

import sympy as sp
import torch

from pdesym.equations import T, U, X, to_torch
from pdesym.errors import PdesymError
from pdesym.symbolic.ansatz import MAX_DEGREE, monomials, parse_basis
from pdesym.symbolic.vectorfield import VectorField
from pdesym.taylor import derivatives as series_derivatives
from pdesym.taylor import input_series
from pdesym.taylor import mul as series_mul

if TYPE_CHECKING:
    from pdesym.jets import Jets

__all__ = ["FunctionDictionary", "DictionaryFields"]


class FunctionDictionary:
    r"""Functions :math:`f_m(x, t, u)`: monomials up to ``degree`` times (1, user functions...).

    Calling it on (N,) tensors x, t, u returns their values (N, M). ``terms`` are the sympy
    expressions, in the same order.
    """

    def __init__(self, degree: int = 2, basis: str | Sequence[str | sp.Expr] | None = None):
        if isinstance(degree, bool) or not isinstance(degree, int) or not 0 <= degree <= MAX_DEGREE:
            raise PdesymError(f"The dictionary degree must be an integer from 0 to {MAX_DEGREE}, got {degree!r}.")
        self.degree = degree
        self.functions: tuple[sp.Expr, ...] = parse_basis(basis)
        self.exponents = monomials(degree)
        factors = (sp.Integer(1),) + self.functions
        self.terms: tuple[sp.Expr, ...] = tuple(
            X ** i * T ** j * U ** k * f for f in factors for (i, j, k) in self.exponents
        )
        self._factor_fns = [to_torch(f) for f in self.functions]
        self._keep: torch.Tensor | None = None  # subset of the full list (see independent)

    def __len__(self) -> int:
        return len(self.terms)

    def __repr__(self) -> str:
        extra = f", basis={[str(f) for f in self.functions]}" if self.functions else ""
        return f"FunctionDictionary(degree={self.degree}{extra}; {len(self)} functions)"

    def independent(self, x: torch.Tensor, t: torch.Tensor, u: torch.Tensor, *, tol: float = 1e-9) -> "FunctionDictionary":
        r"""The dictionary without functions that are linear combinations of earlier ones on the points.

        User functions can make the list dependent (:math:`t/\sqrt{t+1} + 1/\sqrt{t+1} = \sqrt{t+1}`);
        a dependent column would put a zero field into every null space. Unpivoted QR in
        list order (polynomials first) of unit-norm columns; a function is dropped when its
        distance to the span of the earlier ones is below ``tol``.
        """
        with torch.no_grad():
            F = self(x.reshape(-1), t.reshape(-1), u.reshape(-1))
            F = F / F.norm(dim=0).clamp_min(torch.finfo(F.dtype).tiny)
            # unpivoted QR works through the columns in list order: |R_mm| is the distance of
            # column m to the span of the columns before it (the greedy criterion, one call)
            R = torch.linalg.qr(F, mode="r").R
            keep = [m for m in range(F.shape[1]) if float(R[m, m].abs()) > tol]
        out = FunctionDictionary.__new__(FunctionDictionary)
        out.__dict__.update(self.__dict__)
        base = self._keep.tolist() if self._keep is not None else list(range(len(self.terms)))
        full = [base[k] for k in keep]
        out.terms = tuple(self.terms[k] for k in keep)
        out._keep = torch.tensor(full, dtype=torch.long)
        return out

    def __call__(self, x: torch.Tensor, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Values :math:`f_m(x, t, u)`, shape x.shape + (M,)."""
        out = self._all(x, t, u)
        return out if self._keep is None else out[..., self._keep.to(out.device)]

    def _all(self, x: torch.Tensor, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        x, t, u = torch.broadcast_tensors(x, t, u)
        d = self.degree
        px = [torch.ones_like(x)] + [None] * d
        pt = [torch.ones_like(t)] + [None] * d
        pu = [torch.ones_like(u)] + [None] * d
        for k in range(1, d + 1):
            px[k], pt[k], pu[k] = px[k - 1] * x, pt[k - 1] * t, pu[k - 1] * u
        mono = torch.stack([px[i] * pt[j] * pu[k] for (i, j, k) in self.exponents], dim=-1)
        if not self._factor_fns:
            return mono
        vals = [mono] + [mono * f(x, t, {"u": u}).unsqueeze(-1) for f in self._factor_fns]
        return torch.cat(vals, dim=-1)

    def x_derivatives(self, jets: Jets, n: int) -> list[torch.Tensor]:
        r""":math:`[D_x^j f_m]_{j=0..n}` along a flat jet, each (N, M): exact truncated Taylor series.

        Monomials are products of the series :math:`x + s` and :math:`U(s) = \sum_k u_{x^k} s^k/k!`
        (Cauchy products, no autograd); user factors go through
        :func:`pdesym.prolongation.x_derivatives` (nested jvp) and are multiplied in.
        """
        x, t = jets.x, jets.t
        one = torch.ones_like(x)
        series_in = input_series(jets, n)  # (n+1, N, 3): x + s, t, U(s)
        X_s, U_s = series_in[..., 0], series_in[..., 2]
        d = self.degree
        px, pu, pt = [_series_one(n, x)], [_series_one(n, x)], [one]
        for k in range(1, d + 1):
            px.append(series_mul(px[-1], X_s))
            pu.append(series_mul(pu[-1], U_s))
            pt.append(pt[-1] * t)
        mono = torch.stack([series_mul(px[i], pu[k]) * pt[j] for (i, j, k) in self.exponents], dim=-1)  # (n+1, N, M0)
        series = [mono]
        if self._factor_fns:
            from pdesym.prolongation import x_derivatives

            fns = self._factor_fns
            fac = x_derivatives(lambda a, b, c: torch.stack([f(a, b, {"u": c}) for f in fns], -1), jets, n)
            fac = torch.stack([v / factorial(k) for k, v in enumerate(fac)])  # (n+1, N, F)
            for q in range(len(fns)):
                series.append(series_mul(mono, fac[..., q:q + 1]))
        out = torch.cat(series, dim=-1)
        if self._keep is not None:
            out = out[..., self._keep.to(out.device)]
        return series_derivatives(out)

    def total_derivatives(self, jets: Jets, orders: Sequence[tuple[int, int]]) -> dict[tuple[int, int], torch.Tensor]:
        r""":math:`D_x^a D_t^b f_m` for (a, b) in ``orders``, each (N, M), by bivariate Taylor series.

        Exact: products of the series of :math:`x + s`, :math:`t + r` and
        :math:`U(s, r) = \sum u_{x^i t^j} s^i r^j / (i!\,j!)`. Dictionaries with user functions
        go through :func:`pdesym.prolongation.total_derivatives` (nested jvp).
        """
        orders = sorted(set(tuple(o) for o in orders))
        if self._factor_fns:
            from pdesym.prolongation import total_derivatives

            return total_derivatives(self, jets, orders)
        A, B = max(o[0] for o in orders), max(o[1] for o in orders)
        x, t = jets.x, jets.t
        shape = (A + 1, B + 1) + x.shape
        X_s = torch.zeros(shape, dtype=x.dtype, device=x.device)
        T_s, U_s, one = X_s.clone(), X_s.clone(), X_s.clone()
        X_s[0, 0], T_s[0, 0], one[0, 0] = x, t, 1
        if A:
            X_s[1, 0] = 1
        if B:
            T_s[0, 1] = 1
        for i in range(A + 1):
            for j in range(B + 1):
                if (i, j) in jets.values:
                    U_s[i, j] = jets.values[(i, j)] / (factorial(i) * factorial(j))
                elif any(a >= i and b >= j for a, b in orders):
                    raise PdesymError(f"The jet lacks u_{'x' * i}{'t' * j}, needed for the wanted derivatives.")
        px, pt, pu = [one], [one], [one]
        for _ in range(self.degree):
            px.append(_series_mul2(px[-1], X_s))
            pt.append(_series_mul2(pt[-1], T_s))
            pu.append(_series_mul2(pu[-1], U_s))
        mono = torch.stack([_series_mul2(_series_mul2(px[i], pt[j]), pu[k]) for (i, j, k) in self.exponents], dim=-1)
        if self._keep is not None:
            mono = mono[..., self._keep.to(mono.device)]
        return {(a, b): mono[a, b] * (factorial(a) * factorial(b)) for (a, b) in orders}

    def field(self, coeffs: Sequence) -> VectorField:
        """The VectorField with coefficients (3, M) (or 3M, block order ξ | τ | φ); sympy numbers kept exact."""
        M = len(self)
        flat = list(coeffs.reshape(-1).tolist()) if isinstance(coeffs, torch.Tensor) else _flatten(coeffs)
        if len(flat) != 3 * M:
            raise PdesymError(f"A field over this dictionary needs 3 x {M} coefficients, got {len(flat)}.")
        comps = [sp.Add(*(sp.sympify(c) * f for c, f in zip(flat[s * M:(s + 1) * M], self.terms) if c != 0))
                 for s in range(3)]
        return VectorField(*comps)

    def coefficients(self, field: VectorField) -> torch.Tensor:
        """Coefficients (3M,) of a field that lies in the dictionary's span (exact expansion)."""
        out = []
        for comp in field.components:
            poly_terms = {}
            for term in sp.Add.make_args(sp.expand(comp)):
                if term == 0:
                    continue
                coeff, rest = term.as_independent(X, T, U, as_Add=False)
                poly_terms[rest] = poly_terms.get(rest, 0) + coeff
            row = []
            for f in self.terms:
                row.append(float(poly_terms.pop(f, 0)))
            if any(v != 0 for v in poly_terms.values()):
                raise PdesymError(f"The field {field} is not in the span of {self!r}.")
            out.extend(row)
        return torch.tensor(out, dtype=torch.get_default_dtype())


def _series_one(n: int, like: torch.Tensor) -> torch.Tensor:
    out = torch.zeros((n + 1,) + like.shape, dtype=like.dtype, device=like.device)
    out[0] = 1
    return out


def _series_mul2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Bivariate Cauchy product over the first two dims (truncated to the same rectangle)."""
    A, B = a.shape[0], a.shape[1]
    out = torch.zeros_like(a)
    for i in range(A):
        for j in range(B):
            # out[i + p, j + q] += a[i, j] * b[p, q] for p < A - i, q < B - j
            out[i:, j:] = out[i:, j:] + a[i, j] * b[: A - i, : B - j]
    return out


def _flatten(coeffs) -> list:
    out = []
    for c in coeffs:
        if isinstance(c, (list, tuple)):
            out.extend(c)
        else:
            out.append(c)
    return out


@dataclass(frozen=True, eq=False)
class DictionaryFields:
    """K fields over a dictionary: ``coeffs`` of shape (K, 3, M) (or (K, 3M)), differentiable."""

    dictionary: FunctionDictionary
    coeffs: torch.Tensor

    def matrix(self) -> torch.Tensor:
        """Coefficients as (K, 3M) rows, block order ξ | τ | φ."""
        c = self.coeffs
        if c.dim() == 1:
            c = c.unsqueeze(0)
        return c.reshape(c.shape[0], -1)

    def __call__(self, x: torch.Tensor, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """(ξ, τ, φ) values, shape x.shape + (K, 3)."""
        F = self.dictionary(x, t, u)  # (..., M)
        M = F.shape[-1]
        c = self.matrix().reshape(-1, 3, M).to(F.dtype)
        return torch.einsum("...m,ksm->...ks", F, c)

    def total_derivatives(self, jets: Jets, orders: Sequence[tuple[int, int]]) -> dict[tuple[int, int], torch.Tensor]:
        r""":math:`D_x^a D_t^b (\xi, \tau, \varphi)` for (a, b) in ``orders``, each (N, K, 3)."""
        M = len(self.dictionary)
        c = self.matrix().reshape(-1, 3, M)
        return {o: torch.einsum("nm,ksm->nks", d, c.to(d.dtype))
                for o, d in self.dictionary.total_derivatives(jets, orders).items()}

    @classmethod
    def from_vector_fields(cls, fields: Sequence[VectorField]) -> "DictionaryFields | None":
        """Polynomial VectorFields as coefficients over monomials (None if one is not polynomial)."""
        from pdesym.symbolic.vectorfield import VectorField as _VF

        fields = [fields] if isinstance(fields, _VF) else list(fields)
        degree = 0
        for f in fields:
            for c in f.components:
                if c.free_symbols - {X, T, U} or not c.is_polynomial(X, T, U):
                    return None
                if c != 0:
                    degree = max(degree, int(sp.Poly(c, X, T, U).total_degree()))
        if degree > MAX_DEGREE:
            return None
        d = FunctionDictionary(degree)
        return cls(d, torch.stack([d.coefficients(f) for f in fields]))

    def x_derivatives(self, jets: Jets, n: int) -> list[torch.Tensor]:
        r""":math:`[D_x^j (\xi, \tau, \varphi)]_{j=0..n}`, each (N, K, 3), from the dictionary's Taylor series."""
        M = len(self.dictionary)
        c = self.matrix().reshape(-1, 3, M)
        return [torch.einsum("nm,ksm->nks", d, c.to(d.dtype)) for d in self.dictionary.x_derivatives(jets, n)]

    def vector_fields(self) -> list[VectorField]:
        """The fields as sympy VectorFields (float coefficients)."""
        return [self.dictionary.field(row) for row in self.matrix().detach().cpu()]
