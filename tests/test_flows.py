"""Finite flows: closed-form rotations, group law, gradients in ε, exact pixel shifts and rot90."""

import math

import pytest
import torch

from pdesym.errors import PdesymError
from pdesym.flows import (
    affine_flow,
    affine_warp_images,
    field_on_grid,
    flow_on_grid,
    integrate_flow,
    pixel_grid,
    warp_images,
)
from pdesym.generators import MLPVectorFields, plane_affine_basis, plane_affine_matrices


def _rot(p):
    return torch.stack([-p[..., 1], p[..., 0]], -1)


def test_rotation_flow_matches_the_rotation_matrix():
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    eps = 0.7
    want = x @ torch.tensor([[math.cos(eps), math.sin(eps)], [-math.sin(eps), math.cos(eps)]], dtype=torch.float64)
    assert torch.allclose(integrate_flow(_rot, x, eps, steps=40), want, atol=1e-8)
    assert torch.allclose(integrate_flow(_rot, x, eps, method="dopri5", rtol=1e-10, atol=1e-12), want, atol=1e-8)
    a, b = plane_affine_matrices()
    assert torch.allclose(affine_flow(a[2], b[2], x, eps), want, atol=1e-13)
    with pytest.raises(PdesymError):
        integrate_flow(_rot, x, eps, method="leapfrog")


def test_affine_flow_group_law_and_integrated_flow():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(3, 2, 2, generator=g, dtype=torch.float64) * 0.5, torch.randn(3, 2, generator=g, dtype=torch.float64)
    x = torch.randn(20, 2, generator=g, dtype=torch.float64)
    eps = torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64)
    one = affine_flow(a, b, affine_flow(a, b, x, eps), 0.4)
    assert torch.allclose(one, affine_flow(a, b, x, eps + 0.4), atol=1e-12)
    field = lambda y: torch.einsum("kij,knj->kni", a, y) + b[:, None, :]
    ode = integrate_flow(field, x.expand(3, 20, 2), eps, steps=30)
    assert torch.allclose(ode, affine_flow(a, b, x, eps), atol=1e-8)


def test_gradient_in_eps_is_the_field_at_the_endpoint_and_adjoint_agrees():
    f = MLPVectorFields(2, 1, hidden=8, seed=0)
    x = torch.randn(10, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)[None]
    eps = torch.tensor([0.4], dtype=torch.float64, requires_grad=True)
    y = integrate_flow(f, x, eps, steps=40)
    (grad,) = torch.autograd.grad(y.sum(), eps)
    # d/dε exp(εV)x = V(exp(εV)x)
    assert torch.allclose(grad, f(y.detach()).sum().reshape(1), atol=1e-7)
    eps2 = eps.detach().clone().requires_grad_(True)
    y2 = integrate_flow(f, x, eps2, steps=40, adjoint=True)
    (grad2,) = torch.autograd.grad(y2.sum(), eps2)
    assert torch.allclose(grad2, grad, atol=1e-7)


def test_translation_warp_is_an_exact_pixel_shift_and_rotation_by_quarter_turn_is_rot90():
    img = torch.randn(2, 1, 9, 9, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    dx = field_on_grid(lambda p: plane_affine_basis(p)[:1], 9, 9)
    step = 2.0 / 8  # one pixel in isotropic coordinates
    shifted = warp_images(img, dx, 2 * step, steps=3)
    want = torch.zeros_like(img)
    want[..., 2:] = img[..., :-2]
    assert torch.allclose(shifted, want, atol=1e-12)
    a, b = plane_affine_matrices()
    quarter = affine_warp_images(img, a[2:3], b[2:3], math.pi / 2)
    assert torch.allclose(quarter, torch.rot90(img, 1, dims=(-2, -1)), atol=1e-12) or torch.allclose(
        quarter, torch.rot90(img, -1, dims=(-2, -1)), atol=1e-12)


def test_grid_interpolated_flow_matches_the_exact_rotation_inside_the_disc():
    rot = field_on_grid(lambda p: plane_affine_basis(p)[2:3], 16, 16)
    pts = flow_on_grid(rot.expand(2, 2, 16, 16), torch.tensor([0.3, -0.6]), steps=30)
    a, b = plane_affine_matrices()
    grid = pixel_grid(16, 16).reshape(1, -1, 2)
    exact = affine_flow(a[2:3].expand(2, 2, 2), b[2:3].expand(2, 2), grid, torch.tensor([0.3, -0.6])).reshape(2, 16, 16, 2)
    inside = grid.reshape(16, 16, 2).norm(dim=-1) < 0.95  # bilinear interpolation of a linear field is exact there
    assert torch.allclose(pts[:, inside], exact[:, inside], atol=1e-7)
    assert pixel_grid(4, 8)[..., 0].max() == 1.0 and pixel_grid(4, 8)[..., 1].max() < 1.0
