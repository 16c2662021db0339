"""Writing a file so that a reader never sees half of it: temp file in the same folder, then rename.

Every writer of pdesym goes through here: :func:`atomic_write` (a file written by one call),
:func:`atomic_torch_save`, :func:`atomic_savefig`, :class:`AtomicFile` (a file written over time, e.g. streamed HDF5,
with an explicit commit) and :func:`atomic_folder` (a folder of files).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["AtomicFile", "atomic_folder", "atomic_savefig", "atomic_torch_save", "atomic_write"]


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


class AtomicFile:
    """A file written under a temporary name next to ``path``, renamed onto ``path`` by :meth:`commit`.

    By default the temporary name is fresh (``.NAME.XXXXXXXX.tmp``, created empty with a new
    file's usual mode, as ``mkstemp`` alone would make it 0600). ``tmp=`` names it instead -- a
    fixed name that a later run can find to resume (``pdesym.partial``); the file is then not
    created here. The rename is atomic on one file system, so ``path`` holds either its old bytes
    or the new ones.
    """

    def __init__(self, path: str | os.PathLike, *, tmp: str | os.PathLike | None = None) -> None:
        self.path = Path(path)
        if tmp is None:
            fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=_folder(self.path))
            os.close(fd)
            os.chmod(name, 0o666 & ~_umask())
            tmp = name
        self.tmp = Path(tmp)

    def commit(self) -> Path:
        """Rename the temporary file onto the target; returns the target."""
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Remove the temporary file; the target is left as it was."""
        self.tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` on a fresh temporary file next to ``path`` and rename it onto ``path``.

    On any exception (Ctrl-C included) the temporary file is removed and ``path`` untouched.
    """
    target = AtomicFile(path)
    try:
        write(str(target.tmp))
        return target.commit()
    except BaseException:
        target.abort()
        raise


def atomic_torch_save(path: str | os.PathLike, obj: object) -> Path:
    """:func:`atomic_write` of ``torch.save(obj)``, with the same bytes for the same object.

    ``torch.save`` to a *path* names the zip archive's top folder after the file, here the random
    temporary name; saving to an open file names it ``archive``, so equal states give equal files.
    """
    import torch

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)

    return atomic_write(path, write)


def atomic_savefig(fig: "Figure", path: str | os.PathLike, **savefig_kwargs: Any) -> Path:
    """Save a matplotlib figure atomically (format from the suffix, PNG without one) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    kind = path.suffix.lstrip(".").lower() or "png"
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format=kind, **savefig_kwargs))
    finally:
        plt.close(fig)


def atomic_folder(path: str | os.PathLike, fill: Callable[[Path], None]) -> Path:
    """Call ``fill(tmp)`` on a fresh temporary folder next to ``path``, then rename it onto ``path``.

    An existing folder ``path`` is swapped out (renamed aside, then deleted) only once the new one
    is complete; on any exception the temporary folder is removed and ``path`` left as it was.
    """
    path = Path(path)
    tmp = Path(tempfile.mkdtemp(dir=_folder(path), prefix=f".{path.name}.", suffix=".tmp"))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; the result gets a plain new folder's mode
    try:
        fill(tmp)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path
