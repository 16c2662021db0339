"""pdesym.augment.benchmark and ``pdesym benchmark fno``: data handling, scale rules, a tiny run."""

import json
import math

import torch

from pdesym.augment.benchmark import BenchmarkSettings, default_scales, run_fno_benchmark, spectral_downsample
from pdesym.operators import Trajectories
from pdesym.symbolic import find_symmetries


def test_spectral_downsample_keeps_band_limited_fields_exactly():
    n, m, length = 64, 16, 5.0
    x = torch.arange(n) * length / n
    f = lambda x: torch.sin(2 * math.pi * x / length) + 0.5 * torch.cos(6 * math.pi * x / length + 1)  # noqa: E731
    coarse = spectral_downsample(f(x)[None], m)
    assert (coarse[0] - f(torch.arange(m) * length / m)).abs().max() < 1e-13


def _trajectories(length):
    x = torch.arange(32) * length / 32
    t = 0.1 * torch.arange(10)
    u = torch.sin(2 * math.pi * x / length)[None, None] + 0.0 * t[None, :, None]
    return Trajectories.from_grid(u.repeat(2, 1, 1), x, t)


def test_default_scales_follow_the_form_of_each_generator():
    data = _trajectories(128.0)
    scales, notes = default_scales(find_symmetries("kdv").fields, data)
    std = float(data.u.std())
    assert scales[0] == 64.0 and scales[1] == 0.0  # any x-shift; t-shifts come from the windows
    assert math.isclose(scales[2], 0.5 * std) and scales[3] == 0.0  # scalings off by default
    assert math.isclose(default_scales(find_symmetries("kdv").fields, data, scaling=0.1)[0][3], 0.1 / 3)
    burgers = _trajectories(2 * math.pi)
    scales, notes = default_scales(find_symmetries("burgers").fields, burgers)
    assert scales[4] == 0.0 and "periodic" in notes[4]  # the projective field breaks periodicity


def test_tiny_benchmark_writes_table_plot_and_reuses_identical_generators(tmp_path):
    settings = BenchmarkSettings.small(
        n_train=(2,), seeds=1, n_valid=2, n_test=2, nx=32, steps=2, epochs=1, copies=1,
        fno=dict(modes=4, width=4, layers=1, projection_width=4, lr=1e-3, lr_milestones=(), batch_size=2))
    record = run_fno_benchmark(["kdv"], settings, tmp_path, device="cpu")
    rows = {r["aug"]: r for r in record["table"]}
    assert set(rows) == {"none", "exact", "learned"} and all(r["available"] for r in rows.values())
    assert all(math.isfinite(r["mean"]) and r["mean"] > 0 for r in rows.values())
    assert math.isclose(rows["exact"]["ko_scale_mean"], 64 * rows["exact"]["mean"])
    # discovery on the training data recovers the exact algebra here, so learned reuses those runs
    assert rows["learned"]["same_runs_as"] == "exact" and rows["learned"]["mean"] == rows["exact"]["mean"]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert len(saved["runs"]) == 3 and (tmp_path / "nmse.png").stat().st_size > 0
    assert "| kdv | 2 | exact |" in (tmp_path / "table.md").read_text()


def test_cli_benchmark_bad_input(cli, tmp_path):
    for args, words in ((("--pde", "heat"), "Unknown benchmark PDE"), (("--aug", "magic"), "Unknown augmentation"),
                        (("--n-train", "a,b"), "comma-separated list of integers"), (("--seeds", "0"), "--seeds")):
        r = cli("benchmark", "fno", *args, "--out", tmp_path / "run")
        assert r.exit_code != 0 and words in r.output, r.output
