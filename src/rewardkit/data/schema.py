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

    def reference_answer(self) -> str:
        """The row's `reference` answer (for reference-guided judges), or an error naming the row."""
        reference = self.extra.get("reference")
        if not isinstance(reference, str):
            raise ValueError(f"row {self.id!r}: field 'reference': a reference-guided judge needs a reference text")
        return reference

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class NWayPreference:
    """One prompt with several correct (chosen) and incorrect (rejected) responses: a benchmark row.

    `subset` is the upstream subset (JudgeBench: its source), `domain` the group the benchmark reports (RewardBench 2:
    the subset; RM-Bench: chat, code, math, safety-*; JudgeBench: knowledge, reasoning, math, coding), `group` the
    rows a bootstrap resamples together (the prompt id of RewardBench 2's Ties `ref:N`/`tied:N` rows, else the id),
    and `chosen_first` says whether the chosen response was listed first (JudgeBench's response_A; None elsewhere).
    """

    id: str
    prompt: Prompt
    chosen: list[str]
    rejected: list[str]
    subset: str = "default"
    domain: str = "default"
    group: str = ""
    chosen_first: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.group = self.group or self.id

    @property
    def completions(self) -> list[str]:
        """Chosen responses first, then rejected ones (the order RewardBench 2 scores them in)."""
        return [*self.chosen, *self.rejected]
