"""Jets (spectral, Savitzky–Golay, on-shell), validity scores and the gap rank against oracles."""

import math

import pytest
import torch

from pdesym.discovery.dictionary import DictionaryFields, FunctionDictionary
from pdesym.discovery.rank import rank_by_gap
from pdesym.equations import U, X
from pdesym.errors import PdesymError
from pdesym.jets import compute_jets, sample_patches, savgol_derivatives, spectral_derivatives
from pdesym.symbolic import VectorField
from pdesym.validity import flow_validity, infinitesimal_validity, validity_grams


def _wave(nx: int, L: float = 2 * math.pi):
    x = torch.arange(nx) * L / nx
    k = 2 * math.pi / L
    return x, k


def test_spectral_derivatives_are_exact_for_band_limited_data():
    x, k = _wave(32, L=10.0)
    u = torch.sin(3 * k * x) + 0.5 * torch.cos(5 * k * x + 0.3)
    d = spectral_derivatives(u, x, 6)
    for m in range(7):
        exact = (3 * k) ** m * torch.sin(3 * k * x + m * math.pi / 2) + 0.5 * (5 * k) ** m * torch.cos(
            5 * k * x + 0.3 + m * math.pi / 2)
        assert (d[m] - exact).abs().max() <= 1e-11 * (5 * k) ** m


def test_savgol_derivatives_converge_at_the_polynomial_order():
    """Degree-4 fits over 9 points: the error of u_x falls like h^4 (ratio 16 per halving)."""
    errs = []
    for nx in (64, 128, 256):
        x, _ = _wave(nx)
        u = torch.sin(x) + 0.3 * torch.cos(2 * x)
        d, mask = savgol_derivatives(u, x[1] - x[0], 2, window=9, polyorder=4, periodic=True)
        errs.append(float((d[1] - (torch.cos(x) - 0.6 * torch.sin(2 * x))).abs().max()))
        assert bool(mask.all())
    orders = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert min(orders) > 3.7
    # non-periodic: the edges are marked invalid and sampling skips them
    x, _ = _wave(64)
    d, mask = savgol_derivatives(torch.sin(x), x[1] - x[0], 1, window=9, polyorder=4, periodic=False)
    assert int(mask.sum()) == 64 - 8 and torch.isnan(d[1][:4]).all()


def test_onshell_time_derivatives_match_the_exact_heat_solution():
    """u = exp(-nu k^2 t) sin(kx) solves u_t = nu u_xx: on-shell u_t, u_xt, u_tt are exact."""
    nu = 0.01
    x, _ = _wave(64)
    t = torch.linspace(0, 3, 7)
    u = torch.exp(-nu * 4 * t)[:, None] * torch.sin(2 * x)[None, :]
    jets = compute_jets(u, x, t, "heat")
    decay = torch.exp(-nu * 4 * t)[:, None]
    assert torch.allclose(jets.u_t[0], -nu * 4 * decay * torch.sin(2 * x), atol=1e-12)
    assert torch.allclose(jets.u_xt[0], -nu * 8 * decay * torch.cos(2 * x), atol=1e-12)
    assert torch.allclose(jets.u_tt[0], (nu * 4) ** 2 * decay * torch.sin(2 * x), atol=1e-12)
    # the same from the samples (Savitzky–Golay along t) agrees to the fit's accuracy
    data = compute_jets(u, x, t, "heat", time="data", time_window=5, time_polyorder=4)
    inner = data.mask[0]
    assert (data.u_t[0][inner] - jets.u_t[0][inner]).abs().max() < 1e-7


def test_jet_sampling_is_seeded_and_reproducible():
    x, _ = _wave(32)
    t = torch.linspace(0, 1, 5)
    u = torch.sin(x)[None, :] + 0.1 * t[:, None]
    jets = compute_jets(u, x, t, "burgers")
    a, b, c = jets.sample(20, seed=4), jets.sample(20, seed=4), jets.sample(20, seed=5)
    assert torch.equal(a.u_xx, b.u_xx) and not torch.equal(a.u, c.u)
    p, q = sample_patches(u, x, t, 3, size=(3, 5), seed=1), sample_patches(u, x, t, 3, size=(3, 5), seed=1)
    assert torch.equal(p.u, q.u) and p.u.shape == (3, 3, 5)


