r"""Benchmark settings of the named equations (DESIGN.md §3), each with its source.

Domains, grids and horizons follow Brandstetter, Welling & Worrall, "Lie Point Symmetry Data
Augmentation for Neural PDE Solvers" (ICML 2022, LPSDA; KdV, KS, Burgers) and Ko, Kim & Lee,
"Learning Infinitesimal Generators of Continuous Symmetries from Data" (NeurIPS 2024; nkdv and
ckdv on the KdV domain). Time steps are pdesym's own, chosen by a measured accuracy study (see
each preset's ``dt_note``); the step never changes the stored times, only how they are reached.

Initial conditions are LPSDA's random sine sums: KdV/KS use its 10 modes with wavenumbers 1-2
(``equations/PDEs.py``: ``N = 10``, ``lmin, lmax = 1, 3`` exclusive), Burgers/heat its 20 modes
with wavenumbers 1-6 (its Heat class); the KdV amplitude is reduced so that the data are resolved
on 256 points (see below). Stored times: LPSDA keeps the last 140 of 250 snapshots over [0, T];
pdesym spaces ``nt_out`` snapshots over [warmup, warmup + t_end] and discards only the warm-up.
Not done here: LPSDA's optional +-10 % random domain length and duration per trajectory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    modes: int = 10
    amplitude: float = 0.5
    max_wavenumber: int = 2
    source: str = _LPSDA
    dt_note: str = ""

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


# KdV dt study (python benchmarks/bench_generate.py --study; 64 trajectories, T = 100, 140 stored
# snapshots, max relative error vs dt = 0.0125, 1 thread): ETDRK4 treats u_xxx exactly, so the
# step is limited by the non-linear term. Step used (dt rounded down to fit the snapshot gap
# 0.7194) -> error: 0.02 -> 1.7e-9, 0.04 -> 3.6e-8, 0.048 -> 7.9e-8, 0.06 -> 2.1e-7,
# 0.0799 -> 7.2e-7, 0.0899 -> 1.2e-6, 0.1199 -> 4.8e-6, 0.1439 -> 1.0e-5. dt = 0.08 is the
# largest step within 1e-6.
_KDV_DT = 0.08
_KDV_NOTE = "largest of dt in {0.02..0.15} with max relative error <= 1e-6 vs dt = 0.0125 (64 trajectories)"
# LPSDA draws |A_j| <= 0.5 (10 modes, wavenumbers 1-2); its tallest solitons are not resolved on
# 256 points (nx vs 2nx differ by ~3e-4 at the stored points). 0.15 keeps the same family with
# solitons up to |u| ~ 1.2 and nx = 256 vs 512 within 4.0e-7 at the stored points (64
# trajectories, T = 100; the spectrum in the top third of the kept modes is <= 7e-5 of its peak).
_KDV_AMPLITUDE = 0.15

SOLVER_PRESETS: dict[str, SolverPreset] = {
    "kdv": SolverPreset("kdv", Equation.from_preset("kdv"), 128.0, 256, 100.0, _KDV_DT, amplitude=_KDV_AMPLITUDE,
                        dt_note=_KDV_NOTE),
    "ks": SolverPreset("ks", Equation.from_preset("ks"), 64.0, 256, 100.0, 0.03, warmup=50.0,
                       dt_note=("largest of dt in {0.1, 0.05, 0.04, 0.03} with max relative error <= 1e-6 vs "
                                "dt = 0.004 over 5 time units after warm-up (16 trajectories); later the "
                                "chaos (Lyapunov ~0.15) amplifies any solver's error alike")),
    "burgers": SolverPreset("burgers", Equation.from_preset("burgers"), 2 * math.pi, 256, 18.0, 0.01,
                            modes=20, max_wavenumber=6, dt_note="exact in time (Cole-Hopf); dt unused"),
    "heat": SolverPreset("heat", Equation.from_preset("heat"), 2 * math.pi, 256, 18.0, 0.1, modes=20,
                         max_wavenumber=6, dt_note="exact in time (linear); dt unused",
                         source=_LPSDA + "; heat on the Burgers domain"),
    "nkdv": SolverPreset("nkdv", Equation.from_preset("nkdv"), 128.0, 256, 100.0, _KDV_DT, amplitude=_KDV_AMPLITUDE,
                         source=_KO, dt_note="dt is the step in s = 50(exp(t/50) - 1), where the equation is KdV"),
    "ckdv": SolverPreset("ckdv", Equation.from_preset("ckdv"), 128.0, 256, 100.0, _KDV_DT, amplitude=_KDV_AMPLITUDE,
                         source=_KO, dt_note=_KDV_NOTE),
}

#: Domain settings for an equation typed as text (those of kdv unless given).
TEXT_DEFAULTS = SOLVER_PRESETS["kdv"]


def get_solver_preset(name: str) -> SolverPreset:
    """The preset called ``name`` (kdv, ks, burgers, heat, nkdv, ckdv)."""
    check_choice("solver preset", name, SOLVER_PRESETS)
    return SOLVER_PRESETS[name]
