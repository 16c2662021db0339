"""``pdesym report RUN``: re-render a discovery run (or any symmetries JSON) as md, json, latex or a table.

Thin: :func:`pdesym.report.load_run` reads and validates, :data:`pdesym.report.RENDERERS`
renders. ``--out`` writes the text atomically (never over an existing file without --force).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pdesym.cli.output import command_errors, console, err_console, settings
from pdesym.errors import PdesymError, check_choice

__all__ = ["register", "FORMATS"]

#: Output formats of ``pdesym report``.
FORMATS = {"table": "rich tables in the terminal", "md": "Markdown", "json": "the run's JSON document",
           "latex": "LaTeX tables"}


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the root app."""

    @app.command("report")
    @command_errors
    def report(
        run: Path = typer.Argument(..., help="A run folder (runs/NAME) or a symmetries JSON file."),
        fmt: str = typer.Option("md", "--format", "-f", help="md, json, latex or table."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the rendered text to this file."),
        force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    ) -> None:
        """Render a discovery run's report: generators, verified, validity, cosines, timings."""
        from pdesym.report import RENDERERS, load_run, print_report
        from pdesym.runs import write_text_atomic

        check_choice("format", fmt, FORMATS)
        if out is not None and out.exists() and not force:
            raise PdesymError(f"{out} already exists; pass --force to overwrite it.")
        doc = load_run(run)
        if fmt == "table":
            if out is not None:
                raise PdesymError("--format table prints to the terminal; use md, json or latex with --out.")
            print_report(doc, console, quiet=settings.quiet)
            return
        text = RENDERERS[fmt](doc)
        if out is not None:
            if not out.parent.is_dir():
                raise PdesymError(f"The folder {out.parent} does not exist; create it or choose another --out.")
            write_text_atomic(out, text if text.endswith("\n") else text + "\n")
            if not settings.quiet:
                err_console.print(f"Wrote {out}")
        else:
            console.print(text, markup=False, highlight=False, soft_wrap=True, end="" if text.endswith("\n") else "\n")
