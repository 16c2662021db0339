"""HDF5 datasets: round trip, layout, atomic writes, bounded memory, validating reader, checks."""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from pdesym.datasets import (
    DATASET_FORMAT,
    DatasetWriter,
    check_dataset,
    conserved_densities,
    read_dataset,
    split_seed,
    write_dataset,
)
from pdesym.equations import Equation
from pdesym.errors import PdesymError
from pdesym.operators.trajectories import as_trajectories


@dataclass
class Chunk:
    u: np.ndarray
    x: np.ndarray
    t: np.ndarray
    seeds: np.ndarray


def soliton_chunks(n: int, chunk: int, *, nt: int = 12, nx: int = 256, length: float = 128.0):
    """KdV solitons u = 3c sech^2(sqrt(c)(x - ct - x0)/2): exact solutions, for the invariant checks."""
    x = np.arange(nx) * (length / nx)
    t = np.linspace(0.0, 2.0, nt)
    for start in range(0, n, chunk):
        idx = np.arange(start, min(n, start + chunk))
        c = 0.5 + 0.05 * (idx % 7)
        x0 = 40.0 + idx % 5
        arg = np.sqrt(c)[:, None, None] * (x[None, None] - c[:, None, None] * t[None, :, None] - x0[:, None, None]) / 2
        yield Chunk(3 * c[:, None, None] / np.cosh(arg) ** 2, x, t, idx.astype(np.int64))


def noise_chunks(n: int, chunk: int, *, nt: int = 10, nx: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 2 * np.pi, nx, endpoint=False)
    t = np.arange(nt) * 0.25
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        yield Chunk(rng.standard_normal((m, nt, nx)), x, t, np.arange(start, start + m))


KDV_ATTRS = {"equation": "u_t + u*u_x + u_xxx = 0", "equation_json": Equation.from_preset("kdv").to_dict(),
             "preset": "kdv", "seed": 3, "solver": {"method": "etdrk4", "dt": 0.01, "tolerances": None}}


def test_round_trip_is_bitwise_and_layout_is_lpsda(tmp_path):
    path = tmp_path / "d.h5"
    train = list(soliton_chunks(10, 3))
    valid = list(noise_chunks(4, 4))
    write_dataset(path, {"train": iter(train), "valid": iter(valid)}, attrs=KDV_ATTRS,
                  split_attrs={"train": {"seed": 11}})
    u_train = np.concatenate([c.u for c in train])
    with h5py.File(path, "r") as f:  # the raw layout, as an LPSDA reader sees it
        assert set(f) == {"train", "valid"}
        g = f["train"]
        assert set(g) == {"pde_12-256", "x", "t", "dx", "dt", "seeds"}
        assert g["pde_12-256"].shape == (10, 12, 256) and g["pde_12-256"].dtype == np.float64
        assert g["x"].shape == (10, 256) and g["t"].shape == (10, 12)
        assert g["dx"].shape == (10,) and g["dt"].shape == (10,)
        np.testing.assert_allclose(g["dx"][...], 0.5, rtol=1e-14)
        np.testing.assert_allclose(g["dt"][...], 2.0 / 11, rtol=1e-14)
        assert f.attrs["format"] == DATASET_FORMAT and g.attrs["seed"] == 11
    with read_dataset(path) as ds:
        tr = ds["train"]
        assert tr.u[...].tobytes() == u_train.tobytes()  # bitwise round trip
        assert ds["valid"].u[...].tobytes() == np.concatenate([c.u for c in valid]).tobytes()
        np.testing.assert_array_equal(tr.seeds, np.arange(10))
        assert ds.attrs["solver"] == KDV_ATTRS["solver"] and ds.attrs["seed"] == 3
        assert ds.equation == Equation.from_preset("kdv")
        # compatible with the operators' reader: same bytes, same grid
        traj = as_trajectories(tr)
        assert traj.u.numpy().tobytes() == u_train.tobytes()
        assert torch.allclose(traj.dx, torch.full((10,), 0.5, dtype=torch.float64), rtol=1e-13, atol=0)
    loaded = read_dataset(path, load=True)
    assert isinstance(loaded["train"].u, np.ndarray) and loaded["train"].u.tobytes() == u_train.tobytes()


