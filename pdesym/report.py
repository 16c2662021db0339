r"""Reports of symmetry discovery runs: rich tables, Markdown, JSON, LaTeX and plots.

A discovery run is described by one JSON document, the ``pdesym-symmetries/1`` file of
:class:`~pdesym.symbolic.result.SymmetryResult` plus keys that older readers ignore::

    "domain": "pde",                       # or "image" (image runs write the same document)
    "generators": [{..., "verified": true, # exact re-substitution (null: not checked)
                    "validity": 3e-16,     # data-driven validity of this generator
                    "approximate": false}],# true: learned/fitted, not an exact symmetry
    "cosines": {"reference": "exact algebra (direct method)", "reference_dimension": 4,
                "values": [1.0, ...], "min": 0.9999, "grassmann": 1e-4,
                "learned": [...]},         # cosines of the raw learned span (neural), if any
    "discovery": {"method": "neural", "dimension": 4, "spectrum": [...], "gap": 1e4, ...},
    "timings": {"data": 1.2, "discovery": 30.1, "fit": 0.4, "reference": 0.3, "total": 32.0},
    "data": {"source": "...", "trajectories": 8, "nx": 64, "nt": 40,
             "box": {"x": [0, 128], "t": [0, 100], "u": [-1.2, 2.3]}}

Principal cosines (Björck & Golub) compare spans sampled at data points with each component
divided by the standard deviation of its coordinate (ξ/σx, τ/σt, φ/σu), so that no coordinate
dominates by its units. :func:`load_run` reads a run folder or its JSON file;
:data:`RENDERERS` maps ``md``, ``json``, ``latex`` to text renderers; :func:`print_report`
prints the rich version.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from pdesym.atomic import atomic_savefig
from pdesym.errors import PdesymError
from pdesym.runs import jsonable
from pdesym.symbolic.result import FORMAT, SymmetryResult

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "DOMAINS",
    "RENDERERS",
    "run_document",
    "load_run",
    "to_markdown",
    "to_latex",
    "to_json",
    "print_report",
    "plot_fields",
    "plot_validity",
    "plot_spectrum",
    "PLOTS",
    "plot_names",
    "render_plots",
]

#: Domains a discovery document can describe.
DOMAINS = {"pde": "vector fields on (x, t, u) from PDE data", "image": "vector fields on image coordinates"}


def _finite_or_none(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def run_document(result: SymmetryResult, *, approximate: Sequence[bool | None] | None = None,
                 cosines: Mapping[str, Any] | None = None, discovery: Mapping[str, Any] | None = None,
                 timings: Mapping[str, float] | None = None, data: Mapping[str, Any] | None = None,
                 domain: str = "pde") -> dict[str, Any]:
    """The JSON document of a run: ``result.to_dict()`` plus the discovery keys (see module doc).

    ``approximate[i]`` marks generator i as learned or fitted rather than exact; by default a
    generator is approximate unless it was verified exactly.
    """
    if domain not in DOMAINS:
        raise PdesymError(f"Unknown domain {domain!r}; choose one of: {', '.join(DOMAINS)}.")
    doc = result.to_dict()
    gens = doc["generators"]
    if approximate is None:
        approximate = [g["verified"] is not True for g in gens]
    if len(approximate) != len(gens):
        raise PdesymError(f"approximate has {len(approximate)} entries for {len(gens)} generators.")
    for g, a in zip(gens, approximate):
        g["approximate"] = None if a is None else bool(a)
        g["validity"] = _finite_or_none(g["validity"])
    doc["domain"] = domain
    doc["cosines"] = jsonable(dict(cosines)) if cosines is not None else None
    doc["discovery"] = jsonable(dict(discovery)) if discovery is not None else None
    doc["timings"] = {k: round(float(v), 4) for k, v in (timings or {}).items()}
    doc["data"] = jsonable(dict(data)) if data is not None else None
    return doc


def load_run(path: str | os.PathLike) -> dict[str, Any]:
    """Read a run's document from its folder (``symmetries.json`` inside) or the JSON file itself.

    PDE documents are validated with :meth:`SymmetryResult.from_json` (one clear sentence when
    malformed); image documents need ``format`` and a list of ``generators``.
    """
    from pdesym.runs import RESULT_FILE

    path = Path(path)
    file = path / RESULT_FILE if path.is_dir() else path
    if not file.is_file():
        if path.is_dir():
            raise PdesymError(f"{path} has no {RESULT_FILE}; is it a finished 'pdesym discover' run?")
        raise PdesymError(f"No run folder or symmetries file at {path}.")
    try:
        text = file.read_text(encoding="utf-8")
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PdesymError(f"{file} is not a valid symmetries JSON file ({exc}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise PdesymError(f"{file} is not a pdesym symmetries file (format {got!r}, expected {FORMAT!r}).")
    domain = doc.get("domain", "pde")
    if domain not in DOMAINS:
        raise PdesymError(f"{file} has unknown domain {domain!r}; expected one of: {', '.join(DOMAINS)}.")
    if domain == "pde":
        SymmetryResult.from_json(text, source=str(file))  # validates every field exactly
    elif not isinstance(doc.get("generators"), list):
        raise PdesymError(f"{file} has no list of generators.")
    return doc


# --------------------------------------------------------------------------- text pieces
def _title(doc: Mapping[str, Any]) -> str:
    eq = doc.get("equation") or {}
    data = doc.get("data") or {}
    what = eq.get("name") or eq.get("text") or doc.get("dataset") or data.get("name") or "the data"
    return f"Symmetries discovered from {what}" if doc.get("discovery") else f"Lie point symmetries of {what}"


def _verified_word(v: Any) -> str:
    return {True: "yes", False: "no"}.get(v, "not checked")


def _validity_text(v: Any) -> str:
    return "—" if v is None else f"{float(v):.2e}"


def _kind(g: Mapping[str, Any]) -> str:
    if g.get("verified") is True:
        return "exact"
    return "approximate" if g.get("approximate") else "unverified"


def _cosine_line(doc: Mapping[str, Any]) -> str | None:
    cos = doc.get("cosines")
    if not cos or not cos.get("values"):
        return None
    vals = ", ".join(f"{v:.4f}" for v in cos["values"])
    line = (f"Principal cosines against the {cos.get('reference', 'reference')} "
            f"(dimension {cos.get('reference_dimension', '?')}): {vals}; min {cos['min']:.4f}")
    if cos.get("learned"):
        line += "; raw learned span: " + ", ".join(f"{v:.4f}" for v in cos["learned"])
    return line + _missing_note(doc)


def _missing_note(doc: Mapping[str, Any]) -> str:
    """For PDE runs, say when the found span is smaller than the exact algebra: the cosines
    only measure how well the found generators lie in it, so 'min 1.0000' alone would hide it."""
    cos = doc.get("cosines") or {}
    ref, found = cos.get("reference_dimension"), len(cos.get("values") or [])
    if doc.get("domain", "pde") != "pde" or not isinstance(ref, int) or found >= ref:
        return ""
    return f"; found {found} of its {ref} dimensions ({ref - found} missing)"


def _discovery_lines(doc: Mapping[str, Any]) -> list[str]:
    d = doc.get("discovery")
    if not d:
        return []
    lines = []
    m = d.get("method", "?")
    if m == "both":
        lines += _discovery_lines({"discovery": {**d, "method": "nullspace", "messages": [], "validity_kind": None}})
        lines += _discovery_lines({"discovery": {**(d.get("neural") or {}), "method": "neural"}})
        d = {k: v for k, v in d.items() if k in ("messages", "validity_kind")}
    if m == "nullspace":
        lines.append(f"Null space of the linear validity system: rank chosen at the largest singular-value gap "
                     f"(dimension {d.get('dimension')}, gap {_ratio(d.get('gap'))}, dictionary of {d.get('columns', '?')} "
                     f"columns, degree {d.get('degree')}).")
    elif m == "neural":
        acc = d.get("accepted")
        polish = f" + {d['polish']} L-BFGS iterations" if d.get("polish") else ""
        lines.append(f"Neural generators: {d.get('trained')} trained for {d.get('steps')} steps{polish} "
                     f"(seed {d.get('seed')}), "
                     f"K = {d.get('neural_dimension', d.get('dimension'))} chosen at validity ratio "
                     f"{_ratio(d.get('ratio', d.get('gap')))} "
                     f"(runner-up {_ratio(d.get('runner_up'))})"
                     + ("" if acc in (None, True) else f"; not accepted ({d.get('reason')})") + ".")
    if d.get("validity_kind"):
        lines.append(f"Validity column: {d['validity_kind']}.")
    for note in d.get("messages", []) or []:
        lines.append(str(note))
    return lines


def _ratio(v: Any) -> str:
    return "—" if v is None else f"{float(v):.3g}"


def _span_line(doc: Mapping[str, Any]) -> str | None:
    """Image runs: how much of each named affine generator the learned span captures."""
    span = doc.get("span")
    if not isinstance(span, Mapping) or not isinstance(span.get("capture"), Mapping):
        return None
    return "Captured by the learned span: " + ", ".join(f"{k} {float(v):.3f}" for k, v in span["capture"].items())


def _timing_line(doc: Mapping[str, Any]) -> str | None:
    t = doc.get("timings") or {}
    if not t:
        return None
    return "Timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in t.items())


# --------------------------------------------------------------------------- renderers
def to_markdown(doc: Mapping[str, Any]) -> str:
    """A Markdown report: generators with verified / validity / kind, cosines, discovery, commutators."""
    lines = [f"# {_title(doc)}", ""]
    eq = doc.get("equation")
    if eq:
        params = ", ".join(f"{k} = {v}" for k, v in (eq.get("params") or {}).items())
        lines += [f"Equation: `{eq.get('text')}`" + (f" ({params})" if params else ""), ""]
    data = doc.get("data")
    if data:
        lines += [f"Data: {_data_text(data)}", ""]
    method = doc.get("solver") or doc.get("method")
    lines += [f"{doc.get('dimension', len(doc['generators']))} generators, method {method}"
              + (" (complete algebra)" if doc.get("complete") else "") + ".", ""]
    lines += ["| | generator | name | verified | validity | kind |", "|---|---|---|---|---|---|"]
    for i, g in enumerate(doc["generators"]):
        lines.append(f"| X{i + 1} | {g.get('text', '')} | {g.get('name', '')} | {_verified_word(g.get('verified'))} | "
                     f"{_validity_text(g.get('validity'))} | {_kind(g)} |")
    for fam in doc.get("families") or []:
        lines.append(f"\nInfinite-dimensional family: {fam.get('text')} ({_verified_word(fam.get('verified'))})")
    extra = [x for x in (_cosine_line(doc), _span_line(doc), *_discovery_lines(doc), _timing_line(doc)) if x]
    if extra:
        lines += ["", "## Discovery", ""] + [f"- {x}" for x in extra]
    comm = doc.get("commutators")
    if comm and comm.get("text"):
        rows = comm["text"]
        lines += ["", "## Commutators [X_i, X_j]", "", "| | " + " | ".join(f"X{j + 1}" for j in range(len(rows))) + " |",
                  "|---" * (len(rows) + 1) + "|"]
        lines += [f"| X{i + 1} | " + " | ".join(row) + " |" for i, row in enumerate(rows)]
    if doc.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in doc["notes"]]
    return "\n".join(lines) + "\n"


def _data_text(data: Mapping[str, Any]) -> str:
    parts = [str(data.get("source", data.get("name", "?")))]
    if data.get("images") is not None:
        parts.append(f"{data['images']} images of shape {data.get('shape')}")
    if data.get("trajectories") is not None:
        parts.append(f"{data['trajectories']} trajectories × {data.get('nt')} snapshots × {data.get('nx')} points")
    if data.get("points") is not None:
        parts.append(f"{data['points']} jet samples")
    return ", ".join(parts)


def to_json(doc: Mapping[str, Any]) -> str:
    """The document as indented UTF-8 JSON (what ``symmetries.json`` holds)."""
    return json.dumps(doc, indent=2, ensure_ascii=False)


#: Unicode that pdesym writes in text (names, references, notes) and its plain-LaTeX form, so the
#: output compiles with pdflatex and no unicode packages.
_LATEX_UNICODE = (("∂", r"$\partial$"), ("−", "-"), ("·", r"$\cdot$"), ("×", r"$\times$"), ("…", r"\dots{}"),
                  ("—", "---"), ("–", "--"), ("√", r"$\surd$"), ("≤", r"$\le$"), ("≥", r"$\ge$"),
                  ("ν", r"$\nu$"), ("ε", r"$\varepsilon$"), ("λ", r"$\lambda$"), ("θ", r"$\theta$"),
                  ("σ", r"$\sigma$"), ("ξ", r"$\xi$"), ("η", r"$\eta$"), ("τ", r"$\tau$"), ("φ", r"$\varphi$"))


def _latex_escape(s: str) -> str:
    """Text-mode LaTeX of a plain string: special characters escaped, pdesym's Unicode spelled out
    (one pass, so no replacement is escaped again)."""
    return s.translate(_LATEX_TABLE)


_LATEX_TABLE = str.maketrans({"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#",
                              "{": r"\{", "}": r"\}", "$": r"\$", "^": r"\^{}", "~": r"\~{}",
                              **dict(_LATEX_UNICODE)})


def _generator_latex(g: Mapping[str, Any]) -> str:
    r"""Math-mode LaTeX of one generator: its own ``latex`` (PDE runs), else built from the
    components ``xi``/``eta`` (image runs: :math:`\xi\partial_x + \eta\partial_y`), else its text
    in ``\text{}``."""
    if g.get("latex"):
        return str(g["latex"])
    comps = [(c, v) for c, v in (("xi", "x"), ("eta", "y"), ("tau", "t"), ("phi", "u")) if g.get(c) is not None]
    if comps:
        import sympy as sp

        try:
            terms = []
            for c, v in comps:
                e = sp.sympify(g[c])
                if e != 0:
                    terms.append(("" if e == 1 else (sp.latex(e) if e.is_Atom else rf"\left({sp.latex(e)}\right)"))
                                 + rf"\partial_{{{v}}}")
            return " + ".join(terms) or "0"
        except (sp.SympifyError, TypeError):
            pass
    return r"\text{" + _latex_escape(str(g.get("text", ""))) + "}"


def _latex_number(v: Any) -> str:
    """``3.1e-16`` -> ``$3.10 \\cdot 10^{-16}$``; None -> ``--``."""
    if v is None:
        return "--"
    mant, exp = f"{float(v):.2e}".split("e")
    return f"${mant} \\cdot 10^{{{int(exp)}}}$"


def to_latex(doc: Mapping[str, Any]) -> str:
    """LaTeX: a tabular of generators (field, verified, validity) and, for PDE runs, the
    commutator table as :meth:`SymmetryResult.to_latex` writes it."""
    lines = [r"\begin{tabular}{llll}", r"  & generator & verified & validity \\ \hline"]
    for i, g in enumerate(doc["generators"]):
        field = _generator_latex(g)
        val = _latex_number(g.get("validity"))
        lines.append(f"  $X_{{{i + 1}}}$ & ${field}$ & {_verified_word(g.get('verified'))} & {val} \\\\")
    lines.append(r"\end{tabular}")
    cos = doc.get("cosines")
    if cos and cos.get("values"):
        lines += ["", "Principal cosines against the " + _latex_escape(str(cos.get("reference", "reference"))) + ": "
                  + ", ".join(f"{v:.4f}" for v in cos["values"]) + _latex_escape(_missing_note(doc)) + "."]
    facts = [x for x in (_span_line(doc), *_discovery_lines(doc), _timing_line(doc)) if x]
    if facts:
        lines += ["", r"\begin{itemize}"] + [r"  \item " + _latex_escape(x) for x in facts] + [r"\end{itemize}"]
    if doc.get("domain", "pde") == "pde" and doc.get("commutators"):
        exact = SymmetryResult.from_json(json.dumps(doc))
        tex = exact.to_latex()
        start = tex.find(r"\begin{tabular}")
        if start >= 0:
            lines += ["", tex[start:].rstrip("\n")]
    return "\n".join(lines) + "\n"


#: ``pdesym report --format``: name -> renderer of a document.
RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {"md": to_markdown, "json": to_json, "latex": to_latex}


def print_report(doc: Mapping[str, Any], console: "Console", *, quiet: bool = False) -> None:
    """Rich table of the generators, then cosines, discovery facts, timings and notes."""
    from rich.table import Table

    table = Table(title=_title(doc), title_justify="left")
    table.add_column("", style="bold")
    table.add_column("generator")
    table.add_column("name", style="cyan")
    table.add_column("verified")
    table.add_column("validity", justify="right")
    table.add_column("kind")
    for i, g in enumerate(doc["generators"]):
        ok = {True: "[green]✓ exact[/]", False: "[red]✗ no[/]"}.get(g.get("verified"), "[yellow]not checked[/]")
        table.add_row(f"X{i + 1}", str(g.get("text", "")), str(g.get("name", "")), ok,
                      _validity_text(g.get("validity")), _kind(g))
    console.print(table)
    if quiet:
        return
    for fam in doc.get("families") or []:
        console.print(f"Infinite-dimensional family: {fam.get('text')}", soft_wrap=True)
    for line in (_cosine_line(doc), _span_line(doc), *_discovery_lines(doc), _timing_line(doc)):
        if line:
            console.print(line, soft_wrap=True, markup=False)
    for note in doc.get("notes") or []:
        console.print(f"[yellow]Note:[/] {note}", soft_wrap=True)


# --------------------------------------------------------------------------- plots
def plot_fields(values: np.ndarray, x: np.ndarray, t: np.ndarray, titles: Sequence[str],
                path: str | os.PathLike) -> Path:
    r"""Quiver plots of generators on the data domain: arrows (ξ, τ) in the (x, t) plane,
    colour φ. ``values``: (k, nt, nx, 3) on the grid ``t`` (nt,) × ``x`` (nx,), each component
    divided by its coordinate's range so arrows are comparable."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.asarray(values, dtype=float)
    k = values.shape[0]
    cols = min(k, 3) or 1
    rows = max(1, math.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.3 * rows), squeeze=False)
    X, Tg = np.meshgrid(x, t)
    for i, ax in enumerate(axes.flat):
        if i >= k:
            ax.axis("off")
            continue
        v = values[i]
        xi, tau, phi = v[..., 0], v[..., 1], v[..., 2]
        q = ax.quiver(X, Tg, xi, tau, phi, cmap="viridis", angles="xy")
        fig.colorbar(q, ax=ax, label="φ (scaled)")  # every component is divided by a range, as the arrows
        ax.set_title(f"X{i + 1}: {titles[i]}" if i < len(titles) else f"X{i + 1}", fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("t")
    fig.tight_layout()
    return atomic_savefig(fig, path, dpi=110)


def plot_validity(steps: np.ndarray, spectra: np.ndarray, path: str | os.PathLike, *, chosen: int | None = None) -> Path:
    """Validity curves of a neural run: the sorted validity eigenvalues of the learned span
    (``spectra`` (n_records, K)) against the training step, log scale, the first ``chosen``
    (the accepted symmetries) drawn solid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spectra = np.asarray(spectra, dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    for j in range(spectra.shape[1]):
        style = "-" if chosen is None or j < chosen else "--"
        ax.semilogy(steps, np.maximum(spectra[:, j], 1e-300), style, label=f"λ{j + 1}")
    ax.set_xlabel("step")
    ax.set_ylabel("validity eigenvalue")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Validity of the learned generators" + (f" (K = {chosen})" if chosen else ""))
    fig.tight_layout()
    return atomic_savefig(fig, path, dpi=110)


def plot_spectrum(values: np.ndarray, path: str | os.PathLike, *, rank: int | None = None,
                  label: str = "singular value") -> Path:
    """The sorted (ascending) spectrum of a null-space run, log scale, the chosen null space marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.sort(np.asarray(values, dtype=float))
    fig, ax = plt.subplots(figsize=(6, 4))
    idx = np.arange(1, len(values) + 1)
    ax.semilogy(idx, np.maximum(values, 1e-300), "o-", ms=3)
    if rank is not None and 0 < rank < len(values):
        ax.axvline(rank + 0.5, color="red", ls="--", label=f"null space dimension {rank}")
        ax.legend()
    ax.set_xlabel("index (ascending)")
    ax.set_ylabel(label)
    fig.tight_layout()
    return atomic_savefig(fig, path, dpi=110)


# --------------------------------------------------------------------------- plots of a document
#: Data box of a document without one (a plain ``pdesym symmetries`` file): where fields are drawn.
_DEFAULT_BOX = {"x": [-1.0, 1.0], "t": [0.0, 1.0], "u": [-1.0, 1.0]}


def plot_names(doc: Mapping[str, Any]) -> list[str]:
    """The PNG files :func:`render_plots` writes for ``doc`` (so a caller can refuse to overwrite them)."""
    return [name for name, (wanted, _) in PLOTS.items() if wanted(doc)]


def _field_functions(doc: Mapping[str, Any], components: Sequence[str], variables: Sequence[str]):
    """numpy functions of each generator's components (sympy strings), the equation's parameters
    substituted; a component that is missing or does not parse makes the generator undrawable (None)."""
    import sympy as sp

    symbols = {v: sp.Symbol(v) for v in variables}
    params = {sp.Symbol(k): sp.sympify(v) for k, v in ((doc.get("equation") or {}).get("params") or {}).items()
              if v is not None}
    out = []
    for g in doc["generators"]:
        try:
            exprs = [sp.sympify(g[c], locals=symbols).subs(params) for c in components]
        except (KeyError, TypeError, sp.SympifyError):
            out.append(None)
            continue
        if any(e.free_symbols - set(symbols.values()) for e in exprs):
            out.append(None)
            continue
        out.append([sp.lambdify([symbols[v] for v in variables], e, "numpy") for e in exprs])
    return out


def _plane_plot(doc: Mapping[str, Any], path: Path) -> None:
    """Image runs: quiver plots of the affine fits ξ(x, y)∂x + η(x, y)∂y on the isotropic pixel
    square [-1, 1]², y pointing down as in the image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    funcs = _field_functions(doc, ("xi", "eta"), ("x", "y"))
    k = max(1, len(funcs))
    cols = min(k, 3)
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows), squeeze=False)
    g1 = np.linspace(-1, 1, 11)
    X, Y = np.meshgrid(g1, g1)
    for i, ax in enumerate(axes.flat):
        if i >= len(funcs) or funcs[i] is None:
            ax.axis("off")
            continue
        xi, eta = (np.broadcast_to(np.asarray(f(X, Y), dtype=float), X.shape) for f in funcs[i])
        ax.quiver(X, Y, xi, eta, np.hypot(xi, eta), cmap="viridis", angles="xy")
        ax.set_xlim(-1.15, 1.15)
        ax.set_ylim(1.15, -1.15)  # y downwards, as in the image
        ax.set_aspect("equal")
        g = doc["generators"][i]
        ax.set_title(f"X{i + 1}" + (f": {g['name']}" if g.get("name") else ""), fontsize=9)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)


def _pde_fields(doc: Mapping[str, Any], path: Path) -> None:
    """PDE runs: :func:`plot_fields` of the closed-form generators on the data's (x, t) box at the
    middle of its u range (the box of the document's ``data``, or a unit box)."""
    box = {**_DEFAULT_BOX, **(((doc.get("data") or {}).get("box")) or {})}
    funcs = _field_functions(doc, ("xi", "tau", "phi"), ("x", "t", "u"))
    drawn = [i for i, f in enumerate(funcs) if f is not None]
    x = np.linspace(*box["x"], 16)
    t = np.linspace(*box["t"], 12)
    X, T = np.meshgrid(x, t)
    u = np.full_like(X, 0.5 * (box["u"][0] + box["u"][1]))
    values = np.zeros((len(drawn), len(t), len(x), 3))
    for row, i in enumerate(drawn):
        for c, f in enumerate(funcs[i]):
            values[row, ..., c] = np.broadcast_to(np.asarray(f(X, T, u), dtype=float), X.shape)
    if values.size:  # each component divided by its range over the plot, so arrows are comparable
        span = np.ptp(values.reshape(-1, 3), axis=0)
        values = values / np.where(span > 0, span, 1.0)
    titles = [str(doc["generators"][i].get("text", "")) for i in drawn]
    plot_fields(values, x, t, titles, path)


def _bar_plot(labels: Sequence[str], values: Sequence[float], ylabel: str, title: str, path: Path, *,
              log: bool = False) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(values) + 1.5), 3.4))
    ax.bar(range(len(values)), [max(v, 1e-20) if log else v for v in values], color="tab:blue")
    ax.set_xticks(range(len(values)), labels, fontsize=7, rotation=20)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)


