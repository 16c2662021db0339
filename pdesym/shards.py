r"""Datasets written in shards by several processes, presented as one file by an HDF5 virtual dataset.

A distributed ``pdesym generate`` writes one LPSDA-layout file per rank, ``NAME.rank-R-of-W.h5``,
each holding a contiguous block of trajectory indices of every split. :func:`join_shards` writes
``NAME.h5`` whose ``/{split}/pde_{nt}-{nx}`` is an h5py *virtual dataset*: reading it reads the
shards in place (no copy), so 100 000 trajectories cost the disk once. The small per-split arrays
(``x``, ``t``, ``dx``, ``dt``) are copied, and the provenance attributes of the first shard are kept
with the shard list added. The shard files must stay next to the joined file (relative paths).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from pdesym.errors import PdesymError

__all__ = ["shard_path", "join_shards"]

_FIELD_RE = re.compile(r"^pde_(\d+)-(\d+)$")


def shard_path(target: str | Path, rank: int, world_size: int) -> Path:
    """``data/kdv.h5`` -> ``data/kdv.rank-0-of-2.h5``: the file rank ``rank`` writes."""
    target = Path(target)
    return target.with_name(f"{target.stem}.rank-{rank}-of-{world_size}{target.suffix or '.h5'}")


def _field_name(group: h5py.Group, where: str) -> str:
    names = [name for name in group if _FIELD_RE.match(name)]
    if len(names) != 1:
        raise PdesymError(f"{where} must hold exactly one pde_<nt>-<nx> dataset, found {names or 'none'}.")
    return names[0]


def join_shards(shards: Sequence[str | Path], target: str | Path, *, force: bool = False) -> Path:
    """Write ``target`` presenting ``shards`` (in rank order) as one dataset per split, without copying.

    Every shard must hold the same splits with the same (nt, nx), grids and dtype. The joined
    ``/{split}/pde_{nt}-{nx}`` has N = Σ N_r rows: rows of shard r follow those of shard r − 1.
    """
    shards = [Path(p) for p in shards]
    target = Path(target)
    if not shards:
        raise PdesymError("join_shards needs at least one shard file.")
    if target.exists() and not force:
        raise PdesymError(f"{target} exists; pass force=True (--force) to replace it.")
    opened = []
    try:
        for path in shards:
            if not path.is_file():
                raise PdesymError(f"The shard {path} does not exist; did every rank finish?")
            try:
                opened.append(h5py.File(path, "r"))
            except OSError:
                raise PdesymError(f"The shard {path} is not a readable HDF5 file.") from None
        first = opened[0]
        splits = sorted(name for name in first if isinstance(first[name], h5py.Group))
        if not splits:
            raise PdesymError(f"The shard {shards[0]} holds no split groups.")
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            with h5py.File(tmp, "w") as out:
                for key, value in first.attrs.items():
                    out.attrs[key] = value
                out.attrs["shards"] = json.dumps([os.path.relpath(p, target.parent) for p in shards])
                for split in splits:
                    name = _field_name(first[split], f"{shards[0]}:/{split}")
                    dset0 = first[split][name]
                    rows, shape_rest, dtype = [], dset0.shape[1:], dset0.dtype
                    for path, handle in zip(shards, opened):
                        if split not in handle:
                            raise PdesymError(f"The shard {path} has no split {split!r}; shards disagree.")
                        dset = handle[split].get(name)
                        if dset is None or dset.shape[1:] != shape_rest or dset.dtype != dtype:
                            raise PdesymError(
                                f"The shard {path} holds /{split} with another shape or dtype than "
                                f"{shards[0]}; shards of one dataset must share the grid."
                            )
                        for axis in ("x", "t"):
                            if not np.array_equal(handle[split][axis][()], first[split][axis][()]):
                                raise PdesymError(f"The shard {path} has another {axis} grid than {shards[0]}.")
                        rows.append(dset.shape[0])
                    layout = h5py.VirtualLayout(shape=(sum(rows),) + shape_rest, dtype=dtype)
                    start = 0
                    for path, n in zip(shards, rows):
                        if n:
                            source = h5py.VirtualSource(os.path.relpath(path, target.parent), f"/{split}/{name}",
                                                        shape=(n,) + shape_rest)
                            layout[start:start + n] = source
                        start += n
                    group = out.create_group(split)
                    for key, value in first[split].attrs.items():
                        group.attrs[key] = value
                    group.create_virtual_dataset(name, layout, fillvalue=np.nan)
                    for key in first[split]:
                        if key != name:
                            first.copy(first[split][key], group, name=key)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
    finally:
        for handle in opened:
            handle.close()
    return target
