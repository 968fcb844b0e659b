"""Device and dtype chosen automatically: CUDA when present, bf16 autocast where the hardware has it."""

from __future__ import annotations

import contextlib
import functools
import os

import torch


def pick_device(requested: str | None = None) -> torch.device:
    """The requested device, else CUDA if available, else CPU (override with REWARDKIT_DEVICE)."""
    name = requested or os.environ.get("REWARDKIT_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@functools.cache
def _cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = cpuinfo.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def supports_bf16(device: torch.device) -> bool:
    """True where bf16 matmuls are fast: Ampere+ GPUs, or CPUs with avx512_bf16/AMX. REWARDKIT_BF16=0 disables."""
    if os.environ.get("REWARDKIT_BF16", "1") == "0":
        return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and _cpu_has_bf16()


def autocast_context(device: torch.device):
    """bf16 autocast where supported, otherwise a no-op context."""
    if supports_bf16(device):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
