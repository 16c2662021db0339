"""Shared vector-field batches and regularisers: oracles are exact affine fields and closed forms."""

import math

import pytest
import torch

from pdesym.errors import PdesymError
from pdesym.generators import (
    DictionaryVectorFields,
    MLPVectorFields,
    affine_dictionary,
    fit_affine,
    gram,
    lipschitz_penalty,
    orthogonality_penalty,
    plane_affine_basis,
    plane_affine_matrices,
    smoothness_penalty,
)
from pdesym.symbolic.algebra import principal_cosines


def _points(n=3, count=200, seed=0):
    return torch.randn(count, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_mlp_fields_shapes_seed_and_own_points():
    f = MLPVectorFields(3, 4, hidden=8, depth=2, seed=3)
    g = MLPVectorFields(3, 4, hidden=8, depth=2, seed=3)
    x = _points()
    v = f(x)
    assert v.shape == (4, 200, 3)
    assert torch.equal(v, g(x))  # same seed -> same bytes
    # each field on its own copy of the points equals the shared evaluation
    assert torch.allclose(f(x.expand(4, 200, 3)), v, atol=1e-14)
    with pytest.raises(PdesymError):
        f(torch.zeros(5, 200, 3))


def test_mlp_skip_path_represents_affine_fields_exactly():
    mean, std, scale = torch.tensor([1.0, -2.0]), torch.tensor([2.0, 0.5]), torch.tensor([3.0, 0.25])
    f = MLPVectorFields(2, 2, hidden=6, seed=1, mean=mean, std=std, out_scale=scale)
    with torch.no_grad():
        f.w_out.zero_()
    x = _points(2)
    a, b, affinity = fit_affine(f(x), x)
    # V = s*(A (x-mu)/sigma + c)  ->  A_eff = diag(s) A diag(1/sigma)
    want_a = scale[None, :, None] * f.skip_matrix / std[None, None, :]
    want_b = scale * (f.b_out - torch.einsum("kij,j->ki", f.skip_matrix, mean / std))
    assert torch.allclose(a, want_a, atol=1e-12) and torch.allclose(b, want_b, atol=1e-12)
    assert torch.allclose(affinity, torch.ones(2), atol=1e-12)


def test_mlp_fields_work_under_torch_func_jacrev():
    f = MLPVectorFields(3, 2, hidden=8, seed=0, activation="silu")
    x0 = _points(3, 1)[0]
    jac = torch.func.jacrev(lambda p: f.single(1)(p[None])[0])(x0)
    h = 1e-6
    fd = torch.stack([(f(x0[None] + h * e)[1, 0] - f(x0[None] - h * e)[1, 0]) / (2 * h) for e in torch.eye(3)], dim=1)
    assert torch.allclose(jac, fd, atol=1e-8)


def test_plane_basis_spans_the_affine_dictionary_and_dictionary_fields():
    x = _points(2, 300)
    named, full = plane_affine_basis(x), affine_dictionary(x)
    assert named.shape == (6, 300, 2) and full.shape == (6, 300, 2)
    assert torch.allclose(principal_cosines(named, full), torch.ones(6), atol=1e-12)
    # dictionary entry n + i*n + j is x_j e_i
    assert torch.equal(full[2 + 1 * 2 + 0], torch.stack([torch.zeros(300), x[:, 0]], dim=1))
    rot = DictionaryVectorFields(plane_affine_basis, 6, 1, coefficients=torch.tensor([[0.0, 0, 1, 0, 0, 0]]))
    assert torch.allclose(rot(x)[0], torch.stack([-x[:, 1], x[:, 0]], dim=1))
    a, b = plane_affine_matrices()
    fa, fb, _ = fit_affine(named, x)
    assert torch.allclose(fa, a, atol=1e-12) and torch.allclose(fb, b, atol=1e-12)
    # own-points evaluation of a dictionary batch
    d = DictionaryVectorFields(affine_dictionary, 6, 3, seed=2)
    assert torch.allclose(d(x.expand(3, 300, 2)), d(x), atol=1e-14)


def test_orthogonality_penalty_oracles():
    xs = torch.linspace(-1, 1, 21)
    grid = torch.stack(torch.meshgrid(xs, xs, indexing="ij"), -1).reshape(-1, 2)
    basis = plane_affine_basis(grid)
    # ∂x, ∂y, rotation, scaling and the shears are mutually orthogonal on a symmetric square
    assert orthogonality_penalty(basis).item() < 1e-24
    same = torch.stack([basis[2], 3.0 * basis[2]])
    assert math.isclose(orthogonality_penalty(same).item(), 2.0, rel_tol=1e-12)
    g = gram(basis[:2])
    assert torch.allclose(orthogonality_penalty(basis[:2], mode="identity"), ((g - torch.eye(2)) ** 2).sum())


def test_smoothness_is_zero_on_affine_and_matches_a_quadratic():
    x = _points(2, 20000, seed=5)
    aff = DictionaryVectorFields(affine_dictionary, 6, 2, seed=0)
    assert smoothness_penalty(aff, x, radius=0.3).abs().max().item() < 1e-20
    quad = lambda p: torch.stack([p[..., 0] ** 2, torch.zeros_like(p[..., 0])], -1)[None]
    # second difference 2 δx², so the penalty is 4 E[cos⁴θ] = 4 · 3/8 over random directions
    assert abs(smoothness_penalty(quad, x, radius=0.1).item() - 1.5) < 0.05
    rot = lambda p: torch.stack([-p[..., 1], p[..., 0]], -1)[None]
    assert lipschitz_penalty(rot, x, bound=1.0 + 1e-9).item() == 0.0
    assert abs(lipschitz_penalty(rot, x, bound=0.5).item() - 0.25) < 1e-12


def test_plane_affine_coefficients_invert_the_named_matrices():
    from pdesym.generators import plane_affine_coefficients

    a, b = plane_affine_matrices()
    assert torch.allclose(plane_affine_coefficients(a, b), torch.eye(6), atol=1e-15)
    c = torch.randn(4, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(plane_affine_coefficients(torch.einsum("kd,dij->kij", c, a), c @ b), c, atol=1e-14)


def test_single_points_vmap_and_jvp_for_taylor_mode():
    f = MLPVectorFields(3, 2, hidden=8, seed=4)
    d = DictionaryVectorFields(affine_dictionary, 12, 2, seed=1)
    x = _points(3, 7)
    for fields in (f, d):
        jac = torch.func.vmap(torch.func.jacrev(fields))(x)  # (N, K, n, n)
        assert jac.shape == (7, 2, 3, 3)
        v = torch.randn(3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
        _, tangent = torch.func.jvp(fields, (x[0],), (v,))
        assert torch.allclose(tangent, jac[0] @ v, atol=1e-12)
        assert torch.allclose(fields(x[0]), fields(x)[:, 0], atol=1e-14)
