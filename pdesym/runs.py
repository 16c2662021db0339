"""Run folders: where ``pdesym discover`` keeps one run's files, written so that nothing is lost.

A run folder ``runs/NAME/`` holds::

    config.json        the options and the data the run used (written first)
    checkpoint.pt      neural runs: model, optimiser, RNG states and step (rewritten atomically)
    symmetries.json    the result, pdesym-symmetries/1 plus the discovery fields (written last)
    report.md          the Markdown report
    fields.png, validity.png   plots

Rules: an existing folder is never touched without ``force`` (start over) or ``resume``
(continue an interrupted neural run from its checkpoint); every file is written to a temporary
file in the same folder and renamed, so an interrupted run never leaves a truncated file.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from pdesym.atomic import atomic_write
from pdesym.errors import PdesymError

__all__ = ["RESULT_FILE", "CONFIG_FILE", "CHECKPOINT_FILE", "REPORT_FILE", "prepare_run_folder",
           "write_text_atomic", "write_json_atomic", "jsonable", "read_json"]

RESULT_FILE = "symmetries.json"
CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pt"
REPORT_FILE = "report.md"


def prepare_run_folder(path: str | os.PathLike, *, force: bool = False, resume: bool = False) -> Path:
    """Create (or reopen) a run folder, refusing to touch an existing one without force/resume.

    ``resume`` keeps the folder (its checkpoint is read by the caller); ``force`` empties it of
    pdesym's own files first. Both at once is contradictory and refused.
    """
    path = Path(path)
    if force and resume:
        raise PdesymError("Pass either --force (start over) or --resume (continue), not both.")
    if path.exists() and not path.is_dir():
        raise PdesymError(f"{path} exists and is not a folder; choose another --out.")
    if resume:
        if not (path / CONFIG_FILE).is_file():
            raise PdesymError(f"Nothing to resume in {path}: it has no {CONFIG_FILE}; start the run without --resume.")
        return path
    if path.exists() and any(path.iterdir()):
        if not force:
            done = (path / RESULT_FILE).is_file()
            what = "a finished run" if done else "an unfinished run (pass --resume to continue it)"
            raise PdesymError(f"{path} already holds {what}; pass --force to start over or choose another --out.")
        # --force starts the run over; it must never delete what the user keeps next to it
        # (``--out .`` by mistake), so a folder with foreign files is refused as a whole
        foreign = sorted(child.name for child in path.iterdir() if not _is_run_file(child))
        if foreign:
            raise PdesymError(f"{path} holds files pdesym did not write ({', '.join(foreign[:3])}"
                              f"{', ...' if len(foreign) > 3 else ''}); --force only replaces a run folder, "
                              "so choose another --out.")
        for child in path.iterdir():
            child.unlink()
    path.mkdir(parents=True, exist_ok=True)
    return path


#: What a discovery run writes into its folder (besides temporary files of an atomic write).
#: The plots include those ``pdesym report RUN --plots RUN`` may have added next to them.
RUN_FILES = frozenset({RESULT_FILE, CONFIG_FILE, CHECKPOINT_FILE, REPORT_FILE, "fields.png", "validity.png",
                       "cosines.png", "generator-validity.png", "spectrum.png", "accuracy.png"})


def _is_run_file(path: Path) -> bool:
    """A file of a run folder: one of :data:`RUN_FILES` or the temporary file of an interrupted write."""
    if not path.is_file():
        return False
    return path.name in RUN_FILES or (path.name.startswith(".") and path.name.endswith(".tmp"))


def write_text_atomic(path: str | os.PathLike, text: str | bytes) -> Path:
    """Write a file through a temporary file in the same folder and an atomic rename."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """:func:`write_text_atomic` of indented UTF-8 JSON."""
    return write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def jsonable(obj: Any) -> Any:
    """Plain JSON values of nested results: numpy/torch scalars and arrays as numbers and lists,
    other objects as their text, non-finite floats as null (JSON has no NaN)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "tolist"):  # numpy and torch scalars and arrays
        return jsonable(obj.tolist())
    return str(obj)


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Read JSON; a missing or malformed file is one clear sentence."""
    path = Path(path)
    if not path.is_file():
        raise PdesymError(f"No {what} at {path}.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PdesymError(f"{path} is not a valid {what} ({exc}).") from None
