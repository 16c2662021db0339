r"""Determining equations of the Lie point symmetries of a scalar PDE in (x, t).

For :math:`\Delta = u_L - K = 0` and an unknown field :math:`V = \xi\partial_x + \tau\partial_t +
\varphi\partial_u` (ξ, τ, φ functions of x, t, u), the infinitesimal criterion

.. math:: \mathrm{pr}\,V(\Delta)\big|_{\Delta = 0}
   = \varphi^L - \sum_J \frac{\partial K}{\partial u_J}\varphi^J - \xi K_x - \tau K_t - \varphi K_u = 0

holds identically in x, t, u and the parametric jet variables. Splitting by monomials in the jet
variables of order ≥ 1 (after clearing denominators that depend on them) gives the
overdetermined linear system for ξ, τ, φ (Olver, *Applications of Lie Groups to Differential
Equations*, §2.4; Hereman, *Review of symbolic software for Lie symmetry analysis*, 1997).

Speed: the prolongation with unknown functions is a polynomial in jet variables with integer
coefficients, one polynomial per derivative of ξ, τ or φ; it is computed with sympy's sparse
polynomial rings (``sympy.polys.rings``), not with ``Expr`` trees. Only the small expressions
that come from K (its partial derivatives and the eliminated derivatives of the leading one)
go through sympy's ``Expr``; non-polynomial parts of them (``exp(t/50)``, ``1/(t + 1)``) are
ring generators of their own.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from typing import Iterator, Mapping

import sympy as sp
from sympy import QQ, ZZ
from sympy.polys.rings import ring

from pdesym.equations import T, U, X, Equation, derivative_orders, derivative_symbol, get_equation, jet_symbols_of
from pdesym.errors import PdesymError
from pdesym.symbolic.linear import LinExpr, to_sympy
from pdesym.symbolic.solved_form import SolvedForm

__all__ = ["DeterminingSystem", "determining_equations", "FIELD_DEPENDS", "as_equation"]

#: ξ, τ, φ and the variables (indices into x, t, u) they depend on.
FIELD_DEPENDS: dict[str, tuple[int, ...]] = {"xi": (0, 1, 2), "tau": (0, 1, 2), "phi": (0, 1, 2)}


def as_equation(equation: Equation | str) -> Equation:
    """An :class:`Equation` from itself, a preset name or equation text."""
    if isinstance(equation, Equation):
        return equation
    if isinstance(equation, str):
        return get_equation(equation)
    raise PdesymError(f"Expected an equation (preset name, equation text or Equation), got {type(equation).__name__}.")


@dataclass(frozen=True)
class DeterminingSystem:
    r"""The linear system :math:`\{E_k = 0\}` for ξ, τ, φ.

    ``equations[k]`` maps ``(name, (a, b, c))`` (``name`` in xi, tau, phi; orders of the
    derivative in x, t, u) to its coefficient, a sympy expression in x, t, u and free
    parameters. Iterating yields the equations as sympy expressions in ``xi(x, t, u)`` etc.
    """

    equation: Equation
    leading: sp.Symbol
    equations: tuple[LinExpr, ...]
    seconds: float
    depends: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: dict(FIELD_DEPENDS))

    def to_sympy(self) -> list[sp.Expr]:
        """The equations as sympy expressions in ``Derivative(xi(x, t, u), ...)`` etc."""
        return [to_sympy(e, self.depends) for e in self.equations]

    def __len__(self) -> int:
        return len(self.equations)

    def __iter__(self) -> Iterator[sp.Expr]:
        return iter(self.to_sympy())

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Free parameter symbols occurring in the coefficients (treated as nonzero constants)."""
        syms = set()
        for e in self.equations:
            for c in e.values():
                syms |= c.free_symbols
        return tuple(sorted(syms - {X, T, U}, key=lambda s: s.name))


