r"""Run folders of the image commands: symmetries.json, report.md and plots, written atomically.

symmetries.json follows ``pdesym-symmetries/1`` (:mod:`pdesym.symbolic.result`) with
``"domain": "image"``: the variables are the isotropic pixel coordinates x (right) and y (down),
each generator is ``ξ(x, y)∂x + η(x, y)∂y`` with ``xi``/``eta`` sympy strings of its closed-form
affine fit, its coordinates in the named basis (∂x, ∂y, rotation, scaling, two shears), its
affine-ness and validity; ``span`` holds the principal cosine of each named generator with the
learned span, ``reference_validity`` the validity of the named generators and of a swirl.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch

from pdesym import __version__
from pdesym.atomic import atomic_folder, atomic_savefig
from pdesym.errors import PdesymError
from pdesym.generators import PLANE_AFFINE_NAMES
from pdesym.images.fields import affine_text

if TYPE_CHECKING:
    from pdesym.images.discovery import ImageDiscovery
    from pdesym.images.semola import SemolaResult

__all__ = ["COORDINATES", "load_record", "discovery_record", "semola_record", "discovery_markdown", "semola_markdown",
           "write_run_folder", "plot_fields", "plot_examples", "plot_accuracy"]

COORDINATES = "isotropic pixel coordinates: x to the right, y downwards, the longer image side spanning [-1, 1]"


def _generator(coefficients, *, name: str, validity: float | None, affineness: float, extra: dict | None = None) -> dict:
    xi, eta, text = affine_text(coefficients)
    rec = {
        "name": name,
        "xi": xi,
        "eta": eta,
        "text": text,
        "coefficients": {n: round(float(c), 6) for n, c in zip(PLANE_AFFINE_NAMES, coefficients)},
        "affineness": round(float(affineness), 6),
        "verified": None,
        "source": "fit",
        "validity": None if validity is None else float(validity),
        "approximate": True,
    }
    rec.update(extra or {})
    return rec


def _base(method: str, data: dict, k: int) -> dict:
    return {
        "format": "pdesym-symmetries/1",
        "domain": "image",
        "pdesym_version": __version__,
        "equation": None,
        "dataset": data.get("name"),
        "data": {"source": data.get("name"), **data},
        "variables": ["x", "y"],
        "coordinates": COORDINATES,
        "method": method,
        "solver": "neural",
        "degree": 1,
        "basis": list(PLANE_AFFINE_NAMES),
        "complete": False,
        "dimension": k,
        "generators": [],
        "families": [],
        "commutators": None,
    }


def discovery_record(result: "ImageDiscovery", data: dict) -> dict:
    """symmetries.json content of :class:`~pdesym.images.discovery.ImageDiscovery`."""
    rec = _base("image-discovery", data, result.config.k)
    names = result.nearest_names()
    rec["generators"] = [
        _generator(c, name=n, validity=v, affineness=a)
        for c, n, v, a in zip(result.coefficients, names, result.validity, result.affineness)
    ]
    rec["span"] = {
        "capture": result.capture,
        "capture_plain_metric": result.capture_plain,
        "affineness": result.span_affineness,
        "metric": "pixel weights tr S(p) of the mean image structure tensor (+5 % floor)",
    }
    rec["cosines"] = _cosines(result.capture, "learned span")
    rec["discovery"] = {"method": "neural", "dimension": result.config.k, "trained": result.config.k,
                        "steps": result.config.steps, "seed": result.config.seed, "gap": None, "runner_up": None,
                        "validity_kind": VALIDITY_WORDS[result.config.validity]}
    rec["timings"] = {"total": round(result.seconds, 3)}
    rec["reference_validity"] = result.reference
    rec["swirl_over_dx"] = result.reference[list(result.reference)[-1]] / max(result.reference[PLANE_AFFINE_NAMES[0]], 1e-30)
    rec["classifier"] = result.classifier
    rec["config"] = asdict(result.config)
    rec["seconds"] = round(result.seconds, 3)
    rec["notes"] = list(result.notes)
    return rec


def semola_record(result: "SemolaResult", data: dict) -> dict:
    """symmetries.json content of :class:`~pdesym.images.semola.SemolaResult`."""
    rec = _base("semola", data, sum(result.active))
    rec["generators"] = [
        _generator(c, name=("rotation" if rc >= 0.9 else ""), validity=None, affineness=a,
                   extra={"range": r, "active": act, "rotation_cosine": rc})
        for c, a, r, act, rc in zip(result.coefficients, result.affineness, result.ranges, result.active, result.rotation_cosine)
    ]
    rec["span"] = {"capture": result.capture, "metric": "plain pixel grid", "of": "active generators"}
    rec["cosines"] = _cosines(result.capture, "span of the active generators") if any(result.active) else None
    acc = result.accuracy
    rec["discovery"] = {"method": "semola", "dimension": sum(result.active), "trained": result.config.k,
                        "seed": result.config.seed, "messages": [
                            f"Learned ranges {', '.join(f'{r:.3f}' for r in result.ranges)}; rotation range {result.rotation_range:.3f} rad; "
                            f"contains rotation: {'yes' if result.contains_rotation else 'no'}.",
                            "Test accuracy: " + ", ".join(f"{k} {v:.4f}" for k, v in acc.items()) + "."]}
    rec["timings"] = {"total": round(result.seconds, 3)}
    rec["contains_rotation"] = result.contains_rotation
    rec["rotation_range"] = result.rotation_range
    rec["accuracy"] = result.accuracy
    rec["config"] = asdict(result.config)
    rec["history"] = result.history
    rec["seconds"] = round(result.seconds, 3)
    rec["notes"] = list(result.notes)
    return rec


def load_record(path: str | Path) -> dict:
    """Read an image run's symmetries.json (a file or its run folder); checks format and domain."""
    path = Path(path)
    if path.is_dir():
        path = path / "symmetries.json"
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PdesymError(f"{path} does not exist; give a run folder of pdesym images or its symmetries.json.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PdesymError(f"{path} is not readable JSON ({exc}).") from None
    if not isinstance(rec, dict) or rec.get("format") != "pdesym-symmetries/1" or rec.get("domain") != "image":
        raise PdesymError(f"{path} is not an image symmetries file (format pdesym-symmetries/1, domain image).")
    return rec


VALIDITY_WORDS = {"kl": "KL divergence of the classifier's softmax, image vs transformed image",
                  "feature": "1 − cosine of the classifier's features, image vs transformed image"}


def _cosines(capture: dict, of: str) -> dict:
    """The ``cosines`` block that ``pdesym report`` prints: capture of each named affine generator."""
    vals = [float(capture[n]) for n in PLANE_AFFINE_NAMES]
    return {"reference": f"named affine generators ({', '.join(PLANE_AFFINE_NAMES)}), each against the {of}",
            "reference_dimension": 6, "values": vals, "min": min(vals)}


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def discovery_markdown(rec: dict) -> str:
    """report.md of an image discovery run."""
    lines = [f"# Symmetries of the images of {rec['data'].get('name', 'the data')}", "",
             f"Classifier trained with augmentation **{rec['classifier']['augment']}**"
             + (f", test accuracy {rec['classifier']['test_accuracy']:.3f}" if rec["classifier"].get("test_accuracy") is not None else "")
             + f"; {rec['dimension']} learned fields, validity = {rec['config']['validity']}; coordinates: {rec['coordinates']}.", "",
             "## Learned generators (closed-form affine fit)", "",
             "Each field is normalised by the pixel change it causes: ε = 1 changes the images as much as a "
             "one-pixel shift (one pixel = " + f"{2.0 / (max(rec['data']['shape'][-2:]) - 1):.4g}" + " in these coordinates).", ""]
    lines += _table(["", "generator (fit)", "nearest", "affine-ness", "validity"],
                    [[f"V{i + 1}", g["text"], g["name"], f"{g['affineness']:.3f}", f"{g['validity']:.4g}"] for i, g in enumerate(rec["generators"])])
    lines += ["", f"## Span of the learned fields (affine-ness {rec['span']['affineness']:.3f})", "",
              "Principal cosine of each named generator with the learned span (1: contained).", ""]
    lines += _table(["named generator", "capture", "capture (plain metric)", "validity of the named field"],
                    [[n, f"{c:.3f}", f"{rec['span']['capture_plain_metric'][n]:.3f}", f"{rec['reference_validity'][n]:.4g}"]
                     for n, c in rec["span"]["capture"].items()])
    lines += ["", f"The swirl's validity is {rec['swirl_over_dx']:.1f}× that of ∂x.", "", f"{rec['seconds']:.1f} s."]
    lines += [f"* {n}" for n in rec.get("notes", [])]
    return "\n".join(lines) + "\n"


def semola_markdown(rec: dict) -> str:
    """report.md of a SEMoLA run."""
    lines = [f"# Learned augmentation on {rec['data'].get('name', 'the data')}", "",
             f"{len(rec['generators'])} learnable {rec['config']['generators']} generators, width reward λ = {rec['config']['width_reward']:g}, "
             f"ranges capped at {rec['config']['max_width']:.3g}; coordinates: {rec['coordinates']}.", "",
             "## Learned algebra", ""]
    lines += _table(["", "generator (normalised)", "range", "active", "|cos| with rotation"],
                    [[f"G{i + 1}", g["text"], f"{g['range']:.3f}", "yes" if g["active"] else "no", f"{g['rotation_cosine']:.3f}"]
                     for i, g in enumerate(rec["generators"])])
    lines += ["", f"Contains rotation (cosine ≥ 0.9, active): **{'yes' if rec['contains_rotation'] else 'no'}**; "
              f"learned rotation range {rec['rotation_range']:.3f} rad.", "", "## Test accuracy", ""]
    lines += _table(["augmentation", "accuracy"], [[k, f"{v:.4f}"] for k, v in rec["accuracy"].items()])
    lines += ["", f"{rec['seconds']:.1f} s."] + [f"* {n}" for n in rec.get("notes", [])]
    return "\n".join(lines) + "\n"


def write_run_folder(out: str | Path, files: dict[str, str | bytes | Callable[[Path], None]], *, force: bool = False) -> Path:
    """Write every file into a temporary sibling folder, then rename it to ``out`` (refused if it exists without force)."""
    out = Path(out)
    if out.exists() and not force:
        raise PdesymError(f"{out} exists; pass --force to overwrite it.")
    if out.exists() and not out.is_dir():
        raise PdesymError(f"{out} exists and is not a folder.")
    out.parent.mkdir(parents=True, exist_ok=True)

    def fill(tmp: Path) -> None:
        for name, content in files.items():
            target = tmp / name
            if callable(content):
                content(target)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")

    atomic_folder(out, fill)
    return out


def json_text(rec: dict) -> str:
    """Pretty JSON (NaN/inf become null)."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(rec), indent=2, ensure_ascii=False) + "\n"


def plot_fields(fields: torch.Tensor, titles: list[str], path: Path, *, every: int = 2) -> None:
    """Quiver plots of sampled fields (K, 2, H, W), one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pdesym.flows import pixel_grid

    k, _, h, w = fields.shape
    pts = pixel_grid(h, w, dtype=torch.float64)[::every, ::every]
    fig, axes = plt.subplots(1, k, figsize=(2.6 * k, 2.8), squeeze=False)
    for i, ax in enumerate(axes[0]):
        v = fields[i, :, ::every, ::every].double().numpy()
        ax.quiver(pts[..., 0].numpy(), pts[..., 1].numpy(), v[0], v[1], angles="xy")
        ax.set_title(titles[i], fontsize=8)
        ax.set_aspect("equal")
        ax.invert_yaxis()
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)


def plot_examples(rows: list[torch.Tensor], row_titles: list[str], col_titles: list[str], path: Path) -> None:
    """A grid of images: ``rows[i]`` (n_cols, C, H, W)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(rows), rows[0].shape[0]
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.3 * n_cols + 1.2, 1.3 * n_rows + 0.3), squeeze=False)
    for r, imgs in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            img = imgs[c].detach().double().clamp(0, 1).cpu()
            ax.imshow((img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)).numpy(), cmap="gray" if img.shape[0] == 1 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(col_titles[c], fontsize=7)
        axes[r][0].set_ylabel(row_titles[r], fontsize=7)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)


def plot_accuracy(accuracy: dict[str, float], path: Path) -> None:
    """Bar chart of test accuracies."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.1 * len(accuracy) + 1.5, 3))
    ax.bar(list(accuracy), list(accuracy.values()), color="tab:blue")
    lo = min(accuracy.values())
    ax.set_ylim(max(0.0, lo - 0.05), 1.0)
    ax.set_ylabel("test accuracy")
    ax.tick_params(axis="x", labelsize=7, rotation=20)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
