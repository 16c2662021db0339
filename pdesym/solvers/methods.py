r"""``solve``: one entry point that picks the integrator from the equation's structure.

For :math:`u_t = K(x, t, u, u_x, \dots)` on a periodic grid:

* ``colehopf`` — :math:`K = \nu u_{xx} - a u u_x` (viscous Burgers): the exact Cole–Hopf map
  (:mod:`pdesym.solvers.colehopf`), no time stepping;
* ``etdrk4`` — :math:`K = Lu + N` with a constant-coefficient linear L whose order exceeds every
  derivative order in N (L is the stiff part and is integrated exactly);
* ``dopri5`` — anything else (no linear part, or N as stiff as L, e.g. :math:`u_x u_{xx}` or
  :math:`(1 + u^2) u_{xx}`): adaptive Dormand–Prince (torchdiffeq) on the same dealiased
  pseudo-spectral right-hand side.

When :math:`K = g(t) K_0` (nkdv), time is re-parametrised exactly first: with
:math:`s = \int_0^t g`, :math:`u_s = K_0` is autonomous, and the stored times map to
:math:`s(t_n)`. The choice and the reason are reported in :attr:`Solution.message`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp
import torch

from pdesym.devices import resolve_device, resolve_dtype
from pdesym.equations import T, U, Equation, LinearSplit, derivative_symbol, get_equation
from pdesym.errors import PdesymError, check_choice
from pdesym.solvers.colehopf import MAX_LOG_RANGE, colehopf_solve
from pdesym.solvers.etdrk4 import ETDRK4
from pdesym.solvers.nonlinear import NonlinearPart, nonlinear_order
from pdesym.solvers.spectral import SpectralGrid

__all__ = ["METHODS", "Solution", "BlowUpError", "solve", "choose_method", "spectral_rhs"]

METHODS: dict[str, str] = {
    "auto": "colehopf for viscous Burgers, etdrk4 when the linear part is the stiff part, else dopri5",
    "etdrk4": "4th-order exponential time differencing (Cox-Matthews / Kassam-Trefethen)",
    "colehopf": "exact Cole-Hopf map (viscous Burgers only)",
    "dopri5": "adaptive Dormand-Prince 5(4), torchdiffeq (any evolution equation)",
}


class BlowUpError(PdesymError):
    """A trajectory became non-finite; ``index`` (in the batch) and ``time`` say which and when."""

    def __init__(self, index: int, time: float, detail: str = "") -> None:
        self.index = int(index)
        self.time = float(time)
        self.detail = detail
        msg = (f"Trajectory {self.index} blew up (non-finite values) by t = {self.time:.6g}"
               + (f"; {detail}" if detail else "") + ".")
        super().__init__(msg)


@dataclass(frozen=True, eq=False)
class Solution:
    """Result of :func:`solve`: u (B, nt, nx), x (nx,), t (nt,), the method used and why."""

    u: torch.Tensor
    x: torch.Tensor
    t: torch.Tensor
    method: str
    message: str


@dataclass(frozen=True)
class _Plan:
    split: LinearSplit
    time_map: Callable[[float], float] | None
    time_map_text: str


def _plan(equation: Equation) -> _Plan:
    """Split K, after the exact time re-parametrisation when K = g(t) K_0."""
    factor = equation.time_factor
    if factor is None:
        return _Plan(equation.split(), None, "")
    g, K0 = factor
    tau = sp.Dummy("tau", real=True)
    s_expr = sp.simplify(sp.integrate(g.subs(T, tau), (tau, 0, T)))
    if s_expr.has(sp.Integral):
        return _Plan(equation.split(), None, "")
    s_fn = sp.lambdify([T], s_expr, modules="math")
    return _Plan(equation.split(K0), lambda t: float(s_fn(t)), f"s = {sp.sstr(s_expr)}")


def burgers_form(split: LinearSplit) -> tuple[float, float] | None:
    """(nu, a) when the split is :math:`\\nu u_{xx} - a\\,u u_x` with nu > 0, a != 0, else None."""
    c = split.coeffs
    if len(c) != 3 or c[0] != 0 or c[1] != 0 or not c[2] > 0:
        return None
    a = sp.simplify(-split.nonlinear / (U * derivative_symbol(1)))
    if not a.is_number or a == 0:
        return None
    return float(c[2]), float(a)


def require_periodic_in_x(equation: Equation, length: float) -> None:
    r"""Refuse an equation whose explicit x-dependence is not L-periodic: :math:`K(x + L) \ne K(x)`.

    The pseudo-spectral solvers are periodic in x; a coefficient such as x would jump at the
    seam and the "solution" would be of another equation, silently.
    """
    from pdesym.equations import X

    rhs = equation.rhs_numeric
    if X not in rhs.free_symbols:
        return
    period = sp.nsimplify(length, [sp.pi])
    if sp.simplify(sp.expand_trig(rhs.subs(X, X + period) - rhs)) != 0 and not _periodic_at_samples(rhs, X, length):
        raise PdesymError(f"{equation.text!r} depends on x through terms that are not periodic with the domain "
                          f"length {length:g}, but the solver is periodic in x; write the x-dependence with "
                          f"functions of period {length:g}, e.g. sin(2*pi*x/{length:g}), or remove it.")


def _periodic_at_samples(expr: sp.Expr, x: sp.Symbol, length: float, n: int = 16) -> bool:
    """K(x + L) = K(x) to 1e-9 at seeded random values of x and of every other symbol (for the
    cases sympy does not reduce to 0, e.g. a float period of a trig function)."""
    import numpy as np

    others = sorted(expr.free_symbols - {x}, key=str)
    fn = sp.lambdify([x, *others], expr, "numpy")
    rng = np.random.default_rng(0)
    xs = rng.uniform(0.0, float(length), n)
    vals = [rng.uniform(-1.0, 1.0, n) for _ in others]
    with np.errstate(all="ignore"):
        a = np.asarray(fn(xs, *vals), dtype=float) * np.ones(n)
        b = np.asarray(fn(xs + float(length), *vals), dtype=float) * np.ones(n)
    return bool(np.all(np.isfinite(a)) and np.allclose(a, b, rtol=1e-9, atol=1e-12 * (1.0 + np.abs(a).max())))


def choose_method(equation: Equation, method: str = "auto") -> tuple[str, str]:
    """(method, reason) for ``equation``; an explicit method that cannot work is refused."""
    return _choose(equation, _plan(equation), method)


def _choose(equation: Equation, plan: _Plan, method: str) -> tuple[str, str]:
    check_choice("method", method, METHODS)
    order_l = max((j for j, c in enumerate(plan.split.coeffs) if c != 0), default=-1)
    n_order = nonlinear_order(plan.split.nonlinear) if plan.split.nonlinear != 0 else -1
    burgers = burgers_form(plan.split)
    splits = order_l >= 0 and order_l > n_order
    if method == "colehopf" and burgers is None:
        raise PdesymError(f"method='colehopf' needs a viscous Burgers equation u_t = nu*u_xx - a*u*u_x, "
                          f"got {equation.text!r}.")
    if method == "etdrk4" and not splits:
        raise PdesymError(
            f"method='etdrk4' needs a constant-coefficient linear part of higher order than the rest; "
            f"{equation.text!r} has linear order {max(order_l, 0)} and non-linear order {n_order}; use 'dopri5'."
        )
    if method != "auto":
        return method, f"{method} (asked for)"
    if burgers is not None:
        return "colehopf", f"colehopf: viscous Burgers (nu={burgers[0]:g}) solved exactly by the Cole-Hopf map"
    if splits:
        return "etdrk4", (f"etdrk4: linear part of order {order_l} integrated exactly, "
                          f"non-linear part of order {max(n_order, 0)}")
    why = ("no constant-coefficient linear part" if order_l < 0 else
           f"the non-linear part has derivatives of order {n_order} >= the linear order {order_l}")
    return "dopri5", f"dopri5 (adaptive fallback): {why}"


def spectral_rhs(split: LinearSplit, grid: SpectralGrid) -> Callable[[float, torch.Tensor], torch.Tensor]:
    r"""The dealiased pseudo-spectral :math:`f(t, u) = \mathcal F^{-1}[\hat L \hat u + \hat N]` on real samples."""
    symbol = split.symbol(grid.k.to(torch.float64)).to(grid.complex_dtype)
    nonlinear = NonlinearPart(split.nonlinear, grid)

    def rhs(t, u: torch.Tensor) -> torch.Tensor:
        v = torch.fft.rfft(u)
        return torch.fft.irfft(symbol * v + nonlinear(v, float(t)), n=grid.nx)

    return rhs


def _first_bad(u: torch.Tensor) -> int | None:
    bad = ~torch.isfinite(u.reshape(u.shape[0], -1)).all(-1)
    return int(bad.nonzero()[0, 0]) if bool(bad.any()) else None


@torch.no_grad()
def solve(
    equation: Equation | str,
    u0: torch.Tensor,
    *,
    length: float,
    t_out: torch.Tensor,
    dt: float,
    method: str = "auto",
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    refine: int = 2,
) -> Solution:
    r"""Solve :math:`u_t = K` on the periodic :math:`[0, L)` for a batch of initial conditions.

    Args:
        equation: an :class:`Equation` (or preset name / text).
        u0: initial values (B, nx) on :math:`x_j = jL/n_x`.
        length: the period L.
        t_out: increasing output times (nt,), the first >= 0; u at each is returned.
        dt: the largest step of the fixed-step integrator (etdrk4), or the first step of dopri5.
        method: ``auto``, ``etdrk4``, ``colehopf`` or ``dopri5`` (see :data:`METHODS`).
        device, dtype: default: those of u0 (a non-float u0 becomes float64).
        rtol, atol: tolerances of the dopri5 fallback; refine: Cole–Hopf internal grid factor.

    Raises:
        BlowUpError: a trajectory became non-finite (its index and the time are in the error).
    """
    eq = get_equation(equation) if isinstance(equation, str) else equation
    if not isinstance(u0, torch.Tensor) or u0.ndim != 2:
        raise PdesymError(f"u0 must be a tensor of shape (B, nx), got {getattr(u0, 'shape', type(u0))}.")
    dev = resolve_device(device) if device is not None else u0.device
    dt_ = resolve_dtype(dtype) if dtype is not None else (u0.dtype if u0.dtype in (torch.float32, torch.float64)
                                                          else torch.float64)
    u0 = u0.to(device=dev, dtype=dt_)
    if not bool(torch.isfinite(u0).all()):
        raise PdesymError("u0 contains NaN or infinite values.")
    t_out = torch.as_tensor(t_out, dtype=torch.float64).reshape(-1).cpu()
    if len(t_out) == 0 or float(t_out[0]) < 0 or (len(t_out) > 1 and not bool((t_out.diff() > 0).all())):
        raise PdesymError("t_out must be a non-empty, strictly increasing sequence of times >= 0.")
    if not dt > 0:
        raise PdesymError(f"dt must be positive, got {dt!r}.")
    B, nx = u0.shape
    require_periodic_in_x(eq, float(length))
    grid = SpectralGrid(float(length), nx, dev, dt_)
    plan = _plan(eq)
    chosen, reason = _choose(eq, plan, method)
    times = [float(t) for t in t_out]
    local = [plan.time_map(t) for t in times] if plan.time_map else times
    if plan.time_map:
        if abs(plan.time_map(0.0)) > 1e-14 or local[0] < 0 or any(b <= a for a, b in zip(local, local[1:])):
            raise PdesymError(f"The time re-parametrisation {plan.time_map_text} is not increasing on t_out.")
        reason += f"; time re-parametrised exactly, {plan.time_map_text}"

    if chosen == "colehopf":
        nu, a = burgers_form(plan.split)
        try:
            u = colehopf_solve(u0.to(torch.float64), grid.length, torch.tensor(local, dtype=torch.float64), nu=nu, a=a,
                               refine=refine).to(dt_)
        except PdesymError:
            if method != "auto":
                raise
            chosen, reason = "etdrk4", reason + f" (fell back to etdrk4: potential range beyond {MAX_LOG_RANGE})"
        else:
            bad = _first_bad(u)
            if bad is not None:
                j = int((~torch.isfinite(u[bad])).any(-1).nonzero()[0, 0])
                raise BlowUpError(bad, times[j])
            return Solution(u, grid.x, t_out.to(device=dev, dtype=dt_), chosen, reason)

    out = torch.empty(B, len(times), nx, device=dev, dtype=dt_)
    if chosen == "etdrk4":
        stepper = ETDRK4(plan.split.symbol(grid.k.to(torch.float64)).to(grid.complex_dtype),
                         NonlinearPart(plan.split.nonlinear, grid))
        v = torch.fft.rfft(u0)
        s = 0.0
        for n, s_n in enumerate(local):
            v = stepper.advance(v, s, s_n, dt)
            s = s_n
            out[:, n] = torch.fft.irfft(v, n=nx)
            bad = _first_bad(v.view(torch.float64 if dt_ == torch.float64 else torch.float32))
            if bad is not None:
                raise BlowUpError(bad, times[n], f"method etdrk4 with dt={dt:g}; try a smaller dt")
    else:
        from torchdiffeq import odeint

        rhs = spectral_rhs(plan.split, grid)
        prepend = local[0] > 0
        ts = torch.tensor(([0.0] if prepend else []) + local, dtype=dt_, device=dev)
        try:
            sol = odeint(rhs, u0, ts, method="dopri5", rtol=rtol, atol=atol, options={"first_step": dt})
        except AssertionError as exc:  # torchdiffeq signals underflow of the step this way
            raise PdesymError(
                f"The adaptive dopri5 integrator could not continue ({exc}); {eq.text!r} may be ill-posed "
                "(backward diffusion somewhere) or far too stiff for an explicit method on this grid."
            ) from None
        out = (sol[1:] if prepend else sol).transpose(0, 1).contiguous()
        bad = _first_bad(out)
        if bad is not None:
            j = int((~torch.isfinite(out[bad])).any(-1).nonzero()[0, 0])
            raise BlowUpError(bad, times[j], "method dopri5")
    return Solution(out, grid.x, t_out.to(device=dev, dtype=dt_), chosen, reason)