def test_grams_give_the_validity_of_combinations():
    x, _ = _wave(64, L=64.0)
    t = torch.linspace(0, 1, 6)
    u = (torch.sin(x / 64 * 2 * math.pi)[None, :] + 0.3 * torch.cos(3 * x / 64 * 2 * math.pi)[None, :]) * (1 + 0.1 * t[:, None])
    jets = compute_jets(u, x, t, "ks").sample(300, seed=0)
    fields = [VectorField(1, 0, 0), VectorField(0, 0, 1), VectorField(X, 0, U)]
    for norm in ("V", "P", "PV"):
        GR, GN = validity_grams(fields, jets, normalisation=norm)
        c = torch.tensor([0.5, -1.0, 2.0])
        d = FunctionDictionary(1)
        combo = sum(ci * d.coefficients(f) for ci, f in zip(c, fields))
        direct = infinitesimal_validity(DictionaryFields(d, combo.unsqueeze(0)), jets, normalisation=norm)
        assert float(direct) == pytest.approx(float(c @ GR @ c / (c @ GN @ c)), rel=1e-10)
    # scale-free: multiplying a field by 7 does not change its validity
    v1 = infinitesimal_validity([VectorField(X, 0, U)], jets)
    v7 = infinitesimal_validity([VectorField(7 * X, 0, 7 * U)], jets)
    assert float(v1) == pytest.approx(float(v7), rel=1e-12)


def test_rank_by_gap_picks_the_largest_ratio():
    choice = rank_by_gap([1e-15, 2e-15, 3e-15, 1e-3, 5e-3, 1.0])
    assert choice.rank == 3 and choice.gap == pytest.approx(1e-3 / 3e-15)
    assert choice.runner_up_rank == 5 and choice.accepted()
    assert not rank_by_gap([1.0, 2.0, 3.9, 8.0]).accepted()  # gaps of 2: no clear dimension
    assert rank_by_gap([0.0, 0.0, 1.0, 2.0]).rank == 2  # exact zeros are fine
    with pytest.raises(PdesymError):
        rank_by_gap([1.0])


def test_flow_validity_is_differentiable_in_the_field():
    x, _ = _wave(64, L=64.0)
    t = torch.linspace(0, 1, 9)
    u = torch.sin(x / 64 * 2 * math.pi)[None, :] * (1 + 0.05 * t[:, None])
    patches = sample_patches(u, x, t, 8, size=(5, 7), seed=0, equation="kdv")
    w = torch.tensor([0.3], requires_grad=True)
    field = lambda a, b, c: torch.stack([torch.zeros_like(a), torch.zeros_like(a), w * c + 1], -1)  # noqa: E731
    score = flow_validity(field, patches, eps=0.1, normalise=False)
    score.sum().backward()
    assert w.grad is not None and torch.isfinite(w.grad).all() and float(w.grad.abs()) > 0


def test_bad_inputs_get_one_clear_sentence():
    x, _ = _wave(16)
    t = torch.linspace(0, 1, 4)
    u = torch.sin(x)[None, :].repeat(4, 1)
    with pytest.raises(PdesymError, match="derivative method"):
        compute_jets(u, x, t, "kdv", method="magic")
    with pytest.raises(PdesymError, match="evolution equation"):
        compute_jets(u, x, t, "u_tt = u_xx")
    with pytest.raises(PdesymError, match="NaN"):
        compute_jets(u * float("nan"), x, t, "kdv")
    with pytest.raises(PdesymError, match="periodic"):
        compute_jets(u, x, t, "kdv", periodic=False)
    with pytest.raises(PdesymError, match="normalisation"):
        infinitesimal_validity([VectorField(1, 0, 0)], compute_jets(u, x, t, "kdv").sample(5), normalisation="Q")
    from pdesym.discovery.nullspace import nullspace_symmetries

    with pytest.raises(PdesymError, match="too few"):
        nullspace_symmetries(u, x, t, "kdv", degree=2, n_points=10)
