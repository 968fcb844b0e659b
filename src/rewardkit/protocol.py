"""The one protocol every reward model family implements (see DESIGN.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Message = dict[str, str]
Prompt = str | list[Message]


@dataclass
class Score:
    """A pointwise judgement: a scalar value plus optional text (critique or rationale)."""

    value: float
    text: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Preference:
    """A pairwise judgement: probability that response A is better than response B."""

    p_a_better: float
    rationale: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class RewardModel(Protocol):
    """Anything that can score responses and compare pairs of responses to the same prompts."""

    name: str

    def score(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]: ...

    def compare(
        self, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]: ...
