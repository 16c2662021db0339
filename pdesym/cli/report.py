"""``pdesym report RUN``: re-render a discovery run (or any symmetries JSON) as md, json, latex or a table.

Thin: :func:`pdesym.report.load_run` reads and validates, :data:`pdesym.report.RENDERERS`
renders. ``--out`` writes the text atomically (never over an existing file without --force).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pdesym.cli.output import command_errors, console, emit, err_console, examples, settings
from pdesym.errors import PdesymError, check_choice

__all__ = ["register", "FORMATS"]

#: Output formats of ``pdesym report``.
FORMATS = {"table": "rich tables in the terminal", "md": "Markdown", "json": "the run's JSON document",
           "latex": "LaTeX tables"}


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the root app."""

    @app.command("report", epilog=examples(
        "pdesym report runs/kdv",
        "pdesym report runs/kdv --format latex --out kdv.tex",
        "pdesym report runs/images-semola --format md --plots runs/images-semola/plots",
        "pdesym --json report runs/kdv"))
    @command_errors
    def report(
        run: Path = typer.Argument(..., help="A run folder (runs/NAME) or a symmetries JSON file."),
        fmt: str = typer.Option("md", "--format", "-f", help="md, json, latex or table (rich tables)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the rendered text to this file."),
        plots: Optional[Path] = typer.Option(None, "--plots", "-p",
                                             help="Also draw the plots (fields, cosines, spectrum or accuracy) as "
                                                  "PNG files into this folder."),
        force: bool = typer.Option(False, "--force", help="Overwrite --out or the plot files if they exist."),
    ) -> None:
        """Render a run's report as Markdown, JSON, LaTeX or rich tables, and its plots.

        Runs of pdesym discover, images discover and images semola alike (or any symmetries JSON):
        generators, verified, validity, cosines, discovery facts and timings."""
        from pdesym.report import RENDERERS, load_run, plot_names, print_report, render_plots
        from pdesym.runs import write_text_atomic

        check_choice("format", fmt, FORMATS)
        if settings.json:
            fmt = "json"  # --json prints the document itself, exactly what --format json prints
        if out is not None and out.exists() and not force:
            raise PdesymError(f"{out} already exists; pass --force to overwrite it.")
        if fmt == "table" and out is not None:
            raise PdesymError("--format table prints to the terminal; use md, json or latex with --out.")
        if out is not None and not out.parent.is_dir():
            raise PdesymError(f"The folder {out.parent} does not exist; create it or choose another --out.")
        doc = load_run(run)
        if plots is not None:
            if plots.exists() and not plots.is_dir():
                raise PdesymError(f"{plots} exists and is not a folder; choose another --plots.")
            clash = [plots / n for n in plot_names(doc) if (plots / n).exists()]
            if clash and not force:
                raise PdesymError(f"{clash[0]} already exists; pass --force to overwrite the plots.")
        written = render_plots(doc, plots) if plots is not None else []
        if settings.json:
            extra = {}
            if out is not None:
                write_text_atomic(out, RENDERERS["json"](doc) + "\n")
                extra["out"] = str(out)
            if plots is not None:
                extra["plots"] = [str(p) for p in written]
            emit({**doc, **extra})
            return
        if written and not settings.quiet:
            err_console.print(f"Wrote {', '.join(map(str, written))}", soft_wrap=True)
        if fmt == "table":
            print_report(doc, console, quiet=settings.quiet)
            return
        text = RENDERERS[fmt](doc)
        if out is not None:
            write_text_atomic(out, text if text.endswith("\n") else text + "\n")
            if not settings.quiet:
                err_console.print(f"Wrote {out}")
        else:
            console.print(text, markup=False, highlight=False, soft_wrap=True, end="" if text.endswith("\n") else "\n")
