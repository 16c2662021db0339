"""``pdesym symmetries``: the exact Lie point symmetry algebra of an equation.

Thin: parse options, call :func:`pdesym.symbolic.find_symmetries`, print a rich table (or
Markdown, JSON, LaTeX), and optionally write the ``pdesym-symmetries/1`` JSON file that
``pdesym augment`` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from pdesym.cli.output import command_errors, console, emit, err_console, examples, settings
from pdesym.errors import check_choice

__all__ = ["register", "FORMATS"]

#: Output formats of ``pdesym symmetries``.
FORMATS = {
    "table": "rich tables in the terminal",
    "md": "Markdown report",
    "json": "the pdesym-symmetries/1 JSON (what --out writes)",
    "latex": "LaTeX align* and tabular",
}


def _print_table(result) -> None:
    eq = result.equation
    table = Table(title=f"Lie point symmetries of {eq.label}" if eq is not None else "Lie point symmetries",
                  title_justify="left", show_lines=False)
    table.add_column("", style="bold")
    table.add_column("generator")
    table.add_column("name", style="cyan")
    table.add_column("verified")
    for i, g in enumerate(result.generators):
        ok = {True: "[green]✓ exact[/]", False: "[red]✗ fails[/]", None: "[yellow]not checked[/]"}[g.verified]
        table.add_row(f"X{i + 1}", g.field.text(), g.name, ok)
    console.print(table)
    if result.families:
        console.print("[bold]Infinite-dimensional families[/]")
        for f in result.families:
            ok = {True: "[green]✓ exact[/]", False: "[red]✗ fails[/]", None: "[yellow]not checked[/]"}[f.verified]
            console.print(f"  {f.text()}  {ok}", soft_wrap=True)
    rows = result.commutator_rows()
    if rows and not settings.quiet:
        ct = Table(title="Commutators [Xi, Xj]", title_justify="left")
        ct.add_column("", style="bold")
        for j in range(len(rows)):
            ct.add_column(f"X{j + 1}", justify="center")
        for i, row in enumerate(rows):
            ct.add_row(f"X{i + 1}", *row)
        console.print(ct)
    if not settings.quiet:
        for note in result.notes:
            console.print(f"[yellow]Note:[/] {note}", soft_wrap=True)
        console.print(f"[bold]{result.summary()}[/]")


def register(app: typer.Typer) -> None:
    """Add the ``symmetries`` command to the root app."""

    @app.command("symmetries", epilog=examples(
        "pdesym symmetries kdv",
        "pdesym symmetries kdv --out kdv.json",
        "pdesym symmetries 'u_t = nu*u_xx - u*u_x, nu=0.01' --format md",
        "pdesym symmetries ckdv --method ansatz --basis 'sqrt(t+1), 1/sqrt(t+1)' --out ckdv.json",
        "pdesym --json symmetries burgers"))
    @command_errors
    def symmetries(
        equation: str = typer.Argument(..., help="A preset (kdv, ks, burgers, heat, nkdv, ckdv) or an equation "
                                                 "such as 'u_t + u*u_x + u_xxx = 0' or 'u_t = nu*u_xx, nu=0.01'."),
        method: str = typer.Option("direct", "--method", "-m",
                                   help="direct (differential elimination, complete) or ansatz (basis of degree --degree)."),
        degree: int = typer.Option(3, "--degree", "-d", help="Monomial degree of the ansatz (1 to 8)."),
        basis: str = typer.Option("", "--basis", "-b", help="Extra ansatz functions, e.g. 'exp(t/50), sqrt(t+1)'."),
        fmt: str = typer.Option("table", "--format", "-f", help="table, md, json or latex."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the JSON result to this file."),
        force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    ) -> None:
        """Exact Lie point symmetries: generators, infinite families, commutators, each checked."""
        from pdesym.symbolic import METHODS, find_symmetries

        check_choice("method", method, METHODS)
        check_choice("format", fmt, FORMATS)
        if out is not None and out.exists() and not force:
            from pdesym.errors import PdesymError

            raise PdesymError(f"{out} already exists; pass --force to overwrite it.")
        # Parse everything before the spinner starts, so a bad input is one sentence under no status line.
        from pdesym.symbolic.ansatz import MAX_DEGREE, parse_basis
        from pdesym.symbolic.determining import as_equation

        if not 1 <= degree <= MAX_DEGREE:
            from pdesym.errors import PdesymError

            raise PdesymError(f"The ansatz degree must be an integer from 1 to {MAX_DEGREE}, got {degree!r}.")
        parse_basis(basis or None)
        eq = as_equation(equation)
        with err_console.status("Solving the determining equations…", spinner="dots") if not settings.quiet else _null():
            result = find_symmetries(eq, method=method, degree=degree, basis=basis or None)
        if out is not None:
            result.save(out, force=force)
        if settings.json:  # the same document as --format json (what --out writes)
            emit(result.to_dict())
        elif fmt == "table":
            _print_table(result)
        elif fmt == "md":
            console.print(result.to_markdown(), markup=False, highlight=False, soft_wrap=True, end="")
        elif fmt == "json":
            console.print(result.to_json(), markup=False, highlight=False, soft_wrap=True)
        else:
            console.print(result.to_latex(), markup=False, highlight=False, soft_wrap=True, end="")
        if out is not None and not settings.quiet:
            err_console.print(f"Wrote {out}")


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
