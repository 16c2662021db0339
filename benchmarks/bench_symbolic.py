"""Speed of the symbolic engine: time per equation and method, against a plain-sympy baseline.

Run: ``PYTHONPATH=. python benchmarks/bench_symbolic.py [--repeat 3] [--no-baseline]``

For every equation: the time of ``find_symmetries`` with the direct and the ansatz method
(sympy's cache cleared before each run, best of ``--repeat``), the split into determining
equations / solving, the dimension found, and for the polynomial presets a *baseline* in the
same process: the textbook plain-sympy route (prolongation with ``Function`` objects,
coefficients collected with ``Poly``, the ansatz substituted with ``subs``/``doit`` and solved
with ``Matrix.nullspace``), printed as a ratio. Reference points from the literature (not run
here): the Python package delierium 0.6–0.8 s for KdV/Burgers/KS; Maple PDEtools well under 1 s.
"""

from __future__ import annotations

import argparse
import os
import time

import sympy as sp
from sympy.core.cache import clear_cache

from pdesym.equations import T, U, X, derivative_orders, get_equation, jet_symbols_of
from pdesym.symbolic import (
    VectorField,
    canonical_basis,
    determining_equations,
    find_symmetries,
    monomials,
    parse_basis,
    prolong,
    solve_ansatz,
    solve_direct,
)
from pdesym.symbolic.solved_form import SolvedForm

CASES = [  # (label, equation, ansatz degree, ansatz basis)
    ("kdv", "kdv", 3, ""),
    ("ks", "ks", 3, ""),
    ("burgers", "burgers", 3, ""),
    ("heat", "heat", 3, ""),
    ("nkdv", "nkdv", 1, "exp(t/50), exp(-t/50)"),
    ("ckdv", "ckdv", 1, "sqrt(t+1), 1/sqrt(t+1)"),
    ("mkdv", "u_t + u**2*u_x + u_xxx = 0", 3, ""),
    ("pot. Burgers", "u_t = u_xx + u_x**2", 3, ""),
    ("heat, ν symbolic", "u_t = nu*u_xx", 3, ""),
    ("wave, c symbolic", "u_tt = c**2*u_xx", 2, ""),
    ("sine-Gordon", "u_xt = sin(u)", 2, ""),
    ("u_t = x u_xx", "u_t = x*u_xx", 3, ""),
]
BASELINE = {"kdv", "ks", "burgers", "heat"}


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        clear_cache()
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def naive_sympy(equation: str, degree: int) -> int:
    """The plain-sympy route, for comparison: returns the dimension it finds."""
    eq = get_equation(equation)
    form = SolvedForm.of(eq)
    xi, tau, phi = (sp.Function(n)(X, T, U) for n in ("xi", "tau", "phi"))
    field = VectorField(xi, tau, phi)
    delta = form.delta
    jets = jet_symbols_of(delta)
    coeffs = prolong(field, max(sum(derivative_orders(s)) for s in jets))
    total = xi * sp.diff(delta, X) + tau * sp.diff(delta, T) + sum(coeffs[s] * sp.diff(delta, s) for s in jets)
    total = sp.expand(form.on_shell(total))
    free = sorted(jet_symbols_of(total) - {U}, key=str)
    eqs = sp.Poly(total, *free).coeffs()
    monos = [X**i * T**j * U**k for i, j, k in monomials(degree)]
    a = sp.symbols(f"a0:{3 * len(monos)}")
    ans = {f: sum(c * m for c, m in zip(a[i * len(monos):(i + 1) * len(monos)], monos))
           for i, f in enumerate((xi, tau, phi))}
    rows = []
    for e in eqs:
        val = sp.expand(e.subs(ans).doit())
        if val != 0:
            rows += sp.Poly(val, X, T, U).coeffs()
    M = sp.Matrix([[sp.diff(r, s) for s in a] for r in rows])
    null = M.nullspace()
    fields = [VectorField(*(sum(v[i * len(monos) + j] * monos[j] for j in range(len(monos))) for i in range(3)))
              for v in null]
    return len(canonical_basis(fields))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    find_symmetries("heat")  # import and first-use costs out of the timings
    print(f"pdesym symbolic engine, {os.cpu_count()} CPUs visible; sympy {sp.__version__}; "
          f"best of {args.repeat} with sympy's cache cleared before each run")
    head = (f"{'equation':18s} {'dim':>5s} {'determ.':>8s} {'direct':>8s} {'ansatz':>8s} "
            f"{'total dir.':>10s} {'total ans.':>10s} {'plain sympy':>11s} {'ratio':>6s}")
    print(head)
    print("-" * len(head))
    for label, text, degree, basis in CASES:
        funcs = parse_basis(basis)
        t_det, system = _best(lambda: determining_equations(text), args.repeat)
        t_dir, _ = _best(lambda: solve_direct(system), args.repeat)
        t_ans, raw = _best(lambda: solve_ansatz(system, degree=degree, basis=funcs), args.repeat)
        t_tot_d, res_d = _best(lambda: find_symmetries(text), args.repeat)
        t_tot_a, _ = _best(lambda: find_symmetries(text, method="ansatz", degree=degree, basis=basis or None),
                               args.repeat)
        dim = f"{res_d.dimension}" + ("+∞" if res_d.families else "")
        base, ratio = "", ""
        if label in BASELINE and not args.no_baseline:
            clear_cache()
            start = time.perf_counter()
            n = naive_sympy(text, degree)
            t_base = time.perf_counter() - start
            assert n == len(canonical_basis(raw.fields)), (label, n)  # same null space (before quotients)
            base, ratio = f"{t_base:9.2f} s", f"{t_base / t_tot_a:5.1f}×"
        print(f"{label:18s} {dim:>5s} {t_det:7.3f}s {t_dir:7.3f}s {t_ans:7.3f}s {t_tot_d:9.3f}s "
              f"{t_tot_a:9.3f}s {base:>11s} {ratio:>6s}")
    print("total = determining equations + solve + canonical basis + exact check of every generator "
          "+ commutators; ratio = plain sympy / pdesym ansatz (same degree, same answer)")


if __name__ == "__main__":
    main()
