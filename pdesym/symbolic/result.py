r"""The result of a symmetry computation and its JSON file format ``pdesym-symmetries/1``.

``pdesym symmetries`` and ``pdesym discover`` write this file; ``pdesym augment`` reads it.
All expressions are exact sympy strings (``sympy.sstr``) in the real symbols x, t, u of
:mod:`pdesym.equations`; read them with :func:`pdesym.symbolic.vectorfield.read_expression`
(or ``sympy.sympify(s, locals={"x": X, "t": T, "u": U})`` plus real symbols for the equation's
parameter names, which the ``equation`` record lists).

Format (keys in this order; ``null`` where a value does not apply)::

    {
      "format": "pdesym-symmetries/1",
      "pdesym_version": "0.1.0",
      "equation": {"name": "kdv", "text": "u_t + u*u_x + u_xxx = 0", "params": {"nu": "1/100"}},
      "method": "direct",            # what was asked: direct | ansatz | nullspace | neural | ...
      "solver": "direct",            # what produced the generators (after any fallback)
      "degree": 3, "basis": ["exp(t/50)"],
      "complete": true,              # true: the whole algebra (direct method closed);
                                     # false: only what the basis / data could show
      "dimension": 4,                # number of generators (finite part)
      "generators": [
        {"name": "translation in x",             # from the field's form; "" if none fits
         "xi": "1", "tau": "0", "phi": "0",       # ξ, τ, φ (exact sympy strings)
         "text": "∂x", "latex": "\\partial_x",
         "verified": true,                        # exact re-substitution; null = not checked
         "source": "exact",                       # exact | nullspace | neural | fit
         "validity": null}                        # a data-driven validity score, if any
      ],
      "families": [                               # infinite-dimensional parts
        {"xi": "0", "tau": "0", "phi": "beta(x, t)",
         "functions": [{"name": "beta", "variables": ["x", "t"]}],
         "conditions": ["Derivative(beta(x, t), t) - Derivative(beta(x, t), (x, 2))/100"],
         "text": "β∂u with β = β(x, t), 100β_t − β_xx = 0", "verified": true}
      ],
      "commutators": {"closed": true,             # every bracket in the span
                      "table": [[["0", "0", ...], ...], ...],   # coordinates of [X_i, X_j]
                      "text": [["0", "X1", ...], ...]},
      "seconds": 0.31,
      "notes": ["..."]
    }
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import sympy as sp

from pdesym.atomic import atomic_write
from pdesym.equations import T, U, X, Equation
from pdesym.errors import PdesymError
from pdesym.symbolic.algebra import StructureConstants, structure_constants
from pdesym.symbolic.vectorfield import VectorField, read_expression

__all__ = ["FORMAT", "SOURCES", "Generator", "Family", "SymmetryResult"]

FORMAT = "pdesym-symmetries/1"
#: Where a generator came from.
SOURCES = {
    "exact": "solved from the determining equations",
    "nullspace": "null space of a data-driven linear system",
    "neural": "learned generator (neural network)",
    "fit": "closed form fitted to a learned generator",
}
_VAR_NAMES = {"x": X, "t": T, "u": U}


@dataclass(frozen=True)
class Generator:
    """One generator: the field, a name from its form, whether it is verified, where it came from."""

    field: VectorField
    name: str = ""
    verified: bool | None = None
    source: str = "exact"
    validity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the name, the components (sympy strings) and how the generator was obtained."""
        return {
            "name": self.name,
            **self.field.to_dict(),
            "text": self.field.text(),
            "latex": self.field.latex(),
            "verified": self.verified,
            "source": self.source,
            "validity": self.validity,
        }