def test_existing_file_is_not_overwritten_without_force(tmp_path):
    path = tmp_path / "d.h5"
    write_dataset(path, {"train": noise_chunks(2, 2)})
    before = path.read_bytes()
    with pytest.raises(PdesymError, match="already exists; pass --force"):
        write_dataset(path, {"train": noise_chunks(3, 3, seed=1)})
    assert path.read_bytes() == before
    write_dataset(path, {"train": noise_chunks(3, 3, seed=1)}, force=True)
    with read_dataset(path) as ds:
        assert ds["train"].n == 3


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_crash_inside_chunk_iterator_keeps_earlier_file_and_leaves_nothing(tmp_path, error):
    path = tmp_path / "d.h5"
    write_dataset(path, {"train": noise_chunks(4, 2)}, attrs={"seed": 1})
    before = path.read_bytes()

    def exploding():
        chunks = noise_chunks(40, 4, seed=5)
        for i, c in enumerate(chunks):
            if i == 3:  # 12 trajectories are already in the temporary file
                assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name], "no temporary file in use"
                raise error("solver died")
            yield c

    with pytest.raises(error, match="solver died"):
        write_dataset(path, {"train": exploding()}, force=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]  # no temporary file left
    # and with no earlier file: nothing at all under the target name
    fresh = tmp_path / "new.h5"
    with pytest.raises(error):
        write_dataset(fresh, {"train": exploding()})
    assert not fresh.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]


def test_nan_chunk_is_refused_and_nothing_written(tmp_path):
    path = tmp_path / "d.h5"
    bad = list(noise_chunks(6, 3))
    bad[1].u[2, 4, 7] = np.nan
    with pytest.raises(PdesymError, match="Trajectory 5 of split 'train' holds NaN"):
        write_dataset(path, {"train": bad})
    assert list(tmp_path.iterdir()) == []


