"""Where tensors live: the one place that turns ``--device auto|cpu|cuda[:N]`` into a torch.device."""

from __future__ import annotations

import torch

from pdesym.errors import PdesymError, check_choice

__all__ = ["DEVICES", "resolve_device", "resolve_dtype", "DTYPES"]

DEVICES: dict[str, str] = {
    "auto": "CUDA when available, else CPU",
    "cpu": "the CPU",
    "cuda": "the current CUDA device",
}

DTYPES: dict[str, torch.dtype] = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a torch.device."""
    if isinstance(device, torch.device):
        resolved = device
    else:
        check_choice("device", str(device).split(":")[0], DEVICES)
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise PdesymError(
            f"Device {device!s} was asked for but CUDA is not available here; "
            "use --device cpu or auto (device='cpu' or 'auto' in Python)."
        )
    return resolved


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """``"float64"`` (default of pdesym) or ``"float32"`` (or a torch dtype) -> torch.dtype."""
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPES.values():
            raise PdesymError(f"dtype {dtype} is not supported; use float64 or float32.")
        return dtype
    check_choice("dtype", str(dtype), DTYPES)
    return DTYPES[str(dtype)]
