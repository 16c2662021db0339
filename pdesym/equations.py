r"""Scalar PDEs in one space and one time variable: text, presets, sympy form and solver split.

An :class:`Equation` is a small frozen record. It holds the equation
:math:`\Delta(x, t, u, u_x, u_t, \dots) = 0` as a sympy expression in *jet variables*
(``u``, ``u_x``, ``u_xx``, ``u_t``, ``u_xt`` ...), the parameter values, the derivative it is
solved for (``u_t`` for evolution equations) and the solved form ``leading = K``. Everything
downstream (solvers, jets, validity, the symbolic engine) reads the equation from here and never
branches on its name.

Notation of the text form: ``u_x``, ``u_xx``, ``u_xt`` (x-derivatives first; ``u_tx`` means the
same), ``*``, ``**`` or ``^``, ``/``, numbers, ``exp sin cos tan sinh cosh tanh sqrt log abs``,
``pi``, ``E``, and named parameters whose values follow after commas::

    Equation.from_text("u_t = nu*u_xx - u*u_x, nu=0.01")
    Equation.from_text("u_t + u*u_x + u_xxx = 0")
    Equation.from_preset("kdv")
"""

from __future__ import annotations

import io
import keyword
import math
import re
import tokenize
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Mapping

import sympy as sp
import torch
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication,
    parse_expr,
    standard_transformations,
)

from pdesym.errors import PdesymError, check_choice

__all__ = [
    "X",
    "T",
    "U",
    "EQUATION_PRESETS",
    "Equation",
    "LinearSplit",
    "derivative_symbol",
    "derivative_orders",
    "jet_symbols_of",
    "get_equation",
    "to_torch",
]

X, T, U = sp.symbols("x t u", real=True)

_DERIVATIVE_RE = re.compile(r"^u_([xt]+)$")
_OTHER_DERIVATIVE_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)_([A-Za-z]+)$")

#: Elementary functions allowed in equation text (sympy constructor, torch, math).
_FUNCTIONS: dict[str, tuple[Callable, Callable, Callable]] = {
    "exp": (sp.exp, torch.exp, math.exp),
    "log": (sp.log, torch.log, math.log),
    "sin": (sp.sin, torch.sin, math.sin),
    "cos": (sp.cos, torch.cos, math.cos),
    "tan": (sp.tan, torch.tan, math.tan),
    "sinh": (sp.sinh, torch.sinh, math.sinh),
    "cosh": (sp.cosh, torch.cosh, math.cosh),
    "tanh": (sp.tanh, torch.tanh, math.tanh),
    "atan": (sp.atan, torch.atan, math.atan),
    "sqrt": (sp.sqrt, torch.sqrt, math.sqrt),
    "abs": (sp.Abs, torch.abs, abs),
}
_CONSTANTS = {"pi": sp.pi, "E": sp.E}

#: Named equations: (text, parameter values, one-line description with its source).
EQUATION_PRESETS: dict[str, tuple[str, dict[str, str], str]] = {
    "kdv": (
        "u_t + u*u_x + u_xxx = 0",
        {},
        "Korteweg-de Vries (Brandstetter et al. 2022, LPSDA benchmark)",
    ),
    "ks": (
        "u_t + u*u_x + u_xx + u_xxxx = 0",
        {},
        "Kuramoto-Sivashinsky (Brandstetter et al. 2022, LPSDA benchmark)",
    ),
    "burgers": (
        "u_t + u*u_x = nu*u_xx",
        {"nu": "0.01"},
        "viscous Burgers (LPSDA benchmark, nu = 0.01)",
    ),
    "heat": (
        "u_t = nu*u_xx",
        {"nu": "0.01"},
        "heat / diffusion (LPSDA benchmark, nu = 0.01)",
    ),
    "nkdv": (
        "u_t + exp(t/50)*(u*u_x + u_xxx) = 0",
        {},
        "KdV with time-dependent coefficient (Ko, Kim, Lee 2024)",
    ),
    "ckdv": (
        "u_t + u*u_x + u_xxx + u/(2*(t + 1)) = 0",
        {},
        "cylindrical KdV (Ko, Kim, Lee 2024)",
    ),
}


