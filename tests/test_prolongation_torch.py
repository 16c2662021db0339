"""Torch prolongation and characteristic residual against the exact sympy engine."""

import random

import pytest
import torch

from pdesym.equations import T, U, X, derivative_orders, to_torch
from pdesym.jets import Jets, compute_jets
from pdesym.prolongation import characteristic_residual, prolong, prolongation_residual
from pdesym.symbolic import VectorField
from pdesym.symbolic import prolong as sym_prolong


def _random_field(rng: random.Random, degree: int = 2) -> VectorField:
    monos = [X ** i * T ** j * U ** k for i in range(degree + 1) for j in range(degree + 1 - i)
             for k in range(degree + 1 - i - j)]
    comps = [sum(rng.choice([-3, -2, -1, 1, 2, 3]) * m for m in rng.sample(monos, 3)) for _ in range(3)]
    return VectorField(*comps)


def _random_jets(order: int, n: int, seed: int) -> Jets:
    g = torch.Generator().manual_seed(seed)
    vals = {(i, j): torch.randn(n, generator=g) for s in range(order + 2) for j in range(s + 1) for i in [s - j]}
    return Jets(torch.randn(n, generator=g), torch.randn(n, generator=g), vals)


def test_torch_prolongation_equals_sympy_up_to_order_4():
    rng = random.Random(3)
    # two random fields (sympy's order-4 prolongation of each takes ~1 s) and Burgers' projective one
    fields = [_random_field(rng) for _ in range(2)] + [VectorField(X * T, T ** 2, X - T * U)]
    jets = _random_jets(4, 40, seed=1)
    got = prolong(fields, jets, 4)
    names = jets.names()
    worst = 0.0
    for k, f in enumerate(fields):
        exact = sym_prolong(f, 4)
        for sym, expr in exact.items():
            o = derivative_orders(sym)
            ref = to_torch(expr)(jets.x, jets.t, names)
            err = (got[o][:, k] - ref).abs().max() / (1 + ref.abs().max())
            worst = max(worst, float(err))
    assert len(got) == 15  # all (i, j) with i + j <= 4
    assert worst <= 1e-10
    # the generic path (any callable: nested forward-mode AD) agrees with the series path
    fns = [f.numeric("torch") for f in fields]
    generic = prolong(lambda x, t, u: torch.stack([fn(x, t, u) for fn in fns], -2), jets, 3)
    for o, v in generic.items():
        assert torch.allclose(v, got[o], rtol=1e-11, atol=1e-9)


def test_prolongation_residual_equals_characteristic_residual_on_shell():
    x = torch.linspace(0, 2 * torch.pi, 64 + 1)[:-1]
    t = torch.linspace(0, 0.5, 6)
    u = (torch.sin(x)[None, :] + 0.5 * torch.cos(2 * x + 1)[None, :]) * torch.exp(-t)[:, None]
    jets = compute_jets(u, x, t, "burgers").sample(200, seed=0)
    fields = [VectorField(X * T, T ** 2, X - T * U), VectorField(0, 0, U), VectorField(X ** 2, 0, T)]
    R = characteristic_residual(fields, jets)
    P = prolongation_residual(fields, jets, "burgers")
    assert torch.allclose(R, P, atol=1e-12, rtol=0)
    assert R[:, 0].abs().max() < 1e-13  # the projective symmetry of Burgers
    assert R[:, 1].abs().max() > 1e-3  # u∂u is not one


def test_residual_is_differentiable_in_callable_parameters():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 6))
    field = lambda x, t, u: net(torch.stack([x, t, u], -1)).reshape(*x.shape, 2, 3)  # noqa: E731
    x = torch.linspace(0, 2 * torch.pi, 33)[:-1]
    t = torch.linspace(0, 0.3, 4)
    u = torch.sin(x)[None, :] * (1 + t[:, None])
    jets = compute_jets(u, x, t, "ks").sample(50, seed=1)
    R = characteristic_residual(field, jets)
    assert R.shape == (50, 2)
    R.pow(2).mean().backward()
    g = net[0].weight.grad
    # the gradient matches a finite difference in one weight
    w = net[0].weight
    with torch.no_grad():
        w[0, 0] += 1e-6
        up = characteristic_residual(field, jets).pow(2).mean()
        w[0, 0] -= 2e-6
        dn = characteristic_residual(field, jets).pow(2).mean()
        w[0, 0] += 1e-6
    assert float(g[0, 0]) == pytest.approx(float((up - dn) / 2e-6), rel=1e-5)


def test_taylor_mode_matches_nested_jvp_for_networks():
    from pdesym import taylor
    from pdesym.prolongation import x_derivatives

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.SiLU(),
                              torch.nn.Linear(8, 8), torch.nn.Softplus(), torch.nn.Linear(8, 8), torch.nn.Sigmoid(),
                              torch.nn.Linear(8, 6))
    jets = _random_jets(4, 30, seed=5)
    fn = lambda x, t, u: net(torch.stack([x, t, u], -1)).reshape(*x.shape, 2, 3)  # noqa: E731
    ref = x_derivatives(fn, jets, 4)
    got = taylor.sequential_x_derivatives(net, jets, 4)
    for a, b in zip(got, ref):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-10)
    a = torch.randn(5, 7, dtype=torch.float64)
    s = a.clone()
    s[2:] = 0
    s[1] = 1  # the series of x0 + s: check sin, cos, exp against their derivatives
    for f, d in [(taylor.sin, [torch.sin, torch.cos, lambda v: -torch.sin(v), lambda v: -torch.cos(v)]),
                 (taylor.exp, [torch.exp] * 4)]:
        out = taylor.derivatives(f(s))
        for k in range(4):
            assert torch.allclose(out[k], d[k](s[0]), atol=1e-12)


def test_field_objects_with_their_own_taylor_mode_are_used():
    from pdesym import taylor

    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 9))

    class Field(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x, t, u):
            return self.net(torch.stack([x, t, u], -1)).reshape(*x.shape, 3, 3)

        def x_derivatives(self, jets, n):
            return taylor.sequential_x_derivatives(self.net, jets, n)

        def t_derivative(self, jets):
            return taylor.sequential_t_derivative(self.net, jets)

    x = torch.linspace(0, 2 * torch.pi, 33)[:-1]
    t = torch.linspace(0, 0.3, 4)
    u = torch.sin(x)[None, :] * (1 + t[:, None])
    jets = compute_jets(u, x, t, "kdv").sample(60, seed=1)
    field = Field()
    fast = characteristic_residual(field, jets)
    slow = characteristic_residual(lambda a, b, c: field(a, b, c), jets)
    assert torch.allclose(fast, slow, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("basis", [None, "exp(t/50), sin(x)"])
def test_dictionary_taylor_series_match_nested_jvp(basis):
    from pdesym.discovery.dictionary import FunctionDictionary
    from pdesym.prolongation import total_derivatives, x_derivatives

    d = FunctionDictionary(2, basis)
    jets = _random_jets(4, 30, seed=11)
    ref = x_derivatives(d, jets, 3)  # oracle: nested forward-mode AD of the dictionary's values
    for a, b in zip(d.x_derivatives(jets, 3), ref, strict=True):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-10)
    orders = [(0, 0), (2, 0), (1, 1), (0, 2), (2, 1)]
    ref2 = total_derivatives(d, jets, orders)
    got2 = d.total_derivatives(jets, orders)
    for o in orders:
        assert torch.allclose(got2[o], ref2[o], rtol=1e-10, atol=1e-10), o
