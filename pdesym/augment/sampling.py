r"""Random group elements and the training-time augmentation built on them.

Group parameters are drawn independently per sample and generator,
:math:`\varepsilon_{b,i} \sim \mathcal U(-s_i, s_i)`, with a scale :math:`s_i` per generator
(a scale 0 switches a generator off). Different generators need different scales: a translation
by a tenth of the period is harmless, a scaling :math:`e^{\varepsilon}` with ε = 0.1 already
changes amplitudes by 20 % and moves the data off the training distribution.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import torch

from pdesym.augment.group import GroupAction
from pdesym.augment.transform import transform_trajectories
from pdesym.errors import PdesymError
from pdesym.operators.trajectories import Trajectories

__all__ = ["PrecomputedAugmentation", "SymmetryAugmentation", "draw_parameters", "parse_scales"]


def parse_scales(spec: str | float | Sequence[float] | Mapping[str, float] | None, names: Sequence[str],
                 texts: Sequence[str] | None = None, numbers: Sequence[int] | None = None) -> tuple[float, ...]:
    """Per-generator scales from one number (all), a list (one per generator, in order), a mapping
    (generator number 1.., name or text -> scale; the others 0) or text like ``"0.5"``,
    ``"1,0.5,0.1,0"`` or ``"X1=1,X3=0.2"``.

    ``numbers``: the generators' numbers in the symmetries file (1-based) when only some of them
    were chosen, so that ``X3`` still means the file's X3 after ``--generators X1,X3``."""
    k = len(names)
    texts = list(texts) if texts is not None else [""] * k
    numbers = list(numbers) if numbers is not None else list(range(1, k + 1))
    if spec is None:
        raise PdesymError("Give the group-parameter scale(s), e.g. --scale 0.5 or --scale 1,0.5,0.1,0.")
    if isinstance(spec, str):
        items = [s.strip() for s in spec.split(",") if s.strip()]
        if not items:
            raise PdesymError("The --scale list is empty; give one number or one per generator.")
        if all("=" in s for s in items):
            spec = {s.split("=", 1)[0].strip(): _number(s.split("=", 1)[1]) for s in items}
        elif any("=" in s for s in items):
            raise PdesymError("Mix of 'name=value' and plain numbers in --scale; use one form.")
        else:
            values = [_number(s) for s in items]
            spec = values[0] if len(values) == 1 else values
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        scales = [float(spec)] * k
    elif isinstance(spec, Mapping):
        scales = [0.0] * k
        for key, value in spec.items():
            index = _generator_index(str(key), names, texts, numbers)
            scales[index] = float(value)
    else:
        scales = [float(v) for v in spec]
        if len(scales) != k:
            raise PdesymError(f"Got {len(scales)} scales for {k} generators; give one number or exactly {k}.")
    for s in scales:
        if not math.isfinite(s) or s < 0:
            raise PdesymError(f"Scales must be finite numbers >= 0, got {s}.")
    if not any(scales):
        raise PdesymError("Every scale is 0, so no sample would change; give at least one positive scale.")
    return tuple(scales)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise PdesymError(f"{text.strip()!r} is not a number; scales look like 0.5 or X2=0.1.") from None


def _generator_index(key: str, names: Sequence[str], texts: Sequence[str], numbers: Sequence[int]) -> int:
    if key.upper().startswith("X") and key[1:].isdigit():
        if int(key[1:]) in numbers:
            return list(numbers).index(int(key[1:]))
        chosen = ", ".join(f"X{n}" for n in numbers)
        raise PdesymError(f"There is no generator {key} among the generators used ({chosen}).")
    for i, (name, text) in enumerate(zip(names, texts)):
        if key == name or key == text:
            return i
    listed = ", ".join(f"X{n} ({name or text})" for n, name, text in zip(numbers, names, texts))
    raise PdesymError(f"No generator named {key!r}; choose among {listed}.")


def draw_parameters(n: int, scales: Sequence[float], generator: torch.Generator) -> torch.Tensor:
    r"""(n, k) float64 CPU tensor with :math:`\varepsilon_{b,i} \sim \mathcal U(-s_i, s_i)`."""
    scale = torch.as_tensor(list(scales), dtype=torch.float64)
    return (2 * torch.rand((n, len(scale)), dtype=torch.float64, generator=generator) - 1) * scale