# --------------------------------------------------------------------------- prolongation
class _Prolongation:
    r""":math:`\varphi^J` of the unknown field as ``{(name, alpha): polynomial in jets}``."""

    def __init__(self, max_order: int):
        self.jets = [derivative_symbol(total - nt, nt) for total in range(1, max_order + 2) for nt in range(total + 1)]
        self.ring, *gens = ring(self.jets, ZZ)
        self.gen = {derivative_orders(s): g for s, g in zip(self.jets, gens)}
        self.next = {0: {}, 1: {}}
        for i, s in enumerate(self.jets):
            nx, nt = derivative_orders(s)
            self.next[0][i] = self.gen.get((nx + 1, nt))
            self.next[1][i] = self.gen.get((nx, nt + 1))
        ux, ut = self.gen[(1, 0)], self.gen[(0, 1)]
        self._ux = ux
        self._dq = {(0, 0): {("phi", (0, 0, 0)): self.ring.one, ("xi", (0, 0, 0)): -ux, ("tau", (0, 0, 0)): -ut}}

    def _total(self, poly, var: int):
        out = self.ring.zero
        used = set()
        for monom in poly.itermonoms():
            used.update(i for i, e in enumerate(monom) if e)
        for i in used:
            nxt = self.next[var][i]
            if nxt is None:
                raise PdesymError("Internal error: the prolongation needs a jet variable beyond its ring.")
            out += poly.diff(self.ring.gens[i]) * nxt
        return out

    def _derive(self, module: dict, var: int) -> dict:
        r""":math:`D_x` (var 0) or :math:`D_t` (var 1) of :math:`\sum_k F_k P_k`:
        :math:`D_x F = F_x + u_x F_u`."""
        out: dict = defaultdict(lambda: self.ring.zero)
        uvar = self._ux if var == 0 else self.gen[(0, 1)]
        for (name, alpha), poly in module.items():
            a = list(alpha)
            a[var] += 1
            out[(name, tuple(a))] += poly
            out[(name, (alpha[0], alpha[1], alpha[2] + 1))] += uvar * poly
            d = self._total(poly, var)
            if d:
                out[(name, alpha)] += d
        return {k: v for k, v in out.items() if v}

    def dq(self, orders: tuple[int, int]) -> dict:
        if orders not in self._dq:
            nx, nt = orders
            prev, var = ((nx - 1, nt), 0) if nx > 0 else ((nx, nt - 1), 1)
            self._dq[orders] = self._derive(self.dq(prev), var)
        return self._dq[orders]

    def coefficient(self, orders: tuple[int, int]) -> dict:
        r""":math:`\varphi^J = D_J Q + \xi u_{J+x} + \tau u_{J+t}`."""
        out = dict(self.dq(orders))
        nx, nt = orders
        for name, o in (("xi", (nx + 1, nt)), ("tau", (nx, nt + 1))):
            key = (name, (0, 0, 0))
            out[key] = out.get(key, self.ring.zero) + self.gen[o]
        return {k: v for k, v in out.items() if v}


# --------------------------------------------------------------------------- conversion
def _is_atom(node: sp.Basic) -> bool:
    if isinstance(node, sp.Function) or isinstance(node, sp.NumberSymbol):
        return True
    if isinstance(node, sp.Pow):
        return not (node.exp.is_Integer and node.exp > 0)
    return False


def _collect_atoms(expr: sp.Basic, out: dict) -> None:
    if _is_atom(expr):
        out.setdefault(expr, None)
        return
    for a in expr.args:
        _collect_atoms(a, out)


def _denominator_factors(den: sp.Expr) -> tuple[sp.Expr, list[tuple[sp.Expr, int]]]:
    const, factors = sp.Integer(1), []
    for f in sp.Mul.make_args(den):
        if f.is_number:
            const *= f
        elif f.is_Pow and f.exp.is_Integer and f.exp > 0:
            factors.append((f.base, int(f.exp)))
        else:
            factors.append((f, 1))
    return const, factors


