"""``torchrun --nproc_per_node 2 -m pdesym generate``: two CPU (gloo) processes, one virtual dataset.

Oracle: the single-process run with the same seed (trajectory i depends only on (seed, i), so any
number of ranks must give the same bytes).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from pdesym.datasets import read_dataset
from pdesym.operators import as_trajectories

ROOT = Path(__file__).resolve().parents[1]
TINY = ("kdv", "--nx", "32", "--nt-out", "6", "--t-end", "1", "--n-train", "5", "--n-valid", "1",
        "--n-test", "2", "--chunk", "2")
TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float = 120) -> tuple[int, str]:
    """Run torchrun in its own process group; on a timeout the whole group (workers too) is killed."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail("torchrun did not finish in time:\n" + output)
    return proc.returncode, output


@pytest.mark.slow  # two torchrun launches: ~25 s on the shared 2-core box
@pytest.mark.skipif(TORCHRUN is None, reason="torchrun is not installed next to this python")
def test_torchrun_generate_equals_single_process_and_reads_as_one_file(tmp_path, cli, monkeypatch):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               SOURCE_DATE_EPOCH="1700000000")
    cmd = [TORCHRUN, "--nnodes", "1", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "pdesym", "generate", *TINY, "--out", "d.h5"]
    code, output = _run(cmd, tmp_path, env)
    assert code == 0, output
    assert "by 2 processes" in output
    (tmp_path / "single").mkdir()
    monkeypatch.chdir(tmp_path / "single")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert cli("generate", *TINY, "--out", "d.h5").exit_code == 0

    joined, single = tmp_path / "d.h5", tmp_path / "single" / "d.h5"
    with h5py.File(joined, "r") as f:
        assert all(f[f"{s}/pde_6-32"].is_virtual for s in ("train", "valid", "test"))
    with read_dataset(joined) as dj, read_dataset(single) as ds:
        assert dj.attrs["world_size"] == 2
        assert dj.attrs["shards"] == ["d.rank-0-of-2.h5", "d.rank-1-of-2.h5"]
        assert "shard" not in dj.attrs
        assert list(dj.splits) == ["train", "valid", "test"]
        for split in ("train", "valid", "test"):  # valid has 1 trajectory: rank 1's share is empty
            a, b = dj[split], ds[split]
            assert a.u[...].tobytes() == b.u[...].tobytes()
            for name in ("x", "t", "dx", "dt", "seeds"):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
            assert a.attrs == b.attrs
        same = {k: v for k, v in ds.attrs.items() if k not in ("settings_fingerprint",)}
        assert {k: dj.attrs[k] for k in same} == same  # the same command and provenance
        traj = as_trajectories(dj["train"])
        assert torch.equal(torch.as_tensor(traj.u), torch.as_tensor(ds["train"].u[...]))
    res = cli("info", joined)
    assert res.exit_code == 0 and "All sanity checks passed" in res.output
    assert "2 processes; virtual dataset over 2 shard" in " ".join(res.output.split())
    # each shard holds its block (rank 1's valid group exists with 0 rows, so that the shards agree)
    with h5py.File(tmp_path / "d.rank-1-of-2.h5", "r") as shard, read_dataset(single) as ds:
        assert json.loads(shard.attrs["shard"]) == {"rank": 1, "world_size": 2,
                                                    "ranges": {"train": [3, 5], "valid": [1, 1], "test": [1, 2]}}
        np.testing.assert_array_equal(shard["train/pde_6-32"][()], ds["train"].u[3:5])
        assert shard["valid/pde_6-32"].shape == (0, 6, 32)

    # a second run refuses to overwrite the joined file, on every rank, with one sentence
    code, output = _run(cmd[:8] + [str(_free_port())] + cmd[9:], tmp_path, env)
    assert code != 0 and "d.h5 already exists; pass --force" in output


def test_distributed_flag_outside_torchrun_is_one_sentence(cli, tmp_path, monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    res = cli("generate", *TINY, "--out", tmp_path / "d.h5", "--distributed")
    assert res.exit_code == 1 and "launch with `torchrun --nproc_per_node N -m pdesym" in " ".join(res.output.split())
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_shard_resumes_and_the_join_equals_one_process(tmp_path):
    """What each rank of an interrupted torchrun job does on --resume, without torchrun: rank 1
    stops part-way (its partial file stays), rank 0 had finished (resuming it is a no-op)."""
    from pdesym.datasets import generate_dataset
    from pdesym.partial import partial_path
    from pdesym.shards import join_shards, shard_path

    opts = dict(n_train=7, n_valid=3, n_test=1, nx=32, nt_out=6, t_end=1.0, device="cpu", chunk=2, command="c")
    generate_dataset("kdv", tmp_path / "single.h5", **opts)
    out = tmp_path / "d.h5"
    shards = [shard_path(out, r, 2) for r in range(2)]
    generate_dataset("kdv", shards[0], shard=(0, 2), **opts)
    before = shards[0].read_bytes()

    def stop(done, total):
        if done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_dataset("kdv", shards[1], shard=(1, 2), progress=stop, **opts)
    assert partial_path(shards[1]).exists() and not shards[1].exists()
    with pytest.raises(Exception, match="other settings"):  # another world size is another block
        generate_dataset("kdv", shards[1], shard=(1, 3), resume=True, **opts)
    for rank in range(2):
        generate_dataset("kdv", shards[rank], shard=(rank, 2), resume=True, **opts)
    assert shards[0].read_bytes() == before
    join_shards(shards, out)
    with read_dataset(out) as dj, read_dataset(tmp_path / "single.h5") as ds:
        for split in ("train", "valid", "test"):
            assert dj[split].u[...].tobytes() == ds[split].u[...].tobytes()
            np.testing.assert_array_equal(dj[split].seeds, ds[split].seeds)
