"""Choose the generators to augment with from a ``pdesym-symmetries/1`` file and check that they
belong to the data's equation."""

from __future__ import annotations

import os
from typing import Sequence

import sympy as sp

from pdesym.augment.group import GroupAction
from pdesym.equations import Equation
from pdesym.errors import PdesymError
from pdesym.symbolic.result import Generator, SymmetryResult

__all__ = ["load_symmetries", "same_equation", "select_generators", "action_from_result"]


def load_symmetries(path: str | os.PathLike) -> SymmetryResult:
    """Read a symmetries file (one clear sentence when it is missing, malformed or empty)."""
    result = SymmetryResult.load(path)
    if not result.generators:
        raise PdesymError(f"{path} lists no generators; there is nothing to augment with.")
    return result


def same_equation(a: Equation, b: Equation) -> bool:
    """True when both equations have the same solved form (leading derivative and right-hand side,
    parameter values substituted)."""
    if a.leading != b.leading:
        return False
    try:
        return sp.simplify(a.rhs_numeric - b.rhs_numeric) == 0
    except PdesymError:  # a parameter without a value: compare the symbolic forms
        return sp.simplify(a.rhs - b.rhs) == 0 and dict(a.params) == dict(b.params)


def select_generators(result: SymmetryResult, which: str | Sequence[str] | None = None) -> list[tuple[int, Generator]]:
    """The generators named in ``which`` (``"X1,X3"``, names such as ``"Galilean boost"``, or texts
    such as ``"t∂x + ∂u"``); all of them when ``which`` is None or ``"all"``. Returns (index, generator)."""
    gens = list(result.generators)
    if which is None or (isinstance(which, str) and which.strip().lower() in ("", "all")):
        return list(enumerate(gens))
    keys = [s.strip() for s in which.split(",")] if isinstance(which, str) else [str(s).strip() for s in which]
    chosen: list[tuple[int, Generator]] = []
    for key in keys:
        if not key:
            continue
        index = None
        if key.upper().startswith("X") and key[1:].isdigit():
            index = int(key[1:]) - 1
            if not 0 <= index < len(gens):
                raise PdesymError(f"There is no generator {key}; the symmetries file has X1..X{len(gens)}.")
        else:
            for i, g in enumerate(gens):
                if key in (g.name, g.field.text()):
                    index = i
                    break
        if index is None:
            listed = ", ".join(f"X{i + 1} = {g.field.text()}" + (f" ({g.name})" if g.name else "")
                               for i, g in enumerate(gens))
            raise PdesymError(f"No generator {key!r} in the symmetries file; it has {listed}.")
        if index not in [i for i, _ in chosen]:
            chosen.append((index, gens[index]))
    if not chosen:
        raise PdesymError("No generator was chosen; name at least one, e.g. --generators X1,X3.")
    return chosen


def action_from_result(result: SymmetryResult, which: str | Sequence[str] | None = None, *,
                       composition: str = "product", numeric: bool = False, method: str = "rk4",
                       steps: int = 16) -> tuple[GroupAction, list[tuple[int, Generator]]]:
    """The group action of the chosen generators (closed-form flows where sympy integrates them)."""
    chosen = select_generators(result, which)
    names = [g.name or f"X{i + 1}" for i, g in chosen]
    failing = [i for i, g in chosen if g.verified is False]
    if failing:
        # approximate fields print as long float polynomials: name them only, and say which to keep
        keep = ",".join(f"X{i + 1}" for i, _ in chosen if i not in failing)
        raise PdesymError(
            f"Generator{'s' if len(failing) > 1 else ''} {', '.join(f'X{i + 1}' for i in failing)} "
            f"failed exact verification (approximate field{'s' if len(failing) > 1 else ''}); "
            + (f"leave {'them' if len(failing) > 1 else 'it'} out with --generators {keep}." if keep
               else "no verified generator is left to use.")
        )
    action = GroupAction.from_fields([g.field for _, g in chosen], names=names, composition=composition,
                                     numeric=numeric, method=method, steps=steps)
    return action, chosen