@dataclass(frozen=True)
class Family:
    r"""An infinite-dimensional family of symmetries: a field linear in arbitrary functions.

    ``field`` has components in ``functions`` (applied sympy functions such as ``beta(x, t)``);
    every choice of them that satisfies all ``conditions`` (expressions = 0) is a symmetry.
    """

    field: VectorField
    functions: tuple[sp.Expr, ...]
    conditions: tuple[sp.Expr, ...]
    verified: bool | None = None

    def text(self) -> str:
        """``β∂u with β = β(x, t), 100β_t − β_xx = 0``."""
        from pdesym.symbolic.printing import expr_text, symbol_text

        names = ", ".join(f"{symbol_text(f.func.__name__)} = {symbol_text(f.func.__name__)}({', '.join(map(str, f.args))})"
                          for f in self.functions)
        conds = "; ".join(f"{expr_text(c)} = 0" for c in self.conditions)
        return f"{self.field.text()} with {names}" + (f", {conds}" if conds else " arbitrary")

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the components, the arbitrary functions with their variables, their conditions."""
        return {
            **self.field.to_dict(),
            "functions": [{"name": f.func.__name__, "variables": [str(a) for a in f.args]} for f in self.functions],
            "conditions": [sp.sstr(c) for c in self.conditions],
            "text": self.text(),
            "verified": self.verified,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], symbols: Mapping[str, sp.Basic]) -> "Family":
        """Inverse of :meth:`to_dict`; ``symbols`` maps names in the components to sympy symbols."""
        funcs = []
        local = dict(symbols)
        for item in data["functions"]:
            name, variables = item["name"], item["variables"]
            if not isinstance(name, str) or not name.isidentifier() or not all(v in _VAR_NAMES for v in variables):
                raise ValueError(f"bad family function {item!r}")
            local[name] = sp.Function(name)
            funcs.append(sp.Function(name)(*(_VAR_NAMES[v] for v in variables)))
        fld = VectorField.from_dict(data, local)
        conds = tuple(read_expression(str(c), local) for c in data.get("conditions", []))
        return cls(fld, tuple(funcs), conds, data.get("verified"))


@dataclass(frozen=True)
class SymmetryResult:
    """Generators (finite part), infinite families, commutators and how they were found."""

    equation: Equation | None
    generators: tuple[Generator, ...]
    families: tuple[Family, ...] = ()
    structure: StructureConstants | None = None
    method: str = "direct"
    solver: str = "direct"
    degree: int | None = None
    basis: tuple[str, ...] = ()
    complete: bool = False
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    # ------------------------------------------------------------------ derived
    @property
    def dimension(self) -> int:
        """Number of generators of the finite part."""
        return len(self.generators)

    @property
    def infinite(self) -> bool:
        """True when infinite-dimensional families were found."""
        return bool(self.families)

    @property
    def fields(self) -> list[VectorField]:
        """The generators' vector fields."""
        return [g.field for g in self.generators]

    def with_structure(self) -> "SymmetryResult":
        """A copy with the commutator table computed (exact, from the generators)."""
        return replace(self, structure=structure_constants(self.fields))

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """One line: ``4 generators (complete), 1 infinite family, direct method, 0.31 s``."""
        parts = [f"{self.dimension} generator{'s' if self.dimension != 1 else ''}"
                 + (" (complete algebra)" if self.complete else " (within the ansatz space)" if self.solver == "ansatz" else "")]
        if self.families:
            parts.append(f"{len(self.families)} infinite-dimensional famil{'ies' if len(self.families) > 1 else 'y'}")
        parts.append(f"{self.solver} method" + (f" (asked: {self.method})" if self.method != self.solver else ""))
        parts.append(f"{self.seconds:.2f} s")
        return ", ".join(parts)

    def commutator_rows(self) -> list[list[str]]:
        """The commutator table as text, ``rows[i][j]`` = [X_i, X_j]."""
        if self.structure is None:
            return []
        names = [f"X{i + 1}" for i in range(self.dimension)]
        return [[self.structure.bracket_text(i, j, names) for j in range(self.dimension)] for i in range(self.dimension)]

    def to_markdown(self) -> str:
        """A Markdown report: generators, families, commutators, notes."""
        eq = self.equation
        title = f"# Lie point symmetries of {eq.label if eq is not None else 'the data'}"
        lines = [title, ""]
        if eq is not None:
            lines += [f"Equation: `{eq}`" + (f" ({', '.join(f'{k} = {v}' for k, v in eq.params.items() if v is not None)})"
                                              if any(v is not None for v in eq.params.values()) else ""), ""]
        lines += [f"{self.summary()}.", "", "| | generator | name | verified |", "|---|---|---|---|"]
        for i, g in enumerate(self.generators):
            ok = {True: "yes", False: "**no**", None: "not checked"}[g.verified]
            lines.append(f"| X{i + 1} | {g.field.text()} | {g.name} | {ok} |")
        if self.families:
            lines += ["", "## Infinite-dimensional families", ""]
            for f in self.families:
                ok = {True: "verified", False: "**not verified**", None: "not checked"}[f.verified]
                lines.append(f"- {f.text()} ({ok})")
        rows = self.commutator_rows()
        if rows:
            lines += ["", "## Commutators [X_i, X_j]", "", "| | " + " | ".join(f"X{j + 1}" for j in range(len(rows))) + " |",
                      "|---" * (len(rows) + 1) + "|"]
            for i, row in enumerate(rows):
                lines.append(f"| X{i + 1} | " + " | ".join(row) + " |")
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        """LaTeX: the generators in an align* environment and the commutator table."""
        lines = [r"\begin{align*}"]
        for i, g in enumerate(self.generators):
            end = r" \\" if i < len(self.generators) - 1 else ""
            lines.append(f"  X_{{{i + 1}}} &= {g.field.latex()}{end}")
        lines.append(r"\end{align*}")
        for f in self.families:
            conds = ", ".join(sp.latex(c) + " = 0" for c in f.conditions)
            lines.append(rf"Family: ${f.field.latex()}$" + (rf" with ${conds}$" if conds else ""))
        if self.structure is not None and self.dimension:
            n = self.dimension
            lines += ["", r"\begin{tabular}{c|" + "c" * n + "}",
                      "  & " + " & ".join(f"$X_{{{j + 1}}}$" for j in range(n)) + r" \\ \hline"]
            for i in range(n):
                cells = []
                for j in range(n):
                    c = self.structure.table[i][j]
                    if c is None:
                        cells.append(r"$\notin$")
                        continue
                    terms = [f"{sp.latex(v) if v != 1 else ''}X_{{{k + 1}}}" if v != -1 else f"-X_{{{k + 1}}}"
                             for k, v in enumerate(c) if v != 0]
                    cells.append("$" + (" + ".join(terms).replace("+ -", "- ") or "0") + "$")
                lines.append(f"  $X_{{{i + 1}}}$ & " + " & ".join(cells) + r" \\")
            lines.append(r"\end{tabular}")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The ``pdesym-symmetries/1`` JSON document (generators, families, structure, provenance)."""
        from pdesym import __version__

        names = [f"X{i + 1}" for i in range(self.dimension)]
        commutators = None
        if self.structure is not None:
            n = self.dimension
            commutators = {
                "closed": self.structure.closed,
                "table": self.structure.to_json(),
                "text": [[self.structure.bracket_text(i, j, names) for j in range(n)] for i in range(n)],
            }
        return {
            "format": FORMAT,
            "pdesym_version": __version__,
            "equation": self.equation.to_dict() if self.equation is not None else None,
            "method": self.method,
            "solver": self.solver,
            "degree": self.degree,
            "basis": list(self.basis),
            "complete": self.complete,
            "dimension": self.dimension,
            "generators": [g.to_dict() for g in self.generators],
            "families": [f.to_dict() for f in self.families],
            "commutators": commutators,
            "seconds": round(float(self.seconds), 6),
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        """The ``pdesym-symmetries/1`` JSON text (UTF-8, indented)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, *, source: str = "the JSON text") -> "SymmetryResult":
        """Parse and validate; malformed input raises one :class:`PdesymError` sentence."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PdesymError(f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
        try:
            return cls._from_data(data)
        except PdesymError as exc:
            raise PdesymError(f"{source} is not a usable pdesym symmetries file: {_lower_first(str(exc))}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            what = f"missing key {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
            raise PdesymError(f"{source} is not a valid pdesym symmetries file ({what}).") from None

    @classmethod
    def _from_data(cls, data: Any) -> "SymmetryResult":
        if not isinstance(data, dict):
            raise ValueError("the top level must be a JSON object")
        fmt = data.get("format")
        if fmt != FORMAT:
            raise ValueError(f"format is {fmt!r}, expected {FORMAT!r}")
        equation = Equation.from_dict(data["equation"]) if data.get("equation") else None
        symbols = dict(equation.parameter_symbols) if equation is not None else {}
        gens = []
        for i, g in enumerate(data["generators"]):
            if not isinstance(g, dict):
                raise ValueError(f"generator {i + 1} is not an object")
            for key in ("xi", "tau", "phi"):
                if not isinstance(g.get(key, "0"), str):
                    raise ValueError(f"generator {i + 1} has a non-string {key}")
            src = g.get("source", "exact")
            if src not in SOURCES:
                raise ValueError(f"generator {i + 1} has unknown source {src!r} (one of {', '.join(SOURCES)})")
            verified = g.get("verified")
            if verified is not None and not isinstance(verified, bool):
                raise ValueError(f"generator {i + 1} has a non-boolean 'verified'")
            validity = g.get("validity")
            if validity is not None and (not isinstance(validity, (int, float)) or isinstance(validity, bool)
                                         or not math.isfinite(validity)):
                raise ValueError(f"generator {i + 1} has a validity that is not a finite number")
            gens.append(Generator(VectorField.from_dict(g, symbols), str(g.get("name", "")), verified, src,
                                  None if validity is None else float(validity)))
        families = tuple(Family.from_dict(f, symbols) for f in data.get("families", []) or [])
        structure = None
        comm = data.get("commutators")
        if comm is not None:
            table = comm["table"]
            if len(table) != len(gens) or any(len(row) != len(gens) for row in table):
                raise ValueError("the commutator table does not match the number of generators")
            parsed = tuple(tuple(None if cell is None else tuple(read_expression(str(v), symbols) for v in cell)
                                 for cell in row) for row in table)
            outside = tuple((i, j) for i, row in enumerate(parsed) for j, cell in enumerate(row) if cell is None and i < j)
            structure = StructureConstants(parsed, bool(comm["closed"]), outside)
        degree = data.get("degree")
        if degree is not None and (not isinstance(degree, int) or isinstance(degree, bool)):
            raise ValueError("degree must be an integer or null")
        return cls(
            equation=equation,
            generators=tuple(gens),
            families=families,
            structure=structure,
            method=str(data.get("method", "")),
            solver=str(data.get("solver", data.get("method", ""))),
            degree=degree,
            basis=tuple(str(b) for b in data.get("basis", []) or []),
            complete=bool(data.get("complete", False)),
            seconds=float(data.get("seconds", 0.0)),
            notes=tuple(str(n) for n in data.get("notes", []) or []),
        )

    def save(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the JSON atomically (temp file in the same folder, then rename); no overwrite
        without ``force``."""
        path = Path(path)
        if path.exists() and not force:
            raise PdesymError(f"{path} already exists; pass force=True (--force) to overwrite it.")
        if path.exists() and path.is_dir():
            raise PdesymError(f"{path} is a directory; give a file name such as symmetries.json.")
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise PdesymError(f"The folder {folder} does not exist; create it or choose another path.")
        text = self.to_json() + "\n"
        return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SymmetryResult":
        """Read a ``pdesym-symmetries/1`` file; malformed files raise one clear sentence."""
        path = Path(path)
        if not path.is_file():
            raise PdesymError(f"No symmetries file at {path}; run 'pdesym symmetries ... --out {path.name}' first.")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise PdesymError(f"{path} is not a UTF-8 text file; expected a pdesym symmetries JSON file.") from None
        return cls.from_json(text, source=str(path))


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s else s



