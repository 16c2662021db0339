r"""The fast discovery path: the symmetry algebra as the null space of a linear validity system.

For a dictionary :math:`f_1..f_M` (:class:`FunctionDictionary`) every candidate field is
:math:`V = \sum_c a_c E_c` over the 3M elementary fields :math:`E_c`, and both the characteristic
residual R and the normalisation N (:mod:`pdesym.validity`) are linear in a. On N jet points
this gives matrices A (N × 3M) and B (S·N × 3M); the validity of a is
:math:`\|Aa\|^2 / \|Ba\|^2`. With columns scaled to unit :math:`\|B_c\|`, a QR of B whitens the
problem and the SVD of :math:`A R_B^{-1}` gives the generalised singular values
:math:`\sigma_i` (:math:`\sigma_i^2` = validity of direction i). The rank is placed at the
largest gap of the ascending σ (:func:`pdesym.discovery.rank.rank_by_gap`) and the null directions
are turned into exact closed forms by :func:`pdesym.symbolic.fit.fit_span`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Sequence

import torch

from pdesym.discovery.dictionary import DictionaryFields, FunctionDictionary
from pdesym.discovery.rank import RankChoice, rank_by_gap
from pdesym.equations import Equation, get_equation
from pdesym.errors import PdesymError
from pdesym.jets import Jets, compute_jets
from pdesym.prolongation import characteristic_residual
from pdesym.symbolic.fit import FitResult, fit_span
from pdesym.symbolic.vectorfield import VectorField
from pdesym.validity import NORMALISATIONS, normaliser_terms

__all__ = ["NullspaceResult", "linear_system", "generalised_svd", "nullspace_symmetries"]


@dataclass
class NullspaceResult:
    r"""What the null-space path found.

    Attributes:
        fields: closed-form generators (verified, canonical) followed by approximate ones.
        verified: per field, True when exactly verified.
        singular_values: generalised singular values σ (ascending); σ² is a direction's validity.
        rank: null-space dimension chosen at the largest gap; gap: σ_rank / σ_rank-1. For a
            linear equation it counts members of the superposition family β(x, t)∂u too, which
            ``fields`` leaves out (as :func:`pdesym.symbolic.find_symmetries` does; see ``notes``).
        coefficients: numeric basis of the null space, (rank, 3M) over ``dictionary``.
        dictionary: the function dictionary; jets: the jet points used.
        fit: the :class:`~pdesym.symbolic.fit.FitResult` (None when ``fit=False``).
        seconds: wall time; normalisation: the validity normalisation.
    """

    fields: list[VectorField]
    verified: list[bool]
    singular_values: torch.Tensor
    rank: int
    gap: float
    coefficients: torch.Tensor
    dictionary: FunctionDictionary
    jets: Jets
    rank_choice: RankChoice
    fit: FitResult | None = None
    seconds: float = 0.0
    normalisation: str = "V"
    notes: list[str] = field(default_factory=list)

    @property
    def numeric_fields(self) -> DictionaryFields:
        """The numeric null-space basis as dictionary fields (callable, differentiable)."""
        return DictionaryFields(self.dictionary, self.coefficients)

    @property
    def validities(self) -> torch.Tensor:
        """σ² (ascending): the validity of each generalised singular direction."""
        return self.singular_values ** 2


def linear_system(dictionary: FunctionDictionary, jets: Jets, equation: Equation,
                  normalisation: str = "V") -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B): residual columns (N, 3M) and normalisation rows (S·N, 3M) of the elementary fields."""
    parts = characteristic_residual(dictionary, jets, equation, parts=True)
    terms = normaliser_terms(parts, jets, normalisation)
    return parts.R, terms.reshape(-1, terms.shape[-1])