class _Converter:
    """sympy expressions from K -> elements of one polynomial ring with atom and 1/g generators."""

    def __init__(self, exprs: list[sp.Expr]):
        self.parts = []
        atoms: dict = {}
        dens: dict = {}
        for e in exprs:
            e = sp.sympify(e)
            if any(isinstance(a, sp.Pow) and a.exp.is_negative for a in sp.preorder_traversal(e)):
                e = sp.together(e)
            num, den = sp.fraction(e)
            const, factors = _denominator_factors(den)
            for g, _ in factors:
                dens.setdefault(g, None)
                _collect_atoms(g, atoms)
            _collect_atoms(num, atoms)
            self.parts.append((num, const, factors))
        self.atoms = list(atoms)
        self.atom_dummy = {a: sp.Dummy(f"a{i}") for i, a in enumerate(self.atoms)}
        self.dens = list(dens)
        self.den_dummy = {g: sp.Dummy(f"w{i}") for i, g in enumerate(self.dens)}

    def jets(self) -> set[sp.Symbol]:
        out = set()
        for num, _, factors in self.parts:
            out |= jet_symbols_of(num)
            for g, _ in factors:
                out |= jet_symbols_of(g)
        for a in self.atoms:
            out |= jet_symbols_of(a)
        return out - {U}

    def polynomial(self, R, expr: sp.Expr):
        return R.from_expr(sp.expand(expr.xreplace(self.atom_dummy)))

    def convert(self, R, index: int):
        num, const, factors = self.parts[index]
        out = self.polynomial(R, num) * R(QQ(1) / QQ.from_sympy(const)) if const.is_Rational else None
        if out is None:
            raise PdesymError(f"The equation has an irrational constant denominator {const}; write it with a parameter.")
        for g, e in factors:
            out = out * R.from_expr(self.den_dummy[g]) ** e
        return out


