"""Device choice: CUDA when available, else CPU; the same code path on both."""

from __future__ import annotations

import torch

from alttrain.errors import UserError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA if available else CPU; ``cuda`` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("device 'cuda' was requested but no CUDA device is available; use device: auto or cpu")
    return torch.device(name)
