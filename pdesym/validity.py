r"""Validity scores: how far a vector field is from being a symmetry of the data's equation.

*Infinitesimal validity* (linear in the field): the mean square of the characteristic residual
:math:`R = D_tQ - F'[u](Q)` over jet points divided by a mean-square *normalisation* that is
also linear in the field, so the score is scale-free and the same formula gives a generalised
eigenproblem for dictionaries (:func:`validity_grams`):

* ``"V"``: the field's own size on the data,
  :math:`\omega^2\,\overline{(\xi s_x)^2 + (\tau s_t)^2 + \varphi^2}`, with :math:`s_x, s_t` the
  rms of :math:`u_x, u_t` and :math:`\omega = \mathrm{rms}(u_t)/\mathrm{rms}(u)` (units of R);
  worked on KdV, KS and Burgers (DESIGN §7.1);
* ``"P"``: :math:`\overline{(D_tQ)^2 + (F'Q)^2}` (the two terms that must cancel);
* ``"PV"``: the sum of both.

*Flow validity* (the finite test of Ko, Kim & Lee 2024): flow sampled patches by
:math:`\exp(\varepsilon V)` (torchdiffeq), re-estimate derivatives by a local polynomial fit on
the moved points, and score the PDE residual of the result relative to the size of its terms.

*Jet-flow validity* (:func:`jet_flow_validity`): the same finite test done exactly in jet space —
the prolonged field moves the spectral on-shell jets, so no derivative is re-estimated; exact
symmetries score at rounding level on KdV, KS and Burgers alike.

All are differentiable in the field parameters. Absolute values do not transfer between
equations (DESIGN §7.1): compare fields on the same data, never threshold across equations.
"""

from __future__ import annotations

import math
from math import factorial
from typing import Callable

import torch

from pdesym.equations import Equation, get_equation
from pdesym.errors import PdesymError, check_choice
from pdesym.jets import Jets, Patches
from pdesym.prolongation import ResidualParts, as_field_function, characteristic_residual

__all__ = [
    "NORMALISATIONS",
    "VALIDITIES",
    "normaliser_terms",
    "infinitesimal_validity",
    "validity_grams",
    "flow_validity",
    "flow_points",
    "FLOW_REDUCTIONS",
    "fit_stencils",
    "jet_flow_validity",
]


def _norm_v(parts: ResidualParts, jets: Jets) -> torch.Tensor:
    s_x, s_t, s_u = jets.rms((1, 0)), jets.rms((0, 1)), jets.rms((0, 0))
    omega = s_t / s_u.clamp_min(torch.finfo(s_u.dtype).tiny)
    return torch.stack([parts.xi * (s_x * omega), parts.tau * (s_t * omega), parts.phi * omega])


def _norm_p(parts: ResidualParts, jets: Jets) -> torch.Tensor:
    return torch.stack([parts.DtQ, parts.FQ])


def _norm_pv(parts: ResidualParts, jets: Jets) -> torch.Tensor:
    return torch.cat([_norm_p(parts, jets), _norm_v(parts, jets)])


#: name -> (description, terms(parts, jets) -> (S, N, K) tensor linear in the field).
NORMALISATIONS: dict[str, tuple[str, Callable[[ResidualParts, Jets], torch.Tensor]]] = {
    "V": ("the field's size on the data (ξ·rms u_x, τ·rms u_t, φ, in units of R)", _norm_v),
    "P": ("the size of the two cancelling terms |D_tQ|, |F'[u]Q|", _norm_p),
    "PV": ("both of the above", _norm_pv),
}


def normaliser_terms(parts: ResidualParts, jets: Jets, normalisation: str = "V") -> torch.Tensor:
    """The (S, N, K) terms whose mean square over points (summed over S) normalises R²."""
    check_choice("normalisation", normalisation, NORMALISATIONS)
    return NORMALISATIONS[normalisation][1](parts, jets)


def _parts(fields, jets: Jets, equation) -> tuple[ResidualParts, Jets]:
    flat = jets.flatten() if len(jets.shape) != 1 or jets.mask is not None else jets
    eq = equation if equation is not None else jets.equation
    return characteristic_residual(fields, flat, eq, parts=True), flat


def infinitesimal_validity(fields, jets: Jets, equation: Equation | str | None = None, *,
                           normalisation: str = "V") -> torch.Tensor:
    r"""Scale-free validity :math:`\overline{R^2} / \overline{\sum_s N_s^2}` of each of K fields, shape (K,).

    0 for an exact symmetry (≈1e-30 on on-shell jets); O(1) for fields far from the algebra.
    """
    check_choice("normalisation", normalisation, NORMALISATIONS)
    parts, flat = _parts(fields, jets, equation)
    den = normaliser_terms(parts, flat, normalisation).pow(2).sum(0).mean(0)
    return parts.R.pow(2).mean(0) / den.clamp_min(torch.finfo(den.dtype).tiny)


