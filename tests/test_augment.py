"""pdesym.augment: flows, resampling, whole-trajectory transformations, residuals, files, CLI.

Oracles: exact solutions (the KdV soliton), exact group actions (u(x - eps t, t) + eps, scalings),
band-limited interpolation identities, inverse elements, the closed form vs torchdiffeq.
"""

import json
import math

import h5py
import numpy as np
import pytest
import sympy as sp
import torch

from pdesym.augment import (
    GroupAction,
    SymmetryAugmentation,
    closed_form_flow,
    fourier_interpolate,
    parse_scales,
    relative_residual,
    sample_trajectories,
    transform_trajectories,
)
from pdesym.datasets import DatasetWriter, read_dataset
from pdesym.equations import T, U, X, Equation
from pdesym.errors import PdesymError
from pdesym.operators import Trajectories
from pdesym.symbolic import VectorField, find_symmetries

TRANSLATION = VectorField(1, 0, 0)
TIME = VectorField(0, 1, 0)
GALILEAN = VectorField(T, 0, 1)
KDV_SCALING = VectorField(X, 3 * T, -2 * U)
PROJECTIVE = VectorField(T * X, T**2, X - T * U)  # Burgers


def soliton(x, t, c=1.0, x0=0.0, length=40.0):
    """KdV soliton 3c sech^2(sqrt(c)(x - ct - x0)/2), centred in the periodic cell (tails ~1e-8)."""
    z = torch.remainder(x - c * t - x0 + length / 2, length) - length / 2
    return 3 * c / torch.cosh(math.sqrt(c) * z / 2) ** 2


def soliton_trajectories(b=2, nx=128, nt=24, length=40.0, dt=0.01, t0=0.5):
    x = torch.arange(nx) * length / nx
    t = t0 + dt * torch.arange(nt)
    u = torch.stack([soliton(x[None, :], t[:, None], c=1.0 + 0.2 * i, x0=-5.0 + 3 * i, length=length)
                     for i in range(b)])
    return Trajectories.from_grid(u, x, t)


def smooth_trajectories(b=3, nx=32, nt=40, length=10.0, dt=0.05, t0=1.0):
    """Band-limited in x (modes 1 and 2), smooth in t."""
    x = torch.arange(nx) * length / nx
    t = t0 + dt * torch.arange(nt)
    f = lambda x, t: torch.sin(2 * math.pi * x / length + t) + 0.3 * torch.cos(4 * math.pi * x / length - 2 * t)  # noqa: E731
    u = f(x[None, :], t[:, None])[None].repeat(b, 1, 1)
    return Trajectories.from_grid(u, x, t), f


# ---------------------------------------------------------------------------------- flows
def test_closed_form_flows_of_the_exact_algebras():
    eps = sp.Symbol("epsilon", real=True)
    assert closed_form_flow(GALILEAN) == (X + eps * T, T, U + eps)
    fx, ft, fu = closed_form_flow(KDV_SCALING)
    assert sp.simplify(fx - X * sp.exp(eps)) == 0 and sp.simplify(fu - U * sp.exp(-2 * eps)) == 0
    fx, ft, fu = closed_form_flow(PROJECTIVE)
    assert sp.simplify(ft - T / (1 - eps * T)) == 0
    assert sp.simplify(fu - (U + eps * (X - T * U))) == 0  # the Burgers projective action


def test_integrated_flow_matches_the_closed_form():
    x, t, u = torch.rand(3, 4, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).unbind(0)
    eps = torch.tensor([0.3, -0.2, 0.1, 0.05])[:, None]
    for field in (KDV_SCALING, PROJECTIVE):
        exact = GroupAction.from_fields([field]).apply(x, t, u, eps)
        numeric = GroupAction.from_fields([field], numeric=True, steps=64).apply(x, t, u, eps)
        for a, b in zip(exact, numeric):
            assert (a - b).abs().max() < 1e-8


def test_learned_field_flows_like_its_symbolic_counterpart():
    """An MLP-style callable field (here a torch module computing t∂x + ∂u) is integrated."""

    class Boost(torch.nn.Module):
        def forward(self, x, t, u):
            return torch.stack([t, torch.zeros_like(x), torch.ones_like(x)], dim=-1)

    traj, _ = smooth_trajectories()
    eps = torch.tensor([[0.4], [-0.3], [0.1]])
    learned = transform_trajectories(traj, GroupAction.from_fields([Boost()], names=["boost"]), eps)
    exact = transform_trajectories(traj, GroupAction.from_fields([GALILEAN]), eps)
    assert (learned.u - exact.u).abs().max() < 1e-10


