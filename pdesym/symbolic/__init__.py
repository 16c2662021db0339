"""The exact side of pdesym: prolongation, determining equations, their solution, Lie algebras.

Typical use::

    from pdesym.symbolic import find_symmetries
    result = find_symmetries("kdv")            # SymmetryResult
    [str(g.field) for g in result.generators]  # ['∂x', '∂t', 't∂x + ∂u', 'x∂x + 3t∂t − 2u∂u']
"""

from pdesym.symbolic.algebra import (
    StructureConstants,
    canonical_basis,
    coordinates,
    grassmann_distance,
    principal_cosines,
    sample_fields,
    structure_constants,
)
from pdesym.symbolic.ansatz import AnsatzSolution, monomials, parse_basis, solve_ansatz
from pdesym.symbolic.determining import DeterminingSystem, determining_equations
from pdesym.symbolic.direct import DirectSolution, solve_direct, verify_family
from pdesym.symbolic.naming import generator_name
from pdesym.symbolic.prolongation import characteristic, prolong, symmetry_residual, verify
from pdesym.symbolic.result import FORMAT, SOURCES, Family, Generator, SymmetryResult
from pdesym.symbolic.solved_form import SolvedForm, total_derivative
from pdesym.symbolic.symmetries import METHODS, find_symmetries, superposition_family
from pdesym.symbolic.vectorfield import VectorField, read_expression

__all__ = [
    "AnsatzSolution",
    "DeterminingSystem",
    "DirectSolution",
    "FORMAT",
    "Family",
    "Generator",
    "METHODS",
    "SOURCES",
    "SolvedForm",
    "StructureConstants",
    "SymmetryResult",
    "VectorField",
    "canonical_basis",
    "characteristic",
    "coordinates",
    "determining_equations",
    "find_symmetries",
    "generator_name",
    "grassmann_distance",
    "monomials",
    "parse_basis",
    "principal_cosines",
    "prolong",
    "read_expression",
    "sample_fields",
    "solve_ansatz",
    "solve_direct",
    "structure_constants",
    "superposition_family",
    "symmetry_residual",
    "total_derivative",
    "verify",
    "verify_family",
]
