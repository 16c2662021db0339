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
from typing import Any, Mapping, Sequence

import h5py
import numpy as np

from pdesym.atomic import atomic_write
from pdesym.errors import PdesymError

__all__ = ["shard_path", "join_shards", "generate_sharded"]

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


def _same_grid(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal grids: the same array, or per-trajectory rows (N_r, n) that all equal b's first row
    (a shard with no trajectories agrees with every grid)."""
    if a.shape == b.shape and np.array_equal(a, b):
        return True
    if a.ndim == 2 and b.ndim in (1, 2) and a.shape[-1] == b.shape[-1]:
        ref = b.reshape(-1, b.shape[-1])
        return ref.shape[0] == 0 or a.shape[0] == 0 or bool((a == ref[0]).all() and (ref == ref[0]).all())
    return False


def join_shards(shards: Sequence[str | Path], target: str | Path, *, force: bool = False,
                attrs: Mapping[str, Any] | None = None) -> Path:
    """Write ``target`` presenting ``shards`` (in rank order) as one dataset per split, without copying.

    Every shard must hold the same splits with the same (nt, nx), grids and dtype. The joined
    ``/{split}/pde_{nt}-{nx}`` has N = Σ N_r rows: rows of shard r follow those of shard r − 1.
    Per-trajectory arrays next to it (first axis N_r in every shard: x, t, dx, dt, seeds as
    ``pdesym generate`` writes them) are concatenated; others are copied from the first shard.
    ``attrs`` are added to (a value None: removed from) the root attributes of the first shard.
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
        splits = [name for name in first if isinstance(first[name], h5py.Group)]  # the shards' order
        if not splits:
            raise PdesymError(f"The shard {shards[0]} holds no split groups.")

        def write(tmp: str) -> None:  # the virtual sources are relative to the target folder, as is tmp
            with h5py.File(tmp, "w", track_order=True) as out:
                for key, value in first.attrs.items():
                    out.attrs[key] = value
                out.attrs["shards"] = json.dumps([os.path.relpath(p, target.parent) for p in shards])
                for key, value in (attrs or {}).items():
                    if value is None:
                        if key in out.attrs:
                            del out.attrs[key]
                    else:
                        out.attrs[key] = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value
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
                            if not _same_grid(handle[split][axis][()], first[split][axis][()]):
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
                        if key == name:
                            continue
                        parts = [handle[split].get(key) for handle in opened]
                        per_row = all(isinstance(p, h5py.Dataset) and p.ndim >= 1 and p.shape[0] == n
                                      for p, n in zip(parts, rows))
                        if per_row and len(shards) > 1:
                            group.create_dataset(key, data=np.concatenate([p[()] for p in parts]))
                        else:
                            first.copy(first[split][key], group, name=key)

        atomic_write(target, write)
    finally:
        for handle in opened:
            handle.close()
    return target


def generate_sharded(spec: Any, out: str | Path, *, force: bool = False, **options: Any) -> Path:
    """:func:`pdesym.datasets.generate_dataset` spread over the ranks of a torchrun job.

    Rank r writes trajectories ``shard_range(N_split, r, W)`` of every split to
    ``shard_path(out, r, W)`` (seeds depend on the trajectory index only, so the data are those of
    a single-process run whatever W); after all ranks finish, rank 0 joins the shards into ``out``
    (an HDF5 virtual dataset, :func:`join_shards`) whose provenance records the world size, the
    shard files and the dropped trajectories of every shard. A failure on any rank stops every
    rank with an error (no rank waits forever). Call after :func:`pdesym.distributed.init_distributed`.
    """
    from pdesym.datasets import _check_target
    from pdesym.distributed import current_context

    context = current_context()
    out = Path(out)
    _check_target(out, force)
    world = context.world_size
    mine = shard_path(out, context.rank, world)
    try:
        from pdesym.datasets import generate_dataset

        generate_dataset(spec, mine, force=force, shard=(context.rank, world), **options)
    except KeyboardInterrupt:
        raise  # torchrun stops every rank; each keeps its partial file
    except Exception as exc:  # noqa: BLE001 -- re-raised after the other ranks have heard of it
        _agree(context, exc)
    else:
        _agree(context, None, f"rank {context.rank} finished its shard {mine}")
    error = None
    if context.is_main:
        try:
            shards = [shard_path(out, r, world) for r in range(world)]
            dropped: dict[str, list[int]] = {}
            for path in shards:
                with h5py.File(path, "r") as f:
                    raw = f.attrs.get("dropped")
                if raw is not None:
                    for split, indices in json.loads(raw).items():
                        dropped.setdefault(split, []).extend(indices)
            extra: dict[str, Any] = {"world_size": world, "shard": None, "settings_fingerprint": None}
            if dropped:
                extra["dropped"] = {k: sorted(v) for k, v in dropped.items()}
            join_shards(shards, out, force=force, attrs=extra)
        except Exception as exc:  # noqa: BLE001
            error = exc
    if error is not None:
        _agree(context, error)
    _agree(context, None, f"rank 0 could not join the shards into {out}")  # the joined file exists when we return
    return out


def _agree(context: Any, error: BaseException | None, done: str = "") -> None:
    """Collective: every rank learns how many ranks failed (a plain barrier would wait forever for a
    rank that died). Re-raises this rank's ``error``; on the others raises one sentence."""
    import torch
    import torch.distributed as dist

    failed = int(error is not None)
    if context.is_distributed:
        device = torch.device("cuda", torch.cuda.current_device()) if context.backend == "nccl" else "cpu"
        flag = torch.tensor([failed], device=device)
        dist.all_reduce(flag)
        failed = int(flag.item())
    if error is not None:
        raise error
    if failed:
        raise PdesymError(f"{failed} of {context.world_size} ranks failed (see their messages); {done}.")
