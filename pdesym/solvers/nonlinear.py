r"""The non-linear part N(x, t, u, u_x, ...) of a split equation, evaluated in Fourier space.

:meth:`Equation.split` writes :math:`u_t = Lu + N`. N is compiled once, term by term, into the
cheapest exact pseudo-spectral form, so that each evaluation uses as few FFTs as possible:

* flux terms :math:`c(t)\,g(\partial^j u)\,\partial^{j+1} u = \partial_x\big(c(t) G(\partial^j u)\big)`
  with :math:`G' = g` (``u*u_x`` -> :math:`\partial_x(u^2/2)`) are summed into one flux F and
  enter as :math:`ik\,\widehat F` — for KdV, KS and Burgers one inverse and one forward FFT;
* linear terms with a time-dependent coefficient :math:`c(t)\,\partial^j u` (cylindrical KdV's
  :math:`-u/(2(t+1))`) are multipliers :math:`c(t)(ik)^j \hat u`, no FFT at all;
* everything else is evaluated point-wise on the grid.

Products are dealiased with the 2/3 rule: the jets are formed from the kept modes and the
transform of F and of the point-wise rest is masked. For a u in the kept modes the flux form and
the product form give the same dealiased result (the 2/3 rule makes both exact projections), so
the rewriting changes cost, not the scheme.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
import torch

from pdesym.equations import T, X, derivative_orders, derivative_symbol, jet_symbols_of, to_torch
from pdesym.solvers.spectral import SpectralGrid

__all__ = ["NonlinearPart"]


def _flux_of(term: sp.Expr) -> tuple[int, sp.Expr] | None:
    """(j, F) with ``term`` = d/dx F(t, u_j) and F's jet only u_j, or None."""
    if X in term.free_symbols:
        return None
    jets = jet_symbols_of(term)
    if not jets:
        return None
    top = max(jets, key=lambda s: derivative_orders(s)[0])
    m = derivative_orders(top)[0]
    if m == 0 or not term.is_polynomial(top) or sp.degree(term, top) != 1:
        return None
    a = sp.cancel(term / top)
    if top in a.free_symbols:
        return None
    lower = derivative_symbol(m - 1)
    if not jet_symbols_of(a) <= {lower}:
        return None
    F = sp.integrate(a, lower)
    if F.has(sp.Integral) or sp.simplify(sp.diff(F, lower) - a) != 0:
        return None
    return m - 1, F


def _time_linear(term: sp.Expr) -> tuple[int, sp.Expr] | None:
    """(j, c(t)) for ``term`` = c(t) * u_j, or None."""
    jets = jet_symbols_of(term)
    if len(jets) != 1 or X in term.free_symbols:
        return None
    (jet,) = jets
    c = sp.cancel(term / jet)
    if jet in c.free_symbols or not c.free_symbols <= {T}:
        return None
    return derivative_orders(jet)[0], c


@dataclass(frozen=True)
class _Compiled:
    flux: sp.Expr
    linear: dict[int, sp.Expr]
    rest: sp.Expr


def _compile(nonlinear: sp.Expr) -> _Compiled:
    flux = sp.Integer(0)
    flux_jet: int | None = None
    linear: dict[int, sp.Expr] = {}
    rest = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(nonlinear)):
        if term == 0:
            continue
        lin = _time_linear(term)
        if lin is not None:
            linear[lin[0]] = linear.get(lin[0], sp.Integer(0)) + lin[1]
            continue
        fl = _flux_of(term)
        if fl is not None:
            flux += fl[1]
            continue
        rest += term
    return _Compiled(sp.expand(flux), linear, rest)


class NonlinearPart:
    r"""N of :math:`u_t = Lu + N(x, t, u, u_x, \dots)` on a grid: ``N(v_hat, t) -> N_hat``.

    ``v_hat`` and the result are real-FFT coefficients, shape (B, nx//2 + 1); t is a float.
    :attr:`order` is the highest x-derivative order N contains (flux terms count one more than
    their jet), which decides whether an exponential integrator can treat L as the stiff part.
    """

    def __init__(self, nonlinear: sp.Expr, grid: SpectralGrid) -> None:
        self.expr = nonlinear
        self.grid = grid
        parts = _compile(nonlinear)
        self._flux_fn = to_torch(parts.flux) if parts.flux != 0 else None
        self._rest_fn = to_torch(parts.rest) if parts.rest != 0 else None
        self._linear = [(grid.derivative_multiplier(j), sp.lambdify([T], c, modules="math"))
                        for j, c in sorted(parts.linear.items())]
        self.is_zero = self._flux_fn is None and self._rest_fn is None and not self._linear
        self.depends_on_time = T in nonlinear.free_symbols
        jets: set[str] = set()
        orders = [0]
        for fn, extra in ((self._flux_fn, 1), (self._rest_fn, 0)):
            if fn is not None:
                jets.update(fn.jet_names)
                orders += [n.count("x") + extra for n in fn.jet_names]
        orders += [j for j in parts.linear]
        self.order = max(orders)
        self.parts = parts
        # physical-space jets from the kept (dealiased) modes only
        self._jets = {name: grid.derivative_multiplier(name.count("x"), dealias=True)
                      for name in sorted(jets)}
        self._flux_multiplier = grid.derivative_multiplier(1, dealias=True)
        self._mask = grid.dealias_mask.to(grid.complex_dtype)
        self._x = grid.x

    def raw(self, v_hat: torch.Tensor, t: float) -> torch.Tensor:
        r""":math:`\widehat F` for a flux-only N (then N_hat = :attr:`flux_multiplier` * raw)."""
        return torch.fft.rfft(self._flux_fn(self._x, t, self.jets(v_hat)))

    @property
    def flux_multiplier(self) -> torch.Tensor:
        """:math:`ik` times the 2/3 mask: N_hat = flux_multiplier * F_hat for a flux-only N."""
        return self._flux_multiplier

    @property
    def flux_only(self) -> bool:
        """True when N = d/dx F(u) exactly, with nothing else (KdV, KS, Burgers)."""
        return self._flux_fn is not None and self._rest_fn is None and not self._linear

    def jets(self, v_hat: torch.Tensor) -> dict[str, torch.Tensor]:
        """The physical-space jets N reads, from the dealiased modes of ``v_hat``."""
        n = self.grid.nx
        return {name: torch.fft.irfft(v_hat * mult, n=n) for name, mult in self._jets.items()}

    def flux(self, v_hat: torch.Tensor, t: float) -> torch.Tensor:
        """The flux F in physical space (only defined when the flux part is not empty)."""
        return self._flux_fn(self._x, t, self.jets(v_hat))

    def __call__(self, v_hat: torch.Tensor, t: float) -> torch.Tensor:
        out = None
        if self._flux_fn is not None or self._rest_fn is not None:
            jets = self.jets(v_hat)
            if self._flux_fn is not None:
                out = torch.fft.rfft(self._flux_fn(self._x, t, jets)) * self._flux_multiplier
            if self._rest_fn is not None:
                rest = torch.fft.rfft(self._rest_fn(self._x, t, jets)) * self._mask
                out = rest if out is None else out + rest
        for mult, coeff in self._linear:
            term = v_hat * (mult * coeff(t))
            out = term if out is None else out + term
        return torch.zeros_like(v_hat) if out is None else out
