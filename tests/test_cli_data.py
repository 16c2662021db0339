"""``pdesym generate``, ``pdesym equations``, ``pdesym info``: tiny sizes, real files, bad input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from pdesym.datasets import check_dataset, read_dataset

TINY = ("--nx", "64", "--nt-out", "10", "--t-end", "2", "--n-train", "3", "--n-valid", "1", "--n-test", "1")


def one_sentence(res, message: str) -> None:
    text = " ".join(res.output.split())
    assert res.exit_code != 0, res.output
    assert message in text, text
    assert "Traceback" not in res.output and "Internal error" not in res.output
    assert text.count("Error:") == 1


def test_same_seed_same_bytes_and_chunking_does_not_matter(cli, tmp_path, monkeypatch):
    runs = {"a": "2", "b": "2", "c": "5"}  # a and b: the same command, run in two directories
    for name, chunk in runs.items():
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        res = cli("generate", "kdv", *TINY, "--seed", "4", "--chunk", chunk, "--out", "d.h5")
        assert res.exit_code == 0, res.output
        assert "Wrote" in res.output
    a, b, c = (tmp_path / name / "d.h5" for name in runs)
    with read_dataset(a) as da, read_dataset(b) as db, read_dataset(c) as dc:
        assert set(da.splits) == {"train", "valid", "test"}
        for split in da.splits:
            ua = da[split].u[...]
            assert ua.shape == ((3 if split == "train" else 1), 10, 64)
            assert ua.tobytes() == db[split].u[...].tobytes() == dc[split].u[...].tobytes()
            np.testing.assert_array_equal(da[split].seeds, db[split].seeds)
            assert da[split].attrs == db[split].attrs
        strip = lambda attrs: {k: v for k, v in attrs.items() if k != "created"}  # noqa: E731
        assert strip(da.attrs) == strip(db.attrs)
        assert da.attrs["command"].startswith("pdesym generate kdv --n-train 3")
        assert da.attrs["preset"] == "kdv" and da.attrs["seed"] == 4
        assert da.equation.text == "u_t + u*u_x + u_xxx = 0"
        assert da.attrs["solver"]  # the solver's own provenance (method, dt, ...)
        # the splits use different seeds, so they hold different trajectories
        assert da["train"].attrs["seed"] != da["valid"].attrs["seed"]
        assert not np.array_equal(da["train"].u[0], da["valid"].u[0])
    # only the creation time differs; with SOURCE_DATE_EPOCH fixed the whole files are byte-identical
    assert a.read_bytes() != b.read_bytes() or da.attrs["created"] == db.attrs["created"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for name in ("a", "b"):
        monkeypatch.chdir(tmp_path / name)
        assert cli("generate", "kdv", *TINY, "--seed", "4", "--chunk", "2", "--out", "d.h5", "--force").exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    # 5 trajectories of 10 x 64 (25 KB of data, 18 HDF5 datasets): no oversized chunks (2.2 MB before)
    assert a.stat().st_size < 160 * 1024
    other = tmp_path / "d.h5"
    assert cli("generate", "kdv", *TINY, "--seed", "5", "--out", other).exit_code == 0
    with read_dataset(a) as da, read_dataset(other) as dd:
        assert not np.array_equal(da["train"].u[...], dd["train"].u[...])


def test_info_reports_splits_provenance_and_conservation(cli, tmp_path):
    path = tmp_path / "kdv.h5"
    assert cli("generate", "kdv", *TINY, "--out", path).exit_code == 0
    res = cli("info", path)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    for needle in ("train", "valid", "test", "u_t + u*u_x + u_xxx = 0", "∫u dx drift", "∫u² dx drift",
                   "All sanity checks passed", "pdesym generate kdv"):
        assert needle in text, needle


def test_equations_lists_every_preset(cli):
    from pdesym.solvers import SOLVER_PRESETS

    res = cli("equations")
    assert res.exit_code == 0, res.output
    for name, preset in SOLVER_PRESETS.items():
        assert name in res.output
        assert str(preset.nx) in res.output


@pytest.mark.parametrize("args, message", [
    (["magic"], "Unknown preset 'magic'"),
    (["--equation", "u_t = u_x +* 2"], "Cannot parse the equation"),
    (["kdv", "--equation", "u_t = u_xx"], "not both or neither"),
    (["kdv", "--n-train", "-1"], "n_train must be an integer ≥ 0, got -1"),
    (["kdv", "--n-train", "0", "--n-valid", "0", "--n-test", "0"], "ask for at least one trajectory"),
    (["kdv", "--nx", "0"], "nx must be an integer ≥ 2, got 0"),
    (["kdv", "--chunk", "0"], "chunk must be an integer ≥ 1, got 0"),
    (["kdv", "--dt", "-0.1"], "dt must be a positive number"),
    (["kdv", "--t-end", "0"], "t_end must be a positive number"),
    (["kdv", "--device", "tpu"], "Unknown device 'tpu'"),
    (["kdv", "--dtype", "float16"], "Unknown dtype 'float16'"),
    (["kdv", "--threads", "0"], "--threads must be at least 1"),
])
def test_generate_bad_input_is_one_sentence(cli, tmp_path, args, message):
    out = tmp_path / "x.h5"
    res = cli("generate", *args, "--out", out)
    one_sentence(res, message)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_without_force(cli, tmp_path):
    out = tmp_path / "kdv.h5"
    assert cli("generate", "kdv", *TINY, "--out", out).exit_code == 0
    before = out.read_bytes()
    one_sentence(cli("generate", "kdv", *TINY, "--seed", "9", "--out", out), "already exists; pass --force")
    assert out.read_bytes() == before
    assert cli("generate", "kdv", *TINY, "--seed", "9", "--out", out, "--force").exit_code == 0
    assert out.read_bytes() != before


def test_unwritable_path_is_one_sentence(cli, tmp_path):
    plain = tmp_path / "notes.txt"
    plain.write_text("keep me")
    one_sentence(cli("generate", "kdv", *TINY, "--out", plain / "kdv.h5"), "Cannot write in")
    assert plain.read_text() == "keep me"


def test_blow_up_is_one_sentence_and_keeps_the_earlier_file(cli, tmp_path):
    out = tmp_path / "ks.h5"
    assert cli("generate", "kdv", *TINY, "--out", out).exit_code == 0
    before = out.read_bytes()
    res = cli("generate", "ks", "--nx", "64", "--nt-out", "10", "--n-train", "2", "--n-valid", "0", "--n-test", "0",
              "--dt", "50", "--t-end", "400", "--out", out, "--force")
    one_sentence(res, "Trajectory 0 blew up (non-finite values)")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ks.h5"]


def test_info_bad_files_are_one_sentence(cli, tmp_path):
    one_sentence(cli("info", tmp_path / "missing.h5"), "No dataset file at")
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    one_sentence(cli("info", text), "not an HDF5 file")
    nan = tmp_path / "nan.h5"
    assert cli("generate", "kdv", *TINY, "--out", nan).exit_code == 0
    with h5py.File(nan, "r+") as f:
        f["valid/pde_10-64"][0, 4, 2] = np.nan
    one_sentence(cli("info", nan), "trajectory 0 of split 'valid' holds NaN or Inf values")


def test_typed_equation_default_path_and_exact_heat_decay(cli, tmp_path, monkeypatch):
    """A typed heat equation: default output name from the text, provenance round trip, and the
    stored Fourier modes decay exactly as exp(-nu k^2 t) (the heat equation's exact solution)."""
    monkeypatch.chdir(tmp_path)
    res = cli("generate", "--equation", "u_t = nu*u_xx, nu=0.05", "--nx", "64", "--nt-out", "10", "--t-end", "3",
              "--length", "6.283185307179586", "--n-train", "2", "--n-valid", "0", "--n-test", "0")
    assert res.exit_code == 0, res.output
    path = tmp_path / "data" / "u_t_nu_u_xx_nu_0_05.h5"
    with read_dataset(path) as ds:
        assert ds.equation.text == "u_t = nu*u_xx" and float(ds.equation.params["nu"]) == 0.05
        assert ds.attrs["preset"] == "" and set(ds.splits) == {"train"}
        s = ds["train"]
        u_hat = np.fft.rfft(s.u[...], axis=-1)  # (N, nt, nx//2+1)
        k = 2 * np.pi * np.fft.rfftfreq(s.nx, d=s.dx[0])
        elapsed = s.t[0] - s.t[0, 0] if s.t.ndim == 2 else s.t - s.t[0]
        predicted = u_hat[:, :1] * np.exp(-0.05 * k[None, None] ** 2 * elapsed[None, :, None])
        err = np.abs(u_hat - predicted).max() / np.abs(u_hat[:, 0]).max()
        assert err < 1e-10, err
        checks = {c.name: c for c in check_dataset(ds)}
        assert checks["∫u dx drift"].ok and checks["∫u dx drift"].value < 1e-12  # heat conserves mass
        assert checks["∫u² dx drift"].ok is None and checks["∫u² dx drift"].value > 1e-3  # it dissipates u²
    res = cli("info", path)
    assert res.exit_code == 0 and "All sanity checks passed" in res.output


def test_float32_files_hold_float32_close_to_float64(cli, tmp_path):
    a, b = tmp_path / "f32.h5", tmp_path / "f64.h5"
    assert cli("generate", "kdv", *TINY, "--dtype", "float32", "--out", a).exit_code == 0
    assert cli("generate", "kdv", *TINY, "--out", b).exit_code == 0
    with read_dataset(a) as d32, read_dataset(b) as d64:
        for split in d64.splits:
            u32, u64 = d32[split].u[...], d64[split].u[...]
            assert u32.dtype == np.float32 and u64.dtype == np.float64
            # same initial data, single-precision rounding over 40 steps: ~1e-6 relative
            assert np.abs(u32 - u64).max() < 1e-5 * np.abs(u64).max()
