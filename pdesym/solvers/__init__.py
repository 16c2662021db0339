"""Batched spectral solvers for periodic 1-D evolution equations, and data generation.

``solve`` picks ETDRK4 (stiff linear part exact), the exact Cole–Hopf map (viscous Burgers) or
adaptive dopri5 (anything else); ``generate_batch`` makes reproducible LPSDA-style data sets.
"""

from pdesym.solvers.generate import GeneratedBatch, generate_batch, resolve_preset, suggest_batch_size
from pdesym.solvers.initial import random_initial_conditions, trajectory_seeds
from pdesym.solvers.methods import METHODS, BlowUpError, Solution, choose_method, solve
from pdesym.solvers.presets import SOLVER_PRESETS, SolverPreset, get_solver_preset
from pdesym.solvers.spectral import SpectralGrid

__all__ = [
    "SolverPreset",
    "SOLVER_PRESETS",
    "get_solver_preset",
    "random_initial_conditions",
    "trajectory_seeds",
    "solve",
    "Solution",
    "BlowUpError",
    "METHODS",
    "choose_method",
    "generate_batch",
    "GeneratedBatch",
    "resolve_preset",
    "suggest_batch_size",
    "SpectralGrid",
]
