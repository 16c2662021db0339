"""The 1-D FNO, its training, augmentation hook, checkpoints and rollout NMSE, against exact oracles.

Oracles: explicit dense Fourier multipliers (the spectral layer), exact solutions of the heat
equation u_t = nu u_xx and of linear advection u_t + c u_x = 0 (Fourier-mode sums), exact
shifts of those solutions, shift-equivariance of the architecture, and an exact rollout operator
whose perturbation gives a closed-form NMSE.
"""

import json
import math

import pytest
import torch

from pdesym.errors import PdesymError
from pdesym.operators import (
    FNO1d,
    FNOConfig,
    RandomTranslation,
    SpectralConv1d,
    Trajectories,
    evaluate_rollout,
    get_fno_config,
    load_operator,
    normalised_squared_error,
    resolve_device,
    sample_window_starts,
    train_operator,
    translate,
)

L = 2 * math.pi


@pytest.fixture(autouse=True)
def one_thread():
    """These networks are far too small for intra-op threads; on a shared 2-core machine the
    thread pool's spin-waiting made training 20x slower. Restored after each test."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def mode_sum(n, *, nt=24, nx=64, dt=0.1, modes=4, seed=0, nu=0.0, c=0.0, phase_shift=None):
    """Exact solutions sum_k a_k exp(-nu k^2 t) sin(k (x - c t) + phi_k) on [0, 2 pi), as Trajectories.

    nu > 0: heat equation; c != 0: linear advection. ``phase_shift`` (n,) evaluates u(x - s) instead.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.arange(nx, dtype=torch.float64) * L / nx
    t = torch.arange(nt, dtype=torch.float64) * dt
    k = torch.arange(1, modes + 1, dtype=torch.float64)
    a = (2 * torch.rand(n, modes, generator=g, dtype=torch.float64) - 1) / k
    phi = 2 * math.pi * torch.rand(n, modes, generator=g, dtype=torch.float64)
    s = torch.zeros(n, dtype=torch.float64) if phase_shift is None else phase_shift
    arg = k * (x[:, None] - c * t[:, None, None]) + phi[:, None, None, :] - k * s[:, None, None, None]
    decay = torch.exp(-nu * k**2 * t[:, None])[None, :, None, :]
    u = (a[:, None, None, :] * decay * torch.sin(arg)).sum(-1)
    return Trajectories.from_grid(u, x, t)


SMALL = FNOConfig(time_window=4, time_future=4, modes=8, width=16, layers=2, projection_width=32, epochs=6,
                  passes_per_epoch=50, batch_size=8, lr=3e-3, lr_milestones=(3,))


def persistence_nmse(data, start, tw):
    """NMSE of the trivial rollout that repeats the last input snapshot."""
    u = data.u
    guess = u[:, start + tw - 1:start + tw].expand(-1, u.shape[1] - start - tw, -1)
    return float(normalised_squared_error(guess, u[:, start + tw:]).sum(1).mean())


# --------------------------------------------------------------------------- the model


