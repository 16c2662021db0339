r"""Prolongation of point vector fields on jets, in torch (batched, differentiable).

A batch of K fields :math:`V_k = \xi_k\partial_x + \tau_k\partial_t + \varphi_k\partial_u` is given as

* a callable ``f(x, t, u) -> (..., K, 3)`` (or ``(..., 3)`` for one field), e.g. an MLP; if it
  has a method ``x_derivatives(jets, n)`` returning :math:`[D_x^j(\xi, \tau, \varphi)]_{j\le n}`
  as (N, K, 3) tensors (its own Taylor mode, see :mod:`pdesym.taylor`), that is used instead
  of nested jvp, and likewise ``t_derivative(jets)`` -> :math:`D_t(\xi, \tau, \varphi)`;
* a :class:`~pdesym.symbolic.VectorField` or a list of them;
* a :class:`~pdesym.discovery.dictionary.FunctionDictionary` (all 3M elementary fields
  :math:`f_m\partial_x, f_m\partial_t, f_m\partial_u`, in that block order) or
  :class:`~pdesym.discovery.dictionary.DictionaryFields` (a coefficient matrix over one).

Total derivatives of a component :math:`g(x, t, u)` along a solution are exact Taylor-mode
derivatives: :math:`D_x^a D_t^b g = \partial_s^a\partial_r^b\, g(x + s, t + r, U(s, r))|_0` with
:math:`U(s, r) = \sum u_{x^i t^j} s^i r^j / (i!\,j!)`, computed by nested forward-mode
``torch.func.jvp`` (exact, no finite differences, differentiable w.r.t. the callable's parameters).

For an evolution equation :math:`u_t = F[u]` the symmetry condition in characteristic form is
(DESIGN §7.1; Olver Thm. 2.71 / 5.2)

.. math:: R = D_t Q - F'[u](Q) = 0,\qquad Q = \varphi - \xi u_x - \tau u_t,\quad
          F'[u] = \sum_j \frac{\partial F}{\partial u_{x^j}} D_x^j,

on solutions; :func:`characteristic_residual` evaluates it on on-shell jets. :func:`prolong`
gives the coefficients :math:`\varphi^J = D_J Q + \xi u_{J,x} + \tau u_{J,t}` at arbitrary jets
and :func:`prolongation_residual` the plain :math:`\mathrm{pr}\,V(\Delta)` for any equation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import comb, factorial
from typing import Callable, Sequence

import sympy as sp
import torch
from torch.func import jvp

from pdesym.equations import T, X, Equation, derivative_orders, derivative_symbol, get_equation, jet_symbols_of, to_torch
from pdesym.errors import PdesymError
from pdesym.jets import Jets

__all__ = [
    "ResidualParts",
    "as_field_function",
    "total_derivatives",
    "x_derivatives",
    "t_derivative",
    "characteristic_residual",
    "prolong",
    "prolongation_residual",
    "linearisation",
    "residual_from_derivatives",
]


# --------------------------------------------------------------------------- fields as functions
def as_field_function(fields) -> tuple[Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor], int]:
    """(f, K): ``f(x, t, u) -> (N, K, 3)`` for N points, from any accepted field batch."""
    from pdesym.symbolic.vectorfield import VectorField

    if isinstance(fields, VectorField):
        fields = [fields]
    if isinstance(fields, (list, tuple)) and fields and all(isinstance(f, VectorField) for f in fields):
        fns = [f.numeric("torch") for f in fields]

        def evaluate(x, t, u):
            return torch.stack([fn(x, t, u) for fn in fns], dim=-2)

        return evaluate, len(fns)
    if callable(fields):
        def evaluate(x, t, u):
            out = fields(x, t, u)
            if out.dim() == x.dim() + 1:
                out = out.unsqueeze(-2)
            if out.shape[-1] != 3 or out.dim() != x.dim() + 2:
                raise PdesymError(
                    f"A field callable must return (..., K, 3) or (..., 3) values for (xi, tau, phi); got shape {tuple(out.shape)}."
                )
            return out

        return evaluate, -1  # K known after the first call
    raise PdesymError(
        f"Cannot use {type(fields).__name__} as vector fields; pass a callable (x, t, u) -> (..., K, 3), "
        "a VectorField or a list of them, or a FunctionDictionary."
    )


# --------------------------------------------------------------------------- Taylor-mode derivatives
def _chain(fn: Callable, k: int, which: int) -> Callable:
    """g(s, r) -> (fn, ∂fn, ..., ∂^k fn) along s (which = 0) or r (which = 1), by nested jvp."""
    if k == 0:
        return lambda s, r: (fn(s, r),)
    prev = _chain(fn, k - 1, which)

    def g(s, r):
        if which == 0:
            p, tg = jvp(lambda s_: prev(s_, r), (s,), (torch.ones_like(s),))
        else:
            p, tg = jvp(lambda r_: prev(s, r_), (r,), (torch.ones_like(r),))
        return tuple(p) + (tg[-1],)

    return g


def _curve(jets_values: dict, order_x: int, order_t: int):
    """U(s, r) = Σ u_{x^i t^j} s^i r^j / (i! j!) over i ≤ order_x, j ≤ order_t (the ones present)."""
    terms = [(i, j, v / (factorial(i) * factorial(j))) for (i, j), v in jets_values.items()
             if i <= order_x and j <= order_t]

    def U(s, r):
        out = 0
        for i, j, c in terms:
            out = out + c * (s ** i if i else 1) * (r ** j if j else 1)
        return out

    return U


def total_derivatives(fn: Callable, jets: Jets, orders: Sequence[tuple[int, int]]) -> dict[tuple[int, int], torch.Tensor]:
    r""":math:`D_x^a D_t^b\, g(x, t, u)` along the jet for each (a, b) in ``orders``.

    ``fn(x, t, u)`` is any torch function of flat (N,) inputs (output (N, ...)); the jet must hold
    :math:`u_{x^i t^j}` for every i ≤ a, j ≤ b. Exact (nested forward-mode AD).
    """
    orders = sorted(set(tuple(o) for o in orders))
    out: dict = {}
    x, t = jets.x, jets.t
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    for b in sorted({o[1] for o in orders}):
        amax = max(o[0] for o in orders if o[1] == b)
        missing = [(i, j) for i in range(amax + 1) for j in range(b + 1) if (i, j) not in jets.values]
        if missing:
            raise PdesymError(f"The jet lacks {', '.join(str(derivative_symbol(*m)) for m in missing)} "
                              f"needed for D_x^{amax} D_t^{b}.")
        U = _curve(dict(jets.values), amax, b)
        h = lambda s, r: fn(x + s, t + r, U(s, r))  # noqa: E731
        g = _chain(lambda s, r: _chain(h, b, 1)(s, r), amax, 0)
        res = g(zero, zero)  # res[a][b']
        for a in range(amax + 1):
            if (a, b) in orders:
                out[(a, b)] = res[a][b]
    return out


def x_derivatives(fn: Callable, jets: Jets, n: int) -> list[torch.Tensor]:
    r""":math:`[D_x^j g]_{j=0..n}` along the jet (univariate Taylor mode: one chain of n jvps)."""
    x, t = jets.x, jets.t
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    U = _curve({o: v for o, v in jets.values.items() if o[1] == 0}, n, 0)
    res = _chain(lambda s, r: fn(x + s, t, U(s, r)), n, 0)(zero, zero)
    return list(res)


def t_derivative(fn: Callable, jets: Jets) -> torch.Tensor:
    r""":math:`D_t g = g_t + g_u u_t` (one jvp along (0, 1, u_t))."""
    x, t, u = jets.x, jets.t, jets[(0, 0)]
    return jvp(fn, (x, t, u), (torch.zeros_like(x), torch.ones_like(t), jets[(0, 1)]))[1]


# --------------------------------------------------------------------------- equation data
@lru_cache(maxsize=128)
def _linearisation_cached(rhs: sp.Expr, n: int):
    return [to_torch(sp.diff(rhs, derivative_symbol(j, 0))) for j in range(n + 1)]


def linearisation(equation: Equation) -> list[Callable]:
    r"""Torch functions of :math:`\partial F/\partial u_{x^j}`, j = 0..n, for :math:`u_t = F`."""
    if not equation.is_evolution:
        raise PdesymError(
            f"The characteristic residual needs an evolution equation u_t = F(x, t, u, u_x, ...); "
            f"{equation.text!r} is solved for {equation.leading}. Use prolongation_residual."
        )
    return _linearisation_cached(equation.rhs_numeric, equation.spatial_order)


# --------------------------------------------------------------------------- the residual
@dataclass(frozen=True, eq=False)
class ResidualParts:
    r"""Pieces of :math:`R = D_tQ - F'[u](Q)` for K fields at N points, each (N, K).

    ``xi, tau, phi`` are the field values, ``Q`` the characteristic, ``DtQ`` and ``FQ`` the two
    terms of R. Everything is linear in the fields.
    """

    R: torch.Tensor
    DtQ: torch.Tensor
    FQ: torch.Tensor
    Q: torch.Tensor
    xi: torch.Tensor
    tau: torch.Tensor
    phi: torch.Tensor


FieldComponents = tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]


def residual_from_derivatives(dx: Sequence[FieldComponents], dt: FieldComponents, jets: Jets,
                              lin: Sequence[torch.Tensor]) -> ResidualParts:
    r"""The residual :math:`R = D_tQ - F'[u](Q)` from total derivatives of the fields' components.

    With :math:`Q = \varphi - \xi u_x - \tau u_t`, Leibniz gives

    .. math:: D_x^j Q = D_x^j\varphi - \sum_{a\le j}\binom{j}{a}\big(D_x^a\xi\,u_{x^{j-a+1}}
              + D_x^a\tau\,u_{x^{j-a}t}\big),\qquad
              D_tQ = D_t\varphi - D_t\xi\,u_x - \xi u_{xt} - D_t\tau\,u_t - \tau u_{tt},

    and :math:`F'[u](Q) = \sum_j (\partial F/\partial u_{x^j})\,D_x^j Q`. This is the common
    back end of every field representation (nested jvp, dictionary series, MLP Taylor mode):
    each only has to supply the derivatives.

    Args:
        dx: ``dx[j] = (D_x^j ξ, D_x^j τ, D_x^j φ)`` for j = 0..n (n = spatial order), each (N, K);
            any component may be ``None`` (identically zero, e.g. one slot of a dictionary block).
        dt: ``(D_t ξ, D_t τ, D_t φ)``, each (N, K) or ``None``.
        jets: flat on-shell jets (N,) holding :math:`u_{x^i}` (i ≤ n + 1), :math:`u_{x^i t}`
            (i ≤ n) and :math:`u_{tt}`.
        lin: the values (N,) of :math:`\partial F/\partial u_{x^j}`, j = 0..n
            (:func:`linearisation` evaluated at the jets).

    Returns:
        :class:`ResidualParts`, each (N, K).
    """
    n = len(lin) - 1
    u = {o: v.unsqueeze(-1) for o, v in jets.values.items()}
    ref = next(c for c in dx[0] if c is not None)
    zero = torch.zeros_like(ref)
    comp = lambda c: zero if c is None else c  # noqa: E731
    DxQ = []
    for j in range(n + 1):
        q = comp(dx[j][2])
        for a in range(j + 1):
            c = comb(j, a)
            if dx[a][0] is not None:
                q = q - c * dx[a][0] * u[(j - a + 1, 0)]
            if dx[a][1] is not None:
                q = q - c * dx[a][1] * u[(j - a, 1)]
        DxQ.append(q)
    xi0, tau0, phi0 = (comp(c) for c in dx[0])
    DtQ = comp(dt[2])
    if dt[0] is not None:
        DtQ = DtQ - dt[0] * u[(1, 0)] - xi0 * u[(1, 1)]
    if dt[1] is not None:
        DtQ = DtQ - dt[1] * u[(0, 1)] - tau0 * u[(0, 2)]
    FQ = sum(l.unsqueeze(-1) * DxQ[j] for j, l in enumerate(lin))
    return ResidualParts(DtQ - FQ, DtQ, FQ, DxQ[0], xi0, tau0, phi0)


def _check_jets(jets: Jets, n: int) -> None:
    need = [(k, 0) for k in range(n + 2)] + [(k, 1) for k in range(n + 1)] + [(0, 2)]
    missing = [o for o in need if o not in jets.values]
    if missing:
        raise PdesymError(
            f"The jet lacks {', '.join(str(derivative_symbol(*m)) for m in missing)}; compute it with "
            "pdesym.jets.compute_jets(u, x, t, equation)."
        )


def characteristic_residual(fields, jets: Jets, equation: Equation | str | None = None, *,
                            parts: bool = False) -> torch.Tensor | ResidualParts:
    r"""The residual :math:`R = D_tQ - F'[u](Q)` of K fields at the jet points, shape jets.shape + (K,).

    Zero for a Lie point symmetry of :math:`u_t = F[u]` on on-shell jets (identically in the jet
    values). Linear in the fields; differentiable w.r.t. field parameters and dictionary
    coefficients. With ``parts=True`` returns :class:`ResidualParts` (flat (N, K) tensors).
    """
    from pdesym.discovery.dictionary import DictionaryFields, FunctionDictionary
    from pdesym.symbolic.vectorfield import VectorField

    eq = equation if equation is not None else jets.equation
    if eq is None:
        raise PdesymError("The characteristic residual needs the equation; pass equation=... .")
    eq = get_equation(eq) if isinstance(eq, str) else eq
    shape = jets.shape
    flat = jets if len(shape) == 1 else Jets(jets.x.reshape(-1), jets.t.reshape(-1),
                                             {o: v.reshape(-1) for o, v in jets.values.items()},
                                             jets.on_shell, None, jets.equation)
    n = eq.spatial_order
    _check_jets(flat, n)
    names = flat.names()
    lin = [f(flat.x, flat.t, names) for f in linearisation(eq)]
    if isinstance(fields, VectorField) or (isinstance(fields, (list, tuple)) and fields
                                           and all(isinstance(f, VectorField) for f in fields)):
        fields = DictionaryFields.from_vector_fields(fields) or fields  # polynomial: exact series, no jvp
    if isinstance(fields, (FunctionDictionary, DictionaryFields)):
        dictionary = fields if isinstance(fields, FunctionDictionary) else fields.dictionary
        cols = _dictionary_parts(dictionary, flat, lin)
        result = cols if isinstance(fields, FunctionDictionary) else _contract(cols, fields.matrix())
    else:
        fn, _ = as_field_function(fields)
        # A field object may bring its own Taylor mode (``x_derivatives(jets, n)`` -> list of
        # (N, K, 3)): much faster than nested jvp through a generic callable.
        own = getattr(fields, "x_derivatives", None)
        dx = own(flat, n) if callable(own) else x_derivatives(fn, flat, n)
        own_t = getattr(fields, "t_derivative", None)
        dt = own_t(flat) if callable(own_t) else t_derivative(fn, flat)
        result = residual_from_derivatives([tuple(d.unbind(-1)) for d in dx], tuple(dt.unbind(-1)), flat, lin)
    if parts:
        return result
    return result.R.reshape(*shape, -1)


def _dictionary_parts(dictionary, jets: Jets, lin) -> ResidualParts:
    """Residual columns of the 3M elementary fields f_m∂x | f_m∂t | f_m∂u of a dictionary."""
    n = len(lin) - 1
    dx = dictionary.x_derivatives(jets, n)  # each (N, M), exact Taylor series
    dt = dictionary.total_derivatives(jets, [(0, 1)])[(0, 1)]  # D_t f = f_t + f_u u_t
    blocks = []
    for slot in range(3):
        dxs = [tuple(d if s == slot else None for s in range(3)) for d in dx]
        dts = tuple(dt if s == slot else None for s in range(3))
        blocks.append(residual_from_derivatives(dxs, dts, jets, lin))
    cat = lambda name: torch.cat([getattr(b, name) for b in blocks], dim=-1)  # noqa: E731
    return ResidualParts(*(cat(k) for k in ("R", "DtQ", "FQ", "Q", "xi", "tau", "phi")))


def _contract(cols: ResidualParts, matrix: torch.Tensor) -> ResidualParts:
    """Parts of the fields whose coefficients over the 3M columns are the rows of ``matrix`` (K, 3M)."""
    mt = matrix.to(cols.R.dtype).T
    return ResidualParts(*(getattr(cols, k) @ mt for k in ("R", "DtQ", "FQ", "Q", "xi", "tau", "phi")))


# --------------------------------------------------------------------------- general prolongation
def prolong(fields, jets: Jets, order: int | None = None, *,
            orders: Sequence[tuple[int, int]] | None = None) -> dict[tuple[int, int], torch.Tensor]:
    r"""Prolongation coefficients :math:`\varphi^J`, :math:`|J| \le` order, at arbitrary jets.

    :math:`\varphi^J = D_J Q + \xi u_{J,x} + \tau u_{J,t}` (Olver Thm. 2.36), each (N, K); (0, 0)
    gives φ. The jet must hold every :math:`u_{x^i t^j}` with i ≤ a + 1, j ≤ b + 1 for each
    wanted J = (a, b). ``orders`` picks the J (default: all with |J| ≤ order). Nothing is
    eliminated: this is the torch twin of :func:`pdesym.symbolic.prolong`.
    """
    if orders is None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 0:
            raise PdesymError(f"The prolongation order must be an integer >= 0, got {order!r}.")
        wanted = [(a, b) for tot in range(order + 1) for b in range(tot + 1) for a in [tot - b]]
    else:
        wanted = sorted(set(tuple(o) for o in orders))
    from pdesym.discovery.dictionary import DictionaryFields
    from pdesym.symbolic.vectorfield import VectorField

    below = sorted({(i, j) for (a, b) in wanted for i in range(a + 1) for j in range(b + 1)})
    series = fields if isinstance(fields, DictionaryFields) else None
    if series is None and (isinstance(fields, VectorField) or (
            isinstance(fields, (list, tuple)) and fields and all(isinstance(f, VectorField) for f in fields))):
        series = DictionaryFields.from_vector_fields(fields)  # polynomial fields: exact bivariate series
    if series is not None:
        D = series.total_derivatives(jets, below)  # (N, K, 3)
    else:
        fn, _ = as_field_function(fields)
        D = total_derivatives(fn, jets, below)
    u = {o: v.unsqueeze(-1) for o, v in jets.values.items()}
    out = {}
    for (a, b) in wanted:
        q = D[(a, b)][..., 2]
        for i in range(a + 1):
            for j in range(b + 1):
                c = comb(a, i) * comb(b, j)
                d = D[(i, j)]
                q = q - c * (d[..., 0] * u[(a - i + 1, b - j)] + d[..., 1] * u[(a - i, b - j + 1)])
        xi, tau = D[(0, 0)][..., 0], D[(0, 0)][..., 1]
        out[(a, b)] = q + xi * u[(a + 1, b)] + tau * u[(a, b + 1)]
    return out


@lru_cache(maxsize=128)
def _delta_partials(delta: sp.Expr):
    jets = sorted(jet_symbols_of(delta), key=lambda s: s.name)
    parts = {derivative_orders(s): to_torch(sp.diff(delta, s)) for s in jets}
    return to_torch(sp.diff(delta, X)), to_torch(sp.diff(delta, T)), parts


def prolongation_residual(fields, jets: Jets, equation: Equation | str) -> torch.Tensor:
    r""":math:`\mathrm{pr}\,V(\Delta) = \xi\Delta_x + \tau\Delta_t + \sum_J \varphi^J\,\partial\Delta/\partial u_J` at the jets, (N, K).

    For any equation form; zero for a symmetry at jets that satisfy the equation and its
    differential consequences. Equal to :func:`characteristic_residual` on on-shell jets of an
    evolution equation.
    """
    eq = get_equation(equation) if isinstance(equation, str) else equation
    dx_fn, dt_fn, partials = _delta_partials(eq.delta_numeric)
    fn, _ = as_field_function(fields)
    coeffs = prolong(fields, jets, orders=list(partials))
    names = jets.names()
    V = fn(jets.x, jets.t, jets[(0, 0)])
    out = V[..., 0] * dx_fn(jets.x, jets.t, names).unsqueeze(-1) + V[..., 1] * dt_fn(jets.x, jets.t, names).unsqueeze(-1)
    for o, f in partials.items():
        out = out + coeffs[o] * f(jets.x, jets.t, names).unsqueeze(-1)
    return out