def _draw_fields(doc: Mapping[str, Any], path: Path) -> None:
    if doc.get("domain", "pde") == "image":
        _plane_plot(doc, path)
    else:
        _pde_fields(doc, path)


def _draw_cosines(doc: Mapping[str, Any], path: Path) -> None:
    cos = doc["cosines"]
    vals = [float(v) for v in cos["values"]]
    capture = (doc.get("span") or {}).get("capture") if doc.get("domain", "pde") == "image" else None
    labels = list(capture)[:len(vals)] if isinstance(capture, Mapping) else [f"θ{i + 1}" for i in range(len(vals))]
    _bar_plot(labels, vals, "principal cosine", f"against the {cos.get('reference', 'reference')}"[:90], path)


def _draw_generator_validity(doc: Mapping[str, Any], path: Path) -> None:
    gens = [(f"X{i + 1}", float(g["validity"])) for i, g in enumerate(doc["generators"]) if g.get("validity") is not None]
    _bar_plot([a for a, _ in gens], [b for _, b in gens], "validity",
              "validity of each generator on the data (lower is better)", path, log=True)


def _draw_spectrum(doc: Mapping[str, Any], path: Path) -> None:
    d = doc["discovery"]
    plot_spectrum(d["spectrum"], path, rank=d.get("dimension"))


