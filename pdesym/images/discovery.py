r"""Symmetry discovery on images: K learned plane fields whose flows a trained classifier ignores.

For fields :math:`V_1..V_K` (an :class:`~pdesym.generators.MLPVectorFields` batch with a linear
skip path), each normalised by the pixel change it causes, the *validity* of :math:`V_k` is the
mean KL divergence :math:`\mathrm{KL}(p(I)\,\|\,p(I\circ\exp(-\varepsilon V_k)))` of the classifier's
softmax over images I and random ε ∈ [-ε_max, ε_max] (``feature``: 1 − cosine of the features
instead). The loss is the mean validity plus the shared orthogonality and smoothness regularisers
of :mod:`pdesym.generators`. Since the loss hardly changes when the fields rotate inside the valid
subspace, the result is judged by its *span*: the principal cosine of each named generator with
it, the span's affine-ness, and a reference table of the validity of each named generator and of
a non-symmetric swirl scored the same way.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from pdesym.errors import PdesymError, check_choice
from pdesym.flows import pixel_grid, warp_images
from pdesym.generators import MLPVectorFields, orthogonality_penalty, smoothness_penalty
from pdesym.images.classifier import TrainedClassifier
from pdesym.images.fields import (
    REFERENCE_NAMES,
    affine_summary,
    metric_weights,
    named_fields_on_grid,
    normalise_fields,
    span_affineness,
    span_capture,
    structure_tensor,
)

__all__ = ["VALIDITIES", "DiscoveryConfig", "ImageDiscovery", "transform_validity", "discover_image_symmetries"]

VALIDITIES = {
    "kl": "KL divergence of the classifier's softmax (image vs transformed image)",
    "feature": "1 − cosine of the classifier's penultimate features",
}


@dataclass(frozen=True)
class DiscoveryConfig:
    """Settings of :func:`discover_image_symmetries` (all recorded in symmetries.json)."""

    k: int = 4
    steps: int = 300
    batch_size: int = 16
    lr: float = 5e-3
    eps_max: float = 2.0  # flow range, in one-pixel-shift equivalents of image change
    flow_steps: int = 4
    hidden: int = 32
    depth: int = 2
    orthogonality: float = 1.0
    smoothness: float = 1e-3
    validity: str = "kl"
    eval_images: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("validity", self.validity, VALIDITIES)
        if self.k < 1 or self.steps < 1 or self.batch_size < 1 or self.eps_max <= 0 or self.flow_steps < 1:
            raise PdesymError("k, steps, batch size, flow steps must be >= 1 and eps_max > 0.")


@dataclass
class ImageDiscovery:
    """Learned fields on the pixel grid (normalised), their scores, span captures and the reference table."""

    fields: torch.Tensor  # (K, 2, H, W), normalised by pixel change
    validity: list[float]
    coefficients: list[list[float]]  # affine fit, named-basis coordinates
    affineness: list[float]
    capture: dict[str, float]  # named generator -> principal cosine with the learned span (weighted metric)
    capture_plain: dict[str, float]  # the same in the plain pixel metric
    span_affineness: float
    reference: dict[str, float]  # named generator / swirl -> validity
    config: DiscoveryConfig
    classifier: dict
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def nearest_names(self) -> list[str]:
        """For each learned field, the named generator its affine fit is closest to (by |cosine| of coordinates)."""
        names = REFERENCE_NAMES[:6]
        out = []
        for c in self.coefficients:
            v = torch.tensor(c)
            i = int(v.abs().argmax())
            share = float(v[i] ** 2 / (v**2).sum().clamp_min(1e-30))
            out.append(f"≈ {names[i]}" if share >= 0.8 else f"mix ({names[i]} {share:.0%})")
        return out


def _log_softmax(model, images):
    return F.log_softmax(model(images), dim=-1)


def transform_validity(
    model: torch.nn.Module,
    images: torch.Tensor,
    grid_values: torch.Tensor,
    eps: torch.Tensor,
    *,
    kind: str = "kl",
    flow_steps: int = 4,
    reference: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Validity of each field (K, 2, H, W) on images (B, C, H, W) at flow parameters ``eps`` (K, B): (K,).

    ``kl``: :math:`\mathrm{mean}_b\,\mathrm{KL}(p(I_b)\|p(I_b\circ e^{-\varepsilon_{kb}V_k}))`;
    ``feature``: mean of 1 − cos(features). ``reference`` passes precomputed log-probabilities /
    features of the untransformed images.
    """
    k, b = eps.shape
    c, h, w = images.shape[1:]
    tiled = images[None].expand(k, b, c, h, w).reshape(k * b, c, h, w)
    grids = grid_values[:, None].expand(k, b, 2, h, w).reshape(k * b, 2, h, w)
    moved = warp_images(tiled, grids, eps.reshape(-1), steps=flow_steps)
    if kind == "kl":
        if reference is None:
            with torch.no_grad():
                reference = _log_softmax(model, images)
        logq = _log_softmax(model, moved).reshape(k, b, -1)
        kl = (reference.exp()[None] * (reference[None] - logq)).sum(-1)
        return kl.mean(-1)
    check_choice("validity", kind, VALIDITIES)
    if reference is None:
        with torch.no_grad():
            reference = model.embed(images)
    feats = model.embed(moved).reshape(k, b, -1)
    return (1.0 - F.cosine_similarity(feats, reference[None].expand_as(feats), dim=-1)).mean(-1)