def validity_grams(fields, jets: Jets, equation: Equation | str | None = None, *,
                   normalisation: str = "V") -> tuple[torch.Tensor, torch.Tensor]:
    r"""(G_R, G_N), both (K, K): :math:`G_R = R^\top R / N`, :math:`G_N = \sum_s N_s^\top N_s / N`.

    The validity of the combination :math:`\sum_k c_k V_k` is :math:`c^\top G_R c / c^\top G_N c`;
    the generalised eigenvalues of (G_R, G_N) score a whole span (for span-only losses).
    """
    check_choice("normalisation", normalisation, NORMALISATIONS)
    parts, flat = _parts(fields, jets, equation)
    n = parts.R.shape[0]
    terms = normaliser_terms(parts, flat, normalisation)
    return parts.R.T @ parts.R / n, torch.einsum("snk,snl->kl", terms, terms) / n


# --------------------------------------------------------------------------- finite flows
#: How :func:`flow_validity` turns per-point scores into one number per field.
FLOW_REDUCTIONS = {
    "mean": "mean over fit points of (u_t - F)^2 / (u_t^2 + F^2)",
    "median": "median of the same ratio (robust to the few points where the data are not resolved)",
    "global": "sum of (u_t - F)^2 over sum of (u_t^2 + F^2) (quiet points weigh by their size)",
}


class _OwnFlow(torch.nn.Module):
    """y (K, P, 3) -> field k at the points of flow k; a Module so the adjoint finds the field's parameters."""

    def __init__(self, fields) -> None:
        super().__init__()
        from pdesym.prolongation import as_field_function

        if isinstance(fields, torch.nn.Module):
            self.module = fields
        self.fn = as_field_function(fields)[0]

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        K = y.shape[0]
        flat = y.reshape(-1, 3)
        v = self.fn(flat[:, 0], flat[:, 1], flat[:, 2])  # (K*P, K, 3)
        v = v.reshape(K, -1, v.shape[-2], 3)
        idx = torch.arange(K, device=y.device)
        return v[idx, :, idx, :]


def flow_points(fields, points: torch.Tensor, eps: float | torch.Tensor, *, steps: int = 8,
                method: str = "rk4", adjoint: bool = False) -> torch.Tensor:
    r"""Points (K, P, 3) moved along each field k for "time" ``eps`` (scalar or (K,)): :math:`\exp(\varepsilon V_k)`.

    Integrated with torchdiffeq (:func:`pdesym.flows.integrate_flow`: ``method`` with ``steps``
    fixed steps over s ∈ [0, 1], or adaptive dopri5; ``adjoint`` for the adjoint backward pass).
    Differentiable in the field and ε.
    """
    from pdesym.flows import integrate_flow

    K = points.shape[0]
    eps = torch.as_tensor(eps, dtype=points.dtype, device=points.device).reshape(-1).expand(K)
    return integrate_flow(_OwnFlow(fields), points, eps, method=method, steps=steps, adjoint=adjoint)


def _poly_jets(px: torch.Tensor, pt: torch.Tensor, pu: torch.Tensor, cx: torch.Tensor, ct: torch.Tensor,
               hx: torch.Tensor, ht: torch.Tensor, deg_x: int, deg_t: int, orders) -> dict:
    """Derivatives at (cx, ct) of the least-squares polynomial of degrees (deg_x, deg_t) through
    scattered points; px, pt, pu (..., P); cx, ct, hx, ht (...)."""
    a = (px - cx.unsqueeze(-1)) / hx.unsqueeze(-1)
    b = (pt - ct.unsqueeze(-1)) / ht.unsqueeze(-1)
    # coordinates in [-1, 1] over the patch: a well-conditioned Vandermonde matrix for high degrees
    sa = a.abs().amax(-1).clamp_min(1.0)
    sb = b.abs().amax(-1).clamp_min(1.0)
    a, b = a / sa.unsqueeze(-1), b / sb.unsqueeze(-1)
    hx, ht = hx * sa, ht * sb
    exps = [(i, j) for j in range(deg_t + 1) for i in range(deg_x + 1) if i + j <= max(deg_x, deg_t)]
    V = torch.stack([a ** i * b ** j for i, j in exps], dim=-1)  # (..., P, C)
    Q, R = torch.linalg.qr(V)
    coef = torch.linalg.solve_triangular(R, (Q.transpose(-1, -2) @ pu.unsqueeze(-1)), upper=True).squeeze(-1)
    out = {}
    for o in orders:
        k = exps.index(o)
        out[o] = coef[..., k] * (factorial(o[0]) * factorial(o[1])) / (hx ** o[0] * ht ** o[1])
    return out


