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

__all__ = ["NonlinearPart", "nonlinear_order"]


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


def nonlinear_order(nonlinear: sp.Expr) -> int:
    """The highest x-derivative order N contains once written in flux form (u*u_x -> 1)."""
    parts = _compile(nonlinear)
    orders = [0]
    for expr, extra in ((parts.flux, 1), (parts.rest, 0)):
        orders += [derivative_orders(s)[0] + extra for s in jet_symbols_of(expr)]
    return max(orders + list(parts.linear))


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
        self.parts = parts
        # a numeric factor of the flux is folded into its multiplier (u*u_x -> -(1/2) d/dx u^2)
        scale, flux = parts.flux.as_coeff_Mul() if parts.flux != 0 else (sp.Integer(1), parts.flux)
        self._flux_fn = to_torch(flux) if flux != 0 else None
        self._rest_fn = to_torch(parts.rest) if parts.rest != 0 else None
        self._linear = [(grid.derivative_multiplier(j), sp.lambdify([T], c, modules="math"))
                        for j, c in sorted(parts.linear.items())]
        self.is_zero = self._flux_fn is None and self._rest_fn is None and not self._linear
        self.depends_on_time = T in nonlinear.free_symbols
        jets: set[str] = set()
        for fn in (self._flux_fn, self._rest_fn):
            if fn is not None:
                # "u" is always formed: a term free of u (forcing) still needs the batch shape
                jets.update(fn.jet_names or ("u",))
        self.order = nonlinear_order(nonlinear)
        #: modes the 2/3 rule keeps (3m < nx); products are formed from and projected onto them
        self.kept = (grid.nx - 1) // 3 + 1
        K = self.kept
        self._jets = {name: (None if name == "u" else grid.derivative_multiplier(name.count("x"))[:K])
                      for name in sorted(jets)}
        self._flux_multiplier = (float(scale) * grid.derivative_multiplier(1))[:K]
        self._x = grid.x

    @property
    def closed(self) -> bool:
        """True when N reads only the kept modes and returns only kept modes (no c(t) u_j terms).

        Then the modes above the 2/3 cut evolve by L alone, and a stepper can work on the kept
        modes only (a third fewer numbers per operation).
        """
        return not self._linear

    @property
    def flux_only(self) -> bool:
        """True when N = d/dx F(u, ...) exactly, with nothing else (KdV, KS, Burgers)."""
        return self._flux_fn is not None and self._rest_fn is None and not self._linear

    @property
    def flux_multiplier(self) -> torch.Tensor:
        r"""The multiplier :math:`c\,ik` on the kept modes with N_hat = multiplier * :meth:`raw`."""
        return self._flux_multiplier

    def jets(self, v_low: torch.Tensor) -> dict[str, torch.Tensor]:
        """Physical-space jets from the kept modes ``v_low`` (B, kept); irfft zero-pads the rest."""
        n = self.grid.nx
        return {name: torch.fft.irfft(v_low if mult is None else v_low * mult, n=n)
                for name, mult in self._jets.items()}

    def raw(self, v_low: torch.Tensor, t: float) -> torch.Tensor:
        r""":math:`\widehat F` on the kept modes for a flux-only N (N = :attr:`flux_multiplier` * raw)."""
        return torch.fft.rfft(self._flux_fn(self._x, t, self.jets(v_low)))[..., : self.kept]

    def low(self, v_low: torch.Tensor, t: float) -> torch.Tensor:
        """N_hat on the kept modes from the kept modes (the whole of N when :attr:`closed`)."""
        K = self.kept
        out = None
        if self._flux_fn is not None or self._rest_fn is not None:
            jets = self.jets(v_low)
            if self._flux_fn is not None:
                out = torch.fft.rfft(self._flux_fn(self._x, t, jets))[..., :K] * self._flux_multiplier
            if self._rest_fn is not None:
                rest = torch.fft.rfft(self._rest_fn(self._x, t, jets))[..., :K]
                out = rest if out is None else out + rest
        return torch.zeros_like(v_low) if out is None else out

    def __call__(self, v_hat: torch.Tensor, t: float) -> torch.Tensor:
        """N_hat (B, nx//2 + 1) of the full coefficients ``v_hat`` at time t."""
        out = torch.zeros_like(v_hat)
        if self._flux_fn is not None or self._rest_fn is not None:
            out[..., : self.kept] = self.low(v_hat[..., : self.kept], t)
        for mult, coeff in self._linear:
            out = out + v_hat * (mult * coeff(t))
        return out
