r"""Augment a dataset file: N transformed copies of every trajectory, streamed, with provenance.

Output: an LPSDA-layout file (:mod:`pdesym.datasets`) with one split (the augmented one) whose
trajectory ``i * copies + c`` is copy c of source trajectory i, transformed by :math:`g_{\varepsilon_{i,c}}` with
:math:`\varepsilon_{i,c,m} \sim \mathcal U(-s_m, s_m)` drawn from one generator seeded ``seed``.
Next to the LPSDA datasets the split holds ``group_parameters`` (N, k) (the ε of each sample,
columns in the order of the root attribute ``generators``) and ``source_index`` (N,). When a
generator moves t, every sample is cropped to the same number of snapshots (the shortest valid
window over the file, found in a first pass) starting at its first valid snapshot, so the file
stays a dense (N, nt', nx) array with per-sample ``t``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from pdesym.augment.generators import action_from_result, load_symmetries, same_equation
from pdesym.augment.sampling import draw_parameters, parse_scales
from pdesym.augment.transform import transform_trajectories
from pdesym.datasets import DatasetWriter, creation_time, read_dataset
from pdesym.devices import resolve_device
from pdesym.errors import PdesymError
from pdesym.operators.trajectories import Trajectories

__all__ = ["AugmentSummary", "AugmentedWriter", "augment_dataset"]


class AugmentedWriter(DatasetWriter):
    """A :class:`pdesym.datasets.DatasetWriter` that also stores per-sample group parameters and
    source indices next to the LPSDA datasets of a split."""

    def append_samples(self, split: str, u: Any, x: Any, t: Any, seeds: Any, params: np.ndarray,
                       source: np.ndarray) -> int:
        """Append trajectories (as :meth:`append`) with their group parameters (m, k) and source indices (m,)."""
        total = self.append(split, u, x, t, seeds)
        group = self._require_open()[split]
        m = len(source)
        for name, value, dtype in (("group_parameters", params, np.float64), ("source_index", source, np.int64)):
            value = np.asarray(value, dtype=dtype)
            if name not in group:
                group.create_dataset(name, shape=(0, *value.shape[1:]), maxshape=(None, *value.shape[1:]),
                                     chunks=(4096, *value.shape[1:]), dtype=dtype, track_times=False)
            ds = group[name]
            ds.resize(total, axis=0)
            ds[total - m:total] = value
        return total


@dataclass(frozen=True)
class AugmentSummary:
    """What :func:`augment_dataset` wrote."""

    path: Path
    split: str
    n_source: int
    copies: int
    nt: int
    nx: int
    generators: list[dict]
    scales: tuple[float, ...]
    cropped: int  # snapshots dropped from the end of every sample by the common crop


def _moves_time(action) -> bool:
    return any((not f.symbolic) or f.field.tau != 0 for f in action.flows)


def augment_dataset(source: str | os.PathLike, symmetries: str | os.PathLike, out: str | os.PathLike, *,
                    copies: int, scales: str | float | Sequence[float], seed: int = 0, split: str = "train",
                    generators: str | None = None, composition: str = "product", order: int = 8,
                    chunk: int = 16, device: str = "auto", force: bool = False, check_equation: bool = True,
                    progress: Callable[[int, int], None] | None = None, command: str | None = None) -> AugmentSummary:
    r"""Write ``copies`` transformed copies of every trajectory of ``split`` in ``source`` to ``out``.

    ``symmetries``: a ``pdesym-symmetries/1`` file whose equation must be the data's (checked when
    both record one, unless ``check_equation=False``); ``generators`` picks some of its generators
    (``"X2,X3"``); ``scales`` one number or one per chosen generator. Streaming: ``chunk`` source
    trajectories are read, transformed and written at a time; ``progress(done, total)`` after each.
    """
    from pdesym import __version__

    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
        raise PdesymError(f"--copies must be a positive integer, got {copies!r}.")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise PdesymError(f"--chunk must be a positive integer, got {chunk!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise PdesymError(f"--seed must be a non-negative integer, got {seed!r}.")
    out = Path(out)
    if out.exists() and not force:
        raise PdesymError(f"{out} already exists; pass --force to overwrite it.")
    if Path(source).resolve() == out.resolve():
        raise PdesymError("The output file is the source file; write the augmented data to a new file.")
    result = load_symmetries(symmetries)
    action, chosen = action_from_result(result, generators, composition=composition)
    texts = [g.field.text() for _, g in chosen]
    scale = parse_scales(scales, [g.name for _, g in chosen], texts, [i + 1 for i, _ in chosen])
    dev = resolve_device(device)

    with read_dataset(source) as data:
        if check_equation and result.equation is not None and data.equation is not None:
            if not same_equation(result.equation, data.equation):
                raise PdesymError(
                    f"The symmetries file is for {result.equation.text!r} but {source} holds solutions of "
                    f"{data.equation.text!r}; compute the symmetries of the data's equation "
                    f"(pdesym symmetries ... --out) or pass the matching file."
                )
        sp_data = data[split]
        n, nt, nx = sp_data.n, sp_data.nt, sp_data.nx
        # All group parameters first (cheap, and independent of chunking and device).
        params = draw_parameters(n * copies, scale, torch.Generator().manual_seed(seed))

        def transformed(lo: int, hi: int) -> Trajectories:
            u = np.asarray(sp_data.u[lo:hi])
            base = Trajectories.from_grid(np.repeat(u, copies, axis=0),
                                          np.repeat(np.broadcast_to(sp_data.x, (n, nx))[lo:hi], copies, axis=0),
                                          np.repeat(np.broadcast_to(sp_data.t, (n, nt))[lo:hi], copies, axis=0))
            base = base.to(dev, torch.float64)
            return transform_trajectories(base, action, params[lo * copies:hi * copies].to(dev), order=order)

        keep = nt
        if _moves_time(action):  # first pass: the shortest valid window decides the common crop
            for lo in range(0, n, chunk):
                got = transformed(lo, min(n, lo + chunk))
                keep = min(keep, int((got.stop - got.first).min()))
        if keep < 5:
            raise PdesymError(f"The time shifts leave only {keep} valid snapshots in some sample; lower the scale of "
                              "the generators that move t.")
        describe = action.describe()
        for record, s, (i, g) in zip(describe, scale, chosen):
            record.update({"index": f"X{i + 1}", "scale": s, "source": g.source, "verified": g.verified})
        attrs = {
            **{k: v for k, v in data.attrs.items() if k not in ("format", "created", "command", "counts")},
            "pdesym_version": __version__,
            "created": creation_time(),
            "command": command or f"augment_dataset({str(source)!r}, copies={copies}, seed={seed})",
            "augmented": True,
            "augment_source_file": str(Path(source).resolve()),
            "augment_source_split": split,
            "augment_symmetries_file": str(Path(symmetries).resolve()),
            "augment_generators": describe,
            "augment_scales": list(scale),
            "augment_composition": composition,
            "augment_copies": copies,
            "augment_seed": seed,
            "augment_time_order": order,
            "augment_cropped_snapshots": nt - keep,
            "augment_parameters_dataset": f"/{split}/group_parameters",
            "counts": {split: n * copies},
        }
        writer = AugmentedWriter(out, attrs=attrs, force=force)
        writer.split_attrs = {split: {"group_parameter_columns": json.dumps([r["text"] for r in describe]),
                                      "source_split": split}}
        seeds = sp_data.seeds if sp_data.seeds is not None else np.full(n, -1, np.int64)
        with writer:
            for lo in range(0, n, chunk):
                hi = min(n, lo + chunk)
                got = transformed(lo, hi)
                index = got.first[:, None].cpu() + torch.arange(keep)
                rows = torch.arange(len(got))[:, None]
                u = got.u.cpu()[rows, index]
                t = got.t.cpu()[rows, index]
                src = np.repeat(np.arange(lo, hi), copies)
                writer.append_samples(split, u.numpy(), got.x.cpu().numpy(), t.numpy(), seeds[src],
                                      params[lo * copies:hi * copies].numpy(), src)
                if progress is not None:
                    progress(hi, n)
    return AugmentSummary(out, split, n, copies, keep, nx, describe, scale, nt - keep)
