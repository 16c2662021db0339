r"""SEMoLA-style joint training: a classifier and a learnable distribution over a learned Lie algebra.

K generators :math:`G_k` (affine: coefficients over the six named plane fields, applied in closed
form by a matrix exponential; or ``mlp``: learned fields sampled on the pixel grid and integrated)
and one range :math:`w_k = w_{\max}\,\mathrm{sigmoid}(\rho_k)` each (capped at π: with the fields
normalised to the RMS size of the unit rotation, ε = π already covers the whole rotation group).
Each training image is transformed by :math:`\exp(\sum_k \varepsilon_k G_k)` with reparameterised
:math:`\varepsilon_k = w_k u_k`, :math:`u_k\sim U(-1, 1)`, and the loss is
:math:`\mathrm{CE} - \lambda\sum_k w_k + \mu\,\mathrm{orth}(G)` (Augerino's width reward; the
orthogonality term keeps the generators from all becoming the same one). Reported: the learned
algebra (closed-form affine generators and their ranges), accuracy against no augmentation and
against fixed full-rotation augmentation, with optional test-time averaging.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from pdesym.devices import resolve_device, resolve_dtype
from pdesym.errors import PdesymError, check_choice
from pdesym.flows import affine_warp_images, field_on_grid, pixel_grid, warp_images
from pdesym.generators import (
    MLPVectorFields,
    orthogonality_penalty,
    plane_affine_basis,
    plane_affine_matrices,
)
from pdesym.images.classifier import ClassifierConfig, SmallCNN, accuracy, random_augment, train_classifier
from pdesym.images.data import ImageSet
from pdesym.images.fields import REFERENCE_NAMES, affine_summary, span_capture

__all__ = ["GENERATOR_KINDS", "SemolaConfig", "LearnedAugmentation", "SemolaResult", "train_semola", "compare_augmentations"]

GENERATOR_KINDS = {
    "affine": "coefficients over the six named affine fields, closed-form matrix exponential",
    "mlp": "MLP fields (linear skip path) on the pixel grid, integrated flow",
}


@dataclass(frozen=True)
class SemolaConfig:
    """Settings of :func:`train_semola` (recorded in symmetries.json)."""

    k: int = 3
    generators: str = "affine"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    aug_lr: float = 2e-2
    width_reward: float = 0.3
    orthogonality: float = 1.0
    max_width: float = math.pi
    init_width: float = 0.5
    pretrain_epochs: int = 5  # classifier alone on plain images first (at most epochs - 1)
    search_steps: int = 60  # then each generator in turn against the held classifier
    active_width: float = 0.2  # a generator belongs to the learned algebra when its range is at least this
    tta: int = 8
    widths: tuple[int, ...] = (16, 32, 64)
    flow_steps: int = 3
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        check_choice("generator kind", self.generators, GENERATOR_KINDS)
        if self.k < 1 or self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.aug_lr <= 0:
            raise PdesymError("k, epochs, batch size and learning rates must be positive.")
        if self.pretrain_epochs < 0 or self.search_steps < 0:
            raise PdesymError("pretrain_epochs and search_steps must be >= 0.")
        if not 0 < self.init_width < self.max_width:
            raise PdesymError(f"init_width must lie in (0, max_width={self.max_width:g}).")
        if self.tta < 0:
            raise PdesymError("tta (test-time samples) must be >= 0.")


class LearnedAugmentation(torch.nn.Module):
    r"""K normalised generators and their ranges; ``forward(images, generator)`` draws one transform per image."""

    def __init__(self, height: int, width: int, config: SemolaConfig, *, dtype: torch.dtype, device: torch.device) -> None:
        super().__init__()
        self.config, self.h, self.w = config, height, width
        gen = torch.Generator().manual_seed(config.seed + 101)
        self.register_buffer("points", pixel_grid(height, width, dtype=dtype, device=device).reshape(-1, 2))
        basis = plane_affine_basis(self.points)  # (6, HW, 2)
        self.register_buffer("basis_gram", torch.einsum("dni,eni->de", basis, basis) / basis.shape[1])
        rot_rms = torch.sqrt(self.basis_gram[2, 2])
        self.register_buffer("target_rms", rot_rms)
        if config.generators == "affine":
            c = torch.randn(config.k, 6, generator=gen, dtype=torch.float64)
            c = c / c.norm(dim=1, keepdim=True)  # unit rows: Adam's step size is then an angle
            self.coefficients = torch.nn.Parameter(c.to(device=device, dtype=dtype))
            self.fields = None
        else:
            self.coefficients = None
            self.fields = MLPVectorFields(2, config.k, hidden=32, depth=2, seed=config.seed + 102, dtype=dtype, device=device)
        p = config.init_width / config.max_width
        self.width_logits = torch.nn.Parameter(torch.full((config.k,), math.log(p / (1 - p)), dtype=dtype, device=device))

    @property
    def ranges(self) -> torch.Tensor:
        """:math:`w_k = w_{\\max}\\,\\mathrm{sigmoid}(\\rho_k)`: (K,)."""
        return self.config.max_width * torch.sigmoid(self.width_logits)

    def normalised_coefficients(self) -> torch.Tensor:
        """Affine coefficients scaled so each field has the RMS size of the unit rotation on the grid: (K, 6)."""
        c = self.coefficients
        rms = torch.sqrt(torch.einsum("kd,de,ke->k", c, self.basis_gram, c)).clamp_min(1e-12)
        return c * (self.target_rms / rms)[:, None]

    def grid_fields(self) -> torch.Tensor:
        """The normalised generators sampled on the pixel grid: (K, 2, H, W)."""
        if self.fields is None:
            c = self.normalised_coefficients()
            vals = torch.einsum("kd,dni->kni", c, plane_affine_basis(self.points))
        else:
            vals = self.fields(self.points)
            rms = torch.sqrt((vals**2).sum(-1).mean(-1)).clamp_min(1e-12)
            vals = vals * (self.target_rms / rms)[:, None, None]
        return vals.reshape(-1, self.h, self.w, 2).permute(0, 3, 1, 2)

    def orthogonality(self, upto: int | None = None) -> torch.Tensor:
        """Cosine orthogonality penalty of the generators sampled on the grid.

        ``upto=k``: only generator k against the (held) generators before it — the greedy search.
        """
        vals = self.grid_fields().flatten(2).transpose(1, 2)
        if upto is None:
            return orthogonality_penalty(vals)
        vals = torch.cat([vals[:upto].detach(), vals[upto: upto + 1]])
        return orthogonality_penalty(vals) / 2.0

    def transform(self, images: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        r""":math:`I\circ\exp(-\sum_k\varepsilon_{bk}G_k)` for ε (B, K)."""
        if self.fields is None:
            a6, b6 = plane_affine_matrices(images.dtype, images.device)
            c = eps @ self.normalised_coefficients()  # (B, 6)
            return affine_warp_images(images, torch.einsum("bd,dij->bij", c, a6), c @ b6, 1.0)
        combined = torch.einsum("bk,kihw->bihw", eps, self.grid_fields())
        return warp_images(images, combined, 1.0, steps=self.config.flow_steps)

    def forward(self, images: torch.Tensor, generator: torch.Generator, *, frozen: bool = False,
                only: int | None = None) -> torch.Tensor:
        """One random transform per image, ε_k = w_k·u_k with u ~ U(-1, 1) (reparameterised).

        ``frozen``: the ranges are held (no gradient); ``only=k``: generator k alone (search phase).
        """
        u = torch.rand(images.shape[0], self.config.k, generator=generator, dtype=torch.float64).to(images) * 2 - 1
        if only is not None:
            u = u * (torch.arange(self.config.k, device=u.device) == only).to(u)
        return self.transform(images, u * (self.ranges.detach() if frozen else self.ranges))


@dataclass
class SemolaResult:
    """What joint training learned and how it compares."""

    coefficients: list[list[float]]  # normalised generators in the named basis (affine fit for mlp fields)
    affineness: list[float]
    ranges: list[float]
    active: list[bool]
    rotation_cosine: list[float]  # |cos| of each generator with rotation (grid metric)
    capture: dict[str, float]  # named field -> principal cosine with the span of the active generators
    rotation_range: float  # max_k w_k |cos(G_k, rotation)|: how far the learned distribution rotates
    accuracy: dict[str, float]  # learned / none / fixed-rotation, each also "+tta"
    config: SemolaConfig
    data: str
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    fields: torch.Tensor | None = None  # (K, 2, H, W) normalised generators

    @property
    def contains_rotation(self) -> bool:
        """True when an active generator is a rotation up to cosine 0.9."""
        return any(a and c >= 0.9 for a, c in zip(self.active, self.rotation_cosine))


def _rotation_cosines(aug: "LearnedAugmentation") -> list[float]:
    with torch.no_grad():
        grid = aug.grid_fields().double().cpu()
    rot = field_on_grid(plane_affine_basis, grid.shape[-2], grid.shape[-1], dtype=torch.float64)[2:3]
    return [round(float(c), 4) for c in span_capture(rot, grid)]


def _tta_accuracy(model, images, labels, sample: Callable[[torch.Tensor, torch.Generator], torch.Tensor], n: int, seed: int) -> float:
    """Accuracy of the softmax averaged over the identity and n random transforms per image."""
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    with torch.no_grad():
        probs = F.softmax(model(images), -1)
        for _ in range(n):
            probs = probs + F.softmax(model(sample(images, gen)), -1)
    return float((probs.argmax(-1).cpu() == labels.cpu()).double().mean())


def train_semola(
    train: ImageSet,
    test: ImageSet,
    config: SemolaConfig = SemolaConfig(),
    *,
    device: str | torch.device = "cpu",
    progress: Callable[[int, int, dict], None] | None = None,
) -> tuple[SmallCNN, LearnedAugmentation, dict]:
    r"""Train a SmallCNN jointly with a :class:`LearnedAugmentation`; returns both and the accuracies.

    Three phases, all inside the ``epochs`` budget of the baselines:
    1. ``pretrain_epochs`` (at most ``epochs`` − 1) of the classifier on plain images (it learns what the data says);
    2. a greedy search, ``search_steps`` Adam steps per generator with the classifier held: generator
       k alone transforms the images at the initial range and minimises their cross-entropy plus its
       orthogonality to generators 1..k-1 (a classifier that co-adapts to its own augmentation gives
       the directions almost no signal, and a joint search splits one symmetry over several
       generators, since the loss hardly changes under rotations inside the valid span);
    3. joint training of classifier, directions and ranges on CE − λ·Σw + μ·orth.
    """
    dev, dtype = resolve_device(device), resolve_dtype(config.dtype)
    c, h, w = train.images.shape[1:]
    with torch.random.fork_rng(devices=[]):  # conv init draws from the global stream; the caller's is restored
        torch.manual_seed(config.seed)
        model = SmallCNN(c, train.n_classes, h, w, config.widths).to(device=dev, dtype=dtype)
    aug = LearnedAugmentation(h, w, config, dtype=dtype, device=dev)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=1e-4)
    aug_opt = torch.optim.Adam(aug.parameters(), lr=config.aug_lr)
    # the classifier follows the baselines' one-cycle schedule, so accuracies compare like with like
    per_epoch = math.ceil(len(train) / config.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.epochs * per_epoch)
    gen = torch.Generator().manual_seed(config.seed + 1)
    x_all, y_all = train.images.to(device=dev, dtype=dtype), train.labels.to(dev)
    history = []

    def orth():
        return config.orthogonality * aug.orthogonality() if config.k > 1 and config.orthogonality > 0 else 0.0

    pretrain = min(config.pretrain_epochs, config.epochs - 1)
    for epoch in range(config.epochs):
        plain = epoch < pretrain
        if epoch == pretrain and config.search_steps:
            model.eval()
            for p in model.parameters():
                p.requires_grad_(False)
            for k in range(config.k):
                for _ in range(config.search_steps):
                    idx = torch.randint(0, len(train), (config.batch_size,), generator=gen).to(dev)
                    loss = F.cross_entropy(model(aug(x_all[idx], gen, frozen=True, only=k)), y_all[idx])
                    if k > 0 and config.orthogonality > 0:
                        loss = loss + config.orthogonality * aug.orthogonality(upto=k)
                    aug_opt.zero_grad(set_to_none=True)
                    loss.backward()
                    aug_opt.step()
            for p in model.parameters():
                p.requires_grad_(True)
        model.train()
        tot = {"ce": 0.0, "n": 0}
        perm = torch.randperm(len(train), generator=gen)
        for i in range(0, len(train), config.batch_size):
            idx = perm[i: i + config.batch_size].to(dev)
            xb = x_all[idx] if plain else aug(x_all[idx], gen)
            ce = F.cross_entropy(model(xb), y_all[idx])
            loss = ce if plain else ce - config.width_reward * aug.ranges.sum() + orth()
            opt.zero_grad(set_to_none=True)
            aug_opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if not plain:
                aug_opt.step()
            tot["ce"] += float(ce.detach()) * len(idx)
            tot["n"] += len(idx)
        rec = {"epoch": epoch + 1, "ce": tot["ce"] / tot["n"], "ranges": [float(r) for r in aug.ranges.detach()],
               "rotation_cosine": _rotation_cosines(aug)}
        history.append(rec)
        if progress is not None:
            progress(epoch + 1, config.epochs, rec)
    model.eval()
    xt, yt = test.images.to(device=dev, dtype=dtype), test.labels
    acc = {"learned": accuracy(model, xt, yt)}
    if config.tta:
        with torch.no_grad():
            acc["learned+tta"] = _tta_accuracy(model, xt, yt, lambda im, g: aug(im, g), config.tta, config.seed + 5)
    return model, aug, {"accuracy": acc, "history": history}


def summarise(aug: LearnedAugmentation) -> dict:
    """Closed-form generators, ranges, activity, rotation cosines and span captures of a learned augmentation."""
    cfg = aug.config
    with torch.no_grad():
        grid = aug.grid_fields().double().cpu()
        ranges = aug.ranges.double().cpu()
    coeffs, aff = affine_summary(grid)
    h, w = grid.shape[-2:]
    named = field_on_grid(plane_affine_basis, h, w, dtype=torch.float64)
    rot_cos = span_capture(named[2:3], grid)  # |cos| of each generator with rotation
    active = [bool(r >= cfg.active_width) for r in ranges]
    if any(active):
        capture = span_capture(grid[torch.tensor(active)], named)
    else:
        capture = torch.zeros(6, dtype=torch.float64)
    return {
        "coefficients": coeffs.tolist(),
        "affineness": [float(a) for a in aff],
        "ranges": [float(r) for r in ranges],
        "active": active,
        "rotation_cosine": [float(c) for c in rot_cos],
        "capture": {n: float(c) for n, c in zip(REFERENCE_NAMES[:6], capture)},
        "rotation_range": float((ranges * rot_cos).max()),
        "fields": grid,
    }


def compare_augmentations(
    data: ImageSet,
    config: SemolaConfig = SemolaConfig(),
    *,
    test_fraction: float = 0.2,
    baselines: bool = True,
    device: str | torch.device = "cpu",
    progress: Callable[[str, int, int], None] | None = None,
) -> SemolaResult:
    """Split, train SEMoLA and (optionally) the no-augmentation and fixed full-rotation baselines; compare."""
    start = time.perf_counter()
    train, test = data.split(test_fraction, seed=config.seed)
    stage = (lambda name: (lambda e, n, rec: progress(name, e, n))) if progress else (lambda name: None)
    _, aug, out = train_semola(train, test, config, device=device, progress=stage("learned augmentation"))
    acc = dict(out["accuracy"])
    if baselines:
        dev, dtype = resolve_device(device), resolve_dtype(config.dtype)
        xt = test.images.to(device=dev, dtype=dtype)
        for kind, name in (("none", "none"), ("rotation", "fixed rotation")):
            cc = ClassifierConfig(augment=kind, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                                  widths=config.widths, seed=config.seed, dtype=config.dtype)
            wrap = (lambda e, n, loss, _name=name: progress(_name, e, n)) if progress else None
            clf = train_classifier(train, cc, test=test, device=device, progress=wrap)
            acc[name] = float(clf.test_accuracy)
            if config.tta and kind == "rotation":
                acc[name + "+tta"] = _tta_accuracy(clf.model, xt, test.labels,
                                                   lambda im, g: random_augment(im, "rotation", g), config.tta, config.seed + 5)
    s = summarise(aug)
    return SemolaResult(
        coefficients=s["coefficients"], affineness=s["affineness"], ranges=s["ranges"], active=s["active"],
        rotation_cosine=s["rotation_cosine"], capture=s["capture"], rotation_range=s["rotation_range"],
        accuracy=acc, config=config, data=data.source, history=out["history"],
        seconds=time.perf_counter() - start, fields=s["fields"],
    )

