"""Exact symmetry algebras found by the engine, against hand-derived oracles (issue 4 "Must show").

The oracles for kdv, ks, burgers and heat are the algebras of DESIGN.md §3 (textbook results,
e.g. Olver, Applications of Lie Groups to Differential Equations, Examples 2.41-2.44). For nkdv
and ckdv the expected algebras are derived in the test docstrings and compared with what the
engine finds by itself with both methods; nothing is typed into the engine.
"""

import pytest
import sympy as sp

from pdesym.equations import T, U, X
from pdesym.symbolic import (
    VectorField,
    canonical_basis,
    coordinates,
    determining_equations,
    find_symmetries,
    structure_constants,
    verify,
)
from pdesym.symbolic.linear import to_sympy

V = VectorField
NU = sp.Rational(1, 100)


def _same_span(result, expected):
    """Canonical bases are equal element by element (the canonical form is unique)."""
    got = [g.field for g in result.generators]
    want = canonical_basis(expected)
    assert len(got) == len(want), ([str(f) for f in got], [str(f) for f in want])
    for a, b in zip(got, want):
        assert a.equals(b), (str(a), str(b))


def _all_verified(result):
    assert result.generators and all(g.verified is True for g in result.generators)
    assert all(f.verified is True for f in result.families)


KDV = [V(1, 0, 0), V(0, 1, 0), V(T, 0, 1), V(X, 3 * T, -2 * U)]


@pytest.mark.parametrize("method", ["direct", "ansatz"])
def test_kdv_exactly_four_generators_in_canonical_form(method):
    r = find_symmetries("kdv", method=method)
    assert [str(g.field) for g in r.generators] == ["∂x", "∂t", "t∂x + ∂u", "x∂x + 3t∂t − 2u∂u"]
    assert [g.field for g in r.generators] == KDV  # structural equality of the canonical form
    assert [g.name for g in r.generators] == ["translation in x", "translation in t", "Galilean boost", "scaling"]
    assert r.families == () and r.complete == (method == "direct")
    _all_verified(r)


def test_kdv_commutators_match_hand_calculation():
    """[∂x, S] = ∂x, [∂t, G] = ∂x, [∂t, S] = 3∂t, [G, S] = −2G for G = t∂x + ∂u, S = x∂x + 3t∂t − 2u∂u;
    all other brackets vanish."""
    r = find_symmetries("kdv")
    sc = r.structure
    assert sc.closed
    hand = {(0, 3): (1, 0, 0, 0), (1, 2): (1, 0, 0, 0), (1, 3): (0, 3, 0, 0), (2, 3): (0, 0, -2, 0)}
    for i in range(4):
        for j in range(4):
            want = hand.get((i, j)) or tuple(-v for v in hand.get((j, i), (0, 0, 0, 0)))
            assert tuple(sc.table[i][j]) == want, (i, j)
    assert r.commutator_rows()[2][3] == "−2X3"
    # a result without its table (e.g. built from discovered fields) gets the same one back
    from dataclasses import replace

    again = replace(r, structure=None).with_structure().structure
    assert again.closed and [list(map(tuple, row)) for row in again.table] == [list(map(tuple, row)) for row in sc.table]


def test_ks_exactly_three():
    for method in ("direct", "ansatz"):
        r = find_symmetries("ks", method=method)
        _same_span(r, [V(1, 0, 0), V(0, 1, 0), V(T, 0, 1)])
        _all_verified(r)


def test_burgers_exactly_five_without_u_du():
    """Projective generator, derived by hand: with ξ = xt, τ = t², φ = x − tu the criterion for
    u_t + uu_x = νu_xx holds for every ν (Burgers(ν) ↔ Burgers(1) by t → νt, u → u/ν maps the
    ν = 1 generator to ν·(xt∂x + t²∂t + (x − tu)∂u)), so no ν appears."""
    expected = [V(1, 0, 0), V(0, 1, 0), V(T, 0, 1), V(X, 2 * T, -U), V(T * X, T**2, X - T * U)]
    for method in ("direct", "ansatz"):
        r = find_symmetries("burgers", method=method)
        _same_span(r, expected)
        _all_verified(r)
        assert coordinates(r.fields, V(0, 0, U)) is None  # u∂u is not in the algebra
    assert not verify("burgers", V(0, 0, U))
    sym = find_symmetries("u_t + u*u_x = nu*u_xx")  # ν symbolic: same five
    _same_span(sym, expected)


def test_heat_six_finite_generators_and_the_infinite_family():
    nu = NU
    expected = [V(1, 0, 0), V(0, 1, 0), V(0, 0, U), V(X, 2 * T, 0), V(2 * nu * T, 0, -X * U),
                V(4 * nu * T * X, 4 * nu * T**2, -(X**2 + 2 * nu * T) * U)]
    for method in ("direct", "ansatz"):
        r = find_symmetries("heat", method=method)
        _same_span(r, expected)
        _all_verified(r)
        (family,) = r.families
        beta = family.functions[0]
        assert family.field == V(0, 0, beta) and beta.args == (X, T)
        (cond,) = family.conditions
        ratio = sp.simplify(cond / (sp.Derivative(beta, T) - nu * sp.Derivative(beta, (X, 2))))
        assert ratio.is_number and ratio != 0
    assert find_symmetries("heat").structure.closed


