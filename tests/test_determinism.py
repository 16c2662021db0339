"""The same command with the same seed writes the same bytes on CPU.

Each command runs twice as a real ``pdesym`` process, with different ``PYTHONHASHSEED`` values (so
an iteration over a set of strings or symbols that leaked into a file would show), in the same
folder (so absolute paths recorded as provenance agree), and ``SOURCE_DATE_EPOCH`` fixed (the
reproducible-builds convention that pdesym's "created" attributes follow).

What is not compared byte for byte, and why: the wall-clock measurements ``seconds`` and
``timings`` in ``symmetries.json`` and the ``Timings:`` line of ``report.md``. They are honest
measurements that the report shows; every other byte of those files, and every byte of the other
files (HDF5 datasets, config.json, checkpoint.pt, plots), must agree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EPOCH = "1700000000"


def pdesym(where: Path, *args: str, hash_seed: int) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               SOURCE_DATE_EPOCH=EPOCH, HDF5_USE_FILE_LOCKING="FALSE", PYTHONHASHSEED=str(hash_seed))
    done = subprocess.run([sys.executable, "-m", "pdesym", *map(str, args)], cwd=where, env=env,
                          capture_output=True, text=True, timeout=300)  # a loaded CI box is slow
    assert done.returncode == 0, done.stdout + done.stderr


def _without_timings(path: Path) -> bytes:
    """The file's bytes, less the wall-clock fields (see the module docstring)."""
    if path.name == "symmetries.json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc.pop("seconds", None)
        doc.pop("timings", None)
        doc.get("discovery", {}).pop("seconds", None)
        return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")
    if path.name == "report.md":
        return b"".join(line for line in path.read_bytes().splitlines(keepends=True)
                        if not line.startswith(b"- Timings:"))
    return path.read_bytes()


def assert_same_files(a: Path, b: Path) -> list[str]:
    """Every file under folder ``a`` equals the one under ``b`` (same names); returns the names."""
    names = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    for name in names:
        assert _without_timings(a / name) == _without_timings(b / name), name
    return names


def _twice(where: Path, args: tuple, outputs: tuple[str, ...]) -> tuple[Path, Path]:
    """Run ``pdesym ARGS`` twice in ``where``, moving ``outputs`` to first/ and second/ after each run."""
    kept = []
    for run, hash_seed in (("first", 1), ("second", 2)):
        pdesym(where, *args, hash_seed=hash_seed)
        folder = where / run
        folder.mkdir()
        for name in outputs:
            shutil.move(where / name, folder / name)
        kept.append(folder)
    return kept[0], kept[1]


def test_augment_twice_gives_the_same_bytes(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    assert cli("generate", "kdv", "--nx", "64", "--nt-out", "24", "--t-end", "10", "--n-train", "3", "--n-valid", "0",
               "--n-test", "0", "--out", "src.h5").exit_code == 0
    assert cli("symmetries", "kdv", "-o", "sym.json").exit_code == 0
    first, second = _twice(tmp_path, ("augment", "src.h5", "-s", "sym.json", "-n", "2", "--scale",
                                      "X1=2,X2=0.02,X3=0.3,X4=0.05", "--seed", "7", "--chunk", "2", "--out", "aug.h5"),
                           ("aug.h5",))
    assert assert_same_files(first, second) == ["aug.h5"]
    # and the seed matters: another seed gives other group parameters, hence other bytes
    pdesym(tmp_path, "augment", "src.h5", "-s", "sym.json", "-n", "2", "--scale", "X1=2,X2=0.02,X3=0.3,X4=0.05",
           "--seed", "8", "--chunk", "2", "--out", "aug.h5", hash_seed=1)
    assert (tmp_path / "aug.h5").read_bytes() != (first / "aug.h5").read_bytes()


DISCOVER = ("discover", "kdv", "--trajectories", "2", "--snapshots", "20", "--nx", "64", "--seed", "5",
            "--device", "cpu", "--format", "json", "--out", "run")


@pytest.mark.parametrize("method", [
    ("--method", "nullspace", "--points", "1024", "--degree", "2"),
    ("--method", "neural", "--generators", "1", "--steps", "20", "--checkpoint-every", "10", "--points", "256",
     "--degree", "1"),
], ids=["nullspace", "neural"])
def test_discover_twice_gives_the_same_bytes(tmp_path, method):
    # the generated dataset (data/kdv-discover.h5) moves away too, so the second run makes it again
    first, second = _twice(tmp_path, DISCOVER + method, ("run", "data"))
    names = assert_same_files(first, second)
    expected = {"run/config.json", "run/symmetries.json", "run/report.md", "run/fields.png", "run/validity.png",
                "data/kdv-discover.h5"} | ({"run/checkpoint.pt"} if "neural" in method else set())
    assert set(names) == expected
