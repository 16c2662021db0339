"""Symmetries of image data: vector fields on pixel coordinates, flows as warps, a classifier's validity.

* :mod:`pdesym.images.data` — digits (offline), .npz, class folders, MNIST idx, CIFAR-10 pickles.
* :mod:`pdesym.images.classifier` — a small CNN, its training augmentation an explicit option.
* :mod:`pdesym.images.fields` — pixel-change metric, named affine fields and a swirl, span capture.
* :mod:`pdesym.images.discovery` — K learned fields scored by the classifier (``pdesym images discover``).
* :mod:`pdesym.images.semola` — joint learnable augmentation over a learned algebra (``pdesym images semola``).
* :mod:`pdesym.images.report`, :mod:`pdesym.images.runs` — run folders: symmetries.json, report.md, plots.

The shared, dimension-agnostic parts live in :mod:`pdesym.generators` and :mod:`pdesym.flows`.
"""

from pdesym.images.classifier import ClassifierConfig, SmallCNN, TrainedClassifier, train_classifier
from pdesym.images.data import ImageSet, load_images
from pdesym.images.discovery import DiscoveryConfig, ImageDiscovery, discover_image_symmetries
from pdesym.images.runs import run_discover, run_semola
from pdesym.images.semola import SemolaConfig, SemolaResult, compare_augmentations, train_semola

__all__ = [
    "ImageSet",
    "load_images",
    "ClassifierConfig",
    "SmallCNN",
    "TrainedClassifier",
    "train_classifier",
    "DiscoveryConfig",
    "ImageDiscovery",
    "discover_image_symmetries",
    "SemolaConfig",
    "SemolaResult",
    "train_semola",
    "compare_augmentations",
    "run_discover",
    "run_semola",
]
