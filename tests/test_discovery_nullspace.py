"""Null-space discovery from solver data: exact algebras of KdV, KS and Burgers, noise, flows."""

import pytest
import torch

from pdesym.discovery.nullspace import nullspace_symmetries
from pdesym.equations import T, U, X
from pdesym.jets import compute_jets, sample_patches
from pdesym.solvers import generate_batch
from pdesym.symbolic import VectorField, canonical_basis, find_symmetries, verify
from pdesym.symbolic.fit import fit_fields, span_cosines
from pdesym.validity import VALIDITIES, flow_validity, infinitesimal_validity

T_END = {"kdv": 5.0, "ks": 5.0, "burgers": 2.0, "ckdv": 5.0, "nkdv": 50.0}


def _batch(name: str, nt: int = 20):
    """4 trajectories x ``nt`` snapshots, nx = 128, from the project's solvers."""
    return generate_batch(name, 4, seed=0, nx=128, nt_out=nt, t_end=T_END[name], device="cpu")


def _exact(name: str) -> list[VectorField]:
    return [g.field for g in find_symmetries(name).generators]


@pytest.mark.parametrize("name,dim", [("kdv", 4), ("ks", 3), ("burgers", 5)])
def test_nullspace_recovers_the_exact_algebra(name, dim):
    b = _batch(name)
    res = nullspace_symmetries(b.u, b.x, b.t, name, degree=2, n_points=1500)
    assert res.rank == dim
    assert res.gap > 1e8  # exact directions at rounding level, the rest >= 1e-4
    assert res.verified == [True] * dim
    # same canonical form as the symbolic engine, and each verified exactly
    assert [f.components for f in res.fields] == [f.components for f in _exact(name)]
    assert all(verify(name, f) for f in res.fields)


@pytest.mark.parametrize("name,basis", [("ckdv", "sqrt(t+1), 1/sqrt(t+1)"), ("nkdv", "exp(t/50), exp(-t/50)")])
def test_nullspace_with_user_functions_finds_non_polynomial_generators(name, basis):
    """ckdv's √(t+1) generators and nkdv's exp(±t/50) ones; t/√(t+1) + 1/√(t+1) = √(t+1) makes the
    ckdv dictionary dependent, and the dependent function is left out instead of giving a zero field."""
    b = _batch(name)
    res = nullspace_symmetries(b.u, b.x, b.t, name, degree=1, basis=basis, n_points=1500)
    assert res.rank == 4 and all(res.verified)
    assert [f.components for f in res.fields] == [f.components for f in _exact(name)]
    assert len(res.dictionary) == (11 if name == "ckdv" else 12)


@pytest.mark.parametrize("name", ["kdv", "ks", "burgers"])
def test_exact_generators_have_zero_residual_and_du_does_not(name):
    b = _batch(name)
    jets = compute_jets(b.u, b.x, b.t, name).sample(1000, seed=2)
    exact = _exact(name)
    v = infinitesimal_validity(exact + [VectorField(0, 0, 1)], jets, normalisation="V")
    assert v[:-1].max().sqrt() < 1e-12  # relative residual (RMS ratio)
    assert 0.1 < v[-1] < 100  # ∂u is O(1) away
    p = infinitesimal_validity([VectorField(0, 0, 1)], jets, normalisation="P")
    assert float(p) == pytest.approx(1.0)  # Q = 1: D_tQ = 0, so R = -F'Q exactly


def test_flow_validity_separates_symmetries_from_non_symmetries_on_kdv():
    b = _batch("kdv")
    patches = sample_patches(b.u, b.x, b.t, 60, size=(7, 9), seed=0, equation="kdv")
    fields = [VectorField(T, 0, 1), VectorField(X, 3 * T, -2 * U), VectorField(0, 0, 1)]
    base = flow_validity(fields, patches, eps=0.0)
    moved = VALIDITIES["flow"](fields, patches, eps=0.05)
    assert torch.allclose(base, base[0].expand(3))  # eps = 0 scores the fit error only
    # exact symmetries stay at the fit error; ∂u is ~1e4 times worse (measured 1.4e4)
    assert moved[0] < 2 * base[0] and moved[1] < 2 * base[0]
    assert moved[2] > 1e3 * moved[:2].max()


def test_noisy_data_savgol_onshell_still_recovers_the_kdv_algebra():
    """1 % Gaussian noise, Savitzky–Golay x-derivatives, on-shell t-derivatives.

    On-shell elimination makes the residual of an exact generator vanish identically in the jet
    values, so noise cannot move ∂x, ∂t, t∂x + ∂u (nor the scaling x∂x + 3t∂t − 2u∂u) out of
    the null space; it only shrinks the gap to the non-symmetries. With t-derivatives taken from
    the noisy data instead (time="data") the scaling and ∂t directions are lost (cosines < 0.5,
    see benchmarks/bench_nullspace.py): KdV needs u_xxxt and u_tt, which 1 % noise ruins.
    """
    b = _batch("kdv", nt=40)
    g = torch.Generator().manual_seed(1)
    noisy = b.u + 0.01 * b.u.std() * torch.randn(b.u.shape, generator=g)
    res = nullspace_symmetries(noisy, b.x, b.t, "kdv", degree=2, method="savgol", window=21, polyorder=6,
                               n_points=2000)
    j = res.jets
    three = [VectorField(1, 0, 0), VectorField(0, 1, 0), VectorField(T, 0, 1)]
    cos3 = span_cosines(res.numeric_fields, three, j.x, j.t, j.u)
    cos_scaling = span_cosines(res.numeric_fields, [VectorField(X, 3 * T, -2 * U)], j.x, j.t, j.u)
    assert res.rank == 4 and cos3.min() >= 0.95 and cos_scaling.min() >= 0.95
    assert res.verified == [True] * 4


def test_fit_fields_recovers_closed_forms_from_callables():
    b = _batch("burgers")
    jets = compute_jets(b.u, b.x, b.t, "burgers").sample(800, seed=0)
    exact = _exact("burgers")
    # a "learned" span: mixed combinations of the exact generators, given as a plain callable
    mix = torch.tensor([[1.0, 2.0, 0.0, 0.0, 1.0], [0.0, 1.0, -1.0, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0, 2.0],
                        [3.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0, -1.0]])
    fns = [f.numeric("torch") for f in exact]

    def learned(x, t, u):
        basis = torch.stack([fn(x, t, u) for fn in fns], dim=-2)  # (N, 5, 3)
        return torch.einsum("kj,njc->nkc", mix, basis)

    fit = fit_fields(learned, jets.x, jets.t, jets.u, "burgers", degree=2, reference=exact)
    assert fit.misfit < 1e-10 and not fit.approximate
    assert [f.components for f in fit.exact] == [f.components for f in canonical_basis(exact)]
    assert fit.cosines.min() > 1 - 1e-10
    # a non-symmetry in the span is kept as an approximate field, never dropped
    extra = fit_fields([VectorField(0, 0, U)], jets.x, jets.t, jets.u, "burgers", degree=1)
    assert not extra.exact and len(extra.approximate) == 1
