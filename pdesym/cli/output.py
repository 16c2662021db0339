"""What every command shares: the rich consoles, the error boundary and the progress bar.

Commands stay thin: they parse options, call the library and print with rich. The
:func:`command_errors` boundary turns every expected failure into one sentence on stderr and a
non-zero exit code, with the traceback only under ``--debug`` (or ``PDESYM_DEBUG=1``).

Under the root option ``--json`` every command prints exactly one JSON document on stdout
(:func:`emit`): its result, or ``{"error": "<sentence>"}`` with a non-zero exit code. The rich
``console`` is silenced then and progress bars are off, so nothing else reaches stdout.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from typing import Any, Callable, Mapping, TypeVar

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
from pdesym.runs import jsonable  # re-exported: commands build their --json documents with it

__all__ = ["console", "err_console", "command_errors", "progress_bar", "fail", "settings", "emit", "jsonable",
           "examples", "LazyProgress"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class _Settings:
    """Process-wide CLI switches set by the root callback."""

    debug: bool = os.environ.get("PDESYM_DEBUG", "") not in ("", "0")
    quiet: bool = False
    json: bool = False


settings = _Settings()

F = TypeVar("F", bound=Callable)


def emit(doc: Mapping[str, Any]) -> None:
    """Write one JSON document (one line) to stdout: the result of a command under ``--json``.

    Plain ``sys.stdout``, not rich: no markup, no wrapping, no colour codes."""
    sys.stdout.write(json.dumps(jsonable(doc), ensure_ascii=False) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one sentence to stderr (under ``--json``: ``{"error": ...}`` on stdout) and return the Exit to raise."""
    if settings.json:
        emit({"error": message})
    else:
        err_console.print(f"[bold red]Error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


def examples(*lines: str) -> str:
    """The ``Examples:`` epilog of a command's ``--help``: one command line per paragraph."""
    from rich.markup import escape

    return "[bold]Examples:[/]\n\n" + "\n\n".join(f"  [cyan]{escape(line)}[/]" for line in lines)


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


class LazyProgress:
    """Progress bars that appear only at the first update, one task per stage name.

    Commands validate their inputs first and only then report progress; starting the bars lazily
    keeps a bad input's one sentence from appearing under an empty bar when a library function
    validates and works in one call. Use as a context manager; call ``update(stage, done, total)``.
    """

    def __init__(self, *, transient: bool = False) -> None:
        self.bar = progress_bar(transient=transient)
        self.tasks: dict[str, Any] = {}
        self.started = False

    def update(self, stage: str, done: int, total: int | None, status: str = "") -> None:
        """Start the display if needed and set ``stage``'s bar to ``done`` of ``total``."""
        if not self.started:
            self.bar.start()
            self.started = True
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total, status=status)
        self.bar.update(self.tasks[stage], completed=done, total=total, status=status)

    def __enter__(self) -> "LazyProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.bar.stop()
