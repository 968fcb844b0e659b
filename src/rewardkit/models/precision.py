"""One precision vocabulary for every family, engine and trainer: `auto`, `bf16` or `fp32`.

`bf16` means "compute in bf16"; each part applies it the way that is fast for it: trainers (and models built to be
trained) run bf16 autocast over fp32 weights; decoding engines and loaded BT scorers hold bf16 weights (autocast would
re-cast every fp32 weight on each forward). `auto` is bf16 where bf16 matmuls are fast (Ampere+ GPUs, CPUs with
avx512_bf16 or AMX), else fp32.

The environment sets what `auto` means: REWARDKIT_PRECISION=auto|bf16|fp32 (an explicit `bf16`/`fp32` in a config,
spec or argument still wins). REWARDKIT_BF16=0 is the older spelling of REWARDKIT_PRECISION=fp32, kept as an alias
(REWARDKIT_BF16=1 is `auto`); REWARDKIT_PRECISION wins when both are set.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Literal

import torch

from rewardkit.vocabulary import Precision, check_precision

ResolvedPrecision = Literal["bf16", "fp32"]
PRECISION_ENV = "REWARDKIT_PRECISION"
LEGACY_BF16_ENV = "REWARDKIT_BF16"
TORCH_DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp32": torch.float32}


def precision_from_environment() -> Precision:
    """What `auto` means here: REWARDKIT_PRECISION, else REWARDKIT_BF16=0 as `fp32`, else `auto` (the hardware)."""
    value = os.environ.get(PRECISION_ENV, "").strip()
    if value:
        return check_precision(value, PRECISION_ENV)
    return "fp32" if os.environ.get(LEGACY_BF16_ENV, "1").strip() == "0" else "auto"


@functools.cache
def _cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = cpuinfo.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def supports_bf16(device: torch.device) -> bool:
    """True where bf16 matmuls are fast: Ampere+ GPUs, or CPUs with avx512_bf16/AMX (the hardware only)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and _cpu_has_bf16()


def resolve_precision(precision: str, device: torch.device) -> ResolvedPrecision:
    """`bf16` or `fp32` for `precision` on `device`: explicit names stay, `auto` follows the environment, then the
    hardware."""
    chosen = check_precision(precision)
    if chosen == "auto":
        chosen = precision_from_environment()
    if chosen == "auto":
        return "bf16" if supports_bf16(device) else "fp32"
    return chosen


def precision_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The torch dtype of the resolved precision (weights of decoding engines)."""
    return TORCH_DTYPES[resolve_precision(precision, device)]


def autocast_context(device: torch.device, precision: str = "auto"):
    """bf16 autocast when the precision resolves to bf16, otherwise a no-op context."""
    if resolve_precision(precision, device) == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
