"""Data generation: reproducibility, batch independence, presets equal typed equations."""

import torch

from pdesym.solvers import (SOLVER_PRESETS, generate_batch, get_solver_preset, random_initial_conditions)


def test_trajectory_in_batch_equals_alone_and_same_seed_same_bytes():
    kw = dict(seed=7, t_end=5.0, nt_out=6, device="cpu")
    batch = generate_batch("kdv", 4, **kw)
    alone = generate_batch("kdv", 1, start=2, **kw)
    assert float((batch.u[2] - alone.u[0]).abs().max()) <= 1e-12
    assert int(batch.seeds[2]) == int(alone.seeds[0])
    again = generate_batch("kdv", 4, **kw)
    assert batch.u.numpy().tobytes() == again.u.numpy().tobytes()
    other = generate_batch("kdv", 4, **{**kw, "seed": 8})
    assert float((other.u[:, 0] - batch.u[:, 0]).abs().max()) > 0.1


def test_initial_conditions_depend_only_on_seed_and_index():
    a = random_initial_conditions(10, 64, 128.0, seed=3)
    b = random_initial_conditions(4, 64, 128.0, seed=3, start=6)
    assert torch.equal(a[6:], b)
    # LPSDA family: at most 5 modes with |A| <= 0.5 and wavenumbers 1..3 -> spectrum support
    spec = torch.fft.rfft(a).abs() / 32
    assert float(spec[:, 4:].max()) < 1e-12 and float(spec[:, 0].max()) < 1e-12
    assert float(a.abs().max()) <= 2.5


def test_typed_equation_gives_the_preset_trajectories():
    kw = dict(seed=11, t_end=4.0, nt_out=5, device="cpu")
    preset = generate_batch("kdv", 3, **kw)
    typed = generate_batch("u_t + u*u_x + u_xxx = 0", 3, **kw)
    assert float((preset.u - typed.u).abs().max()) <= 1e-12
    bp = get_solver_preset("burgers")
    burgers = generate_batch("burgers", 2, seed=1, t_end=2.0, nt_out=3, device="cpu")
    typed_b = generate_batch("u_t + u*u_x = 0.01*u_xx", 2, seed=1, t_end=2.0, nt_out=3, length=bp.length,
                             device="cpu")
    assert typed_b.settings["solver"] == burgers.settings["solver"] == "colehopf"
    assert float((burgers.u - typed_b.u).abs().max()) <= 1e-12


def test_presets_are_recorded():
    for name, p in SOLVER_PRESETS.items():
        d = p.to_dict()
        assert d["name"] == name and d["equation"]["name"] == name and d["source"]
    b = generate_batch("heat", 2, seed=0, nt_out=3, device="cpu")
    assert b.u.shape == (2, 3, 256) and b.settings["seed"] == 0 and b.seeds.dtype == torch.int64