def _draw_accuracy(doc: Mapping[str, Any], path: Path) -> None:
    from pdesym.images.report import plot_accuracy

    plot_accuracy({k: float(v) for k, v in doc["accuracy"].items()}, path)


#: Every plot a run document can have: file name -> (does the document have what it needs?, draw it).
PLOTS: dict[str, tuple[Callable[[Mapping[str, Any]], bool], Callable[[Mapping[str, Any], Path], None]]] = {
    "fields.png": (lambda doc: True, _draw_fields),
    "cosines.png": (lambda doc: bool((doc.get("cosines") or {}).get("values")), _draw_cosines),
    "generator-validity.png": (lambda doc: any(g.get("validity") is not None for g in doc.get("generators") or []),
                               _draw_generator_validity),
    "spectrum.png": (lambda doc: bool((doc.get("discovery") or {}).get("spectrum")), _draw_spectrum),
    "accuracy.png": (lambda doc: isinstance(doc.get("accuracy"), Mapping) and bool(doc["accuracy"]), _draw_accuracy),
}


def render_plots(doc: Mapping[str, Any], folder: str | os.PathLike) -> list[Path]:
    """Draw a run document's plots into ``folder`` (created if needed), each written atomically:

    * ``fields.png``: the generators (PDE: arrows (ξ, τ) in the (x, t) plane coloured by φ;
      image: arrows (ξ, η) on the pixel square);
    * ``cosines.png``: principal cosines against the reference (1 = contained in the learned span);
    * ``generator-validity.png``: each generator's data-driven validity (log scale);
    * ``spectrum.png``: the null-space run's singular values with the chosen dimension;
    * ``accuracy.png``: image SEMoLA runs, test accuracy per augmentation.

    Returns the written paths, in the order of :func:`plot_names`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in plot_names(doc):
        PLOTS[name][1](doc, folder / name)  # every plot function writes atomically (atomic_savefig)
        written.append(folder / name)
    return written
