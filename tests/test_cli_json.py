"""``pdesym --json``: every command prints exactly one JSON document on stdout (its result, or
``{"error": ...}`` with exit code != 0), and ``pdesym report`` renders PDE and image runs alike."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pdesym.datasets import generate_dataset, read_dataset
from pdesym.report import load_run, to_latex, to_markdown
from pdesym.symbolic import find_symmetries

PNG = b"\x89PNG\r\n\x1a\n"
SMALL = ["--trajectories", "2", "--snapshots", "20", "--points", "1500"]


def one_document(result) -> dict:
    """The command's stdout is one JSON document and nothing else (no rich markup, no bars)."""
    text = result.stdout
    assert text.count("\n") == 1 and text.endswith("\n"), text
    doc = json.loads(text)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("json-inputs")
    generate_dataset("kdv", root / "kdv.h5", n_train=3, n_valid=1, n_test=1, seed=0, nx=64, nt_out=10, t_end=2.0)
    find_symmetries("kdv").save(root / "kdv.json")
    return root


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_generate_info_equations(cli, tmp_path):
    out = tmp_path / "heat.h5"
    r = cli("--json", "generate", "heat", "--n-train", "2", "--n-valid", "1", "--n-test", "1", "--nx", "32",
            "--nt-out", "6", "--t-end", "0.5", "--out", out)
    assert r.exit_code == 0, r.output
    doc = one_document(r)
    assert doc["file"] == str(out) and doc["trajectories"] == 4 and doc["timings"]["total"] > 0
    with read_dataset(out) as ds:  # the shapes in the document are the file's
        assert doc["splits"] == {name: [s.n, s.nt, s.nx] for name, s in ds.splits.items()}
    assert doc["splits"]["train"] == [2, 6, 32]
    r = cli("--json", "info", out)
    assert r.exit_code == 0, r.output
    info = one_document(r)
    assert info["splits"]["valid"]["shape"] == [1, 6, 32] and info["failed"] == 0
    assert {c["name"] for c in info["checks"]} and info["provenance"]["seed"] == 0
    from pdesym import __version__

    assert one_document(cli("--json", "--version")) == {"version": __version__}
    r = cli("--json", "equations")
    presets = one_document(r)["presets"]
    from pdesym.solvers import SOLVER_PRESETS

    assert [p["name"] for p in presets] == list(SOLVER_PRESETS)
    assert next(p for p in presets if p["name"] == "kdv")["equation"] == SOLVER_PRESETS["kdv"].equation.text


def test_symmetries_json_is_the_format_json_document(cli):
    a = one_document(cli("--json", "symmetries", "kdv"))
    b = json.loads(cli("symmetries", "kdv", "--format", "json").stdout)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    exact = find_symmetries("kdv")
    assert a["dimension"] == 4 and [g["text"] for g in a["generators"]] == [g.field.text() for g in exact.generators]
    assert all(g["verified"] is True for g in a["generators"])


def test_augment_counts(cli, inputs, tmp_path):
    out = tmp_path / "aug.h5"
    r = cli("--json", "augment", inputs / "kdv.h5", "-s", inputs / "kdv.json", "-n", "2", "--scale", "0.1",
            "-g", "X1", "-o", out)
    assert r.exit_code == 0, r.output
    doc = one_document(r)
    with read_dataset(out) as ds:
        assert doc["shape"] == [ds["train"].n, ds["train"].nt, ds["train"].nx]
    assert doc["file"] == str(out) and doc["source_trajectories"] == 3 and doc["trajectories"] == 6
    assert [g["index"] for g in doc["generators"]] == ["X1"]


def test_discover_then_report_every_format_and_plots(cli, workdir):
    r = cli("--json", "discover", "kdv", *SMALL, "--out", "runs/kdv")
    assert r.exit_code == 0, r.output
    doc = one_document(r)
    exact = find_symmetries("kdv")
    assert [g["text"] for g in doc["generators"]] == [g.field.text() for g in exact.generators]
    assert all(g["verified"] is True for g in doc["generators"]) and doc["dimension"] == 4
    assert doc["cosines"]["min"] > 0.9999 and doc["timings"]["total"] > 0
    run = Path(doc["run_folder"])
    saved = load_run(run)
    assert {k: v for k, v in doc.items() if k not in ("run_folder", "files")} == saved
    assert str(run / "symmetries.json") in doc["files"]
    # --format json is the same document
    again = json.loads(cli("discover", "kdv", *SMALL, "--out", "runs/kdv2", "--format", "json").stdout)
    assert again["generators"] == doc["generators"] and again["run_folder"] == "runs/kdv2"
    _check_report(cli, run, saved, workdir, ("fields.png", "cosines.png", "generator-validity.png", "spectrum.png"))