def fit_stencils(shape: tuple[int, int], stencil: tuple[int, int] | None = None, points: int = 1,
                 crop: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where :func:`flow_validity` re-estimates jets in a (pt, px) patch.

    Returns (it, ix) the centre samples, shape (E,), and (ti, xi) the stencil samples around each,
    shape (E, st, sx). ``stencil`` None: one fit through the whole patch at its centre. Otherwise
    a regular grid of about ``points`` centres whose stencils lie inside the patch at least
    ``crop`` samples away from its edges (the moved samples of a stencil surround its moved
    centre; no fit reaches past the patch).
    """
    pt, px = shape
    st, sx = (pt, px) if stencil is None else stencil
    if st < 3 or sx < 3 or st + 2 * crop > pt or sx + 2 * crop > px:
        raise PdesymError(f"A fit stencil of {st}×{sx} samples with crop {crop} does not fit in patches of {pt}×{px}.")
    if stencil is None:
        it, ix = torch.tensor([pt // 2]), torch.tensor([px // 2])
    else:
        g = max(1, math.isqrt(max(int(points), 1) - 1) + 1)  # ceil(sqrt(points)) per axis
        lo_t, hi_t = crop + st // 2, pt - 1 - crop - (st - 1 - st // 2)
        lo_x, hi_x = crop + sx // 2, px - 1 - crop - (sx - 1 - sx // 2)
        ct = torch.linspace(lo_t, hi_t, min(g, hi_t - lo_t + 1)).round().long().unique()
        cx = torch.linspace(lo_x, hi_x, min(g, hi_x - lo_x + 1)).round().long().unique()
        it, ix = (c.reshape(-1) for c in torch.meshgrid(ct, cx, indexing="ij"))
    ti = it[:, None, None] - st // 2 + torch.arange(st)[None, :, None]
    xi = ix[:, None, None] - sx // 2 + torch.arange(sx)[None, None, :]
    return it, ix, ti.expand(-1, st, sx), xi.expand(-1, st, sx)


def flow_validity(fields, patches: Patches, equation: Equation | str | None = None, *, eps: float = 0.05,
                  steps: int = 8, method: str = "rk4", adjoint: bool = False, deg_x: int | None = None,
                  deg_t: int = 2, stencil: tuple[int, int] | None = None, points: int = 1, crop: int = 0,
                  reduce: str = "mean", normalise: bool = True, per_point: bool = False) -> torch.Tensor:
    r"""Finite-flow validity of K fields on sampled patches, shape (K,) (or (K, n, E) with ``per_point``).

    Every sample (x, t, u) of each patch moves along :math:`\exp(\varepsilon V_k)` (torchdiffeq,
    ``method`` with ``steps`` steps, optionally adjoint); polynomials in (x, t) of degrees
    (deg_x, deg_t) are fitted by least squares to the moved samples of each fit stencil (the whole
    patch, or ``points`` interior stencils of size ``stencil`` — see :func:`fit_stencils`), their
    derivatives at the moved stencil centre give the jet, and each point scores
    :math:`r = (u_t - F)^2 / (u_t^2 + F^2)` for :math:`u_t = F`, reduced by ``reduce``
    (:data:`FLOW_REDUCTIONS`). With ``normalise`` each field is first scaled to unit size
    :math:`\overline{(\xi/L_x)^2 + (\tau/L_t)^2 + (\varphi/\sigma_u)^2}` on the patches (L the
    extent of x, t; σ_u the spread of u), so ε is a fraction of the data scale. An exact symmetry
    scores like ε = 0 (the fit error, which needs data resolved on the stencil in x *and* t); a
    non-symmetry grows like ε².
    """
    check_choice("flow reduction", reduce, FLOW_REDUCTIONS)
    eq = equation if equation is not None else patches.equation
    if eq is None:
        raise PdesymError("The flow validity needs the equation; pass equation=... .")
    eq = get_equation(eq) if isinstance(eq, str) else eq
    if not eq.is_evolution:
        raise PdesymError(f"The flow validity needs an evolution equation u_t = F; {eq.text!r} is not one.")
    n = eq.spatial_order
    deg_x = deg_x if deg_x is not None else n + 2
    it, ix, ti, xi = fit_stencils(tuple(patches.u.shape[1:]), stencil, points, crop)
    fields = _as_dictionary_fields(fields)
    if ti.shape[1] <= deg_t or ti.shape[2] <= deg_x:
        raise PdesymError(f"A {ti.shape[1]}×{ti.shape[2]} fit stencil cannot carry a polynomial of degrees "
                          f"({deg_x}, {deg_t}) in (x, t); use a larger stencil or lower degrees.")
    fn, _ = as_field_function(fields)
    pts = torch.stack([patches.x, patches.t, patches.u], dim=-1)  # (n, pt, px, 3)
    flat = pts.reshape(-1, 3)
    V0 = fn(flat[:, 0], flat[:, 1], flat[:, 2])  # (P, K, 3)
    K = V0.shape[-2]
    eps_k = torch.full((K,), float(eps), dtype=flat.dtype, device=flat.device)
    if normalise:
        scales = torch.stack([flat[:, 0].max() - flat[:, 0].min(), flat[:, 1].max() - flat[:, 1].min(),
                              flat[:, 2].std()]).clamp_min(torch.finfo(flat.dtype).tiny)
        size = (V0 / scales).pow(2).sum(-1).mean(0).sqrt()  # (K,)
        eps_k = eps_k / size.clamp_min(torch.finfo(flat.dtype).tiny)
    moved = flow_points(fields, flat.unsqueeze(0).expand(K, -1, 3).contiguous(), eps_k, steps=steps, method=method,
                        adjoint=adjoint)
    moved = moved.reshape(K, *pts.shape)  # (K, n, pt, px, 3)
    dev = moved.device
    it, ix, ti, xi = it.to(dev), ix.to(dev), ti.to(dev), xi.to(dev)
    c = moved[:, :, it, ix, :]  # (K, n, E, 3)
    P = moved[:, :, ti, xi, :].flatten(3, 4)  # (K, n, E, st*sx, 3)
    E = it.shape[0]
    hx = (patches.x[:, 0, 1] - patches.x[:, 0, 0]).abs().reshape(1, -1, 1).expand(K, -1, E)
    ht = (patches.t[:, 1, 0] - patches.t[:, 0, 0]).abs().reshape(1, -1, 1).expand(K, -1, E)
    orders = [(k, 0) for k in range(n + 1)] + [(0, 1)]
    jets = _poly_jets(P[..., 0], P[..., 1], P[..., 2], c[..., 0], c[..., 1], hx, ht, deg_x, deg_t, orders)
    names = {str(_sym(o)): v for o, v in jets.items() if o != (0, 0)}
    names["u"] = jets[(0, 0)]
    F = eq.rhs_function()(c[..., 0], c[..., 1], names)
    ut = jets[(0, 1)]
    tiny = torch.finfo(ut.dtype).tiny
    num, den = (ut - F).pow(2), ut.pow(2) + F.pow(2)
    score = num / den.clamp_min(tiny)  # (K, n, E)
    if per_point:
        return score
    if reduce == "global":
        return num.flatten(1).sum(-1) / den.flatten(1).sum(-1).clamp_min(tiny)
    if reduce == "median":
        return score.flatten(1).median(-1).values
    return score.flatten(1).mean(-1)


def jet_flow_validity(fields, jets: Jets, equation: Equation | str | None = None, *, eps: float = 0.05,
                      steps: int = 8, normalise: bool = True) -> torch.Tensor:
    r"""Finite validity in jet space: flow the jets by :math:`\exp(\varepsilon\,\mathrm{pr}V_k)`, score Δ there, (K,).

    :math:`\mathrm{pr}^{(n)}V` is a vector field on the jet space :math:`J^n` (φ^J depends on
    jets of order ≤ |J| only), so the jets :math:`(x, t, u_J)_{|J| \le n}` of the data can be moved
    exactly (torchdiffeq, ``steps`` RK4 steps) without re-estimating derivatives. The score is the
    mean of :math:`(u_t - F)^2 / (u_t^2 + F^2)` at the moved jets: rounding level for a symmetry
    (the flow maps solutions' jets to solutions' jets), O(ε²) or more for a non-symmetry, on any
    data whose jets are accurate (spectral). ``jets``: flat on-shell jets holding every
    :math:`u_J`, |J| ≤ the equation's order (``compute_jets(..., total_order=n)``). ``normalise``
    scales each field to unit size on the data as in :func:`flow_validity`.
    """
    from torchdiffeq import odeint

    from pdesym.prolongation import prolong

    eq = equation if equation is not None else jets.equation
    if eq is None:
        raise PdesymError("The jet-flow validity needs the equation; pass equation=... .")
    eq = get_equation(eq) if isinstance(eq, str) else eq
    if not eq.is_evolution:
        raise PdesymError(f"The jet-flow validity needs an evolution equation u_t = F; {eq.text!r} is not one.")
    n = eq.order
    S = [(i, j) for tot in range(n + 1) for j in range(tot + 1) for i in [tot - j]]
    flat = jets.flatten() if len(jets.shape) != 1 or jets.mask is not None else jets
    missing = [o for o in S if o not in flat.values]
    if missing:
        raise PdesymError(f"The jet-flow validity needs every u_J up to order {n}; compute the jets with "
                          f"compute_jets(..., total_order={n}).")
    from pdesym.discovery.dictionary import DictionaryFields
    from pdesym.symbolic.vectorfield import VectorField

    fields = _as_dictionary_fields(fields)
    fn, _ = as_field_function(fields)
    V0 = fn(flat.x, flat.t, flat[(0, 0)])  # (N, K, 3)
    K = V0.shape[-2]
    N = flat.shape[0]
    eps_k = torch.full((K,), float(eps), dtype=flat.x.dtype, device=flat.x.device)
    if normalise:
        scales = torch.stack([flat.x.max() - flat.x.min(), flat.t.max() - flat.t.min(),
                              flat[(0, 0)].std()]).clamp_min(torch.finfo(flat.x.dtype).tiny)
        size = (V0 / scales).pow(2).sum(-1).mean(0).sqrt()
        eps_k = eps_k / size.clamp_min(torch.finfo(flat.x.dtype).tiny)
    state0 = torch.stack([flat.x, flat.t] + [flat[o] for o in S], dim=-1)  # (N, 2 + |S|)
    state0 = state0.unsqueeze(0).expand(K, N, -1).contiguous()
    idx = torch.arange(K, device=flat.x.device)
    pad = [(i, j) for i in range(n + 2) for j in range(n + 2) if (i, j) not in S]

    def velocity(_s, y):
        pts = y.reshape(K * N, -1)
        vals = {o: pts[:, 2 + m] for m, o in enumerate(S)}
        # φ^J does not depend on u_{J+x}, u_{J+t} (their terms cancel): zeros stand in for them
        vals.update({o: torch.zeros_like(pts[:, 0]) for o in pad})
        J = Jets(pts[:, 0], pts[:, 1], vals)
        phis = prolong(fields, J, orders=S)  # (K*N, K) each
        V = fn(pts[:, 0], pts[:, 1], pts[:, 2])  # (K*N, K, 3)
        cols = [V[..., 0], V[..., 1]] + [phis[o] for o in S]
        v = torch.stack(cols, dim=-1).reshape(K, N, K, -1)[idx, :, idx, :]  # field k at flow k's jets
        return v * eps_k.reshape(K, 1, 1)

    s = torch.linspace(0.0, 1.0, 2, dtype=state0.dtype, device=state0.device)
    y = odeint(velocity, state0, s, method="rk4", options={"step_size": 1.0 / steps})[-1]
    names = {str(_sym(o)): y[..., 2 + m] for m, o in enumerate(S)}
    F = eq.rhs_function()(y[..., 0], y[..., 1], names)
    ut = names["u_t"]
    score = (ut - F).pow(2) / (ut.pow(2) + F.pow(2)).clamp_min(torch.finfo(ut.dtype).tiny)
    return score.mean(-1)


def _as_dictionary_fields(fields):
    """Closed-form VectorFields as one coefficient matrix (converted once, not per RK stage)."""
    from pdesym.discovery.dictionary import DictionaryFields
    from pdesym.symbolic.vectorfield import VectorField

    if isinstance(fields, VectorField) or (isinstance(fields, (list, tuple)) and fields
                                           and all(isinstance(f, VectorField) for f in fields)):
        return DictionaryFields.from_vector_fields(fields) or fields
    return fields


def _sym(o):
    from pdesym.equations import derivative_symbol

    return derivative_symbol(*o)


#: Validity scores by name: ``infinitesimal_validity(fields, jets, equation)``,
#: ``flow_validity(fields, patches, equation)``, ``jet_flow_validity(fields, full_jets, equation)``.
VALIDITIES: dict[str, Callable] = {
    "infinitesimal": infinitesimal_validity,
    "flow": flow_validity,
    "jetflow": jet_flow_validity,
}
