r"""Numerical rank of a validity spectrum: the dimension of the symmetry algebra seen in data.

Given the validities (or their square roots, the generalised singular values) of the
directions of a dictionary span, sorted ascending, the rank r is placed at the largest
consecutive ratio :math:`\sigma_{r}/\sigma_{r-1}` (the *gap*): exact symmetries score at
rounding level, the rest at O(10^{-3}..1), and no absolute threshold is needed (absolute
values do not transfer between equations, DESIGN §7.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from pdesym.errors import PdesymError

__all__ = ["RankChoice", "rank_by_gap"]


@dataclass(frozen=True)
class RankChoice:
    """The chosen rank, its gap (ratio across it), the runner-up gap and its position."""

    rank: int
    gap: float
    runner_up: float
    runner_up_rank: int

    @property
    def margin(self) -> float:
        """How much the chosen gap beats the next best (gap / runner-up)."""
        return self.gap / self.runner_up if self.runner_up > 0 else float("inf")

    def accepted(self, min_gap: float = 5.0, min_margin: float = 1.5) -> bool:
        """The acceptance rule of DESIGN §7.1: gap ≥ ``min_gap`` and ≥ ``min_margin`` × the runner-up."""
        return self.gap >= min_gap and self.margin >= min_margin


def rank_by_gap(values: Sequence[float] | torch.Tensor, *, max_rank: int | None = None, floor: float = 1e-300) -> RankChoice:
    r"""Rank at the largest ratio between consecutive ascending values (σ or validities).

    ``values`` are non-negative; r ranges over 1..max_rank (default len - 1). Zeros are
    lifted to ``floor`` × the largest value so that ratios stay finite.
    """
    v = torch.as_tensor(values, dtype=torch.float64).flatten().sort().values
    if v.numel() < 2:
        raise PdesymError("The rank needs at least two singular values.")
    if (v < 0).any() or not torch.isfinite(v).all():
        raise PdesymError("Singular values must be finite and non-negative.")
    top = float(v[-1]) if float(v[-1]) > 0 else 1.0
    v = v.clamp_min(top * floor)
    ratios = v[1:] / v[:-1]
    m = v.numel() - 1 if max_rank is None else max(1, min(int(max_rank), v.numel() - 1))
    ratios = ratios[:m]
    order = torch.argsort(ratios, descending=True)
    best = int(order[0])
    second = int(order[1]) if order.numel() > 1 else best
    return RankChoice(best + 1, float(ratios[best]), float(ratios[second]) if order.numel() > 1 else 0.0, second + 1)
