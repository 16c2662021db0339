r"""CUDA-graph capture of a fixed-step time loop: launch K solver steps as one graph replay.

A batched ETDRK4 step on the GPU is a few dozen small kernels (FFTs, fused multiply-adds); at
small and medium batch sizes the launch overhead, not the arithmetic, bounds the speed. When the
shapes, the dtype and the step length are fixed and the right-hand side does not depend on t
explicitly, the steps are identical programs, so :class:`GraphedSteps` records ``steps`` of them
once into a :class:`torch.cuda.CUDAGraph` (after warm-up steps on a side stream, as the torch
documentation prescribes) and replays the graph: ``x_{k+K} = G(x_k)``, the same kernels on the
same addresses. Used automatically by :class:`pdesym.solvers.etdrk4.ETDRK4` on CUDA tensors only;
nothing changes on the CPU. ``PDESYM_CUDA_GRAPHS=0`` turns it off.

Not tested in the project's CI (no GPU there): the CPU results are the reference, and the graph
replays the very ``step`` function the CPU runs.
"""

from __future__ import annotations

import os
from typing import Callable

import torch

__all__ = ["GraphedSteps", "cuda_graphs_enabled", "MAX_GRAPH_STEPS", "GRAPH_MIN_STEPS"]

#: Most steps recorded in one graph (more: fewer replays, more memory in the graph's private pool).
MAX_GRAPH_STEPS = 64
#: Loops shorter than this run eagerly.
GRAPH_MIN_STEPS = 2


def cuda_graphs_enabled(x: torch.Tensor) -> bool:
    """True for CUDA tensors unless ``PDESYM_CUDA_GRAPHS=0``."""
    return x.device.type == "cuda" and os.environ.get("PDESYM_CUDA_GRAPHS", "1") != "0"


class GraphedSteps:
    """``steps`` applications of ``step(x)`` captured as one CUDA graph for inputs like ``example``.

    ``run(x, n)`` returns :math:`\\text{step}^n(x)`: ``n // steps`` replays, then the remainder
    eagerly. The input is copied into the graph's static input tensor; the result is a fresh tensor.
    """

    def __init__(self, step: Callable[[torch.Tensor], torch.Tensor], example: torch.Tensor, *,
                 steps: int = MAX_GRAPH_STEPS, warmup: int = 2) -> None:
        if example.device.type != "cuda":
            raise ValueError("GraphedSteps needs a CUDA tensor")
        self.step = step
        self.steps = steps
        self.static_in = example.clone()
        device = example.device
        side = torch.cuda.Stream(device=device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):  # warm-up off the capture: cuFFT plans, allocator blocks
            x = self.static_in.clone()
            for _ in range(warmup):
                x = step(x)
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            x = self.static_in
            for _ in range(steps):
                x = step(x)
        self.static_out = x

    def matches(self, x: torch.Tensor) -> bool:
        """Whether ``x`` has the shape, dtype and device the graph was captured for."""
        s = self.static_in
        return x.shape == s.shape and x.dtype == s.dtype and x.device == s.device

    def run(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """:math:`\\text{step}^n(x)` with ``n // steps`` graph replays."""
        full, rest = divmod(int(n), self.steps)
        if full:
            self.static_in.copy_(x)
            for i in range(full):
                if i:
                    self.static_in.copy_(self.static_out)  # step never writes its input
                self.graph.replay()
            x = self.static_out.clone()
        for _ in range(rest):
            x = self.step(x)
        return x