# --------------------------------------------------------------------------- the system
def determining_equations(equation: Equation | str) -> DeterminingSystem:
    r"""The determining equations of the Lie point symmetries of ``equation``.

    Works for any scalar equation in (x, t) that :class:`~pdesym.symbolic.solved_form.SolvedForm`
    can solve for a leading derivative (evolution equations of any order, ``u_tt = K``, ...).
    Free parameters stay symbols (generic nonzero values); given values are exact rationals.
    """
    start = time.perf_counter()
    eq = as_equation(equation)
    form = SolvedForm.of(eq)
    L, K = form.leading, form.rhs
    k_jets = sorted(jet_symbols_of(K) - {U}, key=lambda s: s.name)
    order = max(sum(derivative_orders(s)) for s in [L, *k_jets])
    pro = _Prolongation(order)
    modules = {s: pro.coefficient(derivative_orders(s)) for s in [L, *k_jets]}

    # Which principal jet variables occur: they are replaced by their values on solutions.
    used = set()
    for module in modules.values():
        for poly in module.values():
            for monom in poly.itermonoms():
                used.update(i for i, e in enumerate(monom) if e)
    principal = [pro.jets[i] for i in sorted(used) if form.is_principal(derivative_orders(pro.jets[i]))]
    values = [form.reduced(derivative_orders(s)) for s in principal]

    k_coeffs = [-sp.diff(K, s) for s in k_jets] + [-sp.diff(K, X), -sp.diff(K, T), -sp.diff(K, U)]
    conv = _Converter(k_coeffs + values)
    jets = set(pro.jets) | conv.jets()
    extra = [s for s in conv.jets() if s not in set(pro.jets)]
    if any(sum(derivative_orders(s)) == 0 for s in extra):
        raise PdesymError("Internal error: a jet variable of order 0 other than u.")
    jet_list = pro.jets + sorted(extra, key=lambda s: (sum(derivative_orders(s)), derivative_orders(s)[1]))
    params = sorted(set().union(*(e.free_symbols for e in k_coeffs + values)) - jets - {X, T, U}
                    - set(conv.atom_dummy.values()), key=lambda s: s.name)
    atom_syms = [conv.atom_dummy[a] for a in conv.atoms]
    den_syms = [conv.den_dummy[g] for g in conv.dens]
    gens = jet_list + [X, T, U] + params + atom_syms + den_syms
    R, *_ = ring(gens, QQ)
    pos = {s: i for i, s in enumerate(gens)}

    # pr V(Δ) on Δ = 0 as a module {(name, alpha): polynomial}.
    total: dict = defaultdict(lambda: R.zero)
    for key, poly in modules[L].items():
        total[key] += poly.set_ring(R)
    for i, s in enumerate(k_jets):
        c = conv.convert(R, i)
        for key, poly in modules[s].items():
            total[key] += c * poly.set_ring(R)
    n = len(k_jets)
    for name, i in (("xi", n), ("tau", n + 1), ("phi", n + 2)):
        total[(name, (0, 0, 0))] += conv.convert(R, i)
    subs = {pos[s]: conv.convert(R, n + 3 + j) for j, s in enumerate(principal)}
    total = {k: _substitute(R, p, subs) for k, p in total.items()}
    total = {k: p for k, p in total.items() if p}

    # Denominators that depend on jet variables are cleared before splitting by them.
    jet_dens = [g for g in conv.dens if jet_symbols_of(g) - {U}]
    if jet_dens:
        total = _clear_denominators(R, total, [(pos[conv.den_dummy[g]], conv.polynomial(R, g)) for g in jet_dens])
    jet_atoms = [a for a in conv.atoms if jet_symbols_of(a) - {U}]
    for a in jet_atoms:
        if isinstance(a, sp.Pow):
            raise PdesymError(
                f"The equation depends on {a} algebraically through derivatives of u; pdesym splits "
                "determining equations only for polynomial, rational or exp/log-type dependence on them."
            )
    split_pos = [pos[s] for s in jet_list if s not in principal] + [pos[conv.atom_dummy[a]] for a in jet_atoms]
    split_set = set(split_pos)
    coef_pos = [i for i in range(len(gens)) if i not in split_set and gens[i] not in set(principal)]
    Rc, *_ = ring([gens[i] for i in coef_pos], QQ)
    cpos = {gens[i]: j for j, i in enumerate(coef_pos)}
    eqs: dict = defaultdict(lambda: defaultdict(dict))
    for key, poly in total.items():
        for monom, c in poly.items():
            jkey = tuple(monom[i] for i in split_pos)
            eqs[jkey][key][tuple(monom[i] for i in coef_pos)] = c
    free_dens = [(cpos[conv.den_dummy[g]], conv.polynomial(Rc, g)) for g in conv.dens if g not in jet_dens]
    back = {conv.atom_dummy[a]: a for a in conv.atoms}
    back.update({conv.den_dummy[g]: 1 / g for g in conv.dens})
    seen = set()
    equations = []
    for group in eqs.values():
        e = {k: Rc.from_dict(d) for k, d in group.items()}
        e = _primitive(Rc, _clear_denominators(Rc, e, free_dens) if free_dens else e)
        if not e:
            continue
        sig = tuple(sorted((k, frozenset(p.items())) for k, p in e.items()))
        if sig in seen:
            continue
        seen.add(sig)
        equations.append({k: p.as_expr().xreplace(back) if back else p.as_expr() for k, p in e.items()})
    return DeterminingSystem(eq, L, tuple(equations), time.perf_counter() - start)


def _primitive(R, e: dict) -> dict:
    """Divide an equation's coefficients by their polynomial gcd; first coefficient monic."""
    e = {k: p for k, p in e.items() if p}
    if not e:
        return e
    polys = list(e.values())
    if any(p.is_ground for p in polys):
        g = R.one
    else:
        g = reduce(lambda a, b: a.gcd(b), polys)
    if g != R.one:
        e = {k: p.exquo(g) for k, p in e.items()}
    lead = e[min(e)].LC
    if lead != 1:
        e = {k: p.quo_ground(lead) for k, p in e.items()}
    return e


