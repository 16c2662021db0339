r"""Truncated Taylor series in torch: exact x-derivatives of networks along a jet (Taylor mode).

A series is a tensor ``a`` of shape (n + 1, ...) holding *normalised* coefficients
:math:`a_k = g^{(k)}/k!` of :math:`g(s)` at s = 0. Along a solution, the inputs of a field
network are :math:`(x + s,\ t,\ U(s))` with :math:`U(s) = \sum_k u_{x^k} s^k / k!`
(:func:`input_series`); pushing the series through the network gives
:math:`D_x^k` of every output (:func:`derivatives`) in one pass of O(n²) elementwise work per
layer — instead of 2^n nested ``jvp`` passes — and stays differentiable in the weights.

Elementary functions use the standard recurrences from :math:`y' = h(y)\,a'`
(Griewank & Walther, *Evaluating Derivatives*, ch. 13):
:math:`y_k = \frac1k \sum_{j=1}^{k} j\,a_j\,w_{k-j}` with w the series of h(y).

A field object can expose ``x_derivatives(jets, n)`` (and ``t_derivative(jets)``) built from
these pieces; then :func:`pdesym.prolongation.characteristic_residual` uses them instead of
nested ``jvp`` (:func:`sequential_x_derivatives`, :func:`sequential_t_derivative` do it for
``nn.Sequential`` stacks).
"""

from __future__ import annotations

from math import factorial
from typing import TYPE_CHECKING, Callable

import torch
from torch import nn

from pdesym.errors import PdesymError

if TYPE_CHECKING:
    from pdesym.jets import Jets

__all__ = [
    "input_series",
    "derivatives",
    "mul",
    "linear",
    "exp",
    "tanh",
    "sigmoid",
    "silu",
    "softplus",
    "sin",
    "cos",
    "apply_module",
    "sequential_x_derivatives",
    "sequential_t_derivative",
]


def input_series(jets: "Jets", n: int) -> torch.Tensor:
    r"""The series of (x + s, t, U(s)) at the jet points: shape (n + 1, N, 3)."""
    x, t = jets.x, jets.t
    zero, one = torch.zeros_like(x), torch.ones_like(x)
    xs = torch.stack([x, one] + [zero] * (n - 1))[: n + 1]
    ts = torch.stack([t] + [zero] * n)
    us = torch.stack([jets[(k, 0)] / factorial(k) for k in range(n + 1)])
    return torch.stack([xs, ts, us], dim=-1)


def derivatives(series: torch.Tensor) -> list[torch.Tensor]:
    r""":math:`[g^{(k)}]_{k=0..n} = [k!\,a_k]` from normalised coefficients."""
    return [series[k] * factorial(k) for k in range(series.shape[0])]


def mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cauchy product :math:`(ab)_k = \\sum_{i \\le k} a_i b_{k-i}`."""
    return torch.stack([sum(a[i] * b[k - i] for i in range(k + 1)) for k in range(a.shape[0])])


def linear(a: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
    """An affine layer: the bias enters the constant coefficient only."""
    out = a @ layer.weight.T
    if layer.bias is not None:
        out = torch.cat([out[:1] + layer.bias, out[1:]])
    return out


def _ode(a: torch.Tensor, y0: torch.Tensor, h: Callable[[list], torch.Tensor]) -> torch.Tensor:
    """Series of y with y' = h(y) a' given y_0: y_k = (1/k) Σ_j j a_j w_{k-j}, w = series of h(y)."""
    ys = [y0]
    ws = [h(ys, 0)]
    for k in range(1, a.shape[0]):
        ys.append(sum(j * a[j] * ws[k - j] for j in range(1, k + 1)) / k)
        ws.append(h(ys, k))
    return torch.stack(ys)


def _square_coeff(ys: list, k: int) -> torch.Tensor:
    return sum(ys[i] * ys[k - i] for i in range(k + 1))


def exp(a: torch.Tensor) -> torch.Tensor:
    """:math:`e^a` (y' = y a')."""
    return _ode(a, torch.exp(a[0]), lambda ys, k: ys[k])


def tanh(a: torch.Tensor) -> torch.Tensor:
    """:math:`\\tanh a` (y' = (1 - y²) a')."""
    return _ode(a, torch.tanh(a[0]), lambda ys, k: (1 if k == 0 else 0) - _square_coeff(ys, k))


def sigmoid(a: torch.Tensor) -> torch.Tensor:
    """:math:`\\sigma(a)` (y' = (y - y²) a')."""
    return _ode(a, torch.sigmoid(a[0]), lambda ys, k: ys[k] - _square_coeff(ys, k))


def silu(a: torch.Tensor) -> torch.Tensor:
    """:math:`a\\,\\sigma(a)`."""
    return mul(a, sigmoid(a))


def softplus(a: torch.Tensor) -> torch.Tensor:
    """:math:`\\log(1 + e^a)` (y' = σ(a) a')."""
    sig = sigmoid(a)
    ys = [nn.functional.softplus(a[0])]
    for k in range(1, a.shape[0]):
        ys.append(sum(j * a[j] * sig[k - j] for j in range(1, k + 1)) / k)
    return torch.stack(ys)


def sin(a: torch.Tensor) -> torch.Tensor:
    """:math:`\\sin a` (s' = c a', c' = -s a')."""
    return _sincos(a)[0]


def cos(a: torch.Tensor) -> torch.Tensor:
    """:math:`\\cos a`."""
    return _sincos(a)[1]


def _sincos(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    s, c = [torch.sin(a[0])], [torch.cos(a[0])]
    for k in range(1, a.shape[0]):
        s.append(sum(j * a[j] * c[k - j] for j in range(1, k + 1)) / k)
        c.append(-sum(j * a[j] * s[k - j] for j in range(1, k + 1)) / k)
    return torch.stack(s), torch.stack(c)


_ACTIVATIONS: dict[type, Callable[[torch.Tensor], torch.Tensor]] = {
    nn.Tanh: tanh,
    nn.Sigmoid: sigmoid,
    nn.SiLU: silu,
    nn.Softplus: softplus,
    nn.Identity: lambda a: a,
}


def apply_module(module: nn.Module, a: torch.Tensor) -> torch.Tensor:
    """Push a series through Linear / Tanh / Sigmoid / SiLU / Softplus / Identity / Sequential."""
    if isinstance(module, nn.Sequential):
        for m in module:
            a = apply_module(m, a)
        return a
    if isinstance(module, nn.Linear):
        return linear(a, module)
    if isinstance(module, nn.Softplus) and (module.beta != 1 or module.threshold != 20):
        raise PdesymError("Taylor mode supports nn.Softplus with its default beta and threshold only.")
    fn = _ACTIVATIONS.get(type(module))
    if fn is None:
        raise PdesymError(
            f"Taylor mode has no rule for {type(module).__name__}; use Linear, Tanh, Sigmoid, SiLU, Softplus "
            "or Identity, or leave the field without x_derivatives (nested jvp is used then)."
        )
    return fn(a)


def sequential_x_derivatives(module: nn.Module, jets: "Jets", n: int, *, k: int | None = None) -> list[torch.Tensor]:
    r""":math:`[D_x^j V]_{j\le n}` of ``V(x, t, u) = module([x, t, u]).reshape(N, K, 3)``, each (N, K, 3)."""
    out = apply_module(module, input_series(jets, n))  # (n+1, N, 3K)
    out = out.reshape(out.shape[0], out.shape[1], -1, 3) if k is None else out.reshape(out.shape[0], out.shape[1], k, 3)
    return derivatives(out)


def sequential_t_derivative(module: nn.Module, jets: "Jets", *, k: int | None = None) -> torch.Tensor:
    r""":math:`D_t V = V_t + V_u u_t` of ``V = module([x, t, u])``, (N, K, 3): a first-order series along (0, 1, u_t)."""
    x, t, u = jets.x, jets.t, jets[(0, 0)]
    a = torch.stack([torch.stack([x, t, u], -1),
                     torch.stack([torch.zeros_like(x), torch.ones_like(t), jets[(0, 1)]], -1)])
    out = apply_module(module, a)[1]
    return out.reshape(out.shape[0], -1, 3) if k is None else out.reshape(out.shape[0], k, 3)
