"""``pdesym benchmark fno`` and ``pdesym discover --method neural`` killed by a signal part-way.

The real command runs in a subprocess; the test waits for a file that says the run is part-way
(a finished run's result and the next run's checkpoint; the neural checkpoint) and then sends
SIGTERM or SIGINT. Oracle: an uninterrupted run of the same command with the same seed, whose
result files must equal the resumed run's (bytes, up to the fields that are honestly timings).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from interrupting import interrupt_when

ROOT = Path(__file__).resolve().parents[1]
EPOCH = "1700000000"

# two training runs of 8 epochs each; the second is interrupted between its epochs
BENCH = ("benchmark", "fno", "--pde", "kdv", "--n-train", "2", "--aug", "none", "--seeds", "2",
         "--steps", "48", "--device", "cpu", "--out", "bench")
# 40 steps, a checkpoint every 5: interrupted after the first checkpoint, long before the end
NEURAL = ("discover", "kdv", "--method", "neural", "--generators", "1", "--steps", "40", "--checkpoint-every", "5",
          "--trajectories", "2", "--snapshots", "20", "--nx", "64", "--points", "256", "--degree", "1", "--seed", "3",
          "--device", "cpu", "--format", "json", "--out", "run")


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                SOURCE_DATE_EPOCH=EPOCH, HDF5_USE_FILE_LOCKING="FALSE")


def _interrupt_when(args: tuple, cwd: Path, ready, signum: int) -> str:
    """Interrupt ``pdesym ARGS`` once ``ready()``; it must end with exit 130 and a one-line hint."""
    code, output = interrupt_when(args, cwd, _env(), ready, signum)
    assert code == 130, output
    assert "Traceback" not in output and "--resume" in output
    return " ".join(output.split())


def _no_temporary_files(folder: Path) -> None:
    """Atomic writes leave no temporary file behind, even when a signal hits one mid-write."""
    left = [p.name for p in folder.rglob(".*.tmp")]
    assert left == [], left


def pdesym(where: Path, *args: str) -> str:
    """``pdesym ARGS`` in a subprocess in ``where``, as a user runs it (the suite's float64 default
    and thread settings do not leak in); it must succeed."""
    done = subprocess.run([sys.executable, "-m", "pdesym", *args], cwd=where, env=_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.mark.slow  # three real commands of ~5 s each (imports, data, two trainings)
def test_benchmark_fno_killed_part_way_resumes_to_the_uninterrupted_table(tmp_path, cli, monkeypatch):
    from pdesym.operators.checkpoints import read_checkpoint

    first = tmp_path / "bench" / "runs" / "kdv-n2-none-s0.json"
    running = tmp_path / "bench" / "checkpoints" / "kdv-n2-none-s1.pt"
    output = _interrupt_when(BENCH, tmp_path, lambda: first.is_file() and running.is_file(),
                             signal.SIGTERM)
    assert "Interrupted; finished runs are kept in OUT/runs/" in output
    folder = tmp_path / "bench"
    # no summary file yet (they are written once, at the end), hence none truncated; the finished
    # run's result and the checkpoint are complete files
    assert not (folder / "results.json").exists() and not (folder / "table.md").exists()
    assert not (folder / "nmse.png").exists()
    _no_temporary_files(folder)
    finished = first.read_bytes()
    assert json.loads(finished)["nmse"] > 0
    epochs_done = read_checkpoint(running)["epochs_done"]
    assert 1 <= epochs_done < 8

    # without --resume the folder is refused; with other settings the resume is refused
    monkeypatch.chdir(tmp_path)
    res = cli(*BENCH)
    assert res.exit_code == 1 and "is not empty" in res.output
    res = cli(*BENCH, "--steps", "40", "--resume")
    assert res.exit_code == 1 and "other settings" in " ".join(res.output.split())
    assert read_checkpoint(running)["epochs_done"] == epochs_done

    pdesym(tmp_path, *BENCH, "--resume")
    assert not running.exists() and not running.with_suffix(".json").exists()  # removed once the result is stored
    assert first.read_bytes() == finished  # the finished run was kept, not trained again (its "seconds" would differ)
    _no_temporary_files(folder)
    reference = tmp_path / "reference"
    reference.mkdir()
    pdesym(reference, *BENCH)

    resumed, plain = folder, reference / "bench"
    assert (resumed / "table.md").read_bytes() == (plain / "table.md").read_bytes()
    a, b = (json.loads((d / "results.json").read_text()) for d in (resumed, plain))
    volatile = {"seconds"}  # wall-clock time of each training run (the resumed one only counts its rest)
    assert [{k: v for k, v in r.items() if k not in volatile} for r in a["runs"]] == \
           [{k: v for k, v in r.items() if k not in volatile} for r in b["runs"]]
    assert a["table"] == b["table"] and a["settings"] == b["settings"]
    assert len(a["runs"]) == 2 and a["runs"][1]["nmse"] != a["runs"][0]["nmse"]


def test_benchmark_resume_needs_a_started_folder(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = cli(*BENCH, "--resume")
    assert res.exit_code == 1 and "Nothing to resume in bench" in " ".join(res.output.split())
    res = cli(*BENCH, "--resume", "--force")
    assert res.exit_code == 1 and "not both" in res.output
    res = cli(*BENCH[:-2], "--resume")
    assert res.exit_code == 1 and "--resume needs the --out folder" in " ".join(res.output.split())


def _assert_same_state(a, b, where: str = "checkpoint") -> None:
    """Exact equality of nested checkpoint states: same keys, same values, same tensor dtypes and bits."""
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _assert_same_state(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_state(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def _strip_timings(doc: dict) -> dict:
    """symmetries.json without the fields that are wall-clock measurements or resume provenance."""
    doc = json.loads(json.dumps(doc))
    doc.pop("seconds")
    doc.pop("timings")
    for key in ("seconds", "resumed_from"):
        doc["discovery"].pop(key)
    return doc


def _report_without_timings(path: Path) -> str:
    return "".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                   if not line.startswith("- Timings:"))


@pytest.mark.slow  # three real commands of ~5 s each
def test_discover_neural_killed_part_way_resumes_to_the_uninterrupted_result(tmp_path, cli, monkeypatch):
    folder = tmp_path / "run"
    checkpoint = folder / "checkpoint.pt"
    output = _interrupt_when(NEURAL, tmp_path, checkpoint.is_file, signal.SIGINT)
    assert "Interrupted; a neural run keeps its last checkpoint" in output
    for name in ("symmetries.json", "report.md", "fields.png", "validity.png"):
        assert not (folder / name).exists(), name
    _no_temporary_files(folder)
    step = torch.load(checkpoint, map_location="cpu", weights_only=False)["step"]
    assert 5 <= step < 40 and step % 5 == 0

    monkeypatch.chdir(tmp_path)
    res = cli(*NEURAL)
    assert res.exit_code == 1 and "--resume" in res.output
    res = cli(*NEURAL[:-2], "--out", "run", "--seed", "4", "--resume")
    assert res.exit_code == 1 and "other options" in " ".join(res.output.split())

    pdesym(tmp_path, *NEURAL, "--resume")
    reference = tmp_path / "reference"
    reference.mkdir()
    pdesym(reference, *NEURAL)
    resumed, plain = (json.loads((d / "symmetries.json").read_text()) for d in (folder, reference / "run"))
    assert resumed["discovery"]["resumed_from"] == step and plain["discovery"]["resumed_from"] is None
    assert _strip_timings(resumed) == _strip_timings(plain)
    assert _report_without_timings(folder / "report.md") == _report_without_timings(reference / "run" / "report.md")
    # equal contents, tensor by tensor (not bytes: pickle's memo shares the key "step" with the
    # optimiser's state in one process and not after a reload, a different but equivalent stream)
    _assert_same_state(*(torch.load(d / "checkpoint.pt", map_location="cpu", weights_only=False)
                         for d in (folder, reference / "run")))
    assert (folder / "config.json").read_bytes() == (reference / "run" / "config.json").read_bytes()


def test_benchmark_interrupted_inside_a_training_resumes_to_the_same_runs(tmp_path, monkeypatch):
    """Library level and fast: the interrupt hits the second run's second epoch (its validation)."""
    import pdesym.operators.training as training
    from pdesym.augment.benchmark import BenchmarkSettings, run_fno_benchmark
    from pdesym.operators.checkpoints import read_checkpoint

    settings = BenchmarkSettings.small(
        n_train=(2,), augmentations=("none",), seeds=2, n_valid=2, n_test=2, nx=32, steps=8, epochs=4, copies=1,
        fno=dict(modes=4, width=4, layers=1, projection_width=4, lr=1e-3, lr_milestones=(2,), batch_size=2))
    reference = run_fno_benchmark(["kdv"], settings, tmp_path / "reference", device="cpu")

    calls, validate = [], training.evaluate_rollout

    def interrupt_sixth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 6:  # 4 epochs of seed 0, then the 2nd epoch of seed 1
            raise KeyboardInterrupt
        return validate(*args, **kwargs)

    monkeypatch.setattr(training, "evaluate_rollout", interrupt_sixth)
    with pytest.raises(KeyboardInterrupt):
        run_fno_benchmark(["kdv"], settings, tmp_path / "run", device="cpu")
    monkeypatch.undo()
    assert read_checkpoint(tmp_path / "run" / "checkpoints" / "kdv-n2-none-s1.pt")["epochs_done"] == 1
    assert not (tmp_path / "run" / "results.json").exists()
    labels, calls = [], []

    def count(*args, **kwargs):
        calls.append(1)
        return validate(*args, **kwargs)

    monkeypatch.setattr(training, "evaluate_rollout", count)
    resumed = run_fno_benchmark(["kdv"], settings, tmp_path / "run", device="cpu", resume=True,
                                progress=lambda label, done, total: labels.append(label))
    assert len(calls) == 3  # seed 0 kept, seed 1 continued at its 2nd epoch: epochs 2-4 only
    assert "kept from the interrupted run" in labels[0] and "kept" not in labels[1]
    strip = lambda runs: [{k: v for k, v in r.items() if k != "seconds"} for r in runs]  # noqa: E731
    assert strip(resumed["runs"]) == strip(reference["runs"]) and resumed["table"] == reference["table"]
    assert (tmp_path / "run" / "table.md").read_bytes() == (tmp_path / "reference" / "table.md").read_bytes()
    assert list((tmp_path / "run" / "checkpoints").iterdir()) == []
