"""Writing a file so that a reader never sees half of it: temp file in the same folder, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write", "atomic_torch_save"]


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` on a fresh temporary file next to ``path`` and rename it onto ``path``.

    The rename is atomic on one file system, so ``path`` holds either its old bytes or the new
    ones; on any exception (Ctrl-C included) the temporary file is removed and ``path`` untouched.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the result gets a plain new file's mode
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