def _eval_validity(model, images, grids, cfg: DiscoveryConfig) -> torch.Tensor:
    """Deterministic validity on a fixed image set at ε ∈ {±ε_max, ±ε_max/2}, in chunks."""
    levels = torch.tensor([-1.0, -0.5, 0.5, 1.0], dtype=images.dtype, device=images.device) * cfg.eps_max
    total = torch.zeros(grids.shape[0], dtype=images.dtype, device=images.device)
    with torch.no_grad():
        ref = _log_softmax(model, images) if cfg.validity == "kl" else model.embed(images)
        for e in levels:
            for i in range(0, images.shape[0], 64):
                chunk = images[i: i + 64]
                eps = e.expand(grids.shape[0], chunk.shape[0])
                v = transform_validity(model, chunk, grids, eps, kind=cfg.validity, flow_steps=cfg.flow_steps, reference=ref[i: i + 64])
                total += v * chunk.shape[0]
    return total / (len(levels) * images.shape[0])


def discover_image_symmetries(
    classifier: TrainedClassifier,
    images: torch.Tensor,
    config: DiscoveryConfig = DiscoveryConfig(),
    *,
    progress: Callable[[int, int, float], None] | None = None,
) -> ImageDiscovery:
    """Learn K fields that the classifier deems valid on ``images`` (N, C, H, W); score their span."""
    start = time.perf_counter()
    model = classifier.model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    dtype, dev = classifier.dtype, next(model.parameters()).device
    x_all = images.to(device=dev, dtype=dtype)
    if tuple(x_all.shape[1:]) != tuple(classifier.shape):
        raise PdesymError(f"The classifier expects images of shape {tuple(classifier.shape)}, the data has {tuple(x_all.shape[1:])}.")
    h, w = x_all.shape[-2:]
    s = structure_tensor(x_all)
    weights = metric_weights(s)
    pts = pixel_grid(h, w, dtype=dtype, device=dev).reshape(-1, 2)
    fields = MLPVectorFields(2, config.k, hidden=config.hidden, depth=config.depth, seed=config.seed, dtype=dtype, device=dev)
    opt = torch.optim.Adam(fields.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed + 7)
    history: list[float] = []

    def grid_of(vals):
        return vals.reshape(config.k, h, w, 2).permute(0, 3, 1, 2)

    for step in range(config.steps):
        idx = torch.randint(0, x_all.shape[0], (config.batch_size,), generator=gen).to(dev)
        eps = ((torch.rand(config.k, config.batch_size, generator=gen, dtype=torch.float64) * 2 - 1) * config.eps_max).to(device=dev, dtype=dtype)
        vals = fields(pts)  # (K, HW, 2)
        normed = normalise_fields(grid_of(vals), s)
        validity = transform_validity(model, x_all[idx], normed, eps, kind=config.validity, flow_steps=config.flow_steps)
        orth = orthogonality_penalty(vals, weights[:, None])
        smooth = (smoothness_penalty(fields, pts, radius=0.1, seed=step) / (vals**2).sum(-1).mean(-1)).mean()
        loss = validity.mean() + config.orthogonality * orth + config.smoothness * smooth
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(float(validity.detach().mean()))
        if progress is not None:
            progress(step + 1, config.steps, history[-1])

    with torch.no_grad():
        learned = normalise_fields(grid_of(fields(pts)), s)
        named = normalise_fields(named_fields_on_grid(h, w, dtype=dtype, device=dev), s)
        n_eval = min(config.eval_images, x_all.shape[0])
        eval_idx = torch.randperm(x_all.shape[0], generator=torch.Generator().manual_seed(config.seed + 11))[:n_eval].to(dev)
        both = _eval_validity(model, x_all[eval_idx], torch.cat([learned, named]), config)
    learned64, named64 = learned.double().cpu(), named.double().cpu()
    w64 = weights.double().cpu()
    capture = span_capture(learned64, named64, w64)
    capture_plain = span_capture(learned64, named64, None)
    coeffs, aff = affine_summary(learned64, w64)
    for p in model.parameters():
        p.requires_grad_(True)
    return ImageDiscovery(
        fields=learned64,
        validity=[float(v) for v in both[: config.k]],
        coefficients=coeffs.tolist(),
        affineness=[float(a) for a in aff],
        capture={n: float(c) for n, c in zip(REFERENCE_NAMES, capture)},
        capture_plain={n: float(c) for n, c in zip(REFERENCE_NAMES, capture_plain)},
        span_affineness=span_affineness(learned64, w64),
        reference={n: float(v) for n, v in zip(REFERENCE_NAMES, both[config.k:])},
        config=config,
        classifier={"augment": classifier.config.augment, "test_accuracy": classifier.test_accuracy,
                    "config": asdict(classifier.config)},
        history=history,
        seconds=time.perf_counter() - start,
    )
