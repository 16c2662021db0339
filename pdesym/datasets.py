r"""PDE datasets on disk: HDF5 in the LPSDA layout, streamed, atomic, with provenance, validated.

Layout (Brandstetter et al. 2022, "Lie point symmetry data augmentation", the files that Ko et
al. and others read)::

    /{split}/pde_{nt}-{nx}   (N, nt, nx)  u[b, n, j] = u_b(t_{b,n}, x_{b,j})   float64 (or float32)
    /{split}/x               (N, nx)      grid of each trajectory, periodic end point left out
    /{split}/t               (N, nt)      snapshot times of each trajectory
    /{split}/dx, /{split}/dt (N,)         spacings
    /{split}/seeds           (N,) int64   per-trajectory seeds (pdesym addition; others ignore it)

with ``split`` in train, valid, test. The root attributes hold the provenance: format, equation
(text and JSON), preset, parameters, base seed, solver settings (method, dt, tolerances), pdesym
version, creation command and time; each split group holds its own seed.

Writes go to a temporary file in the target's directory that is renamed onto the target only
when complete (:class:`DatasetWriter`), so an interrupted or failed run never leaves a partial
file under the target name and never destroys an earlier file. Chunks are appended to resizable
chunked datasets, so memory is bounded by one chunk, not by N. :func:`read_dataset` validates
the layout, shapes, dtypes and finiteness and says in one sentence what is wrong and how to fix it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import h5py
import numpy as np
import sympy as sp

from pdesym.atomic import AtomicFile
from pdesym.equations import X, Equation, derivative_orders, derivative_symbol, jet_symbols_of
from pdesym.errors import PdesymError

__all__ = [
    "DATASET_FORMAT",
    "creation_time",
    "SPLITS",
    "SplitData",
    "Dataset",
    "DatasetCheck",
    "DatasetWriter",
    "write_dataset",
    "read_dataset",
    "generate_dataset",
    "BLOWUP_POLICIES",
    "split_seed",
    "check_dataset",
    "conserved_densities",
]

#: Format tag stored in the root attribute ``format``.
DATASET_FORMAT = "pdesym-dataset/1"
#: Split names in file order; each gets its own seed derived from the base seed.
SPLITS: tuple[str, ...] = ("train", "valid", "test")

_U_NAME_RE = re.compile(r"^pde_(\d+)-(\d+)$")
# Bytes of u read at a time when scanning a file (finiteness, invariants): bounds reader memory.
_SCAN_BYTES = 1 << 24


# ---------------------------------------------------------------------------------- records
@dataclass(frozen=True, eq=False)
class SplitData:
    """One split: ``u`` (N, nt, nx) (a lazy h5py dataset, or an array after ``load=True``),
    grids ``x`` (N, nx) and ``t`` (N, nt), spacings ``dx`` and ``dt`` (N,), ``seeds`` (N,) or None.

    :func:`pdesym.operators.as_trajectories` accepts it directly.
    """

    name: str
    u: Any
    x: np.ndarray
    t: np.ndarray
    dx: np.ndarray
    dt: np.ndarray
    seeds: np.ndarray | None = None
    attrs: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of trajectories."""
        return int(self.u.shape[0])

    @property
    def nt(self) -> int:
        """Snapshots per trajectory."""
        return int(self.u.shape[1])

    @property
    def nx(self) -> int:
        """Grid points per snapshot."""
        return int(self.u.shape[2])

    @property
    def key(self) -> str:
        """The LPSDA name of the field dataset, ``pde_{nt}-{nx}``."""
        return f"pde_{self.nt}-{self.nx}"

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first index, u[first:first+m])`` in blocks of about 16 MiB (bounded memory)."""
        rows = max(1, _SCAN_BYTES // max(1, self.nt * self.nx * 8))
        for start in range(0, self.n, rows):
            yield start, np.asarray(self.u[start:start + rows])


@dataclass(eq=False)
class Dataset:
    """A dataset file opened by :func:`read_dataset`: ``splits`` (name -> :class:`SplitData`) and
    the decoded root ``attrs``. Close it (or use ``with``) when the splits are lazy."""

    path: Path
    splits: dict[str, SplitData]
    attrs: dict
    _file: h5py.File | None = None

    @property
    def equation(self) -> Equation | None:
        """The equation recorded in the provenance, or None for files that do not record one."""
        data = self.attrs.get("equation_json")
        if not isinstance(data, Mapping):
            return None
        return Equation.from_dict(data)

    def __getitem__(self, split: str) -> SplitData:
        if split not in self.splits:
            raise PdesymError(
                f"{self.path} has no split {split!r}; it has: {', '.join(self.splits) or 'none'}."
            )
        return self.splits[split]

    def close(self) -> None:
        """Close the file behind lazy splits (no-op after ``load=True``)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "Dataset":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------- attributes