def test_memory_is_bounded_by_the_chunk_not_by_n(tmp_path):
    n, chunk, nt, nx = 2000, 32, 32, 64
    chunk_bytes = chunk * nt * nx * 8  # 512 KiB
    total_bytes = n * nt * nx * 8  # 31 MiB
    # warm up: first use imports modules and fills h5py's bounded selection cache (~0.4 MiB)
    write_dataset(tmp_path / "warm.h5", {"train": noise_chunks(50, 8)})
    peaks = {}
    for size in (n // 8, n):
        gc.collect()
        tracemalloc.start()
        try:
            write_dataset(tmp_path / f"big{size}.h5", {"train": noise_chunks(size, chunk, nt=nt, nx=nx)})
            peaks[size] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    print(f"tracemalloc peaks {peaks} B; chunk {chunk_bytes} B; split {total_bytes} B")
    # the writer holds one chunk (+ the generator's draw and a finiteness mask), never the split:
    # 8x more trajectories cost no more than a fraction of one chunk
    assert peaks[n] < 4 * chunk_bytes + 512 * 1024 < total_bytes / 10, peaks
    assert peaks[n] < peaks[n // 8] + chunk_bytes / 2, peaks
    assert (tmp_path / f"big{n}.h5").stat().st_size >= total_bytes


def test_reader_errors_name_the_problem(tmp_path):
    with pytest.raises(PdesymError, match="No dataset file at .*missing.h5"):
        read_dataset(tmp_path / "missing.h5")
    text = tmp_path / "notes.h5"
    text.write_text("hello, not hdf5\n")
    with pytest.raises(PdesymError, match="not an HDF5 file"):
        read_dataset(text)
    good = tmp_path / "good.h5"
    write_dataset(good, {"train": noise_chunks(50, 10, nt=20, nx=64)})
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(PdesymError, match="truncated or damaged"):
        read_dataset(cut)
    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as f:
        f.create_dataset("train/u", data=np.zeros((2, 3, 4)))
    with pytest.raises(PdesymError, match=r"no split holds a dataset named pde_\{nt\}-\{nx\}"):
        read_dataset(wrong)
    shape = tmp_path / "shape.h5"
    with h5py.File(shape, "w") as f:
        f.create_dataset("train/pde_5-8", data=np.zeros((2, 5, 9)))
    with pytest.raises(PdesymError, match=r"shape \(2, 5, 9\), expected \(N, 5, 8\)"):
        read_dataset(shape)
    ints = tmp_path / "ints.h5"
    with h5py.File(ints, "w") as f:
        f.create_dataset("train/pde_5-8", data=np.zeros((2, 5, 8), dtype=np.int32))
    with pytest.raises(PdesymError, match="holds int32 values, expected float64"):
        read_dataset(ints)
    nogrid = tmp_path / "nogrid.h5"
    with h5py.File(nogrid, "w") as f:
        f.create_dataset("train/pde_5-8", data=np.zeros((2, 5, 8)))
    with pytest.raises(PdesymError, match="no 'x' grid"):
        read_dataset(nogrid)
    nan = tmp_path / "nan.h5"
    nan.write_bytes(good.read_bytes())
    with h5py.File(nan, "r+") as f:
        f["train/pde_20-64"][37, 3, 5] = np.inf
    with pytest.raises(PdesymError, match="trajectory 37 of split 'train' holds NaN or Inf"):
        read_dataset(nan)


def test_unwritable_directory_is_one_sentence(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("a file, not a directory")
    with pytest.raises(PdesymError, match="Cannot write in .*plain.txt"):
        write_dataset(plain / "d.h5", {"train": noise_chunks(2, 2)})
    assert plain.read_text() == "a file, not a directory"


def test_permission_denied_directory_is_one_sentence(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if _can_write(locked):
            pytest.skip("running as a user that ignores directory permissions")
        with pytest.raises(PdesymError, match="Cannot write in .*locked"):
            write_dataset(locked / "d.h5", {"train": noise_chunks(2, 2)})
    finally:
        locked.chmod(0o700)


def _can_write(directory: Path) -> bool:
    try:
        (directory / ".probe").touch()
    except OSError:
        return False
    (directory / ".probe").unlink()
    return True


def test_split_seeds_differ_and_are_stable():
    seeds = {s: split_seed(7, s) for s in ("train", "valid", "test")}
    assert len(set(seeds.values())) == 3
    assert seeds == {s: split_seed(7, s) for s in ("train", "valid", "test")}
    assert split_seed(8, "train") != seeds["train"]


def test_conserved_densities_from_the_euler_operator():
    cases = {"kdv": (True, True), "ks": (True, False), "burgers": (True, False), "heat": (True, False),
             "nkdv": (True, True), "ckdv": (False, False)}
    for name, (mass, energy) in cases.items():
        assert conserved_densities(Equation.from_preset(name)) == {"mass": mass, "energy": energy}, name


def test_checks_on_exact_kdv_solitons(tmp_path):
    """Solitons conserve ∫u and ∫u² exactly; sampled on 256 points of a 128-long box the sums
    are spectrally accurate, so the measured drifts are at rounding level."""
    path = tmp_path / "sol.h5"
    write_dataset(path, {"train": soliton_chunks(6, 6)}, attrs=KDV_ATTRS)
    with read_dataset(path) as ds:
        checks = {c.name: c for c in check_dataset(ds)}
    assert checks["∫u dx drift"].ok and checks["∫u dx drift"].value < 1e-12
    assert checks["∫u² dx drift"].ok and checks["∫u² dx drift"].value < 1e-12
    assert checks["grid spacing error"].value < 1e-12
    # largest c = 0.75; at t = 0 the crest x0 lies on the grid, so the sampled peak is 3c exactly
    assert checks["max u"].value == pytest.approx(3 * 0.75, rel=1e-14)
    tail = checks["spectral tail |k| > nx/3"]
    assert tail.value < 1e-5 and tail.note == "resolved"  # sech² spectrum ~ exp(-πk/√c): 4e-6 at k = nx/3
    # a smooth field whose mean grows, u = sin x + t/20, is no KdV solution: the same checks flag it
    x, t = np.linspace(0, 2 * np.pi, 64, endpoint=False), np.linspace(0, 2, 9)
    fake = Chunk(np.sin(x)[None, None] + t[None, :, None] / 20 + np.zeros((2, 1, 1)), x, t, np.arange(2))
    path = tmp_path / "fake.h5"
    write_dataset(path, {"train": [fake]}, attrs=KDV_ATTRS)
    with read_dataset(path) as ds:
        checks = {c.name: c for c in check_dataset(ds)}
    # mass drift = (2/20) 2π / (dx Σ_j |sin x_j|), and Σ_j |sin(2πj/N)| = 2 cot(π/N): 0.05 N tan(π/N)
    assert checks["∫u dx drift"].ok is False
    assert checks["∫u dx drift"].value == pytest.approx(0.05 * 64 * np.tan(np.pi / 64), rel=1e-12)
    assert checks["∫u² dx drift"].ok is False
    # white noise is under-resolved: the tail says so and the tolerances widen to it
    noisy = tmp_path / "noise.h5"
    write_dataset(noisy, {"train": noise_chunks(3, 3)}, attrs=KDV_ATTRS)
    with read_dataset(noisy) as ds:
        checks = {c.name: c for c in check_dataset(ds)}
    assert checks["spectral tail |k| > nx/3"].value > 0.3
    assert "under-resolved" in checks["spectral tail |k| > nx/3"].note


def test_writer_refuses_mixed_resolutions(tmp_path):
    with pytest.raises(PdesymError, match="holds pde_10-64 already"):
        with DatasetWriter(tmp_path / "d.h5") as w:
            w.append("train", *next(iter([(c.u, c.x, c.t) for c in noise_chunks(2, 2)])))
            w.append("train", np.zeros((1, 10, 32)), np.arange(32.0), np.arange(10.0))
    assert list(tmp_path.iterdir()) == []
