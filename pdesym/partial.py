r"""Resumable dataset files: an interrupted ``pdesym generate`` keeps its completed chunks and continues.

A :class:`ResumableWriter` streams into ``.NAME.partial.h5`` next to the target ``NAME.h5``
(:func:`partial_path`) instead of an anonymous temporary file. After every appended chunk it
stores, in the root attribute ``pdesym_partial_state``, a JSON *state* of the caller's choosing
(for generation: per split, the next trajectory index and the rows written) and flushes the file,
so the state on disk never claims more than the data on disk. The attribute
``settings_fingerprint`` (a SHA-256 of the settings that fix the numbers) is written when the file
is created; resuming with other settings is refused.

* success: the state attribute is deleted and the partial file renamed onto the target (atomic);
* ``KeyboardInterrupt`` (Ctrl-C, and SIGTERM turned into it by the CLI): the partial file is
  closed cleanly and **kept**; nothing is ever written under the target name;
* any other error: the partial file is deleted (the data would be wrong or incomplete for a
  reason a rerun will not fix).

On resume the datasets are cut back to the rows the state records (a chunk interrupted half-way
is dropped and recomputed), and generation continues from the recorded indices. Because every
trajectory depends only on (seed, index), the finished file holds the same numbers as an
uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

import h5py

from pdesym.atomic import AtomicFile
from pdesym.datasets import DatasetWriter, _U_NAME_RE, _check_target, _jsonable
from pdesym.errors import PdesymError

__all__ = ["partial_path", "settings_fingerprint", "ResumableWriter", "STATE_ATTR", "FINGERPRINT_ATTR"]

#: Root attribute holding the JSON progress state while the file is partial (removed at commit).
STATE_ATTR = "pdesym_partial_state"
#: Root attribute holding the settings fingerprint (kept in the finished file as provenance).
FINGERPRINT_ATTR = "settings_fingerprint"


def partial_path(target: str | os.PathLike) -> Path:
    """``data/kdv.h5`` -> ``data/.kdv.partial.h5``: where an unfinished ``data/kdv.h5`` lives."""
    target = Path(target)
    return target.with_name(f".{target.stem}.partial{target.suffix or '.h5'}")


def settings_fingerprint(settings: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``settings`` (sorted keys): equal iff the settings are."""
    text = json.dumps(_jsonable(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ResumableWriter(DatasetWriter):
    """A :class:`~pdesym.datasets.DatasetWriter` whose unfinished file survives interruption.

    ``resume=True`` continues an existing partial file with the same ``fingerprint`` (its
    :attr:`state` is then the state of the last completed chunk); without it an existing partial
    file is refused unless ``force`` (which starts over). ``state`` is ``{}`` for a fresh file.
    """

    def __init__(self, path: str | os.PathLike, *, fingerprint: str, resume: bool = False,
                 attrs: Mapping[str, Any] | None = None, split_attrs: Mapping[str, Mapping[str, Any]] | None = None,
                 force: bool = False) -> None:
        super().__init__(path, attrs=attrs, split_attrs=split_attrs, force=force)
        self.fingerprint = fingerprint
        self.resume = resume
        self.partial = partial_path(self.path)
        self.state: dict[str, Any] = {}
        self.resumed = False
        if self.partial.exists() and not (resume or force):
            raise PdesymError(
                f"{self.partial} holds an interrupted run for {self.path}; pass --resume (resume=True) to "
                "continue it or --force to start over."
            )

    # -- life cycle
    def open(self) -> "ResumableWriter":
        """Create the partial file, or reopen it to resume (then :attr:`state` is its progress)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PdesymError(f"Cannot write in {self.path.parent} ({exc.strerror or exc}); choose an output "
                              "path in a writable directory.") from None
        if self.partial.exists() and self.resume:
            self._reopen()
        else:
            self.partial.unlink(missing_ok=True)
            try:
                self._file = h5py.File(self.partial, "w", track_order=True)
            except OSError as exc:
                raise PdesymError(f"Cannot write in {self.path.parent} ({exc.strerror or exc}); choose an output "
                                  "path in a writable directory.") from None
            self._file.attrs[FINGERPRINT_ATTR] = self.fingerprint
            self._save_state()
        # the fixed partial name (a later run finds it to resume) is the temporary file that
        # DatasetWriter.commit renames onto the target
        self._target = AtomicFile(self.path, tmp=self.partial)
        return self

    def _reopen(self) -> None:
        try:
            f = h5py.File(self.partial, "r+")
        except OSError:
            raise PdesymError(f"{self.partial} is damaged (the run was killed hard?); pass --force to start "
                              "over.") from None
        have = f.attrs.get(FINGERPRINT_ATTR)
        have = have.decode() if isinstance(have, bytes) else have
        if have != self.fingerprint:
            f.close()
            raise PdesymError(
                f"{self.partial} was written with other settings than these; rerun with the options of the "
                "interrupted run to resume it, or pass --force (without --resume) to start over."
            )
        raw = f.attrs.get(STATE_ATTR, "{}")
        self.state = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        rows = self.state.get("rows", {})
        # cut every split back to the rows of the last completed chunk
        for split in list(f):
            group = f[split]
            if not isinstance(group, h5py.Group):
                continue
            n = int(rows.get(split, 0))
            for name in group:
                if _U_NAME_RE.match(name) or name in ("x", "t", "dx", "dt", "seeds"):
                    if group[name].shape[0] > n:
                        group[name].resize(n, axis=0)
        self._file = f
        self.resumed = True

    def _save_state(self) -> None:
        self._file.attrs[STATE_ATTR] = json.dumps(_jsonable(self.state), sort_keys=True)
        self._file.flush()

    def append(self, split: str, u: Any, x: Any, t: Any, seeds: Any = None, *,
               state: Mapping[str, Any] | None = None) -> int:
        """Append like :meth:`DatasetWriter.append`, then record ``state`` (the progress after this
        chunk) and flush, so that an interruption after this call keeps the chunk."""
        done = super().append(split, u, x, t, seeds)
        if state is not None:
            self.state = json.loads(json.dumps(_jsonable(state)))
            self._save_state()
        return done

    def commit(self) -> Path:
        """Drop the progress state and rename the partial file onto the target."""
        f = self._require_open()
        if STATE_ATTR in f.attrs:
            del f.attrs[STATE_ATTR]
        _check_target(self.path, self.force)
        return super().commit()

    def keep(self) -> Path:
        """Close the partial file and keep it for a later resume; returns its path."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._target = None  # so that no abort() deletes it
        return self.partial

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.keep()
            return
        if exc_type is None:
            try:
                self.commit()
            except KeyboardInterrupt:  # interrupted while finishing: the data are complete, keep them
                self.keep()
                raise
            except BaseException:
                self.abort()
                raise
            return
        self.abort()