def _encode_attr(value: Any) -> Any:
    """HDF5 attributes hold scalars, strings and arrays; mappings and lists go in as JSON text."""
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(_jsonable(value), sort_keys=True)
    if isinstance(value, Path):
        return str(value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # torch dtypes/devices, sympy numbers: their text is their provenance


def _decode_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------------- writing
def _check_target(path: Path, force: bool) -> None:
    if path.is_dir():
        raise PdesymError(f"{path} is a directory; give a file name such as {path / 'data.h5'}.")
    if path.exists() and not force:
        raise PdesymError(f"{path} already exists; pass --force (force=True) to overwrite it.")


def _as_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, possibly on the GPU
        value = value.detach().cpu().numpy()
    return np.asarray(value)


class DatasetWriter:
    """Stream trajectories into an LPSDA-layout HDF5 file, atomically.

    ``with DatasetWriter(path, attrs=..., force=False) as w: w.append("train", u, x, t, seeds)``
    writes into a temporary file next to ``path`` and renames it onto ``path`` when the block
    ends without an exception; on an exception the temporary file is deleted and whatever was at
    ``path`` before is untouched. Each :meth:`append` extends resizable chunked datasets (one
    trajectory per HDF5 chunk), so memory is bounded by the appended chunk, not by N.
    """

    def __init__(self, path: str | os.PathLike, *, attrs: Mapping[str, Any] | None = None,
                 split_attrs: Mapping[str, Mapping[str, Any]] | None = None, force: bool = False) -> None:
        self.path = Path(path)
        self.force = force
        # root and per-split attributes; written at commit, so they may be completed while writing
        self.attrs: dict[str, Any] = dict(attrs or {})
        self.split_attrs: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (split_attrs or {}).items()}
        self._file: h5py.File | None = None
        self._target: AtomicFile | None = None  # the temporary file and its rename onto path
        _check_target(self.path, force)

    # -- life cycle
    def open(self) -> "DatasetWriter":
        """Create the temporary file (in the target's directory, so the rename is atomic)."""
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._target = AtomicFile(self.path)
        except OSError as exc:
            raise PdesymError(
                f"Cannot write in {parent} ({exc.strerror or exc}); choose an output path in a writable directory."
            ) from None
        try:
            self._file = h5py.File(self._target.tmp, "w", track_order=True)
        except BaseException:
            self.abort()
            raise
        return self

    def commit(self) -> Path:
        """Write the attributes, close the file and rename it onto the target; returns the target."""
        f = self._require_open()
        attrs = {"format": DATASET_FORMAT, **self.attrs}
        for key, value in attrs.items():
            if value is not None:
                f.attrs[key] = _encode_attr(value)
        for split, values in self.split_attrs.items():
            if split in f:
                for key, value in values.items():
                    if value is not None:
                        f[split].attrs[key] = _encode_attr(value)
        f.close()
        self._file = None
        _check_target(self.path, self.force)  # someone may have created it while we wrote
        path = self._target.commit()
        self._target = None
        return path

    def abort(self) -> None:
        """Close and delete the temporary file; the target is left as it was."""
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None
        if self._target is not None:
            self._target.abort()
            self._target = None

    def __enter__(self) -> "DatasetWriter":
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()

    def _require_open(self) -> h5py.File:
        if self._file is None:
            raise PdesymError("The DatasetWriter is not open; use it in a 'with' block or call open() first.")
        return self._file

    # -- data
    def append(self, split: str, u: Any, x: Any, t: Any, seeds: Any = None) -> int:
        """Append trajectories ``u`` (m, nt, nx) on grids ``x`` ((nx,) or (m, nx)) and ``t``
        ((nt,) or (m, nt)) to ``split``; returns the split's new size.

        Non-finite values are refused (never written), naming the trajectory.
        """
        f = self._require_open()
        u = _as_numpy(u)
        if u.ndim != 3 or u.dtype not in (np.float64, np.float32):
            raise PdesymError(
                f"Trajectories must be a float64/float32 array of shape (m, nt, nx), got {u.dtype} {u.shape}."
            )
        m, nt, nx = u.shape
        x = np.broadcast_to(_as_numpy(x).astype(np.float64, copy=False), (m, nx)) if m else np.zeros((0, nx))
        t = np.broadcast_to(_as_numpy(t).astype(np.float64, copy=False), (m, nt)) if m else np.zeros((0, nt))
        group = f.require_group(split)
        key = f"pde_{nt}-{nx}"
        have = [k for k in group if _U_NAME_RE.match(k)]
        if have and have != [key]:
            raise PdesymError(f"Split {split!r} holds {have[0]} already; cannot append trajectories of shape {key}.")
        done = group[key].shape[0] if have else 0
        finite = np.isfinite(u).reshape(m, nt * nx).all(axis=1)
        if not finite.all():
            bad = int(np.flatnonzero(~finite)[0])
            raise PdesymError(
                f"Trajectory {done + bad} of split {split!r} holds NaN or Inf values; refusing to write it "
                "(reduce dt or the initial amplitude)."
            )
        if not have:
            self._create(group, key, nt, nx, u.dtype, rows=m)
        seeds = np.full(m, -1, np.int64) if seeds is None else _as_numpy(seeds).astype(np.int64).reshape(m)
        dx = (x[:, -1] - x[:, 0]) / (nx - 1) if nx > 1 else np.zeros(m)
        dt = (t[:, -1] - t[:, 0]) / (nt - 1) if nt > 1 else np.zeros(m)
        for name, value in ((key, u), ("x", x), ("t", t), ("dx", dx), ("dt", dt), ("seeds", seeds)):
            ds = group[name]
            ds.resize(done + m, axis=0)
            ds[done:done + m] = value
        return done + m

    @staticmethod
    def _create(group: h5py.Group, key: str, nt: int, nx: int, dtype: np.dtype, *, rows: int) -> None:
        # One trajectory per HDF5 chunk of u: reading trajectory b touches one chunk, appending m
        # trajectories writes m chunks, and the library's chunk cache stays small. The grids and
        # spacings get chunks of about the first append's size (at most 64 KiB): small files stay
        # small, large ones do not fragment into thousands of tiny chunks.
        opts = {"track_times": False}  # no timestamps in object headers: same data, same bytes
        group.create_dataset(key, shape=(0, nt, nx), maxshape=(None, nt, nx), chunks=(1, nt, nx), dtype=dtype, **opts)
        for name, size in (("x", nx), ("t", nt)):
            r = max(1, min(max(rows, 8), 8192 // size))
            group.create_dataset(name, shape=(0, size), maxshape=(None, size), chunks=(r, size), dtype=np.float64,
                                 **opts)
        r = min(8192, max(64, rows))
        for name, dtype_ in (("dx", np.float64), ("dt", np.float64), ("seeds", np.int64)):
            group.create_dataset(name, shape=(0,), maxshape=(None,), chunks=(r,), dtype=dtype_, **opts)


def write_dataset(path: str | os.PathLike, splits: Mapping[str, Iterable[Any]], *,
                  attrs: Mapping[str, Any] | None = None, split_attrs: Mapping[str, Mapping[str, Any]] | None = None,
                  force: bool = False) -> Path:
    """Write ``splits`` (name -> iterable of chunks, each with ``u``, ``x``, ``t`` and optionally
    ``seeds``, e.g. the solvers' ``GeneratedBatch``) to ``path`` atomically; returns ``path``.

    Chunks are consumed one at a time; an exception from any of them (or from the iterable)
    deletes the temporary file and leaves ``path`` as it was.
    """
    writer = DatasetWriter(path, attrs=attrs, split_attrs=split_attrs, force=force)
    with writer:
        for split, chunks in splits.items():
            for chunk in chunks:
                writer.append(split, chunk.u, chunk.x, chunk.t, getattr(chunk, "seeds", None))
    return writer.path


# ---------------------------------------------------------------------------------- reading
def _bad(path: Path, what: str, fix: str = "regenerate it with 'pdesym generate'") -> PdesymError:
    return PdesymError(f"{path}: {what}; {fix}.")


def read_dataset(path: str | os.PathLike, *, load: bool = False, check_finite: bool = True) -> Dataset:
    """Open and validate a dataset in the LPSDA layout.

    Checks that the file exists, is HDF5 and not truncated, that every split holds one
    ``pde_{nt}-{nx}`` dataset of shape (N, nt, nx) with a float dtype and matching ``x``, ``t``,
    ``dx``, ``dt``, and (``check_finite``) that u has no NaN/Inf, reading in bounded blocks.
    ``load=True`` reads u into memory and closes the file; otherwise u stays a lazy h5py dataset
    and the returned :class:`Dataset` must be closed.
    """
    p = Path(path)
    if not p.exists():
        raise PdesymError(f"No dataset file at {p}; check the path or create one with 'pdesym generate'.")
    if p.is_dir():
        raise PdesymError(f"{p} is a directory, not a dataset file; give the path of an .h5 file.")
    if not h5py.is_hdf5(p):
        raise _bad(p, "this is not an HDF5 file (pdesym datasets are HDF5 in the LPSDA layout)",
                   "give a file written by 'pdesym generate' or another LPSDA-layout generator")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise _bad(p, f"the HDF5 file is truncated or damaged ({_short(exc)})") from None
    try:
        attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
        splits = {}
        for name in f:
            if isinstance(f[name], h5py.Group):
                split = _read_split(p, f[name], name, load=load, check_finite=check_finite)
                if split is not None:
                    splits[name] = split
        if not splits:
            raise _bad(p, "no split holds a dataset named pde_{nt}-{nx} (expected the LPSDA layout "
                          "/{split}/pde_{nt}-{nx} with x, t, dx, dt next to it)")
    except OSError as exc:  # truncation often shows only when the data are read
        f.close()
        raise _bad(p, f"the HDF5 file is truncated or damaged ({_short(exc)})") from None
    except BaseException:
        f.close()
        raise
    if load:
        f.close()
        return Dataset(p, splits, attrs, None)
    return Dataset(p, splits, attrs, f)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    return text.split("\n")[0][:160] or type(exc).__name__


def _read_split(p: Path, group: h5py.Group, name: str, *, load: bool, check_finite: bool) -> SplitData | None:
    keys = [k for k in group if _U_NAME_RE.match(k)]
    if not keys:
        return None
    if len(keys) > 1:
        raise _bad(p, f"split {name!r} holds {len(keys)} field datasets ({', '.join(keys)}), expected one",
                   "keep one resolution per split")
    key = keys[0]
    nt, nx = (int(v) for v in _U_NAME_RE.match(key).groups())
    u = group[key]
    if not isinstance(u, h5py.Dataset):
        raise _bad(p, f"{name}/{key} is a group, not a dataset")
    if u.ndim != 3 or u.shape[1:] != (nt, nx):
        raise _bad(p, f"{name}/{key} has shape {u.shape}, expected (N, {nt}, {nx}) as its name says")
    if u.dtype not in (np.float64, np.float32):
        raise _bad(p, f"{name}/{key} holds {u.dtype} values, expected float64 (or float32)")
    n = u.shape[0]
    if n == 0:
        raise _bad(p, f"split {name!r} holds no trajectories")
    arrays = {}
    for axis, size in (("x", nx), ("t", nt)):
        if axis not in group:
            raise _bad(p, f"split {name!r} has no {axis!r} grid next to {key}")
        a = np.asarray(group[axis][...], dtype=np.float64)
        if a.shape not in ((size,), (n, size)):
            raise _bad(p, f"{name}/{axis} has shape {a.shape}, expected ({n}, {size}) or ({size},)")
        if not np.isfinite(a).all():
            raise _bad(p, f"{name}/{axis} holds NaN or Inf values")
        arrays[axis] = a
    for step, axis in (("dx", "x"), ("dt", "t")):
        if step in group:
            s = np.asarray(group[step][...], dtype=np.float64).reshape(-1)
            if s.size == 1:
                s = np.full(n, s[0])
            if s.shape != (n,):
                raise _bad(p, f"{name}/{step} has {s.size} values, expected one per trajectory ({n})")
        else:  # LPSDA files always have them; derive for files that only store grids
            a = np.broadcast_to(arrays[axis], (n, arrays[axis].shape[-1]))
            s = (a[:, -1] - a[:, 0]) / max(1, a.shape[1] - 1)
        if not (np.isfinite(s).all() and (s > 0).all()):
            raise _bad(p, f"{name}/{step} must be positive and finite for every trajectory")
        arrays[step] = s
    seeds = np.asarray(group["seeds"][...], dtype=np.int64) if "seeds" in group else None
    split = SplitData(name, u, arrays["x"], arrays["t"], arrays["dx"], arrays["dt"], seeds,
                      {k: _decode_attr(v) for k, v in group.attrs.items()})
    if check_finite:
        for start, block in split.blocks():
            finite = np.isfinite(block).reshape(block.shape[0], -1).all(axis=1)
            if not finite.all():
                bad = start + int(np.flatnonzero(~finite)[0])
                raise _bad(p, f"trajectory {bad} of split {name!r} holds NaN or Inf values",
                           "regenerate the file (e.g. with a smaller --dt) or drop that trajectory")
    if load:
        split = SplitData(name, np.asarray(u[...]), split.x, split.t, split.dx, split.dt, seeds, split.attrs)
    return split


# ---------------------------------------------------------------------------------- generation
def creation_time() -> str:
    """UTC time in ISO form; ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) fixes it,
    which makes two runs of the same command byte-identical files."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            when = _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise PdesymError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {epoch!r}.") from None
    else:
        when = _dt.datetime.now(_dt.timezone.utc)
    return when.isoformat(timespec="seconds")


def split_seed(seed: int, split: str) -> int:
    """The seed of ``split`` derived from the base ``seed``: SeedSequence([seed, index of split])."""
    index = SPLITS.index(split) if split in SPLITS else int.from_bytes(split.encode(), "little") % (1 << 31) + 16
    return int(np.random.SeedSequence([int(seed), index]).generate_state(1, np.uint32)[0])


def _check_count(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise PdesymError(f"{name} must be an integer ≥ {minimum}, got {value!r}.")
    return int(value)


def _check_positive(name: str, value: Any) -> None:
    if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise PdesymError(f"{name} must be a positive number, got {value!r}.")


#: What ``generate_dataset`` does when a trajectory blows up (``on_blowup``).
BLOWUP_POLICIES: dict[str, str] = {
    "stop": "stop and report the trajectory index, split and time (nothing is written under the target name)",
    "drop": "leave the blown-up trajectories out, keep the rest, record their indices in the attribute 'dropped'",
}


def generate_dataset(
    spec: "str | Equation",
    out: str | os.PathLike,
    *,
    n_train: int = 64,
    n_valid: int = 16,
    n_test: int = 16,
    seed: int = 0,
    nx: int | None = None,
    nt_out: int | None = None,
    dt: float | None = None,
    length: float | None = None,
    t_end: float | None = None,
    device: str = "auto",
    dtype: str = "float64",
    chunk: int | None = 64,
    force: bool = False,
    resume: bool = False,
    on_blowup: str = "stop",
    shard: tuple[int, int] | None = None,
    background: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
    command: str | None = None,
) -> Path:
    """Solve ``spec`` (a preset name, equation text or :class:`Equation`) for the train, valid
    and test splits and write them to ``out`` (LPSDA layout, atomic); returns ``out``.

    Split s uses the seed ``split_seed(seed, s)``; trajectory i of a split depends only on that
    seed and i, so the numbers do not depend on ``chunk``. ``chunk`` trajectories are solved and
    written at a time (memory ~ chunk · nt · nx · 8 bytes plus the solver's work arrays); None
    picks it from the free memory on CUDA (:func:`pdesym.solvers.suggest_batch_size`).

    The file is written as ``.NAME.partial.h5`` (:mod:`pdesym.partial`) and renamed onto ``out``
    when complete. A ``KeyboardInterrupt`` keeps the partial file; ``resume=True`` continues it
    (same settings required, checked by a fingerprint) to the numbers of an uninterrupted run.
    ``on_blowup`` is a key of :data:`BLOWUP_POLICIES`. ``shard=(rank, world_size)`` generates only
    the contiguous block :func:`pdesym.distributed.shard_range` of every split (what one process of
    a distributed run writes). ``background`` writes on a thread while the next chunk is solved
    (default: on CUDA). ``progress(done, total)`` is called after every chunk; ``command`` is
    recorded as provenance. Everything that can be wrong with the arguments is refused before a
    file is touched.
    """
    from pdesym import __version__
    from pdesym.background import BackgroundAppender
    from pdesym.devices import resolve_device, resolve_dtype
    from pdesym.distributed import shard_range
    from pdesym.errors import check_choice
    from pdesym.partial import FINGERPRINT_ATTR, ResumableWriter, settings_fingerprint
    from pdesym.solvers import resolve_preset, suggest_batch_size

    counts = {s: _check_count(f"n_{s}", n, minimum=0) for s, n in zip(SPLITS, (n_train, n_valid, n_test))}
    if not any(counts.values()):
        raise PdesymError("All of n_train, n_valid and n_test are 0; ask for at least one trajectory.")
    if chunk is not None:
        chunk = _check_count("chunk", chunk, minimum=1)
    seed = _check_count("seed", seed, minimum=0)
    for name, value in (("nx", nx), ("nt_out", nt_out)):
        if value is not None:
            _check_count(name, value, minimum=2)
    for name, value in (("dt", dt), ("length", length), ("t_end", t_end)):
        _check_positive(name, value)
    check_choice("on_blowup", on_blowup, BLOWUP_POLICIES)
    rank, world = (0, 1) if shard is None else (int(shard[0]), int(shard[1]))
    ranges = {s: shard_range(counts[s], rank, world) for s in SPLITS}
    out = Path(out)
    if not resume:
        _check_target(out, force)  # before any solving: refuse early, cheaply

    # resolve everything that can be wrong before a file is touched
    dev = resolve_device(device)
    np_dtype = np.dtype(str(resolve_dtype(dtype)).replace("torch.", ""))
    solver_preset = resolve_preset(spec, nx=nx, nt_out=nt_out, dt=dt, length=length, t_end=t_end)
    equation = solver_preset.equation
    preset = equation.name
    if chunk is None:
        chunk = suggest_batch_size(solver_preset.nx, solver_preset.nt_out, dev, dtype)
    options = dict(nx=nx, nt_out=nt_out, dt=dt, length=length, t_end=t_end, device=device, dtype=dtype)
    # what fixes the numbers (not the chunk size, not the creation time): resume needs all of it equal
    fingerprint = settings_fingerprint({
        "format": DATASET_FORMAT, "equation": equation.to_dict(), "preset": preset,
        "settings": solver_preset.to_dict(), "counts": counts, "seed": seed, "dtype": str(np_dtype),
        "device": dev.type, "on_blowup": on_blowup, "ranges": ranges, "version": __version__,
    })
    total = sum(hi - lo for lo, hi in ranges.values())
    if resume and not force and out.is_file() and _fingerprint_of(out) == fingerprint:
        return out  # finished before (e.g. this rank's shard of an interrupted distributed run)
    _check_target(out, force)

    attrs = {
        "pdesym_version": __version__,
        "created": creation_time(),
        "command": command or f"generate_dataset({(preset or equation.text)!r}, seed={seed})",
        "equation": equation.text,
        "equation_json": equation.to_dict(),
        "preset": preset,
        "parameters": equation.to_dict()["params"],
        "seed": seed,
        "counts": counts,
        "on_blowup": on_blowup,
    }
    if shard is not None:
        attrs["shard"] = {"rank": rank, "world_size": world, "ranges": ranges}
    writer = ResumableWriter(out, fingerprint=fingerprint, resume=resume, attrs=attrs, force=force,
                             split_attrs={s: {"seed": split_seed(seed, s), "base_seed": seed} for s in SPLITS})
    with writer:
        state = writer.state or {"next": {}, "rows": {}, "dropped": {}, "solver": None}
        done = sum(state["next"].get(s, lo) - lo for s, (lo, hi) in ranges.items())
        if progress is not None:
            progress(done, total)
        use_thread = dev.type == "cuda" if background is None else background
        sink = BackgroundAppender(writer) if use_thread else writer
        try:
            for split in SPLITS:
                lo, hi = ranges[split]
                s = split_seed(seed, split)
                if counts[split] and lo == hi and split not in state["rows"]:
                    # this shard's share is empty; the group must still exist for join_shards
                    nt_, nx_ = solver_preset.nt_out, solver_preset.nx
                    state["rows"][split] = 0
                    sink.append(split, np.empty((0, nt_, nx_), np_dtype), np.zeros(nx_), np.zeros(nt_),
                                state=json.loads(json.dumps(state)))
                start = state["next"].get(split, lo)
                while start < hi:
                    n = min(chunk, hi - start)
                    batches, dropped = _solve_range(spec, split, s, start, n, options, on_blowup)
                    if state["solver"] is None:
                        # what fixes the numbers besides the seeds; which chunk this was is not provenance
                        state["solver"] = {k: v for k, v in batches[0].settings.items()
                                           if k not in ("seed", "start", "n")} if batches else None
                    u, x, t, seeds = _concatenate(batches, solver_preset, np_dtype)
                    state["next"][split] = start + n
                    state["rows"][split] = state["rows"].get(split, 0) + u.shape[0]
                    if dropped or on_blowup == "drop":
                        state["dropped"].setdefault(split, []).extend(dropped)
                    # the state goes with the chunk (a snapshot: the writer may run on a thread)
                    sink.append(split, u, x, t, seeds, state=json.loads(json.dumps(_jsonable(state))))
                    done += n
                    start += n
                    if progress is not None:
                        progress(done, total)
        finally:
            if sink is not writer:
                sink.close()
        writer.attrs["solver"] = state["solver"]
        writer.attrs[FINGERPRINT_ATTR] = fingerprint
        if on_blowup == "drop":
            writer.attrs["dropped"] = {s: state["dropped"].get(s, []) for s in SPLITS if counts[s]}
    return out


def _fingerprint_of(path: Path) -> str | None:
    """The settings fingerprint recorded in a finished dataset file, or None."""
    try:
        with h5py.File(path, "r") as f:
            value = f.attrs.get("settings_fingerprint")
    except OSError:
        return None
    return value.decode() if isinstance(value, bytes) else value


def _solve_range(spec: Any, split: str, seed: int, start: int, n: int, options: dict,
                 on_blowup: str) -> tuple[list[Any], list[int]]:
    """Trajectories start..start+n-1 as a list of batches (in index order) and the dropped indices.

    With ``drop``, a blown-up trajectory d splits its range into [start, d) and (d, end), which are
    solved again (each trajectory depends only on its index, so the survivors are unchanged).
    """
    from pdesym.solvers import BlowUpError, generate_batch

    pending, done, dropped = [(start, n)], [], []
    while pending:
        a, m = pending.pop()
        try:
            done.append((a, generate_batch(spec, m, seed=seed, start=a, **options)))
        except BlowUpError as exc:
            if on_blowup == "stop":
                raise BlowUpError(exc.index, exc.time, f"split {split!r}, {exc.detail}; or pass --on-blowup drop "
                                  "(on_blowup='drop') to leave such trajectories out") from None
            d = exc.index
            dropped.append(d)
            pending += [(lo, hi - lo) for lo, hi in ((a, d), (d + 1, a + m)) if hi > lo]
    done.sort(key=lambda item: item[0])
    return [batch for _, batch in done], sorted(dropped)


def _concatenate(batches: list[Any], preset: Any, np_dtype: np.dtype) -> tuple[Any, Any, Any, Any]:
    """One chunk (u, x, t, seeds) from the survivors' batches; empty arrays when none survived."""
    import torch

    if not batches:
        nt, nx = preset.nt_out, preset.nx
        return np.empty((0, nt, nx), np_dtype), np.zeros(nx), np.zeros(nt), np.empty(0, np.int64)
    if len(batches) == 1:
        b = batches[0]
        return b.u, b.x, b.t, b.seeds
    return (torch.cat([b.u for b in batches]), batches[0].x, batches[0].t, torch.cat([b.seeds for b in batches]))


# ---------------------------------------------------------------------------------- sanity checks
def _total_x(expr: sp.Expr) -> sp.Expr:
    """Total x-derivative D_x on functions of (x, t, u, u_x, u_xx, ...)."""
    out = sp.diff(expr, X)
    for s in jet_symbols_of(expr):
        kx, kt = derivative_orders(s)
        out += sp.diff(expr, s) * derivative_symbol(kx + 1, kt)
    return out


def _euler(expr: sp.Expr) -> sp.Expr:
    r"""Euler operator :math:`E(F) = \sum_k (-D_x)^k \partial F/\partial u_{k x}`.

    E(F) = 0 iff F is a total x-derivative (Olver, Applications of Lie Groups, Thm 4.7).
    """
    total = sp.Integer(0)
    for s in jet_symbols_of(expr):
        kx, kt = derivative_orders(s)
        if kt:
            return sp.nan  # t-derivatives inside K: not an evolution equation, no statement
        term = sp.diff(expr, s)
        for _ in range(kx):
            term = -_total_x(term)
        total += term
    return sp.simplify(total)


def conserved_densities(equation: Equation) -> dict[str, bool]:
    r"""Which of :math:`\int u\,dx` and :math:`\int u^2/2\,dx` the equation conserves on periodic domains.

    :math:`\frac{d}{dt}\int \rho(u) = \int \rho'(u) K`, zero for all periodic u iff
    :math:`E(\rho'(u) K) = 0` (Euler operator): mass for KdV, KS, Burgers, heat; energy for KdV.
    """
    if not equation.is_evolution or equation.free_parameters:
        return {"mass": False, "energy": False}
    K = equation.rhs_numeric
    u = derivative_symbol(0, 0)
    return {"mass": _euler(K) == 0, "energy": _euler(u * K) == 0}


@dataclass(frozen=True)
class DatasetCheck:
    """One sanity check of a split: ``name``, measured ``value``, ``ok`` (None = information only)."""

    split: str
    name: str
    value: float
    ok: bool | None
    note: str = ""


def check_dataset(dataset: Dataset, *, mass_tol: float = 1e-8, energy_tol: float = 1e-4) -> list[DatasetCheck]:
    r"""Sanity checks per split, reading u in bounded blocks.

    Grid uniformity (max relative deviation of the spacings), value range, resolution (the
    spectral tail :math:`\max_{b,n} \|\hat u_{|k|>n_x/3}\| / \|\hat u\|`), and for equations that
    conserve them (:func:`conserved_densities`) the drift
    :math:`\max_{b,n} |M_b(t_n) - M_b(t_0)| / \int|u_b(t_0)|\,dx` of mass :math:`M=\int u\,dx`
    and the relative drift of :math:`\int u^2 dx`. The grid sum is the exact integral of a
    band-limited field; on under-resolved data (Burgers at small nu) it is off by the aliased
    spectrum, so each tolerance is widened to the measured tail. Finiteness was already checked
    by the reader.
    """
    eq = dataset.equation
    conserved = conserved_densities(eq) if eq is not None else {"mass": False, "energy": False}
    tiny = np.finfo(float).tiny
    checks: list[DatasetCheck] = []
    for name, split in dataset.splits.items():
        worst = 0.0
        for axis, step in ((split.x, split.dx), (split.t, split.dt)):
            a = np.broadcast_to(axis, (split.n, axis.shape[-1]))
            worst = max(worst, float(np.max(np.abs(np.diff(a, axis=1) - step[:, None]) / step[:, None])))
        checks.append(DatasetCheck(name, "grid spacing error", worst, worst < 1e-6))
        lo, hi, mass, energy, tail = math.inf, -math.inf, 0.0, 0.0, 0.0
        k = np.arange(split.nx // 2 + 1)
        for start, u in split.blocks():
            u = u.astype(np.float64, copy=False)
            dx = split.dx[start:start + u.shape[0], None]
            lo, hi = min(lo, float(u.min())), max(hi, float(u.max()))
            m = u.sum(-1) * dx
            scale = np.maximum(np.abs(u[:, 0]).sum(-1) * dx[:, 0], tiny)
            mass = max(mass, float(np.max(np.abs(m - m[:, :1]) / scale[:, None])))
            e = (u ** 2).sum(-1) * dx
            energy = max(energy, float(np.max(np.abs(e - e[:, :1]) / np.maximum(e[:, :1], tiny))))
            power = np.abs(np.fft.rfft(u, axis=-1)) ** 2
            ratio = power[..., k > split.nx / 3].sum(-1) / np.maximum(power.sum(-1), tiny)
            tail = max(tail, float(np.sqrt(ratio.max())))
        checks.append(DatasetCheck(name, "min u", lo, None))
        checks.append(DatasetCheck(name, "max u", hi, None))
        checks.append(DatasetCheck(name, "spectral tail |k| > nx/3", tail, None,
                                   "resolved" if tail < 1e-4 else "under-resolved: grid sums are not exact integrals"))
        for key, label, value, tol in (("mass", "∫u dx drift", mass, max(mass_tol, tail)),
                                       ("energy", "∫u² dx drift", energy, max(energy_tol, tail))):
            if conserved[key]:
                checks.append(DatasetCheck(name, label, value, value <= tol,
                                           f"conserved by the equation; tol {tol:.2g}"))
            else:
                checks.append(DatasetCheck(name, label, value, None, "not a conservation law of this equation"
                                           if eq is not None else "equation unknown"))
    return checks