def _substitute(R, poly, subs: Mapping[int, object]):
    """Replace generators (by position) with polynomials, caching powers."""
    if not subs:
        return poly
    positions = list(subs)
    groups: dict = defaultdict(dict)
    out = {}
    for monom, c in poly.items():
        key = tuple(monom[i] for i in positions)
        if not any(key):
            out[monom] = c
            continue
        m = list(monom)
        for i in positions:
            m[i] = 0
        groups[key][tuple(m)] = c
    result = R.from_dict(out) if out else R.zero
    powers: dict = {}
    for key, terms in groups.items():
        mult = R.one
        for i, e in zip(positions, key):
            if e:
                if (i, e) not in powers:
                    powers[(i, e)] = subs[i] ** e
                mult = mult * powers[(i, e)]
        result += R.from_dict(terms) * mult
    return result


def _clear_denominators(R, module: dict, dens: list) -> dict:
    r"""Multiply by :math:`\prod g^{m_g}` and replace :math:`w_g^e` (:math:`w_g = 1/g`) by :math:`g^{m_g - e}`."""
    highest = {i: 0 for i, _ in dens}
    for poly in module.values():
        for monom in poly.itermonoms():
            for i, _ in dens:
                highest[i] = max(highest[i], monom[i])
    out = {}
    for key, poly in module.items():
        groups: dict = defaultdict(dict)
        for monom, c in poly.items():
            ws = tuple(monom[i] for i, _ in dens)
            m = list(monom)
            for i, _ in dens:
                m[i] = 0
            groups[ws][tuple(m)] = c
        acc = R.zero
        for ws, terms in groups.items():
            mult = R.one
            for (i, g), e in zip(dens, ws):
                mult = mult * g ** (highest[i] - e)
            acc += R.from_dict(terms) * mult
        if acc:
            out[key] = acc
    return out


def _has_denominator(expr: sp.Expr) -> bool:
    return any(isinstance(a, sp.Pow) and a.exp.is_negative and not a.base.is_number
               for a in sp.preorder_traversal(expr))


def normalize_equation(e: LinExpr) -> LinExpr:
    """Coefficients expanded and made free of denominators (the equation times their lcm)."""
    e = {k: sp.expand(c) for k, c in e.items()}
    e = {k: c for k, c in e.items() if c != 0}
    if any(_has_denominator(c) for c in e.values()):
        fracs = {k: sp.fraction(sp.together(c)) for k, c in e.items()}
        dens = [d for _, d in fracs.values()]
        lcm = reduce(lambda a, b: sp.lcm(a, b), dens, sp.Integer(1))
        e = {k: sp.expand(sp.cancel(n * lcm / d)) for k, (n, d) in fracs.items()}
        e = {k: c for k, c in e.items() if c != 0}
    # Numeric content: divide by the gcd of the rational coefficients' numerators.
    nums = []
    for c in e.values():
        for term in sp.Add.make_args(c):
            coeff, _ = term.as_coeff_Mul()
            nums.append(coeff)
    if nums and all(n.is_Rational for n in nums):
        g = reduce(sp.gcd, [sp.Rational(n) for n in nums])
        first = e[min(e)]
        sign = -1 if sp.Add.make_args(first)[0].as_coeff_Mul()[0] < 0 else 1
        if g != 0 and (g != 1 or sign < 0):
            e = {k: sp.expand(c / (g * sign)) for k, c in e.items()}
    return e


def deduplicate(equations: list[LinExpr]) -> list[LinExpr]:
    """Drop equations that are constant multiples of earlier ones."""
    seen = set()
    out = []
    for e in equations:
        if not e:
            continue
        k0 = min(e)
        c0 = e[k0]
        if all(c.is_Number for c in e.values()):
            sig = tuple(sorted((k, c / c0) for k, c in e.items()))
        else:
            sig = tuple(sorted((k, sp.srepr(sp.cancel(c / c0))) for k, c in e.items()))
        if sig in seen:
            continue
        seen.add(sig)
        out.append(e)
    return out
