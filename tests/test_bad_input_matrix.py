"""Every command, every kind of bad input: one sentence naming the problem, exit != 0, no traceback,
and no file that was already on disk changed (issue 9's bad-input matrix)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from pdesym.datasets import generate_dataset
from pdesym.symbolic import find_symmetries


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A directory of good and bad inputs; each case runs in a fresh copy of it."""
    root = tmp_path_factory.mktemp("inputs")
    good = root / "good.h5"
    generate_dataset("kdv", good, n_train=3, n_valid=1, n_test=1, seed=0, nx=64, nt_out=10, t_end=2.0)
    shutil.copy(good, root / "nan.h5")
    with h5py.File(root / "nan.h5", "r+") as f:
        name = next(k for k in f["train"] if k.startswith("pde_"))
        block = f["train"][name][()]
        block[0, 3, 5] = np.nan
        f["train"][name][...] = block
    shutil.copy(good, root / "inf.h5")
    with h5py.File(root / "inf.h5", "r+") as f:
        name = next(k for k in f["train"] if k.startswith("pde_"))
        block = f["train"][name][()]
        block[1, 2, 0] = np.inf
        f["train"][name][...] = block
    raw = good.read_bytes()
    (root / "truncated.h5").write_bytes(raw[: len(raw) // 2])
    with h5py.File(root / "layout.h5", "w") as f:
        f["foo"] = np.zeros(3)
    with h5py.File(root / "shape.h5", "w") as f:  # one split whose field has the wrong rank
        g = f.create_group("train")
        g["pde_10-64"] = np.zeros((10, 64))
        g["x"], g["t"] = np.linspace(0, 1, 64), np.arange(10.0)
        g["dx"], g["dt"] = 1 / 64, 1.0
    (root / "text.h5").write_text("not an HDF5 file")
    (root / "plainfile").write_text("a file where a directory is expected")
    find_symmetries("kdv").save(root / "kdv.json")
    find_symmetries("burgers").save(root / "burgers.json")
    (root / "format.json").write_text('{"format": "nope"}')
    (root / "broken.json").write_text("{not json")
    run = root / "runs" / "done"  # a finished discovery run
    run.mkdir(parents=True)
    shutil.copy(root / "kdv.json", run / "symmetries.json")
    (run / "config.json").write_text("{}")
    return root


AUG = ("-n", "1", "--scale", "0.1", "-o", "out.h5")

#: (arguments, words the one sentence must contain)
CASES: list[tuple[tuple[str, ...], str]] = [
    # generate
    (("generate", "nope"), "Unknown preset 'nope'"),
    (("generate", "--equation", "u_t = u_x +* 2"), "Cannot parse the equation"),
    (("generate", "--equation", "u_t = v_x"), "one dependent variable"),
    (("generate", "--equation", "u_tt = u_xx"), "solves evolution equations"),
    (("generate", "--equation", "u_t = u_xx + 0.01*x*u_x"), "not periodic with the domain length"),
    (("generate", "kdv", "--n-train", "-1"), "n_train must be an integer"),
    (("generate", "kdv", "--nx", "0"), "nx must be an integer"),
    (("generate", "kdv", "--dt", "0"), "dt must be a positive number"),
    (("generate", "kdv", "--dt", "-0.1"), "dt must be a positive number"),
    (("generate", "kdv", "--t-end", "-1"), "positive"),
    (("generate", "kdv", "--device", "tpu"), "Unknown device 'tpu'"),
    (("generate", "kdv", "--dtype", "float16"), "Unknown dtype"),
    (("generate", "kdv", "--out", "good.h5"), "already exists; pass --force"),
    (("generate", "kdv", "--out", "plainfile/x.h5"), "Cannot write in plainfile"),
    (("generate", "ks", "--dt", "50", "--nx", "64", "--nt-out", "5", "--n-train", "2", "--n-valid", "0",
      "--n-test", "0", "--out", "good.h5", "--force"), "blew up"),
    # info
    (("info", "missing.h5"), "No dataset file at missing.h5"),
    (("info", "text.h5"), "not an HDF5 file"),
    (("info", "truncated.h5"), "truncated or damaged"),
    (("info", "layout.h5"), "LPSDA layout"),
    (("info", "shape.h5"), "shape"),
    (("info", "nan.h5"), "NaN or Inf"),
    (("info", "inf.h5"), "NaN or Inf"),
    # symmetries
    (("symmetries", "nope"), "Unknown preset 'nope'"),
    (("symmetries", "u_t = u_x +* 2"), "Cannot parse the equation"),
    (("symmetries", "u_t = v_xx"), "one dependent variable"),
    (("symmetries", "kdv", "--degree", "0", "--method", "ansatz"), "degree must be an integer from 1"),
    (("symmetries", "kdv", "--method", "guess"), "Unknown method 'guess'"),
    (("symmetries", "kdv", "--format", "pdf"), "Unknown format 'pdf'"),
    (("symmetries", "kdv", "--out", "kdv.json"), "already exists; pass --force"),
    # augment
    (("augment", "missing.h5", "-s", "kdv.json", *AUG), "No dataset file at missing.h5"),
    (("augment", "text.h5", "-s", "kdv.json", *AUG), "not an HDF5 file"),
    (("augment", "truncated.h5", "-s", "kdv.json", *AUG), "truncated or damaged"),
    (("augment", "nan.h5", "-s", "kdv.json", *AUG), "NaN or Inf"),
    (("augment", "good.h5", "-s", "burgers.json", *AUG), "The symmetries file is for"),
    (("augment", "good.h5", "-s", "format.json", *AUG), "not a valid pdesym symmetries file"),
    (("augment", "good.h5", "-s", "broken.json", *AUG), "broken.json"),
    (("augment", "good.h5", "-s", "missing.json", *AUG), "missing.json"),
    (("augment", "good.h5", "-s", "kdv.json", "-g", "X9", *AUG), "no generator X9"),
    (("augment", "good.h5", "-s", "kdv.json", "-n", "0", "--scale", "0.1", "-o", "out.h5"), "--copies must be"),
    (("augment", "good.h5", "-s", "kdv.json", "-n", "1", "--scale", "-1", "-o", "out.h5"), "Scales must be"),
    (("augment", "good.h5", "-s", "kdv.json", "-n", "1", "--scale", "0.1", "-o", "good.h5"), "already exists"),
    (("augment", "good.h5", "-s", "kdv.json", "-n", "1", "--scale", "0.1", "-o", "plainfile/o.h5"), "plainfile"),
    # benchmark
    (("benchmark", "fno", "--pde", "nope"), "Unknown benchmark PDE 'nope'"),
    (("benchmark", "fno", "--n-train", "0"), "--n-train needs positive sizes"),
    (("benchmark", "fno", "--aug", "nope"), "Unknown augmentation 'nope'"),
    (("benchmark", "fno", "--seeds", "0"), "--seeds must be a positive integer"),
    (("benchmark", "fno", "--steps", "0"), "--steps must be a positive integer"),
    (("benchmark", "fno", "--device", "tpu"), "Unknown device 'tpu'"),
    (("benchmark", "fno", "--out", "plainfile"), "plainfile"),
    # discover
    (("discover", "nope"), "neither a preset"),
    (("discover", "u_t = u_xx + u^2"), "pdesym discover works on data"),
    (("discover", "nan.h5"), "NaN or Inf"),
    (("discover", "inf.h5"), "NaN or Inf"),
    (("discover", "text.h5"), "not an HDF5 file"),
    (("discover", "truncated.h5"), "truncated or damaged"),
    (("discover", "layout.h5"), "LPSDA layout"),
    (("discover", "shape.h5"), "has shape (10, 64)"),
    (("discover", "good.h5", "-e", "u_t = u_x +* 2"), "Cannot parse the equation"),
    (("discover", "good.h5", "--degree", "0"), "--degree must be a positive integer"),
    (("discover", "good.h5", "--method", "magic"), "Unknown method 'magic'"),
    (("discover", "good.h5", "--validity", "magic"), "Unknown validity 'magic'"),
    (("discover", "good.h5", "--method", "neural", "--steps", "0"), "--steps must be a positive integer"),
    (("discover", "good.h5", "--method", "neural", "--polish", "-1"), "--polish must be an integer >= 0"),
    (("discover", "good.h5", "--flow-eps", "0.1"), "--flow-eps sets the flow validity"),
    (("discover", "good.h5", "--validity", "flow", "--patch-size", "64"), "--patch-size must be two sizes like 64x64"),
    (("discover", "good.h5", "--validity", "flow", "--flow-method", "nope"), "Unknown flow method"),
    (("discover", "good.h5", "--validity", "flow", "--flow-eps", "2"), "--flow-eps must be in (0, 1]"),
    (("discover", "good.h5", "--points", "0"), "--points must be a positive integer"),
    (("discover", "good.h5", "--trajectories", "0"), "--trajectories must be a positive integer"),
    (("discover", "good.h5", "--device", "tpu"), "Unknown device 'tpu'"),
    (("discover", "good.h5", "--format", "pdf"), "Unknown format 'pdf'"),
    (("discover", "good.h5", "--basis", "exp("), "Cannot read the basis function"),
    (("discover", "good.h5", "--out", "runs/done"), "already holds a finished run; pass --force"),
    (("discover", "good.h5", "--out", "plainfile/r"), "plainfile"),
    (("discover", "good.h5", "--out", ".", "--force"), "holds files pdesym did not write"),
    (("discover", "good.h5", "--out", "runs/new", "--resume"), "nothing to resume"),
    (("discover", "good.h5", "--method", "neural", "--out", "runs/new", "--resume"), "Nothing to resume in runs/new"),
    # report
    (("report", "runs/missing"), "No run folder"),
    (("report", "plainfile"), "not a valid symmetries JSON file"),
    (("report", "broken.json"), "not a valid"),
    (("report", "runs/done", "--format", "pdf"), "Unknown format 'pdf'"),
    (("report", "runs/done", "--format", "md", "--out", "kdv.json"), "already exists; pass --force"),
    # images
    (("images", "discover", "--device", "tpu"), "Unknown device 'tpu'"),
    (("images", "semola", "--epochs", "0"), "must be positive"),
    (("images", "discover", "--out", "plainfile"), "exists; pass --force"),
    (("images", "discover", "--data", "missing.npz"), "neither a built-in set"),
    (("images", "discover", "--data", "text.h5"), "unknown format"),
    (("images", "semola", "--data", "nope"), "neither a built-in set"),
]


def _fingerprint(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_sentence_and_changes_no_file(cli, files, tmp_path, monkeypatch, args, message):
    work = tmp_path / "work"
    shutil.copytree(files, work)
    monkeypatch.chdir(work)
    before = _fingerprint(work)
    res = cli(*args)
    text = " ".join(res.output.split())
    assert res.exit_code not in (0, None), text
    assert message in text, text
    assert "Traceback" not in res.output and "Internal error" not in res.output, text
    assert text.count("Error:") == 1, text
    after = _fingerprint(work)
    changed = {name for name in before if after.get(name) != before[name]}
    assert not changed, f"files changed: {changed}"
    assert set(after) == set(before), f"files left behind: {set(after) - set(before)}"


def test_debug_shows_the_traceback(cli, files, tmp_path, monkeypatch):
    monkeypatch.chdir(files)
    res = cli("--debug", "info", "text.h5")
    assert res.exit_code != 0 and "Traceback" in res.output


def _print_matrix() -> None:
    """Print the matrix as a Markdown table of what the user sees (docs/errors.md is this output)."""
    import tempfile

    from typer.testing import CliRunner

    from pdesym.cli.app import app

    class _Factory:
        def mktemp(self, name: str) -> Path:
            return Path(tempfile.mkdtemp(prefix=name))

    files_dir = files.__wrapped__(_Factory())
    print("| command | exit | what the user sees |\n|---|---|---|")
    for args, _ in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "work"
            shutil.copytree(files_dir, work)
            here = Path.cwd()
            os.chdir(work)
            try:
                res = CliRunner().invoke(app, list(args))
            finally:
                os.chdir(here)
        line = " ".join(res.output.split()).replace("|", "\\|")
        line = line[line.index("Error:"):] if "Error:" in line else line
        print(f"| `pdesym {' '.join(args)}` | {res.exit_code} | {line} |")


if __name__ == "__main__":  # python tests/test_bad_input_matrix.py > docs/errors.md
    _print_matrix()
