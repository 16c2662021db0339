"""``pdesym generate`` under faults: SIGTERM/SIGINT part-way, --resume, --on-blowup stop|drop.

Oracle for resume: an uninterrupted run of the same command (same bytes of u, x, t, seeds and the
same attributes with SOURCE_DATE_EPOCH fixed). Oracle for drop: every trajectory solved on its own
(a trajectory depends only on (seed, index)), which says which ones blow up and what the others are.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import h5py
import numpy as np
import pytest
from interrupting import interrupt_when

from pdesym.datasets import read_dataset, split_seed
from pdesym.partial import STATE_ATTR, partial_path
from pdesym.solvers import BlowUpError, generate_batch

ROOT = Path(__file__).resolve().parents[1]
EPOCH = "1700000000"
# slow enough (one trajectory per chunk) that the signal arrives part-way, small enough to resume quickly
ARGS = ("kdv", "--nx", "32", "--nt-out", "6", "--t-end", "1", "--n-train", "60", "--n-valid", "3",
        "--n-test", "2", "--chunk", "1", "--out", "d.h5")


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               SOURCE_DATE_EPOCH=EPOCH, HDF5_USE_FILE_LOCKING="FALSE")
    return env


def _rows_done(partial: Path) -> int:
    """Rows the partial file's state records (0 while it does not exist or is being written)."""
    try:
        with h5py.File(partial, "r", locking=False) as f:
            return int(json.loads(f.attrs[STATE_ATTR]).get("rows", {}).get("train", 0))
    except (OSError, KeyError, ValueError):
        return 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference file of ARGS, written by one uninterrupted in-process run."""
    from typer.testing import CliRunner

    from pdesym.cli.app import app

    where = tmp_path_factory.mktemp("reference")
    old, env_old = os.getcwd(), os.environ.get("SOURCE_DATE_EPOCH")
    os.chdir(where)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        res = CliRunner().invoke(app, ["generate", *ARGS], catch_exceptions=False)
    finally:
        os.chdir(old)
        if env_old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = env_old
    assert res.exit_code == 0, res.output
    return where / "d.h5"


def assert_same_dataset(a: Path, b: Path) -> None:
    with read_dataset(a) as da, read_dataset(b) as db:
        assert set(da.splits) == set(db.splits)
        for split in da.splits:
            sa, sb = da[split], db[split]
            assert sa.u[...].tobytes() == sb.u[...].tobytes()
            for name in ("x", "t", "dx", "dt", "seeds"):
                np.testing.assert_array_equal(getattr(sa, name), getattr(sb, name))
            assert sa.attrs == sb.attrs
        assert da.attrs == db.attrs


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_generate_keeps_a_partial_file_and_resumes_to_the_same_data(tmp_path, cli, monkeypatch,
                                                                               uninterrupted, signum):
    monkeypatch.chdir(tmp_path)
    partial = tmp_path / partial_path("d.h5")
    code, output = interrupt_when(("generate", *ARGS), tmp_path, _env(), lambda: _rows_done(partial) >= 2, signum)
    assert code == 130, output
    assert "Interrupted; nothing was written under d.h5" in output and "--resume" in output
    assert "Traceback" not in output
    assert not (tmp_path / "d.h5").exists()  # no truncated file under the target name
    kept = _rows_done(partial)
    assert 2 <= kept < 60

    # without --resume the partial file is neither overwritten nor ignored
    res = cli("generate", *ARGS)
    assert res.exit_code == 1 and "holds an interrupted run" in res.output and "--resume" in res.output
    # other settings: refused, the partial file stays as it was
    res = cli("generate", *ARGS, "--seed", "5", "--resume")
    assert res.exit_code == 1 and "other settings" in res.output
    assert _rows_done(partial) == kept

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    res = cli("generate", *ARGS, "--resume")
    assert res.exit_code == 0, res.output
    assert not partial.exists()
    assert_same_dataset(tmp_path / "d.h5", uninterrupted)
    with h5py.File(tmp_path / "d.h5", "r") as f:
        assert STATE_ATTR not in f.attrs
    # resuming a finished run is a no-op (what the complete shards of an interrupted torchrun job do)
    before = (tmp_path / "d.h5").read_bytes()
    assert cli("generate", *ARGS, "--resume").exit_code == 0
    assert (tmp_path / "d.h5").read_bytes() == before


def test_resume_with_a_different_chunk_size_and_force_starting_over(tmp_path, cli, monkeypatch, uninterrupted):
    """A partial file made by hand (the run stopped after 7 trajectories); the chunk size is free."""
    from pdesym.datasets import generate_dataset

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    calls = []

    def stop_after_7(done, total):
        calls.append(done)
        if done >= 7:
            raise KeyboardInterrupt

    opts = dict(n_train=60, n_valid=3, n_test=2, nx=32, nt_out=6, t_end=1.0, device="auto", dtype="float64",
                command=None)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset("kdv", "d.h5", chunk=7, progress=stop_after_7, **opts)
    assert _rows_done(tmp_path / partial_path("d.h5")) == 7 and not (tmp_path / "d.h5").exists()
    res = cli("generate", *ARGS[:-4], "--chunk", "50", "--out", "d.h5", "--resume")
    assert res.exit_code == 0, res.output
    with read_dataset("d.h5") as a, read_dataset(uninterrupted) as b:
        for split in a.splits:
            assert a[split].u[...].tobytes() == b[split].u[...].tobytes()
    # --force without --resume throws a partial file away and starts over
    with pytest.raises(KeyboardInterrupt):
        generate_dataset("kdv", "e.h5", chunk=7, progress=stop_after_7, **opts)
    res = cli("generate", *ARGS[:-2], "--out", "e.h5", "--force")
    assert res.exit_code == 0, res.output
    assert not (tmp_path / partial_path("e.h5")).exists()


BLOWUP = ("--equation", "u_t = u_xx + u**2", "--nx", "32", "--nt-out", "5", "--t-end", "4", "--n-train", "8",
          "--n-valid", "0", "--n-test", "0", "--chunk", "3")


def _each_alone(n: int):
    """Oracle: trajectory i solved on its own -> (blown-up indices, survivors' u)."""
    blown, kept = [], []
    for i in range(n):
        try:
            kept.append(generate_batch("u_t = u_xx + u**2", 1, seed=split_seed(0, "train"), start=i, nx=32,
                                       nt_out=5, t_end=4.0).u[0].numpy())
        except BlowUpError:
            blown.append(i)
    return blown, kept


def test_blow_up_stop_names_index_split_and_time_and_drop_keeps_the_rest(tmp_path, cli):
    blown, kept = _each_alone(8)
    assert 0 < len(blown) < 8  # the setting has both kinds (u_t = u_xx + u^2 blows up for large data)

    res = cli("generate", *BLOWUP, "--out", tmp_path / "stop.h5")
    text = " ".join(res.output.split())
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"Trajectory {blown[0]} blew up (non-finite values) by t = " in text
    assert "split 'train'" in text and "--on-blowup drop" in text
    assert list(tmp_path.iterdir()) == []  # neither target nor partial file

    res = cli("generate", *BLOWUP, "--on-blowup", "drop", "--out", tmp_path / "drop.h5")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert f"train: {len(blown)} ({', '.join(map(str, blown))})" in text
    with read_dataset(tmp_path / "drop.h5") as ds:
        assert ds.attrs["dropped"] == {"train": blown}
        assert ds.attrs["on_blowup"] == "drop"
        np.testing.assert_array_equal(ds["train"].u[...], np.stack(kept))
        survivors = [i for i in range(8) if i not in blown]
        expected = [int(generate_batch("u_t = u_xx + u**2", 1, seed=split_seed(0, "train"), start=i, nx=32,
                                       nt_out=5, t_end=4.0).seeds[0]) for i in survivors]
        np.testing.assert_array_equal(ds["train"].seeds, expected)

    res = cli("info", tmp_path / "drop.h5")
    assert res.exit_code == 0 and f"train: {len(blown)} ({', '.join(map(str, blown))})" in " ".join(res.output.split())

    res = cli("generate", *BLOWUP, "--on-blowup", "skip", "--out", tmp_path / "x.h5")
    assert res.exit_code == 1 and "Unknown --on-blowup 'skip'" in " ".join(res.output.split())
