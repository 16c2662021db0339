r"""Point vector fields :math:`V = \xi\,\partial_x + \tau\,\partial_t + \varphi\,\partial_u` on (x, t, u).

A :class:`VectorField` is a frozen record of three sympy expressions in the symbols
``pdesym.equations.X, T, U`` (and, where an equation leaves them symbolic, its parameters, or
arbitrary functions for infinite families). It adds, scales, brackets, prints as
``x∂x + 3t∂t − 2u∂u``, compiles to a batched torch/numpy function and round-trips through JSON
strings that ``sympy.sympify(s, locals={"x": X, "t": T, "u": U})`` reads back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import sympy as sp
import torch

from pdesym.equations import T, U, X
from pdesym.errors import PdesymError
from pdesym.symbolic.printing import field_latex, field_text

__all__ = ["VectorField", "read_expression", "tidy"]

_COMPONENTS = ("xi", "tau", "phi")


def tidy(expr: sp.Expr) -> sp.Expr:
    """A canonical-enough form of a component: expanded, with rational functions cancelled."""
    expr = sp.expand(sp.sympify(expr))
    if expr.is_polynomial(X, T, U) or not expr.has(sp.Pow):
        return expr
    _, den = sp.fraction(sp.together(expr))
    if den.free_symbols & {X, T, U} and den.is_polynomial(X, T, U):
        expr = sp.expand(sp.cancel(expr))
    return expr


def read_expression(text: str, symbols: Mapping[str, sp.Basic] | None = None) -> sp.Expr:
    """Read a component written by :meth:`VectorField.to_dict` (``sympy.srepr``-free, exact).

    x, t, u are the real symbols of :mod:`pdesym.equations`; every other free name becomes a
    real symbol (an equation parameter) unless ``symbols`` maps it (e.g. a family's function).
    """
    local = {"x": X, "t": T, "u": U}
    local.update(symbols or {})
    try:
        expr = sp.sympify(text, locals=local, rational=True)
    except (sp.SympifyError, SyntaxError, TypeError, ValueError, AttributeError):
        raise PdesymError(f"Cannot read the vector-field component {text!r} as a sympy expression.") from None
    if not isinstance(expr, sp.Expr):
        raise PdesymError(f"The vector-field component {text!r} is not an expression.")
    fix = {s: sp.Symbol(s.name, real=True) for s in expr.free_symbols
           if isinstance(s, sp.Symbol) and not s.is_real and s.name not in local}
    return expr.xreplace(fix) if fix else expr


def _apply(field: "VectorField", f: sp.Expr) -> sp.Expr:
    return field.xi * sp.diff(f, X) + field.tau * sp.diff(f, T) + field.phi * sp.diff(f, U)


@dataclass(frozen=True)
class VectorField:
    r"""The point vector field :math:`\xi\,\partial_x + \tau\,\partial_t + \varphi\,\partial_u`.

    Components are sympy expressions in X, T, U (plus parameters or family functions). Use
    :meth:`canonical` forms from :mod:`pdesym.symbolic.algebra` to compare spans; ``==`` is
    structural sympy equality of the components.
    """

    xi: sp.Expr = sp.Integer(0)
    tau: sp.Expr = sp.Integer(0)
    phi: sp.Expr = sp.Integer(0)

    def __post_init__(self) -> None:
        for name in _COMPONENTS:
            value = getattr(self, name)
            try:
                expr = sp.sympify(value, rational=True)
            except (sp.SympifyError, SyntaxError, TypeError):
                raise PdesymError(f"The {name} component {value!r} is not a sympy expression.") from None
            if not isinstance(expr, sp.Expr):
                raise PdesymError(f"The {name} component {value!r} is not a sympy expression.")
            object.__setattr__(self, name, expr)

    # ------------------------------------------------------------------ algebra
    @property
    def components(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """(ξ, τ, φ)."""
        return (self.xi, self.tau, self.phi)

    def __add__(self, other: "VectorField") -> "VectorField":
        if not isinstance(other, VectorField):
            return NotImplemented
        return VectorField(*(tidy(a + b) for a, b in zip(self.components, other.components)))

    def __sub__(self, other: "VectorField") -> "VectorField":
        if not isinstance(other, VectorField):
            return NotImplemented
        return VectorField(*(tidy(a - b) for a, b in zip(self.components, other.components)))

    def __neg__(self) -> "VectorField":
        return VectorField(*(-c for c in self.components))

    def __mul__(self, scalar) -> "VectorField":
        if isinstance(scalar, VectorField):
            return NotImplemented
        s = sp.sympify(scalar, rational=True)
        return VectorField(*(tidy(s * c) for c in self.components))

    __rmul__ = __mul__

    def apply(self, f: sp.Expr) -> sp.Expr:
        r""":math:`V(f) = \xi f_x + \tau f_t + \varphi f_u`."""
        return _apply(self, sp.sympify(f))

    def bracket(self, other: "VectorField") -> "VectorField":
        r"""Lie bracket :math:`[V, W] = VW - WV`, componentwise :math:`V(\xi_W) - W(\xi_V)` etc."""
        return VectorField(*(tidy(self.apply(b) - other.apply(a))
                             for a, b in zip(self.components, other.components)))

    def tidy(self) -> "VectorField":
        """Components expanded and cancelled (see :func:`tidy`)."""
        return VectorField(*(tidy(c) for c in self.components))

    def is_zero(self) -> bool:
        """True when every component simplifies to 0."""
        return all(sp.simplify(c) == 0 for c in self.components)

    def equals(self, other: "VectorField") -> bool:
        """Mathematical equality (the difference simplifies to zero)."""
        return (self - other).is_zero()

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        """Symbols other than x, t, u in the components (parameters)."""
        out: set = set()
        for c in self.components:
            out |= c.free_symbols
        return out - {X, T, U}

    # ------------------------------------------------------------------ display
    def text(self) -> str:
        """``x∂x + 3t∂t − 2u∂u`` (unicode, common factors pulled out, ``0`` for zero)."""
        return field_text(*self.components)

    def __str__(self) -> str:
        return self.text()

    def latex(self) -> str:
        r"""``x \partial_x + 3 t \partial_t - 2 u \partial_u``."""
        return field_latex(*self.components)

    # ------------------------------------------------------------------ numerics
    def numeric(self, modules: str = "torch", params: Mapping[str, float] | None = None) -> Callable:
        """A batched function ``f(x, t, u) -> array[..., 3]`` of (ξ, τ, φ) values.

        ``modules`` is "torch" or "numpy"; inputs broadcast against each other and constant
        components broadcast to their shape. Symbolic parameters need values in ``params``.
        """
        if modules not in ("torch", "numpy"):
            raise PdesymError(f"Unknown module {modules!r} for a numeric vector field; choose one of: numpy, torch.")
        values = {s: sp.nsimplify(v) if not isinstance(v, sp.Basic) else v
                  for s in self.free_symbols for k, v in (params or {}).items() if getattr(s, "name", None) == k}
        comps = [c.xreplace(values) for c in self.components]
        missing = set().union(*(c.free_symbols for c in comps)) - {X, T, U}
        if missing or any(c.has(sp.core.function.AppliedUndef) for c in comps):
            names = ", ".join(sorted(map(str, missing))) or "an arbitrary function"
            raise PdesymError(f"Cannot evaluate the field {self.text()} numerically: {names} has no value.")
        fn = sp.lambdify([X, T, U], comps, modules=modules)

        if modules == "torch":
            def evaluate(x, t, u):
                x, t, u = (torch.as_tensor(a, dtype=torch.get_default_dtype()) if not isinstance(a, torch.Tensor) else a
                           for a in (x, t, u))
                ref = x if x.is_floating_point() else torch.as_tensor(x, dtype=torch.get_default_dtype())
                shape = torch.broadcast_shapes(x.shape, t.shape, u.shape)
                out = [c if isinstance(c, torch.Tensor) else torch.tensor(float(c), dtype=ref.dtype, device=ref.device)
                       for c in fn(x, t, u)]
                return torch.stack([c.to(ref.dtype).expand(shape) for c in out], dim=-1)
        else:
            def evaluate(x, t, u):
                x, t, u = (np.asarray(a, dtype=np.float64) for a in (x, t, u))
                shape = np.broadcast_shapes(x.shape, t.shape, u.shape)
                out = [np.broadcast_to(np.asarray(c, dtype=np.float64), shape) for c in fn(x, t, u)]
                return np.stack(out, axis=-1)

        evaluate.field = self  # type: ignore[attr-defined]
        return evaluate

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, str]:
        """``{"xi": "t", "tau": "0", "phi": "1"}``: exact sympy strings of the components."""
        return {name: sp.sstr(c, full_prec=True) for name, c in zip(_COMPONENTS, self.components)}

    @classmethod
    def from_dict(cls, data: Mapping[str, str], symbols: Mapping[str, sp.Basic] | None = None) -> "VectorField":
        """Inverse of :meth:`to_dict` (missing components are 0)."""
        if not isinstance(data, Mapping):
            raise PdesymError(f"A vector field must be a mapping with keys xi, tau, phi, got {type(data).__name__}.")
        return cls(*(read_expression(str(data.get(name, "0")), symbols) for name in _COMPONENTS))

