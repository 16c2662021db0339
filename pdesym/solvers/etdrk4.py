r"""Batched ETDRK4 (Cox & Matthews 2002; Kassam & Trefethen 2005) for :math:`\hat u_t = L\hat u + \hat N(\hat u, t)`.

With :math:`E = e^{hL}`, :math:`E_2 = e^{hL/2}` one step of length h is

.. math::
    a = E_2 v + Q N_v,\quad b = E_2 v + Q N_a,\quad c = E_2 a + Q(2N_b - N_v),\\
    v^{+} = E v + f_1 N_v + 2 f_2 (N_a + N_b) + f_3 N_c,

with :math:`N_a = N(a, t + h/2)`, :math:`N_b = N(b, t + h/2)`, :math:`N_c = N(c, t + h)`.
The φ-function coefficients Q, f1, f2, f3 are evaluated by the Cauchy integral over M = 64
points on the unit circle around each :math:`z = hL(k)` (no cancellation for small z) and kept
complex: for a dispersive L (imaginary symbols, KdV) the real part is the wrong function and
drops the scheme to first order. A whole batch is advanced at once on real-FFT coefficients.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import torch

from pdesym.solvers.cuda_graph import GRAPH_MIN_STEPS, MAX_GRAPH_STEPS, GraphedSteps, cuda_graphs_enabled
from pdesym.solvers.nonlinear import NonlinearPart

__all__ = ["ETDRK4Coefficients", "ETDRK4", "CONTOUR_POINTS"]

#: Points of the contour integral for the φ-functions (Kassam & Trefethen use 32 on a half circle).
CONTOUR_POINTS = 64


@dataclass(frozen=True)
class ETDRK4Coefficients:
    """E, E2, Q, f1, f2, f3 for one step length h (complex tensors of the symbol's shape)."""

    h: float
    E: torch.Tensor
    E2: torch.Tensor
    Q: torch.Tensor
    f1: torch.Tensor
    f2: torch.Tensor
    f3: torch.Tensor

    @classmethod
    def build(cls, symbol: torch.Tensor, h: float, *, points: int = CONTOUR_POINTS) -> "ETDRK4Coefficients":
        r"""Coefficients for :math:`\hat L` = ``symbol`` and step h, by the complex contour mean.

        :math:`\varphi(z) = \frac{1}{M}\sum_j \varphi(z + e^{2\pi i (j + 1/2)/M})` (Cauchy's formula,
        trapezoid rule on the unit circle), computed in complex128 and cast to ``symbol``'s dtype.
        """
        L = symbol.to(torch.complex128)
        j = torch.arange(points, dtype=torch.float64, device=L.device)
        r = torch.exp(2j * math.pi * (j + 0.5) / points)
        z = h * L[..., None] + r
        ez = torch.exp(z)
        z3 = z**3
        Q = h * ((torch.exp(z / 2) - 1) / z).mean(-1)
        f1 = h * ((-4 - z + ez * (4 - 3 * z + z**2)) / z3).mean(-1)
        f2 = h * ((2 + z + ez * (z - 2)) / z3).mean(-1)
        f3 = h * ((-4 - 3 * z - z**2 + ez * (4 - z)) / z3).mean(-1)
        out = {"E": torch.exp(h * L), "E2": torch.exp(h * L / 2), "Q": Q, "f1": f1, "f2": f2, "f3": f3}
        return cls(h=h, **{name: value.to(symbol.dtype) for name, value in out.items()})

    @cached_property
    def derived(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(2Q, -Q, 2 f2), computed once: the step is then fused multiply-adds only."""
        return 2 * self.Q, -self.Q, 2 * self.f2

    def scaled(self, multiplier: torch.Tensor) -> "ETDRK4Coefficients":
        """Q, f1, f2, f3 times ``multiplier`` (folds the flux derivative ik·mask into them)."""
        return ETDRK4Coefficients(self.h, self.E, self.E2, self.Q * multiplier, self.f1 * multiplier,
                                  self.f2 * multiplier, self.f3 * multiplier)


class ETDRK4:
    r"""An ETDRK4 stepper for :math:`\hat u_t = \hat L \hat u + \hat N(\hat u, t)`, built once.

    Args:
        symbol: the Fourier multiplier :math:`\hat L(k)`, complex, shape (nk,).
        nonlinear: N as a :class:`NonlinearPart` on the same grid.

    When N is closed on the modes kept by the 2/3 rule (:attr:`NonlinearPart.closed`), only
    those are stepped; the others evolve by :math:`e^{tL}` exactly and are added at the output
    times. For N = d/dx F the derivative multiplier is folded into Q, f1, f2, f3, so a stage
    costs one inverse and one forward real FFT and a few fused multiply-adds.
    """

    def __init__(self, symbol: torch.Tensor, nonlinear: NonlinearPart) -> None:
        self.symbol = symbol
        self.nonlinear = nonlinear
        self._cache: dict[float, ETDRK4Coefficients] = {}
        self._closed = nonlinear.closed
        self._fold = nonlinear.flux_only
        self._K = nonlinear.kept if self._closed else symbol.shape[-1]
        self._graph: GraphedSteps | None = None
        self._graph_h: float | None = None
        self._graph_failed = False

    def coefficients(self, h: float) -> ETDRK4Coefficients:
        """Coefficients for step h on the stepped modes (cached; h keyed to 12 digits)."""
        key = float(f"{h:.12e}")
        if key not in self._cache:
            c = ETDRK4Coefficients.build(self.symbol[..., : self._K], h)
            self._cache[key] = c.scaled(self.nonlinear.flux_multiplier) if self._fold else c
        return self._cache[key]

    def _n(self, v: torch.Tensor, t: float) -> torch.Tensor:
        if self._fold:
            return self.nonlinear.raw(v, t)
        return self.nonlinear.low(v, t) if self._closed else self.nonlinear(v, t)

    def step(self, v: torch.Tensor, t: float, c: ETDRK4Coefficients) -> torch.Tensor:
        """One step of length ``c.h`` from time t (v: the stepped modes).

        Written as fused multiply-adds with 2Q, -Q and 2 f2 precomputed (:attr:`ETDRK4Coefficients.derived`):
        three products and eight ``addcmul`` passes besides the four evaluations of N.
        """
        h = c.h
        Q2, Qneg, f2x2 = c.derived
        Nv = self._n(v, t)
        E2v = v * c.E2
        a = torch.addcmul(E2v, c.Q, Nv)
        Na = self._n(a, t + h / 2)
        b = torch.addcmul(E2v, c.Q, Na)
        Nb = self._n(b, t + h / 2)
        cc = torch.addcmul(torch.addcmul(a * c.E2, Q2, Nb), Qneg, Nv)  # E2 a + Q (2 Nb - Nv)
        Nc = self._n(cc, t + h)
        out = torch.addcmul(v * c.E, c.f1, Nv)
        out = torch.addcmul(torch.addcmul(out, f2x2, Na), f2x2, Nb)
        return torch.addcmul(out, c.f3, Nc)

    def advance(self, v: torch.Tensor, t0: float, t1: float, dt: float) -> torch.Tensor:
        """From t0 to t1 in ceil((t1 - t0)/dt) equal steps (t1 is hit exactly); v: all modes."""
        span = t1 - t0
        if span <= 0:
            return v
        if self.nonlinear.is_zero:
            return v * torch.exp(span * self.symbol.to(torch.complex128)).to(v.dtype)
        n = max(1, math.ceil(span / dt - 1e-9))
        c = self.coefficients(span / n)
        K = self._K
        w = v[..., :K]
        graph = self._graphed(w, c, n) if self._use_graph(w, n) else None
        if graph is not None:
            w = graph.run(w, n)
        else:
            for i in range(n):
                w = self.step(w, t0 + i * c.h, c)
        if K == v.shape[-1]:
            return w
        high = v[..., K:] * torch.exp(span * self.symbol[K:].to(torch.complex128)).to(v.dtype)
        return torch.cat([w, high], -1)

    def _use_graph(self, w: torch.Tensor, n: int) -> bool:
        # CUDA only, and only when every step is the same program: N must not depend on t, since
        # the captured graph cannot see the Python float t of each step
        return (n >= GRAPH_MIN_STEPS and not self.nonlinear.depends_on_time and not self._graph_failed
                and cuda_graphs_enabled(w))

    def _graphed(self, w: torch.Tensor, c: ETDRK4Coefficients, n: int) -> GraphedSteps | None:
        """The captured steps for w's shape and step c.h (one kept at a time: a graph holds memory).

        The graph records the n steps between two output times (equal spacing: the same n each
        time), so one replay per snapshot; a different n reuses it with eager remainder steps.
        """
        if self._graph is None or not self._graph.matches(w) or self._graph_h != c.h:
            self._graph = None  # release the old graph's pool before capturing the next
            try:
                self._graph = GraphedSteps(lambda x: self.step(x, 0.0, c), w, steps=min(n, MAX_GRAPH_STEPS))
            except RuntimeError as exc:  # a capture this torch/driver refuses: the eager loop is always right
                warnings.warn(f"CUDA graph capture failed ({exc}); stepping without graphs.", RuntimeWarning,
                              stacklevel=3)
                self._graph_failed = True
                return None
            self._graph_h = c.h
        return self._graph