def derivative_symbol(nx: int, nt: int = 0) -> sp.Symbol:
    """The jet variable :math:`\\partial_x^{n_x}\\partial_t^{n_t} u` (``u`` itself for 0, 0)."""
    if nx < 0 or nt < 0:
        raise ValueError(f"derivative orders must be >= 0, got nx={nx}, nt={nt}")
    if nx == 0 and nt == 0:
        return U
    return sp.Symbol("u_" + "x" * nx + "t" * nt, real=True)


def derivative_orders(symbol: sp.Basic) -> tuple[int, int] | None:
    """(n_x, n_t) of a jet variable, or None for anything that is not one."""
    if symbol == U:
        return (0, 0)
    if not isinstance(symbol, sp.Symbol):
        return None
    m = _DERIVATIVE_RE.match(symbol.name)
    if m is None:
        return None
    letters = m.group(1)
    return (letters.count("x"), letters.count("t"))


def jet_symbols_of(expr: sp.Basic) -> set[sp.Symbol]:
    """The jet variables (u and its derivatives) that occur in ``expr``."""
    return {s for s in expr.free_symbols if derivative_orders(s) is not None}


def _to_rational(name: str, value) -> sp.Expr:
    """A parameter value as an exact sympy number (0.01 -> 1/100)."""
    if isinstance(value, sp.Basic):
        out = value
    else:
        text = str(value).strip()
        try:
            out = sp.nsimplify(sp.sympify(text, rational=True), rational=True)
        except (sp.SympifyError, SyntaxError, TypeError, ValueError):
            raise PdesymError(
                f"The value of parameter {name!r} must be a number, got {value!r}."
            ) from None
    if out.free_symbols or not out.is_number or not out.is_real or not out.is_finite:
        raise PdesymError(f"The value of parameter {name!r} must be a number (finite, real), got {value!r}.")
    return out


def _split_top_level(text: str) -> list[str]:
    """Split at commas and semicolons outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch in ",;" and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _is_parameter_assignment(lhs: str, rhs: str) -> bool:
    """'nu = 0.01' is a parameter value; 'u_t = ...' or 'v_t = v_xx' is an equation."""
    if lhs in ("x", "t", "u") or lhs.startswith("u_"):
        return False
    other = _OTHER_DERIVATIVE_RE.match(lhs)
    if other and set(other.group(2)) <= set("xyzt"):
        return False
    return not re.search(r"\b(u|x|t|[A-Za-z][A-Za-z0-9]*_[xyzt]+)\b", rhs)


def _names_in(text: str) -> list[tuple[str, bool]]:
    """Identifier tokens of ``text`` and whether each is followed by '(' (a function call)."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise PdesymError(f"Cannot read the equation {text!r}: {exc.args[0]}.") from None
    out = []
    for i, tok in enumerate(toks):
        if tok.type == tokenize.ERRORTOKEN and tok.string.strip():
            raise PdesymError(f"Unexpected character {tok.string!r} in the equation {text!r}.")
        if tok.type == tokenize.OP and tok.string not in "+-*/**^()=.,;[]" :
            raise PdesymError(f"Unexpected operator {tok.string!r} in the equation {text!r}.")
        if tok.type == tokenize.NAME:
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            out.append((tok.string, nxt is not None and nxt.string == "("))
    return out


def _classify_names(text: str) -> set[str]:
    """Check every identifier of an equation; return the names that are parameters."""
    params = set()
    for name, is_call in _names_in(text):
        if name in _FUNCTIONS:
            if not is_call:
                raise PdesymError(f"{name!r} is a function: write it as {name}(...).")
            continue
        if is_call:
            raise PdesymError(
                f"Unknown function {name!r} in the equation; allowed: {', '.join(sorted(_FUNCTIONS))}."
            )
        if name in ("x", "t", "u") or name in _CONSTANTS or _DERIVATIVE_RE.match(name):
            continue
        if name.startswith("u_"):
            raise PdesymError(
                f"{name!r} is not a derivative pdesym knows: derivatives are in x and t only, "
                "written u_x, u_xx, u_t, u_xt, ..."
            )
        other = _OTHER_DERIVATIVE_RE.match(name)
        if other and set(other.group(2)) <= set("xyzt"):
            raise PdesymError(
                f"{name!r} looks like a derivative of a second unknown {other.group(1)!r}; "
                "pdesym handles one dependent variable u (no systems)."
            )
        if name.startswith("_") or name.endswith("_"):
            raise PdesymError(
                f"{name!r} is not a name pdesym reads; write derivatives as u_x, u_xx (for (u*u_x)_x "
                "expand it: u_x**2 + u*u_xx)."
            )
        if keyword.iskeyword(name):
            raise PdesymError(f"{name!r} cannot appear in an equation.")
        params.add(name)
    return params


