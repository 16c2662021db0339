"""``pdesym images discover`` and ``pdesym images semola``: symmetries of image data.

Thin: parse options, show progress, call :mod:`pdesym.images.runs`, print a summary table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from pdesym.cli.output import LazyProgress, command_errors, console, emit, err_console, examples, settings

__all__ = ["register"]


def _progress():
    """Progress bars with one task per stage, as a callback ``(stage, done, total)``; they appear
    at the first update, after the run has loaded and checked its data."""
    bar = LazyProgress()
    return bar, bar.update


def _result(rec: dict, folder: Path, files: tuple[str, ...]) -> dict:
    """The --json document: the run's symmetries.json plus where it was written."""
    return {**rec, "run_folder": str(folder), "files": [str(folder / n) for n in files if (folder / n).exists()]}


def register(app: typer.Typer) -> None:
    """Add the ``images`` command group to the root app."""
    images = typer.Typer(help="Symmetries of image data: learned fields on the plane, learnable augmentation.",
                         no_args_is_help=True,
                         epilog=examples("pdesym images discover --data digits --k 4 --out runs/images-discover",
                                         "pdesym images semola --data rotated-digits --epochs 5"))
    app.add_typer(images, name="images")

    @images.command("discover", epilog=examples(
        "pdesym images discover --data digits --k 4 --out runs/images-discover",
        "pdesym images discover --data rotated-digits --classifier-aug none --k 2 --steps 100 --epochs 4 --out runs/rot",
        "pdesym --json images discover --data digits --k 2 --steps 50 --epochs 2 --out runs/img-small --force"))
    @command_errors
    def discover(
        data: str = typer.Option("digits", "--data", help="digits, rotated-digits, or a path (.npz, class folders, MNIST idx, CIFAR-10)."),
        rotate: bool = typer.Option(False, "--rotate", help="Rotate every image by its own random angle."),
        classifier_aug: str = typer.Option("shift", "--classifier-aug", help="Classifier training augmentation: none, shift, rotation, affine."),
        classifier: Optional[Path] = typer.Option(None, "--classifier", help="Reuse this saved classifier; trained and saved there if missing."),
        epochs: int = typer.Option(12, "--epochs", help="Classifier training epochs."),
        k: int = typer.Option(4, "--k", "-k", help="Number of learned fields."),
        steps: int = typer.Option(300, "--steps", help="Training steps of the fields."),
        eps_max: float = typer.Option(2.0, "--eps-max", help="Flow range in one-pixel-shift equivalents."),
        validity: str = typer.Option("kl", "--validity", help="kl (softmax) or feature (1 − cosine of features)."),
        dtype: str = typer.Option("float32", "--dtype", help="float32 (default for images: ~3× faster CNNs on CPU) or float64."),
        seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
        device: str = typer.Option("cpu", "--device", help="auto, cpu, cuda or cuda:N."),
        out: Path = typer.Option(Path("runs/images-discover"), "--out", "-o", help="Run folder to write."),
        force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    ) -> None:
        """Learn K vector fields that a trained classifier deems valid; report their span next to the affine basis."""
        from pdesym.images.classifier import ClassifierConfig
        from pdesym.images.discovery import DiscoveryConfig
        from pdesym.images.runs import run_discover

        ccfg = ClassifierConfig(augment=classifier_aug, epochs=epochs, seed=seed, dtype=dtype)
        dcfg = DiscoveryConfig(k=k, steps=steps, eps_max=eps_max, validity=validity, seed=seed)
        bar, update = _progress()
        with bar:
            rec, folder = run_discover(data, out, classifier_config=ccfg, config=dcfg, classifier_path=classifier,
                                       rotate=rotate, device=device, force=force, progress=update)
        if settings.json:
            emit(_result(rec, folder, ("symmetries.json", "report.md", "fields.png", "examples.png", "classifier.pt")))
            return
        table = Table(title=f"Learned span on {rec['data']['name']} (classifier aug: {rec['classifier']['augment']})",
                      title_justify="left")
        for col in ("named generator", "capture", "validity"):
            table.add_column(col)
        for name, cap in rec["span"]["capture"].items():
            table.add_row(name, f"{cap:.3f}", f"{rec['reference_validity'][name]:.4g}")
        console.print(table)
        if not settings.quiet:
            console.print(f"span affine-ness {rec['span']['affineness']:.3f}; swirl/∂x validity ratio {rec['swirl_over_dx']:.1f}")
            err_console.print(f"Wrote {folder}")

    @images.command("semola", epilog=examples(
        "pdesym images semola --data rotated-digits --epochs 30 --out runs/images-semola",
        "pdesym images semola --data digits --rotate --generators mlp --k 2 --epochs 5 --no-baselines",
        "pdesym --json images semola --data rotated-digits --epochs 2 --tta 0 --no-baselines --out runs/sem-small"))
    @command_errors
    def semola(
        data: str = typer.Option("rotated-digits", "--data", help="rotated-digits, digits, or a path (.npz, class folders, MNIST idx, CIFAR-10)."),
        rotate: bool = typer.Option(False, "--rotate", help="Rotate every image by its own random angle."),
        k: int = typer.Option(3, "--k", "-k", help="Number of learnable generators."),
        generators: str = typer.Option("affine", "--generators", help="affine (closed-form) or mlp (learned fields)."),
        epochs: int = typer.Option(30, "--epochs", help="Training epochs (also of the baselines)."),
        width_reward: float = typer.Option(0.3, "--width-reward", help="λ of the width reward (CE − λ·Σ ranges)."),
        tta: int = typer.Option(8, "--tta", help="Test-time averaging samples (0: off)."),
        baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Also train no-augmentation and fixed-rotation classifiers."),
        dtype: str = typer.Option("float32", "--dtype", help="float32 (default for images) or float64."),
        seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
        device: str = typer.Option("cpu", "--device", help="auto, cpu, cuda or cuda:N."),
        out: Path = typer.Option(Path("runs/images-semola"), "--out", "-o", help="Run folder to write."),
        force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    ) -> None:
        """Train a classifier jointly with a learnable augmentation over a learned Lie algebra."""
        from pdesym.images.runs import run_semola
        from pdesym.images.semola import SemolaConfig

        cfg = SemolaConfig(k=k, generators=generators, epochs=epochs, width_reward=width_reward, tta=tta, seed=seed, dtype=dtype)
        bar, update = _progress()
        with bar:
            rec, folder = run_semola(data, out, config=cfg, baselines=baselines, rotate=rotate, device=device,
                                     force=force, progress=update)
        if settings.json:
            emit(_result(rec, folder, ("symmetries.json", "report.md", "generators.png", "examples.png",
                                       "accuracy.png")))
            return
        table = Table(title=f"Learned algebra on {rec['data']['name']}", title_justify="left")
        for col in ("", "generator", "range", "|cos| rotation"):
            table.add_column(col)
        for i, g in enumerate(rec["generators"]):
            table.add_row(f"G{i + 1}", g["text"], f"{g['range']:.3f}" + ("" if g["active"] else " (inactive)"), f"{g['rotation_cosine']:.3f}")
        console.print(table)
        acc = Table(title="Test accuracy", title_justify="left")
        acc.add_column("augmentation")
        acc.add_column("accuracy")
        for name, v in rec["accuracy"].items():
            acc.add_row(name, f"{v:.4f}")
        console.print(acc)
        if not settings.quiet:
            err_console.print(f"Wrote {folder}")
