"""The background writer thread and the automatic batch size: device independent, tested on the CPU."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pdesym.background import BackgroundAppender
from pdesym.datasets import DatasetWriter, generate_dataset, read_dataset
from pdesym.solvers.generate import DEFAULT_BATCH, MAX_BATCH, batch_size_for_memory, suggest_batch_size


def _chunks(n_chunks: int, m: int = 3, nt: int = 4, nx: int = 8):
    rng = np.random.default_rng(1)
    x, t = np.linspace(0, 1, nx, endpoint=False), np.arange(nt, dtype=float)
    return [(rng.standard_normal((m, nt, nx)), x, t, np.arange(m) + 10 * i) for i in range(n_chunks)]


def test_background_writes_are_the_synchronous_writes_in_order(tmp_path):
    chunks = _chunks(7)
    with DatasetWriter(tmp_path / "sync.h5") as w:
        for u, x, t, s in chunks:
            w.append("train", u, x, t, s)
    threads = set()

    class Recording(DatasetWriter):
        def append(self, *args, **kwargs):
            threads.add(threading.current_thread().name)
            return super().append(*args, **kwargs)

    with Recording(tmp_path / "bg.h5") as w, BackgroundAppender(w, depth=2) as sink:
        for u, x, t, s in chunks:
            sink.append("train", u, x, t, s)
    assert threads == {"pdesym-writer"}  # written off the caller's thread
    with read_dataset(tmp_path / "sync.h5") as a, read_dataset(tmp_path / "bg.h5") as b:
        assert a["train"].u[...].tobytes() == b["train"].u[...].tobytes()
        np.testing.assert_array_equal(a["train"].seeds, b["train"].seeds)


def test_an_error_in_the_writer_thread_reaches_the_caller_and_stops_writing(tmp_path):
    (u, x, t, s), = _chunks(1)
    bad = np.full_like(u, np.nan)
    writer = DatasetWriter(tmp_path / "d.h5").open()
    sink = BackgroundAppender(writer, depth=1)
    sink.append("train", bad, x, t, s)  # refused by the writer (non-finite) on the thread
    with pytest.raises(Exception, match="NaN or Inf"):
        for _ in range(50):  # the failure shows at a later append or at close
            sink.append("train", u, x, t, s)
        sink.close()
    with pytest.raises(Exception, match="NaN or Inf"):
        sink.close()  # sticky: the error is not forgotten
    assert "train/pde_4-8" not in writer._file  # nothing was written after the failure
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_generate_with_the_writer_thread_gives_the_same_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    opts = dict(n_train=5, n_valid=2, n_test=0, nx=32, nt_out=5, t_end=1.0, chunk=2, device="cpu", command="c")
    generate_dataset("kdv", tmp_path / "a.h5", background=False, **opts)
    generate_dataset("kdv", tmp_path / "b.h5", background=True, **opts)
    with read_dataset(tmp_path / "a.h5") as a, read_dataset(tmp_path / "b.h5") as b:
        assert a.attrs == b.attrs
        for split in a.splits:
            assert a[split].u[...].tobytes() == b[split].u[...].tobytes()


def test_batch_size_is_the_largest_that_fits_half_the_free_memory():
    nx, nt, item = 256, 140, 8
    per = item * nx * (nt + 48)
    for free in (10**6, 10**9, 80 * 2**30):
        b = batch_size_for_memory(free, nx, nt, item)
        assert 1 <= b <= MAX_BATCH
        assert b == MAX_BATCH or (b * per <= free / 2 < (b + 1) * per)
    assert batch_size_for_memory(0, nx, nt, item) == 1
    assert batch_size_for_memory(1 << 50, nx, nt, item) == MAX_BATCH
    # the host bound: a batch's stored output within an eighth of the free host memory
    host = 2**30
    b = batch_size_for_memory(80 * 2**30, nx, nt, item, host)
    assert b * item * nx * nt <= host / 8 < (b + 1) * item * nx * nt
    assert suggest_batch_size(nx, nt, "cpu") == DEFAULT_BATCH
