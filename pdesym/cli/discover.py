"""``pdesym discover PRESET | FILE``: symmetries from data, checked against the exact algebra.

Thin: options -> :class:`pdesym.discovery.pipeline.DiscoverOptions`, a progress display, then
:func:`pdesym.discovery.pipeline.discover` writes the run folder and :func:`pdesym.report.print_report`
prints the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pdesym.cli.interrupts import interruptible
from pdesym.cli.output import command_errors, console, emit, err_console, examples, progress_bar, settings
from pdesym.errors import PdesymError

__all__ = ["register"]


class _Display:
    """Stage lines and a progress bar for neural training (silent under --quiet)."""

    _labels = {"data": "Loading or generating the data", "jets": "Computing jets",
               "nullspace": "Null space of the validity system", "neural": "Training neural generators",
               "fit": "Fitting closed forms", "verify": "Verifying and comparing with the exact algebra"}

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.bar = None
        self.task = None

    def stage(self, name: str) -> None:
        self.close()
        if not settings.quiet:
            err_console.print(f"[dim]•[/] {self._labels.get(name, name)}…")
        if name == "neural":
            self.bar = progress_bar(transient=True)
            self.bar.start()
            self.task = self.bar.add_task("training", total=self.steps, status="")

    def neural(self, p) -> None:
        if self.bar is not None:
            shown = " ".join(f"{v:.1e}" for v in p.validity)
            phase = "L-BFGS polish, " if getattr(p, "phase", "adam") == "polish" else ""
            self.bar.update(self.task, completed=p.step, total=p.steps, status=f"{phase}validity {shown}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _pair(value: str, flag: str) -> tuple[int, int]:
    """'64x64' -> (64, 64)."""
    parts = value.lower().replace("×", "x").split("x")
    try:
        a, b = (int(p) for p in parts)
    except ValueError:
        raise PdesymError(f"{flag} must be two sizes like 64x64, got {value!r}.") from None
    return a, b


def _stencil(value: str) -> tuple[int, int] | None:
    """'9x13' -> (9, 13); 'whole' -> None (one fit over the whole patch)."""
    return None if value.strip().lower() == "whole" else _pair(value, "--flow-stencil")


def _generators(value: str) -> int | None:
    if value.strip().lower() == "auto":
        return None
    try:
        k = int(value)
    except ValueError:
        raise PdesymError(f"--generators must be 'auto' or a positive integer, got {value!r}.") from None
    if k < 1:
        raise PdesymError(f"--generators must be 'auto' or a positive integer, got {value!r}.")
    return k


def _check_source(source: str, equation: str | None) -> None:
    """The cheap checks of the data source, before the first stage line: a preset or an existing
    dataset file of the right layout (metadata only), and a parsable --equation."""
    from pdesym.datasets import read_dataset
    from pdesym.equations import EQUATION_PRESETS

    path = Path(source)
    if not path.exists():
        if source.strip().lower() not in EQUATION_PRESETS:
            if "=" in source:  # a typed equation: discovery needs its data first
                raise PdesymError(
                    f"pdesym discover works on data; make some first with "
                    f"pdesym generate --equation '{source}' --out data/my.h5, then run pdesym discover data/my.h5 "
                    f"(or pdesym symmetries '{source}' for the exact algebra)."
                )
            raise PdesymError(f"{source!r} is neither a preset ({', '.join(EQUATION_PRESETS)}) nor an existing "
                              "dataset file.")
    else:
        read_dataset(path, check_finite=False).close()
    if equation:
        from pdesym.equations import get_equation

        get_equation(equation)


def _missing_hint(doc: dict, source: str) -> str | None:
    """What to try when the found span is smaller than the exact algebra (the report says how many)."""
    cos = doc.get("cosines") or {}
    ref, found = cos.get("reference_dimension"), len(cos.get("values") or [])
    if not isinstance(ref, int) or found >= ref:
        return None
    eq = (doc.get("equation") or {}).get("name") or (doc.get("equation") or {}).get("text") or source
    eq = f'"{eq}"' if " " in eq else eq
    n = ref - found
    head = (f"Hint: {n} of the {ref} exact generators {'was' if n == 1 else 'were'} not found; "
            f"'pdesym symmetries {eq}' shows them. ")
    if (doc.get("discovery") or {}).get("method") == "neural":
        return head + "--method both adds the null-space generators; other --steps or --seed may also help."
    return head + ("Generators outside monomials in x, t, u need --basis (e.g. 'sqrt(t+1), 1/sqrt(t+1)' or "
                   "'exp(t/50), exp(-t/50)'); a higher --degree or more --points may also help.")


def register(app: typer.Typer) -> None:
    """Add the ``discover`` command to the root app."""

    @app.command("discover", epilog=examples(
        "pdesym discover kdv --trajectories 2 --snapshots 20 --points 1500 --out runs/kdv",
        "pdesym discover data/kdv-small.h5 --method both --steps 800 --out runs/kdv-both",
        "pdesym discover ckdv --basis 'sqrt(t+1), 1/sqrt(t+1)' --format md",
        "pdesym discover kdv --paper --steps 800 --out runs/kdv-paper",
        "pdesym --json discover burgers --trajectories 2 --snapshots 20 --points 1500 --out runs/burgers --force"))
    @command_errors
    @interruptible("Interrupted; a neural run keeps its last checkpoint in the run folder: rerun the same "
                   "command with --resume to continue.")
    def discover(
        source: str = typer.Argument(..., help="A preset (kdv, ks, burgers, heat, nkdv, ckdv: a small dataset is "
                                               "generated and cached under data/) or a dataset file (.h5)."),
        equation: Optional[str] = typer.Option(None, "--equation", "-e",
                                               help="The data's equation, when the file does not record it."),
        method: str = typer.Option("nullspace", "--method", "-m",
                                   help="nullspace (fast, default), neural (MLP generators, ~1-3 min) or both."),
        degree: int = typer.Option(3, "--degree", "-d", help="Monomial degree of the dictionary / fitting basis."),
        basis: str = typer.Option("", "--basis", "-b", help="Extra basis functions, e.g. 'exp(t/50), sqrt(t+1)'."),
        generators: str = typer.Option("auto", "--generators", "-k",
                                       help="Neural: number of generators, or auto (choose K by the validity gap)."),
        max_generators: int = typer.Option(4, "--max-generators",
                                           help="Neural, automatic K: the largest K considered (d_max + 2 are trained; "
                                                "with --method both at least the null-space dimension)."),
        validity: str = typer.Option("infinitesimal", "--validity",
                                     help="infinitesimal (jets) or flow (finite flows of patches, per generator)."),
        steps: int = typer.Option(1200, "--steps", help="Neural training steps (Adam)."),
        polish: int = typer.Option(60, "--polish", help="Neural: full-batch L-BFGS iterations after the Adam steps "
                                                       "(0 = none); they converge the slowest symmetry."),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
        seed: int = typer.Option(0, "--seed", help="Seed of the data, the jet sample and the networks."),
        trajectories: int = typer.Option(8, "--trajectories", help="Trajectories used (and generated for a preset)."),
        snapshots: int = typer.Option(80, "--snapshots", help="Snapshots per generated trajectory (presets)."),
        nx: Optional[int] = typer.Option(None, "--nx", help="Grid points of generated trajectories (presets)."),
        points: int = typer.Option(4096, "--points", help="Jet samples drawn from the data."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default runs/<name>-<method>)."),
        force: bool = typer.Option(False, "--force", help="Start over in an existing run folder."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted neural run from its checkpoint."),
        checkpoint_every: int = typer.Option(100, "--checkpoint-every",
                                             help="Neural: write the checkpoint every this many steps."),
        paper: bool = typer.Option(False, "--paper",
                                   help="Ko, Kim & Lee's settings: neural generators, validity of RK4 finite flows "
                                        "of 16 patches of 64×64, 400 snapshots (sets --method, --validity, "
                                        "--snapshots)."),
        patches: Optional[int] = typer.Option(None, "--patches", help="Flow validity: patches sampled (default 64; "
                                                                      "--paper 16)."),
        patch_size: Optional[str] = typer.Option(None, "--patch-size", help="Flow validity: snapshots×points of a "
                                                                           "patch, e.g. 64x64 (default 9x13)."),
        flow_stencil: Optional[str] = typer.Option(None, "--flow-stencil",
                                                   help="Flow validity: fit stencil inside a patch, e.g. 9x13, or "
                                                        "'whole' for one fit per patch (default whole)."),
        flow_points: Optional[int] = typer.Option(None, "--flow-points",
                                                  help="Flow validity: interior stencils scored per patch (default 1)."),
        flow_steps: Optional[int] = typer.Option(None, "--flow-steps", help="Flow validity: integrator steps of "
                                                                          "exp(εV) (default 8)."),
        flow_method: Optional[str] = typer.Option(None, "--flow-method",
                                                  help="Flow validity: torchdiffeq method, e.g. rk4 (default), "
                                                       "dopri5, euler."),
        flow_eps: Optional[float] = typer.Option(None, "--flow-eps", help="Flow validity: ε as a fraction of the "
                                                                        "data scale (default 0.05)."),
        flow_degree_x: Optional[int] = typer.Option(None, "--flow-degree-x", help="Flow validity: polynomial degree "
                                                                                  "in x of the re-fit (default order+4)."),
        flow_degree_t: Optional[int] = typer.Option(None, "--flow-degree-t", help="Flow validity: polynomial degree "
                                                                                  "in t of the re-fit (default 3)."),
        flow_reduce: Optional[str] = typer.Option(None, "--flow-reduce", help="Flow validity: mean or median over "
                                                                            "points (default median)."),
        fmt: str = typer.Option("table", "--format", "-f", help="table, md, json or latex."),
    ) -> None:
        """Discover Lie point symmetries from data; verify them exactly; write runs/NAME/."""
        from pdesym.cli.report import FORMATS
        from pdesym.discovery.pipeline import DiscoverOptions, discover as run_discovery
        from pdesym.errors import check_choice
        from pdesym.report import RENDERERS, print_report

        check_choice("format", fmt, FORMATS)
        chosen = dict(method=method, degree=degree, basis=basis, generators=_generators(generators),
                      max_generators=max_generators, validity=validity, steps=steps, polish=polish, device=device,
                      seed=seed, trajectories=trajectories, snapshots=snapshots, nx=nx,
                      points=points, checkpoint_every=checkpoint_every)
        if paper:
            from pdesym.discovery.pipeline import PAPER_FLOW

            chosen.update(PAPER_FLOW)
            method = chosen["method"]
        # flow options given on the command line win over the defaults and over --paper's
        flow = {"patches": patches, "patch_size": None if patch_size is None else _pair(patch_size, "--patch-size"),
                "flow_stencil": None if flow_stencil is None else _stencil(flow_stencil),
                "flow_points": flow_points, "flow_steps": flow_steps, "flow_method": flow_method,
                "flow_eps": flow_eps, "flow_degree_x": flow_degree_x, "flow_degree_t": flow_degree_t,
                "flow_reduce": flow_reduce}
        given = {k: v for k, v in flow.items() if v is not None or (k == "flow_stencil" and flow_stencil is not None)}
        if given and chosen["validity"] != "flow":
            name = "--" + next(iter(given)).replace("_", "-")
            raise PdesymError(f"{name} sets the flow validity; add --validity flow (or --paper) or leave it out.")
        chosen.update(given)
        options = DiscoverOptions(**chosen).check()
        if out is None:
            out = Path("runs") / f"{Path(source).stem}-{method}"
        _check_source(source, equation)
        display = _Display(steps)
        try:
            result = run_discovery(source, equation=equation, options=options, out=out, force=force, resume=resume,
                                   progress=display)
        finally:
            display.close()
        from pdesym.distributed import current_context

        if not current_context().is_main:  # under torchrun rank 0 reports; the others only computed their share
            return
        doc = result.document
        if settings.json or fmt == "json":  # one document: the run's symmetries.json plus where it was written
            folder = Path(result.folder)
            emit({**doc, "run_folder": str(folder), "files": sorted(str(p) for p in folder.iterdir()
                                                                     if not p.name.startswith("."))})
            return
        if fmt == "table":
            print_report(doc, console, quiet=settings.quiet)
        else:
            text = RENDERERS[fmt](doc)
            console.print(text, markup=False, highlight=False, soft_wrap=True, end="" if text.endswith("\n") else "\n")
        if not settings.quiet:
            err_console.print(f"Wrote {result.folder}/ (symmetries.json, report.md, config.json, plots"
                              + (", checkpoint.pt" if method != "nullspace" else "") + ")", soft_wrap=True)
            hint = _missing_hint(doc, source)
            if hint:
                err_console.print(hint, soft_wrap=True, markup=False)