def _check_report(cli, run: Path, saved: dict, workdir: Path, plots: tuple[str, ...]) -> None:
    """report --json / md / latex / table / --plots of one run folder."""
    r = cli("--json", "report", run)
    assert r.exit_code == 0 and one_document(r) == saved
    assert json.loads(cli("report", run, "--format", "json").stdout) == saved
    assert cli("report", run, "--format", "md").stdout == to_markdown(saved)
    tex = cli("report", run, "--format", "latex").stdout
    assert tex == to_latex(saved) and tex.count(r"\begin{tabular}") >= 1
    assert "∂" not in tex and "·" not in tex  # compiles without unicode packages
    r = cli("report", run, "--format", "table")
    assert r.exit_code == 0 and "X1" in r.stdout
    r = cli("--json", "report", run, "--plots", workdir / "plots")
    assert r.exit_code == 0, r.output
    written = one_document(r)["plots"]
    assert [Path(p).name for p in written] == list(plots)
    assert all(Path(p).read_bytes().startswith(PNG) for p in written)
    before = Path(written[0]).read_bytes()
    r = cli("--json", "report", run, "--plots", workdir / "plots")  # never over existing plots without --force
    assert r.exit_code == 1 and "already exists" in one_document(r)["error"]
    assert Path(written[0]).read_bytes() == before
    assert cli("report", run, "--plots", workdir / "plots", "--force").exit_code == 0


@pytest.fixture(scope="module")
def few_digits(tmp_path_factory) -> Path:
    from pdesym.images.data import load_digits

    data = load_digits()
    path = tmp_path_factory.mktemp("digits") / "few.npz"
    np.savez(path, images=data.images[:60, 0].numpy(), labels=data.labels[:60].numpy())
    return path


def test_images_discover_json_and_report(cli, few_digits, workdir):
    r = cli("--json", "images", "discover", "--data", few_digits, "--k", "2", "--steps", "5", "--epochs", "1",
            "--out", "runs/img")
    assert r.exit_code == 0, r.output
    doc = one_document(r)
    saved = load_run(doc["run_folder"])
    assert {k: v for k, v in doc.items() if k not in ("run_folder", "files")} == saved
    assert doc["domain"] == "image" and len(doc["generators"]) == 2 and "span" in doc
    _check_report(cli, Path(doc["run_folder"]), saved, workdir, ("fields.png", "cosines.png",
                                                                "generator-validity.png"))


def test_images_semola_json_and_report(cli, few_digits, workdir):
    r = cli("--json", "images", "semola", "--data", few_digits, "--epochs", "1", "--no-baselines", "--tta", "0",
            "--out", "runs/sem")
    assert r.exit_code == 0, r.output
    doc = one_document(r)
    saved = load_run(doc["run_folder"])
    assert doc["method"] == "semola" and set(doc["accuracy"]) == {"learned"}
    _check_report(cli, Path(doc["run_folder"]), saved, workdir, ("fields.png", "cosines.png", "accuracy.png")
                  if saved.get("cosines") else ("fields.png", "accuracy.png"))


def test_benchmark_fno_results_table(cli, workdir):
    r = cli("--json", "benchmark", "fno", "--pde", "burgers", "--n-train", "2", "--aug", "none", "--seeds", "1",
            "--steps", "3", "--device", "cpu", "--out", "runs/fno")
    assert r.exit_code == 0, r.output
    doc = one_document(r)
    results = json.loads((workdir / "runs" / "fno" / "results.json").read_text())
    assert doc["table"] == json.loads(json.dumps(results["table"])) and len(doc["table"]) == 1
    assert doc["table"][0]["pde"] == "burgers" and doc["table"][0]["n_train"] == 2
    assert all(Path(p).exists() for p in doc["files"])


