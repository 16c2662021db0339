"""``pdesym augment``: transformed copies of a dataset's trajectories by (exact or learned) symmetries.

Thin: parse options, call :func:`pdesym.augment.augment_dataset` with a progress bar, print what
was written.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from pdesym.cli.output import LazyProgress, command_errors, console, emit, examples, settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``augment`` command to the root app."""

    @app.command("augment", epilog=examples(
        "pdesym augment data/kdv-small.h5 --symmetries kdv.json --copies 2 --scale 0.1 --out data/kdv-aug.h5",
        "pdesym augment data/kdv-small.h5 -s kdv.json -n 4 --scale X1=1,X3=0.1 -o data/kdv-aug.h5 --force",
        "pdesym --json augment data/kdv-small.h5 -s kdv.json -n 1 --scale 0.1 -o data/kdv-aug1.h5"))
    @command_errors
    def augment(
        file: Path = typer.Argument(..., help="Source dataset (.h5, LPSDA layout)."),
        symmetries: Path = typer.Option(..., "--symmetries", "-s",
                                        help="A pdesym-symmetries/1 file (pdesym symmetries/discover --out)."),
        copies: int = typer.Option(..., "--copies", "-n", help="Transformed copies per source trajectory."),
        scale: str = typer.Option(..., "--scale",
                                  help="Group-parameter scale: one number, one per generator (1,0.5,0.1) or "
                                       "X1=1,X3=0.1 (others 0); eps ~ U(-scale, scale)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output dataset (.h5)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the group parameters."),
        split: str = typer.Option("train", "--split", help="Which split of FILE to augment."),
        generators: str = typer.Option("all", "--generators", "-g",
                                       help="Generators to use: X1,X3 or names/texts from the file; default all."),
        composition: str = typer.Option("product", "--composition", help="product (exp(e_k V_k)...exp(e_1 V_1)) or "
                                                                          "sum (exp(sum e_i V_i))."),
        order: int = typer.Option(8, "--time-order", help="Points of the Lagrange interpolation in t."),
        chunk: int = typer.Option(16, "--chunk", help="Source trajectories transformed at a time."),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
        no_check: bool = typer.Option(False, "--no-equation-check",
                                      help="Do not refuse a symmetries file made for another equation."),
        force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    ) -> None:
        """Write COPIES transformed copies of every trajectory, resampled onto the stored grid, with provenance."""
        from pdesym.augment import augment_dataset

        if out.exists() and not force:  # before any work or progress bar
            from pdesym.errors import PdesymError

            raise PdesymError(f"{out} already exists; pass --force to overwrite it.")
        command = "pdesym " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        # The bar appears at the first chunk: augment_dataset validates every input before it.
        with LazyProgress() as bar:

            def tick(done: int, total: int) -> None:
                bar.update("Augmenting", done, total, status=f"{done} of {total} source trajectories")

            summary = augment_dataset(file, symmetries, out, copies=copies, scales=scale, seed=seed, split=split,
                                      generators=generators, composition=composition, order=order, chunk=chunk,
                                      device=device, force=force, check_equation=not no_check, progress=tick,
                                      command=command)
        if settings.json:
            emit({"file": str(summary.path), "split": summary.split, "source": str(file),
                  "source_trajectories": summary.n_source, "copies": summary.copies,
                  "trajectories": summary.n_source * summary.copies, "shape": [summary.n_source * summary.copies,
                                                                               summary.nt, summary.nx],
                  "cropped_snapshots": summary.cropped, "scales": list(summary.scales),
                  "generators": summary.generators, "seed": seed})
            return
        if settings.quiet:
            console.print(str(summary.path))
            return
        gens = ", ".join(f"{g['index']} = {g['text']} (scale {g['scale']:g}, {g['flow']})" for g in summary.generators)
        console.print(f"Wrote {summary.path}: split {summary.split!r}, {summary.n_source * summary.copies} "
                      f"trajectories ({summary.n_source} x {summary.copies} copies) of {summary.nt} x {summary.nx}.",
                      soft_wrap=True)
        console.print(f"Generators: {gens}.", soft_wrap=True)
        if summary.cropped:
            console.print(f"Time shifts: every sample cropped to {summary.nt} snapshots ({summary.cropped} dropped).")
