r"""``find_symmetries``: the exact Lie point symmetry algebra of an equation, end to end.

equation → determining equations → solved directly (differential elimination) or in a finite
basis (ansatz) → canonical basis → each generator verified by exact re-substitution → names,
infinite families, commutator table → :class:`~pdesym.symbolic.result.SymmetryResult`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Sequence

import sympy as sp

from pdesym.equations import T, U, X, Equation, derivative_orders, jet_symbols_of
from pdesym.errors import PdesymError, check_choice
from pdesym.symbolic.algebra import canonical_basis, structure_constants
from pdesym.symbolic.ansatz import MAX_DEGREE, parse_basis, solve_ansatz
from pdesym.symbolic.determining import as_equation, determining_equations
from pdesym.symbolic.direct import solve_direct, verify_family
from pdesym.symbolic.naming import generator_name
from pdesym.symbolic.prolongation import verify
from pdesym.symbolic.result import Family, Generator, SymmetryResult
from pdesym.symbolic.solved_form import SolvedForm
from pdesym.symbolic.vectorfield import VectorField

__all__ = ["METHODS", "find_symmetries", "superposition_family"]

#: Ways of solving the determining equations.
METHODS = {
    "direct": "differential elimination and integration (complete; non-polynomial and infinite parts)",
    "ansatz": "ξ, τ, φ in a basis of monomials up to a degree times user functions (exact null space)",
}


def superposition_family(equation: Equation) -> Family | None:
    r"""β(x, t)∂u with β any solution of the homogeneous part, when the equation is linear in u
    and its derivatives: :math:`\Delta[u + \varepsilon\beta] = \Delta[u] + \varepsilon L[\beta]`
    for :math:`\Delta = L[u] - f(x, t)`."""
    form = SolvedForm.of(equation)
    delta = form.delta
    jets = sorted(jet_symbols_of(delta) | {U}, key=lambda s: s.name)
    if not delta.is_polynomial(*jets) or sp.Poly(delta, *jets).total_degree() != 1:
        return None
    beta = sp.Function("beta")(X, T)
    cond = sp.Integer(0)
    for s in jets:
        nx, nt = derivative_orders(s)
        counts = [(X, nx)] * bool(nx) + [(T, nt)] * bool(nt)
        cond += sp.diff(delta, s) * (sp.Derivative(beta, *counts) if counts else beta)
    return Family(VectorField(0, 0, beta), (beta,), (sp.expand(cond),))


def _modulo_superposition(equation: Equation, fields: Sequence[VectorField]) -> list[VectorField]:
    """Drop the u-free part of φ (a member of the superposition family) where that leaves a symmetry."""
    out = []
    for f in fields:
        phi0 = sp.expand(f.phi.xreplace({U: 0}))
        if phi0 == 0:
            out.append(f)
            continue
        g = VectorField(f.xi, f.tau, sp.expand(f.phi - phi0))
        if all(c == 0 for c in g.components):
            continue
        out.append(g if verify(equation, g) else f)
    return out


def find_symmetries(equation: Equation | str, *, method: str = "direct", degree: int = 3,
                    basis: str | Sequence[str | sp.Expr] | None = None, verify_generators: bool = True) -> SymmetryResult:
    r"""The Lie point symmetries of a scalar PDE in (x, t), exactly.

    Args:
        equation: an :class:`Equation`, a preset name (``"kdv"``) or equation text.
        method: ``"direct"`` (differential elimination; complete, finds non-polynomial
            generators and infinite families) or ``"ansatz"`` (ξ, τ, φ in the span of monomials
            of degree ≤ ``degree`` times 1 and the ``basis`` functions; exact null space).
            When the direct method cannot close the system it says so in ``notes`` and falls
            back to the ansatz.
        degree: monomial degree of the ansatz (1 to 8).
        basis: extra ansatz functions, text ``"exp(t/50), sqrt(t+1)"`` or a list.
        verify_generators: re-substitute every generator into the equation (exact).

    Free parameters of the equation are generic nonzero constants; given values are exact.
    """
    start = time.perf_counter()
    check_choice("method", method, METHODS)
    if isinstance(degree, bool) or not isinstance(degree, int) or not 1 <= degree <= MAX_DEGREE:
        raise PdesymError(f"The ansatz degree must be an integer from 1 to {MAX_DEGREE}, got {degree!r}.")
    funcs = parse_basis(basis)
    eq = as_equation(equation)
    system = determining_equations(eq)
    notes: list[str] = []
    families: list[Family] = []
    solver = method
    complete = False
    fields: list[VectorField]
    if method == "direct":
        sol = solve_direct(system)
        if sol.closed and verify_generators:
            failed = [fm for fm in sol.families if not verify_family(eq, fm)]
            if failed:
                sol = replace(sol, closed=False, message=f"the family {failed[0].text()} does not pass the exact check")
        if sol.closed:
            fields, families, complete = list(sol.fields), list(sol.families), True
        else:
            solver = "ansatz"
            notes.append(f"The direct method could not close the determining system ({sol.message}); the "
                         f"generators below come from the ansatz of degree {degree}"
                         + (f" with {', '.join(map(str, funcs))}" if funcs else "")
                         + " and may not be the whole algebra.")
    if solver == "ansatz":
        sol_a = solve_ansatz(system, degree=degree, basis=funcs)
        fields = list(sol_a.fields)
        family = superposition_family(eq)
        if family is not None:
            fields = _modulo_superposition(eq, fields)
            families = [family]
        notes.append(f"Ansatz: all symmetries with ξ, τ, φ in the span of monomials in x, t, u of degree ≤ {degree}"
                     + (f" times 1, {', '.join(map(str, funcs))}" if funcs else "")
                     + f" ({sol_a.unknowns} unknowns, {sol_a.rows} equations over {sol_a.domain}); "
                     "symmetries outside this space are not found.")
    basis_fields = canonical_basis(fields, modulo_superposition=solver == "ansatz" and bool(families))
    generators = []
    for f in basis_fields:
        ok = verify(eq, f) if verify_generators else None
        generators.append(Generator(f, generator_name(f), ok, "exact"))
    if verify_generators:
        families = [Family(fm.field, fm.functions, fm.conditions, fm.verified if fm.verified is not None
                           else verify_family(eq, fm)) for fm in families]
    structure = structure_constants(basis_fields)
    for i, j in structure.outside:
        b = basis_fields[i].bracket(basis_fields[j])
        where = ("lies in an infinite-dimensional family" if families and verify(eq, b)
                 else "is a symmetry outside the ansatz space; raise --degree or add basis functions"
                 if solver == "ansatz" and verify(eq, b) else "is not in the span")
        notes.append(f"[X{i + 1}, X{j + 1}] = {b.text()} {where}.")
    bad = [g for g in generators if g.verified is False]
    if bad:
        notes.append(f"{len(bad)} generator(s) failed the exact check; please report this equation.")
    return SymmetryResult(
        equation=eq,
        generators=tuple(generators),
        families=tuple(families),
        structure=structure,
        method=method,
        solver=solver,
        degree=degree if solver == "ansatz" else None,
        basis=tuple(str(f) for f in funcs) if solver == "ansatz" else (),
        complete=complete,
        seconds=time.perf_counter() - start,
        notes=tuple(notes),
    )


