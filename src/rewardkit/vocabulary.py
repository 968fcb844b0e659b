"""The words rewardkit renamed, and the one place their old spellings are still accepted.

One idea has one name: `num_samples` is how many samples are drawn per prompt (it replaced `k`,
`samples_per_prompt`, `num_candidates` and `n`), `precision` is `auto|bf16|fp32` (it replaced `dtype`;
rewardkit.models.precision). Where users type keys (YAML configs, `--set`, model-spec queries, saved manifests),
the old spellings keep working and print a deprecation note naming the new key.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal, get_args

# `bf16` computes in bf16, `fp32` in fp32, `auto` picks by hardware and environment (rewardkit.models.precision)
Precision = Literal["auto", "bf16", "fp32"]
PRECISIONS: tuple[str, ...] = get_args(Precision)

# Whether a prompt's sequences are packed into one row (training's `pair_packing`, scoring's REWARDKIT_PACKING)
Packing = Literal["auto", "on", "off"]
PACKINGS: tuple[str, ...] = get_args(Packing)

# The text a reward model reads and which part of a long response it keeps (rewardkit.models.chat applies them)
TextFormat = Literal["chat_template", "chat_template_no_final_newline"]
ResponseTruncation = Literal["keep_start", "keep_end", "keep_both_ends"]

# old key -> new key, wherever a config, spec query or saved manifest is read
RENAMED_KEYS: dict[str, str] = {
    "k": "num_samples",
    "samples_per_prompt": "num_samples",
    "num_candidates": "num_samples",
    "inference_k": "inference_num_samples",
    "dtype": "precision",
}


def check_precision(value: str, where: str = "precision") -> Precision:
    """`value` when it is a precision name, else a ValueError that names `where` it was written."""
    if value not in PRECISIONS:
        raise ValueError(f"{where} must be one of {', '.join(PRECISIONS)}, got {value!r}")
    return value  # type: ignore[return-value]


def renamed_key_note(old: str, where: str) -> str:
    return f"{where}: '{old}' is deprecated, write '{RENAMED_KEYS[old]}' (the old key still works for now)"


def with_current_keys(values: Mapping[str, Any], where: str, warn: bool = True) -> dict[str, Any]:
    """`values` with every renamed key under its current name; an old key beside its new one is an error."""
    current: dict[str, Any] = {}
    for key, value in values.items():
        new = RENAMED_KEYS.get(key, key)
        if new in current or (new != key and new in values):
            raise ValueError(f"{where}: both '{key}' and '{new}' are set; keep only '{new}'")
        if new != key and warn:
            warnings.warn(renamed_key_note(key, where), FutureWarning, stacklevel=2)
        current[new] = value
    return current
