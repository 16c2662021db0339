"""The ``pdesym`` program: a root typer app that each command module registers itself on."""

from __future__ import annotations

import importlib
import os

import torch
import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from pdesym import __version__
from pdesym.cli.output import console, emit, examples, settings


class _RootGroup(TyperGroup):
    """The root command group: under ``--json``, usage errors that click finds while parsing a
    command's options (a missing option, a bad number, an unknown command) are answered with
    ``{"error": ...}`` on stdout too, like every other failure."""

    def invoke(self, ctx):
        if ctx.params.get("json_out"):
            args = [*ctx._protected_args, *ctx.args]
            sub = self.get_command(ctx, args[0]) if args else None
            if isinstance(sub, TyperGroup) and len(args) == 1:  # 'pdesym --json images': no help text
                emit({"error": f"Missing command after 'pdesym {args[0]}'; choose one of: "
                               f"{', '.join(sub.list_commands(ctx))}."})
                raise typer.Exit(2)
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise
        except ClickException as exc:
            if not ctx.params.get("json_out"):
                raise
            emit({"error": exc.format_message()})
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="pdesym",
    cls=_RootGroup,
    help="Find, prove and use the Lie point symmetries of PDEs and of data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    epilog=examples(
        "pdesym generate kdv --n-train 8 --n-valid 2 --n-test 2 --out data/kdv-small.h5",
        "pdesym symmetries kdv --out kdv.json",
        "pdesym discover kdv --trajectories 2 --snapshots 20 --points 1500 --out runs/kdv",
        "pdesym --json report runs/kdv",
    ),
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


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        if ctx.params.get("json_out"):  # --json is eager too, so it is parsed first when given first
            emit({"version": __version__})
        else:
            typer.echo(f"pdesym {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars, status lines or messages; only the result (table, report or file)."),
    json_out: bool = typer.Option(False, "--json", is_eager=True, help="For scripts: print exactly one JSON document on stdout "
                                                        "(the result, or {\"error\": ...} with exit code != 0)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    threads: int = typer.Option(
        int(os.environ.get("PDESYM_THREADS", "1")), "--threads", min=1,
        help="Torch CPU threads (env PDESYM_THREADS). One is fastest for pdesym's small batched FFTs "
             "on a shared machine; raise it for big batches on idle cores."),
) -> None:
    """Find, prove and use the Lie point symmetries of PDEs and of data."""
    settings.debug = debug or os.environ.get("PDESYM_DEBUG", "") not in ("", "0")
    settings.quiet = quiet or json_out  # no progress bars or status lines for scripts
    settings.json = json_out
    # Silence every rich print to stdout; the command writes its one document with emit().
    # Reset on every invocation (the app runs many times in one process under tests).
    console.quiet = json_out
    # Measured on a loaded 2-core box: two intra-op threads made generation and discovery 10-30x
    # slower than one (they fight other processes for the cores); one thread loses little when idle.
    torch.set_num_threads(threads)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point."""
    app()
