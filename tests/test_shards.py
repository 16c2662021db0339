"""Shards written by several ranks read back as one file through an HDF5 virtual dataset."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from pdesym.errors import PdesymError
from pdesym.shards import join_shards, shard_path


def write_shard(path, rows, *, nt=5, nx=8, splits=("train", "valid")):
    with h5py.File(path, "w") as f:
        f.attrs["equation"] = "u_t + u*u_x + u_xxx = 0"
        for split in splits:
            g = f.create_group(split)
            g.create_dataset(f"pde_{nt}-{nx}", data=rows.reshape(-1, nt, nx))
            g.create_dataset("x", data=np.linspace(0, 1, nx, endpoint=False))
            g.create_dataset("t", data=np.arange(nt) * 0.5)
            g.create_dataset("dx", data=1.0 / nx)
            g.create_dataset("dt", data=0.5)


def test_joined_file_reads_as_the_concatenation_from_anywhere(tmp_path, monkeypatch):
    full = np.arange(7 * 5 * 8, dtype=np.float64).reshape(7, 5, 8)
    blocks = [(0, 4), (4, 4), (4, 7)]  # an empty middle shard is allowed
    shards = []
    for rank, (lo, hi) in enumerate(blocks):
        shards.append(shard_path(tmp_path / "kdv.h5", rank, 3))
        write_shard(shards[-1], full[lo:hi])
    assert shards[1].name == "kdv.rank-1-of-3.h5"
    target = join_shards(shards, tmp_path / "kdv.h5")
    monkeypatch.chdir("/")  # relative source paths resolve against the joined file, not the cwd
    with h5py.File(target, "r") as f:
        assert f["train/pde_5-8"].is_virtual
        np.testing.assert_array_equal(f["train/pde_5-8"][()], full)
        np.testing.assert_array_equal(f["valid/pde_5-8"][2:6], full[2:6])
        assert f["train/dt"][()] == 0.5 and f.attrs["equation"].startswith("u_t")
    with pytest.raises(PdesymError, match="exists"):
        join_shards(shards, target)


def test_disagreeing_or_missing_shards_are_refused(tmp_path):
    write_shard(tmp_path / "a.h5", np.zeros((2, 5, 8)))
    write_shard(tmp_path / "b.h5", np.zeros((2, 5, 4)), nx=4)
    with pytest.raises(PdesymError, match="another shape"):
        join_shards([tmp_path / "a.h5", tmp_path / "b.h5"], tmp_path / "j.h5")
    with pytest.raises(PdesymError, match="does not exist"):
        join_shards([tmp_path / "a.h5", tmp_path / "c.h5"], tmp_path / "j.h5")
    (tmp_path / "d.h5").write_text("not hdf5")
    with pytest.raises(PdesymError, match="not a readable HDF5"):
        join_shards([tmp_path / "d.h5"], tmp_path / "j.h5")
    assert not (tmp_path / "j.h5").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "b.h5", "d.h5"]  # no temporary file left
