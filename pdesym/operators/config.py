r"""Configuration of a 1-D Fourier neural operator and of its training, as one JSON-able record.

The defaults reproduce the protocol of the Lie-point-symmetry data-augmentation benchmark
(Brandstetter, Welling, Worrall, "Lie Point Symmetry Data Augmentation for Neural PDE Solvers",
ICML 2022, code ``brandstetter-johannes/LPSDA``), which Ko, Kim & Lee (NeurIPS 2024) reuse:

* the operator maps ``time_window = 20`` past snapshots to the next ``time_future = 20``;
* FNO with ``modes = 32``, ``width = 256``, ``layers = 5``, projection 256 -> 128 -> 20, GELU;
* AdamW, learning rate 1e-4, batch 16, 20 epochs with the rate multiplied by 0.4 after epochs
  5, 10 and 15; one epoch is ``2 nt = 280`` passes over the training trajectories, each sample
  a window at a random start time (so every start is seen about twice per epoch);
* optional pushforward unrolling: ``unrolling = r`` unrolls up to ``min(epoch, r)`` steps
  without gradient before the loss step.

``FNO_PRESETS`` holds that protocol (``"lpsda"``), Ko et al.'s variant (``"ko2024"``: 40 epochs,
decay after 10/20/30, no dx/dt channels) and a size that trains in minutes on two CPU cores
(``"cpu-small"``).

Measured with the LPSDA KdV settings (L = 128, nx = 256, the last 140 of 250 snapshots on
[0, 100]), 10 training and 64 test trajectories, one seed, one CPU core: ``cpu-small`` reaches a
rollout NMSE of 9.3 +- 19.5 in 200 s (train-set rollout 0.16); with modes 16 / width 32 it was
23.7 +- 24.7. Few-trajectory KdV generalises poorly at these sizes; see the issue-6 notes.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

import torch

from pdesym.devices import DTYPES
from pdesym.errors import PdesymError, check_choice

__all__ = [
    "EXTRA_CHANNELS",
    "FNO_PRESETS",
    "FNOConfig",
    "TORCH_DTYPES",
    "WINDOW_STARTS",
    "get_fno_config",
]

#: Extra input channels the operator can see besides the past snapshots. ``x`` is the grid
#: coordinate scaled to [0, 1) (Li et al. 2021); ``dx`` and ``dt`` are the per-sample spacings
#: broadcast over the grid (LPSDA), which let one operator serve samples whose grid or time step
#: was changed by a scaling symmetry.
EXTRA_CHANNELS: dict[str, str] = {
    "x": "grid coordinate x/L in [0, 1)",
    "dx": "per-sample grid spacing",
    "dt": "per-sample time step",
}

#: How training windows are placed in a trajectory. ``any``: every admissible start index
#: (implicit time-translation augmentation, Ko et al.); ``aligned``: only the starts
#: ``time_window + k * time_future`` that the rollout evaluation also uses (LPSDA without its
#: time-shift augmentation).
WINDOW_STARTS: dict[str, str] = {
    "any": "every admissible start time",
    "aligned": "starts time_window + k*time_future, as in the rollout",
}

#: The dtypes a config may name: the one registry of :mod:`pdesym.devices` (kept under this name for callers).
TORCH_DTYPES: dict[str, torch.dtype] = DTYPES


@dataclass(frozen=True)
class FNOConfig:
    """Architecture and training protocol of a 1-D FNO; the defaults are the LPSDA protocol.

    Architecture: ``time_window`` input snapshots (+ ``extra_channels``) are lifted pointwise to
    ``width`` channels, pass ``layers`` Fourier layers ``v <- GELU(K v + W v)`` whose kernel ``K``
    keeps the lowest ``modes`` Fourier modes, and are projected pointwise through
    ``projection_width`` channels to ``time_future`` output snapshots.

    Training: ``epochs`` epochs of ``passes_per_epoch`` passes over the training trajectories in
    shuffled batches of ``batch_size``; AdamW(``lr``, ``weight_decay``) with the rate multiplied by
    ``lr_decay`` after each epoch in ``lr_milestones``; ``unrolling`` pushforward steps at most;
    window starts drawn as ``window_starts`` says; arithmetic in ``dtype``.
    """

    time_window: int = 20
    time_future: int = 20
    modes: int = 32
    width: int = 256
    layers: int = 5
    projection_width: int = 128
    extra_channels: tuple[str, ...] = ("dx", "dt")
    epochs: int = 20
    passes_per_epoch: int = 280
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 1e-2
    lr_decay: float = 0.4
    lr_milestones: tuple[int, ...] = (5, 10, 15)
    unrolling: int = 0
    window_starts: str = "any"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        # Lists from JSON become tuples so that configs compare and hash by value.
        object.__setattr__(self, "extra_channels", tuple(self.extra_channels))
        object.__setattr__(self, "lr_milestones", tuple(int(m) for m in self.lr_milestones))
        for name in ("time_window", "time_future", "modes", "width", "layers", "projection_width",
                     "epochs", "passes_per_epoch", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PdesymError(f"FNOConfig.{name} must be a positive integer, got {value!r}.")
        if isinstance(self.unrolling, bool) or not isinstance(self.unrolling, int) or self.unrolling < 0:
            raise PdesymError(f"FNOConfig.unrolling must be a non-negative integer, got {self.unrolling!r}.")
        for name in ("lr", "lr_decay"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise PdesymError(f"FNOConfig.{name} must be a positive finite number, got {value!r}.")
        if not (isinstance(self.weight_decay, (int, float)) and math.isfinite(self.weight_decay)
                and self.weight_decay >= 0):
            raise PdesymError(f"FNOConfig.weight_decay must be a finite number >= 0, got {self.weight_decay!r}.")
        if list(self.lr_milestones) != sorted(set(self.lr_milestones)) or any(m < 1 for m in self.lr_milestones):
            raise PdesymError(
                f"FNOConfig.lr_milestones must be strictly increasing positive epochs, got {list(self.lr_milestones)}."
            )
        for name in self.extra_channels:
            check_choice("extra channel", name, EXTRA_CHANNELS)
        if len(set(self.extra_channels)) != len(self.extra_channels):
            raise PdesymError(f"FNOConfig.extra_channels lists a channel twice: {list(self.extra_channels)}.")
        check_choice("window start rule", self.window_starts, WINDOW_STARTS)
        check_choice("dtype", self.dtype, TORCH_DTYPES)

    @property
    def in_channels(self) -> int:
        """Number of input channels: the past snapshots plus the extra channels."""
        return self.time_window + len(self.extra_channels)

    @property
    def torch_dtype(self) -> torch.dtype:
        """The torch dtype named by ``dtype``."""
        return TORCH_DTYPES[self.dtype]

    def check_data(self, *, nx: int, nt: int, n_trajectories: int, what: str = "training data") -> None:
        """Refuse data the operator cannot be trained or evaluated on, in one sentence.

        Needs ``modes <= nx // 2`` (the Nyquist mode is never a learned mode, so the kernel is a
        real Fourier multiplier), ``time_window + time_future * (1 + unrolling) <= nt`` and at
        least one trajectory.
        """
        if n_trajectories < 1:
            raise PdesymError(f"The {what} holds no trajectories; give at least one (n_train = 0).")
        self.check_grid(nx)
        need = self.time_window + self.time_future * (1 + self.unrolling)
        if need > nt:
            raise PdesymError(
                f"The {what} has nt = {nt} snapshots but time_window + time_future*(1 + unrolling) = {need} "
                "are needed per training window; shorten the windows or give longer trajectories."
            )

    def check_grid(self, nx: int) -> None:
        """Refuse a grid too coarse for the kept modes: needs ``modes <= nx // 2``."""
        if self.modes > nx // 2:
            raise PdesymError(
                f"FNOConfig.modes = {self.modes} exceeds nx/2 = {nx // 2} for a grid of nx = {nx} points; "
                f"use modes <= {nx // 2}."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        out = dataclasses.asdict(self)
        out["extra_channels"] = list(self.extra_channels)
        out["lr_milestones"] = list(self.lr_milestones)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FNOConfig":
        """Inverse of :meth:`to_dict`; unknown keys are refused by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PdesymError(f"Unknown FNOConfig field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "FNOConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


FNO_PRESETS: dict[str, FNOConfig] = {
    # Brandstetter et al. 2022 (LPSDA, experiments/train.py defaults, FNO1d with dx/dt channels).
    "lpsda": FNOConfig(),
    # Ko, Kim & Lee 2024 (pde/train_fno.py): 40 epochs, decay after 10/20/30, no dx/dt channels.
    "ko2024": FNOConfig(epochs=40, lr_milestones=(10, 20, 30), extra_channels=()),
    # A few minutes on one CPU core for 10 KdV trajectories of 140 x 256 (2800 steps): the same
    # windows and modes, a 64-wide 4-layer network (1.1 M parameters instead of 21 M), half the
    # epochs and a 10x higher rate. Steps per epoch grow with n_train / batch_size.
    "cpu-small": FNOConfig(modes=32, width=64, layers=4, projection_width=64, epochs=10,
                           passes_per_epoch=280, lr=1e-3, lr_milestones=(5, 8)),
}


def get_fno_config(name: str, **changes: Any) -> FNOConfig:
    """The preset ``name`` from :data:`FNO_PRESETS`, with ``changes`` applied."""
    check_choice("FNO preset", name, FNO_PRESETS)
    return FNO_PRESETS[name].replace(**changes) if changes else FNO_PRESETS[name]

