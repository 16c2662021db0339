"""``pdesym discover``: end to end against the exact algebra, bad input, resumable neural runs."""

import json
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import torch

from pdesym.discovery.pipeline import DiscoverOptions, discover
from pdesym.report import load_run
from pdesym.symbolic import find_symmetries

SMALL = ["--trajectories", "2", "--snapshots", "20", "--points", "1500"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh working directory: the default datasets are cached under its data/."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_discover_kdv_nullspace_writes_a_complete_run_folder(cli, workdir):
    r = cli("discover", "kdv", "--method", "nullspace", *SMALL, "--out", "runs/kdv")
    assert r.exit_code == 0, r.output
    run = workdir / "runs" / "kdv"
    assert {p.name for p in run.iterdir()} == {"config.json", "symmetries.json", "report.md", "fields.png",
                                              "validity.png"}
    assert (workdir / "data" / "kdv-discover.h5").is_file()
    doc = load_run(run)
    exact = find_symmetries("kdv")
    assert [g["text"] for g in doc["generators"]] == [g.field.text() for g in exact.generators]
    assert all(g["verified"] is True and g["approximate"] is False for g in doc["generators"])
    assert doc["cosines"]["min"] > 0.9999 and doc["discovery"]["dimension"] == 4
    assert max(g["validity"] for g in doc["generators"]) < 1e-20
    assert "x∂x + 3t∂t − 2u∂u" in r.stdout and "min 1.0000" in r.stdout
    # the report re-renders what was written
    r = cli("report", run, "--format", "md")
    assert r.exit_code == 0 and r.stdout == (run / "report.md").read_text()
    # a second run reuses the cached dataset and refuses to overwrite the folder
    before = (run / "symmetries.json").read_bytes()
    r = cli("discover", "kdv", "--method", "nullspace", *SMALL, "--out", "runs/kdv")
    assert r.exit_code == 1 and "already holds a finished run" in r.stderr and "--force" in r.stderr
    assert (run / "symmetries.json").read_bytes() == before


def _write_file(path, u, *, equation=True):
    _, nt, nx = u.shape
    with h5py.File(path, "w") as f:
        if equation:
            f.attrs["equation_json"] = json.dumps({"name": "kdv", "text": "u_t + u*u_x + u_xxx = 0", "params": {}})
        g = f.create_group("train")
        g.create_dataset(f"pde_{nt}-{nx}", data=u)
        g.create_dataset("x", data=np.linspace(0, 128, nx, endpoint=False))
        g.create_dataset("t", data=np.linspace(0, 10, nt))


@pytest.mark.parametrize("case, message", [
    ("no-equation", "does not record its equation; pass it with --equation"),
    ("nan", "NaN"),
    ("shape", "has shape"),
    ("degree", "--degree must be a positive integer"),
    ("method", "Unknown method 'magic'"),
    ("generators", "--generators must be 'auto' or a positive integer"),
    ("missing", "neither a preset"),
    ("resume-nullspace", "nothing to resume"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(cli, workdir, case, message):
    u = np.sin(np.linspace(0, 6, 64))[None, None, :] * np.ones((2, 10, 1))
    path = workdir / "d.h5"
    args = ["discover", str(path), "--out", "runs/bad"]
    if case == "no-equation":
        _write_file(path, u, equation=False)
    elif case == "nan":
        u[1, 3, 5] = np.nan
        _write_file(path, u)
    elif case == "shape":
        _write_file(path, u)
        with h5py.File(path, "a") as f:
            del f["train/x"]
            f["train"].create_dataset("x", data=np.zeros(7))
    elif case == "degree":
        args = ["discover", "kdv", "--degree", "0", "--out", "runs/bad"]
    elif case == "method":
        args = ["discover", "kdv", "--method", "magic", "--out", "runs/bad"]
    elif case == "generators":
        args = ["discover", "kdv", "--generators", "many", "--out", "runs/bad"]
    elif case == "missing":
        args = ["discover", "nosuchfile.h5", "--out", "runs/bad"]
    elif case == "resume-nullspace":
        args = ["discover", "kdv", "--resume", "--out", "runs/bad"]
    r = cli(*args)
    assert r.exit_code != 0
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.output and len(r.stderr.strip().splitlines()) <= 3
    assert not (workdir / "runs").exists()
    assert not (workdir / "data").exists()


class _Stop(Exception):
    pass


def _neural_options(**kw):
    base = dict(method="neural", generators=3, steps=40, batch=256, points=600, trajectories=2, snapshots=20,
                checkpoint_every=20, degree=1)
    return DiscoverOptions(**{**base, **kw})


def test_the_lbfgs_polish_lowers_the_span_loss(workdir):
    """Same seed, same Adam steps: with the polish every validity eigenvalue of the learned span is
    lower (the loss is their log-sum), and the history goes on past the Adam steps."""
    plain = discover("kdv", options=_neural_options(polish=0), plots=False).neural
    polished = discover("kdv", options=_neural_options(polish=30), plots=False).neural
    assert plain.polished == 0 and 0 < polished.polished <= 30
    assert max(plain.history_steps) == 40 and max(polished.history_steps) == 40 + polished.polished
    assert float(torch.log(polished.spectrum).sum()) < float(torch.log(plain.spectrum).sum()) - 1.0
    assert bool((polished.spectrum <= plain.spectrum).all()), (plain.spectrum, polished.spectrum)


def test_interrupted_neural_run_resumes_to_the_same_result(workdir):
    opts = _neural_options()
    whole = discover("kdv", options=opts, out="runs/whole", plots=False)

    def stop_at_25(p):
        if p.step >= 25:
            raise _Stop

    with pytest.raises(_Stop):
        discover("kdv", options=opts, out="runs/cut", progress=SimpleNamespace(neural=stop_at_25), plots=False)
    assert not (workdir / "runs" / "cut" / "symmetries.json").exists()
    assert torch.load(workdir / "runs" / "cut" / "checkpoint.pt", weights_only=False)["step"] == 20
    resumed = discover("kdv", options=opts, out="runs/cut", resume=True, plots=False)
    assert resumed.neural.resumed_from == 20
    for a, b in zip(whole.neural.model.state_dict().values(), resumed.neural.model.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(whole.neural.spectrum, resumed.neural.spectrum)
    assert whole.neural.history_spectra == resumed.neural.history_spectra

    def strip(doc):
        d = json.loads(json.dumps(doc))
        d.pop("timings"), d.pop("seconds")
        d["discovery"].pop("seconds", None), d["discovery"].pop("resumed_from", None)
        return d

    a, b = strip(whole.document), strip(resumed.document)
    # the fit's least-squares misfit goes through LAPACK, whose last bit can depend on buffer
    # alignment; everything the training produced is compared bit for bit above and below
    assert a["discovery"].pop("fit_misfit") == pytest.approx(b["discovery"].pop("fit_misfit"), rel=1e-12)
    assert {k: v for k, v in a["discovery"].items() if b["discovery"].get(k) != v} == {}
    assert a == b

    # interrupted during the L-BFGS polish: the checkpoint is the end of the Adam steps, and the
    # polish, deterministic, is run again from there to the same bytes
    def stop_in_polish(p):
        if p.phase == "polish":
            raise _Stop

    with pytest.raises(_Stop):
        discover("kdv", options=opts, out="runs/cut2", progress=SimpleNamespace(neural=stop_in_polish), plots=False)
    state = torch.load(workdir / "runs" / "cut2" / "checkpoint.pt", weights_only=False)
    assert (state["step"], state["polished"]) == (opts.steps, 0)
    again = discover("kdv", options=opts, out="runs/cut2", resume=True, plots=False)
    assert again.neural.resumed_from == opts.steps and again.neural.polished == whole.neural.polished > 0
    for a_, b_ in zip(whole.neural.model.state_dict().values(), again.neural.model.state_dict().values()):
        assert torch.equal(a_, b_)
    assert whole.neural.history_spectra == again.neural.history_spectra
    # resuming with other options is refused, the run is left as it is
    from pdesym.errors import PdesymError

    with pytest.raises(PdesymError, match="other options"):
        discover("kdv", options=_neural_options(steps=50), out="runs/cut", resume=True, plots=False)


@pytest.mark.slow
@pytest.mark.parametrize("name, k", [("kdv", 4), ("ks", 3)])
def test_neural_generators_find_the_algebra_and_fit_it_exactly(workdir, name, k):
    # the CLI defaults (1200 Adam steps, 60 L-BFGS polish iterations; ~2-2.5 min each on 2 cores).
    # Before the polish, KdV at 1600 steps chose K = 3: the Galilean boost was stuck at validity
    # 5e-8, under the best non-symmetry's 3e-7 by less than the gap between it and the rest
    result = discover(name, options=DiscoverOptions(method="neural"), out="runs/neural")
    doc = result.document
    d = doc["discovery"]
    assert d["neural_dimension"] == k and d["accepted"], d   # K chosen automatically
    assert d["trained"] == 6
    # K = d_max = 4 on KdV: the run says that a larger algebra would need a larger --max-generators
    assert any("largest K considered" in m for m in d["messages"]) == (k == 4), d["messages"]
    assert min(doc["cosines"]["learned"]) >= 0.99, doc["cosines"]
    exact = find_symmetries(name)
    assert [g["text"] for g in doc["generators"]] == [g.field.text() for g in exact.generators]
    assert all(g["verified"] and g["source"] == "fit" for g in doc["generators"])


@pytest.mark.slow
def test_neural_generators_on_burgers_learn_the_affine_subalgebra(workdir):
    """Burgers' algebra is 5-dimensional. The neural path (room for 5) learns the 4 affine generators to
    cosines >= 0.99; the projective t²∂t + tx∂x + (x − tu)∂u is not learned (its direction stays at
    validity ~2e-2, cosine ~0.3: issue 5), so no clear gap is accepted and the run reports the
    null-space generators of the same data instead — all 5, verified."""
    result = discover("burgers", options=DiscoverOptions(method="neural", max_generators=5), out="runs/neural",
                      plots=False)
    doc = result.document
    learned = sorted(doc["cosines"]["learned"], reverse=True)
    assert len(learned) == 5 and min(learned[:4]) >= 0.99, learned
    exact = [g.field.text() for g in find_symmetries("burgers").generators]
    assert [g["text"] for g in doc["generators"]] == exact and all(g["verified"] for g in doc["generators"])


def test_data_that_do_not_solve_the_given_equation_are_flagged(workdir):
    """The generators are tested against the equation given; data of another equation (here KdV
    data said to be heat-equation data) get a warning with the misfit, solutions do not."""
    from pdesym.discovery.pipeline import load_samples
    from pdesym.jets import equation_misfit

    opts = DiscoverOptions(trajectories=2, snapshots=20, degree=1)
    right = discover("kdv", options=opts, plots=False).document["discovery"]
    wrong = discover("kdv", equation="u_t = u_xx", options=opts, plots=False).document["discovery"]
    assert right["equation_misfit"] < 1e-3 and not any("look like" in m for m in right["messages"])
    assert wrong["equation_misfit"] > 0.8 and any("look like smooth solutions of u_t = u_xx" in m
                                                  for m in wrong["messages"]), wrong["messages"]
    # the function itself: KdV data solve KdV, not the heat equation
    sample = load_samples("kdv", None, opts)
    assert equation_misfit(sample.u, sample.x, sample.t, "kdv") < 1e-3
    assert equation_misfit(sample.u, sample.x, sample.t, "heat") > 0.8
