r"""Solving the determining equations directly, by differential elimination and integration.

The linear system for ξ, τ, φ is simplified in the way of the classical Lie-symmetry programs
(Schwarz's SPDE, Wolf's CRACK used by REDUCE LIEPDE, Hereman's review of such programs), with
no guessed basis:

1. **split**: an equation whose unknown functions do not depend on a variable v but whose
   coefficients do, holds for each linearly independent function of v separately (powers of u
   once φ is known to be linear in u, powers of x, ``exp(t/50)`` …);
2. **single-term equations** :math:`\partial^\alpha F = 0` are integrated: F is a polynomial in
   the differentiated variables with new functions of the others as coefficients;
3. **algebraic equations** :math:`cF + R = 0` (F undifferentiated, R free of F) eliminate F;
4. **integrable equations** :math:`c\,\partial_v^n F + R = 0` with R independent of v are
   integrated n times in v;
5. **ordinary differential equations** in one function and one variable are solved (constant
   coefficients, Euler equations, first order, else sympy's ``dsolve`` with a check);
6. when none applies: **completion** to a standard form (Reid 1991): autoreduction with respect
   to an orderly ranking and the integrability conditions of pairs of leading derivatives.

Every step removes a function or replaces it by functions of fewer variables, so the loop ends.
What remains are free constants (the finite-dimensional algebra), and components of equations
on functions of several variables that are infinite-dimensional (a standard-form system whose
leading derivatives leave infinitely many parametric derivatives: heat's β(x, t)∂u with
:math:`\beta_t = \nu\beta_{xx}`). If a finite-dimensional component cannot be integrated in
closed form, the result says so (``closed = False``) instead of returning a partial algebra.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

import sympy as sp

from pdesym.symbolic.algebra import function_terms, normalize_terms
from pdesym.symbolic.determining import DeterminingSystem, normalize_equation
from pdesym.symbolic.linear import (
    VARIABLES,
    LinExpr,
    add_into,
    derivative,
    substitute,
    tidy_coefficient,
    to_sympy,
)
from pdesym.symbolic.result import Family
from pdesym.symbolic.vectorfield import VectorField

if TYPE_CHECKING:
    from pdesym.equations import Equation

__all__ = ["DirectSolution", "solve_direct", "FAMILY_NAMES"]

#: Names given to the arbitrary functions of infinite-dimensional families, in order.
FAMILY_NAMES = ("beta", "gamma", "kappa", "sigma", "rho", "omega", "chi", "psi")
_MAX_STEPS = 400
_MAX_COMPLETIONS = 40


@dataclass(frozen=True)
class DirectSolution:
    """Outcome of the direct method.

    ``closed`` is False when part of the system could not be integrated; then ``message`` says
    which part, and ``fields`` / ``families`` must not be taken as the whole algebra.
    """

    fields: tuple[VectorField, ...]
    families: tuple[Family, ...]
    closed: bool
    message: str
    steps: int
    seconds: float
    log: tuple[str, ...] = ()


class _Unsolved(Exception):
    """A step of the direct method cannot integrate what it was given (the message says which)."""


# --------------------------------------------------------------------------- helpers
def _vars_of(expr: LinExpr, depends) -> set[int]:
    out: set[int] = set()
    for (name, _) in expr:
        out |= set(depends[name])
    return out


def _coeff_vars(expr: LinExpr) -> set[int]:
    syms = set()
    for c in expr.values():
        syms |= c.free_symbols
    return {i for i, v in enumerate(VARIABLES) if v in syms}


def _expr_vars(e: sp.Expr) -> set[int]:
    return {i for i, v in enumerate(VARIABLES) if v in e.free_symbols}


def _integrate(expr: sp.Expr, var: int, times: int) -> sp.Expr:
    sym = VARIABLES[var]
    for _ in range(times):
        if expr.is_polynomial(sym):
            expr = sp.Poly(expr, sym).integrate().as_expr()
        else:
            expr = sp.integrate(expr, sym)
            if expr.has(sp.Integral):
                raise _Unsolved(f"cannot integrate in {sym}")
    return expr


def _is_constant_ratio(e: sp.Expr) -> bool:
    return not (e.free_symbols & set(VARIABLES))


# --------------------------------------------------------------------------- ODE solving
def _ode_basis(coeffs: list[sp.Expr], var: int) -> list[sp.Expr]:
    r"""A basis of solutions of :math:`\sum_k a_k(v)\, y^{(k)} = 0` (a_n ≠ 0), or raise _Unsolved."""
    v = VARIABLES[var]
    n = len(coeffs) - 1
    lead = coeffs[n]
    ratios = [sp.cancel(c / lead) for c in coeffs]
    r = sp.Dummy("r")
    if all(_is_constant_ratio(q) for q in ratios):
        poly = sp.Poly(sum(q * r ** k for k, q in enumerate(ratios)), r)
        return _from_roots(poly, lambda root, j: v ** j * sp.exp(root * v), n, r, v, euler=False)
    if n == 1:
        y = sp.exp(-_integrate(ratios[0], var, 1))
        return [sp.powsimp(sp.expand(y), combine="exp")]
    # Euler equation: a_k / a_n = c_k (v - v0)^(k - n)
    num_lead = sp.numer(sp.together(lead))
    for v0 in sp.roots(sp.Poly(num_lead, v)) if num_lead.is_polynomial(v) and num_lead.has(v) else []:
        cs = [sp.cancel(q * (v - v0) ** (n - k)) for k, q in enumerate(ratios)]
        if all(_is_constant_ratio(c) for c in cs):
            ind = sum(c * sp.ff(r, k) for k, c in enumerate(cs))
            s = v - v0
            return _from_roots(sp.Poly(sp.expand(ind), r), lambda root, j: s ** root * sp.log(s) ** j, n, r, v, euler=True)
    # general case: sympy's dsolve, each basis function checked
    y = sp.Function("y")
    ode = sum(c * sp.diff(y(v), v, k) for k, c in enumerate(coeffs))
    try:
        sol = sp.dsolve(ode, y(v))
    except (NotImplementedError, ValueError, TypeError):
        raise _Unsolved("dsolve failed") from None
    if isinstance(sol, list) or not isinstance(sol, sp.Eq) or sol.lhs != y(v) or sol.rhs.has(sp.Integral):
        raise _Unsolved("no explicit solution")
    consts = sorted(sol.rhs.free_symbols - set(VARIABLES) - ode.free_symbols, key=str)
    basis = [sp.diff(sol.rhs, c) for c in consts]
    if len(basis) != n:
        raise _Unsolved("incomplete solution")
    for b in basis:
        if sp.simplify(sum(c * sp.diff(b, v, k) for k, c in enumerate(coeffs))) != 0:
            raise _Unsolved("dsolve gave a wrong solution")
    return basis


def _from_roots(poly: sp.Poly, make, n: int, r, v, *, euler: bool) -> list[sp.Expr]:
    found = sp.roots(poly, r)
    if sum(found.values()) != n:
        raise _Unsolved("characteristic roots not found")
    out = []
    done = set()
    for root, mult in sorted(found.items(), key=lambda kv: sp.default_sort_key(kv[0])):
        if root in done:
            continue
        re, im = root.as_real_imag() if root.free_symbols == set() else (root, sp.Integer(0))
        if im != 0 and not euler:
            done.add(sp.conjugate(root))
            for j in range(mult):
                out += [v ** j * sp.exp(re * v) * sp.cos(abs(im) * v), v ** j * sp.exp(re * v) * sp.sin(abs(im) * v)]
        else:
            out += [make(root, j) for j in range(mult)]
    if len(out) != n:
        raise _Unsolved("complex roots of an Euler equation")
    return out


# --------------------------------------------------------------------------- the solver
@dataclass
class _State:
    depends: dict[str, tuple[int, ...]]
    equations: list[LinExpr]
    components: dict[str, LinExpr]
    counter: int = 0
    steps: int = 0
    log: list[str] = field(default_factory=list)

    def new_function(self, variables) -> str:
        self.counter += 1
        name = f"f{self.counter}"
        self.depends[name] = tuple(sorted(variables))
        return name

    def replace(self, name: str, value: LinExpr) -> None:
        self.equations = [substitute(e, name, value, self.depends) for e in self.equations]
        self.components = {k: substitute(c, name, value, self.depends) for k, c in self.components.items()}
        del self.depends[name]
        self.steps += 1


def _prepare(state: _State) -> None:
    """Tidy, split, normalise and deduplicate all equations."""
    out: list[LinExpr] = []
    seen = set()
    for e in state.equations:
        e = {k: tidy_coefficient(c) for k, c in e.items()}
        e = {k: c for k, c in e.items() if c != 0}
        if not e:
            continue
        for piece in _split(normalize_equation(e), state.depends):
            piece = normalize_equation(piece)
            if not piece:
                continue
            sig = _signature(piece)
            if sig not in seen:
                seen.add(sig)
                out.append(piece)
    state.equations = out


def _signature(e: LinExpr):
    """Equations are normalised (primitive, sign fixed), so equal ones have equal forms."""
    return tuple(sorted((k, sp.srepr(c)) for k, c in e.items()))


def _split(e: LinExpr, depends) -> list[LinExpr]:
    free = sorted(_coeff_vars(e) - _vars_of(e, depends))
    for var in free:
        pieces = _separate(e, var)
        if pieces is not None:
            return [q for p in pieces for q in _split(p, depends)]
    return [e]


def _separate(e: LinExpr, var: int) -> list[LinExpr] | None:
    r"""Split :math:`\sum_k c_k(v, w) D_k(w)` into one equation per independent function of v."""
    sym = VARIABLES[var]
    others = set(VARIABLES) - {sym}
    by_h: dict = {}
    for key, c in e.items():
        for term in sp.Add.make_args(sp.expand(c)):
            indep, dep = term.as_independent(sym, as_Add=False)
            if dep.free_symbols & others:
                return None
            by_h.setdefault(dep, {})
            add_into(by_h[dep], key, indep)
    hs = list(by_h)
    if all(h == 1 or (h.as_base_exp()[0] == sym and h.as_base_exp()[1].is_Integer) for h in hs):
        return [{k: c for k, c in by_h[h].items()} for h in hs]
    # Rewrite the functions of v over independent ones (fractional powers of sums normalised).
    terms, _ = normalize_terms([function_terms(h) for h in hs])
    pieces: dict = {}
    for h, t in zip(hs, terms):
        for g, a in t.items():
            pieces.setdefault(g, {})
            for key, c in by_h[h].items():
                add_into(pieces[g], key, a * c)
    return list(pieces.values())


def _add_kernel(state: _State, value: LinExpr, var: int, n: int, rest: list[int]) -> None:
    r"""Add the general solution of :math:`\partial_v^n f = 0`, :math:`\sum_{j<n} v^j g_j(\text{rest})`,
    with fresh arbitrary functions :math:`g_j` of the other variables, to ``value``."""
    for j in range(n):
        value[(state.new_function(rest), (0, 0, 0))] = VARIABLES[var] ** j


def _single_term(state: _State) -> bool:
    cands = [e for e in state.equations if len(e) == 1]
    if not cands:
        return False
    (name, alpha), = min(cands, key=lambda e: (sum(next(iter(e))[1]), -len(state.depends[next(iter(e))[0]])))
    fvars = state.depends[name]
    value: LinExpr = {}
    for var, n in enumerate(alpha):
        if n == 0:
            continue
        _add_kernel(state, value, var, n, [w for w in fvars if w != var])
    state.log.append(f"{name}: ∂^{alpha} = 0")
    state.replace(name, value)
    return True


def _algebraic(state: _State) -> bool:
    best = None
    for e in state.equations:
        for (name, alpha), c in e.items():
            if alpha != (0, 0, 0) or sum(1 for (n, _) in e if n == name) != 1:
                continue
            fvars = set(state.depends[name])
            rest = {k: v for k, v in e.items() if k[0] != name}
            if not _vars_of(rest, state.depends) <= fvars:
                continue
            value = {k: sp.cancel(-v / c) for k, v in rest.items()}
            if any(_expr_vars(v) - fvars for v in value.values()):
                continue
            score = (-len(fvars), len(rest), sum(len(sp.Add.make_args(v)) for v in value.values()))
            if best is None or score < best[0]:
                best = (score, name, value)
    if best is None:
        return False
    _, name, value = best
    state.log.append(f"{name} eliminated")
    state.replace(name, value)
    return True


def _integrable(state: _State) -> bool:
    best = None
    for e in state.equations:
        names = {}
        for (name, alpha) in e:
            names.setdefault(name, []).append(alpha)
        for name, alphas in names.items():
            if len(alphas) != 1:
                continue
            alpha = alphas[0]
            nz = [v for v, n in enumerate(alpha) if n]
            if len(nz) != 1:
                continue
            var, n = nz[0], alpha[nz[0]]
            fvars = set(state.depends[name])
            rest = {k: v for k, v in e.items() if k[0] != name}
            rvars = _vars_of(rest, state.depends)
            if var in rvars or not rvars <= fvars:
                continue
            c = e[(name, alpha)]
            ratios = {k: sp.cancel(-v / c) for k, v in rest.items()}
            if any(_expr_vars(v) - fvars for v in ratios.values()):
                continue
            score = (-len(fvars), n, len(rest))
            if best is None or score < best[0]:
                best = (score, name, var, n, ratios)
    if best is None:
        return False
    _, name, var, n, ratios = best
    try:
        value = {k: _integrate(v, var, n) for k, v in ratios.items()}
    except _Unsolved:
        return False
    _add_kernel(state, value, var, n, [w for w in state.depends[name] if w != var])
    state.log.append(f"{name}: integrated {n}× in {VARIABLES[var]}")
    state.replace(name, value)
    return True


def _ode(state: _State) -> bool:
    cands = []
    for e in state.equations:
        names = {name for (name, _) in e}
        if len(names) != 1:
            continue
        name = names.pop()
        vs = {v for (_, alpha) in e for v, n in enumerate(alpha) if n}
        if len(vs) != 1:
            continue
        var = vs.pop()
        coeffs = {alpha[var]: c for (_, alpha), c in e.items()}
        n = max(coeffs)
        lead = coeffs[n]
        ratios = [sp.cancel(coeffs.get(k, sp.Integer(0)) / lead) for k in range(n + 1)]
        if any(_expr_vars(q) - {var} for q in ratios):
            continue
        cands.append((n, -len(state.depends[name]), name, var, [coeffs.get(k, sp.Integer(0)) for k in range(n + 1)]))
    for n, _, name, var, coeffs in sorted(cands, key=lambda c: (c[0], c[1], c[2])):
        try:
            basis = _ode_basis(coeffs, var)
        except _Unsolved:
            continue
        rest = [w for w in state.depends[name] if w != var]
        value: LinExpr = {}
        for b in basis:
            g = state.new_function(rest)
            value[(g, (0, 0, 0))] = b
        state.log.append(f"{name}: ODE of order {n} in {VARIABLES[var]} solved")
        state.replace(name, value)
        return True
    return False


# --------------------------------------------------------------------------- completion
def _rank(key, depends):
    name, alpha = key
    return (sum(alpha), len(depends[name]), name, alpha)


def _leading(e: LinExpr, depends):
    return max(e, key=lambda k: _rank(k, depends))


def _reduce(e: LinExpr, basis: list[LinExpr], depends) -> LinExpr:
    """Reduce ``e`` by the leading derivatives of ``basis`` until no term is divisible."""
    heads = [(_leading(b, depends), b) for b in basis]
    for _ in range(200):
        hit = None
        for key in sorted(e, key=lambda k: _rank(k, depends), reverse=True):
            for (hname, halpha), b in heads:
                if key[0] == hname and all(a >= h for a, h in zip(key[1], halpha)):
                    hit = (key, (hname, halpha), b)
                    break
            if hit:
                break
        if hit is None:
            return e
        key, hkey, b = hit
        shift = tuple(a - h for a, h in zip(key[1], hkey[1]))
        db = derivative(b, shift, depends)
        factor = sp.cancel(e[key] / db[key])
        new = dict(e)
        for k, v in db.items():
            add_into(new, k, -factor * v)
        e = {k: tidy_coefficient(v) for k, v in new.items()}
        e = normalize_equation({k: v for k, v in e.items() if v != 0})
        if not e:
            return e
    raise _Unsolved("reduction did not terminate")


def _complete(state: _State) -> bool:
    """One round of autoreduction and integrability conditions; True if the system changed."""
    depends = state.depends
    eqs = [e for e in state.equations if e]
    changed = False
    # autoreduce
    i = 0
    while i < len(eqs):
        others = eqs[:i] + eqs[i + 1:]
        red = _reduce(eqs[i], others, depends)
        if red != eqs[i]:
            changed = True
            if red:
                eqs[i] = red
            else:
                eqs.pop(i)
            i = 0
            continue
        i += 1
    # integrability conditions
    new = []
    # ... with the implicit equations ∂_v F = 0 for the variables v that F does not depend on
    for e in eqs:
        name, _ = _leading(e, depends)
        for v in range(3):
            if v in depends[name] or not (v in _coeff_vars(e) or v in _vars_of(e, depends)):
                continue
            s = {k: tidy_coefficient(c) for k, c in derivative(e, tuple(int(i == v) for i in range(3)), depends).items()}
            s = {k: c for k, c in s.items() if c != 0}
            if s:
                s = _reduce(normalize_equation(s), eqs + new, depends)
            if s:
                new.append(s)
    for a in range(len(eqs)):
        for b in range(a + 1, len(eqs)):
            (na, aa), (nb, ab) = _leading(eqs[a], depends), _leading(eqs[b], depends)
            if na != nb:
                continue
            lcm = tuple(max(p, q) for p, q in zip(aa, ab))
            da = derivative(eqs[a], tuple(l - p for l, p in zip(lcm, aa)), depends)
            db = derivative(eqs[b], tuple(l - q for l, q in zip(lcm, ab)), depends)
            key = (na, lcm)
            s = {}
            for k, v in da.items():
                add_into(s, k, v * db[key])
            for k, v in db.items():
                add_into(s, k, -v * da[key])
            s = {k: tidy_coefficient(v) for k, v in s.items()}
            s = {k: v for k, v in s.items() if v != 0}
            if s:
                s = _reduce(normalize_equation(s), eqs + new, depends)
            if s:
                new.append(s)
    if new:
        changed = True
    state.equations = eqs + new
    return changed


# --------------------------------------------------------------------------- results
def _components(equations: list[LinExpr]) -> list[tuple[set[str], list[LinExpr]]]:
    groups: list[tuple[set[str], list[LinExpr]]] = []
    for e in equations:
        names = {n for (n, _) in e}
        merged = [g for g in groups if g[0] & names]
        for g in merged:
            groups.remove(g)
            names |= g[0]
        groups.append((names, [x for g in merged for x in g[1]] + [e]))
    return groups


def _finite_type(names: set[str], equations: list[LinExpr], depends) -> bool:
    heads = [_leading(e, depends) for e in equations]
    for name in names:
        for var in depends[name]:
            if not any(h[0] == name and h[1][var] > 0 and sum(h[1]) == h[1][var] for h in heads):
                return False
    return True


def solve_direct(system: DeterminingSystem) -> DirectSolution:
    """Solve the determining system by differential elimination; see the module docstring."""
    start = time.perf_counter()
    state = _State(dict(system.depends), [dict(e) for e in system.equations],
                   {name: {(name, (0, 0, 0)): sp.Integer(1)} for name in ("xi", "tau", "phi")})
    message = ""
    rounds = 0
    try:
        for _ in range(_MAX_STEPS):
            _prepare(state)
            if not state.equations:
                break
            if _single_term(state) or _algebraic(state) or _integrable(state) or _ode(state):
                continue
            rounds += 1
            if rounds > _MAX_COMPLETIONS:
                raise _Unsolved(f"completion did not converge in {_MAX_COMPLETIONS} rounds")
            if _complete(state):
                continue
            break
        else:
            raise _Unsolved("too many steps")
    except _Unsolved as exc:
        message = f"the direct method stopped ({exc})"
    used = set()
    for c in state.components.values():
        used |= {n for (n, _) in c}
    comps = _components(state.equations)
    in_equations = set().union(*(names for names, _ in comps)) if comps else set()
    free_constants = sorted((n for n in used if not state.depends[n] and n not in in_equations), key=_natural)
    families_raw = []
    closed = not message
    for names, eqs in comps:
        if not message:  # the first reason the system is not closed is the one reported
            if _finite_type(names, eqs, state.depends):
                closed = False
                message = (f"a finite-dimensional part of the system ({len(eqs)} equations in "
                           f"{', '.join(sorted(names))}) could not be integrated in closed form")
            elif any(not state.depends[n] for n in names):
                closed = False
                message = ("free constants are coupled to an infinite-dimensional family through "
                           f"{len(eqs)} partial differential equations (an inhomogeneous linear part) that "
                           "the direct method does not solve")
        families_raw.append((names, eqs))
    for n in sorted(used - in_equations, key=_natural):
        if state.depends[n]:
            families_raw.append(({n}, []))

    def restrict(keep: Mapping[str, sp.Expr]) -> list[sp.Expr]:
        out = []
        for comp in ("xi", "tau", "phi"):
            total = sp.Integer(0)
            for (n, alpha), c in state.components[comp].items():
                if n in keep:
                    f = keep[n]
                    counts = [(VARIABLES[v], k) for v, k in enumerate(alpha) if k]
                    total += c * (sp.diff(f, *[s for v, k in counts for s in [v] * k]) if counts else f)
            out.append(sp.expand(total))
        return out

    fields = []
    for c in free_constants:
        comps_ = restrict({c: sp.Integer(1)})
        if any(x != 0 for x in comps_):
            fields.append(VectorField(*comps_))
    families = []
    name_iter = iter(FAMILY_NAMES + tuple(f"{n}_{i}" for i in range(2, 50) for n in FAMILY_NAMES))
    for names, eqs in families_raw:
        rename = {n: next(name_iter) for n in sorted(names, key=_natural)}
        funcs = {n: sp.Function(rename[n])(*(VARIABLES[v] for v in state.depends[n])) for n in rename}
        comps_ = restrict(funcs)
        if all(x == 0 for x in comps_):
            continue
        depends = {rename[n]: state.depends[n] for n in rename}
        conds = tuple(sp.expand(to_sympy({(rename[k[0]], k[1]): v for k, v in e.items()}, depends)) for e in eqs)
        families.append(Family(VectorField(*comps_), tuple(funcs[n] for n in sorted(names, key=_natural)), conds))
    return DirectSolution(tuple(fields), tuple(families), closed, message, state.steps, time.perf_counter() - start,
                          tuple(state.log))


def _natural(name: str):
    digits = "".join(ch for ch in name if ch.isdigit())
    return (name.rstrip("0123456789"), int(digits) if digits else 0)



# --------------------------------------------------------------------------- family check
def _linexpr_from_sympy(expr: sp.Expr, names: set[str]) -> LinExpr:
    """Parse an expression linear in applied functions ``names`` (and their derivatives)."""
    out: LinExpr = {}
    for term in sp.Add.make_args(sp.expand(expr.doit())):
        if term == 0:
            continue
        hits = [f for f in sp.Mul.make_args(term)
                if (isinstance(f, sp.Derivative) and f.expr.func.__name__ in names)
                or (isinstance(f, sp.core.function.AppliedUndef) and f.func.__name__ in names)]
        if len(hits) != 1:
            raise ValueError(f"not linear in the family functions: {term}")
        f = hits[0]
        base = f.expr if isinstance(f, sp.Derivative) else f
        alpha = [0, 0, 0]
        if isinstance(f, sp.Derivative):
            for v, n in f.variable_count:
                alpha[VARIABLES.index(v)] += int(n)
        add_into(out, (base.func.__name__, tuple(alpha)), sp.cancel(term / f))
    return out


def verify_family(equation: Equation | str, family: Family) -> bool:
    r"""True when every member of the family is a symmetry: the residual
    :math:`\mathrm{pr}\,V(\Delta)|_{\Delta=0}` of the family's field reduces to zero modulo the
    family's conditions (Reid's reduction; the conditions are in standard form)."""
    from pdesym.symbolic.prolongation import symmetry_residual

    names = {f.func.__name__ for f in family.functions}
    depends = {f.func.__name__: tuple(VARIABLES.index(a) for a in f.args) for f in family.functions}
    try:
        residual = _linexpr_from_sympy(symmetry_residual(equation, family.field), names)
        conditions = [normalize_equation(_linexpr_from_sympy(c, names)) for c in family.conditions]
        conditions = [c for c in conditions if c]
        reduced = _reduce(normalize_equation({k: tidy_coefficient(v) for k, v in residual.items()}), conditions, depends)
    except (ValueError, _Unsolved):
        return False
    return not reduced
