r"""A small CNN image classifier whose training augmentation is an explicit, recorded option.

The validity of an image transform is what the classifier says it is, and a classifier trained
without augmentation does not tell a translation from a swirl; the usual crop-style random shifts
make translations valid (the pretrained classifiers of the literature were trained that way).
``augment``: ``none`` | ``shift`` (random whole-pixel shifts up to ``shift_pixels``) |
``rotation`` (random angle in [-π, π)) | ``affine`` (small random affine maps).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from pdesym.atomic import atomic_torch_save
from pdesym.devices import resolve_device, resolve_dtype
from pdesym.errors import PdesymError, check_choice
from pdesym.images.data import ImageSet

__all__ = [
    "AUGMENTATIONS",
    "SmallCNN",
    "ClassifierConfig",
    "TrainedClassifier",
    "train_classifier",
    "accuracy",
    "predict_proba",
    "random_augment",
]

AUGMENTATIONS = {
    "none": "no augmentation",
    "shift": "random whole-pixel shifts (crop-style)",
    "rotation": "random rotation by an angle in [-π, π)",
    "affine": "small random affine maps (±0.3 rad, ±10 % scale/shear, ±2 px)",
}


class SmallCNN(nn.Module):
    """conv(3×3)-BatchNorm-ReLU-maxpool blocks of ``widths`` channels, then a linear layer on the flattened map.

    BatchNorm removes the long initial plateau (≈ 4 epochs at chance level without it on digits).
    """

    def __init__(self, in_channels: int, n_classes: int, height: int, width: int, widths: tuple[int, ...] = (16, 32, 64)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c, h, w = in_channels, height, width
        for out in widths:
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
            if min(h, w) >= 4:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            c = out
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(c * h * w, n_classes)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Flattened features before the last layer: (B, C, H, W) -> (B, F)."""
        return self.features(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes)."""
        return self.head(self.features(images))


@dataclass(frozen=True)
class ClassifierConfig:
    """How the classifier was (or is to be) trained; stored next to its weights."""

    augment: str = "shift"
    shift_pixels: int = 2
    epochs: int = 12
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    widths: tuple[int, ...] = (16, 32, 64)
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        check_choice("classifier augmentation", self.augment, AUGMENTATIONS)
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.shift_pixels < 0:
            raise PdesymError("Classifier epochs, batch size and learning rate must be positive (shift pixels >= 0).")


@dataclass
class TrainedClassifier:
    """A trained :class:`SmallCNN` with its config, input shape, class names and test accuracy."""

    model: SmallCNN
    config: ClassifierConfig
    shape: tuple[int, int, int]
    classes: list[str]
    test_accuracy: float | None = None
    source: str = ""

    @property
    def dtype(self) -> torch.dtype:
        """The model's dtype (inputs are cast to it)."""
        return next(self.model.parameters()).dtype

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write weights + metadata with ``torch.save`` through a temporary file and a rename."""
        path = Path(path)
        if path.exists() and not force:
            raise PdesymError(f"{path} exists; pass force=True (--force) to overwrite it.")
        payload = {
            "format": "pdesym-image-classifier/1",
            "config": asdict(self.config),
            "shape": list(self.shape),
            "classes": list(self.classes),
            "test_accuracy": self.test_accuracy,
            "source": self.source,
            "state": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_torch_save(path, payload)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> "TrainedClassifier":
        """Read a file written by :meth:`save`."""
        path = Path(path)
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            if payload.get("format") != "pdesym-image-classifier/1":
                raise KeyError("format")
            cfg = dict(payload["config"])
            cfg["widths"] = tuple(cfg["widths"])
            config = ClassifierConfig(**cfg)
            c, h, w = payload["shape"]
            model = SmallCNN(c, len(payload["classes"]), h, w, config.widths)
            model.load_state_dict(payload["state"])
        except FileNotFoundError:
            raise
        except Exception as exc:  # any unreadable or foreign file gets one sentence
            raise PdesymError(f"{path} is not a pdesym image classifier ({type(exc).__name__}: {exc}).") from None
        model = model.to(device=resolve_device(device), dtype=resolve_dtype(config.dtype)).eval()
        return cls(model, config, (c, h, w), list(payload["classes"]), payload.get("test_accuracy"), payload.get("source", ""))


def random_augment(images: torch.Tensor, kind: str, generator: torch.Generator, shift_pixels: int = 2) -> torch.Tensor:
    """One random transform per image (B, C, H, W) of the given kind (see :data:`AUGMENTATIONS`)."""
    from pdesym.flows import affine_warp_images
    from pdesym.generators import plane_affine_matrices

    check_choice("augmentation", kind, AUGMENTATIONS)
    b = images.shape[0]
    if kind == "none":
        return images
    if kind == "shift":
        # whole-pixel shifts by padding and cropping: exact, no interpolation blur
        s = shift_pixels
        if s == 0:
            return images
        padded = F.pad(images, (s, s, s, s))
        off = torch.randint(0, 2 * s + 1, (b, 2), generator=generator)
        h, w = images.shape[-2:]
        rows = (off[:, 0, None] + torch.arange(h))[:, :, None].expand(b, h, w)
        cols = (off[:, 1, None] + torch.arange(w))[:, None, :].expand(b, h, w)
        idx = torch.arange(b)[:, None, None]
        return padded.permute(0, 2, 3, 1)[idx, rows.to(images.device), cols.to(images.device)].permute(0, 3, 1, 2)
    a6, b6 = plane_affine_matrices(images.dtype, images.device)
    if kind == "rotation":
        eps = (torch.rand(b, generator=generator, dtype=torch.float64) * 2 - 1) * math.pi
        return affine_warp_images(images, a6[2:3], b6[2:3], eps.to(images))
    h = images.shape[-1]
    pix = 2.0 / (max(images.shape[-2:]) - 1)
    coef = (torch.rand(b, 6, generator=generator, dtype=torch.float64) * 2 - 1) * torch.tensor(
        [2 * pix, 2 * pix, 0.3, 0.1, 0.1, 0.1], dtype=torch.float64)
    coef = coef.to(images)
    del h
    return affine_warp_images(images, torch.einsum("bd,dij->bij", coef, a6), torch.einsum("bd,di->bi", coef, b6), 1.0)


def _batches(n: int, batch_size: int, generator: torch.Generator):
    perm = torch.randperm(n, generator=generator)
    for i in range(0, n, batch_size):
        yield perm[i: i + batch_size]


def train_classifier(
    train: ImageSet,
    config: ClassifierConfig = ClassifierConfig(),
    *,
    test: ImageSet | None = None,
    device: str | torch.device = "cpu",
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainedClassifier:
    r"""Train a :class:`SmallCNN` with Adam on cross-entropy, augmenting each batch as configured.

    Same seed -> same weights on the CPU. ``progress(epoch, epochs, loss)`` is called per epoch.
    """
    dev, dtype = resolve_device(device), resolve_dtype(config.dtype)
    c, h, w = train.images.shape[1:]
    with torch.random.fork_rng(devices=[]):  # conv init draws from the global stream; the caller's is restored
        torch.manual_seed(config.seed)
        model = SmallCNN(c, train.n_classes, h, w, config.widths).to(device=dev, dtype=dtype)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.epochs * math.ceil(len(train) / config.batch_size))
    gen = torch.Generator().manual_seed(config.seed + 1)
    x_all, y_all = train.images.to(device=dev, dtype=dtype), train.labels.to(dev)
    for epoch in range(config.epochs):
        model.train()
        total, count = 0.0, 0
        for idx in _batches(len(train), config.batch_size, gen):
            x = random_augment(x_all[idx.to(dev)], config.augment, gen, config.shift_pixels)
            loss = F.cross_entropy(model(x), y_all[idx.to(dev)])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        if progress is not None:
            progress(epoch + 1, config.epochs, total / count)
    model.eval()
    out = TrainedClassifier(model, config, (c, h, w), list(train.classes), source=train.source)
    if test is not None:
        out.test_accuracy = accuracy(model, test.images, test.labels)
    return out


@torch.no_grad()
def predict_proba(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Softmax probabilities (N, classes), in batches, without gradients."""
    p = next(model.parameters())
    outs = [F.softmax(model(images[i: i + batch_size].to(device=p.device, dtype=p.dtype)), dim=-1) for i in range(0, len(images), batch_size)]
    return torch.cat(outs)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of images whose arg-max class is the label."""
    was = model.training
    model.eval()
    pred = predict_proba(model, images).argmax(-1).cpu()
    model.train(was)
    return float((pred == labels.cpu()).double().mean())