@dataclass(frozen=True)
class LinearSplit:
    r"""The solver split :math:`K = \sum_k c_k \partial_x^k u + N(x, t, u, u_x, \dots)`.

    ``coeffs[k]`` is the constant :math:`c_k` (a float); ``nonlinear`` is the sympy form of the
    rest, which may depend on x, t and any x-derivatives of u.
    """

    coeffs: tuple[float, ...]
    nonlinear: sp.Expr

    def symbol(self, k: torch.Tensor) -> torch.Tensor:
        """The Fourier multiplier :math:`\\hat L(k) = \\sum_j c_j (ik)^j` (complex tensor).

        Powers of i are taken exactly (i^j cycles through 1, i, -1, -i): a complex ``**`` would
        add rounding noise of order 1e-16 |k|^j to real dissipative symbols.
        """
        real = torch.zeros_like(k)
        imag = torch.zeros_like(k)
        for j, c in enumerate(self.coeffs):
            if c != 0.0:
                term = c * (-1.0) ** (j // 2) * k**j
                if j % 2 == 0:
                    real = real + term
                else:
                    imag = imag + term
        return torch.complex(real, imag)

    @property
    def nonlinear_orders(self) -> tuple[int, ...]:
        """The x-derivative orders of u that the non-linear part reads, sorted."""
        return tuple(sorted(derivative_orders(s)[0] for s in jet_symbols_of(self.nonlinear)))


@dataclass(frozen=True)
class Equation:
    r"""A scalar PDE :math:`\Delta = 0` in (x, t) for u, solved for one derivative.

    Attributes:
        delta: :math:`\Delta` as a sympy expression in x, t, jet variables and parameters.
        leading: the jet variable the equation is solved for (``u_t`` for evolution equations).
        rhs: K in the solved form ``leading = K``.
        params: parameter name -> exact value (a sympy number) or None when left symbolic.
        text: the equation as typed (or as its preset defines it), without parameter values.
        name: the preset name, or "" for a typed equation.
    """

    delta: sp.Expr
    leading: sp.Symbol
    rhs: sp.Expr
    params: Mapping[str, sp.Expr | None] = field(default_factory=dict)
    text: str = ""
    name: str = ""

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_text(cls, text: str, params: Mapping[str, object] | None = None, *, name: str = "") -> "Equation":
        """Parse ``"u_t + u*u_x + u_xxx = 0"`` or ``"u_t = nu*u_xx, nu=0.01"``.

        Parameter values come after commas in the text or in ``params``; a parameter without a
        value stays symbolic (fine for the symbolic engine; the solvers ask for a value).
        """
        if not isinstance(text, str) or not text.strip():
            raise PdesymError("The equation text is empty; write it like 'u_t + u*u_x + u_xxx = 0'.")
        parts = _split_top_level(text)
        equations, values = [], {}
        for part in parts:
            m = re.match(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*([^=]+)$", part)
            if m and _is_parameter_assignment(m.group(1), m.group(2)):
                values[m.group(1)] = m.group(2).strip()
            else:
                equations.append(part)
        if not equations:
            raise PdesymError(f"No equation found in {text!r}; write it like 'u_t + u*u_x + u_xxx = 0'.")
        if len(equations) > 1:
            raise PdesymError(
                f"Found {len(equations)} equations in {text!r}; pdesym handles one scalar PDE (no systems)."
            )
        eq_text = equations[0]
        sides = eq_text.split("=")
        if len(sides) > 2:
            raise PdesymError(f"The equation {eq_text!r} has more than one '='.")
        param_names = _classify_names(eq_text)
        given = dict(values)
        for key, val in (params or {}).items():
            given[key] = val
        for key in given:
            if key not in param_names:
                raise PdesymError(f"Parameter {key!r} does not appear in the equation {eq_text!r}.")
        local = {"x": X, "t": T, "u": U, **_CONSTANTS}
        local.update({name_: ctor for name_, (ctor, _, _) in _FUNCTIONS.items()})
        local.update({p: sp.Symbol(p, real=True) for p in param_names})
        for name_, _ in _names_in(eq_text):
            if _DERIVATIVE_RE.match(name_):
                letters = _DERIVATIVE_RE.match(name_).group(1)
                local[name_] = derivative_symbol(letters.count("x"), letters.count("t"))
        transformations = standard_transformations + (implicit_multiplication, convert_xor)
        try:
            exprs = [
                parse_expr(side, local_dict=local, global_dict={"Integer": sp.Integer, "Float": sp.Float,
                                                                "Rational": sp.Rational, "Symbol": sp.Symbol},
                           transformations=transformations, evaluate=True)
                for side in sides
            ]
        except (SyntaxError, TypeError, tokenize.TokenError, sp.SympifyError, AttributeError, ValueError) as exc:
            detail = getattr(exc, "msg", None) or (exc.args[0] if exc.args else type(exc).__name__)
            raise PdesymError(f"Cannot parse the equation {eq_text!r}: {detail}.") from None
        for e in exprs:
            if not isinstance(e, sp.Expr):
                raise PdesymError(f"Cannot parse the equation {eq_text!r}: it is not an expression.")
        delta = sp.nsimplify(exprs[0] - exprs[1], rational=True) if len(exprs) == 2 else exprs[0]
        delta = sp.expand(delta) if delta.is_polynomial(*jet_symbols_of(delta)) else delta
        values_exact = {p: (_to_rational(p, given[p]) if p in given else None) for p in sorted(param_names)}
        leading, rhs = _solve_for_leading(delta, eq_text)
        return cls(delta=delta, leading=leading, rhs=rhs, params=values_exact, text=eq_text.strip(), name=name)

    @classmethod
    def from_preset(cls, name: str, **params: object) -> "Equation":
        """A named equation (``kdv``, ``ks``, ``burgers``, ``heat``, ``nkdv``, ``ckdv``)."""
        check_choice("equation preset", name, EQUATION_PRESETS)
        text, defaults, _ = EQUATION_PRESETS[name]
        values = {**defaults, **params}
        return cls.from_text(text, values, name=name)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "Equation":
        """Inverse of :meth:`to_dict`."""
        return cls.from_text(str(data["text"]), dict(data.get("params") or {}), name=str(data.get("name", "")))

    def to_dict(self) -> dict:
        """JSON-able form (text, name, exact parameter values as strings)."""
        return {
            "name": self.name,
            "text": self.text,
            "params": {k: str(v) for k, v in self.params.items() if v is not None},
        }

    # ----------------------------------------------------------------- derived facts
    @property
    def label(self) -> str:
        """Preset name, or the equation text."""
        return self.name or self.text

    @cached_property
    def parameter_symbols(self) -> dict[str, sp.Symbol]:
        """Parameter name -> its sympy symbol in :attr:`delta`."""
        return {s.name: s for s in self.delta.free_symbols if s.name in self.params}

    @property
    def free_parameters(self) -> tuple[str, ...]:
        """Parameters without a value."""
        return tuple(k for k, v in self.params.items() if v is None)

    def substitute(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every parameter replaced by its value (error if one has none)."""
        if self.free_parameters:
            names = ", ".join(self.free_parameters)
            raise PdesymError(
                f"Parameter {names} of {self.text!r} has no value; give it, e.g. "
                f"'{self.text}, {self.free_parameters[0]}=0.01'."
            )
        return expr.xreplace({self.parameter_symbols[k]: v for k, v in self.params.items()
                              if k in self.parameter_symbols})

    @cached_property
    def delta_numeric(self) -> sp.Expr:
        """:math:`\\Delta` with parameter values substituted."""
        return self.substitute(self.delta)

    @cached_property
    def rhs_numeric(self) -> sp.Expr:
        """K with parameter values substituted."""
        return self.substitute(self.rhs)

    @cached_property
    def jet_variables(self) -> tuple[sp.Symbol, ...]:
        """Jet variables occurring in the equation, by (total order, n_t, name)."""
        syms = jet_symbols_of(self.delta)
        return tuple(sorted(syms, key=lambda s: (sum(derivative_orders(s)), derivative_orders(s)[1], s.name)))

    @property
    def order(self) -> int:
        """The highest total derivative order in the equation."""
        return max(sum(derivative_orders(s)) for s in self.jet_variables)

    @property
    def leading_orders(self) -> tuple[int, int]:
        """(n_x, n_t) of the leading derivative."""
        return derivative_orders(self.leading)

    @property
    def is_evolution(self) -> bool:
        """True for u_t = K(x, t, u, u_x, u_xx, ...) with no t-derivative in K."""
        return self.leading_orders == (0, 1) and all(
            derivative_orders(s)[1] == 0 for s in jet_symbols_of(self.rhs)
        )

    @property
    def spatial_order(self) -> int:
        """The highest x-derivative order in K (evolution equations)."""
        return max((derivative_orders(s)[0] for s in jet_symbols_of(self.rhs)), default=0)

    @cached_property
    def time_factor(self) -> tuple[sp.Expr, sp.Expr] | None:
        r"""(g(t), K_0) when :math:`K = g(t) K_0(x, u, u_x, \dots)` with g not constant, else None.

        Then :math:`s = \int_0^t g` turns the equation into the autonomous :math:`u_s = K_0`
        (the exact time re-parametrisation the solver uses for nkdv).
        """
        self._require_evolution("a time re-parametrisation")
        K = self.rhs_numeric
        if T not in K.free_symbols:
            return None
        for t0 in (0, 1):
            K0 = K.subs(T, t0)
            if K0 == 0 or K0.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
                continue
            ratio = sp.simplify(K / K0)
            if ratio.free_symbols <= {T} and T in ratio.free_symbols:
                g0 = ratio.subs(T, 0)
                if g0 == 0 or g0.is_finite is False:
                    continue
                # normalise so that K_0 is K at t = 0: g(0) = 1
                return sp.simplify(ratio / g0), sp.expand(K0 * g0)
        return None

    def split(self, rhs: sp.Expr | None = None) -> LinearSplit:
        r"""Split K (or ``rhs``) into constant-coefficient linear terms and the rest.

        A term :math:`c\,\partial_x^k u` with c a number goes to the Fourier multiplier; every
        other term (non-linear, x- or t-dependent coefficients, forcing) stays in N.
        """
        self._require_evolution("the solver split")
        K = sp.expand(self.rhs_numeric if rhs is None else rhs)
        coeffs: dict[int, float] = {}
        rest = sp.Integer(0)
        for term in sp.Add.make_args(K):
            coeff, factors = term.as_coeff_mul()
            jets = [f for f in factors if derivative_orders(f) is not None]
            others = [f for f in factors if derivative_orders(f) is None]
            if len(jets) == 1 and all(o.is_number for o in others):
                k = derivative_orders(jets[0])[0]
                c = coeff * sp.Mul(*others)
                coeffs[k] = coeffs.get(k, 0.0) + float(c)
            else:
                rest += term
        m = max(coeffs, default=0)
        return LinearSplit(tuple(coeffs.get(k, 0.0) for k in range(m + 1)), rest)

    def _require_evolution(self, what: str) -> None:
        if not self.is_evolution:
            raise PdesymError(
                f"{what[0].upper() + what[1:]} needs an evolution equation u_t = K(x, t, u, u_x, ...), "
                f"but {self.text!r} is solved for {self.leading}."
            )

    def rhs_function(self) -> Callable[..., torch.Tensor]:
        """K as a torch function ``f(x, t, jets)``, ``jets`` mapping a jet name ('u_xx') to a tensor."""
        return to_torch(self.rhs_numeric)

    # ----------------------------------------------------------------- display
    def __str__(self) -> str:
        return f"{self.leading} = {sp.sstr(self.rhs)}"

    def latex(self) -> str:
        """The solved form in LaTeX."""
        return f"{sp.latex(self.leading)} = {sp.latex(self.rhs)}"


def _solve_for_leading(delta: sp.Expr, text: str) -> tuple[sp.Symbol, sp.Expr]:
    """Pick the leading derivative (highest pure t-derivative, else highest pure x-derivative,
    else highest mixed one) in which :math:`\\Delta` is linear, and solve for it."""
    jets = jet_symbols_of(delta)
    if not any(derivative_orders(s) != (0, 0) for s in jets):
        raise PdesymError(f"The equation {text!r} has no derivative of u; write one like u_t, u_x, u_xx.")
    pure_t = sorted((s for s in jets if derivative_orders(s)[0] == 0 and derivative_orders(s)[1] > 0),
                    key=lambda s: -derivative_orders(s)[1])
    pure_x = sorted((s for s in jets if derivative_orders(s)[1] == 0 and derivative_orders(s)[0] > 0),
                    key=lambda s: -derivative_orders(s)[0])
    mixed = sorted((s for s in jets if min(derivative_orders(s)) > 0),
                   key=lambda s: (-sum(derivative_orders(s)), s.name))
    for candidate in pure_t[:1] + pure_x[:1] + mixed[:1]:
        expanded = sp.expand(delta)
        a = expanded.coeff(candidate, 1)
        b = expanded.coeff(candidate, 0)
        if a == 0 or candidate in a.free_symbols or sp.simplify(expanded - a * candidate - b) != 0:
            continue
        if candidate in b.free_symbols:
            continue
        rhs = sp.simplify(-b / a) if not (-b / a).is_polynomial(*jets) else sp.expand(-b / a)
        return candidate, rhs
    raise PdesymError(
        f"The equation {text!r} cannot be solved for a leading derivative (u_t, u_tt, ... or u_x, u_xx, ...) "
        "that appears linearly; pdesym needs a form like u_t = K(x, t, u, u_x, ...)."
    )


def get_equation(spec: str, params: Mapping[str, object] | None = None) -> Equation:
    """A preset name (``kdv``) or equation text; unknown names list the presets."""
    if not isinstance(spec, str) or not spec.strip():
        raise PdesymError("Give a preset name or an equation, e.g. 'kdv' or 'u_t + u*u_x + u_xxx = 0'.")
    key = spec.strip()
    if key.lower() in EQUATION_PRESETS:
        return Equation.from_preset(key.lower(), **(params or {}))
    if "=" not in key and not re.search(r"u_[xt]", key):
        raise PdesymError(
            f"Unknown preset {key!r}; choose one of: {', '.join(EQUATION_PRESETS)}, "
            "or type an equation such as 'u_t + u*u_x + u_xxx = 0'."
        )
    return Equation.from_text(key, params)


def _dispatching(tfn: Callable, mfn: Callable) -> Callable:
    def call(a):
        return tfn(a) if isinstance(a, torch.Tensor) else mfn(a)

    return call


_TORCH_NAMESPACE = {name: _dispatching(tfn, mfn) for name, (_, tfn, mfn) in _FUNCTIONS.items()}
_TORCH_NAMESPACE["Abs"] = _TORCH_NAMESPACE["abs"]


def to_torch(expr: sp.Expr) -> Callable[..., torch.Tensor]:
    """Compile a sympy expression in x, t and jet variables into ``f(x, t, jets) -> Tensor``.

    ``jets`` maps jet names ('u', 'u_x', ...) to tensors of a common shape; x and t are tensors
    or floats broadcastable to it. Only the jet variables that occur in ``expr`` are read.
    """
    jets = sorted(jet_symbols_of(expr), key=lambda s: s.name)
    extra = expr.free_symbols - set(jets) - {X, T}
    if extra:
        raise PdesymError(f"Cannot evaluate {expr}: symbols {sorted(map(str, extra))} have no value.")
    fn = sp.lambdify([X, T, *jets], expr, modules=[_TORCH_NAMESPACE, "math"])
    names = [s.name for s in jets]

    def evaluate(x, t, values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        out = fn(x, t, *(values[n] for n in names))
        if not isinstance(out, torch.Tensor):
            ref = next(iter(values.values()))
            out = torch.full_like(ref, float(out))
        return out

    evaluate.jet_names = tuple(names)  # type: ignore[attr-defined]
    return evaluate
