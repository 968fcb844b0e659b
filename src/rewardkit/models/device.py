"""The device chosen automatically: CUDA when present, else CPU (precision lives in rewardkit.models.precision)."""

from __future__ import annotations

import os

import torch


def pick_device(requested: str | None = None) -> torch.device:
    """The requested device, else CUDA if available, else CPU (override with REWARDKIT_DEVICE)."""
    name = requested or os.environ.get("REWARDKIT_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