def test_product_and_inverse():
    x, t, u = torch.rand(3, 2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).unbind(0)
    action = GroupAction.from_fields([TRANSLATION, GALILEAN, KDV_SCALING])
    eps = torch.tensor([[0.3, -0.2, 0.1], [0.0, 0.5, -0.1]])
    back = action.apply(*action.apply(x, t, u, eps), eps, inverse=True)
    for a, b in zip(back, (x, t, u)):
        assert (a - b).abs().max() < 1e-14
    # exp(e1 ∂x) then exp(e2 (t∂x + ∂u)): x + e1 + e2 t
    gx, gt, gu = action.apply(x, t, u, eps * torch.tensor([1.0, 1.0, 0.0]))
    assert torch.allclose(gx, x + eps[:, :1] + eps[:, 1:2] * t, atol=1e-15)
    assert torch.equal(gt, t) and torch.allclose(gu, u + eps[:, 1:2], atol=1e-15)
    summed = GroupAction.from_fields([TRANSLATION, GALILEAN], composition="sum").apply(x, t, u, eps[:, :2])
    # exp(e1 ∂x + e2 (t∂x + ∂u)) = same map here (t is invariant, so the fields commute on x, u)
    assert torch.allclose(summed[0], x + eps[:, :1] + eps[:, 1:2] * t, atol=1e-12)


