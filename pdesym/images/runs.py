"""Whole runs of ``pdesym images discover`` and ``pdesym images semola``: load, train, score, write the folder.

The CLI only parses options and shows progress; everything it does is callable from here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch

from pdesym.devices import resolve_device
from pdesym.errors import PdesymError
from pdesym.flows import warp_images
from pdesym.images.classifier import ClassifierConfig, TrainedClassifier, train_classifier
from pdesym.images.data import ImageSet, load_images
from pdesym.images.discovery import DiscoveryConfig, discover_image_symmetries
from pdesym.images.report import (
    discovery_markdown,
    discovery_record,
    json_text,
    plot_accuracy,
    plot_examples,
    plot_fields,
    semola_markdown,
    semola_record,
    write_run_folder,
)
from pdesym.images.semola import SemolaConfig, compare_augmentations

__all__ = ["run_discover", "run_semola", "data_record"]

Progress = Callable[[str, int, int], None]


def data_record(data: ImageSet) -> dict:
    """What symmetries.json says about the data."""
    return {"name": data.source, "images": len(data), "shape": list(data.images.shape[1:]),
            "classes": data.n_classes, "notes": list(data.notes)}


def _classifier(data_train: ImageSet, data_test: ImageSet, config: ClassifierConfig, path: Path | None,
                device, progress: Progress | None) -> tuple[TrainedClassifier, bool]:
    """Load the classifier at ``path`` when it exists (checked against the data), else train it."""
    if path is not None and Path(path).exists():
        clf = TrainedClassifier.load(path, device=device)
        if tuple(clf.shape) != tuple(data_train.images.shape[1:]) or len(clf.classes) != data_train.n_classes:
            raise PdesymError(f"The classifier {path} was trained on images {tuple(clf.shape)} with {len(clf.classes)} classes; "
                              f"the data has {tuple(data_train.images.shape[1:])} and {data_train.n_classes}.")
        return clf, False
    cb = (lambda e, n, loss: progress("classifier", e, n)) if progress else None
    return train_classifier(data_train, config, test=data_test, device=device, progress=cb), True


def run_discover(
    data_spec: str = "digits",
    out: str | Path = "runs/images-discover",
    *,
    classifier_config: ClassifierConfig = ClassifierConfig(),
    config: DiscoveryConfig = DiscoveryConfig(),
    classifier_path: str | Path | None = None,
    rotate: bool = False,
    device: str = "cpu",
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[dict, Path]:
    """Train (or load) the classifier, learn K fields, write symmetries.json, report.md, plots, classifier.pt."""
    out = Path(out)
    if out.exists() and not force:
        raise PdesymError(f"{out} exists; pass --force to overwrite it.")
    dev = resolve_device(device)
    data = load_images(data_spec, seed=config.seed, rotate=rotate)
    train, test = data.split(0.2, seed=config.seed)
    clf, trained = _classifier(train, test, classifier_config, Path(classifier_path) if classifier_path else None, dev, progress)
    if clf.test_accuracy is None:
        from pdesym.images.classifier import accuracy

        clf.test_accuracy = accuracy(clf.model, test.images, test.labels)
    cb = (lambda s, n, v: progress("fields", s, n)) if progress else None
    result = discover_image_symmetries(clf, train.images, config, progress=cb)
    if not trained:
        result.notes.append(f"classifier reused from {classifier_path}")
    rec = discovery_record(result, data_record(data))
    names = result.nearest_names()

    def examples(path: Path) -> None:
        imgs = test.images[:1].to(dtype=clf.dtype)
        levels = [-1.0, -0.5, 0.0, 0.5, 1.0]
        rows = []
        with torch.no_grad():
            for k in range(result.fields.shape[0]):
                g = result.fields[k: k + 1].to(clf.dtype).expand(len(levels), -1, -1, -1)
                eps = torch.tensor(levels, dtype=clf.dtype) * config.eps_max
                rows.append(warp_images(imgs.expand(len(levels), -1, -1, -1), g, eps, steps=config.flow_steps))
        plot_examples(rows, [f"V{k + 1}" for k in range(len(rows))], [f"ε={e * config.eps_max:+.1f}" for e in levels], path)

    files: dict = {
        "symmetries.json": json_text(rec),
        "report.md": discovery_markdown(rec),
        "fields.png": lambda p: plot_fields(result.fields, [f"V{i + 1} {n}" for i, n in enumerate(names)], p),
        "examples.png": examples,
        "classifier.pt": lambda p: clf.save(p),
    }
    if classifier_path is not None and trained:
        clf.save(classifier_path, force=force)
    return rec, write_run_folder(out, files, force=force)


def run_semola(
    data_spec: str = "rotated-digits",
    out: str | Path = "runs/images-semola",
    *,
    config: SemolaConfig = SemolaConfig(),
    baselines: bool = True,
    rotate: bool = False,
    device: str = "cpu",
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[dict, Path]:
    """Train SEMoLA (and the baselines), write symmetries.json, report.md and plots."""
    out = Path(out)
    if out.exists() and not force:
        raise PdesymError(f"{out} exists; pass --force to overwrite it.")
    data = load_images(data_spec, seed=config.seed, rotate=rotate)
    result = compare_augmentations(data, config, baselines=baselines, device=device, progress=progress)
    rec = semola_record(result, data_record(data))

    def examples(path: Path) -> None:
        from pdesym.images.semola import LearnedAugmentation

        h, w = data.images.shape[-2:]
        aug = LearnedAugmentation(h, w, replace(config), dtype=torch.float64, device=torch.device("cpu"))
        rows = []
        coeffs = torch.tensor(result.coefficients, dtype=torch.float64)
        ranges = torch.tensor(result.ranges, dtype=torch.float64)
        with torch.no_grad():
            if config.generators == "affine":
                aug.coefficients.copy_(coeffs)
            img = data.images[:1].double()
            for k in range(config.k):
                eps = torch.zeros(5, config.k, dtype=torch.float64)
                eps[:, k] = torch.linspace(-1, 1, 5, dtype=torch.float64) * ranges[k]
                if config.generators == "affine":
                    rows.append(aug.transform(img.expand(5, -1, -1, -1), eps))
                else:
                    g = result.fields[k: k + 1].expand(5, -1, -1, -1)
                    rows.append(warp_images(img.expand(5, -1, -1, -1), g, eps[:, k], steps=config.flow_steps))
        plot_examples(rows, [f"G{k + 1} (±{ranges[k]:.2f})" for k in range(config.k)], ["−w", "−w/2", "0", "+w/2", "+w"], path)

    files: dict = {
        "symmetries.json": json_text(rec),
        "report.md": semola_markdown(rec),
        "generators.png": lambda p: plot_fields(result.fields, [f"G{i + 1} range {r:.2f}" for i, r in enumerate(result.ranges)], p),
        "examples.png": examples,
        "accuracy.png": lambda p: plot_accuracy(result.accuracy, p),
    }
    return rec, write_run_folder(out, files, force=force)