def test_heat_with_symbolic_parameter():
    r = find_symmetries("u_t = nu*u_xx")
    nu = r.equation.parameter_symbols["nu"]
    assert [str(g.field) for g in r.generators][-1] == "4νtx∂x + 4νt²∂t − (x² + 2νt)u∂u"
    assert str(r.generators[3].field) == "2νt∂x − xu∂u"
    assert len(r.generators) == 6 and len(r.families) == 1
    assert verify(r.equation, V(4 * nu * T * X, 4 * nu * T**2, -(X**2 + 2 * nu * T) * U))


def test_nkdv_algebra_found_by_both_methods():
    r"""nkdv: u_t + e^{t/50}(uu_x + u_xxx) = 0. With s = 50(e^{t/50} − 1) (ds = e^{t/50}dt) it is
    KdV in (x, s), whose algebra ∂x, ∂s, s∂x + ∂u, x∂x + 3s∂s − 2u∂u becomes, with
    ∂s = e^{−t/50}∂t:

    * ∂x;   * e^{−t/50}∂t;   * 50(e^{t/50} − 1)∂x + ∂u  ≡ 50e^{t/50}∂x + ∂u  (minus 50·∂x);
    * x∂x + 150(1 − e^{−t/50})∂t − 2u∂u ≡ x∂x + 150∂t − 2u∂u  (plus 150·e^{−t/50}∂t).

    So 4 generators. The direct method must find them without a basis; the ansatz needs the
    functions e^{±t/50} (degree 1)."""
    e = sp.exp(T / 50)
    hand = [V(1, 0, 0), V(0, 1 / e, 0), V(50 * e, 0, 1), V(X, 150, -2 * U)]
    assert all(verify("nkdv", f) for f in hand)
    direct = find_symmetries("nkdv")
    ansatz = find_symmetries("nkdv", method="ansatz", degree=1, basis="exp(t/50), exp(-t/50)")
    assert direct.complete and direct.dimension == 4 and ansatz.dimension == 4
    for r in (direct, ansatz):
        _all_verified(r)
        _same_span(r, hand)
    assert [g.field for g in direct.generators] == [g.field for g in ansatz.generators]
    plain = find_symmetries("nkdv", method="ansatz", degree=2)  # polynomial basis misses two
    assert plain.dimension == 2


def test_ckdv_algebra_found_by_both_methods():
    r"""ckdv: u_t + uu_x + u_xxx + u/(2s) = 0, s = t + 1. Derivation (third-order evolution
    equation, so τ = τ(t), ξ = xτ'/3 + σ(t), φ = A u + B): the u_xx, uu_x, u_x terms give
    A = −2τ'/3 and B = ξ_t = xτ''/3 + σ'. The u-terms give −τ''/3 + τ'/(2s) − τ/(2s²) = 0 and the
    remaining terms, split in x, τ''' + τ''/(2s) = 0 and σ'' + σ'/(2s) = 0. The Euler equation
    −2s²τ'' + 3sτ' − 3τ = 0 has roots 1 and 3/2, both compatible with the third-order one:
    τ = a s + b s^{3/2}; σ = c + 2d s^{1/2}. Generators (4):

    * ∂x;   * 2√s ∂x + s^{−1/2}∂u;   * x∂x + 3s∂t − 2u∂u;
    * 2x√s ∂x + 4s^{3/2}∂t + (x − 4su)s^{−1/2}∂u  (from τ = 4s^{3/2}: A = −4√s, B = x/√s)."""
    s = T + 1
    hand = [V(1, 0, 0), V(2 * sp.sqrt(s), 0, 1 / sp.sqrt(s)), V(X, 3 * s, -2 * U),
            V(2 * X * sp.sqrt(s), 4 * s ** sp.Rational(3, 2), (X - 4 * s * U) / sp.sqrt(s))]
    assert all(verify("ckdv", f) for f in hand)
    direct = find_symmetries("ckdv")
    ansatz = find_symmetries("ckdv", method="ansatz", degree=1, basis=["sqrt(t+1)", "1/sqrt(t+1)"])
    for r in (direct, ansatz):
        assert r.dimension == 4
        _all_verified(r)
        _same_span(r, hand)
        assert r.structure.closed
    assert direct.complete and not ansatz.complete


def test_deliberately_wrong_fields_are_rejected():
    assert not verify("burgers", V(0, 0, U))
    assert not verify("kdv", V(X, 2 * T, -2 * U))
    assert not verify("heat", V(0, 0, U**2))
    assert not verify("nkdv", V(0, 1, 0))  # time translation is broken by exp(t/50)


