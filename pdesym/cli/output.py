"""What every command shares: the rich consoles, the error boundary and the progress bar.

Commands stay thin: they parse options, call the library and print with rich. The
:func:`command_errors` boundary turns every expected failure into one sentence on stderr and a
non-zero exit code, with the traceback only under ``--debug`` (or ``PDESYM_DEBUG=1``).
"""

from __future__ import annotations

import functools
import os
import traceback
from typing import Callable, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pdesym.errors import PdesymError

__all__ = ["console", "err_console", "command_errors", "progress_bar", "fail", "settings"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class _Settings:
    """Process-wide CLI switches set by the root callback."""

    debug: bool = os.environ.get("PDESYM_DEBUG", "") not in ("", "0")
    quiet: bool = False


settings = _Settings()

F = TypeVar("F", bound=Callable)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one sentence to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]Error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


def command_errors(fn: F) -> F:
    """Decorate a command so that failures become one clear sentence and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise fail("Interrupted; no partial output was left under the target name.", 130) from None
        except PdesymError as exc:
            if settings.debug:
                err_console.print(traceback.format_exc())
            raise fail(str(exc)) from None
        except OSError as exc:  # unwritable or missing paths, full disks, files that HDF5 cannot open
            if settings.debug:
                err_console.print(traceback.format_exc())
            where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
            reason = str(exc.strerror or exc).strip().rstrip(".").split("\n")[0]
            raise fail(f"Cannot access{where}: {reason}.") from None
        except Exception as exc:  # a bug: say so honestly, keep the traceback one flag away
            if settings.debug:
                err_console.print(traceback.format_exc())
            raise fail(
                f"Internal error ({type(exc).__name__}: {exc}); rerun with --debug for the traceback "
                "and please report it."
            ) from None

    return wrapper  # type: ignore[return-value]


def progress_bar(*, transient: bool = False) -> Progress:
    """A rich progress bar on stderr (silent under --quiet)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
        disable=settings.quiet,
    )
