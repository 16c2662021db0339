"""``pdesym benchmark fno``: FNO rollout error vs training-set size with no / exact / learned augmentation.

Thin: parse options, call :func:`pdesym.augment.benchmark.run_fno_benchmark` with a progress bar,
print the table and where the run folder is.
"""

from __future__ import annotations

import datetime as _dt
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from pdesym.cli.interrupts import interruptible
from pdesym.cli.output import command_errors, console, emit, examples, progress_bar, settings
from pdesym.errors import PdesymError, check_choice

__all__ = ["register"]


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise PdesymError(f"{what} must be a comma-separated list of integers, got {text!r}.") from None
    if not values:
        raise PdesymError(f"{what} is empty; give at least one value.")
    return values


def _validate(pdes: tuple[str, ...], augs: tuple[str, ...], chosen, device: str) -> None:
    """Every check that can fail on the options, before any progress bar or data (one sentence each)."""
    from pdesym.augment.benchmark import AUGMENTATIONS, BENCH_PDES
    from pdesym.devices import resolve_device

    if not pdes:
        raise PdesymError("--pde is empty; give kdv, ks, burgers or a comma-separated list of them.")
    for p in pdes:
        check_choice("benchmark PDE", p, dict.fromkeys(BENCH_PDES))
    if not augs:
        raise PdesymError("--aug is empty; give none, exact, learned or a comma-separated list of them.")
    for a in augs:
        check_choice("augmentation", a, AUGMENTATIONS)
    if any(n < 1 for n in chosen.n_train):
        raise PdesymError(f"--n-train needs positive sizes, got {list(chosen.n_train)}.")
    if chosen.seeds < 1:
        raise PdesymError(f"--seeds must be a positive integer, got {chosen.seeds}.")
    resolve_device(device)


def _check_scales(text: str, flag: str) -> None:
    """The syntax of a scale override (numbers, or NAME=number), checked before any data is made;
    which generators the names refer to is known only once the generators are (then the library checks)."""
    import math

    items = [s.strip() for s in text.split(",") if s.strip()]
    try:
        values = [float(s.split("=", 1)[-1]) for s in items]
    except ValueError:
        raise PdesymError(f"{flag} must be numbers (one per generator) or names with numbers like X2=0.3, "
                          f"got {text!r}.") from None
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise PdesymError(f"{flag} scales must be finite numbers >= 0, got {text!r}.")


def register(app: typer.Typer) -> None:
    """Add the ``benchmark`` command group (``benchmark fno``) to the root app."""
    group = typer.Typer(help="Downstream benchmarks of symmetry augmentation.", no_args_is_help=True,
                        epilog=examples("pdesym benchmark fno --pde kdv --n-train 8 --seeds 1 --steps 50"))
    app.add_typer(group, name="benchmark")

    @group.command("fno", epilog=examples(
        "pdesym benchmark fno --pde kdv --n-train 8 --aug none,exact --seeds 1 --steps 50 --out runs/fno-small",
        "pdesym benchmark fno --pde kdv,burgers --n-train 8,32 --seeds 3",
        "pdesym --json benchmark fno --pde burgers --n-train 8 --aug none,learned --seeds 1 --steps 50"))
    @command_errors
    @interruptible("Interrupted; finished runs are kept in OUT/runs/ and the running one in OUT/checkpoints/: "
                   "rerun the same command with --resume to continue.")
    def fno(
        pde: str = typer.Option("kdv", "--pde", help="kdv, ks, burgers, or a comma-separated list."),
        n_train: Optional[str] = typer.Option(None, "--n-train", help="Training-set sizes, e.g. 8,32 "
                                                                        "(default 8,32; --full: 32,128,512)."),
        aug: str = typer.Option("none,exact,learned", "--aug", help="Augmentations: none, exact, learned."),
        seeds: int = typer.Option(3, "--seeds", help="Training seeds per setting."),
        full: bool = typer.Option(False, "--full", help="Paper-size settings (LPSDA FNO, 256 points, 40 epochs; GPU)."),
        steps: Optional[int] = typer.Option(None, "--steps", help="Optimisation steps per run (small settings)."),
        scale_exact: str = typer.Option("", "--scale-exact", help="Override the exact generators' scales "
                                                                   "(one per generator or X2=0.3,...)."),
        scale_learned: str = typer.Option("", "--scale-learned", help="Override the learned generators' scales."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default runs/fno-PDE-TIME)."),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
        force: bool = typer.Option(False, "--force", help="Write into an existing non-empty run folder."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted benchmark in --out."),
    ) -> None:
        """Train FNOs on few trajectories with no / exact / learned augmentation; table + plot in a run folder."""
        from pdesym.augment.benchmark import BenchmarkSettings, markdown_table, run_fno_benchmark

        pdes = tuple(p.strip().lower() for p in pde.split(",") if p.strip())
        augs = tuple(a.strip().lower() for a in aug.split(",") if a.strip())
        changes = {"augmentations": augs, "seeds": seeds}
        if n_train is not None:
            changes["n_train"] = _ints(n_train, "--n-train")
        if steps is not None:
            if steps < 1:  # the settings' steps=0 means "the paper's epochs", never what a user typing 0 wants
                raise PdesymError(f"--steps must be a positive integer, got {steps}.")
            changes["steps"] = steps
        chosen = BenchmarkSettings.full(**changes) if full else BenchmarkSettings.small(**changes)
        if force and resume:
            raise PdesymError("Pass either --force (start over) or --resume (continue), not both.")
        if resume and out is None:
            raise PdesymError("--resume needs the --out folder of the interrupted benchmark.")
        if out is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            out = Path("runs") / f"fno-{'-'.join(pdes)}-{stamp}"
        _validate(pdes, augs, chosen, device)
        _check_scales(scale_exact, "--scale-exact")
        _check_scales(scale_learned, "--scale-learned")
        if out.exists() and any(out.iterdir()) and not force and not resume:
            raise PdesymError(f"The run folder {out} is not empty; pass --force or choose another --out.")
        out.mkdir(parents=True, exist_ok=True)  # an unwritable place fails here, before the progress bar
        command = "pdesym " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        with progress_bar() as bar:
            total = len(pdes) * len(chosen.n_train) * len(augs) * chosen.seeds
            task = bar.add_task("Training", total=total, status="generating data")

            def tick(label: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, status=label)

            record = run_fno_benchmark(pdes, chosen, out, device=device,
                                       scales_override={"exact": scale_exact, "learned": scale_learned},
                                       progress=tick, command=command, resume=resume)
        if settings.json:
            emit({"run_folder": str(out), "files": [str(out / n) for n in ("results.json", "table.md", "nmse.png")],
                  "table": record.get("table", []), "generators": record.get("generators", {}),
                  "settings": record.get("settings"), "notes": record.get("notes", [])})
            return
        console.print(markdown_table(record), markup=False, soft_wrap=True)
        if not settings.quiet:
            console.print(f"Ko et al. report 64 x this NMSE (their test batch 1024 / training batch 16). "
                          f"Wrote {out}/results.json, table.md and nmse.png.", soft_wrap=True)
