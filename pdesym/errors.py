"""The one exception type that pdesym raises for bad user input.

Every message is one sentence that names what was wrong, what was expected and, where it
helps, how to fix it. The CLI prints it without a traceback and exits with code 1 (or 2 for
usage errors that typer/click catch first); library users catch :class:`PdesymError`.
"""

from __future__ import annotations

from typing import Iterable

__all__ = ["PdesymError", "check_choice"]


class PdesymError(ValueError):
    """Bad input to pdesym: an equation, a file, an option or a combination of them."""


def check_choice(kind: str, value: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise raise one clear sentence.

    One checker for every string choice (presets, methods, bases, validities), so that each
    message names the bad value and lists the valid ones in the same words.
    """
    names = sorted(choices)
    if value not in choices:
        raise PdesymError(f"Unknown {kind} {value!r}; choose one of: {', '.join(names)}.")
    return value
