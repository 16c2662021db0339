r"""``pdesym discover`` as a library call: data -> jets -> null space and/or neural generators ->
closed forms -> comparison with the exact algebra -> a run folder with report, JSON and plots.

:func:`discover` takes a preset name (a small default dataset is generated once and cached under
``data/<preset>-discover.h5``, keyed by its settings) or a dataset file, and an
:class:`DiscoverOptions`. Every input is checked before anything is written; the run folder is
only touched once the inputs are known to be usable, and never without ``force``/``resume`` when
it exists (:func:`pdesym.runs.prepare_run_folder`).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from pdesym.distributed import barrier, current_context, environment_world, init_distributed
from pdesym.equations import EQUATION_PRESETS, Equation, get_equation
from pdesym.errors import PdesymError, check_choice

__all__ = ["METHODS", "VALIDITY_KINDS", "PAPER_FLOW", "DiscoverOptions", "DataSample", "Discovery", "default_dataset",
           "load_samples", "snap_field", "discover"]

#: ``--method``: what finds the generators.
METHODS = {
    "nullspace": "null space of the linear validity system over a monomial dictionary (fast, exact)",
    "neural": "K MLP generators trained on the validity, then fitted to closed forms",
    "both": "null space first, then neural generators (which can find what lies outside the dictionary)",
}
#: ``--validity``: how validity is scored for the neural generators.
VALIDITY_KINDS = {
    "infinitesimal": "characteristic residual on jets (linear in the field)",
    "flow": "finite flows exp(εV) of data patches, PDE residual of the result (Ko et al. 2024); reported per generator",
}
#: Above this :func:`pdesym.jets.equation_misfit` the run warns that the data do not solve the
#: equation. Measured on the default datasets: solutions <= 0.011 against their own equation;
#: KdV data against KS 0.46, against Burgers 0.26 (smooth KdV data nearly solve Burgers: not
#: flagged), every other pair 0.84-1; KdV data with 1 % noise 0.69-1 against KdV (flagged: the
#: message names noise as a cause).
MAX_EQUATION_MISFIT = 0.3
#: Where the default datasets of presets are cached (relative to the working directory).
DATA_DIR = Path("data")


@dataclass(frozen=True)
class DiscoverOptions:
    """Options of a discovery run (CLI flags of ``pdesym discover``)."""

    method: str = "nullspace"
    degree: int = 3
    basis: str = ""
    generators: int | None = None
    max_generators: int = 4
    validity: str = "infinitesimal"
    steps: int = 1200
    polish: int = 60
    batch: int = 1024
    device: str = "auto"
    seed: int = 0
    trajectories: int = 8
    snapshots: int = 80
    nx: int | None = None
    points: int = 4096
    null_points: int = 3000
    checkpoint_every: int = 100
    patches: int = 64
    patch_size: tuple[int, int] = (9, 13)
    flow_stencil: tuple[int, int] | None = None
    flow_points: int = 1
    flow_steps: int = 8
    flow_method: str = "rk4"
    flow_eps: float = 0.05
    flow_degree_x: int | None = None
    flow_degree_t: int = 3
    flow_reduce: str = "median"

    def check(self) -> "DiscoverOptions":
        """Validate every option (one sentence each); returns self."""
        check_choice("method", self.method, METHODS)
        check_choice("validity", self.validity, VALIDITY_KINDS)
        for name in ("degree", "steps", "batch", "trajectories", "snapshots", "points", "null_points",
                     "checkpoint_every", "max_generators"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise PdesymError(f"--{name.replace('_', '-')} must be a positive integer, got {v!r}.")
        if self.degree > 6:
            raise PdesymError(f"--degree must be from 1 to 6, got {self.degree}.")
        if isinstance(self.polish, bool) or not isinstance(self.polish, int) or self.polish < 0:
            raise PdesymError(f"--polish must be an integer >= 0 (L-BFGS iterations; 0 = none), got {self.polish!r}.")
        if self.generators is not None and (isinstance(self.generators, bool) or not isinstance(self.generators, int)
                                            or self.generators < 1):
            raise PdesymError(f"--generators must be 'auto' or a positive integer, got {self.generators!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise PdesymError(f"--seed must be an integer >= 0, got {self.seed!r}.")
        if self.snapshots < 5:
            raise PdesymError(f"--snapshots must be at least 5, got {self.snapshots}.")
        if self.nx is not None and (self.nx < 16 or self.nx % 2):
            raise PdesymError(f"--nx must be an even integer >= 16, got {self.nx}.")
        from pdesym.flows import FLOW_METHODS
        from pdesym.validity import FLOW_REDUCTIONS, fit_stencils

        check_choice("flow method", self.flow_method, FLOW_METHODS)
        check_choice("flow reduction", self.flow_reduce, FLOW_REDUCTIONS)
        for name in ("patches", "flow_points", "flow_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise PdesymError(f"--{name.replace('_', '-')} must be a positive integer, got {v!r}.")
        if not (isinstance(self.flow_eps, (int, float)) and 0 < self.flow_eps <= 1):
            raise PdesymError(f"--flow-eps must be in (0, 1] (a fraction of the data scale), got {self.flow_eps!r}.")
        if self.flow_degree_x is not None and not (isinstance(self.flow_degree_x, int) and self.flow_degree_x >= 1):
            raise PdesymError(f"--flow-degree-x must be a positive integer, got {self.flow_degree_x!r}.")
        if not (isinstance(self.flow_degree_t, int) and self.flow_degree_t >= 1):
            raise PdesymError(f"--flow-degree-t must be a positive integer, got {self.flow_degree_t!r}.")
        if len(tuple(self.patch_size)) != 2 or min(self.patch_size) < 3:
            raise PdesymError(f"--patch-size must be two sizes >= 3 (snapshots × points), got {self.patch_size!r}.")
        fit_stencils(tuple(self.patch_size), None if self.flow_stencil is None else tuple(self.flow_stencil))
        from pdesym.devices import resolve_device

        resolve_device(self.device)
        return self


#: The finite-flow settings of Ko, Kim & Lee (NeurIPS 2024), as :class:`DiscoverOptions` fields:
#: 64×64 (t, x) patches, flows exp(εV) integrated with fixed-step RK4 (torchdiffeq), MLP
#: generators (``method="neural"``). Derivatives of the moved samples are re-estimated by local
#: polynomial fits on 9×13 interior stencils (64 per patch) with degrees (n + 4, 3), scored by the
#: median over points; 400 snapshots so the data are resolved in t (the 80-snapshot default leaves
#: KS unresolved: fit error floor ~0.2–0.4 whatever the stencil, ~1e-4 at 400).
PAPER_FLOW: dict[str, Any] = {
    "method": "neural", "validity": "flow", "patches": 16, "patch_size": (64, 64), "flow_stencil": (9, 13),
    "flow_points": 64, "flow_steps": 8, "flow_method": "rk4", "flow_reduce": "median", "snapshots": 400,
}


@dataclass
class DataSample:
    """The trajectories a run uses: u (n, nt, nx) and grids, the equation and where they came from."""

    equation: Equation
    u: torch.Tensor
    x: torch.Tensor
    t: torch.Tensor
    source: str
    notes: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        n, nt, nx = self.u.shape
        box = {"x": [float(self.x.min()), float(self.x.max())], "t": [float(self.t.min()), float(self.t.max())],
               "u": [float(self.u.min()), float(self.u.max())]}
        return {"source": self.source, "trajectories": n, "nt": nt, "nx": nx, "box": box}


# --------------------------------------------------------------------------- data
def default_dataset(preset: str, options: DiscoverOptions, *, progress: Callable[[int, int], None] | None = None
                    ) -> Path:
    """``data/<preset>-discover.h5``: ``options.trajectories`` trajectories of the preset with
    ``options.snapshots`` snapshots, generated once and regenerated only when those settings change."""
    from pdesym.datasets import generate_dataset, read_dataset

    path = DATA_DIR / f"{preset}-discover.h5"
    key = {"preset": preset, "trajectories": options.trajectories, "snapshots": options.snapshots,
           "nx": options.nx, "seed": options.seed}
    if path.is_file():
        try:
            with read_dataset(path, check_finite=False) as ds:
                got = ds.attrs.get("discover_key")
                if got == key:
                    return path
        except PdesymError:
            pass  # a damaged cache is simply regenerated
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # generated under a name of this process, keyed, then renamed: two `pdesym discover kdv` started
    # together in one folder each write their own file and the later rename wins (the same bytes),
    # instead of one of them failing on the HDF5 lock of a file the other is still writing.
    # Generated on the CPU whatever --device says: the cached file is then the same on every machine.
    tmp = DATA_DIR / f".{preset}-discover.{os.getpid()}.h5"
    try:
        generate_dataset(preset, tmp, n_train=options.trajectories, n_valid=0, n_test=0, seed=options.seed,
                         nx=options.nx, nt_out=options.snapshots, device="cpu", force=True, progress=progress,
                         command=f"pdesym discover {preset} (default dataset)")
        import h5py

        with h5py.File(tmp, "a") as f:  # the cache key, so that other settings regenerate the file
            f.attrs["discover_key"] = json.dumps(key)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_samples(source: str | Path, equation: str | None, options: DiscoverOptions, *,
                 progress: Callable[[int, int], None] | None = None) -> DataSample:
    """Trajectories from a preset (default dataset) or a dataset file, and the equation to use.

    The equation is ``equation`` when given, else the one the file records; a file without one
    and no ``equation`` is refused. At most ``options.trajectories`` trajectories are used.
    """
    from pdesym.datasets import read_dataset

    src = str(source)
    path = Path(src)
    notes: list[str] = []
    if not path.exists() and src.strip().lower() in EQUATION_PRESETS:
        path = default_dataset(src.strip().lower(), options, progress=progress)
    elif not path.exists():
        raise PdesymError(f"{src!r} is neither a preset ({', '.join(EQUATION_PRESETS)}) nor an existing dataset file.")
    with read_dataset(path) as ds:
        eq = ds.equation
        if equation:
            given = get_equation(equation)
            if eq is not None and given.delta_numeric != eq.delta_numeric:
                notes.append(f"The file records {eq.text!r}; using --equation {given.text!r} instead.")
            eq = given
        if eq is None:
            raise PdesymError(f"{path} does not record its equation; pass it with --equation, e.g. "
                              "--equation 'u_t + u*u_x + u_xxx = 0'.")
        split = ds["train"] if "train" in ds.splits else next(iter(ds.splits.values()))
        n = min(split.n, options.trajectories)
        u = torch.as_tensor(np.asarray(split.u[:n]), dtype=torch.float64)
        x = torch.as_tensor(split.x if split.x.ndim == 1 else split.x[:n], dtype=torch.float64)
        t = torch.as_tensor(split.t if split.t.ndim == 1 else split.t[:n], dtype=torch.float64)
    if not eq.is_evolution:
        raise PdesymError(f"Discovery from data needs an evolution equation u_t = F(x, t, u, u_x, ...); "
                          f"{eq.text!r} is solved for {eq.leading}.")
    if eq.free_parameters:
        raise PdesymError(f"Parameter {', '.join(eq.free_parameters)} of {eq.text!r} has no value; give it in "
                          "--equation, e.g. 'u_t = nu*u_xx, nu=0.01'.")
    if u.shape[1] < 5 or u.shape[2] < 16:
        raise PdesymError(f"The data have {u.shape[1]} snapshots of {u.shape[2]} points; discovery needs at least "
                          "5 snapshots of 16 points.")
    return DataSample(eq, u, x, t, str(path), notes)


# --------------------------------------------------------------------------- result
@dataclass
class Discovery:
    """What :func:`discover` returns: the JSON document, the run folder and the raw results."""

    document: dict
    folder: Path | None
    nullspace: Any = None
    neural: Any = None
    fields: list = field(default_factory=list)


def _stage(progress, name: str) -> None:
    if progress is not None and hasattr(progress, "stage"):
        progress.stage(name)


def _exact_reference(eq: Equation, notes: list[str]):
    from pdesym.symbolic import find_symmetries

    try:
        return find_symmetries(eq)
    except PdesymError as exc:
        notes.append(f"No exact algebra to compare with ({exc})")
        return None


def _scaled_cosines(fields, reference, pts) -> list[float]:
    from pdesym.symbolic.fit import span_cosines

    if not fields or not reference:
        return []
    return [float(c) for c in span_cosines(fields, reference, pts[:, 0], pts[:, 1], pts[:, 2])]


def _neural_run(sample: DataSample, jets, options: DiscoverOptions, max_generators: int, folder: Path | None,
                resume: bool, progress) -> Any:
    """Train the MLP generators on the jets (see :mod:`pdesym.discovery.neural`)."""
    from pdesym.discovery.neural import NeuralSettings, mlp_residual, train_generators
    from pdesym.generators import MLPVectorFields, smoothness_penalty
    from pdesym.runs import CHECKPOINT_FILE

    from pdesym.devices import resolve_device

    eq = sample.equation
    device = resolve_device(options.device)
    jets = jets.to(device=device)
    pts = torch.stack([jets.x, jets.t, jets[(0, 0)]], -1)
    mean, std = pts.mean(0), pts.std(0).clamp_min(1e-12)
    settings = NeuralSettings(generators=options.generators, max_generators=max_generators, steps=options.steps,
                              polish=options.polish, batch=options.batch, seed=options.seed,
                              checkpoint_every=options.checkpoint_every)
    model = MLPVectorFields(3, settings.trained, hidden=settings.hidden, depth=settings.depth, seed=options.seed,
                            mean=mean, std=std, out_scale=std, activation=settings.activation, device=device)
    # the fields' size in standardised coordinates (ξ/σx, τ/σt, φ/σu): an O(1) Gram for every
    # equation, which is what the conditioning term needs (the V normalisation of
    # pdesym.validity weighs ξ by rms(u_x)/rms(u), ~20x more on KdV, and trains far worse)
    w_scale = 1.0 / std

    def objective(m, idx):
        parts = mlp_residual(m, jets.index(idx), eq)
        w = torch.stack([parts.xi, parts.tau, parts.phi], -1) * w_scale  # (B, K, 3)
        return parts.R.T, w.transpose(0, 1)

    z = (pts - mean) / std

    def smooth(m, step):
        gen = torch.Generator().manual_seed(int(options.seed) * 100003 + int(step))
        idx = torch.randint(0, z.shape[0], (256,), generator=gen).to(device)
        return smoothness_penalty(lambda q: m(q * std + mean) / std, z[idx], radius=0.2, seed=step)

    # the spectrum is recorded on a fixed subset; the final one on all samples (both sharded over
    # the ranks under torchrun, see pdesym.discovery.neural)
    fixed = torch.arange(min(2048, pts.shape[0]), device=device)
    context = current_context()
    callback = getattr(progress, "neural", None) if progress is not None and context.is_main else None
    ckpt = folder / CHECKPOINT_FILE if folder is not None else None
    result = train_generators(model, objective, pts.shape[0], settings, smoothness=smooth, monitor_indices=fixed,
                              checkpoint=ckpt, resume=resume, callback=callback, context=context)
    # everything after training (fit, exact checks, plots) runs on the CPU
    result.model = result.model.cpu()
    result.spectrum, result.mixing = result.spectrum.cpu(), result.mixing.cpu()
    return result


def snap_field(field, pts: torch.Tensor, equation: Equation, *, tolerances=(0.01, 0.02, 0.05, 0.1, 0.2),
               denominators=(1, 2, 3)):
    r"""Round an approximate fitted field in *data-scaled* coordinates and keep it only if exact.

    Each term :math:`c\,m(x, t, u)` of a component is weighed by its size on the data,
    :math:`|c|\,\mathrm{rms}(m)/\sigma` with σ the spread of that component's coordinate; terms
    below ``tol`` × the largest are dropped, the rest are divided by the largest term's
    coefficient and rounded to p/q (q in ``denominators``). The candidate is returned when
    :func:`pdesym.symbolic.verify` proves it, else None. (Coefficient-wise rounding misses
    fields such as (t + 0.07u)∂x − 0.6u∂t + ∂u, whose stray terms are large in raw units but tiny
    on the data.)
    """
    import sympy as sp

    from pdesym.equations import T, U, X
    from pdesym.symbolic import VectorField, verify

    x, t, u = (pts[:, i].detach().cpu().numpy() for i in range(3))
    std = [float(np.std(a)) or 1.0 for a in (x, t, u)]
    terms = [(ci, term) for ci, c in enumerate(field.components) for term in sp.Add.make_args(sp.expand(c)) if term != 0]
    if not terms:
        return None
    sizes = []
    for ci, term in terms:
        values = np.broadcast_to(np.asarray(sp.lambdify((X, T, U), term, "numpy")(x, t, u), dtype=float), x.shape)
        sizes.append(float(np.sqrt(np.mean(values ** 2))) / std[ci])
    big = max(sizes)
    lead_coeff = terms[int(np.argmax(sizes))][1].as_coeff_Mul()[0]
    for tol in tolerances:
        comps = [sp.Integer(0)] * 3
        ok = True
        for (ci, term), size in zip(terms, sizes):
            if size < tol * big:
                continue
            coeff, mono = term.as_coeff_Mul()
            v = float(coeff / lead_coeff)
            best = None
            for q in denominators:
                r = round(v * q) / q
                if r != 0 and abs(v - r) <= tol * max(1.0, abs(v)):
                    best = sp.Rational(round(v * q), q)
                    break
            if best is None:
                ok = False
                break
            comps[ci] += best * mono
        if not ok:
            continue
        candidate = VectorField(*comps)
        if not candidate.is_zero() and verify(equation, candidate):
            return candidate
    return None


def discover(source: str | Path, *, equation: str | None = None, options: DiscoverOptions = DiscoverOptions(),
             out: str | Path | None = None, force: bool = False, resume: bool = False, progress: Any = None,
             plots: bool = True) -> Discovery:
    r"""Discover the Lie point symmetries of the data's equation and write a run folder.

    Steps: (1) trajectories (:func:`load_samples`), (2) on-shell jets at ``points`` random grid
    points, (3) ``nullspace`` (:func:`pdesym.discovery.nullspace.nullspace_symmetries`) and/or
    ``neural`` (:func:`pdesym.discovery.neural.train_generators` then
    :func:`pdesym.symbolic.fit.fit_fields`), (4) exact verification of the closed forms, their
    validity, and principal cosines against the exact algebra
    (:func:`pdesym.symbolic.find_symmetries`), (5) ``out``: config.json, checkpoint.pt (neural),
    symmetries.json, report.md, plots.

    ``progress`` may have ``stage(name)`` and ``neural(NeuralProgress)`` methods.

    Under ``torchrun`` (several ranks) the process group is joined here; the neural training is
    data parallel (:func:`pdesym.discovery.neural.train_generators`), every rank computes the
    same result, and only rank 0 generates the default dataset and writes the run folder.
    """
    from pdesym.jets import compute_jets, equation_misfit
    from pdesym.report import run_document, to_markdown
    from pdesym.runs import CONFIG_FILE, REPORT_FILE, RESULT_FILE, prepare_run_folder, read_json, write_json_atomic, \
        write_text_atomic
    from pdesym.symbolic import Generator, SymmetryResult, generator_name, structure_constants
    from pdesym.symbolic.algebra import canonical_basis, coordinates
    from pdesym.symbolic.ansatz import parse_basis
    from pdesym.validity import infinitesimal_validity

    options = options.check()
    parse_basis(options.basis or None)  # a bad --basis is refused before any work
    if resume and options.method == "nullspace":
        raise PdesymError("--resume continues a neural run; the nullspace method has nothing to resume.")
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise PdesymError(f"{out} exists and is not a folder; choose another --out.")
        if not resume and out.is_dir() and any(out.iterdir()) and not force:
            prepare_run_folder(out)  # raises the standard sentence, touches nothing
    world = environment_world()
    context = init_distributed() if world is not None and world.world_size > 1 else current_context()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    _stage(progress, "data")
    # rank 0 first: it may generate and cache the default dataset, which the others then read
    if not context.is_main:
        barrier(context)
    sample = load_samples(source, equation, options, progress=getattr(progress, "data", None))
    if context.is_main:
        barrier(context)
    eq = sample.equation
    timings["data"] = time.perf_counter() - start
    config = {"source": str(source), "data": sample.source, "equation": eq.to_dict(), "options": asdict(options)}
    folder = None
    if out is not None and not context.is_main:
        folder = out  # rank 0 prepares and writes it; the others read the checkpoint to resume
    elif out is not None:
        if resume:
            folder = prepare_run_folder(out, resume=True)
            old = read_json(folder / CONFIG_FILE, "run configuration")
            if {k: v for k, v in old.items() if k != "pdesym_version"} != json.loads(json.dumps(config)):
                raise PdesymError(f"{folder} was started with other options or data; resume with the same command "
                                  "or start over with --force.")
        else:
            folder = prepare_run_folder(out, force=force)
        from pdesym import __version__

        write_json_atomic(folder / CONFIG_FILE, {**config, "pdesym_version": __version__})

    notes = list(sample.notes)
    t0 = time.perf_counter()
    _stage(progress, "jets")
    with torch.no_grad():
        all_jets = compute_jets(sample.u, sample.x, sample.t, eq)
        jets = all_jets.sample(options.points, seed=options.seed)
    timings["jets"] = time.perf_counter() - t0
    pts = torch.stack([jets.x, jets.t, jets[(0, 0)]], -1)

    null = neural = fitted = None
    discovery: dict[str, Any] = {"method": options.method, "degree": options.degree, "basis": options.basis,
                                 "points": jets.shape[0], "messages": []}
    # the symmetries found are those of the equation given: say so when the data do not solve it
    # (a wrong --equation otherwise silently reports the other equation's algebra)
    misfit = equation_misfit(sample.u, sample.x, sample.t, eq)
    discovery["equation_misfit"] = float(f"{misfit:.3g}")
    if misfit > MAX_EQUATION_MISFIT:
        discovery["messages"].append(
            f"The data do not look like smooth solutions of {eq.text}: the data's u_t and the equation's right-hand "
            f"side differ by {misfit:.2g} (relative, median over snapshots; smooth solutions score below 0.02, data of "
            "another equation 0.3-1, and noise raises it too). Check --equation: the generators below are tested "
            "against that equation.")
    fields: list = []
    verified: list[bool] = []
    sources: list[str] = []
    if options.method in ("nullspace", "both"):
        from pdesym.discovery.nullspace import nullspace_symmetries

        _stage(progress, "nullspace")
        t0 = time.perf_counter()
        null = nullspace_symmetries(None, None, None, eq, options.degree, options.basis or None,
                                    jets=jets.index(torch.arange(min(options.null_points, jets.shape[0]))),
                                    seed=options.seed)
        timings["nullspace"] = time.perf_counter() - t0
        fields, verified = list(null.fields), list(null.verified)
        sources = ["nullspace"] * len(fields)
        notes += null.notes
        discovery.update({"dimension": null.rank, "gap": null.gap,
                          "columns": int(null.coefficients.shape[1]),
                          "spectrum": [float(v) for v in null.singular_values[: min(len(null.singular_values), 40)]]})
    if options.method in ("neural", "both"):
        from pdesym.symbolic.fit import fit_fields

        _stage(progress, "neural")
        t0 = time.perf_counter()
        d_max = max(options.max_generators, null.rank if null is not None else 0)
        neural = _neural_run(sample, jets, options, d_max, folder, resume, progress)
        timings["neural"] = time.perf_counter() - t0
        if options.generators is None and neural.accepted and neural.dimension == d_max:
            # K <= d_max by construction: a larger algebra would show up as a wrong or rejected gap,
            # never as K > d_max (Burgers, dimension 5, under the default 4)
            discovery["messages"].append(
                f"K = {d_max} is the largest K considered (--max-generators {d_max}); if the data may have more "
                f"symmetries, rerun with --max-generators {d_max + 2}.")
        nd = {"trained": int(neural.model.k), "steps": options.steps, "seed": options.seed,
              "neural_dimension": neural.dimension, "ratio": neural.gap, "runner_up": neural.runner_up,
              "accepted": neural.accepted, "reason": neural.reason,
              "validity_spectrum": [float(v) for v in neural.spectrum], "seconds": neural.seconds,
              "resumed_from": neural.resumed_from, "polish": neural.polished}
        _stage(progress, "fit")
        t0 = time.perf_counter()
        k = neural.dimension
        learned = lambda x, t, u: neural.fields(torch.stack([x, t, u], -1), k=k).permute(1, 0, 2)  # noqa: E731
        # lowest degree first: a learned affine field fitted with cubic terms picks up small
        # spurious coefficients that defeat round-and-verify; stop at the first degree whose
        # rows all verify, else keep the degree with the most verified generators
        fitted = None
        for deg in range(1, options.degree + 1):
            trial = fit_fields(learned, pts[:, 0], pts[:, 1], pts[:, 2], eq, degree=deg, basis=options.basis or None)
            if fitted is None or len(trial.exact) > len(fitted.exact):
                fitted = trial
            if not trial.approximate:
                break
        snapped = [snap_field(f, pts, eq) for f in fitted.approximate]
        if any(f is not None for f in snapped):
            from pdesym.symbolic.algebra import canonical_basis as _canonical

            fitted.exact = _canonical(list(fitted.exact) + [f for f in snapped if f is not None])
            fitted.approximate = [a for a, f in zip(fitted.approximate, snapped) if f is None]
        timings["fit"] = time.perf_counter() - t0
        # 6 significant digits: the last bits of a least-squares residual depend on how BLAS meets the
        # arrays' memory alignment (two identical runs differed in the 17th digit under another
        # PYTHONHASHSEED), and run files are meant to be byte-identical for a seed
        nd["fit_misfit"] = float(f"{fitted.misfit:.6g}")
        if options.method == "neural":
            discovery.update(nd)
            discovery["dimension"] = neural.dimension
            discovery["gap"] = neural.gap
            if neural.accepted:
                fields, verified = list(fitted.fields), list(fitted.verified)
                sources = ["fit" if v else "neural" for v in verified]
            else:
                from pdesym.discovery.nullspace import nullspace_symmetries

                discovery["messages"].append(f"The neural validity gap was not accepted ({neural.reason}); the "
                                             "generators below come from the null-space method instead.")
                null = nullspace_symmetries(None, None, None, eq, options.degree, options.basis or None,
                                            jets=jets.index(torch.arange(min(options.null_points, jets.shape[0]))),
                                            seed=options.seed)
                fields, verified = list(null.fields), list(null.verified)
                sources = ["nullspace"] * len(fields)
        else:
            discovery["neural"] = nd
            exact_null = [f for f, v in zip(fields, verified) if v]
            extra = []
            for f in fitted.exact:
                if not exact_null or coordinates(canonical_basis(exact_null + extra), f) is None:
                    extra.append(f)
            if extra:
                discovery["messages"].append(f"The neural generators found {len(extra)} verified symmetr"
                                             f"{'y' if len(extra) == 1 else 'ies'} outside the null-space result.")
            fields = exact_null + extra + [f for f, v in zip(fields, verified) if not v]
            sources = ["nullspace"] * len(exact_null) + ["fit"] * len(extra) + \
                      ["nullspace"] * (len(fields) - len(exact_null) - len(extra))
            verified = [True] * (len(exact_null) + len(extra)) + [False] * (len(fields) - len(exact_null) - len(extra))

    _stage(progress, "verify")
    t0 = time.perf_counter()
    exact = _exact_reference(eq, notes)
    validity = [float(v) for v in infinitesimal_validity(fields, jets.index(torch.arange(min(2048, jets.shape[0]))), eq)] \
        if fields else []
    if options.validity == "flow" and fields:
        from pdesym.jets import sample_patches
        from pdesym.validity import flow_validity

        from pdesym.symbolic import VectorField, verify

        patches = sample_patches(sample.u, sample.x, sample.t, options.patches, size=tuple(options.patch_size),
                                 seed=options.seed, equation=eq)
        n_x = eq.spatial_order
        kw = {"steps": options.flow_steps, "method": options.flow_method,
              "stencil": None if options.flow_stencil is None else tuple(options.flow_stencil),
              "points": options.flow_points, "deg_x": options.flow_degree_x or n_x + 4,
              "deg_t": options.flow_degree_t, "reduce": options.flow_reduce}
        shift_u = VectorField(0, 0, 1)
        with torch.no_grad():
            validity = [float(v) for v in flow_validity(fields, patches, eq, eps=options.flow_eps, **kw)]
            # ε = 0 scores the re-estimation alone: no exact symmetry can score below this floor
            floor = float(flow_validity([VectorField(1, 0, 0)], patches, eq, eps=0.0, **kw)[0])
            ref = None if verify(eq, shift_u) else \
                float(flow_validity([shift_u], patches, eq, eps=options.flow_eps, **kw)[0])
        stencil = "the whole patch" if options.flow_stencil is None else \
            f"{options.flow_points} interior {options.flow_stencil[0]}×{options.flow_stencil[1]} stencils per patch"
        discovery["flow"] = {"patches": options.patches, "patch_size": list(options.patch_size), "steps": options.flow_steps,
                             "method": options.flow_method, "eps": options.flow_eps, "fit": stencil,
                             "degrees": [kw["deg_x"], kw["deg_t"]], "reduce": options.flow_reduce, "floor": floor,
                             "non_symmetry_d_u": ref}
        if floor > 1e-3:
            tt = sample.t if sample.t.dim() == 1 else sample.t[0]
            dt = float(tt[1] - tt[0])
            discovery["messages"].append(
                f"The flow validity's fit error at ε = 0 is {floor:.2g}: the data are not resolved enough for "
                f"re-estimated derivatives (snapshots {dt:.3g} apart), so exact symmetries cannot score below it; "
                "use more --snapshots (or a finer --nx).")
        discovery["validity_kind"] = (f"flow: exp(εV), ε = {options.flow_eps}, of {options.patches} patches of "
                                      f"{options.patch_size[0]}×{options.patch_size[1]} samples ({options.flow_method}, "
                                      f"{options.flow_steps} steps), derivatives re-fitted on {stencil}, "
                                      f"{options.flow_reduce} PDE residual ratio")
    else:
        discovery["validity_kind"] = "infinitesimal: mean square characteristic residual / field size (V)"
    cosines = None
    if exact is not None and exact.fields:
        cos = _scaled_cosines(fields, exact.fields, pts[:2048]) if fields else []
        cosines = {"reference": "exact algebra (direct method)", "reference_dimension": exact.dimension,
                   "values": cos, "min": min(cos) if cos else None}
        if neural is not None:
            learned_k = neural.dimension
            lf = lambda x, t, u: neural.fields(torch.stack([x, t, u], -1), k=learned_k).permute(1, 0, 2)  # noqa: E731
            cosines["learned"] = _scaled_cosines(lf, exact.fields, pts[:2048])
            cosines["learned_min"] = min(cosines["learned"]) if cosines["learned"] else None
    timings["verify"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start

    gens = tuple(Generator(f, generator_name(f) if v else "", v, s, val)
                 for f, v, s, val in zip(fields, verified, sources, validity))
    structure = structure_constants(fields) if fields and all(verified) else None
    result = SymmetryResult(equation=eq, generators=gens, structure=structure, method=options.method,
                            solver=options.method, degree=options.degree,
                            basis=tuple(str(b) for b in parse_basis(options.basis or None)), complete=False,
                            seconds=timings["total"], notes=tuple(notes))
    doc = run_document(result, approximate=[not v for v in verified], cosines=cosines, discovery=discovery,
                       timings=timings, data=sample.info())
    if folder is not None and context.is_main:
        write_json_atomic(folder / RESULT_FILE, doc)
        write_text_atomic(folder / REPORT_FILE, to_markdown(doc))
        if plots:
            _plots(folder, doc, sample, fields, null, neural)
    return Discovery(doc, folder, null, neural, fields)


def _plots(folder: Path, doc: dict, sample: DataSample, fields, null, neural) -> None:
    """fields.png (generators on the data domain) and validity.png (training curves or spectrum)."""
    from pdesym.report import plot_fields, plot_spectrum, plot_validity
    from pdesym.symbolic.algebra import sample_fields

    nt, nx = sample.u.shape[1:]
    it = torch.linspace(0, nt - 1, min(nt, 14)).round().long()
    ix = torch.linspace(0, nx - 1, min(nx, 18)).round().long()
    x = (sample.x if sample.x.dim() == 1 else sample.x[0])[ix]
    t = (sample.t if sample.t.dim() == 1 else sample.t[0])[it]
    u = sample.u[0][it][:, ix]
    TT, XX = torch.meshgrid(t, x, indexing="ij")  # (nt', nx') each
    if fields:
        scale = torch.tensor([float(x.max() - x.min()), float(t.max() - t.min()), float(u.std()) or 1.0])
        vals = sample_fields(fields, XX, TT, u)
        vals = vals.reshape(len(fields), len(t), len(x), 3) / scale
        plot_fields(vals.numpy(), x.numpy(), t.numpy(), [g["text"] for g in doc["generators"]], folder / "fields.png")
    if neural is not None and neural.history_steps:
        plot_validity(np.array(neural.history_steps), np.array(neural.history_spectra), folder / "validity.png",
                      chosen=neural.dimension)
    elif null is not None:
        plot_spectrum(null.singular_values.numpy() ** 2, folder / "validity.png", rank=null.rank,
                      label="validity σ² of the null-space directions")
