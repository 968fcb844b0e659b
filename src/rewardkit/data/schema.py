"""The pairwise preference record all readers produce (schema of ../shared/data/README.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rewardkit.protocol import Prompt

CATEGORIES = ("chat", "chat_hard", "safety", "reasoning", "prior_sets", "train")


@dataclass
class PreferencePair:
    """One prompt with a preferred (chosen) and a dispreferred (rejected) response."""

    id: str
    prompt: Prompt
    chosen: str
    rejected: str
    subset: str = "default"
    category: str = "train"
    source: str = ""
    label_kind: str = ""
    p_chosen: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