def generalised_svd(A: torch.Tensor, B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""σ (ascending), directions a (columns, original scaling) and column scales of min ‖Aa‖/‖Ba‖.

    Columns are scaled to unit ‖B_c‖, B = QR, and :math:`A R^{-1} = U \Sigma V^\top`; the
    directions are :math:`a_i = D^{-1} R^{-1} v_i` normalised to ‖B a_i‖ = 1.
    """
    scale = B.norm(dim=0)
    if (scale <= 0).any():
        raise PdesymError("A dictionary function vanishes on all sampled points; use other points or a smaller basis.")
    As, Bs = A / scale, B / scale
    R = torch.linalg.qr(Bs, mode="r").R
    W = torch.linalg.solve_triangular(R, As, upper=True, left=False)  # As R^-1
    _, s, Vh = torch.linalg.svd(W, full_matrices=False)
    dirs = torch.linalg.solve_triangular(R, Vh.T, upper=True)  # R^-1 v
    order = torch.argsort(s)
    return s[order], dirs[:, order] / scale.unsqueeze(1), scale


def nullspace_symmetries(u: Any, x: Any, t: Any, equation: Equation | str, degree: int = 2,
                         basis: str | Sequence[str] | None = None, *, jets: Jets | None = None,
                         method: str = "spectral", time: str = "onshell", n_points: int = 3000, seed: int = 0,
                         normalisation: str = "V", rank: int | None = None, max_rank: int | None = None,
                         fit: bool = True, **jet_options: Any) -> NullspaceResult:
    r"""Lie point symmetries of ``equation`` from samples u(x, t) by the null space of the validity system.

    Args:
        u, x, t: samples (n_traj, nt, nx), (nx,) or (n_traj, nx), (nt,) or (n_traj, nt).
        equation: the evolution equation (preset, text or Equation).
        degree, basis: the dictionary (monomials in x, t, u up to ``degree`` times 1 and the
            ``basis`` functions, e.g. ``"exp(t/50), sqrt(t+1)"``).
        jets: precomputed jets (then u, x, t may be None); else computed with ``method`` /
            ``time`` / ``jet_options`` (see :func:`pdesym.jets.compute_jets`) and ``n_points``
            of them sampled with ``seed``.
        normalisation: see :data:`pdesym.validity.NORMALISATIONS`.
        rank: force the dimension (default: the largest gap, among the first ``max_rank``).
        fit: turn the null space into verified closed forms (:func:`fit_span`).

    The linear algebra runs in float64 on the data's device whatever the samples' dtype.
    """
    start = perf_counter()
    eq = get_equation(equation) if isinstance(equation, str) else equation
    if normalisation not in NORMALISATIONS:
        normaliser_terms(None, None, normalisation)  # raises the standard message
    dictionary = FunctionDictionary(degree, basis)
    notes: list[str] = []
    if jets is None:
        if u is None:
            raise PdesymError("Give the samples u, x, t or precomputed jets.")
        # float64 whatever the storage dtype: an exact generator's residual vanishes identically
        # in the jet values, so float32 data still gives a rounding-level null space in float64
        u, x, t = (torch.as_tensor(a).to(torch.float64) for a in (u, x, t))
        with torch.no_grad():
            jets = compute_jets(u, x, t, eq, method=method, time=time, **jet_options).sample(n_points, seed)
    else:
        jets = jets.flatten() if len(jets.shape) != 1 or jets.mask is not None else jets
        jets = jets.to(dtype=torch.float64)
    full = len(dictionary)
    dictionary = dictionary.independent(jets.x, jets.t, jets[(0, 0)])
    if len(dictionary) < full:
        notes.append(f"{full - len(dictionary)} dictionary function(s) are combinations of the others on the data "
                     "and were left out.")
    C = 3 * len(dictionary)
    if jets.shape[0] < C:
        raise PdesymError(f"{jets.shape[0]} jet points are too few for {C} unknowns; sample more points.")
    with torch.no_grad():
        A, B = linear_system(dictionary, jets, eq, normalisation)
        s, dirs, scale = generalised_svd(A, B)
    choice = rank_by_gap(s, max_rank=max_rank)
    r = choice.rank if rank is None else int(rank)
    if not 1 <= r <= C:
        raise PdesymError(f"The rank must be between 1 and {C}, got {rank}.")
    coeffs = dirs[:, :r].T.contiguous()
    fitted = None
    if fit:
        Bcols = scale  # column sizes on the data: pivot choice in data-scaled coordinates

        def validity(rows: torch.Tensor) -> torch.Tensor:
            rows = rows.to(A.dtype)
            return (A @ rows.T).pow(2).sum(0) / (B @ rows.T).pow(2).sum(0).clamp_min(torch.finfo(A.dtype).tiny)

        fitted = fit_span(coeffs, dictionary, eq, scales=Bcols, validity=validity)
        fields, verified = fitted.fields, fitted.verified
        notes.extend(fitted.notes)
        if fitted.approximate:
            notes.append(f"{len(fitted.approximate)} of {r} null directions did not round to an exact symmetry; "
                         "they are reported as approximate fields with their validity.")
    else:
        fields = DictionaryFields(dictionary, coeffs).vector_fields()
        verified = [False] * len(fields)
    return NullspaceResult(fields, verified, s, r, choice.gap, coeffs, dictionary, jets, choice, fitted,
                           perf_counter() - start, normalisation, notes)