# ---------------------------------------------------------------------------------- resampling
def test_band_limited_resampling_round_trip():
    traj, f = smooth_trajectories()
    b, nt, nx = traj.u.shape
    # arbitrary (non-uniform) query points: direct sum over modes
    xq = torch.rand(b, nt, 50, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 30 - 10
    got = fourier_interpolate(traj.u, xq, traj.x0, traj.length)
    assert (got - f(xq, traj.t[:, :, None])).abs().max() < 1e-12
    # a round trip: shift by an irrational fraction of the period and back
    shifted = fourier_interpolate(traj.u, traj.x[:, None, :].expand(b, nt, nx) + math.sqrt(2), traj.x0, traj.length)
    back = fourier_interpolate(shifted, traj.x[:, None, :].expand(b, nt, nx) - math.sqrt(2), traj.x0, traj.length)
    assert (back - traj.u).abs().max() < 1e-10
    # per-point stencils in t (times varying along x)
    tq = traj.t[:, :, None] + 0.013 * torch.sin(traj.x[:, None, :])
    got = sample_trajectories(traj.u, traj.x0, traj.dx, traj.t0, traj.dt, xq[..., :nx] * 0 + traj.x[:, None, :], tq)
    assert (got - f(traj.x[:, None, :], tq)).abs()[:, 4:-4].max() < 1e-9


def test_group_inverse_round_trip_on_trajectories():
    traj, _ = smooth_trajectories()
    action = GroupAction.from_fields([TRANSLATION, GALILEAN, KDV_SCALING])
    eps = torch.tensor([[0.7, 0.4, 0.1], [-1.1, -0.3, -0.05], [0.0, 0.0, 0.0]])
    there = transform_trajectories(traj, action, eps)
    inverse = GroupAction.from_fields([KDV_SCALING, GALILEAN, TRANSLATION])
    back = transform_trajectories(there, inverse, -eps.flip(1))
    assert (back.u - traj.u).abs().max() < 1e-10
    assert torch.allclose(back.dx, traj.dx) and torch.allclose(back.dt, traj.dt)


# ---------------------------------------------------------------------------------- exact actions
def test_galilean_boost_and_scaling_exact_on_the_grid():
    traj, f = smooth_trajectories()
    eps = torch.tensor([[0.3], [-0.5], [0.0]])
    out = transform_trajectories(traj, GroupAction.from_fields([GALILEAN]), eps)
    e = eps[:, 0, None, None]
    assert torch.equal(out.dx, traj.dx) and torch.equal(out.t, traj.t)  # the stored grid itself
    exact = f(out.x[:, None, :] - e * out.t[:, :, None], out.t[:, :, None]) + e
    assert (out.u - exact).abs().max() < 1e-12

    lam = torch.exp(torch.tensor([0.1, -0.2, 0.0]))
    out = transform_trajectories(traj, GroupAction.from_fields([KDV_SCALING]), lam.log()[:, None])
    assert torch.allclose(out.dx, traj.dx * lam) and torch.allclose(out.dt, traj.dt * lam**3)
    lam = lam[:, None, None]
    exact = f(out.x[:, None, :] / lam, out.t[:, :, None] / lam**3) / lam**2
    assert (out.u - exact).abs().max() < 1e-12


def test_time_translation_crops_the_window():
    traj, f = smooth_trajectories()
    eps = torch.tensor([[0.3], [-0.33], [0.0]])  # 6 steps forward; 6.6 steps back (interpolated)
    out = transform_trajectories(traj, GroupAction.from_fields([TIME]), eps)
    assert out.first.tolist() == [6, 0, 0] and out.stop.tolist() == [40, 33, 40]
    exact = f(out.x[:, None, :], out.t[:, :, None] - eps[:, 0, None, None])
    for b in range(3):
        assert (out.u - exact)[b, out.first[b]:out.stop[b]].abs().max() < 1e-9


def test_solution_dependent_base_map_reaches_its_fixed_point():
    """V = u∂x moves x by eps*u: the pull-back needs ũ, found by iteration; the inverse element
    brings the data back."""
    traj, _ = smooth_trajectories()
    action = GroupAction.from_fields([VectorField(U, 0, 0)])
    eps = torch.tensor([[0.05], [-0.03], [0.0]])
    out, report = transform_trajectories(traj, action, eps, report=True)
    assert report.iterations > 1 and report.update < 1e-10
    back = transform_trajectories(out, action, -eps)
    assert (back.u - traj.u).abs().max() < 1e-9


# ---------------------------------------------------------------------------------- residuals
def test_residual_stays_small_for_symmetries_and_grows_for_a_non_symmetry():
    traj = soliton_trajectories()
    base = relative_residual(traj, "kdv")
    assert base.max() < 1e-5
    action = GroupAction.from_fields([TRANSLATION, TIME, GALILEAN, KDV_SCALING])
    eps = torch.tensor([[3.0, 0.013, 0.4, 0.1], [-7.0, -0.021, -0.3, -0.15]])
    out = transform_trajectories(traj, action, eps)
    assert (out.stop - out.first).min() >= 15
    assert (relative_residual(out, "kdv") < 10 * base.max()).all()
    not_a_symmetry = GroupAction.from_fields([VectorField(0, 0, U)])  # u -> e^eps u
    bad = transform_trajectories(traj, not_a_symmetry, torch.tensor([[0.3], [-0.3]]))
    assert (relative_residual(bad, "kdv") > 0.1).all()


# ---------------------------------------------------------------------------------- sampling
def test_parse_scales_forms():
    names, texts = ["translation in x", "Galilean boost"], ["∂x", "t∂x + ∂u"]
    assert parse_scales("0.5", names, texts) == (0.5, 0.5)
    assert parse_scales("1,0.2", names, texts) == (1.0, 0.2)
    assert parse_scales("X2=0.3", names, texts) == (0.0, 0.3)
    assert parse_scales("Galilean boost=0.3", names, texts) == (0.0, 0.3)
    for bad, words in (("1,2,3", "3 scales for 2"), ("X5=1", "no generator X5"), ("0", "Every scale is 0"),
                       ("a", "not a number"), ("-1", ">= 0")):
        with pytest.raises(PdesymError, match=words):
            parse_scales(bad, names, texts)
    # after --generators X1,X3 the names keep the file's numbering
    assert parse_scales("X3=0.1", names, texts, numbers=[1, 3]) == (0.0, 0.1)
    assert parse_scales("X1=1,X3=0.1", names, texts, numbers=[1, 3]) == (1.0, 0.1)
    with pytest.raises(PdesymError, match=r"no generator X2 among the generators used \(X1, X3\)"):
        parse_scales("X2=1", names, texts, numbers=[1, 3])


def test_training_hook_is_reproducible_and_keeps_short_samples():
    traj, _ = smooth_trajectories()
    hook = SymmetryAugmentation(GroupAction.from_fields([TIME, GALILEAN]), (1.5, 0.3), min_snapshots=20)
    a = hook(traj, torch.Generator().manual_seed(3))
    b = hook(traj, torch.Generator().manual_seed(3))
    assert torch.equal(a.u, b.u)
    assert ((a.stop - a.first) >= 20).all()
    assert hook.kept >= 1  # shifts of up to 30 steps leave fewer than 20 of 40 snapshots sometimes


# ---------------------------------------------------------------------------------- files and CLI
def _write_kdv_file(path, n=3):
    traj = soliton_trajectories(b=n)
    eq = Equation.from_preset("kdv")
    attrs = {"equation": eq.text, "equation_json": eq.to_dict(), "preset": "kdv"}
    with DatasetWriter(path, attrs=attrs) as w:
        w.append("train", traj.u.numpy(), traj.x.numpy(), traj.t.numpy(), np.arange(n))
    return traj


@pytest.fixture(scope="module")
def kdv_symmetries(tmp_path_factory):
    path = tmp_path_factory.mktemp("sym") / "kdv.json"
    find_symmetries("kdv").save(path)
    return path


def test_cli_writes_provenance_and_streams(tmp_path, cli, kdv_symmetries):
    src = tmp_path / "kdv.h5"
    traj = _write_kdv_file(src)
    out = tmp_path / "aug.h5"
    r = cli("augment", src, "--symmetries", kdv_symmetries, "--copies", 2, "--scale", "X1=2,X2=0.02,X3=0.3,X4=0.05",
            "--seed", 7, "--chunk", 2, "--out", out)
    assert r.exit_code == 0, r.output
    with read_dataset(out, load=True) as data:
        split = data["train"]
        assert split.u.shape[0] == 6 and split.nx == 128 and split.nt < 24
        attrs = data.attrs
        assert attrs["augmented"] and attrs["augment_copies"] == 2 and attrs["augment_seed"] == 7
        assert attrs["augment_source_file"].endswith("kdv.h5")
        assert [g["text"] for g in attrs["augment_generators"]] == ["∂x", "∂t", "t∂x + ∂u", "x∂x + 3t∂t − 2u∂u"]
        assert data.equation is not None and data.equation.name == "kdv"
    with h5py.File(out) as f:
        eps = f["train/group_parameters"][...]
        src_index = f["train/source_index"][...]
        assert eps.shape == (6, 4) and (np.abs(eps) <= [2, 0.02, 0.3, 0.05]).all()
        assert src_index.tolist() == [0, 0, 1, 1, 2, 2]
        assert json.loads(f["train"].attrs["group_parameter_columns"])[2] == "t∂x + ∂u"
    # same seed, different chunking: the same bytes of data
    out2 = tmp_path / "aug2.h5"
    assert cli("augment", src, "-s", kdv_symmetries, "-n", 2, "--scale", "X1=2,X2=0.02,X3=0.3,X4=0.05",
               "--seed", 7, "--chunk", 3, "--out", out2).exit_code == 0
    with h5py.File(out) as f, h5py.File(out2) as g:
        assert np.array_equal(f["train/pde_" + f"{split.nt}-128"][...], g["train/pde_" + f"{split.nt}-128"][...])
    # the augmented samples still solve KdV
    with read_dataset(out, load=True) as data:
        s = data["train"]
        aug = Trajectories.from_grid(s.u, s.x, s.t)
    assert relative_residual(aug, "kdv").max() < 10 * relative_residual(traj, "kdv").max()


def test_cli_bad_input(tmp_path, cli, kdv_symmetries):
    src = tmp_path / "kdv.h5"
    _write_kdv_file(src)
    burgers = tmp_path / "burgers.json"
    find_symmetries("burgers").save(burgers)
    out = tmp_path / "o.h5"
    cases = [
        (("--symmetries", burgers, "--copies", 1, "--scale", 0.1), "is for"),
        (("--symmetries", kdv_symmetries, "--copies", 0, "--scale", 0.1), "positive integer"),
        (("--symmetries", kdv_symmetries, "--copies", 1, "--scale", 0.1, "--generators", "X9"), "no generator X9"),
        (("--symmetries", kdv_symmetries, "--copies", 1, "--scale", 0.1, "--generators", "rotation"),
         "No generator 'rotation'"),
        (("--symmetries", tmp_path / "missing.json", "--copies", 1, "--scale", 0.1), "No symmetries file"),
        (("--symmetries", kdv_symmetries, "--copies", 1, "--scale", "1,2"), "2 scales for 4"),
    ]
    for args, words in cases:
        r = cli("augment", src, *args, "--out", out)
        assert r.exit_code != 0
        assert words.lower() in r.output.lower(), (args, r.output)
        assert "Traceback" not in r.output
        assert not out.exists()
    out.write_text("keep me")
    r = cli("augment", src, "--symmetries", kdv_symmetries, "--copies", 1, "--scale", 0.1, "--out", out)
    assert r.exit_code != 0 and "already exists" in r.output and out.read_text() == "keep me"


# ---------------------------------------------------------------------------------- against the solver
@pytest.fixture(scope="module")
def kdv_solution():
    from pdesym.solvers import solve
    from pdesym.solvers.initial import random_initial_conditions

    u0 = random_initial_conditions(2, 64, 32.0, seed=3, modes=3, amplitude=0.5, max_wavenumber=2,
                                   device="cpu", dtype="float64")
    sol = solve("kdv", u0, length=32.0, t_out=0.5 + 0.05 * torch.arange(20), dt=0.01)
    return Trajectories.from_grid(sol.u, sol.x, sol.t)


@pytest.mark.parametrize("field, eps", [
    (GALILEAN, [[0.3], [-0.4]]),
    (KDV_SCALING, [[0.1], [-0.08]]),
    (TIME, [[0.1], [-0.137]]),  # 2 steps, and 2.74 steps (Lagrange in t)
])
def test_transformed_kdv_equals_the_solver_from_the_transformed_start(kdv_solution, field, eps):
    """exp(eps V) of a KdV trajectory, resampled on its grid, equals the solver run from its first
    valid snapshot on the transformed domain (period e^eps L for the scaling)."""
    from pdesym.solvers import solve

    out = transform_trajectories(kdv_solution, GroupAction.from_fields([field]), torch.tensor(eps))
    for b in range(2):
        lo, hi = int(out.first[b]), int(out.stop[b])
        assert hi - lo >= 15
        t = out.t[b, lo:hi]
        ref = solve("kdv", out.u[b:b + 1, lo], length=float(out.length[b]), t_out=t - t[0], dt=0.01)
        assert (ref.u[0] - out.u[b, lo:hi]).abs().max() < 1e-6


def test_fast_resampling_paths_agree_with_the_per_point_reference():
    traj, _ = smooth_trajectories()
    action = GroupAction.from_fields([TRANSLATION, TIME, GALILEAN, KDV_SCALING])
    eps = torch.tensor([[0.7, 0.013, 0.4, 0.1], [-1.1, -0.07, -0.3, -0.05], [0.0, 0.0, 0.0, 0.0]])
    fast = transform_trajectories(traj, action, eps)
    reference = transform_trajectories(traj, action, eps, fast=False)
    assert torch.equal(fast.first, reference.first) and torch.equal(fast.stop, reference.stop)
    assert (fast.u - reference.u).abs().max() < 1e-12


def test_approximate_generators_from_a_discovery_file_are_integrated(tmp_path):
    """Fields such as a discovery run writes (float coefficients, source 'nullspace', not verified):
    a triangular one gets a closed form, a coupled one is integrated with torchdiffeq."""
    from pdesym.augment import augment_dataset
    from pdesym.symbolic.result import Generator, SymmetryResult
    from pdesym.symbolic.vectorfield import read_expression

    src = tmp_path / "kdv.h5"
    _write_kdv_file(src, n=2)
    fields = [VectorField(*(read_expression(c) for c in comps)) for comps in
              (("0.999 + 0.001*t", "0", "0.001"), ("1.001*x + 0.0001*u", "3*t", "-2*u + 0.0001*x"))]
    result = SymmetryResult(Equation.from_preset("kdv"), tuple(Generator(f, "", None, "nullspace") for f in fields),
                            method="nullspace", solver="nullspace")
    result.save(tmp_path / "learned.json")
    summary = augment_dataset(src, tmp_path / "learned.json", tmp_path / "out.h5", copies=1, scales="2,0.02", seed=1)
    assert [g["flow"] for g in summary.generators] == ["closed form", "integrated"]
    # provenance replay: the recorded group parameters reproduce the stored samples
    with read_dataset(tmp_path / "out.h5", load=True) as data, h5py.File(tmp_path / "out.h5") as f:
        stored = data["train"].u
        eps = torch.from_numpy(f["train/group_parameters"][...])
    action = GroupAction.from_fields(fields)
    replay = transform_trajectories(soliton_trajectories(b=2), action, eps)
    assert summary.cropped == 0 and np.abs(replay.u.numpy() - stored).max() < 1e-13