class SymmetryAugmentation:
    """Training hook: transform each batch by a random group element (``train_operator(augment=...)``).

    Samples whose valid window would become shorter than ``min_snapshots`` (a large time shift)
    keep their source trajectory -- the identity element -- so training always finds a window;
    ``kept`` counts them. All randomness comes from the training generator.
    """

    def __init__(self, action: GroupAction, scales: Sequence[float], *, min_snapshots: int = 1, order: int = 8
                 ) -> None:
        if len(scales) != action.size:
            raise PdesymError(f"Got {len(scales)} scales for {action.size} generators.")
        self.action = action
        self.scales = tuple(float(s) for s in scales)
        self.min_snapshots = int(min_snapshots)
        self.order = order
        self.kept = 0

    def __call__(self, batch: Trajectories, generator: torch.Generator) -> Trajectories:
        eps = draw_parameters(len(batch), self.scales, generator)
        out = transform_trajectories(batch, self.action, eps.to(batch.u.device), order=self.order)
        short = (out.stop - out.first) < self.min_snapshots
        if bool(short.any()):
            self.kept += int(short.sum())
            keep = short.to(out.u.device)
            fields = {}
            for f in dataclasses.fields(out):
                new, old = getattr(out, f.name), getattr(batch, f.name)
                mask = keep.reshape(-1, *([1] * (new.ndim - 1)))
                fields[f.name] = torch.where(mask, old, new)
            out = Trajectories(**fields)
        return out

    def __repr__(self) -> str:
        gens = ", ".join(f"{f.text()} (scale {s:g})" for f, s in zip(self.action.flows, self.scales))
        return f"SymmetryAugmentation({gens}; {self.action.composition})"


class PrecomputedAugmentation:
    r"""Training hook that draws, per sample, one of ``copies`` transformed versions of its
    trajectory computed once up front (or the original with probability ``p_original``) -- the
    protocol of Ko et al. (``n_transform`` precomputed copies), much cheaper per step than
    transforming every batch.

    ``data``: the training :class:`Trajectories` (the hook looks copies up by ``batch.sample``);
    group parameters come from a generator seeded ``seed``. Samples whose valid window is shorter
    than ``min_snapshots`` keep the original trajectory in that copy.
    """

    def __init__(self, action: GroupAction, scales: Sequence[float], data: Trajectories, *, copies: int = 8,
                 seed: int = 0, p_original: float = 0.0, min_snapshots: int = 1, order: int = 8,
                 chunk: int = 16) -> None:
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
            raise PdesymError(f"copies must be a positive integer, got {copies!r}.")
        if not 0 <= p_original <= 1:
            raise PdesymError(f"p_original must lie in [0, 1], got {p_original!r}.")
        online = SymmetryAugmentation(action, scales, min_snapshots=min_snapshots, order=order)
        generator = torch.Generator().manual_seed(seed)
        n = len(data)
        parts = []
        for _ in range(copies):
            for lo in range(0, n, chunk):
                parts.append(online(data.select(torch.arange(lo, min(n, lo + chunk))), generator))
        self.pool = Trajectories(**{f.name: torch.cat([getattr(p, f.name) for p in parts])
                                    for f in dataclasses.fields(Trajectories)})
        self.n, self.copies, self.p_original = n, copies, float(p_original)
        self.kept = online.kept
        self.description = repr(online).replace("SymmetryAugmentation", "PrecomputedAugmentation", 1)

    def __call__(self, batch: Trajectories, generator: torch.Generator) -> Trajectories:
        b = len(batch)
        copy = torch.randint(self.copies, (b,), generator=generator)
        original = torch.rand(b, dtype=torch.float64, generator=generator) < self.p_original
        index = copy * self.n + batch.sample.cpu()
        out = self.pool.select(index.to(self.pool.u.device)).to(batch.u.device)
        if bool(original.any()):
            mask = original.to(batch.u.device)
            fields = {}
            for f in dataclasses.fields(out):
                new, old = getattr(out, f.name), getattr(batch, f.name)
                fields[f.name] = torch.where(mask.reshape(-1, *([1] * (new.ndim - 1))), old, new)
            out = Trajectories(**fields)
        return dataclasses.replace(out, sample=batch.sample)

    def __repr__(self) -> str:
        return self.description + f" x {self.copies} copies"
