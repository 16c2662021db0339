r"""Benchmark settings of the named equations (DESIGN.md §3), each with its source.

Domains, grids and horizons follow Brandstetter, Welling & Worrall, "Lie Point Symmetry Data
Augmentation for Neural PDE Solvers" (ICML 2022, LPSDA; KdV, KS, Burgers) and Ko, Kim & Lee,
"Learning Infinitesimal Generators of Continuous Symmetries from Data" (NeurIPS 2024; nkdv and
ckdv on the KdV domain). Time steps are pdesym's own, chosen by a measured accuracy study (see
each preset's ``dt_note``); the step never changes the stored times, only how they are reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pdesym.equations import Equation
from pdesym.errors import check_choice

__all__ = ["SolverPreset", "SOLVER_PRESETS", "get_solver_preset", "TEXT_DEFAULTS"]

_LPSDA = "Brandstetter, Welling & Worrall, ICML 2022 (LPSDA), data generation appendix"
_KO = "Ko, Kim & Lee, NeurIPS 2024, time-dependent KdV variants on the KdV domain of LPSDA"


@dataclass(frozen=True)
class SolverPreset:
    """Everything that fixes a generated data set of one equation, except the seed.

    Attributes:
        name: preset name; equation: the PDE; length: period L; nx: stored grid points;
        t_end: stored time span (after ``warmup``); dt: largest solver step; nt_out: stored
        snapshots (equally spaced over [warmup, warmup + t_end]); warmup: discarded initial
        time; method: ``auto`` or a method of :data:`pdesym.solvers.METHODS`;
        modes, amplitude, max_wavenumber: the random initial conditions
        (:func:`pdesym.solvers.random_initial_conditions`); source: where the settings come
        from; dt_note: how dt was chosen.
    """

    name: str
    equation: Equation
    length: float
    nx: int
    t_end: float
    dt: float
    nt_out: int = 140
    warmup: float = 0.0
    method: str = "auto"
    modes: int = 5
    amplitude: float = 0.5
    max_wavenumber: int = 3
    source: str = _LPSDA
    dt_note: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-able settings (the equation as its text/name/params record)."""
        return {
            "name": self.name,
            "equation": self.equation.to_dict(),
            "length": self.length,
            "nx": self.nx,
            "t_end": self.t_end,
            "dt": self.dt,
            "nt_out": self.nt_out,
            "warmup": self.warmup,
            "method": self.method,
            "modes": self.modes,
            "amplitude": self.amplitude,
            "max_wavenumber": self.max_wavenumber,
            "source": self.source,
            "dt_note": self.dt_note,
        }


# dt study (benchmarks/bench_generate.py --study): ETDRK4 treats u_xxx exactly, so the step is
# limited by the non-linear term; the value below is the largest tried step whose 140 stored
# snapshots stay within 1e-6 (relative, worst trajectory) of a dt/8 solution.
_KDV_DT = 0.05
_KDV_NOTE = "largest of dt in {0.02..0.1} with max relative error <= 1e-6 vs dt/8 over 64 trajectories"

SOLVER_PRESETS: dict[str, SolverPreset] = {
    "kdv": SolverPreset("kdv", Equation.from_preset("kdv"), 128.0, 256, 100.0, _KDV_DT, dt_note=_KDV_NOTE),
    "ks": SolverPreset("ks", Equation.from_preset("ks"), 64.0, 256, 100.0, 0.1, warmup=50.0,
                       dt_note="KS dt study: dt and dt/2 differ by <= 1e-6 relative up to t = 60"),
    "burgers": SolverPreset("burgers", Equation.from_preset("burgers"), 2 * math.pi, 256, 18.0, 0.01,
                            method="auto", dt_note="exact in time (Cole-Hopf); dt unused"),
    "heat": SolverPreset("heat", Equation.from_preset("heat"), 2 * math.pi, 256, 18.0, 0.1,
                         dt_note="exact in time (linear); dt unused", source=_LPSDA + "; heat on the Burgers domain"),
    "nkdv": SolverPreset("nkdv", Equation.from_preset("nkdv"), 128.0, 256, 100.0, _KDV_DT, source=_KO,
                         dt_note="dt is the step in s = 50(exp(t/50) - 1), where the equation is KdV"),
    "ckdv": SolverPreset("ckdv", Equation.from_preset("ckdv"), 128.0, 256, 100.0, _KDV_DT, source=_KO,
                         dt_note=_KDV_NOTE),
}

#: Domain settings for an equation typed as text (those of kdv unless given).
TEXT_DEFAULTS = SOLVER_PRESETS["kdv"]


def get_solver_preset(name: str) -> SolverPreset:
    """The preset called ``name`` (kdv, ks, burgers, heat, nkdv, ckdv)."""
    check_choice("solver preset", name, SOLVER_PRESETS)
    return SOLVER_PRESETS[name]
