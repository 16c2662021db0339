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
    # LPSDA family: 10 modes with |A| <= 0.5 and wavenumbers 1..2 -> spectrum support and bound
    spec = torch.fft.rfft(a).abs() / 32
    assert float(spec[:, 3:].max()) < 1e-12 and float(spec[:, 0].max()) < 1e-12
    assert float(spec[:, 1:3].max()) > 0.1 and float(a.abs().max()) <= 5.0


def test_typed_equation_gives_the_preset_trajectories():
    kw = dict(seed=11, t_end=4.0, nt_out=5, device="cpu")
    preset = generate_batch("kdv", 3, **kw)
    typed = generate_batch("u_t + u*u_x + u_xxx = 0", 3, **kw)
    assert float((preset.u - typed.u).abs().max()) <= 1e-12
    # the preset's settings follow the equation, not the name: Burgers typed by hand
    burgers = generate_batch("burgers", 2, seed=1, t_end=2.0, nt_out=3, device="cpu")
    typed_b = generate_batch("u_t = nu*u_xx - u*u_x, nu=1/100", 2, seed=1, t_end=2.0, nt_out=3, device="cpu")
    assert typed_b.settings["length"] == get_solver_preset("burgers").length
    assert typed_b.settings["solver"] == burgers.settings["solver"] == "colehopf"
    assert float((burgers.u - typed_b.u).abs().max()) <= 1e-12


def test_presets_are_recorded():
    for name, p in SOLVER_PRESETS.items():
        d = p.to_dict()
        assert d["name"] == name and d["equation"]["name"] == name and d["source"]
    b = generate_batch("heat", 2, seed=0, nt_out=3, device="cpu")
    assert b.u.shape == (2, 3, 256) and b.settings["seed"] == 0 and b.seeds.dtype == torch.int64


def test_float32_option_agrees_with_float64():
    a = generate_batch("ckdv", 2, seed=0, t_end=10.0, nt_out=5, device="cpu")
    b = generate_batch("ckdv", 2, seed=0, t_end=10.0, nt_out=5, device="cpu", dtype="float32")
    assert b.u.dtype == torch.float32 and b.settings["dtype"] == "float32"
    assert float((a.u - b.u.double()).abs().max()) <= 1e-5


def test_bad_inputs_get_one_clear_sentence():
    import pytest

    from pdesym.errors import PdesymError
    from pdesym.solvers import solve

    u0 = torch.zeros(2, 64)
    t = torch.tensor([0.0, 1.0])
    cases = [
        (lambda: get_solver_preset("kdw"), "Unknown solver preset 'kdw'"),
        (lambda: solve("kdv", u0, length=10.0, t_out=t, dt=0.1, method="rk4"), "Unknown method 'rk4'"),
        (lambda: solve("kdv", u0, length=10.0, t_out=t, dt=0.1, method="colehopf"), "viscous Burgers"),
        (lambda: solve("u_t = u_x*u_xx", u0, length=10.0, t_out=t, dt=0.1, method="etdrk4"), "use 'dopri5'"),
        (lambda: solve("kdv", u0[0], length=10.0, t_out=t, dt=0.1), "shape (B, nx)"),
        (lambda: solve("kdv", u0, length=10.0, t_out=t.flip(0), dt=0.1), "strictly increasing"),
        (lambda: solve("u_t = a*u_xx", u0, length=10.0, t_out=t, dt=0.1), "has no value"),
        (lambda: generate_batch("kdv", 0, seed=0), "positive integer"),
        (lambda: generate_batch("kdv", 1, seed=0, nx=63), "even integer"),
    ]
    for call, words in cases:
        with pytest.raises(PdesymError) as info:
            call()
        assert words in str(info.value), (words, str(info.value))
