"""Regressions found by following README.md as a new user: what a user types next must answer clearly."""

import pytest
import torch


def test_generate_names_the_flag_when_cuda_is_missing(cli, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    r = cli("generate", "kdv", "--device", "cuda", "--n-train", "1", "--out", tmp_path / "k.h5")
    assert r.exit_code == 1 and "--device cpu or auto" in r.output and "Traceback" not in r.output
    assert not list(tmp_path.iterdir())  # nothing written


def test_generate_refuses_a_non_evolution_equation_before_any_progress(cli, tmp_path):
    # the wave equation is solved for u_tt: one sentence saying what generate accepts, no progress bar
    r = cli("generate", "--equation", "u_tt = u_xx", "--n-train", "1", "--out", tmp_path / "w.h5")
    assert r.exit_code == 1 and "solves evolution equations" in r.output and "u_tt" in r.output
    assert "0/" not in r.output and not list(tmp_path.iterdir())
