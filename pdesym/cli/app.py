"""The ``pdesym`` program: a root typer app that each command module registers itself on."""

from __future__ import annotations

import importlib
import os

import torch
import typer

from pdesym import __version__
from pdesym.cli.output import console, settings

app = typer.Typer(
    name="pdesym",
    help="Find, prove and use the Lie point symmetries of PDEs and of data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

#: Command modules, each with ``register(app)``; the order is the order of ``pdesym --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "pdesym.cli.symmetries",
    "pdesym.cli.data",
    "pdesym.cli.symmetries",
    "pdesym.cli.augment",
    "pdesym.cli.benchmark",
    "pdesym.cli.images",
    "pdesym.cli.discover",
    "pdesym.cli.report",
    "pdesym.cli.images",
)


def _version(value: bool) -> None:
    if value:
        console.print(f"pdesym {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or tables; results only."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    threads: int = typer.Option(
        int(os.environ.get("PDESYM_THREADS", "1")), "--threads", min=1,
        help="Torch CPU threads (env PDESYM_THREADS). One is fastest for pdesym's small batched FFTs "
             "on a shared machine; raise it for big batches on idle cores."),
) -> None:
    """Find, prove and use the Lie point symmetries of PDEs and of data."""
    settings.debug = debug or os.environ.get("PDESYM_DEBUG", "") not in ("", "0")
    settings.quiet = quiet
    # Measured on a loaded 2-core box: two intra-op threads made generation and discovery 10-30x
    # slower than one (they fight other processes for the cores); one thread loses little when idle.
    torch.set_num_threads(threads)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point."""
    app()
