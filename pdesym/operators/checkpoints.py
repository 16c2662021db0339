"""Training checkpoints of a neural operator: one ``.pt`` file plus a readable JSON beside it.

The ``.pt`` file holds everything needed to continue a run to the same numbers as an
uninterrupted one: the model, the optimiser and learning-rate schedule state, the state of the
training random generator, the number of finished epochs, the history, the best model so far and
a fingerprint of the training data. The JSON file (same stem, ``.json``) holds the configuration,
the seed and the history, for people and for reports. Both are written to a temporary file in the
same directory and renamed, so an interrupted write never leaves a truncated checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from pdesym.atomic import atomic_torch_save, atomic_write
from pdesym.errors import PdesymError

__all__ = ["CHECKPOINT_FORMAT", "config_path_for", "read_checkpoint", "write_checkpoint", "write_json"]

CHECKPOINT_FORMAT = "pdesym-fno-checkpoint/1"


def config_path_for(checkpoint: Path) -> Path:
    """The JSON file that accompanies ``checkpoint`` (same stem, ``.json``)."""
    return checkpoint.with_suffix(".json")


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON, atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=False)
            handle.write("\n")

    _atomic_write(path, write)


def write_checkpoint(path: Path, state: dict[str, Any], summary: dict[str, Any]) -> None:
    """Write the training ``state`` to ``path`` and ``summary`` to its JSON file, atomically."""
    state = {"format": CHECKPOINT_FORMAT, **state}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_torch_save(path, state)
    write_json(config_path_for(path), summary)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`write_checkpoint`; a wrong or damaged file is one sentence."""
    if not path.is_file():
        raise PdesymError(f"No checkpoint at {path}; train first or give the path of an existing one.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        raise PdesymError(
            f"Cannot read the checkpoint {path} ({type(exc).__name__}); it is damaged or not a pdesym checkpoint."
        ) from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise PdesymError(f"{path} is not a pdesym FNO checkpoint (expected format {CHECKPOINT_FORMAT}).")
    return state
