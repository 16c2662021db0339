r"""Batches of K learnable vector fields on :math:`\mathbb{R}^n` and the regularisers they share.

One module for every domain: ``n = 2`` for images (pixel coordinates), ``n = 3`` for PDE data
(x, t, u). A batch maps points of shape ``(N, n)`` (the same points for every field) or
``(K, N, n)`` (each field its own points, as inside a flow integrator) to values ``(K, N, n)``.
Everything is plain tensor algebra (einsum over stacked weights, no Python loop over fields), so
it is differentiable and works under :mod:`torch.func` (``jacrev``, ``jvp``, ``vmap``) for
Taylor-mode total derivatives.

* :class:`MLPVectorFields` — K MLPs :math:`V_k(x) = s\odot\big(A_k z + c_k + \mathrm{MLP}_k(z)\big)`
  with :math:`z = (x-\mu)/\sigma`; the linear skip path makes every affine field exactly
  representable (the prototype only trained well with it).
* :class:`DictionaryVectorFields` — :math:`V_k = \sum_d C_{kd} D_d` over a fixed dictionary, e.g.
  :func:`affine_dictionary` (all :math:`n + n^2` affine fields) or :func:`plane_affine_basis`
  (∂x, ∂y, rotation, scaling and the two shears).
* :func:`gram`, :func:`orthogonality_penalty`, :func:`smoothness_penalty`,
  :func:`lipschitz_penalty`, :func:`fit_affine`.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

from pdesym.errors import PdesymError, check_choice

__all__ = [
    "ACTIVATIONS",
    "PLANE_AFFINE_NAMES",
    "MLPVectorFields",
    "DictionaryVectorFields",
    "affine_dictionary",
    "plane_affine_basis",
    "plane_affine_matrices",
    "plane_affine_coefficients",
    "gram",
    "orthogonality_penalty",
    "smoothness_penalty",
    "lipschitz_penalty",
    "fit_affine",
]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "silu": torch.nn.functional.silu,
    "softplus": torch.nn.functional.softplus,
    "sin": torch.sin,
}

#: Names of the six affine generators of the plane, in the order of :func:`plane_affine_basis`.
PLANE_AFFINE_NAMES: tuple[str, ...] = ("∂x", "∂y", "rotation", "scaling", "shear (x∂x − y∂y)", "shear (y∂x + x∂y)")


def _as_vector(value, n: int, name: str, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=like.dtype, device=like.device).reshape(-1)
    if t.numel() == 1:
        t = t.expand(n).clone()
    if t.numel() != n:
        raise PdesymError(f"{name} must have {n} entries (one per coordinate), got {t.numel()}.")
    return t


class MLPVectorFields(nn.Module):
    r"""K vector fields :math:`\mathbb{R}^n\to\mathbb{R}^n`, each an MLP plus a linear skip path.

    :math:`V_k(x) = s \odot \big(A_k z + c_k + W^{(L)}_k\,\sigma(\dots\sigma(W^{(1)}_k z + b^{(1)}_k))\big)`,
    :math:`z = (x - \mu)/\sigma_x`. Weights are stacked along a leading K axis and applied with
    one einsum per layer. ``mean``/``std`` standardise the inputs, ``out_scale`` scales each output
    coordinate (e.g. by the data's std so a unit field moves points by about one std).
    ``mlp_gain`` scales the initial last layer (small: start near the affine part).
    """

    def __init__(
        self,
        n_dims: int,
        k: int,
        *,
        hidden: int = 32,
        depth: int = 2,
        seed: int = 0,
        activation: str = "tanh",
        mean: Sequence[float] | torch.Tensor | float = 0.0,
        std: Sequence[float] | torch.Tensor | float = 1.0,
        out_scale: Sequence[float] | torch.Tensor | float = 1.0,
        skip: bool = True,
        mlp_gain: float = 0.1,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        if n_dims < 1 or k < 1 or hidden < 1 or depth < 1:
            raise PdesymError(f"MLPVectorFields needs n_dims, k, hidden, depth >= 1 (got {n_dims}, {k}, {hidden}, {depth}).")
        check_choice("activation", activation, ACTIVATIONS)
        self.n_dims, self.k, self.hidden, self.depth, self.activation = n_dims, k, hidden, depth, activation
        self.skip = skip
        gen = torch.Generator().manual_seed(int(seed))
        ref = torch.empty((), dtype=dtype, device=device)
        std_t = _as_vector(std, n_dims, "std", ref)
        if bool((std_t <= 0).any()):
            raise PdesymError("Every input std must be positive.")
        self.register_buffer("mean", _as_vector(mean, n_dims, "mean", ref))
        self.register_buffer("std", std_t)
        self.register_buffer("out_scale", _as_vector(out_scale, n_dims, "out_scale", ref))

        def draw(*shape: int, scale: float) -> nn.Parameter:
            w = torch.randn(*shape, generator=gen, dtype=torch.float64) * scale
            return nn.Parameter(w.to(dtype=dtype, device=device))

        sizes = [n_dims] + [hidden] * depth
        self.weights = nn.ParameterList([draw(k, a, b, scale=1.0 / math.sqrt(a)) for a, b in zip(sizes[:-1], sizes[1:])])
        self.biases = nn.ParameterList([draw(k, b, scale=0.1) for b in sizes[1:]])
        self.w_out = draw(k, hidden, n_dims, scale=mlp_gain / math.sqrt(hidden))
        self.b_out = draw(k, n_dims, scale=1.0 / math.sqrt(n_dims))
        self.skip_matrix = draw(k, n_dims, n_dims, scale=(1.0 / math.sqrt(n_dims)) if skip else 0.0)
        if not skip:
            self.skip_matrix.requires_grad_(False)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """(N, n) or (K, N, n) points -> (K, N, n) field values; one point (n,) -> (K, n) (for vmap)."""
        if points.dim() == 1:
            return self.forward(points[None])[:, 0]
        z = (points - self.mean) / self.std
        act = ACTIVATIONS[self.activation]
        if z.dim() == 2:
            h = z
            eq_first = "ni,kih->knh"
        elif z.dim() == 3 and z.shape[0] == self.k:
            h = z
            eq_first = "kni,kih->knh"
        else:
            raise PdesymError(f"Points must have shape (N, {self.n_dims}) or ({self.k}, N, {self.n_dims}), got {tuple(points.shape)}.")
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = act(torch.einsum(eq_first if i == 0 else "knh,khg->kng", h, w) + b[:, None, :])
        out = torch.einsum("knh,khi->kni", h, self.w_out) + self.b_out[:, None, :]
        out = out + _skip(z, self.skip_matrix)
        return out * self.out_scale

    def single(self, index: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """The field number ``index`` alone as a callable (N, n) -> (N, n) (for jacrev/jvp)."""
        if not 0 <= index < self.k:
            raise PdesymError(f"Field index {index} is out of range 0..{self.k - 1}.")
        return lambda pts: self.forward(pts)[index]


def _skip(z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """A_k z for every field: z (N, n) or (K, N, n), a (K, n, n) -> (K, N, n)."""
    if z.dim() == 2:
        return torch.einsum("kij,nj->kni", a, z)
    return torch.einsum("kij,knj->kni", a, z)


class DictionaryVectorFields(nn.Module):
    r"""K fields as learned combinations of a fixed dictionary: :math:`V_k = \sum_d C_{kd}\,D_d`.

    ``dictionary`` maps points (..., N, n) to values (D, ..., N, n). ``coefficients`` (K, D)
    overrides the seeded random start (rows of unit norm).
    """

    def __init__(
        self,
        dictionary: Callable[[torch.Tensor], torch.Tensor],
        size: int,
        k: int,
        *,
        seed: int = 0,
        coefficients: torch.Tensor | None = None,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        self.dictionary, self.size, self.k = dictionary, int(size), int(k)
        if coefficients is None:
            gen = torch.Generator().manual_seed(int(seed))
            c = torch.randn(k, size, generator=gen, dtype=torch.float64)
            c = c / c.norm(dim=1, keepdim=True)
        else:
            c = torch.as_tensor(coefficients, dtype=torch.float64)
            if tuple(c.shape) != (k, size):
                raise PdesymError(f"Coefficients must have shape ({k}, {size}), got {tuple(c.shape)}.")
        self.coefficients = nn.Parameter(c.to(dtype=dtype, device=device))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """(N, n) -> (K, N, n); or (K, N, n) with field k evaluated on points[k]; one point (n,) -> (K, n)."""
        if points.dim() == 1:
            return self.forward(points[None])[:, 0]
        d = self.dictionary(points)  # (D, N, n) or (D, K, N, n)
        if points.dim() == 2:
            return torch.einsum("kd,dni->kni", self.coefficients, d)
        return torch.einsum("kd,dkni->kni", self.coefficients, d)


def affine_dictionary(points: torch.Tensor) -> torch.Tensor:
    r"""All :math:`n + n^2` affine fields: translations :math:`e_i`, then :math:`x_j e_i` (i major).

    (..., n) -> (n + n², ..., n).
    """
    n = points.shape[-1]
    eye = torch.eye(n, dtype=points.dtype, device=points.device)
    trans = eye.reshape(n, *([1] * (points.dim() - 1)), n).expand(n, *points.shape[:-1], n)
    # index n + i*n + j is the field x_j e_i, i.e. the matrix entry A[i, j]
    return torch.cat([trans, _linear_fields(points)], dim=0)


def _linear_fields(points: torch.Tensor) -> torch.Tensor:
    n = points.shape[-1]
    eye = torch.eye(n, dtype=points.dtype, device=points.device)
    # field (i, j) = x_j e_i: out[i, j, ..., c] = x_j * delta_ic
    xj = points.movedim(-1, 0)[None, :, ..., None]  # (1, n, ..., 1)
    ei = eye.reshape(n, 1, *([1] * (points.dim() - 1)), n)  # (n, 1, ..., n)
    return (xj * ei).reshape(n * n, *points.shape)


def plane_affine_matrices(dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    r"""(A, b) of the six named plane generators :math:`V(x) = Ax + b`: shapes (6, 2, 2), (6, 2).

    ∂x, ∂y, rotation :math:`-y\partial_x + x\partial_y`, scaling :math:`x\partial_x + y\partial_y`,
    shears :math:`x\partial_x - y\partial_y` and :math:`y\partial_x + x\partial_y`.
    """
    a = torch.tensor(
        [[[0, 0], [0, 0]], [[0, 0], [0, 0]], [[0, -1], [1, 0]], [[1, 0], [0, 1]], [[1, 0], [0, -1]], [[0, 1], [1, 0]]],
        dtype=dtype, device=device,
    )
    b = torch.tensor([[1, 0], [0, 1], [0, 0], [0, 0], [0, 0], [0, 0]], dtype=dtype, device=device)
    return a, b


def plane_affine_basis(points: torch.Tensor) -> torch.Tensor:
    """The six named plane generators at points (..., 2) -> (6, ..., 2) (see :data:`PLANE_AFFINE_NAMES`)."""
    if points.shape[-1] != 2:
        raise PdesymError(f"The plane affine basis needs 2-D points, got {points.shape[-1]}-D.")
    a, b = plane_affine_matrices(points.dtype, points.device)
    return torch.einsum("kij,...j->k...i", a, points) + b.reshape(6, *([1] * (points.dim() - 1)), 2)


def gram(values: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    r"""Gram matrix :math:`G_{ij} = \langle V_i, V_j\rangle = \mathrm{mean}_p\, w_p\, V_i(p)\cdot V_j(p)`.

    ``values`` (K, N, n); ``weights`` (N,) or (N, n) (e.g. a metric per coordinate) -> (K, K).
    """
    v = values if weights is None else values * (weights if weights.dim() == 2 else weights[:, None])
    return torch.einsum("kni,lni->kl", v, values) / values.shape[1]


def orthogonality_penalty(values: torch.Tensor, weights: torch.Tensor | None = None, *, mode: str = "cosine") -> torch.Tensor:
    r"""How far the fields are from orthogonal: ``cosine``: :math:`\sum_{i\ne j} C_{ij}^2` with
    :math:`C = D^{-1/2} G D^{-1/2}` (scale-free); ``identity``: :math:`\|G - I\|_F^2`."""
    check_choice("orthogonality mode", mode, ("cosine", "identity"))
    g = gram(values, weights)
    if mode == "identity":
        return ((g - torch.eye(g.shape[0], dtype=g.dtype, device=g.device)) ** 2).sum()
    d = torch.rsqrt(torch.diagonal(g).clamp_min(torch.finfo(g.dtype).tiny))
    c = g * d[:, None] * d[None, :]
    return (c**2).sum() - (torch.diagonal(c) ** 2).sum()


def _directions(points: torch.Tensor, radius: float, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(int(seed))
    d = torch.randn(points.shape, generator=gen, dtype=torch.float64).to(points)
    return radius * d / d.norm(dim=-1, keepdim=True).clamp_min(1e-300)


def smoothness_penalty(field: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor, *, radius: float = 0.1, seed: int = 0) -> torch.Tensor:
    r"""Mean squared second difference :math:`\|V(x+\delta) - 2V(x) + V(x-\delta)\|^2/|\delta|^4`.

    Estimates :math:`\|\partial^2_\delta V\|^2` along random directions of length ``radius``;
    zero for affine fields, so it penalises curvature, not the affine part. Returns (K,).
    """
    d = _directions(points, radius, seed)
    second = field(points + d) - 2.0 * field(points) + field(points - d)
    return (second**2).sum(-1).mean(-1) / radius**4


def lipschitz_penalty(field: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor, *, bound: float, radius: float = 0.1, seed: int = 0) -> torch.Tensor:
    r"""Mean of :math:`\mathrm{relu}(|V(x+\delta) - V(x)|/|\delta| - L)^2` along random δ: a soft Lipschitz bound L. (K,)."""
    d = _directions(points, radius, seed)
    slope = (field(points + d) - field(points)).norm(dim=-1) / radius
    return torch.relu(slope - bound).pow(2).mean(-1)


def fit_affine(values: torch.Tensor, points: torch.Tensor, weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Least-squares affine fit :math:`V_k(x) \approx A_k x + b_k` on sampled points.

    ``values`` (K, N, n), ``points`` (N, n). Returns ``A`` (K, n, n), ``b`` (K, n) and the
    *affine-ness* (K,) :math:`= 1 - \|V - (Ax+b)\|^2/\|V\|^2` (1: exactly affine).
    """
    n = points.shape[-1]
    design = torch.cat([points, torch.ones_like(points[:, :1])], dim=1)  # (N, n+1)
    if weights is not None:
        sw = weights.sqrt()[:, None]
        design_w, vals_w = design * sw, values * sw
    else:
        design_w, vals_w = design, values
    sol = torch.linalg.lstsq(design_w.expand(values.shape[0], *design_w.shape), vals_w).solution  # (K, n+1, n)
    a = sol[:, :n, :].transpose(1, 2)
    b = sol[:, n, :]
    resid = values - (torch.einsum("kij,nj->kni", a, points) + b[:, None, :])
    total = (values**2).sum(dim=(1, 2)).clamp_min(torch.finfo(values.dtype).tiny)
    return a, b, 1.0 - (resid**2).sum(dim=(1, 2)) / total


def plane_affine_coefficients(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Coordinates of :math:`V = Ax + b` in the named plane basis (inverse of :func:`plane_affine_matrices`).

    ``a`` (..., 2, 2), ``b`` (..., 2) -> (..., 6): ∂x, ∂y, rotation :math:`(A_{21}-A_{12})/2`,
    scaling :math:`(A_{11}+A_{22})/2`, shears :math:`(A_{11}-A_{22})/2` and :math:`(A_{12}+A_{21})/2`.
    """
    return torch.stack([
        b[..., 0], b[..., 1],
        (a[..., 1, 0] - a[..., 0, 1]) / 2, (a[..., 0, 0] + a[..., 1, 1]) / 2,
        (a[..., 0, 0] - a[..., 1, 1]) / 2, (a[..., 0, 1] + a[..., 1, 0]) / 2,
    ], dim=-1)