@pytest.mark.parametrize("args, words, code", [
    (("generate", "nope"), "Unknown preset 'nope'", 1),
    (("generate", "kdv", "--n-train", "many"), "--n-train", 2),  # a usage error that click finds
    (("symmetries", "kdv", "--degree", "0"), "degree must be", 1),
    (("report", "missing"), "No run folder", 1),
    (("info", "missing.h5"), "missing.h5", 1),
    (("benchmark", "fno", "--pde", "heat"), "Unknown benchmark PDE 'heat'", 1),
    (("images", "semola", "--k", "0", "--out", "never"), "", 1),
    (("frobnicate",), "frobnicate", 2),
    (("images",), "Missing command after 'pdesym images'", 2),  # a bare group: no help text on stdout
    ((), "Missing command", 2),
])
def test_errors_are_one_json_object(cli, workdir, args, words, code):
    r = cli("--json", *args)
    assert r.exit_code == code
    doc = one_document(r)
    assert list(doc) == ["error"] and words in doc["error"] and "Traceback" not in r.output
    assert not (workdir / "never").exists()


# ----------------------------------------------------------------------------- validation before progress
@pytest.mark.parametrize("args, words, absent", [
    (("augment", "{kdv}", "-s", "{burgers}", "-n", "1", "--scale", "0.1", "-o", "out.h5"),
     "is for", "Augmenting"),
    (("augment", "{kdv}", "-s", "{sym}", "-n", "1", "--scale", "0.1", "-g", "X9", "-o", "out.h5"),
     "X9", "Augmenting"),
    (("benchmark", "fno", "--pde", "burgers", "--scale-exact", "X1=abc", "--out", "runs/b"), "--scale-exact",
     "Training"),
    (("benchmark", "fno", "--pde", "burgers", "--aug", "none,magic", "--out", "runs/b"), "magic", "Training"),
    (("discover", "nope.h5"), "neither a preset", "•"),
    (("discover", "kdv", "--equation", "u_t = +* u"), "Cannot parse", "•"),
    (("symmetries", "u_t = +* u"), "Cannot parse", "Solving"),
    (("images", "discover", "--data", "missing.npz", "--out", "runs/i"), "missing.npz", "fields"),
])
def test_bad_input_is_reported_before_any_progress_display(cli, inputs, workdir, args, words, absent):
    find_symmetries("burgers").save(workdir / "burgers.json")
    args = [a.format(kdv=inputs / "kdv.h5", sym=inputs / "kdv.json", burgers=workdir / "burgers.json") for a in args]
    r = cli(*args)
    assert r.exit_code == 1 and words in r.stderr, r.output
    assert absent not in r.output and r.stderr.count("\n") <= 2  # the sentence, nothing above it
    assert not (workdir / "out.h5").exists() and not (workdir / "runs").exists()


# ----------------------------------------------------------------------------- report pieces
def test_plotted_fields_are_the_exact_generators():
    """What fields.png draws is the document's closed forms evaluated, parameters substituted."""
    from pdesym.report import _field_functions, run_document

    doc = run_document(find_symmetries("burgers"))
    funcs = _field_functions(doc, ("xi", "tau", "phi"), ("x", "t", "u"))
    x, t, u = np.array([0.3, 2.0]), np.array([1.5, 0.5]), np.array([-0.7, 0.2])
    by_text = {g["text"]: f for g, f in zip(doc["generators"], funcs)}
    proj = by_text["tx∂x + t²∂t + (x − tu)∂u"]
    assert np.allclose([np.broadcast_to(f(x, t, u), x.shape) for f in proj], [t * x, t ** 2, x - t * u])
    scale = by_text["x∂x + 2t∂t − u∂u"]
    assert np.allclose([np.broadcast_to(f(x, t, u), x.shape) for f in scale], [x, 2 * t, -u])
    heat = run_document(find_symmetries("u_t = nu*u_xx"))  # ν symbolic: its generators cannot be drawn ...
    funcs = _field_functions(heat, ("xi", "tau", "phi"), ("x", "t", "u"))
    assert dict(zip((g["text"] for g in heat["generators"]), funcs))["2νt∂x − xu∂u"] is None
    heat["equation"]["params"] = {"nu": "1/100"}  # ... until the document gives its value
    funcs = _field_functions(heat, ("xi", "tau", "phi"), ("x", "t", "u"))
    boost = dict(zip((g["text"] for g in heat["generators"]), funcs))["2νt∂x − xu∂u"]
    assert np.allclose([np.broadcast_to(f(x, t, u), x.shape) for f in boost], [0.02 * t, 0 * x, -x * u])


def test_latex_text_escapes_once_and_spells_out_unicode():
    from pdesym.report import _latex_escape

    assert _latex_escape(r"a\b {c} 50% x_1 ∂x − y") == r"a\textbackslash{}b \{c\} 50\% x\_1 $\partial$x - y"
