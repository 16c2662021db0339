r"""Downstream benchmark: an FNO trained on few trajectories with no, exact or learned augmentation.

For each PDE, training-set size ``n_train``, augmentation and seed, an :class:`~pdesym.operators.FNO1d`
is trained (:func:`~pdesym.operators.train_operator`, best epoch by validation rollout) and scored
by the autoregressive rollout NMSE on held-out test trajectories
(:func:`~pdesym.operators.evaluate_rollout`):

.. math::  \mathrm{NMSE} = \frac{1}{N}\sum_b \sum_n \frac{\lVert \tilde u_{b,n} - u_{b,n}\rVert^2}{\lVert u_{b,n}\rVert^2}.

Ko et al. (and LPSDA) report the same sum divided by their training batch size (16) instead of
their test batch size (1024), i.e. ``64 x`` this NMSE; the table gives both.

Augmentations:

* ``none``: the training windows only (every start time: implicit time translation);
* ``exact``: the exact Lie point algebra (:func:`pdesym.symbolic.find_symmetries`);
* ``learned``: the generators that :func:`pdesym.discovery.nullspace.nullspace_symmetries` finds
  in the *same* n_train training trajectories (closed forms fitted and verified there).

Both symmetry augmentations use precomputed transformed copies (Ko et al.'s protocol,
:class:`~pdesym.augment.PrecomputedAugmentation`) with per-generator scales from
:func:`default_scales`. The training subsets are nested (the first n_train of one pool); the seed
changes the network initialisation, the training order and the group parameters.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp
import torch

from pdesym.atomic import atomic_savefig
from pdesym.augment.group import GroupAction
from pdesym.augment.sampling import PrecomputedAugmentation
from pdesym.augment.transform import transform_trajectories
from pdesym.datasets import creation_time
from pdesym.equations import T, U, X
from pdesym.errors import PdesymError, check_choice
from pdesym.operators import FNOConfig, Trajectories, evaluate_rollout, train_operator
from pdesym.symbolic.vectorfield import VectorField

__all__ = ["AUGMENTATIONS", "KO_FACTOR", "BenchmarkSettings", "default_scales", "run_fno_benchmark", "run_key",
           "spectral_downsample"]

AUGMENTATIONS = {
    "none": "no augmentation (random window starts only)",
    "exact": "exact Lie point symmetries (pdesym.symbolic)",
    "learned": "symmetries discovered from the training trajectories (pdesym.discovery.nullspace)",
}
#: Ko et al.'s reported NMSE = KO_FACTOR x pdesym's (their test batch 1024 / training batch 16).
KO_FACTOR = 64.0
BENCH_PDES = ("kdv", "ks", "burgers")


@dataclass(frozen=True)
class BenchmarkSettings:
    """Sizes of one benchmark run; :meth:`small` (2 CPU cores, minutes) and :meth:`full` (a GPU)."""

    n_train: tuple[int, ...] = (8, 32)
    augmentations: tuple[str, ...] = ("none", "exact", "learned")
    seeds: int = 3
    n_valid: int = 8
    n_test: int = 32
    nx: int = 128  # stored 256 points are truncated spectrally to nx (band-limited, as stored)
    steps: int = 1500  # optimisation steps per training run
    epochs: int = 8
    copies: int = 16  # precomputed transformed copies per training trajectory
    p_original: float = 0.2
    fno: dict = field(default_factory=lambda: dict(modes=16, width=32, layers=4, projection_width=64, lr=1e-3,
                                                   lr_milestones=(5, 7), batch_size=16))
    data_seed: int = 1000

    @classmethod
    def small(cls, **changes: Any) -> "BenchmarkSettings":
        """Defaults that finish in minutes per PDE on two CPU cores."""
        return dataclasses.replace(cls(), **changes)

    @classmethod
    def full(cls, **changes: Any) -> "BenchmarkSettings":
        """Paper-size settings (Ko et al.: LPSDA FNO, 256 points, 40 epochs); needs a GPU."""
        base = cls(n_train=(32, 128, 512), seeds=3, n_valid=64, n_test=256, nx=256, steps=0, epochs=40, copies=8,
                   fno=dict(modes=32, width=256, layers=5, projection_width=128, lr=1e-4,
                            lr_milestones=(10, 20, 30), batch_size=16))
        return dataclasses.replace(base, **changes)

    def config(self, n_train: int) -> FNOConfig:
        """The FNO configuration for n_train trajectories: ``steps`` steps in ``epochs`` epochs
        (``steps = 0``: the reference 2 nt = 280 passes per epoch)."""
        batches = -(-n_train // self.fno.get("batch_size", 16))
        passes = 280 if self.steps == 0 else max(1, math.ceil(self.steps / (self.epochs * batches)))
        return FNOConfig(epochs=self.epochs, passes_per_epoch=passes, **self.fno)


def spectral_downsample(u: torch.Tensor, nx: int) -> torch.Tensor:
    """Keep the Fourier modes below nx/2 of periodic samples ``u`` (..., N) and return them on nx points."""
    n = u.shape[-1]
    if nx >= n:
        return u
    coeffs = torch.fft.rfft(u, dim=-1)[..., : nx // 2 + 1].clone()
    coeffs[..., -1] = 0  # no Nyquist content: the result is band-limited on the coarse grid
    return torch.fft.irfft(coeffs, n=nx, dim=-1) * (nx / n)


def _is_number(expr: sp.Expr) -> bool:
    return not expr.free_symbols


def default_scales(fields: Sequence[VectorField], data: Trajectories, *, scaling: float = 0.0
                   ) -> tuple[list[float], list[str]]:
    r"""Per-generator scales :math:`s_i` (ε ~ U(-s_i, s_i)) and a reason for each.

    * translation in x: half the period (every shift);
    * translation in t: 0 -- training windows already start at every stored time;
    * a Galilean-type field :math:`ct\partial_x + b\partial_u`: :math:`|εb| \le 0.5\,\mathrm{std}(u)`;
    * a diagonal scaling :math:`ax\partial_x + ct\partial_t + du\partial_u`: ``scaling`` as the largest
      relative change of x, t or u (ε max(|a|, |c|, |d|) ≤ ``scaling``), 0 by default: a scaling
      changes dx and dt, which the test data never do, and in the small benchmark it made KdV worse
      (n_train = 8: 25.8 with scalings of up to 10 % against 20.7 without; no augmentation 32.0);
    * a field whose flow does not map the periodic domain onto a periodic domain (Burgers'
      projective field): 0 -- not a symmetry of the periodic problem;
    * anything else: 0 (give scales explicitly).
    """
    length = float(data.length[0])
    std = float(data.u.std())
    scales, notes = [], []
    probe = data.select(torch.arange(min(2, len(data))))
    for f in fields:
        xi, tau, phi = (sp.expand(c) for c in f.components)
        _, report = transform_trajectories(probe, GroupAction.from_fields([f]),
                                           torch.full((len(probe), 1), 1e-3), report=True)
        if float(report.period_defect.max()) > 1e-9:
            scales.append(0.0)
            notes.append("does not keep the periodic domain (not a symmetry of periodic data)")
        elif tau == 0 and phi == 0 and _is_number(xi) and xi != 0:
            scales.append(length / 2 / abs(float(xi)))
            notes.append("x-translation: any shift")
        elif xi == 0 and phi == 0 and _is_number(tau) and tau != 0:
            scales.append(0.0)
            notes.append("t-translation: covered by random window starts")
        elif tau == 0 and _is_number(phi) and phi != 0 and sp.expand(xi - sp.diff(xi, T) * T) == 0 \
                and _is_number(sp.diff(xi, T)):
            scales.append(0.5 * std / abs(float(phi)))
            notes.append("Galilean boost: |u shift| <= 0.5 std(u)")
        elif all(sp.simplify(c - sp.diff(c, v) * v) == 0 and _is_number(sp.diff(c, v))
                 for c, v in ((xi, X), (tau, T), (phi, U))):
            top = max(abs(float(sp.diff(c, v))) for c, v in ((xi, X), (tau, T), (phi, U)))
            scales.append(scaling / top if top else 0.0)
            notes.append(f"scaling: at most {100 * scaling:g} % change of x, t, u" if scaling else
                         "scaling: off by default (moves dx, dt off the test grid)")
        else:
            scales.append(0.0)
            notes.append("no default scale for this field")
    return scales, notes


def _load_pde(pde: str, settings: BenchmarkSettings, device: str) -> dict[str, Trajectories]:
    from pdesym.solvers import generate_batch

    out = {}
    n_pool = max(settings.n_train)
    for offset, (name, n) in enumerate((("train", n_pool), ("valid", settings.n_valid), ("test", settings.n_test))):
        batch = generate_batch(pde, n, seed=settings.data_seed + offset, device=device)
        u = spectral_downsample(batch.u.to(torch.float64).cpu(), settings.nx)
        length = float(batch.x[1] - batch.x[0]) * batch.u.shape[-1]
        x = torch.arange(u.shape[-1], dtype=torch.float64) * length / u.shape[-1]
        out[name] = Trajectories.from_grid(u, x, batch.t.to(torch.float64).cpu())
    return out


def _generators(kind: str, pde: str, train: Trajectories) -> tuple[list[VectorField] | None, str]:
    if kind == "exact":
        from pdesym.symbolic import find_symmetries

        return find_symmetries(pde).fields, "find_symmetries (complete algebra)"
    try:
        from pdesym.discovery.nullspace import nullspace_symmetries
    except ImportError:
        return None, "learned generators not available (pdesym.discovery is not installed)"
    result = nullspace_symmetries(train.u, train.x[0], train.t[0], pde, degree=2)
    # approximate (unverified) fields are kept too: their flows are integrated numerically
    return list(result.fields), f"nullspace discovery on the training trajectories: rank {result.rank}, verified {result.verified}"


def _summary(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


RESULTS_FILE = "results.json"
SETTINGS_FILE = "settings.json"
RUNS_DIR = "runs"  # one JSON per finished training run, written atomically when it finishes
CHECKPOINTS_DIR = "checkpoints"  # the running training's checkpoint (epoch by epoch), removed when it finishes
BENCHMARK_FORMAT = "pdesym-fno-benchmark/1"


def run_key(pde: str, n_train: int, aug: str, seed: int) -> str:
    """The file stem of one training run, e.g. ``kdv-n8-exact-s0``."""
    return f"{pde}-n{n_train}-{aug}-s{seed}"


def _settings_document(pdes: Sequence[str], settings: BenchmarkSettings,
                       scales_override: dict[str, str] | None) -> dict:
    return json.loads(json.dumps({
        "format": BENCHMARK_FORMAT, "pdes": list(pdes), "scales_override": dict(scales_override or {}),
        "settings": {**dataclasses.asdict(settings), "fno": {k: list(v) if isinstance(v, tuple) else v
                                                             for k, v in settings.fno.items()}},
    }))


def _prepare_folder(out: Path, document: dict, resume: bool) -> None:
    """Check a folder to resume (same settings), or clear the run files of an earlier benchmark."""
    from pdesym.runs import read_json

    if resume:
        if not (out / SETTINGS_FILE).is_file():
            raise PdesymError(f"Nothing to resume in {out}: it has no {SETTINGS_FILE}; start without --resume.")
        if read_json(out / SETTINGS_FILE, "benchmark settings file") != document:
            raise PdesymError(f"{out} was started with other settings; resume with the same options "
                              "or start over with --force.")
        return
    # a fresh run must never pick up an earlier run's results or checkpoints on a later --resume
    for sub in (RUNS_DIR, CHECKPOINTS_DIR):
        for stale in list((out / sub).glob("*")) if (out / sub).is_dir() else []:
            stale.unlink()


def _train_one(key: str, out: Path, resume: bool, train_run: Callable[[Path, bool], dict]) -> tuple[dict, bool]:
    """One training run with its result file and checkpoint: ``(run, kept)``.

    A finished run's result file is read back on resume (``kept``); otherwise ``train_run(checkpoint,
    resume)`` trains, continuing from the checkpoint an interrupted run left. The result is stored
    before the checkpoint is removed, so a signal between the two loses nothing.
    """
    from pdesym.operators.checkpoints import config_path_for
    from pdesym.runs import read_json, write_json_atomic

    result = out / RUNS_DIR / f"{key}.json"
    checkpoint = out / CHECKPOINTS_DIR / f"{key}.pt"
    if resume and result.is_file():
        run, kept = read_json(result, "benchmark run result"), True
    else:
        if not resume:
            checkpoint.unlink(missing_ok=True)
        run, kept = train_run(checkpoint, resume and checkpoint.is_file()), False
        result.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(result, run)
    checkpoint.unlink(missing_ok=True)
    config_path_for(checkpoint).unlink(missing_ok=True)
    return run, kept


def run_fno_benchmark(pdes: Sequence[str], settings: BenchmarkSettings, out: str | Path, *, device: str = "auto",
                      scales_override: dict[str, str] | None = None,
                      progress: Callable[[str, int, int], None] | None = None, command: str | None = None,
                      resume: bool = False) -> dict:
    """Run the benchmark for each PDE and write ``results.json``, ``table.md`` and ``nmse.png`` into ``out``.

    Returns the results record (also what ``results.json`` holds). ``progress(label, done, total)``
    is called after every training run. Every finished training run is stored in
    ``out/runs/KEY.json`` (:func:`run_key`) and the running one checkpoints every epoch in
    ``out/checkpoints/``; ``resume=True`` keeps the finished runs, continues the interrupted one
    from its checkpoint and trains the rest, so the table equals an uninterrupted run's (on CPU).
    ``settings.json`` (written first) must then match. The summary files are written at the end.
    """
    from pdesym.runs import write_json_atomic

    for pde in pdes:
        check_choice("benchmark PDE", pde, dict.fromkeys(BENCH_PDES))
    for aug in settings.augmentations:
        check_choice("augmentation", aug, AUGMENTATIONS)
    if not settings.n_train or any(n < 1 for n in settings.n_train):
        raise PdesymError(f"--n-train needs positive sizes, got {list(settings.n_train)}.")
    if settings.seeds < 1:
        raise PdesymError(f"--seeds must be a positive integer, got {settings.seeds}.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    document = _settings_document(pdes, settings, scales_override)
    _prepare_folder(out, document, resume)
    write_json_atomic(out / SETTINGS_FILE, document)
    total = len(pdes) * len(settings.n_train) * len(settings.augmentations) * settings.seeds
    done = 0
    record: dict[str, Any] = {
        "command": command, "created": creation_time(),
        "settings": document["settings"], "ko_factor": KO_FACTOR, "runs": [], "generators": {}, "notes": [],
    }
    for pde in pdes:
        began = time.perf_counter()
        data = _load_pde(pde, settings, device)
        record["notes"].append(f"{pde}: data generated in {time.perf_counter() - began:.1f} s "
                               f"({len(data['train'])}/{len(data['valid'])}/{len(data['test'])} train/valid/test, "
                               f"{data['train'].nt} x {data['train'].nx})")
        for n_train in settings.n_train:
            train = data["train"].select(torch.arange(n_train))
            cache: dict[tuple, list[dict]] = {}
            for aug in settings.augmentations:
                action, scales = None, None
                if aug != "none":
                    fields, how = _generators(aug, pde, train)
                    if fields is None:
                        record["generators"][f"{pde}/{n_train}/{aug}"] = {"available": False, "how": how}
                        done += settings.seeds
                        continue
                    scales, reasons = default_scales(fields, train)
                    if scales_override and scales_override.get(aug):
                        from pdesym.augment.sampling import parse_scales

                        scales = list(parse_scales(scales_override[aug], [""] * len(fields),
                                                   [f.text() for f in fields]))
                        reasons = ["given"] * len(fields)
                    record["generators"][f"{pde}/{n_train}/{aug}"] = {
                        "available": True, "how": how,
                        "fields": [{"text": f.text(), "scale": s, "why": r} for f, s, r in zip(fields, scales, reasons)],
                    }
                    used = [(f, s) for f, s in zip(fields, scales) if s > 0]
                    key = tuple((f.text(), s) for f, s in used)
                    if key in cache:  # the same generators and scales: the same training runs
                        for r in cache[key]:
                            record["runs"].append({**r, "aug": aug, "same_as": r["aug"]})
                        record["generators"][f"{pde}/{n_train}/{aug}"]["same_runs_as"] = cache[key][0]["aug"]
                        done += settings.seeds
                        if progress is not None:
                            progress(f"{pde} n={n_train} {aug} (same as {cache[key][0]['aug']})", done, total)
                        continue
                    if not used:
                        record["generators"][f"{pde}/{n_train}/{aug}"]["note"] = "every scale is 0"
                    action = GroupAction.from_fields([f for f, _ in used]) if used else None
                    scales = [s for _, s in used]
                runs = []
                for seed in range(settings.seeds):
                    config = settings.config(n_train)

                    def train_run(checkpoint: Path, from_checkpoint: bool) -> dict:
                        t0 = time.perf_counter()
                        hook = None
                        if action is not None:
                            need = config.time_window + config.time_future * (1 + config.unrolling)
                            hook = PrecomputedAugmentation(action, scales, train, copies=settings.copies,
                                                           seed=10_000 + seed, p_original=settings.p_original,
                                                           min_snapshots=need)
                        trained = train_operator(train, config=config, valid=data["valid"], augment=hook, seed=seed,
                                                 device=device, checkpoint=checkpoint, resume=from_checkpoint)
                        metrics = evaluate_rollout(trained.model, data["test"])
                        return {"pde": pde, "n_train": n_train, "aug": aug, "seed": seed, "nmse": metrics.mean,
                                "nmse_std_over_test": metrics.std, "one_step": metrics.one_step_mean,
                                "best_epoch": trained.best_epoch, "seconds": time.perf_counter() - t0,
                                "steps": config.epochs * config.passes_per_epoch * -(-n_train // config.batch_size)}

                    run, kept = _train_one(run_key(pde, n_train, aug, seed), out, resume, train_run)
                    runs.append(run)
                    record["runs"].append(run)
                    done += 1
                    if progress is not None:
                        how = " (kept from the interrupted run)" if kept else ""
                        progress(f"{pde} n={n_train} {aug} seed {seed}: NMSE {run['nmse']:.3g}{how}", done, total)
                if aug != "none":
                    cache[key] = runs
    record["table"] = _table(record, pdes, settings)
    _write(out, record)
    _plot(out / "nmse.png", record, pdes, settings)
    return record


def _table(record: dict, pdes: Sequence[str], settings: BenchmarkSettings) -> list[dict]:
    rows = []
    for pde in pdes:
        for n_train in settings.n_train:
            for aug in settings.augmentations:
                vals = [r["nmse"] for r in record["runs"] if r["pde"] == pde and r["n_train"] == n_train
                        and r["aug"] == aug]
                info = record["generators"].get(f"{pde}/{n_train}/{aug}", {})
                if not vals:
                    rows.append({"pde": pde, "n_train": n_train, "aug": aug, "available": False})
                    continue
                mean, std = _summary(vals)
                one_mean, one_std = _summary([r["one_step"] for r in record["runs"] if r["pde"] == pde
                                              and r["n_train"] == n_train and r["aug"] == aug])
                rows.append({"pde": pde, "n_train": n_train, "aug": aug, "available": True, "mean": mean, "std": std,
                             "seeds": len(vals), "ko_scale_mean": mean * KO_FACTOR, "one_step_mean": one_mean,
                             "one_step_std": one_std, "same_runs_as": info.get("same_runs_as")})
    return rows


def markdown_table(record: dict) -> str:
    """The results as a Markdown table (mean ± std over seeds of the test rollout NMSE)."""
    lines = ["| PDE | n_train | augmentation | rollout NMSE (mean ± std over seeds) | x64 (Ko et al. scale) "
             "| one-step NMSE | note |",
             "|---|---|---|---|---|---|---|"]
    for row in record["table"]:
        if not row["available"]:
            lines.append(f"| {row['pde']} | {row['n_train']} | {row['aug']} | n/a | n/a | n/a | not available |")
            continue
        note = f"same generators as {row['same_runs_as']}: same runs" if row.get("same_runs_as") else ""
        lines.append(f"| {row['pde']} | {row['n_train']} | {row['aug']} | {row['mean']:.4g} ± {row['std']:.2g} "
                     f"| {row['ko_scale_mean']:.4g} | {row['one_step_mean']:.3g} ± {row['one_step_std']:.2g} "
                     f"| {note} |")
    return "\n".join(lines) + "\n"


def _write(out: Path, record: dict) -> None:
    from pdesym.runs import write_text_atomic

    write_text_atomic(out / RESULTS_FILE, json.dumps(record, indent=2, default=str))
    write_text_atomic(out / "table.md", markdown_table(record))


def _plot(path: Path, record: dict, pdes: Sequence[str], settings: BenchmarkSettings) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(pdes), figsize=(4.2 * len(pdes), 3.4), squeeze=False)
    for ax, pde in zip(axes[0], pdes):
        styles = {"none": ("o", "-", 1.0), "exact": ("s", "-", 1.04), "learned": ("x", "--", 1.08)}
        for aug in settings.augmentations:
            rows = [r for r in record["table"] if r["pde"] == pde and r["aug"] == aug and r["available"]]
            if rows:  # small x offsets keep identical curves (learned = exact) visible
                marker, line, shift = styles[aug]
                ax.errorbar([r["n_train"] * shift for r in rows], [r["mean"] for r in rows],
                            yerr=[r["std"] for r in rows], marker=marker, linestyle=line, capsize=3, label=aug)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training trajectories")
        ax.set_ylabel("rollout NMSE")
        ax.set_title(pde)
        ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
