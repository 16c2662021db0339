"""SIGTERM handled like Ctrl-C in long commands, so an interrupted run cleans up and can be resumed.

A batch scheduler, ``torchrun`` or ``kill`` stops a process with SIGTERM, whose default action ends
Python at once: no ``finally``, no removal of temporary files. While a :class:`SignalInterrupts`
is active, SIGTERM and SIGINT both raise ``KeyboardInterrupt``, so every atomic write removes its
temporary file, the last checkpoint stays, and the command ends with one sentence and exit 130.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
from typing import Callable, TypeVar

from pdesym.cli.output import fail

__all__ = ["SignalInterrupts", "interruptible"]

F = TypeVar("F", bound=Callable)


class SignalInterrupts:
    """SIGTERM and SIGINT raise ``KeyboardInterrupt`` while the context is active.

    The request is also remembered and re-raised by :meth:`check`, because Python drops an
    exception raised while the signal interrupts a finaliser (``__del__``, e.g. of an h5py object):
    callers that run in chunks call :meth:`check` between chunks so the interrupt is not lost.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}

    def _handler(self, signum, frame):  # noqa: ARG002
        self.requested = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if a signal arrived (and was swallowed somewhere)."""
        if self.requested:
            raise KeyboardInterrupt

    def __enter__(self) -> "SignalInterrupts":
        if threading.current_thread() is threading.main_thread():  # signals can only be set there
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handler)
        self._unraisable = sys.unraisablehook
        sys.unraisablehook = self._swallowed
        return self

    def _swallowed(self, unraisable) -> None:
        # our KeyboardInterrupt dropped inside a finaliser: check() re-raises it, so Python's
        # "Exception ignored in ..." traceback would only frighten the user
        if not (self.requested and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            self._unraisable(unraisable)

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
        sys.unraisablehook = self._unraisable


def interruptible(message: str) -> Callable[[F], F]:
    """Decorate a command (under ``@command_errors``): SIGTERM/SIGINT end it with ``message``, exit 130."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                with SignalInterrupts():
                    return fn(*args, **kwargs)
            except KeyboardInterrupt:
                raise fail(message, 130) from None

        return wrapper  # type: ignore[return-value]

    return decorate
