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


def test_discover_says_what_is_missing_and_what_to_try(cli, tmp_path, monkeypatch):
    # nkdv's exact algebra has generators in exp(±t/50): plain monomials cannot find them all
    from pdesym.symbolic import find_symmetries

    monkeypatch.chdir(tmp_path)
    r = cli("discover", "nkdv", "--trajectories", "2", "--snapshots", "20", "--points", "1500", "--out", "runs/n")
    assert r.exit_code == 0, r.output
    exact = find_symmetries("nkdv").dimension
    found = len(__import__("json").loads((tmp_path / "runs/n/symmetries.json").read_text())["generators"])
    assert found < exact
    assert f"found {found} of its {exact} dimensions" in r.output
    assert f"Hint: {exact - found} of the {exact} exact generators were not found" in r.output and "--basis" in r.output


def test_generate_counts_what_it_kept_when_it_drops_blow_ups(cli, tmp_path):
    # dt = 50 blows KS up at once: both trajectories are dropped, and the summary must say so
    import h5py

    out = tmp_path / "drop.h5"
    r = cli("generate", "ks", "--dt", "50", "--nx", "64", "--nt-out", "5", "--n-train", "2", "--n-valid", "0",
            "--n-test", "0", "--on-blowup", "drop", "--out", out)
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    with h5py.File(out, "r") as f:  # the file's own count is the oracle
        kept = sum(d.shape[0] for name, d in f["train"].items() if name.startswith("pde_"))
    assert kept == 0 and "train 0 (2 dropped)" in text and "every trajectory of train blew up" in text


def test_discover_on_a_typed_equation_says_how_to_get_data(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = cli("discover", "u_t = u_xx + u^2")
    text = " ".join(r.output.split())
    assert r.exit_code == 1 and "pdesym generate --equation 'u_t = u_xx + u^2'" in text and "Traceback" not in text
    assert not list(tmp_path.iterdir())


def test_augment_names_approximate_generators_and_the_ones_to_keep():
    # a discovery run can hold approximate fields (long float polynomials): the message names them
    # by index and gives the --generators that keeps the verified ones, without printing the polynomial
    import json

    from pdesym.augment.generators import action_from_result
    from pdesym.errors import PdesymError
    from pdesym.symbolic import SymmetryResult, find_symmetries

    doc = json.loads(find_symmetries("kdv").to_json())
    doc["generators"][2]["verified"] = False
    with pytest.raises(PdesymError) as err:
        action_from_result(SymmetryResult.from_json(json.dumps(doc)))
    assert str(err.value) == ("Generator X3 failed exact verification (approximate field); "
                              "leave it out with --generators X1,X2,X4.")


def test_missing_hint_fits_the_method():
    from pdesym.cli.discover import _missing_hint

    doc = {"equation": {"name": "kdv"}, "cosines": {"reference_dimension": 4, "values": [1.0, 1.0, 1.0]},
           "discovery": {"method": "neural"}}
    assert _missing_hint(doc, "kdv").startswith("Hint: 1 of the 4 exact generators was not found;")
    assert "--method both" in _missing_hint(doc, "kdv")
    assert "--basis" in _missing_hint({**doc, "discovery": {"method": "nullspace"}}, "kdv")
    assert _missing_hint({**doc, "cosines": {"reference_dimension": 3, "values": [1.0] * 3}}, "kdv") is None