def test_determining_equations_vanish_on_symmetries_only():
    """Each determining equation, evaluated on a true generator, is 0; on u∂u for Burgers not."""
    system = determining_equations("burgers")
    assert len(system) > 3
    xi, tau, phi = (sp.Function(n)(X, T, U) for n in ("xi", "tau", "phi"))

    def residuals(f):
        subs = {xi: f.xi, tau: f.tau, phi: f.phi}
        return [sp.simplify(e.subs(subs).doit()) for e in system]

    assert all(r == 0 for r in residuals(V(T * X, T**2, X - T * U)))
    assert any(r != 0 for r in residuals(V(0, 0, U)))
    assert all(to_sympy(e, system.depends).has(xi, tau, phi) for e in system.equations)


def test_wave_equation_with_symbolic_speed():
    """u_tt = c²u_xx: u∂u, the superposition family β∂u (β_tt = c²β_xx) and the conformal
    family ξ∂x + τ∂t with ξ_x = τ_t, ξ_t = c²τ_x (contains ∂x, ∂t, x∂x + t∂t, c²t∂x + x∂t)."""
    r = find_symmetries("u_tt = c**2*u_xx")
    c = r.equation.parameter_symbols["c"]
    assert [str(g.field) for g in r.generators] == ["u∂u"] and r.complete
    assert len(r.families) == 2 and all(f.verified for f in r.families)
    conformal = next(f for f in r.families if f.field.phi == 0)
    g, k = conformal.functions
    for fx, ft in ((1, 0), (0, 1), (X, T), (c**2 * T, X)):
        values = [sp.simplify(cond.subs({g: fx, k: ft}).doit()) for cond in conformal.conditions]
        assert values == [0] * len(values)
        assert verify(r.equation, V(fx, ft, 0))
    low = find_symmetries(r.equation, method="ansatz", degree=1)
    _same_span(low, [V(1, 0, 0), V(0, 1, 0), V(X, T, 0), V(c**2 * T, X, 0), V(0, 0, U)])


@pytest.mark.parametrize("text, expected", [
    ("u_t + u**2*u_x + u_xxx = 0", [V(1, 0, 0), V(0, 1, 0), V(X, 3 * T, -U)]),             # mKdV
    ("u_t = u_xx + u_x**2", [V(1, 0, 0), V(0, 1, 0), V(0, 0, 1), V(X, 2 * T, 0),            # potential
     V(2 * T, 0, -X), V(4 * T * X, 4 * T**2, -(X**2 + 2 * T))]),                            # Burgers
    ("u_t = x*u_xx", [V(0, 1, 0), V(X, T, 0), V(0, 0, U), V(2 * T * X, T**2, -X * U)]),     # variable coeff.
    ("u_xt = sin(u)", [V(1, 0, 0), V(0, 1, 0), V(X, -T, 0)]),                              # sine-Gordon
])
def test_typed_equations(text, expected):
    r = find_symmetries(text)
    assert r.complete
    _same_span(r, expected)
    _all_verified(r)


def test_potential_burgers_linearising_family():
    """u_t = u_xx + u_x² is heat in v = e^u: v → v + εβ gives the family β e^{−u}∂u, β_t = β_xx."""
    (family,) = find_symmetries("u_t = u_xx + u_x**2").families
    beta = family.functions[0]
    assert sp.simplify(family.field.phi / (beta * sp.exp(-U))) == 1 and family.verified


def test_structure_constants_detect_a_non_closed_span():
    sc = structure_constants(canonical_basis([V(1, 0, 0), V(X**2, 0, 0)]))
    assert not sc.closed and sc.outside == ((0, 1),)


def test_canonical_basis_is_independent_of_the_spanning_set():
    mixed = [KDV[0] * 3 + KDV[3], KDV[1] - KDV[2] * 2, KDV[2] + KDV[0], KDV[3] * 5, KDV[1] + KDV[3]]
    assert canonical_basis(mixed) == KDV


def test_forced_burgers_trigonometric_generators_and_closure():
    r"""u_t = u_xx + uu_x + x. A field f(t)∂x + g(t)∂u is a symmetry iff
    u_x(−f' − g) + (g' − f) = 0, i.e. g = −f', f'' = −f: sin(t)∂x − cos(t)∂u and
    cos(t)∂x + sin(t)∂u. The algebra (5-dimensional, like Burgers') must close, which needs
    sin² + cos² = 1 inside the canonical coordinates."""
    r = find_symmetries("u_t = u_xx + u*u_x + x")
    assert r.complete and r.dimension == 5 and r.structure.closed
    _all_verified(r)
    for f in (V(sp.sin(T), 0, -sp.cos(T)), V(sp.cos(T), 0, sp.sin(T))):
        assert coordinates(r.fields, f) is not None


def test_direct_method_says_when_it_cannot_close_and_falls_back():
    """u_t = u_xx + x²: constants are coupled to the heat family through an inhomogeneous part
    the direct method does not integrate; the result must say so and use the ansatz."""
    r = find_symmetries("u_t = u_xx + x**2")
    assert r.solver == "ansatz" and r.method == "direct" and not r.complete
    assert "could not close" in r.notes[0]
    _all_verified(r)
    # ∂x conjugated by the particular solution −x⁴/12: 3∂x − x³∂u
    assert coordinates(r.fields, V(3, 0, -X**3)) is not None
    assert len(r.families) == 1 and r.families[0].verified
