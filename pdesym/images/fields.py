r"""Plane vector fields seen through the images: pixel-change metric, named fields, span capture.

A field V moves pixel intensities at first order by :math:`\nabla I\cdot V`, so its *pixel
change* is :math:`\sqrt{\mathrm{mean}_p V(p)^\top S(p) V(p)}` with the mean image structure tensor
:math:`S(p) = \mathbb{E}_I[\nabla I(p)\nabla I(p)^\top]`. Fields are normalised by it (a raw-size
normalisation lets the score prefer fields that move nothing), so that ε = 1 changes the images
as much as a one-pixel shift. Spans are compared in the metric weighted by
:math:`w(p) = \mathrm{tr}\,S(p)` (plus a small floor): the plane where the images have structure.
"""

from __future__ import annotations

from typing import Sequence

import sympy as sp
import torch

from pdesym.flows import field_on_grid, pixel_grid
from pdesym.generators import PLANE_AFFINE_NAMES, fit_affine, plane_affine_basis, plane_affine_coefficients
from pdesym.symbolic.algebra import principal_cosines

__all__ = [
    "REFERENCE_NAMES",
    "structure_tensor",
    "pixel_change",
    "normalise_fields",
    "metric_weights",
    "swirl_field",
    "named_fields_on_grid",
    "span_capture",
    "span_affineness",
    "affine_summary",
    "affine_text",
    "angle_between",
]

#: Named generators plus the non-symmetric swirl, in the order of the reference tables.
REFERENCE_NAMES: tuple[str, ...] = PLANE_AFFINE_NAMES + ("swirl (non-symmetric)",)


def structure_tensor(images: torch.Tensor) -> torch.Tensor:
    r"""Mean structure tensor :math:`S(p) = \mathbb{E}[\nabla I\nabla I^\top]` (summed over channels): (2, 2, H, W).

    Central differences in the isotropic coordinates of :func:`pdesym.flows.pixel_grid`.
    """
    h, w = images.shape[-2:]
    step = 2.0 / (max(h, w) - 1)
    gx = torch.gradient(images, dim=-1, spacing=step)[0]
    gy = torch.gradient(images, dim=-2, spacing=step)[0]
    g = torch.stack([gx, gy], dim=0)  # (2, B, C, H, W)
    return torch.einsum("ibchw,jbchw->ijhw", g, g) / images.shape[0]


def pixel_change(grid_values: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    r"""Pixel change :math:`\sqrt{\mathrm{mean}_p V^\top S V}` of fields (K, 2, H, W): (K,)."""
    hw = grid_values.shape[-1] * grid_values.shape[-2]
    return torch.sqrt(torch.einsum("kihw,ijhw,kjhw->k", grid_values, s, grid_values) / hw)


def normalise_fields(grid_values: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Scale each field so that ε = 1 changes the images as much as a one-pixel shift (mean of x and y)."""
    h, w = grid_values.shape[-2:]
    pix = 2.0 / (max(h, w) - 1)
    shift = torch.sqrt((s[0, 0].mean() + s[1, 1].mean()) / 2.0) * pix
    return grid_values * (shift / pixel_change(grid_values, s).clamp_min(1e-12))[:, None, None, None]


def metric_weights(s: torch.Tensor, floor: float = 0.05) -> torch.Tensor:
    r"""Per-pixel weights :math:`w = \mathrm{tr}S/\mathrm{mean}(\mathrm{tr}S) + \text{floor}`, flattened (H·W,)."""
    tr = s[0, 0] + s[1, 1]
    return (tr / tr.mean().clamp_min(1e-30) + floor).reshape(-1)


def swirl_field(points: torch.Tensor, width: float = 0.5) -> torch.Tensor:
    r"""A non-symmetric swirl :math:`e^{-r^2/2\sigma^2}(-y, x)`: rotation near the centre, none far away. (1, N, 2)."""
    r2 = (points**2).sum(-1, keepdim=True)
    return (torch.exp(-r2 / (2 * width**2)) * torch.stack([-points[..., 1], points[..., 0]], -1))[None]


def named_fields_on_grid(height: int, width: int, *, dtype: torch.dtype, device: torch.device | str = "cpu") -> torch.Tensor:
    """The six named affine fields and the swirl on the pixel grid: (7, 2, H, W)."""
    return field_on_grid(lambda p: torch.cat([plane_affine_basis(p), swirl_field(p)]), height, width, dtype=dtype, device=device)


def _flat(grid_values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    v = grid_values.flatten(2).transpose(1, 2).to(torch.float64)  # (K, H*W, 2)
    return v if weights is None else v * weights.to(v).sqrt()[None, :, None]


def span_capture(learned: torch.Tensor, named: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    r"""How much of each named field the learned span holds: :math:`\cos\angle(g, \mathrm{span})` per g. (G,).

    ``learned`` (K, 2, H, W), ``named`` (G, 2, H, W); the cosine is the principal cosine
    between the span and the single field (in the metric weighted by ``weights``).
    """
    lv, nv = _flat(learned, weights), _flat(named, weights)
    return torch.stack([principal_cosines(lv, nv[g: g + 1])[0] for g in range(nv.shape[0])])


def span_affineness(learned: torch.Tensor, weights: torch.Tensor | None = None) -> float:
    r"""Mean squared principal cosine between the learned span and the 6 affine fields (1: the span is affine)."""
    h, w = learned.shape[-2:]
    affine = field_on_grid(plane_affine_basis, h, w, dtype=torch.float64)
    cos = principal_cosines(_flat(learned, weights), _flat(affine, weights))
    return float((cos**2).sum() / learned.shape[0])


def affine_summary(grid_values: torch.Tensor, weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted least-squares affine fit of sampled fields: named-basis coordinates (K, 6) and affine-ness (K,)."""
    h, w = grid_values.shape[-2:]
    pts = pixel_grid(h, w, dtype=torch.float64).reshape(-1, 2)
    a, b, aff = fit_affine(grid_values.flatten(2).transpose(1, 2).to(torch.float64), pts, None if weights is None else weights.to(torch.float64))
    return plane_affine_coefficients(a, b), aff


def affine_text(coefficients: Sequence[float] | torch.Tensor, digits: int = 3) -> tuple[str, str, str]:
    """(ξ, η, text) of the affine field with named-basis coordinates (6,): sympy strings in x, y and a sum of names."""
    x, y = sp.symbols("x y", real=True)
    c = [float(v) for v in coefficients]
    fields = [(1, 0), (0, 1), (-y, x), (x, y), (x, -y), (y, x)]
    xi = sum(round(ci, digits) * f[0] for ci, f in zip(c, fields))
    eta = sum(round(ci, digits) * f[1] for ci, f in zip(c, fields))
    scale = max(abs(v) for v in c) or 1.0
    terms = [f"{ci:+.{digits}g}·{name}" for ci, name in zip(c, PLANE_AFFINE_NAMES) if abs(ci) >= 0.05 * scale]
    text = " ".join(terms).lstrip("+") if terms else "0"
    return sp.sstr(sp.sympify(xi)), sp.sstr(sp.sympify(eta)), text


def angle_between(u: torch.Tensor, v: torch.Tensor) -> float:
    """Absolute cosine between two coefficient vectors."""
    return float(abs(u @ v) / (u.norm() * v.norm()).clamp_min(1e-30))