def test_shapes_dtype_and_parameter_count():
    config = FNOConfig(time_window=5, time_future=3, modes=6, width=8, layers=3, projection_width=12)
    model = FNO1d(config, generator=torch.Generator().manual_seed(1))
    u = torch.randn(7, 5, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    dx, dt = torch.full((7,), 0.2, dtype=torch.float64), torch.full((7,), 0.1, dtype=torch.float64)
    with torch.no_grad():
        out = model(u, dx, dt)
    assert out.shape == (7, 3, 32) and out.dtype == torch.float64
    m32 = FNO1d(config, generator=torch.Generator().manual_seed(1)).to(torch.float32)
    with torch.no_grad():
        out32 = m32(u.float(), dx.float(), dt.float())
    assert out32.dtype == torch.float32 and all(p.dtype == torch.float32 for p in m32.parameters())
    assert float((out32.double() - out).abs().max()) < 1e-5 * float(out.abs().max())
    # lift (5+2)->8, 3 x (spectral 8*8*6 complex + pointwise 8*8+8), 8->12->3
    expected = (7 * 8 + 8) + 3 * (8 * 8 * 6 * 2 + 8 * 8 + 8) + (8 * 12 + 12) + (12 * 3 + 3)
    assert model.parameter_count() == expected
    with pytest.raises(PdesymError, match="expects u of shape"):
        model(u[:, :4], dx, dt)
    # per-sample spacings reach the network as constant channels (how scalings stay visible)
    varied = torch.linspace(0.1, 0.7, 7, dtype=torch.float64)
    channels = model.input_channels(u, varied, 2 * varied)
    assert torch.equal(channels[:, 5], varied[:, None].expand(-1, 32))
    assert torch.equal(channels[:, 6], 2 * varied[:, None].expand(-1, 32))


def test_device_handling():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(PdesymError, match="Unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(PdesymError, match="CUDA is not available"):
            resolve_device("cuda")
        return
    config = FNOConfig(time_window=2, time_future=2, modes=4, width=8, layers=2, projection_width=8)
    cpu = FNO1d(config)
    gpu = FNO1d(config).to("cuda")
    u = torch.randn(3, 2, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    dx = torch.full((3,), 0.1, dtype=torch.float64)
    assert torch.allclose(gpu(u.cuda(), dx.cuda(), dx.cuda()).cpu(), cpu(u, dx, dx), atol=1e-12)


def test_spectral_layer_is_an_explicit_fourier_multiplier():
    """K v = (1/n) sum_{|k|<modes} m(k) v_hat(k) e^{2 pi i k j / n}, m(-k) = conj m(k), m(0) = Re W_0."""
    nx, modes, cin, cout = 16, 5, 3, 2
    layer = SpectralConv1d(cin, cout, modes, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        layer.weight.normal_(generator=torch.Generator().manual_seed(4))
    v = torch.randn(4, cin, nx, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    j = torch.arange(nx, dtype=torch.float64)
    ks = torch.arange(-(modes - 1), modes)
    # Dense DFT matrices built from exponentials, no FFT involved.
    forward = torch.exp(-2j * math.pi * ks[:, None].double() * j[None, :] / nx)  # (2m-1, nx)
    backward = torch.exp(2j * math.pi * j[:, None] * ks[None, :].double() / nx) / nx  # (nx, 2m-1)
    w = layer.multiplier.detach()  # (cin, cout, modes)
    symbol = torch.cat([w[..., 1:].flip(-1).conj(), w[..., :1].real.to(w.dtype), w[..., 1:]], dim=-1)
    v_hat = torch.einsum("kj,bij->bik", forward, v.to(forward.dtype))
    expected = torch.einsum("jk,bok->boj", backward, torch.einsum("iok,bik->bok", symbol, v_hat)).real
    with torch.no_grad():
        assert float((layer(v) - expected).abs().max()) < 1e-13


def test_one_spectral_layer_is_the_exact_heat_step():
    """For the heat equation the one-step map is the multiplier exp(-nu k^2 dt): one layer is exact."""
    nu, dt, modes = 0.3, 0.05, 8
    data = mode_sum(3, nt=2, nx=32, dt=dt, modes=6, nu=nu, seed=7)
    layer = SpectralConv1d(1, 1, modes)
    k = torch.arange(modes, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 0, :, 0] = torch.exp(-nu * k**2 * dt)
    with torch.no_grad():
        stepped = layer(data.u[:, :1])
    assert float((stepped - data.u[:, 1:2]).abs().max()) < 1e-14


def test_architecture_commutes_with_grid_shifts_unless_it_sees_x():
    u = torch.randn(2, 4, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    d = torch.full((2,), 0.1, dtype=torch.float64)
    for channels, equivariant in [(("dx", "dt"), True), (("x", "dt"), False)]:
        model = FNO1d(FNOConfig(time_window=4, time_future=2, modes=8, width=8, layers=2, projection_width=8,
                                extra_channels=channels))
        with torch.no_grad():
            gap = float((model(u.roll(5, -1), d, d) - model(u, d, d).roll(5, -1)).abs().max())
        assert (gap < 1e-13) if equivariant else (gap > 1e-4), (channels, gap)


def test_records_from_solvers_and_files_become_trajectories(tmp_path):
    """Any record with u and (x, t) or (dx, dt) is read; an h5py dataset is loaded; spacings agree."""
    from types import SimpleNamespace

    import h5py

    from pdesym.operators import as_trajectories

    data = mode_sum(3, nt=7, nx=16, c=1.0)
    from_grids = as_trajectories(SimpleNamespace(u=data.u, x=data.x[0], t=data.t))  # shared x, per-row t
    assert torch.allclose(from_grids.dx, torch.full((3,), L / 16, dtype=torch.float64), rtol=1e-15)
    assert torch.allclose(from_grids.dt, torch.full((3,), 0.1, dtype=torch.float64), rtol=1e-14)
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["u"] = data.u.numpy()
        lazy = as_trajectories(SimpleNamespace(u=f["u"], x=None, t=None, dx=data.dx.numpy(), dt=0.1))
        assert torch.equal(lazy.u, data.u) and torch.equal(lazy.dx, data.dx)
        assert lazy.first.tolist() == [0, 0, 0] and lazy.stop.tolist() == [7, 7, 7]
    with pytest.raises(PdesymError, match="Cannot read trajectories from a dict"):
        as_trajectories({"u": data.u})


# --------------------------------------------------------------------------- augmentation


def test_translation_keeps_exact_solutions_exact():
    shift = torch.tensor([0.3, -1.7, 2.0 * math.pi / 3, 5.123], dtype=torch.float64)
    for nu, c in [(0.2, 0.0), (0.0, 1.3)]:
        data = mode_sum(4, nt=6, nx=48, modes=7, nu=nu, c=c, seed=11)
        moved = translate(data.u, shift, data.length)
        exact = mode_sum(4, nt=6, nx=48, modes=7, nu=nu, c=c, seed=11, phase_shift=shift).u
        assert float((moved - exact).abs().max()) < 1e-12
    back = translate(moved, -shift, data.length)
    assert float((back - data.u).abs().max()) < 1e-13
    whole = translate(data.u, 3 * data.dx, data.length)  # three grid cells = a roll
    assert float((whole - data.u.roll(3, -1)).abs().max()) < 1e-13


def test_random_translation_draws_from_the_generator():
    data = mode_sum(5, nt=6, nx=32, c=1.0, seed=2)
    aug = RandomTranslation(max_fraction=0.5)
    one = aug(data, torch.Generator().manual_seed(9))
    two = aug(data, torch.Generator().manual_seed(9))
    assert torch.equal(one.u, two.u) and not torch.allclose(one.u, data.u)
    assert torch.equal(one.dx, data.dx) and torch.equal(one.first, data.first)
    # Shifts preserve the spatial mean and the l2 norm of every snapshot (Parseval).
    assert float((one.u.mean(-1) - data.u.mean(-1)).abs().max()) < 1e-14
    assert float((one.u.norm(dim=-1) - data.u.norm(dim=-1)).abs().max()) < 1e-13
    with pytest.raises(PdesymError, match="max_fraction"):
        RandomTranslation(1.5)


def test_window_starts_respect_each_samples_valid_range():
    data = mode_sum(3, nt=30, nx=16, modes=2)
    cropped = Trajectories(**{**data.__dict__, "first": torch.tensor([0, 5, 9]), "stop": torch.tensor([30, 22, 30])})
    config = FNOConfig(time_window=4, time_future=3, modes=4)
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([sample_window_starts(cropped, config, 1, g) for _ in range(3000)])
    # admissible: first <= s <= stop - 4 - 2*3
    for b, (lo, hi) in enumerate([(0, 20), (5, 12), (9, 20)]):
        assert set(draws[:, b].tolist()) == set(range(lo, hi + 1))
    aligned = sample_window_starts(cropped, config.replace(window_starts="aligned"), 0, g)
    assert all(int(s) % 3 == 4 % 3 for s in aligned)
    too_short = Trajectories(**{**data.__dict__, "first": torch.tensor([0, 24, 0])})
    with pytest.raises(PdesymError, match="Training sample 1 has only the snapshots"):
        sample_window_starts(too_short, config, 0, g)


# --------------------------------------------------------------------------- evaluation protocol


class ExactAdvection(torch.nn.Module):
    """The exact window-to-window map of u_t + c u_x = 0, times (1 + eps)."""

    def __init__(self, config, c, eps):
        super().__init__()
        self.config, self.c, self.eps = config, c, eps
        self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, u, dx, dt):
        lag = self.config.time_future * dt * self.c
        return (1 + self.eps) * translate(u, lag, dx * u.shape[-1])


def test_rollout_nmse_matches_its_definition():
    """NMSE = sum over predicted snapshots of ||e||^2/||u||^2, start = time_window (LPSDA / Ko et al.)."""
    config = FNOConfig(time_window=4, time_future=4, modes=8)
    data = mode_sum(6, nt=28, nx=32, c=0.7, seed=4)
    exact = evaluate_rollout(ExactAdvection(config, 0.7, 0.0), data)
    assert exact.mean < 1e-24 and exact.one_step_mean < 1e-24
    assert exact.start == 4 and exact.times.tolist() == list(range(8, 28))
    eps = 1e-3
    wrong = evaluate_rollout(ExactAdvection(config, 0.7, eps), data)
    # window k (k = 1..5) carries the factor (1 + eps)^k, 4 snapshots each
    expected = sum(4 * ((1 + eps) ** k - 1) ** 2 for k in range(1, 6))
    assert abs(wrong.mean - expected) < 1e-9 * expected and wrong.std < 1e-9 * expected
    assert abs(wrong.one_step_mean - 20 * eps**2) < 1e-9 * eps**2
    from_zero = evaluate_rollout(ExactAdvection(config, 0.7, eps), data, start=0)
    assert from_zero.times.numel() == 24  # 6 windows, the last one full
    with pytest.raises(PdesymError, match="leaves no snapshot"):
        evaluate_rollout(ExactAdvection(config, 0.7, eps), data, start=24)


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize(
    "kind, threshold",
    [("heat", 0.06), ("advection", 0.06)],
)
def test_training_learns_linear_one_step_maps(kind, threshold):
    """8 trajectories, 300 steps of a 3k-parameter FNO: rollout NMSE (16 snapshots) below the threshold."""
    params = {"heat": {"nu": 0.05}, "advection": {"c": 1.0}}[kind]
    train, test = mode_sum(8, seed=1, **params), mode_sum(16, seed=2, **params)
    result = train_operator(train, config=SMALL, seed=0, device="cpu")
    metrics = result.evaluate(test)
    baseline = persistence_nmse(test, 4, 4)
    print(f"{kind}: rollout NMSE {metrics.mean:.4f} +- {metrics.std:.4f}, one-step {metrics.one_step_mean:.5f}, "
          f"persistence {baseline:.3f}")
    assert metrics.mean < threshold and metrics.mean < baseline / 10
    assert metrics.one_step_mean < metrics.mean
    assert result.history[-1].train_mse < 1e-3 * result.history[0].train_mse


def test_same_seed_same_numbers_and_identity_augmentation_changes_nothing():
    train = mode_sum(6, seed=3, nu=0.05)
    config = SMALL.replace(epochs=2, passes_per_epoch=10)
    calls = []

    def identity(batch, generator):
        calls.append((len(batch), batch.nt, batch.nx))
        return batch

    runs = [train_operator(train, config=config, seed=5, device="cpu"),
            train_operator(train, config=config, seed=5, device="cpu"),
            train_operator(train, config=config, seed=5, device="cpu", augment=identity),
            train_operator(train, config=config, seed=6, device="cpu")]
    first = runs[0].model.state_dict()
    for run in runs[1:3]:
        assert all(torch.equal(first[k], v) for k, v in run.model.state_dict().items())
        assert [r.train_mse for r in run.history] == [r.train_mse for r in runs[0].history]
    assert not torch.equal(first["lift.weight"], runs[3].model.state_dict()["lift.weight"])
    assert calls == [(6, 24, 64)] * 20  # one call per step, on whole trajectories


def test_resume_continues_to_the_uninterrupted_result(tmp_path):
    train, valid = mode_sum(6, seed=3, c=1.0), mode_sum(4, seed=8, c=1.0)
    config = SMALL.replace(epochs=3, passes_per_epoch=8, unrolling=1, lr_milestones=(2,))
    kwargs = dict(config=config, valid=valid, augment=RandomTranslation(), seed=2, device="cpu")
    whole = train_operator(train, checkpoint=tmp_path / "whole.pt", **kwargs)

    class Stop(Exception):
        pass

    def interrupt(progress):
        if progress.epoch_done and progress.epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train_operator(train, checkpoint=tmp_path / "cut.pt", progress=interrupt, **kwargs)
    summary = json.loads((tmp_path / "cut.json").read_text())
    assert summary["epochs_done"] == 2 and FNOConfig.from_dict(summary["config"]) == config
    resumed = train_operator(train, checkpoint=tmp_path / "cut.pt", resume=True, **kwargs)
    assert resumed.best_epoch == whole.best_epoch
    assert [r.valid_nmse for r in resumed.history] == [r.valid_nmse for r in whole.history]
    for key, value in whole.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key
    loaded = load_operator(tmp_path / "cut.pt", device="cpu")
    assert all(torch.equal(loaded.model.state_dict()[k], v) for k, v in whole.model.state_dict().items())
    assert loaded.evaluate(valid).mean == whole.evaluate(valid).mean
    with pytest.raises(PdesymError, match="exists; pass resume=True"):
        train_operator(train, checkpoint=tmp_path / "cut.pt", **kwargs)
    with pytest.raises(PdesymError, match="different FNOConfig"):
        other = {**kwargs, "config": config.replace(lr=1e-3)}
        train_operator(train, checkpoint=tmp_path / "cut.pt", resume=True, **other)
    with pytest.raises(PdesymError, match="different data"):
        train_operator(valid, checkpoint=tmp_path / "cut.pt", resume=True, **kwargs)


# --------------------------------------------------------------------------- bad input


def _one_sentence(exc: PdesymError) -> str:
    text = str(exc)
    assert text.endswith(".") and "\n" not in text and ". " not in text.rstrip("."), text
    return text


@pytest.mark.parametrize(
    "change, data, message",
    [
        ({"modes": 33}, {"nx": 64}, "modes = 33 exceeds nx/2 = 32"),
        ({"time_window": 24}, {"nt": 24}, "nt = 24 snapshots but"),
        ({}, {"n": 0}, "holds no trajectories"),
    ],
)
def test_bad_config_is_one_sentence(change, data, message):
    shape = {"n": 4, "nt": 24, "nx": 64, **data}
    train = Trajectories.from_grid(torch.zeros(shape["n"], shape["nt"], shape["nx"]),
                                   torch.arange(shape["nx"]) * 0.1, torch.arange(shape["nt"]) * 0.1)
    with pytest.raises(PdesymError, match=message) as info:
        train_operator(train, config=SMALL.replace(**change), device="cpu")
    _one_sentence(info.value)


def test_bad_options_are_one_sentence():
    for build, message in [
        (lambda: FNOConfig(width=0), "width must be a positive integer"),
        (lambda: FNOConfig(extra_channels=("dy",)), "Unknown extra channel 'dy'"),
        (lambda: FNOConfig(lr_milestones=(5, 3)), "strictly increasing"),
        (lambda: FNOConfig(dtype="float16"), "Unknown dtype 'float16'"),
        (lambda: get_fno_config("huge"), "Unknown FNO preset 'huge'"),
        (lambda: FNOConfig.from_dict({"widht": 3}), "Unknown FNOConfig field"),
        (lambda: Trajectories.from_grid(torch.zeros(2, 5, 8), torch.arange(8.0) ** 2, torch.arange(5.0)),
         "not uniformly spaced"),
        (lambda: train_operator(mode_sum(2), config=SMALL, augment=lambda b, g: b.select(torch.tensor([0])),
                                device="cpu"), "must return Trajectories of the batch's shape"),
    ]:
        with pytest.raises(PdesymError, match=message) as info:
            build()
        _one_sentence(info.value)
