r"""One-parameter flows :math:`\exp(\varepsilon V)` of point vector fields on (x, t, u).

The flow of :math:`V = \xi\partial_x + \tau\partial_t + \varphi\partial_u` solves

.. math::  \frac{d}{d\varepsilon}(x, t, u) = (\xi, \tau, \varphi)(x, t, u),\qquad (x, t, u)|_{\varepsilon=0} = (x_0, t_0, u_0).

:func:`closed_form_flow` integrates it with sympy when the system is *triangular* (some
component depends only on itself once the components already solved are substituted), which
covers every exact algebra in pdesym (translations, Galilean boosts, scalings, Burgers'
projective field, the heat equation's fields), and checks the answer by substitution.
:class:`FieldFlow` evaluates a flow on batched tensors: through the closed form when there is
one, else by integrating the ODE with torchdiffeq -- also for learned (MLP) fields given as
callables ``f(x, t, u) -> (..., 3)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import sympy as sp
import torch

from pdesym.equations import T, U, X
from pdesym.errors import PdesymError
from pdesym.symbolic.vectorfield import VectorField

__all__ = ["EPSILON", "FieldFlow", "NumericField", "closed_form_flow", "integrate_flow"]

#: The group parameter symbol of closed-form flows.
EPSILON = sp.Symbol("epsilon", real=True)

#: A numeric vector field: ``f(x, t, u) -> tensor (..., 3)`` of (ξ, τ, φ); inputs broadcast.
NumericField = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _solve_scalar(rhs: sp.Expr, var: sp.Symbol, start: sp.Symbol) -> sp.Expr | None:
    """Solve ``dv/dε = rhs(v, ε)``, ``v(0) = start``; None when sympy cannot or the check fails."""
    if var not in rhs.free_symbols:  # a quadrature
        sol = start + sp.integrate(rhs, (EPSILON, 0, EPSILON))
    else:
        f = sp.Function("f_flow")
        try:
            found = sp.dsolve(sp.Eq(f(EPSILON).diff(EPSILON), rhs.subs(var, f(EPSILON))), f(EPSILON),
                              ics={f(0): start})
        except (NotImplementedError, ValueError, TypeError, ZeroDivisionError, sp.PolynomialError):
            return None
        if isinstance(found, list):  # several branches: keep the one through the start point
            found = [s for s in found if sp.simplify(s.rhs.subs(EPSILON, 0) - start) == 0]
            if len(found) != 1:
                return None
            found = found[0]
        sol = found.rhs
    if sol.has(sp.Integral) or sol.has(sp.Piecewise):
        return None
    sol = sp.simplify(sp.cancel(sp.together(sol)))
    check = sp.simplify(sp.diff(sol, EPSILON) - rhs.subs(var, sol))
    if check != 0 or sp.simplify(sol.subs(EPSILON, 0) - start) != 0:
        return None
    return sol


@lru_cache(maxsize=256)
def closed_form_flow(field: VectorField) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    r"""The flow :math:`(x, t, u) \mapsto \exp(\varepsilon V)(x, t, u)` as three sympy expressions in
    x, t, u (the start point) and :data:`EPSILON`, or None when it has no closed form here.

    The system is solved one component at a time: a component whose right-hand side depends only
    on itself and the components already solved is a scalar ODE in ε (sympy ``dsolve``); every
    solution is checked by substitution into the ODE and the initial condition.
    """
    if not isinstance(field, VectorField):
        raise PdesymError(f"closed_form_flow needs a VectorField, got {type(field).__name__}.")
    if field.free_symbols:
        return None  # symbolic parameters without values: no numeric flow either
    running = {X: sp.Dummy("x_run", real=True), T: sp.Dummy("t_run", real=True), U: sp.Dummy("u_run", real=True)}
    rhs = {v: c.xreplace(running) for v, c in zip((X, T, U), field.components)}
    solved: dict[sp.Symbol, sp.Expr] = {}
    while len(solved) < 3:
        progress = False
        for v in (T, X, U):  # τ first: it rarely depends on x or u
            if v in solved:
                continue
            expr = rhs[v].xreplace({running[w]: solved[w] for w in solved})
            others = {running[w] for w in (X, T, U) if w not in solved and w != v}
            if expr.free_symbols & others:
                continue
            sol = _solve_scalar(expr, running[v], v)
            if sol is None:
                return None
            solved[v] = sol
            progress = True
        if not progress:
            return None
    return solved[X], solved[T], solved[U]


def integrate_flow(field: NumericField, x: torch.Tensor, t: torch.Tensor, u: torch.Tensor, eps: torch.Tensor,
                   *, method: str = "rk4", steps: int = 16, rtol: float = 1e-10, atol: float = 1e-12
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Integrate :math:`\dot y = \varepsilon\,V(y)` from s = 0 to 1 with torchdiffeq, which is
    :math:`\exp(\varepsilon V)` applied to the points (x, t, u); ``eps`` broadcasts against them.

    ``method="rk4"`` takes ``steps`` fixed steps (fast, error ~ (ε L / steps)^4 for a field of
    Lipschitz constant L); adaptive methods (``"dopri5"``, ``"dopri8"``) use ``rtol``/``atol``.
    """
    from torchdiffeq import odeint

    shape = torch.broadcast_shapes(x.shape, t.shape, u.shape, eps.shape)
    y0 = torch.stack([x.expand(shape), t.expand(shape), u.expand(shape)], dim=-1)
    scale = eps.expand(shape)[..., None]

    def rhs(_s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return scale * field(y[..., 0], y[..., 1], y[..., 2])

    grid = torch.tensor([0.0, 1.0], dtype=y0.dtype, device=y0.device)
    options = {"step_size": 1.0 / steps} if method in ("rk4", "euler", "midpoint", "explicit_adams") else None
    kwargs = {"options": options} if options else {"rtol": rtol, "atol": atol}
    y1 = odeint(rhs, y0, grid, method=method, **kwargs)[-1]
    return y1[..., 0], y1[..., 1], y1[..., 2]


@dataclass(frozen=True, eq=False)
class FieldFlow:
    r"""The one-parameter group :math:`\exp(\varepsilon V)` of one field, evaluated on tensors.

    ``field`` is a :class:`VectorField` (closed form when :func:`closed_form_flow` finds one and
    ``numeric`` is False, else torchdiffeq) or a numeric field ``f(x, t, u) -> (..., 3)`` such as a
    learned MLP (always integrated). ``base_depends_on_u`` says whether ξ or τ depend on u (then
    the map of the (x, t) plane depends on the solution and resampling must iterate).
    """

    field: VectorField | NumericField
    name: str = ""
    numeric: bool = False
    method: str = "rk4"
    steps: int = 16

    def __post_init__(self) -> None:
        if not isinstance(self.field, VectorField) and not callable(self.field):
            raise PdesymError(f"A flow needs a VectorField or a callable field, got {type(self.field).__name__}.")
        if isinstance(self.field, VectorField) and self.field.free_symbols:
            names = ", ".join(sorted(map(str, self.field.free_symbols)))
            raise PdesymError(f"The generator {self.field.text()} has symbolic parameters ({names}) without values.")

    @property
    def symbolic(self) -> bool:
        """True for a sympy field."""
        return isinstance(self.field, VectorField)

    @property
    def closed_form(self) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
        """The sympy flow, or None (numeric field, no closed form, or ``numeric=True``)."""
        if not self.symbolic or self.numeric:
            return None
        return closed_form_flow(self.field)

    @property
    def kind(self) -> str:
        """``closed form``, ``integrated`` (symbolic field without closed form) or ``learned``."""
        if not self.symbolic:
            return "learned"
        return "closed form" if self.closed_form is not None else "integrated"

    @property
    def base_depends_on_u(self) -> bool:
        """Whether ξ or τ depend on u (assumed True for numeric fields)."""
        if not self.symbolic:
            return True
        return U in (self.field.xi.free_symbols | self.field.tau.free_symbols)

    def _compiled(self) -> Callable:
        cached = getattr(self, "_fn", None)
        if cached is None:
            form = self.closed_form
            if form is not None:
                cached = sp.lambdify([X, T, U, EPSILON], list(form), modules="torch")
            else:
                cached = self.field.numeric("torch") if self.symbolic else self.field
            object.__setattr__(self, "_fn", cached)
        return cached

    def text(self) -> str:
        """The field as text (``t∂x + ∂u``) or the given name for a learned field."""
        return self.field.text() if self.symbolic else (self.name or repr(self.field))

    def __call__(self, x: torch.Tensor, t: torch.Tensor, u: torch.Tensor, eps: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:math:`\\exp(\\varepsilon V)(x, t, u)`; every argument broadcasts (ε is usually (B, 1, 1))."""
        fn = self._compiled()
        if self.closed_form is not None:
            shape = torch.broadcast_shapes(x.shape, t.shape, u.shape, eps.shape)
            out = fn(x, t, u, eps)
            return tuple(_as_tensor(c, shape, x) for c in out)  # type: ignore[return-value]
        return integrate_flow(fn, x, t, u, eps, method=self.method, steps=self.steps)


def _as_tensor(value, shape: Sequence[int], like: torch.Tensor) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        value = torch.tensor(float(value), dtype=like.dtype, device=like.device)
    return value.to(like.dtype).expand(shape)
